//! `apr prune --before DATE` (SPEC §12): drops the raw data of local days before DATE —
//! `agent_events`, `queue_log`, `queue_log_rejects` and the `event_details` drill-down of
//! `agent_activity` — and keeps the summaries (`agent_activity`, `users_calls`,
//! `queue_calls`), so reports over pruned days still work. Deletes go one hour of data per
//! transaction, so a kill leaves a consistent, partly pruned database and a re-run
//! finishes the job.
//!
//! The boundary is recorded (`prune.before`) before anything is deleted; aggregation then
//! refuses hours before it ([`check_not_pruned`]). Agent events of the last
//! [`DEFAULT_MAX_CARRY`] before the boundary are kept, because the hours from the boundary
//! on carry agents' states in from them.

use crate::aggregate::DEFAULT_MAX_CARRY;
use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::store::Store;
use crate::store::maintenance::{Conn, PRUNED_BEFORE};
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
    /// against now and against what still waits for aggregation.
    pub fn new(before: i64, now: i64, dirty_from: Option<i64>, zone: Zone) -> Result<PrunePlan> {
        let day = |t: i64| zone.local(t).format("%Y-%m-%d %H:%M").to_string();
        if before > now {
            return Err(Error::usage(format!(
                "--before {} is in the future; expected a past date",
                day(before)
            )));
        }
        if let Some(dirty) = dirty_from
            && dirty < before
        {
            return Err(Error::usage(format!(
                "hours from {} ({}) wait for aggregation and their events would be pruned; run apr aggregate first",
                day(dirty),
                zone.name()
            )));
        }
        Ok(PrunePlan {
            before,
            events_before: before - DEFAULT_MAX_CARRY,
        })
    }
}

/// One kind of data prune removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    table: &'static str,
    column: &'static str,
    /// Rows are deleted; else their `event_details` are emptied.
    delete: bool,
}

const TARGETS: [Target; 4] = [
    Target {
        table: "agent_events",
        column: "ts_epoch",
        delete: true,
    },
    Target {
        table: "queue_log",
        column: "time",
        delete: true,
    },
    Target {
        table: "queue_log_rejects",
        column: "loaded_at",
        delete: true,
    },
    Target {
        table: "agent_activity",
        column: "report_hour",
        delete: false,
    },
];

impl Target {
    fn limit(&self, plan: &PrunePlan) -> i64 {
        if self.table == "agent_events" {
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
                    self.table, self.column
                ),
                &[Cell::Int(limit)],
            )?
            .unwrap_or(0) as u64)
    }

    fn label(&self) -> String {
        if self.delete {
            format!("{} rows", self.table)
        } else {
            format!("{} event_details", self.table)
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
        let old = c
            .int(
                "SELECT state_value FROM etl_state WHERE state_key = ?",
                &[Cell::text(PRUNED_BEFORE)],
            )?
            .unwrap_or(i64::MIN);
        c.set_state(PRUNED_BEFORE, &plan.before.max(old).to_string())
    })?;
    let mut freed = Freed::default();
    for t in TARGETS {
        let limit = t.limit(plan);
        let mut rows = 0u64;
        let min_sql = format!(
            "SELECT MIN({c}) FROM {tb} WHERE {c} >= ? AND {c} < ?",
            c = t.column,
            tb = t.table
        );
        let mut start = conn.int(&min_sql, &[Cell::Int(i64::MIN), Cell::Int(limit)])?;
        while let Some(from) = start {
            let to = from.saturating_add(WINDOW_SECS).min(limit);
            let (n, bytes) = conn.transaction(|c| window(c, &t, from, to))?;
            rows += n;
            freed.details_bytes += bytes;
            freed.batches += 1;
            on_batch(t.table, rows);
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
                t.table,
                col = t.column
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
                t.table,
                col = t.column
            ),
            &range,
        )?
        .unwrap_or(0);
    let n = c.exec(
        &format!(
            "UPDATE {} SET event_details = '{NO_DETAILS}' \
             WHERE {col} >= ? AND {col} < ? AND event_details <> '{NO_DETAILS}'",
            t.table,
            col = t.column
        ),
        &range,
    )?;
    Ok((n, bytes.max(0) as u64))
}

/// Refuses to aggregate hours whose events were pruned: `from` is the first hour to
/// rebuild, `max_carry` how far before it events are read.
pub fn check_not_pruned(
    store: &mut dyn Store,
    zone: Zone,
    from: i64,
    max_carry: i64,
) -> Result<()> {
    let Some(before) = store
        .state(PRUNED_BEFORE)?
        .and_then(|v| v.trim().parse::<i64>().ok())
    else {
        return Ok(());
    };
    let kept_from = before - DEFAULT_MAX_CARRY;
    if from >= before && from - max_carry >= kept_from {
        return Ok(());
    }
    let at = |t: i64| zone.local(t).format("%Y-%m-%d %H:%M").to_string();
    Err(Error::usage(format!(
        "raw data before {} ({}) was pruned (apr prune): hours from {} cannot be aggregated again \
         from missing events; aggregate from {} on (--from '{}'){}",
        at(before),
        zone.name(),
        at(from),
        at(before),
        at(before),
        if from >= before {
            format!(" with --max-carry at most {}h", (from - kept_from) / 3600)
        } else {
            String::new()
        }
    )))
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
}
