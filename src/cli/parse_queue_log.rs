//! `apr parse-queue-log FILE...` (SPEC §6): loads Asterisk queue_log files incrementally,
//! derives stints and the agent timeline, aggregates the hours touched, and prints one
//! summary line (lines read, loaded, rejected, calls, seconds).

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::aggregate;
use super::global::{GlobalArgs, SpanParser};
use crate::ops::follow::{QueueLogFollow, follow_queue_log};
use crate::ops::parse_queue_log::{Limits, agent_map, dry_run, load_and_aggregate};
use crate::plural::counts;
use crate::source::queue_log::load::DEFAULT_CHUNK_LINES;
use crate::source::queue_log::load::LoadSummary;

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
    /// ("John Doe" = "201") and giving extensions display names
    /// ("PJSIP/201" = { ext = "201", name = "Reception 1" })
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
    /// How far back the state carried into an hour is looked for, for queue_log agents
    /// (recorded: later aggregations of them carry as far)
    #[arg(long, default_value = "24h", value_name = "SPAN", value_parser = SpanParser("--max-carry"))]
    pub max_carry: i64,
    /// Keep running: load new complete lines every --interval, following rotation and
    /// truncation, until SIGINT/SIGTERM (the batch in hand is finished, exit 0)
    #[arg(long, conflicts_with = "dry_run")]
    pub follow: bool,
    /// With --follow: how often the files are looked at
    #[arg(long, default_value = "2s", value_name = "SPAN", requires = "follow",
          value_parser = SpanParser("--interval"))]
    pub interval: i64,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Validate before the database is opened for writing (SPEC §9).
    let agents = agent_map(args.agents.as_deref(), "--agents / APR_QUEUE_AGENTS")?;
    crate::source::queue_log::reader::check_readable(&args.files)?;
    let state_map = global.settings.state_map()?;
    let choice = global.zone_choice();
    choice.parse()?;
    let url = &global.database_url;
    let limits = Limits {
        max_call_secs: i64::from(args.max_call_hours) * 3600,
        chunk_lines: args.chunk_lines as usize,
        max_carry: args.max_carry,
    };
    if args.follow {
        return follow(global, &args, &agents, limits, &state_map);
    }
    let bar = global.bar(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg}",
        "queue_log",
    );
    let summary = if args.dry_run {
        dry_run(url, &choice, &args.files, &agents, limits, &bar)?
    } else {
        let loaded =
            load_and_aggregate(url, &choice, &args.files, &agents, limits, &state_map, &bar)?;
        aggregate::note_other_reasons(global, &loaded.aggregated);
        loaded.summary
    };
    print_notes(global, &summary);
    global.summary(format_args!(
        "{}{}{}",
        if args.dry_run { "dry run: " } else { "" },
        summary_line(&summary, started.elapsed().as_secs_f64()),
        if summary.rejected > 0 && !args.dry_run {
            " (rejected lines are in queue_log_rejects)"
        } else {
            ""
        }
    ));
    Ok(())
}

/// `--follow` (SPEC §13): one batch per interval in which a file changed, each under the
/// write lock (waited for), until SIGINT/SIGTERM. A batch that loaded lines prints its
/// summary line; a database failure is reported and retried at the next interval.
fn follow(
    global: &GlobalArgs,
    args: &Args,
    agents: &crate::source::queue_log::agent_map::AgentMap,
    limits: Limits,
    state_map: &crate::aggregate::categories::StateMap,
) -> anyhow::Result<()> {
    if args.files.iter().any(|f| f == "-") {
        return Err(crate::Error::usage(
            "--follow reads files, not stdin ('-'); expected queue_log file paths",
        )
        .into());
    }
    if args.interval < 1 {
        return Err(crate::Error::usage(format!(
            "--interval '{}s' is too short; expected at least 1s",
            args.interval
        ))
        .into());
    }
    let stop = super::global::stop_on_signals()?;
    let choice = global.zone_choice();
    let f = QueueLogFollow {
        url: &global.database_url,
        choice: &choice,
        files: &args.files,
        agents,
        limits,
        state_map,
        interval: std::time::Duration::from_secs(args.interval.unsigned_abs()),
    };
    let mut batch_started = std::time::Instant::now();
    follow_queue_log(&f, &stop, &mut |result| {
        match result {
            Ok(loaded) => {
                aggregate::note_other_reasons(global, &loaded.aggregated);
                print_notes(global, &loaded.summary);
                if loaded.summary.lines_read > 0 {
                    global.summary(summary_line(
                        &loaded.summary,
                        batch_started.elapsed().as_secs_f64(),
                    ));
                }
            }
            Err(e) => eprintln!("error: {e}; trying again at the next interval"),
        }
        batch_started = std::time::Instant::now();
    })?;
    Ok(())
}

/// The notes (`-v`), warnings and unmapped names of a load.
fn print_notes(global: &GlobalArgs, summary: &LoadSummary) {
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
}

/// The summary line of a load (or a dry run, or one batch of a follower).
fn summary_line(summary: &LoadSummary, secs: f64) -> String {
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
    format!(
        "{} read, {} loaded, {} rejected, {}, {}{extra} in {secs:.1}s",
        counts(summary.lines_read, "line"),
        summary.loaded,
        summary.rejected,
        counts(summary.calls, "call"),
        counts(summary.events, "agent event"),
    )
}
