//! `apr init-load [--hours 48] [--yes] [--source DIR]` (SPEC §7.1, §9): after a typed `YES`,
//! backfills the last N hours from the live platform (or a replay directory) and replaces
//! the database's data with it in one atomic step ([`crate::ops::init_load`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args as ClapArgs;

use super::aggregate;
use super::global::{GlobalArgs, confirm_yes};
use crate::error::Error;
use crate::hours::Zone;
use crate::model::TableSummary;
use crate::ops::init_load::{backfill, preview};
use crate::ops::upstream::Upstream;
use crate::plural::counts;

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

/// `2025-09-07 10:00` in `zone`.
fn local(zone: Zone, t: i64) -> String {
    zone.local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// The confirmation text: the database, what each table holds, and what will not come back.
pub fn prompt_text(
    shown: &str,
    tables: &[TableSummary],
    zone: Zone,
    hours: u32,
    source: &str,
) -> String {
    let mut out = format!(
        "init-load replaces the data of {shown} with the last {} from {source}.\n",
        counts(u64::from(hours), "hour")
    );
    if tables.iter().all(|t| t.rows == 0) {
        out.push_str("The database holds no data yet.\n");
        return out;
    }
    out.push_str("It holds now:\n");
    for t in tables {
        let span = match t.span {
            Some((lo, hi)) => format!(
                ", {} to {} ({})",
                local(zone, lo),
                local(zone, hi),
                zone.name()
            ),
            None => String::new(),
        };
        out.push_str(&format!("  {}: {}{span}\n", t.table, counts(t.rows, "row")));
    }
    out.push_str(&format!(
        "What will not come back: hours older than the last {hours} (the platform is asked for \
         those hours only), and the queue_log history (queue_log, queue_calls, rejects and \
         cursors; re-read the files with apr parse-queue-log).\n"
    ));
    out
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    // Validate everything before the database is opened for writing (SPEC §9).
    let state_map = global.settings.state_map()?;
    let choice = global.zone_choice();
    let url = &global.database_url;
    let before = preview(url, &choice)?;
    let mut upstream = match args.source.as_deref() {
        Some(dir) => Upstream::replay(dir, before.zone, &before.bounds)?,
        None => Upstream::platform(global.settings.platform()?, before.cached_token.clone())?,
    };

    // What the prompt asks about; with --yes and --quiet (cron) nobody reads it.
    if !(args.yes && global.quiet) {
        eprint!(
            "{}",
            prompt_text(
                &url.shown(),
                &before.tables,
                before.zone,
                args.hours,
                &upstream.source().describe()
            )
        );
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "init-load replaces the database's data and needs confirmation: run it in a terminal and type YES, or pass --yes",
            )
            .into());
        }
        if !confirm_yes() {
            global.note("aborted: nothing was changed");
            return Ok(());
        }
    }

    let started = Instant::now();
    let bar = global.bar("{prefix} [{bar:30}] {pos}/{len} hours {msg}", "loading");
    let done = backfill(url, &choice, &mut upstream, args.hours, &state_map, &bar)?;
    let (loaded, agg) = (&done.loaded, &done.aggregated);
    aggregate::note_other_reasons(global, agg);
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
