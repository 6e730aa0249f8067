//! `apr aggregate [--from T] [--to T] [--rebuild]` (SPEC §5, §7.3): rebuilds hourly rows.
//! Bare, it rebuilds what loads touched since the last aggregation.

use clap::Args as ClapArgs;

use super::global::{GlobalArgs, SpanParser};
use crate::aggregate::categories::StateMap;
use crate::aggregate::{AggregateOptions, AggregateSummary, DEFAULT_MAX_CARRY, Scope, aggregate};
use crate::config::ZoneUse;
use crate::hours::{Zone, parse_instant};
use crate::ops::zone::resolve_zone;
use crate::plural::counts;
use crate::store::Store;

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
    let max_carry = args.max_carry;
    let state_map = global.settings.state_map()?;
    global.zone_choice().parse()?;
    let mut store = crate::ops::open::open_locked(&global.database_url)?;
    let usage = if args.rebuild {
        ZoneUse::Replace
    } else {
        ZoneUse::Write
    };
    let zone = resolve_zone(store.as_mut(), &global.zone_choice(), usage)?;
    let scope = if args.rebuild {
        Scope::All
    } else if args.from.is_some() || args.to.is_some() {
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
                args.to.unwrap_or_default(),
                args.from.unwrap_or_default()
            ))
            .into());
        }
        Scope::Between { from, to }
    } else {
        Scope::Dirty
    };
    let started = std::time::Instant::now();
    let summary = run_scope(store.as_mut(), zone, scope, max_carry, &state_map)?;
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

/// Aggregates `scope` with the configured state map (`APR_STATE_MAP`).
pub fn run_scope(
    store: &mut dyn Store,
    zone: Zone,
    scope: Scope,
    max_carry: i64,
    state_map: &StateMap,
) -> crate::Result<AggregateSummary> {
    let opts = AggregateOptions {
        scope,
        max_carry,
        state_map: state_map.clone(),
    };
    aggregate(store, zone, &opts)
}

/// Aggregates what a load just touched, with the default carry (used by the loading
/// commands after they commit).
pub fn after_load(
    store: &mut dyn Store,
    zone: Zone,
    state_map: &StateMap,
) -> crate::Result<AggregateSummary> {
    run_scope(store, zone, Scope::Dirty, DEFAULT_MAX_CARRY, state_map)
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
