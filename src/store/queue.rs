//! Storage of the queue_log tables (SPEC §6): raw lines (`queue_log`), rejects
//! (`queue_log_rejects`) and derived stints (`queue_calls`). A separate trait beside
//! [`Store`], because only queue_log ingestion and the queue report use it. One chunk of
//! lines is one transaction together with its agent events, `users_calls` hours and state.

use crate::error::Result;
pub use crate::model::queue::{
    ChunkOutcome, ChunkWrites, DeriveFn, HourStatsFn, RawLine, RejectRow, Stint,
};

use super::{DatabaseUrl, Store};

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

    /// Stints whose local entry hour label is in `[from_local, to_local)`, ordered by entry
    /// hour then queue name.
    fn scan_queue_calls(
        &mut self,
        from_local: &str,
        to_local: &str,
        each: &mut dyn FnMut(Stint) -> Result<()>,
    ) -> Result<()>;
}

/// Opens the database for queue_log loading (see [`super::open`]).
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn QueueStore>> {
    open_checked(url, &mut |_, _| Ok(()))
}

/// [`open`], with `before` run as [`super::open_checked`] runs it.
pub fn open_checked(
    url: &DatabaseUrl,
    before: &mut super::BeforeWrite<'_>,
) -> Result<Box<dyn QueueStore>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            Box::new(super::sqlite::SqliteStore::open_checked(path, before)?)
        }
        DatabaseUrl::Mysql(url) => Box::new(super::mysql::MysqlStore::open_checked(url, before)?),
    })
}

/// The database read-only when it exists and holds apr's tables (a dry run's cursors).
pub fn peek(url: &DatabaseUrl) -> Result<Option<Box<dyn QueueStore>>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => super::sqlite::SqliteStore::open_existing(path)?
            .map(|s| Box::new(s) as Box<dyn QueueStore>),
        DatabaseUrl::Mysql(url) => super::mysql::MysqlStore::open_existing(url)?
            .map(|s| Box::new(s) as Box<dyn QueueStore>),
    })
}
