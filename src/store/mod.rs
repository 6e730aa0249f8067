//! Storage: one trait, [`Store`], implemented once by [`db::Db`] over a small backend trait
//! ([`sql::Backend`]) with an SQLite backend (the embedded default), a MySQL/MariaDB
//! backend and a PostgreSQL backend. Tables are described once in [`table`]; the schema lives in `schema.sql` at the
//! repository root; [`contract`] keeps SPEC §9 (ownership, schema versions) before anything
//! runs. Every write method is one transaction; loads are idempotent (the natural key of
//! `agent_events`, replace-per-hour for `users_calls`).
//!
//! The files stand on floors; each imports only from the floors below it, and in a folder
//! the parent only from its children, so no import goes back up (`tests/layers.rs` checks
//! the whole crate):
//!
//! | floor | files | what they hold |
//! |---|---|---|
//! | 0 | [`value`], `schema` | the one value type and row reader; `schema.sql` |
//! | 1 | [`table`] | one descriptor per table |
//! | 2 | [`rows`], [`sql`] | each table's encoder and decoder; the dialects and the backend trait |
//! | 3 | `kv`, `traits` | key-value reads and writes; the [`Store`] and [`QueueStore`] traits |
//! | 4 | [`contract`], [`maintenance`] | SPEC §9 before anything runs; the operating commands' statements |
//! | 5 | [`db`] (`load`, `activity`, `queue`, `swap`) | every workflow, once, over any backend |
//! | 6 | [`sqlite`] (`file`, `error`, `immutable`) | the SQLite backend |
//! | 7 | [`mysql`] (`url`, `error`), [`postgres`] (`url`, `error`, `tls`, `wire`) | the MySQL and PostgreSQL backends (they read init-load's SQLite staging file) |
//! | 8 | `url`, this file | [`DatabaseUrl`]; opening a store |
//!
//! The store imports only [`crate::model`] and [`crate::error`] from outside it.

use crate::error::Result;

pub mod contract;
pub mod db;
mod kv;
pub mod maintenance;
pub mod mysql;
pub mod postgres;
pub mod retry;
mod ring_backfill;
pub mod rows;
mod schema;
pub mod sql;
pub mod sqlite;
pub mod table;
mod traits;
mod url;
pub mod value;

use mysql::MysqlStore;
use postgres::PostgresStore;
pub use schema::SCHEMA_VERSION;
use sqlite::SqliteStore;
pub use traits::{BeforeWrite, QueueStore, Store};
pub use url::DatabaseUrl;

/// Opens the database for writing: creates apr's schema where there is none (the SQLite file
/// too), upgrades an older one, and refuses a database that is not apr's (SPEC §9). Call it
/// only after the command's arguments, files and settings are validated.
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn Store>> {
    open_checked(url, &mut |_, _| Ok(()))
}

/// [`open`], with `before` run under the contract checks but before the first write to the
/// schema. A missing SQLite file is created (empty) before `before` runs.
pub fn open_checked(url: &DatabaseUrl, before: &mut BeforeWrite<'_>) -> Result<Box<dyn Store>> {
    let store: Box<dyn Store> = open_queue_checked(url, before)?;
    Ok(store)
}

/// Opens an existing database for reading only: never creates a file, a table or a row
/// (SPEC §9). A missing database is a configuration error (exit 2).
pub fn open_read_only(url: &DatabaseUrl) -> Result<Box<dyn Store>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => Box::new(SqliteStore::open_read_only(path)?),
        DatabaseUrl::Mysql(url) => Box::new(MysqlStore::open_read_only(url)?),
        DatabaseUrl::Postgres(url) => Box::new(PostgresStore::open_read_only(url)?),
    })
}

/// The database read-only when it exists and holds apr's tables, else `None`; never
/// creates anything. A database that is not apr's, or is newer, is refused.
pub fn peek(url: &DatabaseUrl) -> Result<Option<Box<dyn Store>>> {
    Ok(peek_queue(url)?.map(|s| s as Box<dyn Store>))
}

/// Opens the database for queue_log loading (see [`open`]). Every store is a
/// [`QueueStore`]; the plain openers hand out its [`Store`] side.
pub fn open_queue(url: &DatabaseUrl) -> Result<Box<dyn QueueStore>> {
    open_queue_checked(url, &mut |_, _| Ok(()))
}

/// [`open_queue`], with `before` run as [`open_checked`] runs it.
pub fn open_queue_checked(
    url: &DatabaseUrl,
    before: &mut BeforeWrite<'_>,
) -> Result<Box<dyn QueueStore>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => Box::new(SqliteStore::open_checked(path, before)?),
        DatabaseUrl::Mysql(url) => Box::new(MysqlStore::open_checked(url, before)?),
        DatabaseUrl::Postgres(url) => Box::new(PostgresStore::open_checked(url, before)?),
    })
}

/// The database read-only for queue_log reading when it exists and holds apr's tables (a
/// dry run's cursors).
pub fn peek_queue(url: &DatabaseUrl) -> Result<Option<Box<dyn QueueStore>>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            SqliteStore::open_existing(path)?.map(|s| Box::new(s) as Box<dyn QueueStore>)
        }
        DatabaseUrl::Mysql(url) => {
            MysqlStore::open_existing(url)?.map(|s| Box::new(s) as Box<dyn QueueStore>)
        }
        DatabaseUrl::Postgres(url) => {
            PostgresStore::open_existing(url)?.map(|s| Box::new(s) as Box<dyn QueueStore>)
        }
    })
}
