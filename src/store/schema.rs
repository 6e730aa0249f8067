//! `schema.sql`, the portable schema both backends run: its text, its version, its
//! statements, and the SQLite-only parts its comments carry.

/// The portable schema, applied idempotently on every open for writing.
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");
/// Recorded in `apr_meta` as `schema_version`; [`super::contract`] upgrades older databases.
pub const SCHEMA_VERSION: u32 = 6;

/// Where a `schema.sql` comment that only SQLite reads starts (MySQL skips the comment).
const SQLITE_ONLY: &str = "/*sqlite ";

/// A `schema.sql` statement as SQLite runs it: each `/*sqlite TEXT*/` comment replaced by
/// its TEXT.
pub(crate) fn sqlite_statement(stmt: &str) -> String {
    let mut out = String::with_capacity(stmt.len());
    let mut rest = stmt;
    while let Some(at) = rest.find(SQLITE_ONLY) {
        out.push_str(&rest[..at]);
        let body = &rest[at + SQLITE_ONLY.len()..];
        let end = body
            .find("*/")
            .expect("every /*sqlite comment in schema.sql is closed");
        out.push_str(body[..end].trim());
        rest = &body[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Splits `schema.sql` into statements.
pub(crate) fn schema_statements() -> impl Iterator<Item = String> {
    let mut stmts = Vec::new();
    let mut cur = String::new();
    for line in SCHEMA_SQL.lines() {
        if line.trim_start().starts_with("--") {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if line.trim_end().ends_with(';') {
            stmts.push(std::mem::take(&mut cur));
        }
    }
    stmts.into_iter().filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_splits_into_create_statements() {
        let stmts: Vec<String> = schema_statements().collect();
        assert!(stmts.len() >= 7);
        assert!(stmts[0].contains("apr_meta"), "apr_meta comes first");
        assert!(
            stmts
                .iter()
                .all(|s| s.trim_start().starts_with("CREATE TABLE IF NOT EXISTS"))
        );
    }

    #[test]
    fn sqlite_reads_its_own_comments_and_mysql_keeps_them_comments() {
        assert_eq!(
            sqlite_statement(
                "id INTEGER /*!40101 UNSIGNED */ /*sqlite PRIMARY KEY*/,\n) /*sqlite WITHOUT ROWID*/;"
            ),
            "id INTEGER /*!40101 UNSIGNED */ PRIMARY KEY,\n) WITHOUT ROWID;"
        );
        assert_eq!(sqlite_statement("no comment"), "no comment");
        let events = schema_statements()
            .find(|s| s.contains("TABLE IF NOT EXISTS agent_events"))
            .unwrap();
        let sqlite = sqlite_statement(&events);
        assert!(
            sqlite.contains("id INTEGER /*!40101 UNSIGNED NOT NULL AUTO_INCREMENT */ PRIMARY KEY,")
        );
        assert!(sqlite.contains("CONSTRAINT agent_events_ts UNIQUE (ts_epoch, id),"));
        assert!(!sqlite.contains("/*sqlite"));
    }
}
