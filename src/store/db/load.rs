//! Loading a batch of events and call statistics (`Store::load`, and the part of a
//! queue_log chunk that is events and stats): the new events, the replaced stats hours, the
//! merged agent names, and the `etl_state` writes that commit with them.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::model::state::{self, InstantKey};
use crate::model::{AgentEvent, LoadBatch, LoadOutcome};
use crate::store::kv::{instant_for_update, kv_put, now_epoch, record_zone};
use crate::store::rows::{self, NameSeen};
use crate::store::sql::{Backend, IN_LIST_MAX, placeholders};
use crate::store::table::{self, clip};
use crate::store::value::Cell;

/// Width in characters of the free-text name columns (`VARCHAR(255)` in `schema.sql`).
const NAME_MAX: usize = 255;

/// The natural key of `agent_events`.
type EventKey<'a> = (&'a str, i64, &'a str, bool, &'a str);

fn event_key(e: &AgentEvent) -> EventKey<'_> {
    (&e.ext, e.ts, e.event.as_str(), e.enabled, &e.state)
}

/// The batch's events that are neither earlier in the batch nor already stored, in listed
/// order: on a backend that spends an id on an ignored row, only these are inserted, so ids
/// stay dense and in listed order.
fn new_events<'a, B: Backend + ?Sized>(
    b: &mut B,
    events: &'a [AgentEvent],
) -> Result<Vec<&'a AgentEvent>> {
    let mut seen: HashSet<EventKey<'a>> = HashSet::with_capacity(events.len());
    let mut fresh: Vec<&AgentEvent> = events
        .iter()
        .filter(|e| seen.insert(event_key(e)))
        .collect();
    if fresh.is_empty() {
        return Ok(fresh);
    }
    let (lo, hi) = fresh.iter().fold((i64::MAX, i64::MIN), |(lo, hi), e| {
        (lo.min(e.ts), hi.max(e.ts))
    });
    let mut exts: Vec<&str> = fresh.iter().map(|e| e.ext.as_str()).collect();
    exts.sort_unstable();
    exts.dedup();
    // The stored rows that can collide lie in the batch's time span: one index range scan of
    // the natural key, which starts with ts_epoch. Naming the extensions (when they fit in
    // one statement) only trims what comes back.
    let mut sql = String::from(
        "SELECT ext, ts_epoch, event, enabled, state FROM agent_events \
         WHERE ts_epoch >= ? AND ts_epoch <= ?",
    );
    let mut args = vec![Cell::Int(lo), Cell::Int(hi)];
    if exts.len() <= IN_LIST_MAX {
        sql.push_str(&format!(" AND ext IN ({})", placeholders(exts.len())));
        args.extend(exts.iter().map(|x| Cell::text(x)));
    }
    let mut stored: HashSet<(String, i64, String, bool, String)> = HashSet::new();
    b.query(&sql, &args, &mut |r| {
        stored.insert((
            r.text(0)?,
            r.int(1)?,
            r.text(2)?,
            r.int(3)? != 0,
            r.text(4)?,
        ));
        Ok(())
    })?;
    if !stored.is_empty() {
        let stored: HashSet<EventKey<'_>> = stored
            .iter()
            .map(|(x, ts, ev, en, st)| (x.as_str(), *ts, ev.as_str(), *en, st.as_str()))
            .collect();
        fresh.retain(|e| !stored.contains(&event_key(e)));
    }
    Ok(fresh)
}

pub(super) fn read_names<B: Backend + ?Sized>(
    b: &mut B,
    exts: Option<&[&str]>,
) -> Result<HashMap<String, NameSeen>> {
    let mut sql = format!("SELECT {} FROM agents", table::AGENTS.column_list());
    let mut args = Vec::new();
    if let Some(exts) = exts {
        sql.push_str(&format!(" WHERE ext IN ({})", placeholders(exts.len())));
        args.extend(exts.iter().map(|x| Cell::text(x)));
    }
    let mut out = HashMap::new();
    b.query(&sql, &args, &mut |r| {
        let (ext, seen) = rows::decode_name(r)?;
        out.insert(ext, seen);
        Ok(())
    })?;
    Ok(out)
}

fn merge_names<B: Backend + ?Sized>(b: &mut B, batch: &LoadBatch<'_>) -> Result<()> {
    let seen = batch_names(batch);
    if seen.is_empty() {
        return Ok(());
    }
    let exts: Vec<&str> = seen.keys().map(String::as_str).collect();
    let mut stored = HashMap::new();
    for chunk in exts.chunks(IN_LIST_MAX) {
        stored.extend(read_names(b, Some(chunk))?);
    }
    let mut changed: Vec<(&str, NameSeen)> = Vec::new();
    for (ext, new) in &seen {
        let old = stored.remove(ext);
        let merged = merge_name(old.clone(), new);
        if old.as_ref() != Some(&merged) {
            changed.push((ext, merged));
        }
    }
    let (head, tail) = b.dialect().upsert(&table::AGENTS);
    b.insert_rows(
        &head,
        &tail,
        table::AGENTS.columns.len(),
        &mut changed.iter().map(|(ext, n)| rows::encode_name(ext, n)),
        &mut |_| {},
    )
}

/// The body of [`crate::store::Store::load`] inside the caller's transaction, so that other writes (a
/// queue_log chunk) commit together with it.
/// `bulk_events` sends the new events by the backend's bulk path (the queue_log chunk's
/// hundreds of thousands of events); an API window keeps the multi-row inserts.
pub(super) fn load_in<B: Backend + ?Sized>(
    b: &mut B,
    batch: &LoadBatch<'_>,
    zone: &Option<(String, bool)>,
    bulk_events: bool,
) -> Result<LoadOutcome> {
    // Sources reject over-long keys with a reason; this keeps a miss from failing on MySQL
    // only: both backends refuse the batch alike, naming the column.
    for e in batch.events {
        table::event_keys_fit(e)
            .map_err(|why| Error::input(format!("cannot store an event: {why}")))?;
    }
    for hour in batch.stats {
        for r in &hour.records {
            table::USERS_CALLS
                .check_fits("ext", &r.ext)
                .map_err(|why| Error::input(format!("cannot store call statistics: {why}")))?;
        }
    }
    let source = batch.source;
    let now = now_epoch();
    let mut outcome = LoadOutcome {
        events_seen: batch.events.len() as u64,
        ..Default::default()
    };
    let fresh: Vec<&AgentEvent> = if b.dialect().ignored_rows_spend_ids() {
        new_events(b, batch.events)?
    } else {
        batch.events.iter().collect()
    };
    // The ignoring insert stays as a guard against a concurrent load of the same events; its
    // affected rows are exactly the events stored by this call.
    let mut new = 0;
    let mut rows = fresh.iter().map(|e| rows::encode_event(e, source, now));
    if bulk_events || b.dialect().bulk_pays_for_few_rows() {
        b.insert_new_rows(&table::AGENT_EVENTS, &mut rows, &mut |n| new += n)?;
    } else {
        let (insert, tail) = b.dialect().insert_ignore(&table::AGENT_EVENTS);
        b.insert_rows(
            &insert,
            tail,
            table::AGENT_EVENTS.columns.len(),
            &mut rows,
            &mut |n| new += n,
        )?;
    }
    outcome.events_new = new;

    let (head, tail) = b.dialect().upsert(&table::USERS_CALLS);
    for hour in batch.stats {
        b.exec(
            "DELETE FROM users_calls WHERE hour_start = ? AND source = ?",
            &[Cell::Int(hour.hour_start), Cell::text(source.as_str())],
        )?;
        // A later duplicate extension overwrites an earlier one; every record counts once.
        b.insert_rows(
            &head,
            &tail,
            table::USERS_CALLS.columns.len(),
            &mut hour
                .records
                .iter()
                .map(|r| rows::encode_stats(r, hour.hour_start, source, now)),
            &mut |_| {},
        )?;
        outcome.stats_rows += hour.records.len() as u64;
    }

    merge_names(b, batch)?;
    let until_key = state::data_until_key(source);
    let writes = load_state_writes(
        batch,
        instant_for_update(b, state::DIRTY_FROM)?,
        instant_for_update(b, state::DIRTY_TO)?,
        until_key,
        instant_for_update(b, until_key)?,
    );
    for (k, v) in &writes {
        kv_put(b, &table::ETL_STATE, k, v)?;
    }
    record_zone(b, zone)?;
    Ok(outcome)
}

/// The latest non-empty name per extension in a batch: from events (by timestamp) and from
/// stats (by hour). Both backends merge these into `agents` with [`merge_name`].
fn batch_names(batch: &LoadBatch<'_>) -> HashMap<String, NameSeen> {
    let mut seen: HashMap<String, NameSeen> = HashMap::new();
    for e in batch.events {
        if !e.username.is_empty() {
            let entry = seen.entry(e.ext.clone()).or_default();
            if e.ts >= entry.event_at {
                entry.event = clip(&e.username, NAME_MAX).to_string();
                entry.event_at = e.ts;
            }
        }
    }
    for hour in batch.stats {
        for r in &hour.records {
            if !r.name.is_empty() {
                let entry = seen.entry(r.ext.clone()).or_default();
                if hour.hour_start >= entry.stats_at {
                    entry.stats = clip(&r.name, NAME_MAX).to_string();
                    entry.stats_at = hour.hour_start;
                }
            }
        }
    }
    seen
}

/// Merges a batch's names into the stored ones; newer (or equally new) wins.
fn merge_name(stored: Option<NameSeen>, new: &NameSeen) -> NameSeen {
    let mut out = stored.unwrap_or_default();
    if !new.stats.is_empty() && new.stats_at >= out.stats_at {
        out.stats = new.stats.clone();
        out.stats_at = new.stats_at;
    }
    if !new.event.is_empty() && new.event_at >= out.event_at {
        out.event = new.event.clone();
        out.event_at = new.event_at;
    }
    out
}

/// The instants a batch touches, `(earliest, latest)`, for the dirty range of §5.4.
fn batch_span(batch: &LoadBatch<'_>, old_data_until: Option<i64>) -> Option<(i64, i64)> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for e in batch.events {
        lo = lo.min(e.ts);
        hi = hi.max(e.ts);
    }
    for h in batch.stats {
        lo = lo.min(h.hour_start);
        hi = hi.max(h.hour_start);
    }
    // Advancing data_until changes the covered part of the hour in progress.
    if let (Some(new), Some(old)) = (batch.data_until, old_data_until)
        && new > old
    {
        lo = lo.min(old);
        hi = hi.max(new);
    }
    if let (Some(new), None) = (batch.data_until, old_data_until) {
        hi = hi.max(new);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Every `etl_state` write a load commits with its data, given the values stored before it:
/// the widened dirty range for the next aggregation, the source's "data until" (forward only), and the
/// batch's own entries (watermarks, cursors). Both backends write exactly these.
fn load_state_writes(
    batch: &LoadBatch<'_>,
    old_dirty_from: Option<i64>,
    old_dirty_to: Option<i64>,
    until_key: InstantKey,
    old_until: Option<i64>,
) -> Vec<(String, String)> {
    let mut writes = Vec::new();
    if let Some(span) = batch_span(batch, old_until) {
        let (from, to) = merge_dirty(old_dirty_from, old_dirty_to, span);
        writes.push((state::DIRTY_FROM.name().to_string(), from.to_string()));
        writes.push((state::DIRTY_TO.name().to_string(), to.to_string()));
    }
    if let Some(until) = batch.data_until
        && old_until.is_none_or(|old| until > old)
    {
        writes.push((until_key.name().to_string(), until.to_string()));
    }
    writes.extend(batch.state.iter().cloned());
    writes
}

/// Merges the dirty range already stored with a batch's span.
fn merge_dirty(old_from: Option<i64>, old_to: Option<i64>, span: (i64, i64)) -> (i64, i64) {
    (
        old_from.map_or(span.0, |f| f.min(span.0)),
        old_to.map_or(span.1, |t| t.max(span.1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_names_win() {
        let old = NameSeen {
            stats: "Old".into(),
            stats_at: 10,
            ..Default::default()
        };
        let newer = NameSeen {
            stats: "New".into(),
            stats_at: 20,
            event: "Ev".into(),
            event_at: 5,
        };
        let merged = merge_name(Some(old.clone()), &newer);
        assert_eq!(
            (merged.stats.as_str(), merged.event.as_str()),
            ("New", "Ev")
        );
        let stale = NameSeen {
            stats: "Stale".into(),
            stats_at: 1,
            ..Default::default()
        };
        assert_eq!(merge_name(Some(merged), &stale).canonical(), "New");
        assert_eq!(NameSeen::default().canonical(), "Unknown");
    }
}
