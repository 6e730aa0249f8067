//! One queue_log chunk in one transaction (SPEC §6): its raw lines and rejects, the stints
//! derived from the new lines, the `users_calls` hours they ring, their agent events and the
//! state that goes with them; and the queue report's read of the stints.

use std::collections::HashSet;

use super::load::load_in;
use crate::error::Result;
use crate::model::queue::{
    ChunkOutcome, DeriveFn, HourStatsFn, RawLine, RejectRow, RingRow, Stint,
};
use crate::model::{EventSource, LoadBatch};
use crate::store::kv::{kv_put, now_epoch};
use crate::store::rows;
use crate::store::sql::{Backend, in_tx};
use crate::store::table;
use crate::store::value::Cell;

/// Which of a chunk's raw lines are new, inserting them.
fn insert_raw_lines<B: Backend + ?Sized>(
    b: &mut B,
    lines: &[RawLine<'_>],
    now: i64,
) -> Result<(Vec<bool>, u64)> {
    // Read the stored keys of the chunk's span first (one range scan of the key, which
    // leads with time), so that only new lines are inserted, by the backend's bulk path.
    let mut stored: HashSet<(i64, i64)> = HashSet::new();
    if let (Some(lo), Some(hi)) = (
        lines.iter().map(|l| l.time).min(),
        lines.iter().map(|l| l.time).max(),
    ) {
        b.query(
            "SELECT time, line_hash FROM queue_log WHERE time >= ? AND time <= ?",
            &[Cell::Int(lo), Cell::Int(hi)],
            &mut |r| {
                stored.insert((r.int(0)?, r.int(1)?));
                Ok(())
            },
        )?;
    }
    let new: Vec<bool> = lines
        .iter()
        .map(|l| stored.insert((l.time, l.hash as i64)))
        .collect();
    let mut count = 0;
    b.insert_new_rows(
        &table::QUEUE_LOG,
        &mut lines
            .iter()
            .zip(&new)
            .filter(|(_, n)| **n)
            .map(|(l, _)| rows::encode_raw_line(l, now)),
        &mut |n| count += n,
    )?;
    Ok((new, count))
}

/// The raw lines that rang agents in `[from, to)`, in the key's order (the order SQLite and
/// MariaDB read them in anyway; PostgreSQL's heap order would otherwise decide which of an
/// extension's member names an hour shows).
fn ring_rows<B: Backend + ?Sized>(b: &mut B, from: i64, to: i64) -> Result<Vec<RingRow>> {
    let mut rows = Vec::new();
    b.query(
        "SELECT agent, callid, event, time, line_hash FROM queue_log \
         WHERE time >= ? AND time < ? AND event IN ('CONNECT', 'RINGNOANSWER', 'RINGCANCELED') \
         ORDER BY time, line_hash",
        &[Cell::Int(from), Cell::Int(to)],
        &mut |r| {
            rows.push(RingRow {
                time: r.int(3)?,
                line_hash: r.int(4)?,
                agent: r.text(0)?,
                callid: r.text(1)?,
                connected: r.text(2)? == "CONNECT",
            });
            Ok(())
        },
    )?;
    Ok(rows)
}

/// The body of [`crate::store::QueueStore::load_queue_chunk`], in one transaction.
pub(super) fn load_chunk<B: Backend + ?Sized>(
    b: &mut B,
    lines: &[RawLine<'_>],
    rejects: &[RejectRow<'_>],
    derive: &mut DeriveFn<'_>,
    hour_stats: &mut HourStatsFn<'_>,
    zone: &Option<(String, bool)>,
) -> Result<ChunkOutcome> {
    in_tx(b, |b| {
        let now = now_epoch();
        let mut outcome = ChunkOutcome::default();
        let (new, lines_new) = insert_raw_lines(b, lines, now)?;
        outcome.lines_new = lines_new;
        let (insert, tail) = b.dialect().insert_ignore(&table::QUEUE_LOG_REJECTS);
        let mut rejects_new = 0;
        b.insert_rows(
            &insert,
            tail,
            table::QUEUE_LOG_REJECTS.columns.len(),
            &mut rejects.iter().map(|r| rows::encode_reject(r, now)),
            &mut |n| rejects_new += n,
        )?;
        outcome.rejects_new = rejects_new;

        let mut writes = derive(&new)?;
        // A stint can appear twice in a chunk (connected, then ended); the later row
        // wins and each row counts once.
        let (head, tail) = b.dialect().upsert(&table::QUEUE_CALLS);
        b.insert_rows(
            &head,
            &tail,
            table::QUEUE_CALLS.columns.len(),
            &mut writes.stints.iter().map(rows::encode_stint),
            &mut |_| {},
        )?;
        outcome.stints_written = writes.stints.len() as u64;

        let mut stats = std::mem::take(&mut writes.stats);
        for hour in &writes.ring_hours {
            let rows = ring_rows(b, hour.start, hour.end)?;
            stats.push(hour_stats(*hour, &rows));
        }
        outcome.load = load_in(
            b,
            &LoadBatch {
                events: &writes.events,
                stats: &stats,
                source: EventSource::QueueLog,
                state: Vec::new(),
                data_until: writes.data_until,
            },
            zone,
            true,
        )?;
        for (k, v) in &writes.state {
            kv_put(b, &table::ETL_STATE, k, v)?;
        }
        for (k, v) in &writes.queue_state {
            kv_put(b, &table::QUEUE_LOG_STATE, k, v)?;
        }
        Ok(outcome)
    })
}

/// The body of [`crate::store::QueueStore::scan_queue_calls`]. The order asked for is not
/// the key's, so the database sorts what it reads: one local day per statement keeps that
/// sort to a day's stints whatever the range (a month in one statement held them all, some
/// 350 MiB for a month of 2.88 M stints on SQLite). A day's hours all start before the next
/// day's, so the days in label order are the hours in time order.
pub(super) fn scan_stints<B: Backend + ?Sized>(
    b: &mut B,
    from_local: &str,
    to_local: &str,
    each: &mut dyn FnMut(Stint) -> Result<()>,
) -> Result<()> {
    let sql = format!(
        "SELECT {} FROM queue_calls WHERE enter_hour_local >= ? AND enter_hour_local < ? \
         ORDER BY enter_hour, queuename, enter_time, callid",
        table::QUEUE_CALLS.column_list()
    );
    for (from, to) in day_slices(from_local, to_local) {
        b.query(&sql, &[Cell::text(&from), Cell::text(&to)], &mut |r| {
            each(rows::decode_stint(r)?)
        })?;
    }
    Ok(())
}

/// `[from, to)` of `YYYY-MM-DD HH:00` labels cut at each local midnight; the whole range as
/// one slice when a bound is not such a label.
fn day_slices(from: &str, to: &str) -> Vec<(String, String)> {
    let date = |label: &str| {
        label
            .get(..10)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let mut out = Vec::new();
    let (Some(mut day), Some(_)) = (date(from), date(to)) else {
        return vec![(from.to_string(), to.to_string())];
    };
    let mut cur = from.to_string();
    while cur.as_str() < to {
        let Some(next_day) = day.succ_opt() else {
            break;
        };
        let midnight = next_day.format("%Y-%m-%d 00:00").to_string();
        let next = if midnight.as_str() < to {
            midnight
        } else {
            to.to_string()
        };
        out.push((std::mem::replace(&mut cur, next), cur.clone()));
        day = next_day;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::day_slices;

    #[test]
    fn scans_are_cut_at_local_midnights() {
        let s = |a: &str, b: &str| day_slices(a, b);
        let pairs = |v: Vec<(String, String)>| -> Vec<String> {
            v.into_iter().map(|(a, b)| format!("{a}|{b}")).collect()
        };
        assert_eq!(
            pairs(s("2025-09-07 05:00", "2025-09-09 03:00")),
            [
                "2025-09-07 05:00|2025-09-08 00:00",
                "2025-09-08 00:00|2025-09-09 00:00",
                "2025-09-09 00:00|2025-09-09 03:00",
            ]
        );
        assert_eq!(
            pairs(s("2025-09-07 00:00", "2025-09-08 00:00")),
            ["2025-09-07 00:00|2025-09-08 00:00"]
        );
        assert!(s("2025-09-08 00:00", "2025-09-07 00:00").is_empty());
        assert_eq!(pairs(s("x", "y")), ["x|y"]);
        assert_eq!(
            pairs(s("2025-12-31 23:00", "2026-01-01 01:00")),
            [
                "2025-12-31 23:00|2026-01-01 00:00",
                "2026-01-01 00:00|2026-01-01 01:00",
            ]
        );
    }
}
