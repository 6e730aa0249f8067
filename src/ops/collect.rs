//! The cron tick of `apr collect` (SPEC §7.2): the window one run fetches, decided from the
//! flags and the stored watermark, then, under the write lock, the fetch and load of each
//! local hour (the watermark moves with its commit), the aggregation of the hours touched,
//! and the record of the run.

use crate::aggregate::AggregateSummary;
use crate::aggregate::categories::StateMap;
use crate::bounds::TimeBounds;
use crate::config::{ZoneChoice, ZoneUse};
use crate::error::{Error, Result};
use crate::hours::{Zone, parse_instant};
use crate::model::state::{COLLECT_EVENTS_UNTIL, COLLECT_LAST_RUN, TimestampKey};
use crate::model::{CachedToken, Silent};
use crate::source::platform::ClientCounters;
use crate::store::{self, DatabaseUrl, Store};

use super::ingest::{IngestSummary, ingest};
use super::open::{LockWait, take_write_lock, time_bounds};
use super::upstream::Upstream;
use super::zone::{resolve_zone, zone_for};

/// A watermark older than this is not caught up silently: a long outage deserves a look.
const MAX_GAP_SECS: i64 = 7 * 86_400;
/// What a first run (no watermark) fetches.
const FIRST_RUN_SECS: i64 = 3600;

/// The window one run fetches, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub from: i64,
    pub to: i64,
    /// Set on a first run: the notice to print.
    pub notice: Option<String>,
}

/// Decides `[from, to]` from the flags and the stored watermark (SPEC §7.2).
pub fn plan(
    zone: Zone,
    watermark: Option<i64>,
    now: i64,
    overlap: i64,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Plan> {
    let to = until.unwrap_or(now);
    let (from, notice) = match (since, watermark) {
        (Some(since), _) => (since, None),
        (None, Some(w)) => {
            if to - w > MAX_GAP_SECS {
                let last = zone.local(w).format("%Y-%m-%d %H:%M");
                return Err(Error::usage(format!(
                    "the last collect reached {last} ({}), more than 7 days ago; catch up explicitly with \
                     'apr collect --since \"{last}\"' or reload with 'apr init-load --hours N'",
                    zone.name()
                )));
            }
            (w - overlap, None)
        }
        (None, None) => (
            to - FIRST_RUN_SECS,
            Some(
                "no earlier collect recorded in this database: fetching the last hour only; \
                 run 'apr init-load' to backfill more"
                    .to_string(),
            ),
        ),
    };
    if from > to {
        return Err(Error::usage(format!(
            "--since ({from}) is after --until ({to}); expected an earlier --since"
        )));
    }
    Ok(Plan { from, to, notice })
}

/// What a run was asked to fetch, parsed from its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub overlap: i64,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// The instants a source may claim; `--since` and `--until` must lie inside.
    pub bounds: TimeBounds,
}

impl Request {
    /// `--since` and `--until` must lie inside the bounds (a usage error naming the flag).
    pub fn check(&self) -> Result<()> {
        for (flag, t) in [("--since", self.since), ("--until", self.until)] {
            if let Some(t) = t
                && let Err(why) = self.bounds.check(t)
            {
                return Err(Error::usage(format!("{flag}: {why}")));
            }
        }
        Ok(())
    }
}

/// A run's flags checked against what the database holds, before anything is written.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub zone: Zone,
    pub request: Request,
    /// Where the last collect reached, as the database stands now.
    pub watermark: Option<i64>,
    /// The login token an earlier run stored.
    pub cached_token: Option<CachedToken>,
}

impl Prepared {
    /// The window a run at the source's `now` would fetch, decided from what was read while
    /// preparing; [`tick`] decides it again under the lock.
    pub fn plan(&self, now: i64) -> Result<Plan> {
        let r = &self.request;
        plan(self.zone, self.watermark, now, r.overlap, r.since, r.until)
    }
}

/// Validates a run's zone and flags (`since`, `until`: the texts of `--since`, `--until`),
/// reading the database read-only when it exists and holds apr's data, creating nothing.
pub fn prepare(
    url: &DatabaseUrl,
    choice: &ZoneChoice,
    overlap: i64,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Prepared> {
    choice.parse()?;
    let mut peek = store::peek(url)?;
    let zone = zone_for(
        peek.as_mut().map(|s| s.as_mut() as &mut dyn Store),
        choice,
        ZoneUse::Write,
    )?;
    let since = since
        .map(|s| parse_instant(zone, s, "--since"))
        .transpose()?;
    let until = until
        .map(|s| parse_instant(zone, s, "--until"))
        .transpose()?;
    let request = Request {
        overlap,
        since,
        until,
        bounds: time_bounds(peek.as_mut().map(|s| s.as_mut() as &mut dyn Store))?,
    };
    request.check()?;
    let (watermark, cached_token) = match peek.as_mut() {
        Some(s) => (s.instant(COLLECT_EVENTS_UNTIL)?, s.token()?),
        None => (None, None),
    };
    Ok(Prepared {
        zone,
        request,
        watermark,
        cached_token,
    })
}

/// What one tick fetched, stored and aggregated.
#[derive(Debug, Clone)]
pub struct Tick {
    pub loaded: IngestSummary,
    pub aggregated: AggregateSummary,
    /// The platform's requests; `None` for a replay.
    pub requests: Option<ClientCounters>,
    /// How long the tick took, from opening the database to its record.
    pub secs: f64,
}

/// Runs one tick: opens the database for writing, fetches the window from `upstream` at its
/// `now`, loads and aggregates it, and records the run.
pub fn tick(
    url: &DatabaseUrl,
    choice: &ZoneChoice,
    prepared: &Prepared,
    now: i64,
    upstream: &mut Upstream,
    state_map: &StateMap,
    wait: LockWait<'_>,
) -> Result<Tick> {
    let started = std::time::Instant::now();
    // The whole plan is decided before anything is written (SPEC §9): after connecting, the
    // recorded zone and the watermark are read again and every refusal is made while an
    // older schema is still unchanged; only then is the schema created or upgraded.
    let mut decided = None;
    let mut store = store::open_checked(url, &mut |store, holds| {
        let decide = |store: &mut dyn Store| -> Result<Plan> {
            let (zone, watermark) = if holds {
                let zone = resolve_zone(store, choice, ZoneUse::Write)?;
                (zone, store.instant(COLLECT_EVENTS_UNTIL)?)
            } else {
                (prepared.zone, None)
            };
            let r = &prepared.request;
            plan(zone, watermark, now, r.overlap, r.since, r.until)
        };
        // Refused before the lock, so a refusal leaves no lock file behind either; then
        // again under the lock, where another run may have moved the watermark meanwhile.
        decide(store)?;
        take_write_lock(store, wait)?;
        decided = Some(decide(store)?);
        Ok(())
    })?;
    let Some(plan) = decided else {
        unreachable!("open_checked runs its check before returning a store");
    };
    // Records the zone on a new database; a recorded one was checked above.
    let zone = resolve_zone(store.as_mut(), choice, ZoneUse::Write)?;
    tracing::debug!(
        "collect: fetching {} .. {} ({})",
        plan.from,
        plan.to,
        zone.name()
    );
    let result = ingest(
        store.as_mut(),
        upstream.source(),
        zone,
        plan.from,
        plan.to,
        &Silent,
    );
    // Keep a fresh token even when the fetch failed, so the next run reuses it.
    upstream.keep_token(store.as_mut())?;
    let requests = upstream.counters();
    let loaded = result?;
    let aggregated = crate::ops::aggregate::after_load(store.as_mut(), zone, state_map)?;
    store.set_state(
        COLLECT_LAST_RUN.name(),
        &TimestampKey::encode(chrono::Utc::now()),
    )?;
    Ok(Tick {
        loaded,
        aggregated,
        requests,
        secs: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_757_260_800;

    #[test]
    fn incremental_from_the_watermark_minus_the_overlap() {
        let p = plan(Zone::UTC, Some(NOW - 600), NOW, 900, None, None).unwrap();
        assert_eq!((p.from, p.to, p.notice), (NOW - 1500, NOW, None));
    }

    #[test]
    fn first_run_fetches_the_last_hour_with_a_notice() {
        let p = plan(Zone::UTC, None, NOW, 900, None, None).unwrap();
        assert_eq!((p.from, p.to), (NOW - 3600, NOW));
        assert!(p.notice.unwrap().contains("apr init-load"));
    }

    #[test]
    fn a_long_gap_needs_since() {
        let old = NOW - 8 * 86_400;
        let e = plan(Zone::UTC, Some(old), NOW, 900, None, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--since"), "{e}");
        let p = plan(Zone::UTC, Some(old), NOW, 900, Some(old), None).unwrap();
        assert_eq!(p.from, old);
        // Just under seven days is caught up without asking.
        assert!(plan(Zone::UTC, Some(NOW - 7 * 86_400), NOW, 900, None, None).is_ok());
    }

    #[test]
    fn since_and_until_override_and_must_be_ordered() {
        let p = plan(
            Zone::UTC,
            Some(NOW),
            NOW,
            900,
            Some(NOW - 100),
            Some(NOW - 50),
        )
        .unwrap();
        assert_eq!((p.from, p.to), (NOW - 100, NOW - 50));
        let e = plan(Zone::UTC, None, NOW, 900, Some(NOW), Some(NOW - 1)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn prepare_creates_nothing_and_refuses_flags_out_of_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apr.db");
        let url = DatabaseUrl::sqlite(path.clone());
        let utc = ZoneChoice {
            flag: Some("UTC".into()),
            env: None,
        };
        let p = prepare(&url, &utc, 900, Some("2025-09-07 10:00"), None).unwrap();
        assert_eq!(p.request.since, Some(1_757_239_200));
        assert_eq!((p.watermark, p.cached_token.is_none()), (None, true));
        let e = prepare(&url, &utc, 900, Some("1999-12-31"), None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("--since: "), "{e}");
        assert!(!path.exists(), "prepare created the database");
    }

    #[test]
    fn a_tick_from_a_replay_loads_and_moves_the_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let replay = dir.path().join("replay");
        std::fs::create_dir_all(replay.join("events")).unwrap();
        std::fs::write(
            replay.join("events").join("1.json"),
            serde_json::json!({"events": [
                {"ext": "201", "Timestamp": NOW - 1800, "event": "agent_idle", "enabled": true,
                 "state": "none", "user_id": "u1", "username": "A"}
            ]})
            .to_string(),
        )
        .unwrap();
        let url = DatabaseUrl::sqlite(dir.path().join("apr.db"));
        let utc = ZoneChoice {
            flag: Some("UTC".into()),
            env: None,
        };
        let prepared = prepare(&url, &utc, 900, None, None).unwrap();
        let mut upstream = Upstream::replay(&replay, Zone::UTC, &prepared.request.bounds).unwrap();
        let now = upstream.source().now().unwrap();
        assert!(prepared.plan(now).unwrap().notice.is_some());
        let tick = tick(
            &url,
            &utc,
            &prepared,
            now,
            &mut upstream,
            &StateMap::default(),
            LockWait::Refuse,
        )
        .unwrap();
        assert_eq!((tick.loaded.events_new, tick.requests), (1, None));
        let mut store = store::open_read_only(&url).unwrap();
        assert_eq!(store.instant(COLLECT_EVENTS_UNTIL).unwrap(), Some(now));
        assert!(store.state(COLLECT_LAST_RUN.name()).unwrap().is_some());
    }
}
