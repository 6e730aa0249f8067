//! [`QueueStore`] for SQLite: prepared statements in one immediate transaction per chunk.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::queue::{
    ChunkOutcome, DeriveFn, HourStatsFn, QueueStore, RAW_COLUMNS, RING_EVENTS_SQL, RawLine,
    RejectRow, STINT_COLUMNS, StintCell, clip, limits, stint_cells,
};
use super::sqlite::{SqliteStore, load_in, put_state};
use super::{LoadBatch, now_epoch, placeholders};
use crate::error::Result;
use crate::model::EventSource;
use crate::source::queue_log::derive::{Outcome, RingRow, Stint};

fn ring_rows(conn: &Connection, from: i64, to: i64) -> Result<Vec<RingRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT agent, callid, event FROM queue_log \
         WHERE time >= ?1 AND time < ?2 AND event IN {RING_EVENTS_SQL}"
    ))?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(RingRow {
            agent: r.get(0)?,
            callid: r.get(1)?,
            connected: r.get::<_, String>(2)? == "CONNECT",
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Stint cells bind borrowed: no copy of the text per row.
impl rusqlite::ToSql for StintCell<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            StintCell::Int(n) => ToSqlOutput::Owned(n.map_or(Value::Null, Value::Integer)),
            StintCell::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

impl QueueStore for SqliteStore {
    fn load_queue_chunk(
        &mut self,
        lines: &[RawLine<'_>],
        rejects: &[RejectRow<'_>],
        derive: &mut DeriveFn<'_>,
        hour_stats: &mut HourStatsFn<'_>,
    ) -> Result<ChunkOutcome> {
        let now = now_epoch();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcome = ChunkOutcome::default();
        let mut new = Vec::with_capacity(lines.len());
        {
            let mut insert = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO queue_log ({RAW_COLUMNS}) VALUES ({})",
                placeholders(12)
            ))?;
            for l in lines {
                let n = insert.execute(params![
                    l.time,
                    l.hash as i64,
                    clip(l.callid, limits::CALLID),
                    clip(l.queuename, limits::QUEUE),
                    clip(l.agent, limits::AGENT),
                    clip(l.event, limits::EVENT),
                    clip(l.data[0], limits::DATA),
                    clip(l.data[1], limits::DATA),
                    clip(l.data[2], limits::DATA),
                    clip(l.data[3], limits::DATA),
                    clip(l.data[4], limits::DATA),
                    now,
                ])?;
                outcome.lines_new += n as u64;
                new.push(n == 1);
            }
            let mut reject = tx.prepare_cached(
                "INSERT OR IGNORE INTO queue_log_rejects (file, line_no, line_hash, reason, line, loaded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in rejects {
                outcome.rejects_new += reject.execute(params![
                    clip(r.file, limits::FILE),
                    r.line_no as i64,
                    r.hash as i64,
                    clip(&r.reason, limits::REASON),
                    clip(r.line, limits::DATA),
                    now,
                ])? as u64;
            }
        }
        let writes = derive(&new)?;
        {
            let mut put = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO queue_calls ({STINT_COLUMNS}) VALUES ({})",
                placeholders(14)
            ))?;
            for s in &writes.stints {
                let cells = stint_cells(s);
                outcome.stints_written +=
                    put.execute(rusqlite::params_from_iter(cells.iter()))? as u64;
            }
        }
        let mut stats = Vec::with_capacity(writes.ring_hours.len());
        for hour in &writes.ring_hours {
            stats.push(hour_stats(*hour, &ring_rows(&tx, hour.start, hour.end)?));
        }
        outcome.load = load_in(
            &tx,
            &LoadBatch {
                events: &writes.events,
                stats: &stats,
                source: Some(EventSource::QueueLog),
                state: Vec::new(),
                data_until: writes.data_until,
            },
        )?;
        for (k, v) in &writes.state {
            put_state(&tx, k, v)?;
        }
        for (k, v) in &writes.queue_state {
            tx.prepare_cached(
                "INSERT INTO queue_log_state (state_key, state_value, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(state_key) DO UPDATE SET state_value = excluded.state_value, updated_at = excluded.updated_at",
            )?
            .execute(params![k, v, now])?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    fn queue_state(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT state_value FROM queue_log_state WHERE state_key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn scan_queue_calls(
        &mut self,
        from_local: &str,
        to_local: &str,
        each: &mut dyn FnMut(Stint) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STINT_COLUMNS} FROM queue_calls \
             WHERE enter_hour_local >= ?1 AND enter_hour_local < ?2 \
             ORDER BY enter_hour, queuename, enter_time, callid"
        ))?;
        let mut rows = stmt.query(params![from_local, to_local])?;
        while let Some(r) = rows.next()? {
            let outcome: String = r.get(8)?;
            each(Stint {
                callid: r.get(0)?,
                queue: r.get(1)?,
                enter_time: r.get(2)?,
                enter_hour: r.get(3)?,
                enter_hour_local: r.get(4)?,
                caller_number: r.get(5)?,
                caller_name: r.get(6)?,
                entry_position: r.get(7)?,
                outcome: Outcome::parse(&outcome),
                agent: r.get(9)?,
                wait_secs: r.get(10)?,
                talk_secs: r.get(11)?,
                ring_attempts: r.get(12)?,
                end_time: r.get(13)?,
                pending: false,
            })?;
        }
        Ok(())
    }
}
