//! Aggregation (SPEC §5): the stored timeline and call counts → one `agent_activity` row per
//! agent and local hour. [`aggregate`] decides which hours a run rebuilds (the scope, the
//! prune boundary, the longest range) and hands them to the batch engine (`batch.rs`), which
//! reads events once, in `(ts, id)` order, a batch of hours at a time, and writes each batch
//! in one transaction that replaces the batch's rows, so re-running changes nothing.

mod batch;
pub mod buckets;
pub mod categories;
pub mod live;
pub mod stints;
pub mod timeline;
mod until;

use std::collections::BTreeMap;

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::model::state::{self, PRUNED_BEFORE, QUEUE_LOG_MAX_CARRY};
use crate::store::Store;
use batch::Batches;
use categories::StateMap;
use until::DataUntil;

/// Default `--max-carry`: how far back the state carried into an hour is looked for.
pub const DEFAULT_MAX_CARRY: i64 = 24 * 3600;

/// The longest range one aggregation walks: 1,830 days (five years of hours). Loads reject
/// far-away timestamps, so only a database written before that guard, or an explicit range
/// that long, gets here; refusing costs one line, walking it cost gigabytes (issue 15.2).
/// Longer histories are rebuilt in pieces with `--from`/`--to`.
pub const MAX_RANGE_SECS: i64 = 1_830 * 86_400;

/// Which hours to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Hours touched by loads since the last aggregation, plus the hours after them whose
    /// carried state may have changed (§5.4).
    Dirty,
    /// Every hour from the earliest stored data to the newest.
    All,
    /// Hours overlapping `[from, to)`; open ends default to the stored data's.
    Between { from: Option<i64>, to: Option<i64> },
}

/// What to aggregate and how.
#[derive(Debug, Clone)]
pub struct AggregateOptions {
    pub scope: Scope,
    pub max_carry: i64,
    pub state_map: StateMap,
}

/// What an aggregation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateSummary {
    /// Local hours rebuilt.
    pub hours: u64,
    /// Local hours that got at least one row.
    pub hours_with_rows: u64,
    /// Rows written.
    pub rows: u64,
    /// Distinct agents with at least one row.
    pub agents: u64,
    /// The rebuilt range `[from, to)`, when any.
    pub range: Option<(i64, i64)>,
    /// Not-available reasons that fell into Other, with how many times they started.
    pub other_reasons: BTreeMap<String, u64>,
    /// Events that do not change the timeline (`agent_reg` start, unknown types), by type.
    pub ignored_events: BTreeMap<String, u64>,
}

/// Rebuilds the hours named by `opts.scope` in `zone`.
pub fn aggregate(
    store: &mut dyn Store,
    zone: Zone,
    opts: &AggregateOptions,
) -> Result<AggregateSummary> {
    let mut summary = AggregateSummary::default();
    let until = DataUntil::read(store)?;
    let Some(data_until) = until.newest() else {
        return Ok(summary);
    };
    // Agents whose data comes from queue_log carry as far as the last parse-queue-log was
    // told (they may be quiet for more than a day and still be logged in).
    let queue_log_carry = QUEUE_LOG_MAX_CARRY
        .decode(store.state(QUEUE_LOG_MAX_CARRY.name())?.as_deref())?
        .unwrap_or(opts.max_carry);
    let reach = opts.max_carry.max(queue_log_carry);
    let clears_dirty = matches!(opts.scope, Scope::Dirty | Scope::All);
    let range = match opts.scope {
        Scope::Dirty => match (
            store.instant(state::DIRTY_FROM)?,
            store.instant(state::DIRTY_TO)?,
        ) {
            (Some(from), Some(to)) => Some((from, (to + reach).min(data_until))),
            _ => None,
        },
        Scope::All => store.earliest_data()?.map(|from| (from, data_until)),
        Scope::Between { from, to } => {
            let from = match from {
                Some(f) => Some(f),
                None => store.earliest_data()?,
            };
            from.map(|f| (f, to.unwrap_or(data_until)))
        }
    };
    if let Some((from, _)) = range {
        check_not_pruned(store, zone, from, reach)?;
    }
    if let Some((from, to)) = range
        && to.saturating_sub(from) > MAX_RANGE_SECS
    {
        return Err(too_long(opts.scope, from, to));
    }
    let clear: Vec<(String, String)> = if clears_dirty {
        vec![
            (state::DIRTY_FROM.name().to_string(), String::new()),
            (state::DIRTY_TO.name().to_string(), String::new()),
        ]
    } else {
        Vec::new()
    };
    let hours = match range {
        Some((from, to)) => zone.hours(from, to.max(from + 1)),
        None => Vec::new(),
    };
    if hours.is_empty() {
        for (k, v) in &clear {
            store.set_state(k, v)?;
        }
        return Ok(summary);
    }
    summary.range = Some((hours[0].start, hours[hours.len() - 1].end));
    let batches = Batches {
        zone,
        max_carry: opts.max_carry,
        queue_log_carry,
        state_map: &opts.state_map,
        until,
    };
    let mut agents_seen = HashSet::new();
    let mut hours_seen = HashSet::new();
    let noted = batch::rebuild(store, &batches, &hours, &clear, &mut |batch, rows| {
        summary.hours += batch.len() as u64;
        summary.rows += rows.len() as u64;
        agents_seen.extend(rows.iter().map(|r| r.agent_ext.clone()));
        hours_seen.extend(rows.iter().map(|r| r.report_hour));
    })?;
    summary.agents = agents_seen.len() as u64;
    summary.hours_with_rows = hours_seen.len() as u64;
    summary.other_reasons = noted.other_reasons;
    summary.ignored_events = noted.ignored_events;
    Ok(summary)
}

/// Refuses to aggregate hours whose events were pruned (`apr prune` records the boundary
/// in [`PRUNED_BEFORE`] and keeps [`DEFAULT_MAX_CARRY`] of events before it): `from` is the
/// first hour to rebuild, `max_carry` how far before it events are read. A corrupt boundary
/// is an error naming its key, never a disarmed guard.
pub fn check_not_pruned(
    store: &mut dyn Store,
    zone: Zone,
    from: i64,
    max_carry: i64,
) -> Result<()> {
    let Some(before) = store.instant(PRUNED_BEFORE)? else {
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

/// The one-line refusal of a range longer than [`MAX_RANGE_SECS`].
fn too_long(scope: Scope, from: i64, to: i64) -> Error {
    let day = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| format!("epoch {t}"))
    };
    let span = format!(
        "the hours to aggregate run from {} to {}, longer than the {} days one run walks",
        day(from),
        day(to),
        MAX_RANGE_SECS / 86_400
    );
    match scope {
        Scope::Between { .. } => {
            Error::usage(format!("{span}; expected a shorter --from/--to range"))
        }
        _ => Error::input(format!(
            "{span}: the stored data holds a far-away timestamp (loaded before apr bounded them); \
             delete that row, or rebuild in pieces with 'apr aggregate --from T --to T'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ActivityRow, AgentEvent, CallStats, EventSource, HourStats, LoadBatch, details,
    };
    use crate::store::sqlite::SqliteStore;

    const H: i64 = 3600;

    fn ev(ext: &str, ts: i64, event: &str, enabled: bool, state: &str) -> AgentEvent {
        AgentEvent {
            ext: ext.into(),
            ts,
            event: event.into(),
            enabled,
            state: state.into(),
            user_id: String::new(),
            username: format!("Agent {ext}"),
        }
    }

    fn opts(scope: Scope) -> AggregateOptions {
        AggregateOptions {
            scope,
            max_carry: DEFAULT_MAX_CARRY,
            state_map: StateMap::default(),
        }
    }

    fn rows(store: &mut SqliteStore) -> Vec<ActivityRow> {
        let mut out = Vec::new();
        let filter = crate::model::ActivityFilter {
            from_local: "0000".into(),
            to_local: "9999".into(),
            exts: vec![],
        };
        store
            .scan_activity(&filter, &mut |r| {
                out.push(r);
                Ok(())
            })
            .unwrap();
        out
    }

    fn setup() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn loads_then_dirty_aggregation_builds_rows_with_calls_and_names() {
        let (_d, mut store) = setup();
        let events = [
            ev("7", 10 * H + 60, "agent_idle", true, "available"),
            ev("7", 10 * H + 600, "agent_on_call", true, "none"),
            ev("7", 10 * H + 600, "agent_idle", false, "none"),
            ev("7", 10 * H + 900, "agent_on_call", false, "none"),
            ev("7", 10 * H + 900, "agent_idle", true, "available"),
            ev("8", 10 * H + 100, "agent_not_avail_state", true, "Coaching"),
        ];
        let stats = [HourStats {
            hour_start: 10 * H,
            records: vec![
                CallStats {
                    ext: "7".into(),
                    name: "Seven".into(),
                    total_calls: 3,
                    answered_calls: 1,
                    ..Default::default()
                },
                CallStats {
                    ext: "9".into(),
                    total_calls: 2,
                    ..Default::default()
                },
            ],
        }];
        store
            .load(&LoadBatch {
                events: &events,
                stats: &stats,
                data_until: Some(11 * H + 1800),
                ..Default::default()
            })
            .unwrap();
        let s = aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        assert_eq!(s.other_reasons.get("Coaching"), Some(&1));
        let got = rows(&mut store);
        let keys: Vec<(&str, i64)> = got
            .iter()
            .map(|r| (r.agent_ext.as_str(), r.report_hour))
            .collect();
        // 9 had calls only in hour 10; 7 and 8 carry their states into hour 11.
        assert_eq!(
            keys,
            [
                ("7", 10 * H),
                ("8", 10 * H),
                ("9", 10 * H),
                ("7", 11 * H),
                ("8", 11 * H)
            ]
        );
        let seven = &got[0];
        assert_eq!(seven.agent_name, "Seven");
        assert_eq!(
            (
                seven.figures.total_calls,
                seven.figures.answered_calls,
                seven.figures.failed_calls
            ),
            (3, 1, 2)
        );
        assert_eq!(
            (seven.figures.buckets.talk, seven.figures.buckets.logoff),
            (300, 60)
        );
        assert_eq!(got[1].agent_name, "Agent 8");
        assert_eq!(got[2].agent_name, "Unknown");
        assert_eq!(got[2].figures.buckets.logoff, 3600);
        assert_eq!(
            (got[3].figures.covered_secs, got[3].complete),
            (1800, false)
        );
        assert!(
            got.iter()
                .all(|r| r.figures.buckets.total() == r.figures.covered_secs)
        );
        let details = details::decode(10 * H, &seven.event_details).unwrap();
        assert_eq!(details.len(), 5);
        assert_eq!(
            (details[1].ts, details[1].event.as_str()),
            (10 * H + 600, "agent_on_call")
        );
        assert!(
            seven
                .event_details
                .starts_with(r#"[[60,"idle",1,"available"],"#)
        );
        // The dirty range is consumed: a second bare run rebuilds nothing.
        let again = aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        assert_eq!(again.hours, 0);
        assert_eq!(rows(&mut store), got);
    }

    #[test]
    fn rebuilding_is_idempotent_and_drops_rows_that_no_longer_qualify() {
        let (_d, mut store) = setup();
        let events = [ev("7", 10 * H + 60, "agent_idle", true, "available")];
        store
            .load(&LoadBatch {
                events: &events,
                data_until: Some(12 * H),
                ..Default::default()
            })
            .unwrap();
        aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        let first = rows(&mut store);
        assert_eq!(first.len(), 2);
        aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        assert_eq!(rows(&mut store), first);
        // A shorter carry: hour 11 no longer carries the idle state and disappears.
        let mut short = opts(Scope::Between {
            from: Some(10 * H),
            to: Some(12 * H),
        });
        short.max_carry = 1800;
        aggregate(&mut store, Zone::UTC, &short).unwrap();
        assert_eq!(rows(&mut store).len(), 1);
    }

    #[test]
    fn late_events_reaggregate_the_hours_whose_carry_they_change() {
        let (_d, mut store) = setup();
        let first = [ev("7", 10 * H, "agent_idle", true, "available")];
        store
            .load(&LoadBatch {
                events: &first,
                data_until: Some(13 * H),
                ..Default::default()
            })
            .unwrap();
        aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        assert!(
            rows(&mut store)
                .iter()
                .all(|r| r.figures.buckets.idle == 3600)
        );
        // A late lunch at 10:30 changes hour 10 and the carry of hours 11 and 12.
        let late = [ev(
            "7",
            10 * H + 1800,
            "agent_not_avail_state",
            true,
            "lunch",
        )];
        store
            .load(&LoadBatch {
                events: &late,
                ..Default::default()
            })
            .unwrap();
        aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        let lunches: Vec<i64> = rows(&mut store)
            .iter()
            .map(|r| r.figures.buckets.lunch)
            .collect();
        assert_eq!(lunches, [1800, 3600, 3600]);
    }

    #[test]
    fn the_carry_kept_between_batches_equals_the_carry_read_from_the_store() {
        let (_d, mut store) = setup();
        // Three days: a lunch that starts late on day 1 and lasts into day 2, a call across
        // the second batch boundary, an agent silent on day 2 (its carry runs out), and
        // events exactly at batch starts.
        let day = 24 * H;
        let events = [
            ev("7", 20 * H, "agent_idle", true, "available"),
            ev("7", 23 * H + 1800, "agent_idle", false, "none"),
            ev("7", 23 * H + 1800, "agent_not_avail_state", true, "lunch"),
            ev("7", day + 2 * H, "agent_not_avail_state", false, "none"),
            ev("7", day + 2 * H, "agent_idle", true, "available"),
            ev("7", 2 * day - 60, "agent_on_call", true, "none"),
            ev("7", 2 * day + 600, "agent_on_call", false, "none"),
            ev("8", 3 * H, "agent_idle", true, "available"),
            ev("8", day, "agent_on_call", true, "none"),
            ev("8", day + 5, "agent_on_call", false, "none"),
            ev("8", 2 * day + 3 * H, "agent_hold", true, "none"),
        ];
        store
            .load(&LoadBatch {
                events: &events,
                data_until: Some(3 * day),
                ..Default::default()
            })
            .unwrap();
        let whole = aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        assert!(
            whole.hours > batch::HOURS_PER_BATCH as u64 * 4,
            "several batches"
        );
        let kept = rows(&mut store);
        // Each day alone: a fresh window that reads its carry from the store.
        for d in 0..3 {
            aggregate(
                &mut store,
                Zone::UTC,
                &opts(Scope::Between {
                    from: Some(d * day),
                    to: Some((d + 1) * day),
                }),
            )
            .unwrap();
        }
        assert_eq!(rows(&mut store), kept);
        let lunch: i64 = kept
            .iter()
            .filter(|r| r.agent_ext == "7")
            .map(|r| r.figures.buckets.lunch)
            .sum();
        assert_eq!(lunch, 1800 + 2 * 3600);
        assert!(
            kept.iter()
                .all(|r| r.figures.buckets.total() == r.figures.covered_secs)
        );
    }

    #[test]
    fn a_far_away_instant_in_stored_data_is_refused_not_walked() {
        let (_d, mut store) = setup();
        // Stored directly, as a database written before loads were bounded holds it.
        let events = [
            ev("7", 1_757_300_000, "agent_idle", true, "available"),
            ev("7", 1_757_300_000_000, "agent_idle", false, "none"),
        ];
        store
            .load(&LoadBatch {
                events: &events,
                data_until: Some(1_757_300_000_000),
                ..Default::default()
            })
            .unwrap();
        for scope in [Scope::Dirty, Scope::All] {
            let e = aggregate(&mut store, Zone::UTC, &opts(scope)).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.exit_code(), 2, "{msg}");
            assert!(
                !msg.contains('\n') && msg.contains("far-away timestamp"),
                "{msg}"
            );
        }
        let e = aggregate(
            &mut store,
            Zone::UTC,
            &opts(Scope::Between {
                from: Some(0),
                to: None,
            }),
        )
        .unwrap_err();
        assert!(e.to_string().contains("--from/--to"), "{e}");
        assert!(rows(&mut store).is_empty());
        // A range inside the limit still works.
        let s = aggregate(
            &mut store,
            Zone::UTC,
            &opts(Scope::Between {
                from: Some(1_757_300_000),
                to: Some(1_757_300_000 + 2 * H),
            }),
        )
        .unwrap();
        assert_eq!(s.hours, 3);
    }

    #[test]
    fn the_prune_boundary_guards_aggregation_and_a_corrupt_one_names_its_key() {
        let (_d, mut store) = setup();
        let events = [ev("7", 10 * H + 60, "agent_idle", true, "available")];
        store
            .load(&LoadBatch {
                events: &events,
                data_until: Some(12 * H),
                ..Default::default()
            })
            .unwrap();
        store
            .set_state(PRUNED_BEFORE.name(), &(11 * H).to_string())
            .unwrap();
        let e = aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().contains("was pruned (apr prune)"), "{e}");
        // Once, a boundary that did not parse disarmed the guard.
        store.set_state(PRUNED_BEFORE.name(), "yesterday").unwrap();
        let e = aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap_err();
        assert!(e.to_string().contains("'prune.before'"), "{e}");
        assert!(rows(&mut store).is_empty());
    }

    #[test]
    fn nothing_loaded_means_nothing_to_do() {
        let (_d, mut store) = setup();
        let s = aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        assert_eq!(s, AggregateSummary::default());
    }

    /// A scratch file (init-load's staging) allows no second connection, so its batches are
    /// read in turn instead of ahead on another thread: both give the same rows.
    #[test]
    fn reading_ahead_and_in_turn_give_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut shared = SqliteStore::open(&dir.path().join("shared.db")).unwrap();
        let mut scratch = SqliteStore::open_scratch(&dir.path().join("scratch.db")).unwrap();
        assert!(shared.reader().unwrap().is_some());
        assert!(scratch.reader().unwrap().is_none());
        let mut events = Vec::new();
        for i in 0..200i64 {
            let ext = format!("{}", 7 + i % 5);
            let (event, state) = match i % 4 {
                0 => ("agent_login", ""),
                1 => ("agent_idle", "available"),
                2 => ("agent_not_avail_state", "lunch"),
                _ => ("agent_on_call", "talking"),
            };
            events.push(ev(&ext, i * 1_013, event, true, state));
        }
        for store in [&mut shared, &mut scratch] {
            store
                .load(&LoadBatch {
                    events: &events,
                    data_until: Some(60 * H),
                    ..Default::default()
                })
                .unwrap();
            aggregate(store, Zone::UTC, &opts(Scope::All)).unwrap();
        }
        let ahead = rows(&mut shared);
        assert!(ahead.len() > 100, "{} rows", ahead.len());
        assert_eq!(ahead, rows(&mut scratch));
    }

    #[test]
    fn queue_log_agents_carry_as_far_as_recorded_and_the_others_a_day() {
        let (_d, mut store) = setup();
        for (ext, source) in [("7", EventSource::Api), ("8", EventSource::QueueLog)] {
            store
                .load(&LoadBatch {
                    events: &[ev(ext, 0, "agent_idle", true, "available")],
                    source,
                    data_until: Some(40 * H),
                    ..Default::default()
                })
                .unwrap();
        }
        store
            .set_state(QUEUE_LOG_MAX_CARRY.name(), &state::SpanKey::encode(48 * H))
            .unwrap();
        aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        let hours_of = |store: &mut SqliteStore, ext: &str| {
            rows(store)
                .iter()
                .filter(|r| r.agent_ext == ext)
                .map(|r| (r.report_hour / H, r.figures.buckets.idle))
                .collect::<Vec<_>>()
        };
        // Idle from the event on: a day for the platform agent, every hour up to the data's
        // end for the queue_log one.
        assert_eq!(
            hours_of(&mut store, "7"),
            (0..24).map(|h| (h, 3600)).collect::<Vec<_>>()
        );
        assert_eq!(
            hours_of(&mut store, "8"),
            (0..40).map(|h| (h, 3600)).collect::<Vec<_>>()
        );
    }
}
