//! An agent's state stints (SPEC §13, `apr report --kind states`): the runs of one effective
//! state (and not-available reason) walked from the stored events exactly as aggregation
//! walks them into hourly rows (the same carry, data until and qualifying hours), so the
//! stints of an agent's hours sum to those rows' seconds, bucket by bucket. Consecutive runs
//! of the same state and reason across hour boundaries are one stint.

use std::collections::{BTreeMap, HashMap};

use super::DEFAULT_MAX_CARRY;
use super::buckets::{Run, TimedEvent, agent_runs};
use super::categories::{Category, StateMap};
use super::timeline::{Effective, EventKind};
use super::until::{DataUntil, Sources};
use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::model::state::{PRUNED_BEFORE, QUEUE_LOG_MAX_CARRY};
use crate::store::Store;

/// One stint of one agent: `[start, end)` in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateStint {
    pub ext: String,
    pub name: String,
    /// `idle`, `on_call`, `hold`, `wrap_up`, `not_avail`, `logged_off` or `unaccounted`.
    pub state: &'static str,
    /// The not-available reason as the platform or queue_log named it; empty otherwise.
    pub reason: String,
    pub start: i64,
    pub end: i64,
}

/// The name of an effective state in the stint list (as `agent_live` names them).
pub fn state_name(e: Effective) -> &'static str {
    match e {
        Effective::Hold => "hold",
        Effective::OnCall => "on_call",
        Effective::WrapUp => "wrap_up",
        Effective::NotAvail(Category::Logoff) | Effective::Offline => "logged_off",
        Effective::NotAvail(_) => "not_avail",
        Effective::Idle => "idle",
        Effective::Unaccounted => "unaccounted",
    }
}

/// One agent's events as the walk needs them.
#[derive(Default)]
struct Agent {
    timeline: Vec<TimedEvent>,
    reasons: Vec<String>,
    sources: Sources,
}

/// Streams the stints within `[from, to)` (clipped to it) of the agents `exts` names (all
/// when empty), by extension then time. Refuses a range whose events were pruned.
pub fn state_stints(
    store: &mut dyn Store,
    zone: Zone,
    from: i64,
    to: i64,
    exts: &[String],
    state_map: &StateMap,
    each: &mut dyn FnMut(StateStint) -> Result<()>,
) -> Result<()> {
    let until = DataUntil::read(store)?;
    let hours = zone.hours(from, to);
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(());
    };
    if until.newest().is_none() {
        return Ok(());
    }
    let queue_log_carry = QUEUE_LOG_MAX_CARRY
        .decode(store.state(QUEUE_LOG_MAX_CARRY.name())?.as_deref())?
        .unwrap_or(DEFAULT_MAX_CARRY);
    let reach = DEFAULT_MAX_CARRY.max(queue_log_carry);
    if let Some(before) = store.instant(PRUNED_BEFORE)? {
        // `apr prune` keeps a day of events before its boundary; the walk needs `reach`.
        let kept_from = before - DEFAULT_MAX_CARRY;
        if first.start < before || first.start - reach < kept_from {
            let at = |t: i64| zone.local(t).format("%Y-%m-%d %H:%M").to_string();
            return Err(Error::usage(format!(
                "raw events before {} ({}) were pruned (apr prune), and the state stints from {} \
                 are walked from them; expected a range from {} on",
                at(before),
                zone.name(),
                at(first.start),
                at((kept_from + reach).max(before)),
            )));
        }
    }

    let mut agents: BTreeMap<String, Agent> = BTreeMap::new();
    let mut categories: HashMap<String, Category> = HashMap::new();
    store.scan_events(first.start - reach, last.end, &mut |e| {
        if !exts.is_empty() && !exts.contains(&e.ext) {
            return;
        }
        let kind = e.event.kind();
        let category = if kind == EventKind::NotAvail {
            *categories
                .entry(e.state.clone())
                .or_insert_with(|| state_map.classify(&e.state))
        } else {
            Category::Other
        };
        let agent = agents.entry(e.ext).or_default();
        agent.sources.add(e.source);
        agent.timeline.push(TimedEvent {
            ts: e.ts,
            kind,
            enabled: e.enabled,
            category,
        });
        agent.reasons.push(e.state);
    })?;
    let mut calls: HashMap<(String, i64), i64> = HashMap::new();
    for c in store.hour_calls(first.start, last.end)? {
        if !exts.is_empty() && !exts.contains(&c.ext) {
            continue;
        }
        if c.total_calls > 0 {
            agents
                .entry(c.ext.clone())
                .or_default()
                .sources
                .add(c.source);
        }
        calls.insert((c.ext, c.hour_start), c.total_calls);
    }
    let names = store.agent_names()?;

    for (ext, agent) in &agents {
        let Some(data_until) = until.of(agent.sources) else {
            continue;
        };
        let carry = if agent.sources.queue_log {
            queue_log_carry
        } else {
            DEFAULT_MAX_CARRY
        };
        let has_calls = |hour: i64| {
            calls
                .get(&(ext.clone(), hour))
                .is_some_and(|total| *total > 0)
        };
        let runs = agent_runs(&agent.timeline, &hours, data_until, carry, &has_calls);
        let name = names.get(ext).cloned().unwrap_or_else(|| "Unknown".into());
        let mut open: Option<StateStint> = None;
        for run in runs {
            let (start, end) = (run.start.max(from), run.end.min(to));
            if end <= start {
                continue;
            }
            let (state, reason) = label(&run, &agent.reasons);
            match open.as_mut() {
                Some(s) if s.end == start && s.state == state && s.reason == reason => {
                    s.end = end;
                }
                _ => {
                    if let Some(done) = open.take() {
                        each(done)?;
                    }
                    open = Some(StateStint {
                        ext: ext.clone(),
                        name: name.clone(),
                        state,
                        reason: reason.to_string(),
                        start,
                        end,
                    });
                }
            }
        }
        if let Some(done) = open {
            each(done)?;
        }
    }
    Ok(())
}

/// A run's state name and reason (the reason only for a not-available state).
fn label<'a>(run: &Run, reasons: &'a [String]) -> (&'static str, &'a str) {
    let reason = match run.state {
        Effective::NotAvail(_) => run.not_avail.map_or("", |i| reasons[i].trim()),
        _ => "",
    };
    (state_name(run.state), reason)
}
