//! init-load's swap: every table of [`table::REPLACED_BY_INIT_LOAD`] replaced by the staging
//! database's in one atomic step.

use std::path::Path;

use crate::error::Result;
use crate::store::kv::record_zone;
use crate::store::retry::in_tx_retried;
use crate::store::schema::schema_statements;
use crate::store::sql::{Backend, Dialect, in_tx};
use crate::store::table::{self, Table};
use crate::store::value::{Cell, read_cells};

/// Suffix of the shadow tables an init-load fills on MySQL, and of the old tables the
/// swap renames away.
const SHADOW: &str = "__apr_new";
const RETIRED: &str = "__apr_old";

/// Replaces every table of [`table::REPLACED_BY_INIT_LOAD`] with the staging database's in
/// one atomic step (SQLite: one transaction over the attached file; MySQL: shadow tables
/// filled from the file, then one `RENAME TABLE` of every table; PostgreSQL: the tables
/// emptied and filled from the file in one transaction). `apr_meta` and the cached token stay.
pub(super) fn replace_tables<B: Backend + ?Sized>(
    b: &mut B,
    staging: &Path,
    zone: &Option<(String, bool)>,
) -> Result<()> {
    match b.staging_reader(staging)? {
        None => attach_and_copy(b, staging, zone),
        Some(mut source) if b.dialect() == Dialect::Postgres => {
            copy_in_one_transaction(b, &mut *source, zone)
        }
        Some(mut source) => copy_and_rename(b, &mut *source, zone),
    }
}

/// The swap on a database that can attach the staging file (SQLite).
fn attach_and_copy<B: Backend + ?Sized>(
    b: &mut B,
    staging: &Path,
    zone: &Option<(String, bool)>,
) -> Result<()> {
    let path = staging.to_string_lossy().to_string();
    b.exec("ATTACH DATABASE ? AS staging", &[Cell::text(&path)])?;
    let swapped = in_tx(b, |b| {
        for t in table::REPLACED_BY_INIT_LOAD {
            // `DELETE` without `WHERE` truncates, and `INSERT INTO t SELECT *` into the
            // emptied table copies the staging table's pages and indexes as they are
            // (SQLite's transfer optimization) instead of inserting row by row. Both tables
            // come from the same schema.sql at the same version (checked on open), so their
            // columns match.
            b.exec(&format!("DELETE FROM main.{}", t.name), &[])?;
            b.exec(
                &format!("INSERT INTO main.{0} SELECT * FROM staging.{0}", t.name),
                &[],
            )?;
        }
        record_zone(b, zone)
    });
    let detached = b.exec("DETACH DATABASE staging", &[]);
    swapped.and(detached.map(|_| ()))
}

/// The swap on a database whose whole swap fits one transaction (PostgreSQL): each table
/// emptied and filled from `source`, its id generator moved past the copied ids. Readers
/// see the old rows until the commit, then the new ones; a run killed before the commit
/// leaves the old ones.
fn copy_in_one_transaction<B: Backend + ?Sized>(
    b: &mut B,
    source: &mut dyn Backend,
    zone: &Option<(String, bool)>,
) -> Result<()> {
    in_tx(b, |b| {
        for t in table::REPLACED_BY_INIT_LOAD {
            b.exec(&format!("DELETE FROM {}", t.name), &[])?;
            copy_rows(source, b, t, t.name)?;
            if let Some(sql) = b.dialect().after_given_ids(t) {
                b.query(&sql, &[], &mut |_| Ok(()))?;
            }
        }
        record_zone(b, zone)
    })
}

/// The swap on a database that reads the staging file through a second connection
/// (MySQL): shadow tables filled from `source`, then one `RENAME TABLE`.
fn copy_and_rename<B: Backend + ?Sized>(
    b: &mut B,
    source: &mut dyn Backend,
    zone: &Option<(String, bool)>,
) -> Result<()> {
    for t in table::REPLACED_BY_INIT_LOAD {
        b.exec(&format!("DROP TABLE IF EXISTS {}{SHADOW}", t.name), &[])?;
        b.apply_schema_statement(&shadow_table(t))?;
        copy_rows(source, b, t, &format!("{}{SHADOW}", t.name))?;
    }
    let renames: Vec<String> = table::REPLACED_BY_INIT_LOAD
        .iter()
        .map(|t| format!("{0} TO {0}{RETIRED}, {0}{SHADOW} TO {0}", t.name))
        .collect();
    for t in table::REPLACED_BY_INIT_LOAD {
        b.exec(&format!("DROP TABLE IF EXISTS {}{RETIRED}", t.name), &[])?;
    }
    // DDL commits by itself, outside any transaction that could check the write lease: an
    // empty transaction checks it right before (a holder's commit renews it, or fails when
    // another process took it over: see the MySQL backend's `lease`).
    in_tx(b, |_| Ok(()))?;
    b.exec(&format!("RENAME TABLE {}", renames.join(", ")), &[])?;
    for t in table::REPLACED_BY_INIT_LOAD {
        b.exec(&format!("DROP TABLE IF EXISTS {}{RETIRED}", t.name), &[])?;
    }
    in_tx_retried(b, |b| record_zone(b, zone))
}

/// The `CREATE TABLE` of `t`'s shadow, as `schema.sql` creates `t` (its keys included).
/// Not `CREATE TABLE ... LIKE`: a Galera node with `wsrep_mode = REQUIRED_PRIMARY_KEY`
/// refuses that (error 4165, MariaDB 10.11) although the copy has the key.
fn shadow_table(t: &Table) -> String {
    let head = format!("CREATE TABLE IF NOT EXISTS {} (", t.name);
    let create = schema_statements()
        .find(|s| s.contains(&head))
        .expect("schema.sql creates every table");
    create.replacen(&head, &format!("CREATE TABLE {}{SHADOW} (", t.name), 1)
}

/// Copies every row of `t` from `from` into table `into` of `to`, in slices.
fn copy_rows<F: Backend + ?Sized, T: Backend + ?Sized>(
    from: &mut F,
    to: &mut T,
    t: &Table,
    into: &str,
) -> Result<()> {
    const SLICE: usize = 5_000;
    let cols = t.all_columns();
    let n = t.columns.len() + usize::from(t.has_id);
    // The surrogate id, where there is one, is an integer.
    let is_int: Vec<bool> = std::iter::repeat_n(true, usize::from(t.has_id))
        .chain(t.int_columns())
        .collect();
    let head = format!("INSERT INTO {into} ({cols})");
    let mut rows: Vec<Vec<Cell<'static>>> = Vec::with_capacity(SLICE);
    let flush = |to: &mut T, rows: &mut Vec<Vec<Cell<'static>>>| -> Result<()> {
        to.insert_rows(
            &head,
            "",
            n,
            &mut rows.iter().map(|r| r.iter().map(Cell::borrowed).collect()),
            &mut |_| {},
        )?;
        rows.clear();
        Ok(())
    };
    // The two databases are two connections: rows stream from one into the other a slice
    // at a time, so memory stays flat whatever the backfill's size.
    from.query(&format!("SELECT {cols} FROM {}", t.name), &[], &mut |r| {
        rows.push(read_cells(r, &is_int)?);
        if rows.len() == SLICE {
            flush(to, &mut rows)?;
        }
        Ok(())
    })?;
    flush(to, &mut rows)
}
