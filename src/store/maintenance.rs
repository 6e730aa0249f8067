//! Statements of the operating commands (SPEC §12) on an opened store's connection:
//! `status` reads through a store opened read-only, `prune` deletes through one opened for
//! writing (under the write lock). The statements are the portable subset both backends run;
//! opening, the database contract and errors are the store's.

use super::kv::kv_put;
use super::sql::{Backend, Dialect};
use super::table;
use super::value::{Cell, RowRead};
use crate::error::Result;
use crate::model::ClusterState;

/// A store's connection, borrowed for the operating commands' statements.
pub struct Conn<'s> {
    b: &'s mut dyn Backend,
}

impl<'s> Conn<'s> {
    pub fn new(b: &'s mut dyn Backend) -> Conn<'s> {
        Conn { b }
    }

    /// The database as shown to people (no password).
    pub fn shown(&self) -> String {
        self.b.shown().to_string()
    }

    pub fn backend(&self) -> &'static str {
        self.b.dialect().name()
    }

    /// Calls `each` with every row of a query.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[Cell<'_>],
        each: &mut dyn FnMut(&mut dyn RowRead) -> Result<()>,
    ) -> Result<()> {
        self.b.query(sql, params, each)
    }

    /// The first column of the first row as an integer (`None`: no row, NULL, or text
    /// that is not a number).
    pub fn int(&mut self, sql: &str, params: &[Cell<'_>]) -> Result<Option<i64>> {
        let mut out = None;
        let mut first = true;
        self.query(sql, params, &mut |r| {
            if first {
                first = false;
                out = match r.opt_int(0) {
                    Ok(v) => v,
                    Err(_) => r.text(0)?.trim().parse().ok(),
                };
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Runs a statement; returns the rows it changed.
    pub fn exec(&mut self, sql: &str, params: &[Cell<'_>]) -> Result<u64> {
        self.b.exec(sql, params)
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Conn<'_>) -> Result<T>) -> Result<T> {
        self.b.begin()?;
        match f(&mut Conn { b: &mut *self.b }) {
            Ok(v) => {
                self.b.commit()?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.b.rollback();
                Err(e)
            }
        }
    }

    /// Upserts an `etl_state` value (inside the caller's transaction, if any).
    pub fn set_state(&mut self, key: &str, value: &str) -> Result<()> {
        kv_put(self.b, &table::ETL_STATE, key, value)
    }

    /// The node's place in its cluster, when the server is a Galera node.
    pub fn cluster_state(&mut self) -> Result<Option<ClusterState>> {
        self.b.cluster_state()
    }

    /// Bytes the SQLite file holds free for reuse (pages freed by deletes), `None` on MySQL.
    pub fn sqlite_free_bytes(&mut self) -> Result<Option<u64>> {
        if self.b.dialect() != Dialect::Sqlite {
            return Ok(None);
        }
        let pages = self.int("PRAGMA freelist_count", &[])?.unwrap_or(0);
        let size = self.int("PRAGMA page_size", &[])?.unwrap_or(0);
        Ok(Some((pages * size).max(0) as u64))
    }
}
