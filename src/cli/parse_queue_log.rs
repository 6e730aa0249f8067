//! `apr parse-queue-log FILE...` (SPEC §6): loads Asterisk queue_log files incrementally,
//! derives stints and the agent timeline, aggregates the hours touched, and prints one
//! summary line (lines read, loaded, rejected, calls, seconds).

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::{GlobalArgs, aggregate, time_bounds, write_lock};
use crate::aggregate::categories::StateMap;
use crate::config::{ZoneUse, resolve_zone};
use crate::error::Error;
use crate::hours::Zone;
use crate::plural::counts;
use crate::source::queue_log::agent_map::AgentMap;
use crate::source::queue_log::load::{
    DEFAULT_CHUNK_LINES, LoadOptions, LoadSummary, Progress, dry_run, load_files,
};
use crate::store::{self, QueueStore, Store};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// queue_log files, oldest rotation first (`queue_log.2.gz queue_log.1 queue_log`);
    /// `-` reads stdin; `.gz` is read transparently
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Parse and count without writing anything
    #[arg(long)]
    pub dry_run: bool,
    /// A call still waiting this many hours after it entered is closed as INCOMPLETE
    #[arg(long, default_value_t = 4, value_name = "HOURS",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_call_hours: u32,
    /// TOML file with an [agents] table mapping member names to extensions
    /// ("John Doe" = "201")
    #[arg(
        long,
        env = "APR_QUEUE_AGENTS",
        value_name = "FILE",
        hide_env_values = true
    )]
    pub agents: Option<PathBuf>,
    /// Lines per transaction
    #[arg(long, default_value_t = DEFAULT_CHUNK_LINES, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub chunk_lines: u32,
}

fn agent_map(path: Option<&PathBuf>) -> crate::Result<AgentMap> {
    let Some(path) = path else {
        return Ok(AgentMap::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!(
            "--agents / APR_QUEUE_AGENTS file '{}' cannot be read: {e}; expected a TOML file with an [agents] table",
            path.display()
        ))
    })?;
    AgentMap::from_toml(&text, &path.display().to_string())
}

/// The zone of a dry run without a database: `--timezone`, `APR_TIMEZONE`, else the system's.
fn zone_without_store(global: &GlobalArgs) -> crate::Result<Zone> {
    let choice = global.zone_choice();
    match choice.flag.as_deref().or(choice.env.as_deref()) {
        Some(name) => Zone::parse(name),
        None => Ok(Zone::system()),
    }
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Validate before the database is opened for writing (SPEC §9).
    let agents = agent_map(args.agents.as_ref())?;
    crate::source::queue_log::reader::check_readable(&args.files)?;
    let state_map = StateMap::from_settings(&global.settings)?;
    global.zone_choice().parse()?;
    let url = &global.database_url;
    let bar = global.bar(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg}",
        "queue_log",
    );
    let bar = &bar.0;
    let mut on_progress = |p: Progress| {
        if let Some(total) = p.total_bytes {
            bar.set_length(total);
            bar.set_position(p.bytes);
        }
        bar.set_message(counts(p.lines, "line"));
    };
    let opts = |zone, bounds| LoadOptions {
        zone,
        max_call_secs: i64::from(args.max_call_hours) * 3600,
        chunk_lines: args.chunk_lines as usize,
        bounds,
    };
    let summary: LoadSummary = if args.dry_run {
        // A dry run never creates anything; it reads cursors only from a database that
        // exists and holds apr's tables, opened read-only.
        let mut store = store::peek_queue(url)?;
        let zone = match store.as_mut() {
            Some(s) => resolve_zone(s.as_mut(), &global.zone_choice(), ZoneUse::Read)?,
            None => zone_without_store(global)?,
        };
        let bounds = time_bounds(store.as_mut().map(|s| s.as_mut() as &mut dyn Store))?;
        dry_run(
            store.as_mut().map(|s| s.as_mut() as &mut dyn QueueStore),
            &args.files,
            &agents,
            opts(zone, bounds),
            &mut on_progress,
        )?
    } else {
        // The lock before the schema is created or upgraded (SPEC §9; see `open_locked`).
        let mut store = store::open_queue_checked(url, &mut |store, _| write_lock(store))?;
        let zone = resolve_zone(store.as_mut(), &global.zone_choice(), ZoneUse::Write)?;
        let bounds = time_bounds(Some(store.as_mut()))?;
        let summary = load_files(
            store.as_mut(),
            &args.files,
            &agents,
            opts(zone, bounds),
            &mut on_progress,
        )?;
        bar.finish_and_clear();
        let base: &mut dyn Store = store.as_mut();
        let agg = crate::ops::aggregate::after_load(base, zone, &state_map)?;
        aggregate::note_other_reasons(global, &agg);
        summary
    };
    bar.finish_and_clear();
    for note in &summary.notes {
        tracing::info!("{note}");
    }
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    if !summary.unmapped_names.is_empty() {
        global.note(format_args!(
            "agent names seen only on call lines: {}; map them to extensions in an agents file, see examples/queue-agents.toml",
            summary.unmapped_names.join(", ")
        ));
    }
    let mut extra = String::new();
    if summary.repaired > 0 {
        extra.push_str(&format!(
            ", {} repaired (leading NUL bytes)",
            summary.repaired
        ));
    }
    if summary.empty > 0 {
        extra.push_str(&format!(
            ", {} skipped",
            counts(summary.empty, "empty line")
        ));
    }
    global.summary(format_args!(
        "{}{} read, {} loaded, {} rejected, {}, {}{extra} in {:.1}s{}",
        if args.dry_run { "dry run: " } else { "" },
        counts(summary.lines_read, "line"),
        summary.loaded,
        summary.rejected,
        counts(summary.calls, "call"),
        counts(summary.events, "agent event"),
        started.elapsed().as_secs_f64(),
        if summary.rejected > 0 && !args.dry_run {
            " (rejected lines are in queue_log_rejects)"
        } else {
            ""
        }
    ));
    Ok(())
}
