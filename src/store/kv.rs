//! Key-value tables (`apr_meta`, `etl_state`, `queue_log_state`): one read and one upsert of
//! a key, written once for the schema contract, the load workflows and the operating
//! commands, inside whatever transaction the caller runs.

use super::sql::{Backend, placeholders, query_text};
use super::table::{self, Table};
use super::value::Cell;
use crate::error::Result;
use crate::model::state::InstantKey;

/// `key = ?` read of one table's value column.
pub(crate) fn kv_get<B: Backend + ?Sized>(
    b: &mut B,
    table: &Table,
    key: &str,
    lock: bool,
) -> Result<Option<String>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?{}",
        table.columns[1].name,
        table.name,
        table.columns[0].name,
        if lock { b.dialect().for_update() } else { "" }
    );
    query_text(b, &sql, &[Cell::text(key)])
}

/// Upserts `key = value` (with `updated_at` where the table has it).
pub(crate) fn kv_put<B: Backend + ?Sized>(
    b: &mut B,
    table: &Table,
    key: &str,
    value: &str,
) -> Result<()> {
    let (head, tail) = b.dialect().upsert(table);
    let now = now_epoch();
    let mut cells = vec![Cell::text(key), Cell::text(value)];
    if table.columns.len() == 3 {
        cells.push(Cell::Int(now));
    }
    let sql = format!("{head} VALUES ({}) {tail}", placeholders(cells.len()));
    b.exec(&sql, &cells)?;
    Ok(())
}

/// A typed `etl_state` instant, read so that a concurrent writer of it waits for this
/// transaction ([`super::sql::Dialect::for_update`]); a corrupt value is an error naming the key.
pub(crate) fn instant_for_update<B: Backend + ?Sized>(
    b: &mut B,
    key: InstantKey,
) -> Result<Option<i64>> {
    key.decode(kv_get(b, &table::ETL_STATE, key.name(), true)?.as_deref())
}

/// Records the zone in `apr_meta` inside the caller's transaction, when none is recorded
/// (or when an explicit switch asked to replace it).
pub(crate) fn record_zone<B: Backend + ?Sized>(
    b: &mut B,
    zone: &Option<(String, bool)>,
) -> Result<()> {
    let Some((zone, replace)) = zone else {
        return Ok(());
    };
    match kv_get(b, &table::APR_META, "timezone", false)? {
        Some(recorded) if recorded == *zone || !replace => Ok(()),
        _ => kv_put(b, &table::APR_META, "timezone", zone),
    }
}

/// Wall-clock now, epoch seconds (for `loaded_at`, `fetched_at`, `updated_at`).
pub(crate) fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
