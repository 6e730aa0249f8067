//! The batch engine of an aggregation: the hours to rebuild go in batches of
//! [`HOURS_PER_BATCH`], each read (events from its carry window on, calls of its hours),
//! turned into rows in memory and written in one transaction. The carry window a batch needs
//! from before its start (§5.1, `--max-carry`) is kept from the batch before rather than read
//! again, and where the database allows a second connection the next batch is read on it
//! while this one writes.

use std::collections::{BTreeMap, HashMap};

use super::buckets::{TimedEvent, agent_hours};
use super::categories::{Category, StateMap};
use super::live::{Step, live_state};
use super::timeline::EventKind;
use super::until::{DataUntil, Sources};
use crate::error::Result;
use crate::hours::{HourBucket, Zone};
use crate::model::live::LiveAgent;
use crate::model::{
    ActivityRow, EventSource, EventType, HourCalls, HourFigures, StoredEvent, details,
};
use crate::store::Store;

/// Hours per write transaction. The carry window is kept between batches, so a smaller batch
/// reads nothing twice; six hours bound memory to the carry window's events plus six hours
/// of rows (a day of the reference center's rows with their drill-down is ~70 MB).
pub(super) const HOURS_PER_BATCH: usize = 6;

/// What every batch of one aggregation shares.
pub(super) struct Batches<'a> {
    pub zone: Zone,
    /// The carry of agents whose data does not come from queue_log.
    pub max_carry: i64,
    /// The carry of agents whose data comes from queue_log (`parse-queue-log --max-carry`).
    pub queue_log_carry: i64,
    pub state_map: &'a StateMap,
    pub until: DataUntil,
}

impl Batches<'_> {
    /// How far before a batch any agent's carry reaches.
    fn reach(&self) -> i64 {
        self.max_carry.max(self.queue_log_carry)
    }
}

/// What a rebuild noticed beside its rows, by how many times it happened.
#[derive(Debug, Default)]
pub(super) struct Noted {
    /// Not-available reasons that fell into Other (their starts).
    pub other_reasons: BTreeMap<String, u64>,
    /// Events that do not change the timeline (`agent_reg` start, unknown types), by type.
    pub ignored_events: BTreeMap<String, u64>,
}

/// Rebuilds `hours` (non-empty, in order) batch by batch; `on_batch` hears each batch's
/// hours and rows once written. The last batch's transaction also writes `clear` to
/// `etl_state`.
pub(super) fn rebuild(
    store: &mut dyn Store,
    shared: &Batches<'_>,
    hours: &[HourBucket],
    clear: &[(String, String)],
    on_batch: &mut dyn FnMut(&[HourBucket], &[ActivityRow]),
) -> Result<Noted> {
    let names = store.agent_names()?;
    let mut noted = Noted::default();
    let batches: Vec<&[HourBucket]> = hours.chunks(HOURS_PER_BATCH).collect();
    let reads = plan_reads(&batches, shared.reach());
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
            let rows =
                aggregate_batch(&mut window, shared, batch, read, input, &names, &mut noted)?;
            let last = i + 1 == batches.len();
            let end = batch[batch.len() - 1].end;
            // The batch that reaches the newest data also rewrites the floor now, in its
            // transaction: a kill leaves both as of the same aggregation.
            let live = (last && shared.until.newest().is_some_and(|u| u < end))
                .then(|| floor_now(&window, shared, &names));
            store.replace_activity_and_live(
                batch[0].start,
                end,
                &rows,
                if last { clear } else { &[] },
                live.as_deref(),
            )?;
            on_batch(batch, &rows);
        }
        Ok(())
    })?;
    Ok(noted)
}

/// Each agent's state now (see [`super::live`]), from the events `window` holds after the
/// batch that reaches the newest data: those within the agent's carry before the hour of its
/// source's data until, up to that instant.
fn floor_now(
    window: &Window,
    shared: &Batches<'_>,
    names: &HashMap<String, String>,
) -> Vec<LiveAgent> {
    let mut out = Vec::new();
    for (ext, agent) in &window.agents {
        let Some(until) = shared.until.of(agent.sources) else {
            continue;
        };
        let carry = if agent.sources.queue_log {
            shared.queue_log_carry
        } else {
            shared.max_carry
        };
        let from = shared.zone.hour_containing(until).start - carry;
        let steps = agent
            .timeline
            .iter()
            .zip(&agent.labels)
            .filter(|(e, _)| from < e.ts && e.ts <= until)
            .map(|(e, (_, state_id, _))| Step {
                ts: e.ts,
                kind: e.kind,
                enabled: e.enabled,
                category: e.category,
                reason: &window.strings.values[*state_id as usize],
            });
        if let Some((state, reason, since)) = live_state(steps) {
            out.push(LiveAgent {
                ext: ext.clone(),
                name: names.get(ext).cloned().unwrap_or_else(|| "Unknown".into()),
                source: if agent.sources.api {
                    "api"
                } else {
                    "queue_log"
                }
                .into(),
                state: state.into(),
                reason,
                since,
                as_of: until,
                day_start: shared.zone.day_start(until),
                today: Default::default(),
            });
        }
    }
    out.sort_by(|a, b| a.ext.cmp(&b.ext));
    out
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

/// The rows of one batch's hours, from the events kept in `window` and the batch's input.
fn aggregate_batch(
    window: &mut Window,
    shared: &Batches<'_>,
    batch: &[HourBucket],
    read: &BatchRead,
    input: BatchInput,
    names: &HashMap<String, String>,
    noted: &mut Noted,
) -> Result<Vec<ActivityRow>> {
    let Batches {
        zone,
        max_carry,
        queue_log_carry,
        state_map,
        until,
    } = *shared;
    window.keep_after(read.start - shared.reach());
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
                .or_insert_with(|| state_map.classify(&strings.values[state_id as usize]))
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
        let carry = if agent.sources.queue_log {
            queue_log_carry
        } else {
            max_carry
        };
        for h in agent_hours(&agent.timeline, batch, data_until, carry, &has_calls) {
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
                        *noted.other_reasons.entry(state.to_string()).or_default() += 1;
                    }
                    EventKind::Unknown => {
                        *noted.ignored_events.entry(event.to_string()).or_default() += 1;
                    }
                    EventKind::Reg if e.enabled => {
                        *noted
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
    use crate::aggregate::DEFAULT_MAX_CARRY;

    const H: i64 = 3600;

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
}
