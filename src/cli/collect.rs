//! `apr collect [--overlap 15m] [--since T] [--until T] [--source DIR]` (SPEC §7.2): the
//! cron tick. Under the write lock, fetches from the stored watermark minus the overlap up
//! to now, loads each local hour in one transaction (the watermark moves with it, so it
//! only advances after a commit), aggregates the affected hours, and records the run.
//! Silent on success unless `-v`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args as ClapArgs;

use super::{GlobalArgs, SpanParser, aggregate, time_bounds, write_lock};
use crate::aggregate::categories::StateMap;
use crate::bounds::TimeBounds;
use crate::config::{ZoneUse, resolve_zone};
use crate::error::Error;
use crate::hours::{Zone, parse_instant};
use crate::ingest::ingest;
use crate::model::Silent;
use crate::model::state::{COLLECT_EVENTS_UNTIL, COLLECT_LAST_RUN, TimestampKey};
use crate::plural::{count, counts};
use crate::source::Source;
use crate::source::platform::{PlatformConfig, PlatformSource};
use crate::source::replay::ReplayDir;
use crate::store::Store;

/// A watermark older than this is not caught up silently: a long outage deserves a look.
const MAX_GAP_SECS: i64 = 7 * 86_400;
/// What a first run (no watermark) fetches.
const FIRST_RUN_SECS: i64 = 3600;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// How far before the stored watermark to start again, for events the platform lists late
    #[arg(long, default_value = "15m", value_name = "SPAN", value_parser = SpanParser("--overlap"))]
    pub overlap: i64,
    /// Fetch from this instant instead of the watermark (epoch, RFC 3339 or local
    /// 'YYYY-MM-DD[ HH:MM[:SS]]')
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Fetch up to this instant instead of now
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Load a replay directory of recorded responses instead of the live platform
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
}

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
) -> crate::Result<Plan> {
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

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    // Validate everything before the database is opened for writing (SPEC §9): arguments,
    // settings, the state map, the source and the platform login.
    let overlap = args.overlap;
    let state_map = StateMap::from_settings(&global.settings)?;
    let choice = global.zone_choice();
    choice.parse()?;
    let mut peek = global.peek()?;
    let zone = match peek.as_mut() {
        Some(s) => resolve_zone(s.as_mut(), &choice, ZoneUse::Write)?,
        None => choice.parse()?.unwrap_or_else(Zone::system),
    };
    let since = args
        .since
        .as_deref()
        .map(|s| parse_instant(zone, s, "--since"))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_instant(zone, s, "--until"))
        .transpose()?;
    let request = Request {
        overlap,
        since,
        until,
        bounds: time_bounds(peek.as_mut().map(|s| s.as_mut() as &mut dyn Store))?,
    };
    request.check()?;
    let watermark = match peek.as_mut() {
        Some(s) => s.instant(COLLECT_EVENTS_UNTIL)?,
        None => None,
    };
    let cached = match peek.as_mut() {
        Some(s) => s.token()?,
        None => None,
    };
    drop(peek);
    let mut replay = None;
    let mut platform = None;
    let source: &mut dyn Source = match &args.source {
        Some(dir) => replay.insert(ReplayDir::open(dir, zone, &request.bounds)?),
        None => {
            let mut p =
                PlatformSource::new(PlatformConfig::from_settings(&global.settings)?, cached)?;
            p.check_login()?;
            platform.insert(p)
        }
    };
    let now = source.now()?;
    if let Some(n) = plan(zone, watermark, now, overlap, since, until)?.notice {
        global.note(n);
    }

    // The whole plan is decided before anything is written (SPEC §9): after connecting, the
    // recorded zone and the watermark are read again and every refusal is made while an
    // older schema is still unchanged; only then is the schema created or upgraded.
    let mut decided = None;
    let mut store = global.open_for_write_checked(&mut |store, holds| {
        let decide = |store: &mut dyn Store| -> crate::Result<Plan> {
            let (zone, watermark) = if holds {
                let zone = resolve_zone(store, &choice, ZoneUse::Write)?;
                (zone, store.instant(COLLECT_EVENTS_UNTIL)?)
            } else {
                (zone, None)
            };
            plan(zone, watermark, now, overlap, since, until)
        };
        // Refused before the lock, so a refusal leaves no lock file behind either; then
        // again under the lock, where another run may have moved the watermark meanwhile.
        decide(store)?;
        write_lock(store)?;
        decided = Some(decide(store)?);
        Ok(())
    })?;
    let Some(plan) = decided else {
        unreachable!("open_for_write_checked runs its check before returning a store");
    };
    // Records the zone on a new database; a recorded one was checked above.
    let zone = resolve_zone(store.as_mut(), &choice, ZoneUse::Write)?;
    let described = source.describe();
    tracing::debug!(
        "collect: fetching {} .. {} ({})",
        plan.from,
        plan.to,
        zone.name()
    );
    let result = ingest(store.as_mut(), source, zone, plan.from, plan.to, &Silent);
    // Keep a fresh token even when the fetch failed, so the next run reuses it.
    let requests = match platform.as_mut() {
        Some(p) => {
            if let Some(token) = p.take_new_token() {
                store.set_token(&token)?;
            }
            Some(p.counters())
        }
        None => None,
    };
    let loaded = result?;

    let agg = crate::ops::aggregate::after_load(store.as_mut(), zone, &state_map)?;
    store.set_state(
        COLLECT_LAST_RUN.name(),
        &TimestampKey::encode(chrono::Utc::now()),
    )?;
    if global.verbose >= 1 {
        aggregate::note_other_reasons(global, &agg);
        let http = requests
            .map(|c| {
                format!(
                    ", {} ({})",
                    counts(c.requests, "request"),
                    count(c.retries, "retry", "retries")
                )
            })
            .unwrap_or_default();
        eprintln!(
            "collect: {} ({} new) and {} from {described}{http}; {} aggregated over {}; {:.2}s",
            counts(loaded.events_seen, "event"),
            loaded.events_new,
            counts(loaded.stats_rows, "stats row"),
            counts(agg.rows, "agent-hour"),
            counts(agg.hours, "hour"),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
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
    pub fn check(&self) -> crate::Result<()> {
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
}
