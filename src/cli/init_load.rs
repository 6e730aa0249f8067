//! `apr init-load [--hours 48] [--yes] [--source DIR]` (SPEC §7.1): after a typed `YES`,
//! wipes the staging and summary tables, backfills the last N hours from the live platform
//! (or a replay directory), aggregates, and prints a summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};

use super::{GlobalArgs, aggregate, write_lock};
use crate::config::{ZoneUse, resolve_zone};
use crate::error::Error;
use crate::ingest::ingest;
use crate::plural::counts;
use crate::source::Source;
use crate::source::platform::{PlatformConfig, PlatformSource};
use crate::source::replay::ReplayDir;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// How many hours to backfill, counted back from now (from the newest recorded instant
    /// with --source)
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=24 * 366))]
    pub hours: u32,
    /// Skip the confirmation (for scripts)
    #[arg(long)]
    pub yes: bool,
    /// Load a replay directory of recorded responses instead of the live platform
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let mut store = global.open_store()?;
    write_lock(store.as_mut())?;
    let zone = resolve_zone(store.as_mut(), &global.zone_choice(), ZoneUse::Replace)?;
    // The live platform (configured from the environment) unless a replay directory is given.
    let mut replay = None;
    let mut platform = None;
    let source: &mut dyn Source = match args.source.as_deref() {
        Some(dir) => replay.insert(ReplayDir::open(dir, zone)?),
        None => platform.insert(PlatformSource::new(
            PlatformConfig::from_env()?,
            store.token()?,
        )?),
    };

    let tables = store.table_counts()?;
    let listing: Vec<String> = tables
        .iter()
        .map(|(t, n)| format!("{t}: {}", counts(*n, "row")))
        .collect();
    // The list is what the prompt asks about; with --yes and --quiet (cron) nobody reads it.
    if !(args.yes && global.quiet) {
        eprintln!(
            "init-load wipes these tables and reloads the last {} from {}:\n  {}",
            counts(u64::from(args.hours), "hour"),
            source.describe(),
            listing.join("\n  ")
        );
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "init-load wipes the database and needs confirmation: run it in a terminal and type YES, or pass --yes",
            )
            .into());
        }
        let answer: String = dialoguer::Input::new()
            .with_prompt("Type YES to continue")
            .allow_empty(true)
            .interact_text()
            .map_err(|e| Error::io("cannot read the confirmation", std::io::Error::other(e)))?;
        if answer.trim() != "YES" {
            global.note("aborted: nothing was changed");
            return Ok(());
        }
    }

    let started = Instant::now();
    store.wipe()?;
    let now = source.now()?;
    let from = now - i64::from(args.hours) * 3600;
    let bar = ProgressBar::with_draw_target(None, global.progress_target());
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} hours {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix("loading");
    let loaded = ingest(store.as_mut(), source, zone, from, now, &bar);
    bar.finish_and_clear();
    // Keep a fresh token even when the backfill failed, so the next run reuses it.
    if let Some(token) = platform.as_mut().and_then(PlatformSource::take_new_token) {
        store.set_token(&token)?;
    }
    let loaded = loaded?;
    let agg = aggregate::after_load(store.as_mut(), zone)?;
    aggregate::note_other_reasons(global, &agg);
    global.summary(format_args!(
        "loaded {} ({} new) and {}; {} over {} ({}) in {:.1}s",
        counts(loaded.events_seen, "event"),
        loaded.events_new,
        counts(loaded.stats_rows, "hourly stats row"),
        counts(agg.agents, "agent"),
        counts(agg.hours_with_rows, "hour"),
        counts(agg.rows, "row"),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
