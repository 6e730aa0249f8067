//! `apr collect [--overlap 15m] [--since T] [--until T] [--source DIR]` (SPEC §7.2): the
//! cron tick. Under the write lock, fetches from the stored watermark minus the overlap up
//! to now, loads each local hour in one transaction (the watermark moves with it, so it
//! only advances after a commit), aggregates the affected hours, and records the run.
//! Silent on success unless `-v`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args as ClapArgs;
use indicatif::ProgressBar;

use super::{GlobalArgs, aggregate, write_lock};
use crate::config::{ZoneUse, resolve_zone};
use crate::error::Error;
use crate::hours::{Zone, parse_instant, parse_span};
use crate::ingest::ingest;
use crate::plural::{count, counts};
use crate::source::Source;
use crate::source::platform::{PlatformConfig, PlatformSource};
use crate::source::replay::ReplayDir;
use crate::store::{Store, keys};

/// A watermark older than this is not caught up silently: a long outage deserves a look.
const MAX_GAP_SECS: i64 = 7 * 86_400;
/// What a first run (no watermark) fetches.
const FIRST_RUN_SECS: i64 = 3600;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// How far before the stored watermark to start again, for events the platform lists late
    #[arg(long, default_value = "15m", value_name = "SPAN")]
    pub overlap: String,
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
    let mut store = global.open_store()?;
    write_lock(store.as_mut())?;
    let zone = resolve_zone(store.as_mut(), &global.zone_choice(), ZoneUse::Write)?;
    let overlap = parse_span(&args.overlap, "--overlap")?;
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
    let watermark = store
        .state(keys::COLLECT_EVENTS_UNTIL)?
        .and_then(|v| v.trim().parse::<i64>().ok());

    let (loaded, described, requests) = match &args.source {
        Some(dir) => {
            let mut source = ReplayDir::open(dir, zone)?;
            let now = source.now()?;
            let plan = plan(zone, watermark, now, overlap, since, until)?;
            if let Some(n) = &plan.notice {
                global.note(n);
            }
            let loaded = fetch(store.as_mut(), &mut source, zone, &plan)?;
            (loaded, source.describe(), None)
        }
        None => {
            let cfg = PlatformConfig::from_env()?;
            let mut source = PlatformSource::new(cfg, store.token()?)?;
            let now = source.now()?;
            let plan = plan(zone, watermark, now, overlap, since, until)?;
            if let Some(n) = &plan.notice {
                global.note(n);
            }
            let result = fetch(store.as_mut(), &mut source, zone, &plan);
            // Keep a fresh token even when the fetch failed, so the next run reuses it.
            if let Some(token) = source.take_new_token() {
                store.set_token(&token)?;
            }
            (result?, source.describe(), Some(source.counters()))
        }
    };

    let agg = aggregate::after_load(store.as_mut(), zone)?;
    store.set_state(
        keys::COLLECT_LAST_RUN,
        &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
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

fn fetch(
    store: &mut dyn Store,
    source: &mut dyn Source,
    zone: Zone,
    plan: &Plan,
) -> crate::Result<crate::ingest::IngestSummary> {
    tracing::debug!(
        "collect: fetching {} .. {} ({})",
        plan.from,
        plan.to,
        zone.name()
    );
    ingest(
        store,
        source,
        zone,
        plan.from,
        plan.to,
        &ProgressBar::hidden(),
    )
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
