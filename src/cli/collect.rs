//! `apr collect [--overlap 15m] [--since T] [--until T] [--source DIR]` (SPEC §7.2): the
//! cron tick ([`crate::ops::collect`]). Silent on success unless `-v`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args as ClapArgs;

use super::aggregate;
use super::global::{GlobalArgs, SpanParser};
use crate::ops::collect::{Tick, prepare, tick};
use crate::ops::follow::{CollectEvery, collect_every};
use crate::ops::open::LockWait;
use crate::ops::upstream::Upstream;
use crate::plural::{count, counts};

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
    /// Keep running: one tick every SPAN (e.g. 1m), the login token reused across ticks,
    /// until SIGINT/SIGTERM (the tick in hand is finished, exit 0); for systemd
    #[arg(long, value_name = "SPAN", value_parser = SpanParser("--every"),
          conflicts_with_all = ["since", "until"])]
    pub every: Option<i64>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    // Validate everything before the database is opened for writing (SPEC §9): arguments,
    // settings, the state map, the source and the platform login.
    let state_map = global.settings.state_map()?;
    let choice = global.zone_choice();
    let url = &global.database_url;
    let prepared = prepare(
        url,
        &choice,
        args.overlap,
        args.since.as_deref(),
        args.until.as_deref(),
    )?;
    let mut upstream = match &args.source {
        Some(dir) => Upstream::replay(dir, prepared.zone, &prepared.request.bounds)?,
        None => Upstream::platform(global.settings.platform()?, prepared.cached_token.clone())?,
    };
    if let Some(every) = args.every {
        return run_every(global, &args, every, upstream, &state_map);
    }
    let now = upstream.source().now()?;
    if let Some(n) = prepared.plan(now)?.notice {
        global.note(n);
    }
    let done = tick(
        url,
        &choice,
        &prepared,
        now,
        &mut upstream,
        &state_map,
        LockWait::Refuse,
    )?;
    print_tick(
        global,
        &done,
        &upstream.source().describe(),
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// `--every` (SPEC §13): the tick in a loop on one upstream, waiting for the write lock,
/// until SIGINT/SIGTERM; a tick that fails at runtime is reported and tried again.
fn run_every(
    global: &GlobalArgs,
    args: &Args,
    every: i64,
    mut upstream: Upstream,
    state_map: &crate::aggregate::categories::StateMap,
) -> anyhow::Result<()> {
    if every < 1 {
        return Err(crate::Error::usage(format!(
            "--every '{every}s' is too short; expected at least 1s, e.g. 1m"
        ))
        .into());
    }
    let stop = super::global::stop_on_signals()?;
    let choice = global.zone_choice();
    let c = CollectEvery {
        url: &global.database_url,
        choice: &choice,
        overlap: args.overlap,
        state_map,
        every: std::time::Duration::from_secs(every.unsigned_abs()),
    };
    let from = upstream.source().describe();
    collect_every(
        &c,
        &mut upstream,
        &stop,
        &mut |r| match r {
            Ok(done) => print_tick(global, done, &from, done.secs),
            Err(e) => eprintln!("error: {e}; trying again at the next tick"),
        },
        &mut |n| global.note(n),
    )?;
    Ok(())
}

/// The `-v` summary line of one tick.
fn print_tick(global: &GlobalArgs, done: &Tick, from: &str, secs: f64) {
    if global.verbose >= 1 {
        let (loaded, agg) = (&done.loaded, &done.aggregated);
        aggregate::note_other_reasons(global, agg);
        let http = done
            .requests
            .map(|c| {
                format!(
                    ", {} ({})",
                    counts(c.requests, "request"),
                    count(c.retries, "retry", "retries")
                )
            })
            .unwrap_or_default();
        eprintln!(
            "collect: {} ({} new) and {} from {}{http}; {} aggregated over {}; {:.2}s",
            counts(loaded.events_seen, "event"),
            loaded.events_new,
            counts(loaded.stats_rows, "stats row"),
            from,
            counts(agg.rows, "agent-hour"),
            counts(agg.hours, "hour"),
            secs
        );
    }
}
