//! Where a database lives: an SQLite file or a MySQL/MariaDB URL with its waits.

use super::mysql::url::MysqlUrl;
use super::postgres::url::PostgresUrl;
use super::sqlite::file::SqliteFile;
use crate::error::{Error, Result, redact_url};

/// Where a database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(SqliteFile),
    Mysql(MysqlUrl),
    Postgres(PostgresUrl),
}

impl DatabaseUrl {
    /// `sqlite://PATH`, a bare path, `mysql://user:pass@host:port/db` (also `mariadb://`),
    /// or `postgres://user:pass@host:port/db` (also `postgresql://`); `named` is what the URL was given as, named in messages about it.
    pub fn parse(s: &str, named: &'static str) -> Result<DatabaseUrl> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(Error::config(format!(
                    "{named} 'sqlite://' has no path; expected sqlite://PATH"
                )));
            }
            return Ok(DatabaseUrl::Sqlite(SqliteFile {
                path: path.into(),
                named,
            }));
        }
        if s.starts_with("mysql://") || s.starts_with("mariadb://") {
            return Ok(DatabaseUrl::Mysql(MysqlUrl::parse(
                &s.replacen("mariadb://", "mysql://", 1),
                named,
            )));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(PostgresUrl::parse(s, named)?));
        }
        if s.is_empty() || s.contains("://") {
            return Err(Error::config(format!(
                "{named} '{}' is not understood; expected sqlite://PATH, a file path, \
                 mysql://user:pass@host:port/db or postgres://user:pass@host:port/db",
                redact_url(s)
            )));
        }
        Ok(DatabaseUrl::Sqlite(SqliteFile {
            path: s.into(),
            named,
        }))
    }

    /// An SQLite file given by its path alone.
    pub fn sqlite(path: impl AsRef<std::path::Path>) -> DatabaseUrl {
        DatabaseUrl::Sqlite(SqliteFile::from(path.as_ref()))
    }

    /// The database as shown to people: the SQLite URL, or the server's URL without
    /// password.
    pub fn shown(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(f) => f.shown(),
            DatabaseUrl::Mysql(u) => u.shown(),
            DatabaseUrl::Postgres(u) => u.shown(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let file = |path: &str| {
            DatabaseUrl::Sqlite(SqliteFile {
                path: path.into(),
                named: "URL",
            })
        };
        assert_eq!(
            DatabaseUrl::parse("sqlite://apr.db", "URL").unwrap(),
            file("apr.db")
        );
        assert_eq!(
            DatabaseUrl::parse("/var/lib/apr.db", "URL").unwrap(),
            file("/var/lib/apr.db")
        );
        let mysql =
            DatabaseUrl::parse("mariadb://root:pw@127.0.0.1:3306/apr?read_timeout=3", "URL")
                .unwrap();
        assert!(matches!(mysql, DatabaseUrl::Mysql(_)));
        assert_eq!(mysql.shown(), "mysql://root:***@127.0.0.1:3306/apr");
        let pg = DatabaseUrl::parse("postgresql://u:secret@h/db?sslmode=require", "URL").unwrap();
        assert!(matches!(pg, DatabaseUrl::Postgres(_)));
        assert_eq!(pg.shown(), "postgres://u:***@h/db");
        let err = DatabaseUrl::parse("oracle://u:secret@h/db", "URL")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("URL 'oracle://u:***@h/db' is not understood")
                && !err.contains("secret"),
            "{err}"
        );
        let err = DatabaseUrl::parse("sqlite://", "URL").unwrap_err();
        assert_eq!(
            err.to_string(),
            "URL 'sqlite://' has no path; expected sqlite://PATH"
        );
    }
}
