//! `apr aggregate [--from T] [--to T] [--rebuild]` (SPEC §5, §7.3): rebuilds hourly rows.
//! Bare, it rebuilds what loads touched since the last aggregation.

use clap::Args as ClapArgs;

use super::global::{GlobalArgs, SpanParser};
use crate::aggregate::{AggregateSummary, Scope};
use crate::config::ZoneUse;
use crate::hours::{Zone, parse_instant};
use crate::ops;
use crate::ops::zone::{resolve_zone, zone_for};
use crate::plural::counts;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// First instant to rebuild (local YYYY-MM-DD[ HH:MM], RFC 3339 or epoch seconds)
    #[arg(long, value_name = "T")]
    pub from: Option<String>,
    /// Instant to rebuild up to, exclusive
    #[arg(long, value_name = "T")]
    pub to: Option<String>,
    /// Rebuild every hour of the stored data (with --timezone: switch the report zone)
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub rebuild: bool,
    /// How far back the state carried into an hour is looked for
    #[arg(long, default_value = "24h", value_name = "SPAN", value_parser = SpanParser("--max-carry"))]
    pub max_carry: i64,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let state_map = global.settings.state_map()?;
    let choice = global.zone_choice();
    choice.parse()?;
    let usage = if args.rebuild {
        ZoneUse::Replace
    } else {
        ZoneUse::Write
    };
    // Every argument is checked before the database is opened for writing (SPEC §9): the
    // instants are read in the zone of the database as it stands, peeked read-only.
    let mut peek = crate::store::peek(&global.database_url)?;
    let zone = zone_for(
        peek.as_mut()
            .map(|s| s.as_mut() as &mut dyn crate::store::Store),
        &choice,
        usage,
    )?;
    drop(peek);
    scope(&args, zone)?;
    let mut store = ops::open::open_locked(&global.database_url)?;
    // Under the lock the zone is settled (and recorded on first use); the instants are
    // read in it, in case another run recorded one since the peek.
    let zone = resolve_zone(store.as_mut(), &choice, usage)?;
    let scope = scope(&args, zone)?;
    let started = std::time::Instant::now();
    let summary = ops::aggregate::run(store.as_mut(), zone, scope, args.max_carry, &state_map)?;
    tracing::info!(
        "aggregated {}: {} for {} in {:.2}s",
        counts(summary.hours, "hour"),
        counts(summary.rows, "row"),
        counts(summary.agents, "agent"),
        started.elapsed().as_secs_f64()
    );
    note_other_reasons(global, &summary);
    Ok(())
}

/// The hours the arguments name, with `--from`/`--to` read in `zone`.
fn scope(args: &Args, zone: Zone) -> crate::Result<Scope> {
    if args.rebuild {
        return Ok(Scope::All);
    }
    if args.from.is_none() && args.to.is_none() {
        return Ok(Scope::Dirty);
    }
    let from = args
        .from
        .as_deref()
        .map(|s| parse_instant(zone, s, "--from"))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|s| parse_instant(zone, s, "--to"))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        return Err(crate::Error::usage(format!(
            "--to '{}' is not after --from '{}'; expected a later instant",
            args.to.as_deref().unwrap_or_default(),
            args.from.as_deref().unwrap_or_default()
        )));
    }
    Ok(Scope::Between { from, to })
}

/// Lists, once, the not-available reasons that fell into Other, so ops can map them.
pub fn note_other_reasons(global: &GlobalArgs, summary: &AggregateSummary) {
    if summary.other_reasons.is_empty() {
        return;
    }
    let list: Vec<String> = summary
        .other_reasons
        .iter()
        .map(|(reason, n)| format!("'{reason}' ({n})"))
        .collect();
    global.note(format_args!(
        "not-available reasons counted as Other NPT: {}; map them with APR_STATE_MAP (see examples/state-map.toml)",
        list.join(", ")
    ));
}
