//! The database contract of SPEC §9 that holds before anything else runs: apr's tables are
//! created only where none of their names exist or where they carry apr's ownership marker;
//! a schema newer than this binary is refused; an older one is upgraded step by step, each
//! step one transaction where the backend allows.

use std::collections::BTreeSet;

use super::kv::kv_put;
use super::rows;
use super::schema::{SCHEMA_VERSION, schema_statements};
use super::sql::{Backend, Dialect, in_tx, query_int, query_text};
use super::table;
use super::value::Cell;
use crate::error::{Error, Result};
use crate::model::{details, state};

/// `apr_meta` key and value of the ownership marker.
pub const OWNER_KEY: &str = "owner";
pub const OWNER_VALUE: &str = "apr";

/// What a database holds of apr's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// None of apr's table names (or only an empty `apr_meta` a killed first run left).
    Nothing,
    /// apr's schema at this version.
    Apr(u32),
}

fn tables<B: Backend + ?Sized>(b: &mut B) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let sql = b.dialect().list_tables();
    b.query(sql, &[], &mut |r| {
        out.insert(r.text(0)?.to_ascii_lowercase());
        Ok(())
    })?;
    Ok(out)
}

fn meta<B: Backend + ?Sized>(b: &mut B, key: &str) -> Result<Option<String>> {
    query_text(
        b,
        "SELECT meta_value FROM apr_meta WHERE meta_key = ?",
        &[Cell::text(key)],
    )
}

fn put_meta<B: Backend + ?Sized>(b: &mut B, key: &str, value: &str) -> Result<()> {
    kv_put(b, &table::APR_META, key, value)
}

/// Reads what the database holds, refusing one that holds apr's table names without apr's
/// marker and one whose schema is newer than this binary's.
fn inspect<B: Backend + ?Sized>(b: &mut B) -> Result<Found> {
    let present = tables(b)?;
    let ours: Vec<&str> = table::ALL
        .iter()
        .map(|t| t.name)
        .filter(|n| present.contains(*n))
        .collect();
    if ours.is_empty() {
        return Ok(Found::Nothing);
    }
    let (shown, named) = (b.shown().to_string(), b.named());
    let foreign = |name: &str| {
        Error::config(format!(
            "database {shown} already holds a table named '{name}' that apr did not create \
             (no apr_meta ownership marker); apr never alters, wipes or adds tables there: \
             point {named} at a database of its own"
        ))
    };
    if !present.contains("apr_meta") {
        return Err(foreign(ours[0]));
    }
    let owner = meta(b, OWNER_KEY)?;
    let version = meta(b, "schema_version")?;
    let marked = owner.as_deref() == Some(OWNER_VALUE)
        // Schema version 1 had no marker; its apr_meta with a version is apr's.
        || (owner.is_none() && version.as_deref() == Some("1"));
    if !marked {
        if owner.is_none() && version.is_none() && ours == ["apr_meta"] {
            // A first run killed between creating apr_meta and writing the marker.
            if query_int(b, "SELECT COUNT(*) FROM apr_meta", &[])? == Some(0) {
                return Ok(Found::Nothing);
            }
        }
        let name = ours.iter().find(|n| **n != "apr_meta").unwrap_or(&ours[0]);
        return Err(foreign(name));
    }
    let version: u32 = match version.as_deref().map(str::trim) {
        Some(v) => v.parse().map_err(|_| {
            Error::db(format!(
                "database {shown}: apr_meta 'schema_version' holds '{v}', not a version number; \
                 restore it from a backup"
            ))
        })?,
        None => {
            return Err(Error::db(format!(
                "database {shown}: apr_meta has no 'schema_version'; restore it from a backup"
            )));
        }
    };
    if version > SCHEMA_VERSION {
        return Err(Error::config(format!(
            "database {shown} has apr schema version {version}, newer than this apr's \
             {SCHEMA_VERSION}; run the apr release that wrote it, or a newer one"
        )));
    }
    Ok(Found::Apr(version))
}

/// Creates apr's schema where there is none, upgrades an older one, and applies the schema
/// statements idempotently.
pub(crate) fn prepare_for_write<B: Backend + ?Sized>(b: &mut B) -> Result<()> {
    match inspect(b)? {
        Found::Nothing => create(b),
        Found::Apr(version) => {
            for step in version..SCHEMA_VERSION {
                upgrade(b, step)?;
            }
            for stmt in schema_statements() {
                b.apply_schema_statement(&stmt)?;
            }
            Ok(())
        }
    }
}

/// Checks a database for reading: whether it holds apr's schema (any version up to this
/// one); a database that is not apr's or is newer is an error.
pub(crate) fn holds_apr<B: Backend + ?Sized>(b: &mut B) -> Result<bool> {
    Ok(matches!(inspect(b)?, Found::Apr(_)))
}

/// What a reading command says to do about a database without data: every loader.
pub(crate) const LOAD_FIRST: &str =
    "load data first with apr init-load, apr collect or apr parse-queue-log";

/// The error for a database without apr's data, opened by a reading command.
pub(crate) fn no_data(shown: &str) -> Error {
    Error::config(format!("database {shown} holds no apr data; {LOAD_FIRST}"))
}

fn create<B: Backend + ?Sized>(b: &mut B) -> Result<()> {
    let stmts: Vec<String> = schema_statements().collect();
    // apr_meta and its marker first: MySQL commits each CREATE by itself, so a run killed
    // in between leaves tables that are already marked as apr's.
    let (meta_stmt, rest) = stmts.split_first().expect("schema.sql has statements");
    debug_assert!(meta_stmt.contains("apr_meta"));
    // SQLite and PostgreSQL create the schema in one transaction (their DDL is transactional):
    // a failed first run leaves nothing.
    let transactional = b.dialect() != Dialect::Mysql;
    if transactional {
        return in_tx(b, |b| {
            for stmt in &stmts {
                b.apply_schema_statement(stmt)?;
            }
            put_meta(b, OWNER_KEY, OWNER_VALUE)?;
            put_meta(b, "schema_version", &SCHEMA_VERSION.to_string())
        });
    }
    b.apply_schema_statement(meta_stmt)?;
    in_tx(b, |b| {
        put_meta(b, OWNER_KEY, OWNER_VALUE)?;
        put_meta(b, "schema_version", &SCHEMA_VERSION.to_string())
    })?;
    for stmt in rest {
        b.apply_schema_statement(stmt)?;
    }
    Ok(())
}

/// Upgrades the schema from `from` to `from + 1` in one transaction.
fn upgrade<B: Backend + ?Sized>(b: &mut B, from: u32) -> Result<()> {
    in_tx(b, |b| {
        match from {
            // 1 → 2: the ownership marker, and one "data until" per source instead of one
            // for all (SPEC §9): each source that has data inherits the old instant.
            1 => {
                put_meta(b, OWNER_KEY, OWNER_VALUE)?;
                let old = query_text(
                    b,
                    "SELECT state_value FROM etl_state WHERE state_key = ?",
                    &[Cell::text(state::LEGACY_DATA_UNTIL.name())],
                )?;
                if let Some(old) = old.filter(|v| !v.trim().is_empty()) {
                    for (source, key) in state::DATA_UNTIL_KEYS {
                        let has = query_int(
                            b,
                            "SELECT COUNT(*) FROM agent_events WHERE source = ?",
                            &[Cell::text(source.as_str())],
                        )?;
                        if has.unwrap_or(0) > 0 {
                            kv_put(b, &table::ETL_STATE, key.name(), &old)?;
                        }
                    }
                    b.exec(
                        "DELETE FROM etl_state WHERE state_key = ?",
                        &[Cell::text(state::LEGACY_DATA_UNTIL.name())],
                    )?;
                }
            }
            // 2 → 3: `queue_log` keyed by (time, line_hash) alone, without the surrogate id
            // nothing read; on SQLite it and `queue_calls` become WITHOUT ROWID tables (one
            // B-tree each instead of a rowid table plus a key index). Each table is checked
            // first, so a step cut short (MySQL commits DDL by itself) is finished by the next.
            2 => match b.dialect() {
                Dialect::Sqlite => {
                    for t in [&table::QUEUE_LOG, &table::QUEUE_CALLS] {
                        rebuild_sqlite_keyed(b, t)?;
                    }
                }
                // PostgreSQL databases start at schema 5: no older one exists.
                Dialect::Postgres => {}
                Dialect::Mysql => {
                    let has_id = query_int(
                        b,
                        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
                         AND table_name = 'queue_log' AND column_name = 'id'",
                        &[],
                    )?;
                    if has_id.unwrap_or(0) > 0 {
                        b.exec(
                            "ALTER TABLE queue_log DROP COLUMN id, DROP INDEX queue_log_line, \
                             ADD PRIMARY KEY (time, line_hash)",
                            &[],
                        )?;
                    }
                }
            },
            // 3 → 4: `event_details` rewritten from JSON objects to the compact encoding.
            3 => compact_event_details(b)?,
            // 4 → 5: on MySQL, `agent_events` stored in (ts_epoch, id) order and
            // `agent_activity` in (report_hour, agent_ext) order, the orders aggregation
            // reads and writes them in (see schema.sql). SQLite's tables do not change.
            4 => {
                if b.dialect() == Dialect::Mysql {
                    key_mysql_tables_by_time(b)?;
                }
            }
            // 5 → 6: `agent_live`, the floor now (SPEC §13), created with the schema's other
            // statements after the steps; the next aggregation fills it.
            5 => {}
            // 6 → 7: who hung up and the DID of each stint (`queue_calls.hangup_by`, `did`).
            // Who hung up is read back from the stored completion lines; the DID of stints
            // stored before stays empty (README): its line has no key to find it by cheaply.
            6 => {
                add_stint_columns(b)?;
                b.exec(HANGUP_BACKFILL, &[])?;
            }
            // 7 → 8: who was rung for each stint (`queue_calls.agent_rings`), filled from
            // the stored ring lines (src/store/ring_backfill.rs).
            7 => super::ring_backfill::add_agent_rings(b)?,
            _ => {
                return Err(Error::db(format!(
                    "database {}: apr schema version {from} is not one apr ever wrote; restore it from a backup",
                    b.shown()
                )));
            }
        }
        put_meta(b, "schema_version", &(from + 1).to_string())
    })
}

/// The columns schema 7 adds to `queue_calls`, each with its type (PostgreSQL's type adds
/// the byte-order collation every text column has there).
const STINT_COLUMNS: [(&str, &str); 2] = [("hangup_by", "VARCHAR(8)"), ("did", "VARCHAR(128)")];

/// Sets `hangup_by` of the answered stints stored before schema 7 from their completion
/// line in `queue_log` (logged at the stint's end, so each lookup is one key prefix).
const HANGUP_BACKFILL: &str = "UPDATE queue_calls SET hangup_by = CASE \
     WHEN EXISTS (SELECT 1 FROM queue_log q WHERE q.time = queue_calls.end_time \
       AND q.callid = queue_calls.callid AND q.queuename = queue_calls.queuename \
       AND q.event = 'COMPLETEAGENT') THEN 'agent' \
     WHEN EXISTS (SELECT 1 FROM queue_log q WHERE q.time = queue_calls.end_time \
       AND q.callid = queue_calls.callid AND q.queuename = queue_calls.queuename \
       AND q.event = 'COMPLETECALLER') THEN 'caller' \
     ELSE '' END \
     WHERE outcome = 'ANSWERED' AND end_time IS NOT NULL AND hangup_by = ''";

/// Adds schema 7's `queue_calls` columns, each unless it is there already (MySQL commits DDL
/// by itself, so a step cut short after one `ALTER` is finished by the next run).
fn add_stint_columns<B: Backend + ?Sized>(b: &mut B) -> Result<()> {
    let dialect = b.dialect();
    let present = super::sql::queue_calls_column_sql(dialect);
    for (column, ty) in STINT_COLUMNS {
        if query_int(b, present, &[Cell::text(column)])?.unwrap_or(0) > 0 {
            continue;
        }
        let collate = if dialect == Dialect::Postgres {
            " COLLATE \"C\""
        } else {
            ""
        };
        b.exec(
            &format!(
                "ALTER TABLE queue_calls ADD COLUMN {column} {ty}{collate} NOT NULL DEFAULT ''"
            ),
            &[],
        )?;
    }
    Ok(())
}

/// Rebuilds SQLite table `t` in the shape `schema.sql` gives it now (WITHOUT ROWID), keeping
/// its rows, unless it has that shape already.
fn rebuild_sqlite_keyed<B: Backend + ?Sized>(b: &mut B, t: &table::Table) -> Result<()> {
    let done = query_int(
        b,
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ? \
         AND sql LIKE '%WITHOUT ROWID%'",
        &[Cell::text(t.name)],
    )?;
    if done.unwrap_or(0) > 0 {
        return Ok(());
    }
    let head = format!("CREATE TABLE IF NOT EXISTS {} (", t.name);
    let create = schema_statements()
        .find(|s| s.contains(&head))
        .expect("schema.sql creates every table");
    let old = format!("{}__v2", t.name);
    b.exec(&format!("ALTER TABLE {} RENAME TO {old}", t.name), &[])?;
    b.apply_schema_statement(&create)?;
    // Only the columns the old table has: later steps add theirs (with their defaults here).
    let mut had = BTreeSet::new();
    b.query(
        &format!("SELECT name FROM pragma_table_info('{old}')"),
        &[],
        &mut |r| {
            had.insert(r.text(0)?);
            Ok(())
        },
    )?;
    let cols = t
        .columns
        .iter()
        .map(|c| c.name)
        .filter(|c| had.contains(*c))
        .collect::<Vec<_>>()
        .join(", ");
    b.exec(
        &format!("INSERT INTO {} ({cols}) SELECT {cols} FROM {old}", t.name),
        &[],
    )?;
    b.exec(&format!("DROP TABLE {old}"), &[])?;
    Ok(())
}

/// MySQL's primary keys of schema 5, each with the `ALTER` that makes it from schema 4's.
const TIME_KEYS: [(&str, &str, &str); 2] = [
    (
        "agent_events",
        "ts_epoch",
        "ALTER TABLE agent_events DROP PRIMARY KEY, ADD PRIMARY KEY (ts_epoch, id), \
         ADD CONSTRAINT agent_events_id UNIQUE (id), DROP INDEX agent_events_ts",
    ),
    (
        "agent_activity",
        "report_hour",
        "ALTER TABLE agent_activity DROP PRIMARY KEY, ADD PRIMARY KEY (report_hour, agent_ext), \
         DROP INDEX agent_activity_hour",
    ),
];

/// Gives MySQL's `agent_events` and `agent_activity` their schema 5 primary keys, each
/// unless it has it already (MySQL commits DDL by itself, so a step cut short after an
/// `ALTER` is finished by the next run). Each `ALTER` rebuilds its table, about 7 s per
/// million events for the two on the bench machine (`BENCHMARKS.md`); readers go on reading
/// meanwhile.
fn key_mysql_tables_by_time<B: Backend + ?Sized>(b: &mut B) -> Result<()> {
    for (table, first, alter) in TIME_KEYS {
        let now = query_text(
            b,
            "SELECT column_name FROM information_schema.statistics WHERE table_schema = DATABASE() \
             AND table_name = ? AND index_name = 'PRIMARY' AND seq_in_index = 1",
            &[Cell::text(table)],
        )?;
        if now.as_deref() != Some(first) {
            b.exec(alter, &[])?;
        }
    }
    Ok(())
}

/// Hours of `agent_activity` rows the 3 → 4 step reads at a time: memory holds a few hours of
/// drill-downs (12,000 rows of the reference center), not the table.
const COMPACT_SPAN_SECS: i64 = 6 * 3600;

/// The schema-3 form of `event_details` (JSON objects); the compact form starts `[[`, an
/// emptied drill-down is `[]`, so neither is selected again.
const LEGACY_DETAILS: &str = "event_details LIKE '[{%'";

/// Rewrites every schema-3 `event_details` in the compact encoding of [`details`], a span of
/// hours at a time, inside the step's transaction. Rows already compact are not selected, so
/// a step cut short and run again only finishes the job; a value that is neither form is
/// left as it is (the drill-down is informational, refusing to upgrade over it would not be).
fn compact_event_details<B: Backend + ?Sized>(b: &mut B) -> Result<()> {
    let next = format!(
        "SELECT MIN(report_hour) FROM agent_activity WHERE report_hour >= ? AND {LEGACY_DETAILS}"
    );
    let read = format!(
        "SELECT {} FROM agent_activity WHERE report_hour >= ? AND report_hour < ? AND {LEGACY_DETAILS}",
        table::AGENT_ACTIVITY.column_list()
    );
    let (head, tail) = b.dialect().upsert(&table::AGENT_ACTIVITY);
    let mut from = i64::MIN;
    while let Some(start) = query_int(b, &next, &[Cell::Int(from)])? {
        let end = start.saturating_add(COMPACT_SPAN_SECS);
        let mut rows = Vec::new();
        b.query(&read, &[Cell::Int(start), Cell::Int(end)], &mut |r| {
            let mut row = rows::decode_activity(r)?;
            if let Some(compact) = details::compact_legacy(row.report_hour, &row.event_details) {
                row.event_details = compact;
                rows.push(row);
            }
            Ok(())
        })?;
        b.insert_rows(
            &head,
            &tail,
            table::AGENT_ACTIVITY.columns.len(),
            &mut rows.iter().map(rows::encode_activity),
            &mut |_| {},
        )?;
        from = end;
    }
    Ok(())
}
