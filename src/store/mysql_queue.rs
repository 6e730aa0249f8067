//! [`QueueStore`] for MySQL/MariaDB: multi-row statements in one transaction per chunk.
//! Which lines are new is decided by reading the stored `(time, line_hash)` keys of the
//! chunk's time span first, so that only new lines are inserted (no AUTO_INCREMENT ids are
//! spent on duplicates) and the derivation sees exactly what SQLite's would.

use std::collections::HashSet;

use mysql::prelude::Queryable;
use mysql::{Params, TxOpts, Value};

use super::mysql::{MysqlStore, col, insert_rows, load_in, put_state, update_all};
use super::queue::{
    ChunkOutcome, DeriveFn, HourStatsFn, QueueStore, RAW_COLUMNS, RING_EVENTS_SQL, RawLine,
    RejectRow, STINT_COLUMNS, StintCell, clip, limits, stint_cells,
};
use super::{LoadBatch, now_epoch};
use crate::error::Result;
use crate::model::EventSource;
use crate::source::queue_log::derive::{Outcome, RingRow, Stint};

fn text(s: &str) -> Value {
    Value::Bytes(s.as_bytes().to_vec())
}

fn opt_int(v: Option<i64>) -> Value {
    v.map_or(Value::NULL, Value::Int)
}

impl QueueStore for MysqlStore {
    fn load_queue_chunk(
        &mut self,
        lines: &[RawLine<'_>],
        rejects: &[RejectRow<'_>],
        derive: &mut DeriveFn<'_>,
        hour_stats: &mut HourStatsFn<'_>,
    ) -> Result<ChunkOutcome> {
        let now = now_epoch();
        let mut tx = self.conn.start_transaction(TxOpts::default())?;
        let mut outcome = ChunkOutcome::default();

        let mut stored: HashSet<(i64, i64)> = HashSet::new();
        if let (Some(lo), Some(hi)) = (
            lines.iter().map(|l| l.time).min(),
            lines.iter().map(|l| l.time).max(),
        ) {
            for row in tx.exec_iter(
                "SELECT time, line_hash FROM queue_log WHERE time >= ? AND time <= ?",
                (lo, hi),
            )? {
                let mut row = row?;
                stored.insert((col(&mut row, 0)?, col(&mut row, 1)?));
            }
        }
        let new: Vec<bool> = lines
            .iter()
            .map(|l| stored.insert((l.time, l.hash as i64)))
            .collect();
        let fresh: Vec<&RawLine<'_>> = lines
            .iter()
            .zip(&new)
            .filter(|(_, n)| **n)
            .map(|(l, _)| l)
            .collect();
        outcome.lines_new = insert_rows(
            &mut tx,
            &format!("INSERT IGNORE INTO queue_log ({RAW_COLUMNS})"),
            "",
            12,
            fresh,
            |l| {
                vec![
                    Value::Int(l.time),
                    Value::Int(l.hash as i64),
                    text(clip(l.callid, limits::CALLID)),
                    text(clip(l.queuename, limits::QUEUE)),
                    text(clip(l.agent, limits::AGENT)),
                    text(clip(l.event, limits::EVENT)),
                    text(clip(l.data[0], limits::DATA)),
                    text(clip(l.data[1], limits::DATA)),
                    text(clip(l.data[2], limits::DATA)),
                    text(clip(l.data[3], limits::DATA)),
                    text(clip(l.data[4], limits::DATA)),
                    Value::Int(now),
                ]
            },
        )?;
        outcome.rejects_new = insert_rows(
            &mut tx,
            "INSERT IGNORE INTO queue_log_rejects (file, line_no, line_hash, reason, line, loaded_at)",
            "",
            6,
            rejects,
            |r| {
                vec![
                    text(clip(r.file, limits::FILE)),
                    Value::Int(r.line_no as i64),
                    Value::Int(r.hash as i64),
                    text(clip(&r.reason, limits::REASON)),
                    text(clip(r.line, limits::DATA)),
                    Value::Int(now),
                ]
            },
        )?;

        let writes = derive(&new)?;
        // A stint can appear twice in a chunk (connected, then ended); the later row wins, as
        // with SQLite's INSERT OR REPLACE, and each row counts once.
        insert_rows(
            &mut tx,
            &format!("INSERT INTO queue_calls ({STINT_COLUMNS})"),
            &update_all(STINT_COLUMNS),
            14,
            &writes.stints,
            |s| {
                stint_cells(s)
                    .into_iter()
                    .map(|c| match c {
                        StintCell::Int(n) => opt_int(n),
                        StintCell::Text(t) => text(t),
                    })
                    .collect()
            },
        )?;
        outcome.stints_written = writes.stints.len() as u64;

        let mut stats = Vec::with_capacity(writes.ring_hours.len());
        for hour in &writes.ring_hours {
            let mut rows = Vec::new();
            for row in tx.exec_iter(
                format!(
                    "SELECT agent, callid, event FROM queue_log \
                     WHERE time >= ? AND time < ? AND event IN {RING_EVENTS_SQL}"
                ),
                (hour.start, hour.end),
            )? {
                let mut row = row?;
                rows.push(RingRow {
                    agent: col(&mut row, 0)?,
                    callid: col(&mut row, 1)?,
                    connected: col::<String>(&mut row, 2)? == "CONNECT",
                });
            }
            stats.push(hour_stats(*hour, &rows));
        }
        outcome.load = load_in(
            &mut tx,
            &LoadBatch {
                events: &writes.events,
                stats: &stats,
                source: Some(EventSource::QueueLog),
                state: Vec::new(),
                data_until: writes.data_until,
            },
        )?;
        for (k, v) in &writes.state {
            put_state(&mut tx, k, v)?;
        }
        for (k, v) in &writes.queue_state {
            tx.exec_drop(
                "INSERT INTO queue_log_state (state_key, state_value, updated_at) VALUES (?, ?, ?) \
                 ON DUPLICATE KEY UPDATE state_value = VALUES(state_value), updated_at = VALUES(updated_at)",
                (k, v, now),
            )?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    fn queue_state(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.conn.exec_first(
            "SELECT state_value FROM queue_log_state WHERE state_key = ?",
            (key,),
        )?)
    }

    fn scan_queue_calls(
        &mut self,
        from_local: &str,
        to_local: &str,
        each: &mut dyn FnMut(Stint) -> Result<()>,
    ) -> Result<()> {
        let rows = self.conn.exec_iter(
            format!(
                "SELECT {STINT_COLUMNS} FROM queue_calls \
                 WHERE enter_hour_local >= ? AND enter_hour_local < ? \
                 ORDER BY enter_hour, queuename, enter_time, callid"
            ),
            Params::Positional(vec![text(from_local), text(to_local)]),
        )?;
        for row in rows {
            let mut r = row?;
            let outcome: String = col(&mut r, 8)?;
            each(Stint {
                callid: col(&mut r, 0)?,
                queue: col(&mut r, 1)?,
                enter_time: col(&mut r, 2)?,
                enter_hour: col(&mut r, 3)?,
                enter_hour_local: col(&mut r, 4)?,
                caller_number: col(&mut r, 5)?,
                caller_name: col(&mut r, 6)?,
                entry_position: col(&mut r, 7)?,
                outcome: Outcome::parse(&outcome),
                agent: col(&mut r, 9)?,
                wait_secs: col(&mut r, 10)?,
                talk_secs: col(&mut r, 11)?,
                ring_attempts: col(&mut r, 12)?,
                end_time: col(&mut r, 13)?,
                pending: false,
            })?;
        }
        Ok(())
    }
}
