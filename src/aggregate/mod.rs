//! Aggregation (SPEC §5): the stored timeline and call counts → one `agent_activity` row per
//! agent and local hour. Events are read once, in `(ts, id)` order, a batch of hours at a
//! time, and grouped per agent in memory; the carry window a batch needs from before its
//! start (§5.1, `--max-carry`) is kept from the batch before rather than read again. Each
//! batch of hours is written in one transaction that replaces the batch's rows, so
//! re-running changes nothing.

pub mod buckets;
pub mod categories;
pub mod timeline;

use std::collections::{BTreeMap, HashMap};

use crate::error::Result;
use crate::hours::{HourBucket, Zone};
use crate::model::state::{self, DATA_UNTIL_KEYS};
use crate::model::{
    ActivityRow, EventSource, EventType, HourCalls, HourFigures, StoredEvent, details,
};
use crate::store::Store;
use buckets::{TimedEvent, agent_hours};
use categories::{Category, StateMap};
use timeline::EventKind;

/// Hours per write transaction. The carry window is kept between batches, so a smaller batch
/// reads nothing twice; six hours bound memory to the carry window's events plus six hours
/// of rows (a day of the reference center's rows with their drill-down is ~70 MB).
const HOURS_PER_BATCH: usize = 6;

/// Default `--max-carry`: how far back the state carried into an hour is looked for.
pub const DEFAULT_MAX_CARRY: i64 = 24 * 3600;

/// The longest range one aggregation walks: 1,830 days (five years of hours). Loads reject
/// far-away timestamps, so only a database written before that guard, or an explicit range
/// that long, gets here; refusing costs one line, walking it cost gigabytes (issue 15.2).
/// Longer histories are rebuilt in pieces with `--from`/`--to`.
pub const MAX_RANGE_SECS: i64 = 1_830 * 86_400;

/// Which hours to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Hours touched by loads since the last aggregation, plus the hours after them whose
    /// carried state may have changed (§5.4).
    Dirty,
    /// Every hour from the earliest stored data to the newest.
    All,
    /// Hours overlapping `[from, to)`; open ends default to the stored data's.
    Between { from: Option<i64>, to: Option<i64> },
}

/// What to aggregate and how.
#[derive(Debug, Clone)]
pub struct AggregateOptions {
    pub scope: Scope,
    pub max_carry: i64,
    pub state_map: StateMap,
}

/// What an aggregation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateSummary {
    /// Local hours rebuilt.
    pub hours: u64,
    /// Local hours that got at least one row.
    pub hours_with_rows: u64,
    /// Rows written.
    pub rows: u64,
    /// Distinct agents with at least one row.
    pub agents: u64,
    /// The rebuilt range `[from, to)`, when any.
    pub range: Option<(i64, i64)>,
    /// Not-available reasons that fell into Other, with how many times they started.
    pub other_reasons: BTreeMap<String, u64>,
    /// Events that do not change the timeline (`agent_reg` start, unknown types), by type.
    pub ignored_events: BTreeMap<String, u64>,
}

/// Each source's "data until" (SPEC §9): an agent's hour in progress is covered up to the
/// data until of the sources its data comes from, never another source's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataUntil {
    api: Option<i64>,
    queue_log: Option<i64>,
}

impl DataUntil {
    pub fn read(store: &mut dyn Store) -> Result<DataUntil> {
        let mut out = DataUntil::default();
        for (source, key) in DATA_UNTIL_KEYS {
            *out.slot(source) = store.instant(key)?;
        }
        Ok(out)
    }

    fn slot(&mut self, source: EventSource) -> &mut Option<i64> {
        match source {
            EventSource::Api => &mut self.api,
            EventSource::QueueLog => &mut self.queue_log,
        }
    }

    /// The newest instant any source speaks for.
    pub fn newest(self) -> Option<i64> {
        self.api.max(self.queue_log)
    }

    /// The data until of an agent whose data comes from `sources` (the newest of theirs);
    /// the newest of all when none of its sources has one.
    pub fn of(self, sources: Sources) -> Option<i64> {
        let mut until = None;
        if sources.api {
            until = until.max(self.api);
        }
        if sources.queue_log {
            until = until.max(self.queue_log);
        }
        until.or(self.newest())
    }
}

/// Which sources an agent's data in a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sources {
    pub api: bool,
    pub queue_log: bool,
}

impl Sources {
    fn add(&mut self, source: EventSource) {
        match source {
            EventSource::Api => self.api = true,
            EventSource::QueueLog => self.queue_log = true,
        }
    }
}

/// Rebuilds the hours named by `opts.scope` in `zone`.
pub fn aggregate(
    store: &mut dyn Store,
    zone: Zone,
    opts: &AggregateOptions,
) -> Result<AggregateSummary> {
    let mut summary = AggregateSummary::default();
    let until = DataUntil::read(store)?;
    let Some(data_until) = until.newest() else {
        return Ok(summary);
    };
    let clears_dirty = matches!(opts.scope, Scope::Dirty | Scope::All);
    let range = match opts.scope {
        Scope::Dirty => match (
            store.instant(state::DIRTY_FROM)?,
            store.instant(state::DIRTY_TO)?,
        ) {
            (Some(from), Some(to)) => Some((from, (to + opts.max_carry).min(data_until))),
            _ => None,
        },
        Scope::All => store.earliest_data()?.map(|from| (from, data_until)),
        Scope::Between { from, to } => {
            let from = match from {
                Some(f) => Some(f),
                None => store.earliest_data()?,
            };
            from.map(|f| (f, to.unwrap_or(data_until)))
        }
    };
    if let Some((from, _)) = range {
        crate::prune::check_not_pruned(store, zone, from, opts.max_carry)?;
    }
    if let Some((from, to)) = range
        && to.saturating_sub(from) > MAX_RANGE_SECS
    {
        return Err(too_long(opts.scope, from, to));
    }
    let clear: Vec<(String, String)> = if clears_dirty {
        vec![
            (state::DIRTY_FROM.name().to_string(), String::new()),
            (state::DIRTY_TO.name().to_string(), String::new()),
        ]
    } else {
        Vec::new()
    };
    let hours = match range {
        Some((from, to)) => zone.hours(from, to.max(from + 1)),
        None => Vec::new(),
    };
    if hours.is_empty() {
        for (k, v) in &clear {
            store.set_state(k, v)?;
        }
        return Ok(summary);
    }
    summary.range = Some((hours[0].start, hours[hours.len() - 1].end));
    let names = store.agent_names()?;
    let mut agents_seen = std::collections::HashSet::new();
    let mut hours_seen = std::collections::HashSet::new();
    let batches: Vec<&[HourBucket]> = hours.chunks(HOURS_PER_BATCH).collect();
    let reads = plan_reads(&batches, opts.max_carry);
    // The next batch is read on a second connection while this one writes the last
    // (reading and writing each take about half of a rebuild on MariaDB); where the
    // database allows no second connection, each batch is read in turn.
    let reader = store.reader()?;
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<BatchInput>>(1);
        let ahead = reader.map(|mut reader| {
            let reads = &reads;
            scope.spawn(move || {
                for read in reads {
                    let input = read_batch(reader.as_mut(), read);
                    let failed = input.is_err();
                    // A closed channel: the writer stopped (on an error of its own).
                    if tx.send(input).is_err() || failed {
                        break;
                    }
                }
            })
        });
        let mut window = Window::default();
        for (i, (batch, read)) in batches.iter().zip(&reads).enumerate() {
            let input = match &ahead {
                Some(_) => rx
                    .recv()
                    .expect("the reader sends one input per batch or an error")?,
                None => read_batch(store, read)?,
            };
            let rows = aggregate_batch(
                &mut window,
                zone,
                opts,
                batch,
                read,
                input,
                until,
                &names,
                &mut summary,
            )?;
            summary.hours += batch.len() as u64;
            summary.rows += rows.len() as u64;
            agents_seen.extend(rows.iter().map(|r| r.agent_ext.clone()));
            hours_seen.extend(rows.iter().map(|r| r.report_hour));
            let last = i + 1 == batches.len();
            store.replace_activity(
                batch[0].start,
                batch[batch.len() - 1].end,
                &rows,
                if last { &clear } else { &[] },
            )?;
        }
        Ok(())
    })?;
    summary.agents = agents_seen.len() as u64;
    summary.hours_with_rows = hours_seen.len() as u64;
    Ok(summary)
}

/// The one-line refusal of a range longer than [`MAX_RANGE_SECS`].
fn too_long(scope: Scope, from: i64, to: i64) -> crate::Error {
    let day = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| format!("epoch {t}"))
    };
    let span = format!(
        "the hours to aggregate run from {} to {}, longer than the {} days one run walks",
        day(from),
        day(to),
        MAX_RANGE_SECS / 86_400
    );
    match scope {
        Scope::Between { .. } => {
            crate::Error::usage(format!("{span}; expected a shorter --from/--to range"))
        }
        _ => crate::Error::input(format!(
            "{span}: the stored data holds a far-away timestamp (loaded before apr bounded them); \
             delete that row, or rebuild in pieces with 'apr aggregate --from T --to T'"
        )),
    }
}

/// Interned event type and state strings, so a day of events stays compact in memory.
#[derive(Default)]
struct Strings {
    index: HashMap<String, u32>,
    values: Vec<String>,
}

impl Strings {
    fn intern(&mut self, s: String) -> u32 {
        if let Some(&i) = self.index.get(&s) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(s.clone());
        self.index.insert(s, i);
        i
    }

    /// An event type's text, interned; a known type's text is copied only the first time.
    fn intern_type(&mut self, event: EventType) -> u32 {
        match event {
            EventType::Unknown(text) => self.intern(text),
            known => match self.index.get(known.as_str()) {
                Some(&i) => i,
                None => self.intern(known.as_str().to_string()),
            },
        }
    }
}

/// One agent's events in a batch: the timeline input, and the strings for drill-down.
#[derive(Default)]
struct AgentEvents {
    timeline: Vec<TimedEvent>,
    /// (event type, state) string ids and the source, parallel to `timeline`.
    labels: Vec<(u32, u32, EventSource)>,
    /// The sources of the agent's events and calls.
    sources: Sources,
}

/// The events read so far, per agent, from the start of the current batch's carry window:
/// what the next batch needs from before its start stays here instead of being read again.
#[derive(Default)]
struct Window {
    strings: Strings,
    /// Category per interned reason, computed once.
    categories: HashMap<u32, Category>,
    agents: HashMap<String, AgentEvents>,
}

impl Window {
    /// Drops the events at or before `after` (outside the next batch's carry window) and the
    /// agents left without events; the sources are those of the events kept.
    fn keep_after(&mut self, after: i64) {
        self.agents.retain(|_, agent| {
            let cut = agent.timeline.partition_point(|e| e.ts <= after);
            agent.timeline.drain(..cut);
            agent.labels.drain(..cut);
            agent.sources = Sources::default();
            for (_, _, source) in &agent.labels {
                agent.sources.add(*source);
            }
            !agent.timeline.is_empty()
        });
    }
}

/// What one batch reads: events with `after < ts < end`, and the calls of `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchRead {
    after: i64,
    start: i64,
    end: i64,
    /// The events kept from the batch before do not reach back to this batch's carry
    /// window: the window starts anew from `after`.
    fresh: bool,
}

/// The reads of every batch, in order. The carry window a batch needs from before its start
/// (§5.1) is kept from the batch before, so a batch reads only what the window does not hold
/// yet; known up front, so that a reader can run ahead of the aggregation.
fn plan_reads(batches: &[&[HourBucket]], max_carry: i64) -> Vec<BatchRead> {
    let mut read_until: Option<i64> = None;
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let start = batch[0].start;
        let end = batch[batch.len() - 1].end;
        let carry_from = start - max_carry;
        // `scan_events` excludes both ends.
        let (after, fresh) = match read_until {
            Some(read) if read > carry_from => (read - 1, false),
            _ => (carry_from, true),
        };
        out.push(BatchRead {
            after,
            start,
            end,
            fresh,
        });
        read_until = Some(end);
    }
    out
}

/// What a batch reads from the store.
struct BatchInput {
    events: Vec<StoredEvent>,
    calls: Vec<HourCalls>,
}

fn read_batch(store: &mut dyn Store, read: &BatchRead) -> Result<BatchInput> {
    let mut events = Vec::new();
    store.scan_events(read.after, read.end, &mut |e| events.push(e))?;
    let calls = store.hour_calls(read.start, read.end)?;
    Ok(BatchInput { events, calls })
}

#[allow(clippy::too_many_arguments)]
fn aggregate_batch(
    window: &mut Window,
    zone: Zone,
    opts: &AggregateOptions,
    batch: &[HourBucket],
    read: &BatchRead,
    input: BatchInput,
    until: DataUntil,
    names: &HashMap<String, String>,
    summary: &mut AggregateSummary,
) -> Result<Vec<ActivityRow>> {
    window.keep_after(read.start - opts.max_carry);
    if read.fresh {
        window.agents.clear();
    }
    let Window {
        strings,
        categories,
        agents,
        ..
    } = window;
    for e in input.events {
        let kind = e.event.kind();
        let event_id = strings.intern_type(e.event);
        let state_id = strings.intern(e.state);
        let category = if kind == EventKind::NotAvail {
            *categories
                .entry(state_id)
                .or_insert_with(|| opts.state_map.classify(&strings.values[state_id as usize]))
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
        agent.labels.push((event_id, state_id, e.source));
    }

    let mut calls: HashMap<(String, i64), (i64, i64)> = HashMap::new();
    for c in input.calls {
        if c.total_calls > 0 {
            agents
                .entry(c.ext.clone())
                .or_default()
                .sources
                .add(c.source);
        }
        calls.insert((c.ext, c.hour_start), (c.total_calls, c.answered_calls));
    }

    let mut exts: Vec<&String> = agents.keys().collect();
    exts.sort();
    let mut rows = Vec::new();
    for ext in exts {
        let agent = &agents[ext];
        let has_calls = |hour: i64| {
            calls
                .get(&(ext.clone(), hour))
                .is_some_and(|(total, _)| *total > 0)
        };
        let name = names.get(ext).cloned().unwrap_or_else(|| "Unknown".into());
        let Some(data_until) = until.of(agent.sources) else {
            continue;
        };
        for h in agent_hours(
            &agent.timeline,
            batch,
            data_until,
            opts.max_carry,
            &has_calls,
        ) {
            let (total, answered) = calls
                .get(&(ext.clone(), h.hour.start))
                .copied()
                .unwrap_or((0, 0));
            let mut events = Vec::with_capacity(h.events.len());
            for i in h.events.clone() {
                let e = &agent.timeline[i];
                let (event_id, state_id, _) = agent.labels[i];
                let event = strings.values[event_id as usize].as_str();
                let state = strings.values[state_id as usize].as_str();
                match e.kind {
                    EventKind::NotAvail if e.enabled && e.category == Category::Other => {
                        *summary.other_reasons.entry(state.to_string()).or_default() += 1;
                    }
                    EventKind::Unknown => {
                        *summary.ignored_events.entry(event.to_string()).or_default() += 1;
                    }
                    EventKind::Reg if e.enabled => {
                        *summary
                            .ignored_events
                            .entry(format!("{event} (enabled)"))
                            .or_default() += 1;
                    }
                    _ => {}
                }
                events.push((e.ts, event, e.enabled, state));
            }
            rows.push(ActivityRow {
                agent_ext: ext.clone(),
                report_hour: h.hour.start,
                report_hour_local: zone.hour_label(h.hour.start),
                agent_name: name.clone(),
                figures: HourFigures {
                    buckets: h.buckets,
                    idle_count: h.idle_count,
                    notavail_count: h.notavail_count,
                    total_calls: total,
                    answered_calls: answered,
                    failed_calls: (total - answered).max(0),
                    covered_secs: h.covered_secs,
                },
                complete: h.complete,
                event_details: details::encode(h.hour.start, events),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AgentEvent, CallStats, HourStats};
    use crate::store::LoadBatch;
    use crate::store::sqlite::SqliteStore;

    const H: i64 = 3600;

    fn ev(ext: &str, ts: i64, event: &str, enabled: bool, state: &str) -> AgentEvent {
        AgentEvent {
            ext: ext.into(),
            ts,
            event: event.into(),
            enabled,
            state: state.into(),
            user_id: String::new(),
            username: format!("Agent {ext}"),
        }
    }

    fn opts(scope: Scope) -> AggregateOptions {
        AggregateOptions {
            scope,
            max_carry: DEFAULT_MAX_CARRY,
            state_map: StateMap::default(),
        }
    }

    fn rows(store: &mut SqliteStore) -> Vec<ActivityRow> {
        let mut out = Vec::new();
        let filter = crate::store::ActivityFilter {
            from_local: "0000".into(),
            to_local: "9999".into(),
            exts: vec![],
        };
        store
            .scan_activity(&filter, &mut |r| {
                out.push(r);
                Ok(())
            })
            .unwrap();
        out
    }

    fn setup() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn loads_then_dirty_aggregation_builds_rows_with_calls_and_names() {
        let (_d, mut store) = setup();
        let events = [
            ev("7", 10 * H + 60, "agent_idle", true, "available"),
            ev("7", 10 * H + 600, "agent_on_call", true, "none"),
            ev("7", 10 * H + 600, "agent_idle", false, "none"),
            ev("7", 10 * H + 900, "agent_on_call", false, "none"),
            ev("7", 10 * H + 900, "agent_idle", true, "available"),
            ev("8", 10 * H + 100, "agent_not_avail_state", true, "Coaching"),
        ];
        let stats = [HourStats {
            hour_start: 10 * H,
            records: vec![
                CallStats {
                    ext: "7".into(),
                    name: "Seven".into(),
                    total_calls: 3,
                    answered_calls: 1,
                    ..Default::default()
                },
                CallStats {
                    ext: "9".into(),
                    total_calls: 2,
                    ..Default::default()
                },
            ],
        }];
        store
            .load(&LoadBatch {
                events: &events,
                stats: &stats,
                data_until: Some(11 * H + 1800),
                ..Default::default()
            })
            .unwrap();
        let s = aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        assert_eq!(s.other_reasons.get("Coaching"), Some(&1));
        let got = rows(&mut store);
        let keys: Vec<(&str, i64)> = got
            .iter()
            .map(|r| (r.agent_ext.as_str(), r.report_hour))
            .collect();
        // 9 had calls only in hour 10; 7 and 8 carry their states into hour 11.
        assert_eq!(
            keys,
            [
                ("7", 10 * H),
                ("8", 10 * H),
                ("9", 10 * H),
                ("7", 11 * H),
                ("8", 11 * H)
            ]
        );
        let seven = &got[0];
        assert_eq!(seven.agent_name, "Seven");
        assert_eq!(
            (
                seven.figures.total_calls,
                seven.figures.answered_calls,
                seven.figures.failed_calls
            ),
            (3, 1, 2)
        );
        assert_eq!(
            (seven.figures.buckets.talk, seven.figures.buckets.logoff),
            (300, 60)
        );
        assert_eq!(got[1].agent_name, "Agent 8");
        assert_eq!(got[2].agent_name, "Unknown");
        assert_eq!(got[2].figures.buckets.logoff, 3600);
        assert_eq!(
            (got[3].figures.covered_secs, got[3].complete),
            (1800, false)
        );
        assert!(
            got.iter()
                .all(|r| r.figures.buckets.total() == r.figures.covered_secs)
        );
        let details = details::decode(10 * H, &seven.event_details).unwrap();
        assert_eq!(details.len(), 5);
        assert_eq!(
            (details[1].ts, details[1].event.as_str()),
            (10 * H + 600, "agent_on_call")
        );
        assert!(
            seven
                .event_details
                .starts_with(r#"[[60,"idle",1,"available"],"#)
        );
        // The dirty range is consumed: a second bare run rebuilds nothing.
        let again = aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        assert_eq!(again.hours, 0);
        assert_eq!(rows(&mut store), got);
    }

    #[test]
    fn rebuilding_is_idempotent_and_drops_rows_that_no_longer_qualify() {
        let (_d, mut store) = setup();
        let events = [ev("7", 10 * H + 60, "agent_idle", true, "available")];
        store
            .load(&LoadBatch {
                events: &events,
                data_until: Some(12 * H),
                ..Default::default()
            })
            .unwrap();
        aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        let first = rows(&mut store);
        assert_eq!(first.len(), 2);
        aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        assert_eq!(rows(&mut store), first);
        // A shorter carry: hour 11 no longer carries the idle state and disappears.
        let mut short = opts(Scope::Between {
            from: Some(10 * H),
            to: Some(12 * H),
        });
        short.max_carry = 1800;
        aggregate(&mut store, Zone::UTC, &short).unwrap();
        assert_eq!(rows(&mut store).len(), 1);
    }

    #[test]
    fn late_events_reaggregate_the_hours_whose_carry_they_change() {
        let (_d, mut store) = setup();
        let first = [ev("7", 10 * H, "agent_idle", true, "available")];
        store
            .load(&LoadBatch {
                events: &first,
                data_until: Some(13 * H),
                ..Default::default()
            })
            .unwrap();
        aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        assert!(
            rows(&mut store)
                .iter()
                .all(|r| r.figures.buckets.idle == 3600)
        );
        // A late lunch at 10:30 changes hour 10 and the carry of hours 11 and 12.
        let late = [ev(
            "7",
            10 * H + 1800,
            "agent_not_avail_state",
            true,
            "lunch",
        )];
        store
            .load(&LoadBatch {
                events: &late,
                ..Default::default()
            })
            .unwrap();
        aggregate(&mut store, Zone::UTC, &opts(Scope::Dirty)).unwrap();
        let lunches: Vec<i64> = rows(&mut store)
            .iter()
            .map(|r| r.figures.buckets.lunch)
            .collect();
        assert_eq!(lunches, [1800, 3600, 3600]);
    }

    #[test]
    fn the_carry_kept_between_batches_equals_the_carry_read_from_the_store() {
        let (_d, mut store) = setup();
        // Three days: a lunch that starts late on day 1 and lasts into day 2, a call across
        // the second batch boundary, an agent silent on day 2 (its carry runs out), and
        // events exactly at batch starts.
        let day = 24 * H;
        let events = [
            ev("7", 20 * H, "agent_idle", true, "available"),
            ev("7", 23 * H + 1800, "agent_idle", false, "none"),
            ev("7", 23 * H + 1800, "agent_not_avail_state", true, "lunch"),
            ev("7", day + 2 * H, "agent_not_avail_state", false, "none"),
            ev("7", day + 2 * H, "agent_idle", true, "available"),
            ev("7", 2 * day - 60, "agent_on_call", true, "none"),
            ev("7", 2 * day + 600, "agent_on_call", false, "none"),
            ev("8", 3 * H, "agent_idle", true, "available"),
            ev("8", day, "agent_on_call", true, "none"),
            ev("8", day + 5, "agent_on_call", false, "none"),
            ev("8", 2 * day + 3 * H, "agent_hold", true, "none"),
        ];
        store
            .load(&LoadBatch {
                events: &events,
                data_until: Some(3 * day),
                ..Default::default()
            })
            .unwrap();
        let whole = aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        assert!(whole.hours > HOURS_PER_BATCH as u64 * 4, "several batches");
        let kept = rows(&mut store);
        // Each day alone: a fresh window that reads its carry from the store.
        for d in 0..3 {
            aggregate(
                &mut store,
                Zone::UTC,
                &opts(Scope::Between {
                    from: Some(d * day),
                    to: Some((d + 1) * day),
                }),
            )
            .unwrap();
        }
        assert_eq!(rows(&mut store), kept);
        let lunch: i64 = kept
            .iter()
            .filter(|r| r.agent_ext == "7")
            .map(|r| r.figures.buckets.lunch)
            .sum();
        assert_eq!(lunch, 1800 + 2 * 3600);
        assert!(
            kept.iter()
                .all(|r| r.figures.buckets.total() == r.figures.covered_secs)
        );
    }

    #[test]
    fn a_far_away_instant_in_stored_data_is_refused_not_walked() {
        let (_d, mut store) = setup();
        // Stored directly, as a database written before loads were bounded holds it.
        let events = [
            ev("7", 1_757_300_000, "agent_idle", true, "available"),
            ev("7", 1_757_300_000_000, "agent_idle", false, "none"),
        ];
        store
            .load(&LoadBatch {
                events: &events,
                data_until: Some(1_757_300_000_000),
                ..Default::default()
            })
            .unwrap();
        for scope in [Scope::Dirty, Scope::All] {
            let e = aggregate(&mut store, Zone::UTC, &opts(scope)).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.exit_code(), 2, "{msg}");
            assert!(
                !msg.contains('\n') && msg.contains("far-away timestamp"),
                "{msg}"
            );
        }
        let e = aggregate(
            &mut store,
            Zone::UTC,
            &opts(Scope::Between {
                from: Some(0),
                to: None,
            }),
        )
        .unwrap_err();
        assert!(e.to_string().contains("--from/--to"), "{e}");
        assert!(rows(&mut store).is_empty());
        // A range inside the limit still works.
        let s = aggregate(
            &mut store,
            Zone::UTC,
            &opts(Scope::Between {
                from: Some(1_757_300_000),
                to: Some(1_757_300_000 + 2 * H),
            }),
        )
        .unwrap();
        assert_eq!(s.hours, 3);
    }

    #[test]
    fn nothing_loaded_means_nothing_to_do() {
        let (_d, mut store) = setup();
        let s = aggregate(&mut store, Zone::UTC, &opts(Scope::All)).unwrap();
        assert_eq!(s, AggregateSummary::default());
    }

    #[test]
    fn batches_read_their_carry_once_and_start_anew_only_past_it() {
        let hours = Zone::UTC.hours(0, 24 * H);
        let batches: Vec<&[HourBucket]> = hours.chunks(HOURS_PER_BATCH).collect();
        let reads = plan_reads(&batches, DEFAULT_MAX_CARRY);
        assert_eq!(reads.len(), 4);
        assert_eq!(
            reads[0],
            BatchRead {
                after: -DEFAULT_MAX_CARRY,
                start: 0,
                end: 6 * H,
                fresh: true
            }
        );
        // Each later batch reads from where the one before stopped (both ends excluded).
        for (before, read) in reads.iter().zip(&reads[1..]) {
            assert_eq!(
                (read.after, read.start, read.fresh),
                (before.end - 1, before.end, false)
            );
            assert_eq!(read.end, read.start + 6 * H);
        }
        // No carry: each batch starts anew at its own start.
        let reads = plan_reads(&batches, 0);
        assert!(reads.iter().all(|r| r.fresh && r.after == r.start));
    }

    /// A scratch file (init-load's staging) allows no second connection, so its batches are
    /// read in turn instead of ahead on another thread: both give the same rows.
    #[test]
    fn reading_ahead_and_in_turn_give_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut shared = SqliteStore::open(&dir.path().join("shared.db")).unwrap();
        let mut scratch = SqliteStore::open_scratch(&dir.path().join("scratch.db")).unwrap();
        assert!(shared.reader().unwrap().is_some());
        assert!(scratch.reader().unwrap().is_none());
        let mut events = Vec::new();
        for i in 0..200i64 {
            let ext = format!("{}", 7 + i % 5);
            let (event, state) = match i % 4 {
                0 => ("agent_login", ""),
                1 => ("agent_idle", "available"),
                2 => ("agent_not_avail_state", "lunch"),
                _ => ("agent_on_call", "talking"),
            };
            events.push(ev(&ext, i * 1_013, event, true, state));
        }
        for store in [&mut shared, &mut scratch] {
            store
                .load(&LoadBatch {
                    events: &events,
                    data_until: Some(60 * H),
                    ..Default::default()
                })
                .unwrap();
            aggregate(store, Zone::UTC, &opts(Scope::All)).unwrap();
        }
        let ahead = rows(&mut shared);
        assert!(ahead.len() > 100, "{} rows", ahead.len());
        assert_eq!(ahead, rows(&mut scratch));
    }
}
