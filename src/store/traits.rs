//! What the rest of apr calls: [`Store`], apr's tables in one database; [`QueueStore`], the
//! queue_log tables beside them (SPEC §6: only queue_log ingestion and the queue report use
//! them; one chunk of lines is one transaction together with its agent events, `users_calls`
//! hours and state); and [`BeforeWrite`], a writing command's decision before the schema
//! is written.

use std::collections::HashMap;
use std::path::Path;

use super::sql::Backend;
use crate::error::Result;
use crate::model::live::LiveAgent;
use crate::model::queue::{ChunkOutcome, DeriveFn, HourStatsFn, RawLine, RejectRow, Stint};
use crate::model::state::InstantKey;
use crate::model::{
    ActivityFilter, ActivityRow, CachedToken, HourCalls, LoadBatch, LoadOutcome, StoredEvent,
    TableSummary,
};

/// What a writing command decides after connecting and before apr's schema is created or
/// upgraded: it gets the store and whether it holds apr's schema (of this version or an
/// older one; only then may it read apr's tables). It takes its lock and makes every
/// refusal there, so that a refused run leaves the database as it found it.
pub type BeforeWrite<'a> = dyn FnMut(&mut dyn Store, bool) -> Result<()> + 'a;

/// A database holding apr's tables.
pub trait Store: Send {
    /// `sqlite` or `mysql`.
    fn backend(&self) -> &'static str;
    /// The database as shown in messages (path, or URL without password).
    fn shown(&self) -> String;
    /// Checks the connection (for `/health`).
    fn ping(&mut self) -> Result<()>;

    /// A value of `apr_meta` (`schema_version`, `timezone`, `owner`).
    fn meta(&mut self, key: &str) -> Result<Option<String>>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;

    /// A value of `etl_state`.
    fn state(&mut self, key: &str) -> Result<Option<String>>;
    fn set_state(&mut self, key: &str, value: &str) -> Result<()>;
    /// A typed instant of `etl_state`; a corrupt value is an error naming the key.
    fn instant(&mut self, key: InstantKey) -> Result<Option<i64>> {
        key.decode(self.state(key.name())?.as_deref())
    }

    /// The report zone the next committed write records in `apr_meta` when none is
    /// recorded yet (or, with `replace`, over the recorded one): SPEC §9 has the zone
    /// recorded by the first run that commits data.
    fn record_zone(&mut self, zone: &str, replace: bool);

    /// Loads events and stats in one transaction, records the instants touched for the next
    /// aggregation, and commits `batch.state` with them.
    fn load(&mut self, batch: &LoadBatch<'_>) -> Result<LoadOutcome>;

    /// Rows and time range of each table `init-load` replaces, in a fixed order.
    fn table_summaries(&mut self) -> Result<Vec<TableSummary>>;
    /// Row counts of the tables `init-load` replaces, in a fixed order.
    fn table_counts(&mut self) -> Result<Vec<(&'static str, u64)>> {
        Ok(self
            .table_summaries()?
            .into_iter()
            .map(|t| (t.table, t.rows))
            .collect())
    }
    /// Replaces the tables `init-load` replaces with those of the SQLite database at
    /// `staging`, in one atomic step; `apr_meta` and the cached token stay.
    fn replace_with(&mut self, staging: &Path) -> Result<()>;

    /// Earliest event or stats hour stored, if any.
    fn earliest_data(&mut self) -> Result<Option<i64>>;
    /// Events with `after < ts < before`, in `(ts, id)` order.
    fn scan_events(
        &mut self,
        after: i64,
        before: i64,
        each: &mut dyn FnMut(StoredEvent),
    ) -> Result<()>;
    /// `users_calls` rows with `from <= hour_start < to`.
    fn hour_calls(&mut self, from: i64, to: i64) -> Result<Vec<HourCalls>>;
    /// A second, read-only connection to the same database, so that reading can run on
    /// another thread beside this connection's writes (aggregation reads the next batch
    /// while it writes the last); `None` where the database cannot have one.
    fn reader(&self) -> Result<Option<Box<dyn Store + Send>>>;
    /// Canonical agent names: latest stats name, else latest event name.
    fn agent_names(&mut self) -> Result<HashMap<String, String>>;
    /// The start of the latest hour of `agent_activity`, if any (the web page opens on its
    /// day when today has no data).
    fn latest_activity_hour(&mut self) -> Result<Option<i64>>;
    /// Replaces every `agent_activity` row with `from <= report_hour < to` by `rows`, and
    /// writes `state`, in one transaction.
    fn replace_activity(
        &mut self,
        from: i64,
        to: i64,
        rows: &[ActivityRow],
        state: &[(String, String)],
    ) -> Result<()> {
        self.replace_activity_and_live(from, to, rows, state, None)
    }
    /// [`Store::replace_activity`], writing also, when given, the floor now (`agent_live`,
    /// replaced whole) in the same transaction.
    fn replace_activity_and_live(
        &mut self,
        from: i64,
        to: i64,
        rows: &[ActivityRow],
        state: &[(String, String)],
        live: Option<&[LiveAgent]>,
    ) -> Result<()>;
    /// The floor as the last aggregation left it (`agent_live`), by extension.
    fn live_agents(&mut self) -> Result<Vec<LiveAgent>>;
    /// Streams the report's rows in `report_hour` order.
    fn scan_activity(
        &mut self,
        filter: &ActivityFilter,
        each: &mut dyn FnMut(ActivityRow) -> Result<()>,
    ) -> Result<()>;

    fn token(&mut self) -> Result<Option<CachedToken>>;
    fn set_token(&mut self, token: &CachedToken) -> Result<()>;

    /// Takes the named exclusive lock for as long as this store lives (SQLite: a lock on a
    /// file beside the database; MySQL: `GET_LOCK`). `Ok(false)` when another process holds it.
    fn try_lock(&mut self, name: &str) -> Result<bool>;

    /// The connection underneath, for the operating commands (`status`, `prune`) that run
    /// their own portable statements through [`super::maintenance::Conn`].
    fn sql(&mut self) -> &mut dyn Backend;

    /// The queue_log tables of this database (the queue report).
    fn queue_store(&mut self) -> Option<&mut dyn QueueStore> {
        None
    }
}

/// A database that also holds the queue_log tables.
pub trait QueueStore: Store {
    /// In one transaction: inserts the raw lines (ignoring ones stored before) and the
    /// rejects, calls `derive` with which lines were new, writes its stints, recomputes the
    /// `users_calls` hours it names through `hour_stats`, loads its events and commits its
    /// state.
    fn load_queue_chunk(
        &mut self,
        lines: &[RawLine<'_>],
        rejects: &[RejectRow<'_>],
        derive: &mut DeriveFn<'_>,
        hour_stats: &mut HourStatsFn<'_>,
    ) -> Result<ChunkOutcome>;

    /// A value of `queue_log_state`.
    fn queue_state(&mut self, key: &str) -> Result<Option<String>>;

    /// The names of the queues `queue_calls` holds, sorted (the web page's pick-list).
    fn queue_names(&mut self) -> Result<Vec<String>>;

    /// Stints whose local entry hour label is in `[from_local, to_local)`, ordered by entry
    /// hour then queue name.
    fn scan_queue_calls(
        &mut self,
        from_local: &str,
        to_local: &str,
        each: &mut dyn FnMut(Stint) -> Result<()>,
    ) -> Result<()>;
}
