//! `schema.sql`, the portable schema every backend runs: its text, its version, its
//! statements, and the SQLite-only and PostgreSQL-only parts its comments carry.

/// The portable schema, applied idempotently on every open for writing.
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");
/// Recorded in `apr_meta` as `schema_version`; [`super::contract`] upgrades older databases.
pub const SCHEMA_VERSION: u32 = 8;

/// Where a `schema.sql` comment that only SQLite reads starts (the others skip the comment).
const SQLITE_ONLY: &str = "/*sqlite ";
/// Where a `schema.sql` comment that only PostgreSQL reads starts.
const PG_ONLY: &str = "/*pg ";

/// `stmt` with each comment that starts with `open` replaced by its text.
fn with_comments_read(stmt: &str, open: &str) -> String {
    let mut out = String::with_capacity(stmt.len());
    let mut rest = stmt;
    while let Some(at) = rest.find(open) {
        out.push_str(&rest[..at]);
        let body = &rest[at + open.len()..];
        let end = body
            .find("*/")
            .expect("every dialect comment in schema.sql is closed");
        out.push_str(body[..end].trim());
        rest = &body[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A `schema.sql` statement as SQLite runs it: each `/*sqlite TEXT*/` comment replaced by
/// its TEXT.
pub(crate) fn sqlite_statement(stmt: &str) -> String {
    with_comments_read(stmt, SQLITE_ONLY)
}

/// A `schema.sql` statement as PostgreSQL runs it: each `/*pg TEXT*/` comment replaced by its
/// TEXT, every other comment dropped, `INTEGER` columns made `BIGINT`, `MEDIUMTEXT` and
/// `LONGTEXT` made `TEXT`, and every text column given the "C" collation (byte order, as
/// SQLite compares and sorts; the database's own collation may sort by language).
pub(crate) fn postgres_statement(stmt: &str) -> String {
    let read = with_comments_read(stmt, PG_ONLY);
    let mut bare = String::with_capacity(read.len());
    let mut rest = read.as_str();
    while let Some(at) = rest.find("/*") {
        bare.push_str(&rest[..at]);
        let end = rest[at..]
            .find("*/")
            .expect("every comment in schema.sql is closed");
        rest = &rest[at + end + 2..];
    }
    bare.push_str(rest);
    let mut out = String::with_capacity(bare.len() + 256);
    for line in bare.lines() {
        out.push_str(&postgres_column(line));
        out.push('\n');
    }
    out
}

/// One line of a `CREATE TABLE` with its column type in PostgreSQL's words (other lines as
/// they are).
fn postgres_column(line: &str) -> String {
    let indent = &line[..line.len() - line.trim_start().len()];
    let Some((name, rest)) = line.trim_start().split_once(' ') else {
        return line.to_string();
    };
    if indent.is_empty() || matches!(name, "CONSTRAINT" | "PRIMARY" | "UNIQUE") {
        return line.to_string();
    }
    const C: &str = "COLLATE \"C\"";
    let typed = if let Some(after) = rest.strip_prefix("INTEGER") {
        format!("BIGINT{after}")
    } else if let Some(after) = ["MEDIUMTEXT", "LONGTEXT", "TEXT"]
        .iter()
        .find_map(|t| rest.strip_prefix(t))
    {
        format!("TEXT {C}{after}")
    } else if rest.starts_with("VARCHAR(") {
        let close = rest.find(')').map_or(rest.len(), |i| i + 1);
        format!("{} {C}{}", &rest[..close], &rest[close..])
    } else {
        rest.to_string()
    };
    format!("{indent}{name} {typed}")
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
            sqlite.contains(
                "id INTEGER /*!40101 UNSIGNED NOT NULL AUTO_INCREMENT */ PRIMARY KEY /*pg "
            )
        );
        assert!(sqlite.contains("CONSTRAINT agent_events_ts UNIQUE (ts_epoch, id),"));
        assert!(!sqlite.contains("/*sqlite"));
    }

    #[test]
    fn postgres_reads_its_own_comments_its_types_and_byte_order() {
        assert_eq!(
            postgres_statement(
                "CREATE TABLE t (\n  id INTEGER /*!40101 UNSIGNED */ /*sqlite PRIMARY KEY*/ /*pg GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY*/,\n  \
                 a VARCHAR(64) NOT NULL,\n  b MEDIUMTEXT NOT NULL,\n  c LONGTEXT NOT NULL,\n  d TEXT NOT NULL,\n  \
                 e BIGINT NULL,\n  /*pg PRIMARY KEY (e), */\n  CONSTRAINT k UNIQUE (a)\n) /*!40101 DEFAULT CHARSET=utf8mb4 */ /*sqlite WITHOUT ROWID*/;"
            ),
            "CREATE TABLE t (\n  id BIGINT   GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n  \
             a VARCHAR(64) COLLATE \"C\" NOT NULL,\n  b TEXT COLLATE \"C\" NOT NULL,\n  \
             c TEXT COLLATE \"C\" NOT NULL,\n  d TEXT COLLATE \"C\" NOT NULL,\n  e BIGINT NULL,\n  \
             PRIMARY KEY (e),\n  CONSTRAINT k UNIQUE (a)\n)  ;\n"
        );
        for stmt in schema_statements() {
            let pg = postgres_statement(&stmt);
            assert!(!pg.contains("/*") && !pg.contains("INTEGER") && !pg.contains("MEDIUMTEXT"));
        }
    }
}
