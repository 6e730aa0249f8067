//! A scratch database on either database server (MariaDB or PostgreSQL), and
//! [`on_servers!`], which runs a test case once on each: a case is a plain function over a
//! [`Scratch`], so every MariaDB test runs on PostgreSQL too.

use super::mysql::ScratchMysql;
use super::postgres::ScratchPostgres;
use super::rows::{Db, mysql_rows, postgres_rows};

/// A fresh database on one of the servers, dropped with this value.
pub enum Scratch {
    Mariadb(ScratchMysql),
    Postgres(ScratchPostgres),
}

impl Scratch {
    pub fn mariadb() -> Scratch {
        Scratch::Mariadb(ScratchMysql::new())
    }

    pub fn postgres() -> Scratch {
        Scratch::Postgres(ScratchPostgres::new())
    }

    /// Another fresh database on the same server.
    pub fn another(&self) -> Scratch {
        match self {
            Scratch::Mariadb(_) => Scratch::mariadb(),
            Scratch::Postgres(_) => Scratch::postgres(),
        }
    }

    /// The database's `APR_DATABASE_URL`.
    pub fn url(&self) -> &str {
        match self {
            Scratch::Mariadb(s) => s.url(),
            Scratch::Postgres(s) => s.url(),
        }
    }

    /// The rows of `sql`, rendered as [`super::rows::sqlite_rows`] renders them.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match self {
            Scratch::Mariadb(s) => mysql_rows(s.url(), sql),
            Scratch::Postgres(s) => postgres_rows(s.url(), sql),
        }
    }

    /// The database as [`super::rows`] inspects it.
    pub fn db(&self) -> Db {
        match self {
            Scratch::Mariadb(s) => Db::Mysql(s.url().to_string()),
            Scratch::Postgres(s) => Db::Postgres(s.url().to_string()),
        }
    }

    /// Opens apr's store on it, creating apr's schema.
    pub fn open(&self) -> Box<dyn apr::store::Store> {
        apr::store::open(&apr::store::DatabaseUrl::parse(self.url(), "APR_DATABASE_URL").unwrap())
            .unwrap()
    }
}

/// `on_servers!(case, ...)` makes, for each `case(Scratch)`, a test `mariadb::case` and a
/// test `postgres::case`, each on a scratch database of its own.
#[macro_export]
macro_rules! on_servers {
    ($($case:ident),* $(,)?) => {
        mod mariadb {
            $( #[test] fn $case() { super::$case(super::support::server::Scratch::mariadb()); } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::$case(super::support::server::Scratch::postgres()); } )*
        }
    };
}
