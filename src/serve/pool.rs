//! A small pool of read-only database connections for `apr serve` (issue 13.5): a request
//! takes an idle connection (checked with a ping) or opens one, and gives it back when it
//! succeeded, so busy servers stop opening a connection (and its page cache) per request.
//! At most [`MAX_IDLE`] are kept; how many are in use at once is bounded by
//! [`super::limit::MAX_IN_FLIGHT`].

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::store::{self, DatabaseUrl, Store};

/// Idle connections kept between requests.
pub const MAX_IDLE: usize = 4;

/// The connections of one server.
pub struct StorePool {
    database: DatabaseUrl,
    idle: Mutex<Vec<Box<dyn Store>>>,
}

impl std::fmt::Debug for StorePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorePool")
            .field("database", &self.database.shown())
            .finish()
    }
}

impl StorePool {
    pub fn new(database: DatabaseUrl) -> StorePool {
        StorePool {
            database,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn database(&self) -> &DatabaseUrl {
        &self.database
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Box<dyn Store>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A live connection: an idle one that still answers, else a new one. Serving never
    /// creates or writes anything (SPEC §9); any failure to open is the database being
    /// unavailable, as `/health` reports it.
    pub fn take(&self) -> Result<Box<dyn Store>> {
        loop {
            let pooled = self.idle().pop();
            match pooled {
                Some(mut s) => {
                    if s.ping().is_ok() {
                        return Ok(s);
                    }
                    // Gone stale (a restarted server): dropped, try the next.
                }
                None => break,
            }
        }
        store::open_read_only(&self.database).map_err(|e| match e {
            Error::Database(_) | Error::Contended(_) => e,
            other => Error::db(other),
        })
    }

    /// Keeps `s` for the next request (only after it served one without an error).
    pub fn give_back(&self, s: Box<dyn Store>) {
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_reused_and_at_most_max_idle_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        drop(store::open(&DatabaseUrl::sqlite(path.clone())).unwrap());
        let pool = StorePool::new(DatabaseUrl::sqlite(path));
        let taken: Vec<_> = (0..MAX_IDLE + 2).map(|_| pool.take().unwrap()).collect();
        for s in taken {
            pool.give_back(s);
        }
        assert_eq!(pool.idle().len(), MAX_IDLE);
        let again = pool.take().unwrap();
        assert_eq!(pool.idle().len(), MAX_IDLE - 1);
        pool.give_back(again);
        assert_eq!(pool.idle().len(), MAX_IDLE);
    }

    #[test]
    fn a_missing_database_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let pool = StorePool::new(DatabaseUrl::sqlite(dir.path().join("none.db")));
        assert!(matches!(pool.take(), Err(Error::Database(_))));
    }
}
