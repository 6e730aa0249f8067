//! [`Db`]: apr's tables on any [`Backend`]. The load workflows (an API window, a queue_log
//! chunk, an aggregation batch, the `etl_state` writes that go with them), the queries and
//! the init-load swap are written here once, one file each; the backends only run SQL.

use std::collections::HashMap;
use std::path::Path;

use crate::error::Result;
use crate::model::live::LiveAgent;
use crate::model::queue::{ChunkOutcome, DeriveFn, HourStatsFn, RawLine, RejectRow, Stint};
use crate::model::{
    ActivityFilter, ActivityRow, CachedToken, HourCalls, LoadBatch, LoadOutcome, StoredEvent,
    TableSummary,
};
use crate::store::kv::{kv_get, kv_put, record_zone};
use crate::store::retry::in_tx_retried;
use crate::store::rows;
use crate::store::sql::{Backend, Dialect, placeholders, query_int};
use crate::store::table;
use crate::store::traits::{QueueStore, Store};
use crate::store::value::Cell;

mod activity;
mod load;
mod queue;
mod swap;

pub(crate) use activity::activity_query;

/// apr's schema in one database, through one connection.
pub struct Db<B: Backend> {
    pub(crate) b: B,
    /// The zone the next committed write records in `apr_meta` (SPEC §9: by the first run
    /// that commits data), and whether it may replace a recorded one.
    zone: Option<(String, bool)>,
}

impl<B: Backend> Db<B> {
    /// Wraps a connection whose schema the caller has checked ([`crate::store::contract`]).
    pub(crate) fn new(b: B) -> Db<B> {
        Db { b, zone: None }
    }

    fn dialect(&self) -> Dialect {
        self.b.dialect()
    }
}

impl<B: Backend + 'static> Store for Db<B> {
    fn backend(&self) -> &'static str {
        self.dialect().name()
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

    // The single writes are transactions of their own too: retried when they lose to a
    // concurrent writer (a Galera certification conflict), and checked against the write
    // lease where one is held (see `Backend::commit` of MySQL).
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        in_tx_retried(&mut self.b, |b| kv_put(b, &table::APR_META, key, value))
    }

    fn state(&mut self, key: &str) -> Result<Option<String>> {
        kv_get(&mut self.b, &table::ETL_STATE, key, false)
    }

    fn set_state(&mut self, key: &str, value: &str) -> Result<()> {
        in_tx_retried(&mut self.b, |b| kv_put(b, &table::ETL_STATE, key, value))
    }

    fn record_zone(&mut self, zone: &str, replace: bool) {
        self.zone = Some((zone.to_string(), replace));
    }

    fn load(&mut self, batch: &LoadBatch<'_>) -> Result<LoadOutcome> {
        let zone = self.zone.clone();
        in_tx_retried(&mut self.b, |b| load::load_in(b, batch, &zone, false))
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
        swap::replace_tables(&mut self.b, staging, &self.zone)
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
            rows::STORED_EVENT_SELECT
        );
        self.b
            .query(&sql, &[Cell::Int(after), Cell::Int(before)], &mut |r| {
                each(rows::decode_stored_event(r)?);
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
            rows::HOUR_CALLS_SELECT
        );
        let mut out = Vec::new();
        self.b
            .query(&sql, &[Cell::Int(from), Cell::Int(to)], &mut |r| {
                out.push(rows::decode_hour_calls(r)?);
                Ok(())
            })?;
        Ok(out)
    }

    fn agent_names(&mut self) -> Result<HashMap<String, String>> {
        Ok(load::read_names(&mut self.b, None)?
            .into_iter()
            .map(|(ext, seen)| (ext, seen.canonical()))
            .collect())
    }

    fn latest_activity_hour(&mut self) -> Result<Option<i64>> {
        query_int(
            &mut self.b,
            "SELECT MAX(report_hour) FROM agent_activity",
            &[],
        )
    }

    fn replace_activity_and_live(
        &mut self,
        from: i64,
        to: i64,
        rows: &[ActivityRow],
        state: &[(String, String)],
        live: Option<&[LiveAgent]>,
    ) -> Result<()> {
        let zone = self.zone.clone();
        in_tx_retried(&mut self.b, |b| {
            activity::write_activity(b, from, to, rows)?;
            if let Some(live) = live {
                activity::write_live(b, live)?;
            }
            for (k, v) in state {
                kv_put(b, &table::ETL_STATE, k, v)?;
            }
            record_zone(b, &zone)
        })
    }

    fn live_agents(&mut self) -> Result<Vec<LiveAgent>> {
        activity::read_live(&mut self.b)
    }

    fn scan_activity(
        &mut self,
        filter: &ActivityFilter,
        each: &mut dyn FnMut(ActivityRow) -> Result<()>,
    ) -> Result<()> {
        let (sql, cells) = activity_query(filter, self.dialect());
        self.b
            .query(&sql, &cells, &mut |r| each(rows::decode_activity(r)?))
    }

    fn token(&mut self) -> Result<Option<CachedToken>> {
        let sql = format!(
            "SELECT {} FROM api_token WHERE id = 1",
            table::API_TOKEN.column_list()
        );
        let mut out = None;
        self.b.query(&sql, &[], &mut |r| {
            out = Some(rows::decode_token(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn set_token(&mut self, token: &CachedToken) -> Result<()> {
        let (head, tail) = self.dialect().upsert(&table::API_TOKEN);
        let cells = rows::encode_token(token);
        let sql = format!("{head} VALUES ({}) {tail}", placeholders(cells.len()));
        in_tx_retried(&mut self.b, |b| b.exec(&sql, &cells).map(|_| ()))
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
        queue::load_chunk(&mut self.b, lines, rejects, derive, hour_stats, &self.zone)
    }

    fn queue_state(&mut self, key: &str) -> Result<Option<String>> {
        kv_get(&mut self.b, &table::QUEUE_LOG_STATE, key, false)
    }

    fn queue_names(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.b.query(
            "SELECT DISTINCT queuename FROM queue_calls ORDER BY queuename",
            &[],
            &mut |r| {
                out.push(r.text(0)?);
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn scan_queue_calls(
        &mut self,
        from_local: &str,
        to_local: &str,
        each: &mut dyn FnMut(Stint) -> Result<()>,
    ) -> Result<()> {
        queue::scan_stints(&mut self.b, from_local, to_local, each)
    }
}
