//! [`Db`]: apr's tables on any [`Backend`]. The load workflows (an API window, a queue_log
//! chunk, an aggregation batch, the `etl_state` writes that go with them), the queries and
//! the init-load swap are written here once; the backends only run SQL.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::queue::QueueStore;
use super::sql::{Backend, Dialect, RowRead, in_tx, placeholders, query_int, query_text};
use super::table::{self, Cell, NameSeen, Table};
use super::{Store, batch_names, load_state_writes, merge_name, now_epoch};
use crate::error::{Error, Result};
use crate::model::queue::{ChunkOutcome, DeriveFn, HourStatsFn, RawLine, RejectRow, Stint};
use crate::model::state::{self, InstantKey};
use crate::model::{
    ActivityFilter, ActivityRow, AgentEvent, CachedToken, EventSource, HourCalls, LoadBatch,
    LoadOutcome, StoredEvent, TableSummary,
};

/// Rows per statement when names are looked up with `IN (...)`.
const IN_LIST_MAX: usize = 500;

/// apr's schema in one database, through one connection.
pub struct Db<B: Backend> {
    pub(crate) b: B,
    /// The zone the next committed write records in `apr_meta` (SPEC §9: by the first run
    /// that commits data), and whether it may replace a recorded one.
    zone: Option<(String, bool)>,
}

impl<B: Backend> Db<B> {
    /// Wraps a connection whose schema the caller has checked ([`contract`]).
    pub(crate) fn new(b: B) -> Db<B> {
        Db { b, zone: None }
    }

    fn dialect(&self) -> Dialect {
        self.b.dialect()
    }
}

/// `key = ?` reads of one table's value column.
fn kv_get<B: Backend + ?Sized>(
    b: &mut B,
    table: &Table,
    key: &str,
    lock: bool,
) -> Result<Option<String>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?{}",
        table.columns[1].name,
        table.name,
        table.columns[0].name,
        if lock { b.dialect().for_update() } else { "" }
    );
    query_text(b, &sql, &[Cell::Text(key)])
}

/// Upserts `key = value` (with `updated_at` where the table has it).
pub(crate) fn kv_put<B: Backend + ?Sized>(
    b: &mut B,
    table: &Table,
    key: &str,
    value: &str,
) -> Result<()> {
    let (head, tail) = b.dialect().upsert(table);
    let now = now_epoch();
    let mut cells = vec![Cell::Text(key), Cell::Text(value)];
    if table.columns.len() == 3 {
        cells.push(Cell::Int(now));
    }
    let sql = format!("{head} VALUES ({}) {tail}", placeholders(cells.len()));
    b.exec(&sql, &cells)?;
    Ok(())
}

fn instant_for_update<B: Backend + ?Sized>(b: &mut B, key: InstantKey) -> Result<Option<i64>> {
    key.decode(kv_get(b, &table::ETL_STATE, key.name(), true)?.as_deref())
}

/// Records the zone in `apr_meta` inside the caller's transaction, when none is recorded
/// (or when an explicit switch asked to replace it).
fn record_zone<B: Backend + ?Sized>(b: &mut B, zone: &Option<(String, bool)>) -> Result<()> {
    let Some((zone, replace)) = zone else {
        return Ok(());
    };
    match kv_get(b, &table::APR_META, "timezone", false)? {
        Some(recorded) if recorded == *zone || !replace => Ok(()),
        _ => kv_put(b, &table::APR_META, "timezone", zone),
    }
}

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
        args.extend(exts.iter().map(|x| Cell::Text(x)));
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

fn read_names<B: Backend + ?Sized>(
    b: &mut B,
    exts: Option<&[&str]>,
) -> Result<HashMap<String, NameSeen>> {
    let mut sql = format!("SELECT {} FROM agents", table::AGENTS.column_list());
    let mut args = Vec::new();
    if let Some(exts) = exts {
        sql.push_str(&format!(" WHERE ext IN ({})", placeholders(exts.len())));
        args.extend(exts.iter().map(|x| Cell::Text(x)));
    }
    let mut out = HashMap::new();
    b.query(&sql, &args, &mut |r| {
        let (ext, seen) = table::decode_name(r)?;
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
        &mut changed.iter().map(|(ext, n)| table::encode_name(ext, n)),
        &mut |_| {},
    )
}

/// The body of [`Store::load`] inside the caller's transaction, so that other writes (a
/// queue_log chunk) commit together with it.
/// `bulk_events` sends the new events by the backend's bulk path (the queue_log chunk's
/// hundreds of thousands of events); an API window keeps the multi-row inserts.
fn load_in<B: Backend + ?Sized>(
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
    let mut rows = fresh.iter().map(|e| table::encode_event(e, source, now));
    if bulk_events {
        b.insert_new_rows(&table::AGENT_EVENTS, &mut rows, &mut |n| new += n)?;
    } else {
        let insert = b.dialect().insert_ignore(&table::AGENT_EVENTS);
        b.insert_rows(
            &insert,
            "",
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
            &[Cell::Int(hour.hour_start), Cell::Text(source.as_str())],
        )?;
        // A later duplicate extension overwrites an earlier one; every record counts once.
        b.insert_rows(
            &head,
            &tail,
            table::USERS_CALLS.columns.len(),
            &mut hour
                .records
                .iter()
                .map(|r| table::encode_stats(r, hour.hour_start, source, now)),
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

/// Makes the `agent_activity` rows with `from <= report_hour < to` exactly `rows`, inside the
/// caller's transaction. The range's stored rows are read first: a row whose every column
/// already holds what would be written is left alone (a rebuild mostly recomputes rows that
/// did not change, and reading them costs the server a fraction of rewriting them), a
/// changed one is overwritten in place (one upsert, no delete-then-insert), and a stored row
/// that no longer qualifies is deleted by key. An empty range gets plain inserts.
fn write_activity<B: Backend + ?Sized>(
    b: &mut B,
    from: i64,
    to: i64,
    rows: &[ActivityRow],
) -> Result<()> {
    let t = &table::AGENT_ACTIVITY;
    let is_int = t.int_columns();
    let mut stored: HashMap<(String, i64), Vec<Owned>> = HashMap::new();
    b.query(
        &format!(
            "SELECT {} FROM agent_activity WHERE report_hour >= ? AND report_hour < ?",
            t.column_list()
        ),
        &[Cell::Int(from), Cell::Int(to)],
        &mut |r| {
            let row = read_owned(r, &is_int)?;
            let key = match (&row[0], &row[1]) {
                (Owned::Text(ext), Owned::Int(Some(hour))) => (ext.clone(), *hour),
                _ => return Err(Error::db("an agent_activity row without its key")),
            };
            stored.insert(key, row);
            Ok(())
        },
    )?;
    let (head, tail) = if stored.is_empty() {
        (
            format!("INSERT INTO agent_activity ({})", t.column_list()),
            String::new(),
        )
    } else {
        b.dialect().upsert(t)
    };
    let mut changed: Vec<Vec<Cell<'_>>> = Vec::new();
    for r in rows {
        let cells = table::encode_activity(r);
        // Borrowed lookups would need a second key type; the clone is per written row.
        let same = stored
            .remove(&(r.agent_ext.clone(), r.report_hour))
            .is_some_and(|old| {
                old.len() == cells.len() && old.iter().zip(&cells).all(|(o, c)| o.is(c))
            });
        if !same {
            changed.push(cells);
        }
    }
    let stale: Vec<&(String, i64)> = stored.keys().collect();
    for chunk in stale.chunks(IN_LIST_MAX) {
        let one = "(agent_ext = ? AND report_hour = ?)";
        let sql = format!(
            "DELETE FROM agent_activity WHERE {}",
            vec![one; chunk.len()].join(" OR ")
        );
        let args: Vec<Cell<'_>> = chunk
            .iter()
            .flat_map(|(ext, hour)| [Cell::Text(ext), Cell::Int(*hour)])
            .collect();
        b.exec(&sql, &args)?;
    }
    b.insert_rows(
        &head,
        &tail,
        t.columns.len(),
        &mut changed.into_iter(),
        &mut |_| {},
    )
}

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
            .map(|(l, _)| table::encode_raw_line(l, now)),
        &mut |n| count += n,
    )?;
    Ok((new, count))
}

/// The raw lines that rang agents in `[from, to)`.
fn ring_rows<B: Backend + ?Sized>(
    b: &mut B,
    from: i64,
    to: i64,
) -> Result<Vec<crate::model::queue::RingRow>> {
    let mut rows = Vec::new();
    b.query(
        "SELECT agent, callid, event FROM queue_log \
         WHERE time >= ? AND time < ? AND event IN ('CONNECT', 'RINGNOANSWER', 'RINGCANCELED')",
        &[Cell::Int(from), Cell::Int(to)],
        &mut |r| {
            rows.push(crate::model::queue::RingRow {
                agent: r.text(0)?,
                callid: r.text(1)?,
                connected: r.text(2)? == "CONNECT",
            });
            Ok(())
        },
    )?;
    Ok(rows)
}

/// The report's query: rows of [`table::AGENT_ACTIVITY`] selected by `filter`, in
/// `report_hour` then extension order, with its parameters (never SQL built from input).
pub(crate) fn activity_query(filter: &ActivityFilter) -> (String, Vec<Cell<'_>>) {
    let mut sql = format!(
        "SELECT {} FROM agent_activity WHERE report_hour_local >= ? AND report_hour_local < ?",
        table::AGENT_ACTIVITY.column_list()
    );
    if !filter.exts.is_empty() {
        // The unary `+` keeps SQLite from choosing the primary key on `agent_ext` and then
        // sorting everything it found; `agent_ext` is part of the `agent_activity_local` key,
        // so the filter is checked on the index walk. MySQL reads `+x` as `x`.
        sql.push_str(&format!(
            " AND +agent_ext IN ({})",
            placeholders(filter.exts.len())
        ));
    }
    // The same order as `report_hour, agent_ext` (an hour start's local label never
    // decreases as time goes on; the two starts of a repeated fall-back hour share one label
    // and are told apart by `report_hour`), but it is the order of the `agent_activity_local`
    // key, so the rows stream from the index instead of being sorted first.
    sql.push_str(" ORDER BY report_hour_local, report_hour, agent_ext");
    let mut cells = vec![Cell::Text(&filter.from_local), Cell::Text(&filter.to_local)];
    cells.extend(filter.exts.iter().map(|e| Cell::Text(e)));
    (sql, cells)
}

/// Suffix of the shadow tables an init-load fills on MySQL, and of the old tables the
/// swap renames away.
const SHADOW: &str = "__apr_new";
const RETIRED: &str = "__apr_old";

/// A copied cell, owned, for moving rows between two databases.
enum Owned {
    Int(Option<i64>),
    Text(String),
}

impl Owned {
    fn cell(&self) -> Cell<'_> {
        match self {
            Owned::Int(v) => Cell::opt(*v),
            Owned::Text(s) => Cell::Text(s),
        }
    }

    /// Whether this stored cell holds exactly what `cell` would write.
    fn is(&self, cell: &Cell<'_>) -> bool {
        match (self, cell) {
            (Owned::Int(Some(a)), Cell::Int(b)) => a == b,
            (Owned::Int(None), Cell::Null) => true,
            (Owned::Text(a), Cell::Text(b)) => a == b,
            _ => false,
        }
    }
}

/// A row read as owned cells; `is_int` says which columns are integers.
fn read_owned(r: &mut dyn RowRead, is_int: &[bool]) -> Result<Vec<Owned>> {
    is_int
        .iter()
        .enumerate()
        .map(|(i, int)| {
            Ok(if *int {
                Owned::Int(r.opt_int(i)?)
            } else {
                Owned::Text(r.text(i)?)
            })
        })
        .collect()
}

impl<B: Backend> Db<B> {
    /// Replaces every table of [`table::REPLACED_BY_INIT_LOAD`] with the staging database's
    /// in one atomic step (SQLite: one transaction; MySQL: shadow tables, then one
    /// `RENAME TABLE` of every table). `apr_meta` and the cached token stay.
    fn replace_tables(&mut self, staging: &Path) -> Result<()> {
        let zone = self.zone.clone();
        match self.dialect() {
            Dialect::Sqlite => {
                let path = staging.to_string_lossy().to_string();
                self.b
                    .exec("ATTACH DATABASE ? AS staging", &[Cell::Text(&path)])?;
                let swapped = in_tx(&mut self.b, |b| {
                    for t in table::REPLACED_BY_INIT_LOAD {
                        // `DELETE` without `WHERE` truncates, and `INSERT INTO t SELECT *`
                        // into the emptied table copies the staging table's pages and
                        // indexes as they are (SQLite's transfer optimization) instead of
                        // inserting row by row. Both tables come from the same schema.sql
                        // at the same version (checked on open), so their columns match.
                        b.exec(&format!("DELETE FROM main.{}", t.name), &[])?;
                        b.exec(
                            &format!("INSERT INTO main.{0} SELECT * FROM staging.{0}", t.name),
                            &[],
                        )?;
                    }
                    record_zone(b, &zone)
                });
                let detached = self.b.exec("DETACH DATABASE staging", &[]);
                swapped.and(detached.map(|_| ()))
            }
            Dialect::Mysql => {
                let mut source = super::sqlite::SqliteStore::open_read_only(staging)?;
                for t in table::REPLACED_BY_INIT_LOAD {
                    self.b
                        .exec(&format!("DROP TABLE IF EXISTS {}{SHADOW}", t.name), &[])?;
                    self.b
                        .exec(&format!("CREATE TABLE {0}{SHADOW} LIKE {0}", t.name), &[])?;
                    copy_rows(&mut source.b, &mut self.b, t)?;
                }
                let renames: Vec<String> = table::REPLACED_BY_INIT_LOAD
                    .iter()
                    .map(|t| format!("{0} TO {0}{RETIRED}, {0}{SHADOW} TO {0}", t.name))
                    .collect();
                for t in table::REPLACED_BY_INIT_LOAD {
                    self.b
                        .exec(&format!("DROP TABLE IF EXISTS {}{RETIRED}", t.name), &[])?;
                }
                self.b
                    .exec(&format!("RENAME TABLE {}", renames.join(", ")), &[])?;
                for t in table::REPLACED_BY_INIT_LOAD {
                    self.b
                        .exec(&format!("DROP TABLE IF EXISTS {}{RETIRED}", t.name), &[])?;
                }
                in_tx(&mut self.b, |b| record_zone(b, &zone))
            }
        }
    }
}

/// Copies every row of `t` from `from` into `t` + [`SHADOW`] of `to`, in slices.
fn copy_rows<F: Backend, T: Backend>(from: &mut F, to: &mut T, t: &Table) -> Result<()> {
    const SLICE: usize = 5_000;
    let cols = t.all_columns();
    let n = t.columns.len() + usize::from(t.has_id);
    // The surrogate id, where there is one, is an integer.
    let is_int: Vec<bool> = std::iter::repeat_n(true, usize::from(t.has_id))
        .chain(t.int_columns())
        .collect();
    let head = format!("INSERT INTO {}{SHADOW} ({cols})", t.name);
    let mut rows: Vec<Vec<Owned>> = Vec::with_capacity(SLICE);
    let flush = |to: &mut T, rows: &mut Vec<Vec<Owned>>| -> Result<()> {
        to.insert_rows(
            &head,
            "",
            n,
            &mut rows.iter().map(|r| r.iter().map(Owned::cell).collect()),
            &mut |_| {},
        )?;
        rows.clear();
        Ok(())
    };
    // The two databases are two connections: rows stream from one into the other a slice
    // at a time, so memory stays flat whatever the backfill's size.
    from.query(&format!("SELECT {cols} FROM {}", t.name), &[], &mut |r| {
        rows.push(read_owned(r, &is_int)?);
        if rows.len() == SLICE {
            flush(to, &mut rows)?;
        }
        Ok(())
    })?;
    flush(to, &mut rows)
}

impl<B: Backend + 'static> Store for Db<B> {
    fn backend(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "sqlite",
            Dialect::Mysql => "mysql",
        }
    }

    fn shown(&self) -> String {
        self.b.shown().to_string()
    }

    fn ping(&mut self) -> Result<()> {
        query_int(&mut self.b, "SELECT 1", &[])?;
        Ok(())
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        kv_get(&mut self.b, &table::APR_META, key, false)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        kv_put(&mut self.b, &table::APR_META, key, value)
    }

    fn state(&mut self, key: &str) -> Result<Option<String>> {
        kv_get(&mut self.b, &table::ETL_STATE, key, false)
    }

    fn set_state(&mut self, key: &str, value: &str) -> Result<()> {
        kv_put(&mut self.b, &table::ETL_STATE, key, value)
    }

    fn record_zone(&mut self, zone: &str, replace: bool) {
        self.zone = Some((zone.to_string(), replace));
    }

    fn load(&mut self, batch: &LoadBatch<'_>) -> Result<LoadOutcome> {
        let zone = self.zone.clone();
        in_tx(&mut self.b, |b| load_in(b, batch, &zone, false))
    }

    fn table_summaries(&mut self) -> Result<Vec<TableSummary>> {
        let mut out = Vec::new();
        for t in table::REPLACED_BY_INIT_LOAD {
            let rows = query_int(
                &mut self.b,
                &format!("SELECT COUNT(*) FROM {}", t.name),
                &[],
            )?
            .unwrap_or(0) as u64;
            let mut span = None;
            if let (Some(col), true) = (t.time_column, rows > 0) {
                let sql = format!("SELECT MIN({col}), MAX({col}) FROM {}", t.name);
                self.b.query(&sql, &[], &mut |r| {
                    if let (Some(lo), Some(hi)) = (r.opt_int(0)?, r.opt_int(1)?) {
                        span = Some((lo, hi));
                    }
                    Ok(())
                })?;
            }
            out.push(TableSummary {
                table: t.name,
                rows,
                span,
            });
        }
        Ok(out)
    }

    fn replace_with(&mut self, staging: &Path) -> Result<()> {
        self.replace_tables(staging)
    }

    fn earliest_data(&mut self) -> Result<Option<i64>> {
        let ev = query_int(&mut self.b, "SELECT MIN(ts_epoch) FROM agent_events", &[])?;
        let st = query_int(&mut self.b, "SELECT MIN(hour_start) FROM users_calls", &[])?;
        Ok(match (ev, st) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    fn scan_events(
        &mut self,
        after: i64,
        before: i64,
        each: &mut dyn FnMut(StoredEvent),
    ) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM agent_events WHERE ts_epoch > ? AND ts_epoch < ? ORDER BY ts_epoch, id",
            table::STORED_EVENT_SELECT
        );
        self.b
            .query(&sql, &[Cell::Int(after), Cell::Int(before)], &mut |r| {
                each(table::decode_stored_event(r)?);
                Ok(())
            })
    }

    fn reader(&self) -> Result<Option<Box<dyn Store + Send>>> {
        Ok(self
            .b
            .connect_reader()?
            .map(|b| Box::new(Db::new(b)) as Box<dyn Store + Send>))
    }

    fn hour_calls(&mut self, from: i64, to: i64) -> Result<Vec<HourCalls>> {
        let sql = format!(
            "SELECT {} FROM users_calls WHERE hour_start >= ? AND hour_start < ?",
            table::HOUR_CALLS_SELECT
        );
        let mut out = Vec::new();
        self.b
            .query(&sql, &[Cell::Int(from), Cell::Int(to)], &mut |r| {
                out.push(table::decode_hour_calls(r)?);
                Ok(())
            })?;
        Ok(out)
    }

    fn agent_names(&mut self) -> Result<HashMap<String, String>> {
        Ok(read_names(&mut self.b, None)?
            .into_iter()
            .map(|(ext, seen)| (ext, seen.canonical()))
            .collect())
    }

    fn replace_activity(
        &mut self,
        from: i64,
        to: i64,
        rows: &[ActivityRow],
        state: &[(String, String)],
    ) -> Result<()> {
        let zone = self.zone.clone();
        in_tx(&mut self.b, |b| {
            write_activity(b, from, to, rows)?;
            for (k, v) in state {
                kv_put(b, &table::ETL_STATE, k, v)?;
            }
            record_zone(b, &zone)
        })
    }

    fn scan_activity(
        &mut self,
        filter: &ActivityFilter,
        each: &mut dyn FnMut(ActivityRow) -> Result<()>,
    ) -> Result<()> {
        let (sql, cells) = activity_query(filter);
        self.b
            .query(&sql, &cells, &mut |r| each(table::decode_activity(r)?))
    }

    fn token(&mut self) -> Result<Option<CachedToken>> {
        let sql = format!(
            "SELECT {} FROM api_token WHERE id = 1",
            table::API_TOKEN.column_list()
        );
        let mut out = None;
        self.b.query(&sql, &[], &mut |r| {
            out = Some(table::decode_token(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn set_token(&mut self, token: &CachedToken) -> Result<()> {
        let (head, tail) = self.dialect().upsert(&table::API_TOKEN);
        let cells = table::encode_token(token);
        self.b.exec(
            &format!("{head} VALUES ({}) {tail}", placeholders(cells.len())),
            &cells,
        )?;
        Ok(())
    }

    fn try_lock(&mut self, name: &str) -> Result<bool> {
        self.b.try_lock(name)
    }

    fn sql(&mut self) -> &mut dyn Backend {
        &mut self.b
    }

    fn queue_store(&mut self) -> Option<&mut dyn QueueStore> {
        Some(self)
    }
}

impl<B: Backend + 'static> QueueStore for Db<B> {
    fn load_queue_chunk(
        &mut self,
        lines: &[RawLine<'_>],
        rejects: &[RejectRow<'_>],
        derive: &mut DeriveFn<'_>,
        hour_stats: &mut HourStatsFn<'_>,
    ) -> Result<ChunkOutcome> {
        let zone = self.zone.clone();
        in_tx(&mut self.b, |b| {
            let now = now_epoch();
            let mut outcome = ChunkOutcome::default();
            let (new, lines_new) = insert_raw_lines(b, lines, now)?;
            outcome.lines_new = lines_new;
            let insert = b.dialect().insert_ignore(&table::QUEUE_LOG_REJECTS);
            let mut rejects_new = 0;
            b.insert_rows(
                &insert,
                "",
                table::QUEUE_LOG_REJECTS.columns.len(),
                &mut rejects.iter().map(|r| table::encode_reject(r, now)),
                &mut |n| rejects_new += n,
            )?;
            outcome.rejects_new = rejects_new;

            let writes = derive(&new)?;
            // A stint can appear twice in a chunk (connected, then ended); the later row
            // wins and each row counts once.
            let (head, tail) = b.dialect().upsert(&table::QUEUE_CALLS);
            b.insert_rows(
                &head,
                &tail,
                table::QUEUE_CALLS.columns.len(),
                &mut writes.stints.iter().map(table::encode_stint),
                &mut |_| {},
            )?;
            outcome.stints_written = writes.stints.len() as u64;

            let mut stats = Vec::with_capacity(writes.ring_hours.len());
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
                &zone,
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

    fn queue_state(&mut self, key: &str) -> Result<Option<String>> {
        kv_get(&mut self.b, &table::QUEUE_LOG_STATE, key, false)
    }

    fn scan_queue_calls(
        &mut self,
        from_local: &str,
        to_local: &str,
        each: &mut dyn FnMut(Stint) -> Result<()>,
    ) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM queue_calls WHERE enter_hour_local >= ? AND enter_hour_local < ? \
             ORDER BY enter_hour, queuename, enter_time, callid",
            table::QUEUE_CALLS.column_list()
        );
        self.b.query(
            &sql,
            &[Cell::Text(from_local), Cell::Text(to_local)],
            &mut |r| each(table::decode_stint(r)?),
        )
    }
}
