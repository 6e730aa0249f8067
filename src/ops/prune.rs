//! `apr prune --before DATE` (SPEC §12): drops the raw data of local days before DATE —
//! `agent_events`, `queue_log`, `queue_log_rejects` and the `event_details` drill-down of
//! `agent_activity` — and keeps the summaries (`agent_activity`, `users_calls`,
//! `queue_calls`), so reports over pruned days still work. Deletes go one hour of data per
//! transaction, so a kill leaves a consistent, partly pruned database and a re-run
//! finishes the job.
//!
//! The boundary is recorded ([`PRUNED_BEFORE`]) before anything is deleted; aggregation
//! then refuses hours before it ([`check_not_pruned`](crate::aggregate::check_not_pruned)). Agent events of the last
//! [`DEFAULT_MAX_CARRY`] before the boundary are kept, because the hours from the boundary
//! on carry agents' states in from them.

use crate::aggregate::DEFAULT_MAX_CARRY;
use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::model::state::{DIRTY_FROM, InstantKey, PRUNED_BEFORE};
use crate::store::Store;
use crate::store::maintenance::Conn;
use crate::store::table::{AGENT_ACTIVITY, AGENT_EVENTS, QUEUE_LOG, QUEUE_LOG_REJECTS, Table};
use crate::store::value::Cell;

/// Span of data deleted per transaction.
const WINDOW_SECS: i64 = 3600;
/// What an emptied drill-down holds: no events, in the compact encoding of
/// `model::details` as in the schema-3 JSON (the upgrade to 4 leaves it as it is).
const NO_DETAILS: &str = "[]";

/// What to prune: raw queue_log lines and summary drill-downs before `before`, agent
/// events before `events_before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunePlan {
    pub before: i64,
    pub events_before: i64,
}

impl PrunePlan {
    /// The plan for the local midnight `before` (the start of `--before DATE`), checked
    /// against now ([`check_before`]) and against what still waits for aggregation.
    pub fn new(before: i64, now: i64, dirty_from: Option<i64>, zone: Zone) -> Result<PrunePlan> {
        check_before(before, now, zone)?;
        if let Some(dirty) = dirty_from
            && dirty < before
        {
            return Err(Error::usage(format!(
                "hours from {} ({}) wait for aggregation and their events would be pruned; run apr aggregate first",
                minute(zone, dirty),
                zone.name()
            )));
        }
        Ok(PrunePlan {
            before,
            events_before: before - DEFAULT_MAX_CARRY,
        })
    }
}

/// The plan for `before` in the database behind `store`, checked against what waits there
/// for aggregation.
pub fn plan(store: &mut dyn Store, before: i64, now: i64, zone: Zone) -> Result<PrunePlan> {
    PrunePlan::new(before, now, store.instant(DIRTY_FROM)?, zone)
}

/// Refuses a boundary in the future: what `--before` may name, known before any database
/// is opened for writing.
pub fn check_before(before: i64, now: i64, zone: Zone) -> Result<()> {
    if before > now {
        return Err(Error::usage(format!(
            "--before {} is in the future; expected a past date",
            minute(zone, before)
        )));
    }
    Ok(())
}

fn minute(zone: Zone, t: i64) -> String {
    zone.local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// One kind of data prune removes: rows of a table dated by its time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    table: &'static Table,
    /// Rows are deleted; else their `event_details` are emptied.
    delete: bool,
}

const TARGETS: [Target; 4] = [
    Target {
        table: &AGENT_EVENTS,
        delete: true,
    },
    Target {
        table: &QUEUE_LOG,
        delete: true,
    },
    Target {
        table: &QUEUE_LOG_REJECTS,
        delete: true,
    },
    Target {
        table: &AGENT_ACTIVITY,
        delete: false,
    },
];

impl Target {
    fn name(&self) -> &'static str {
        self.table.name
    }

    fn column(&self) -> &'static str {
        self.table
            .time_column
            .expect("every table prune touches is dated by a time column")
    }

    fn limit(&self, plan: &PrunePlan) -> i64 {
        if self.table == &AGENT_EVENTS {
            plan.events_before
        } else {
            plan.before
        }
    }

    /// Rows this target would touch before `limit` (for the prompt).
    fn count(&self, conn: &mut Conn<'_>, limit: i64) -> Result<u64> {
        let extra = if self.delete {
            String::new()
        } else {
            format!(" AND event_details <> '{NO_DETAILS}'")
        };
        Ok(conn
            .int(
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE {} < ?{extra}",
                    self.name(),
                    self.column()
                ),
                &[Cell::Int(limit)],
            )?
            .unwrap_or(0) as u64)
    }

    fn label(&self) -> String {
        if self.delete {
            format!("{} rows", self.name())
        } else {
            format!("{} event_details", self.name())
        }
    }
}

/// What prune would touch, per table, in a fixed order (`label`, rows).
pub fn preview(conn: &mut Conn<'_>, plan: &PrunePlan) -> Result<Vec<(String, u64)>> {
    TARGETS
        .iter()
        .map(|t| Ok((t.label(), t.count(conn, t.limit(plan))?)))
        .collect()
}

/// What prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freed {
    /// Rows deleted (or drill-downs emptied) per table, in a fixed order.
    pub rows: Vec<(String, u64)>,
    /// Bytes of `event_details` text emptied.
    pub details_bytes: u64,
    /// Transactions committed.
    pub batches: u64,
}

/// Records the boundary, then prunes window by window. `on_batch` hears each committed
/// batch (table, rows so far).
pub fn prune(
    conn: &mut Conn<'_>,
    plan: &PrunePlan,
    on_batch: &mut dyn FnMut(&str, u64),
) -> Result<Freed> {
    // First, in its own transaction: from here on aggregation refuses the pruned hours,
    // whatever happens to the deletes.
    conn.transaction(|c| {
        let mut stored = None;
        c.query(
            "SELECT state_value FROM etl_state WHERE state_key = ?",
            &[Cell::text(PRUNED_BEFORE.name())],
            &mut |r| {
                stored = Some(r.text(0)?);
                Ok(())
            },
        )?;
        let old = PRUNED_BEFORE.decode(stored.as_deref())?.unwrap_or(i64::MIN);
        c.set_state(
            PRUNED_BEFORE.name(),
            &InstantKey::encode(plan.before.max(old)),
        )
    })?;
    let mut freed = Freed::default();
    for t in TARGETS {
        let limit = t.limit(plan);
        let mut rows = 0u64;
        let min_sql = format!(
            "SELECT MIN({c}) FROM {tb} WHERE {c} >= ? AND {c} < ?",
            c = t.column(),
            tb = t.name()
        );
        let mut start = conn.int(&min_sql, &[Cell::Int(i64::MIN), Cell::Int(limit)])?;
        while let Some(from) = start {
            let to = from.saturating_add(WINDOW_SECS).min(limit);
            let (n, bytes) = conn.transaction(|c| window(c, &t, from, to))?;
            rows += n;
            freed.details_bytes += bytes;
            freed.batches += 1;
            on_batch(t.name(), rows);
            // Next stretch that holds data (skips empty hours in one indexed lookup).
            start = conn.int(&min_sql, &[Cell::Int(to), Cell::Int(limit)])?;
        }
        freed.rows.push((t.label(), rows));
    }
    Ok(freed)
}

/// Deletes (or empties the drill-down of) the rows of `[from, to)`; returns rows and bytes.
fn window(c: &mut Conn<'_>, t: &Target, from: i64, to: i64) -> Result<(u64, u64)> {
    let range = [Cell::Int(from), Cell::Int(to)];
    if t.delete {
        let n = c.exec(
            &format!(
                "DELETE FROM {} WHERE {col} >= ? AND {col} < ?",
                t.name(),
                col = t.column()
            ),
            &range,
        )?;
        return Ok((n, 0));
    }
    let bytes = c
        .int(
            &format!(
                "SELECT SUM(OCTET_LENGTH(event_details)) FROM {} \
                 WHERE {col} >= ? AND {col} < ? AND event_details <> '{NO_DETAILS}'",
                t.name(),
                col = t.column()
            ),
            &range,
        )?
        .unwrap_or(0);
    let n = c.exec(
        &format!(
            "UPDATE {} SET event_details = '{NO_DETAILS}' \
             WHERE {col} >= ? AND {col} < ? AND event_details <> '{NO_DETAILS}'",
            t.name(),
            col = t.column()
        ),
        &range,
    )?;
    Ok((n, bytes.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_757_260_800; // 2025-09-07 16:00 UTC

    #[test]
    fn a_plan_keeps_a_carry_day_of_events_and_refuses_the_future_and_dirty_hours() {
        let before = NOW - 5 * DAY;
        let p = PrunePlan::new(before, NOW, None, Zone::UTC).unwrap();
        assert_eq!(p.events_before, before - DEFAULT_MAX_CARRY);
        let e = PrunePlan::new(NOW + DAY, NOW, None, Zone::UTC).unwrap_err();
        assert!(e.to_string().contains("in the future"), "{e}");
        let e = PrunePlan::new(before, NOW, Some(before - 3600), Zone::UTC).unwrap_err();
        assert!(e.to_string().contains("apr aggregate first"), "{e}");
        assert!(PrunePlan::new(before, NOW, Some(before), Zone::UTC).is_ok());
    }

    #[test]
    fn the_boundary_only_moves_forward_and_a_corrupt_one_names_its_key() {
        use crate::store::sqlite::SqliteStore;

        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("p.db")).unwrap();
        let plan = PrunePlan::new(NOW - 5 * DAY, NOW, None, Zone::UTC).unwrap();
        let earlier = PrunePlan::new(NOW - 9 * DAY, NOW, None, Zone::UTC).unwrap();
        prune(&mut Conn::new(store.sql()), &plan, &mut |_, _| {}).unwrap();
        prune(&mut Conn::new(store.sql()), &earlier, &mut |_, _| {}).unwrap();
        assert_eq!(store.instant(PRUNED_BEFORE).unwrap(), Some(plan.before));
        store.set_state(PRUNED_BEFORE.name(), "last week").unwrap();
        let e = prune(&mut Conn::new(store.sql()), &plan, &mut |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("'prune.before'"), "{e}");
    }
}
