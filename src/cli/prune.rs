//! `apr prune --before DATE [--yes]` (SPEC §12): after a typed `YES` (or `--yes` for cron),
//! deletes the raw data of the local days before DATE in batches and prints what it freed.

use std::io::IsTerminal;

use clap::Args as ClapArgs;

use super::global::{GlobalArgs, confirm_yes};
use crate::config::ZoneUse;
use crate::error::Error;
use crate::hours::{parse_date, parse_instant};
use crate::ops::open::open_locked;
use crate::ops::prune::{check_before, plan, preview, prune};
use crate::ops::zone::resolve_zone;
use crate::plural::counts;
use crate::store::maintenance::Conn;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Prune raw data of the local days before this date (YYYY-MM-DD)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub before: String,
    /// Skip the confirmation (for cron)
    #[arg(long)]
    pub yes: bool,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    parse_date(&args.before, "--before")?;
    let date = args.before.trim();
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "prune deletes raw data and needs confirmation: run it in a terminal and type YES, or pass --yes",
        )
        .into());
    }
    // An existing apr database only: prune never creates one (the read-only open says
    // why not, exit 2). The date is checked in its zone before the database is opened for
    // writing.
    let choice = global.zone_choice();
    let mut peek = global.open_read_only()?;
    let zone = resolve_zone(peek.as_mut(), &choice, ZoneUse::Read)?;
    check_before(
        parse_instant(zone, date, "--before")?,
        chrono::Utc::now().timestamp(),
        zone,
    )?;
    drop(peek);
    let mut store = open_locked(&global.database_url)?;
    let zone = resolve_zone(store.as_mut(), &choice, ZoneUse::Read)?;
    let before = parse_instant(zone, date, "--before")?;
    let plan = plan(store.as_mut(), before, chrono::Utc::now().timestamp(), zone)?;
    let mut conn = Conn::new(store.sql());
    let listing: Vec<String> = preview(&mut conn, &plan)?
        .iter()
        .map(|(what, n)| format!("{what}: {n}"))
        .collect();
    if !(args.yes && global.quiet) {
        eprintln!(
            "prune deletes the raw data of {} before {date} ({}), keeping agent_activity, users_calls and queue_calls \
             (agent events of the day before it stay: the next hours carry states from them):\n  {}",
            conn.shown(),
            zone.name(),
            listing.join("\n  ")
        );
    }
    if !args.yes && !confirm_yes() {
        global.note("aborted: nothing was changed");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let free_before = conn.sqlite_free_bytes()?;
    let freed = prune(&mut conn, &plan, &mut |_, _| {})?;
    let free_after = conn.sqlite_free_bytes()?;
    let rows: Vec<String> = freed
        .rows
        .iter()
        .map(|(what, n)| format!("{what} {n}"))
        .collect();
    let file = match (free_before, free_after) {
        (Some(a), Some(b)) => format!(
            "; {:.1} MiB of the SQLite file is now free for new data (VACUUM returns it to the file system)",
            b.saturating_sub(a) as f64 / 1_048_576.0
        ),
        _ => String::new(),
    };
    global.summary(format_args!(
        "pruned before {date}: {}; {:.1} MiB of event_details; {} in {:.1}s{file}",
        rows.join(", "),
        freed.details_bytes as f64 / 1_048_576.0,
        counts(freed.batches, "transaction"),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
