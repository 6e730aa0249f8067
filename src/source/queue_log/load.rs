//! Files → store: plans each file's reading from its cursor, parses chunks of lines, and
//! loads each chunk in one transaction with the derivation of its new lines, the advanced
//! cursor and the derivation state. A killed run leaves the database as of its last
//! committed chunk, and the next run continues from there, so the result is the same.
//! A dry run (`--dry-run`) reads, parses and derives the same way, and writes nothing.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::admit::{Parsed, parse_chunk, texts};
use super::agent_map::AgentMap;
use super::derive::{DeriveConfig, Derived, Deriver, DeriverState, TimelineEvent, hour_stats};
use super::parse::{EventKind, QueueLogLine, parse_line};
use super::reader::{Chunk, Segment, SegmentReader};
use super::ring::RingCache;
use super::rotation::{plan, rotation_order};
use crate::bounds::TimeBounds;
use crate::error::{Error, Result};
use crate::hours::{HourBucket, Zone};
use crate::model::queue::ChunkWrites;
use crate::model::state::{Cursor, Gap, QUEUE_LOG_DERIVE_STATE};
use crate::store::QueueStore;
use crate::store::retry::retried;
use crate::store::sqlite::is_disk_full;

/// Lines per transaction. A chunk holds about 1 KB per line while it is loaded; larger
/// chunks write shared index pages fewer times (200 k lines load about a third faster than
/// 50 k in `benches/queue_log.rs`), which matters only for a first backfill, so the default
/// favours small PBX hosts; `--chunk-lines` raises it.
pub const DEFAULT_CHUNK_LINES: u32 = 50_000;

/// Lines a file read from its start must show before none of them parsing makes it "not a
/// queue_log": fewer could be a queue_log whose first lines are damaged.
pub const NOT_A_QUEUE_LOG_LINES: usize = 5;

/// How to load.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub zone: Zone,
    pub max_call_secs: i64,
    pub chunk_lines: usize,
    /// Lines whose time falls outside are rejected with the reason (issue 15.2).
    pub bounds: TimeBounds,
}

/// Counts of a run (the summary line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Complete lines read.
    pub lines_read: u64,
    /// Lines stored that were not stored before (dry run: lines that parsed).
    pub loaded: u64,
    /// Lines rejected as unparseable.
    pub rejected: u64,
    /// Stints entered (`ENTERQUEUE` lines among the loaded ones).
    pub calls: u64,
    /// Agent events new in `agent_events`.
    pub events: u64,
    /// Empty lines skipped (not stored).
    pub empty: u64,
    /// Lines read without the NUL bytes an unclean shutdown left before them.
    pub repaired: u64,
    /// Why files were read from the start (rotation, truncation), for `-v`.
    pub notes: Vec<String>,
    /// Lines that could not be read (a rotated file that is gone), printed as warnings.
    pub warnings: Vec<String>,
    /// Agent names seen on call or pause lines that are neither channels nor in the agents
    /// file, and never on a membership or login line: apr cannot tell their extensions.
    pub unmapped_names: Vec<String>,
}

/// Progress after each chunk: bytes read of the current file and its size (when known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub lines: u64,
    pub bytes: u64,
    pub total_bytes: Option<u64>,
}

/// What the new lines of a chunk derive to.
struct ChunkDerived {
    out: Derived,
    ring_hours: BTreeSet<HourBucket>,
    data_until: Option<i64>,
    calls: u64,
}

/// Feeds a chunk's new lines to the deriver and flushes it.
fn derive_lines(
    deriver: &mut Deriver,
    lines: &[QueueLogLine<'_>],
    new: Option<&[bool]>,
    agents: &AgentMap,
    zone: Zone,
) -> ChunkDerived {
    let mut d = ChunkDerived {
        out: Derived::default(),
        ring_hours: BTreeSet::new(),
        data_until: None,
        calls: 0,
    };
    let mut last_hour: Option<HourBucket> = None;
    for (i, l) in lines.iter().enumerate() {
        if new.is_some_and(|n| !n[i]) {
            continue;
        }
        let kind = EventKind::of(l.event);
        deriver.feed_kind(l, kind, agents, &mut d.out);
        match kind {
            EventKind::EnterQueue => d.calls += 1,
            EventKind::Connect | EventKind::RingNoAnswer | EventKind::RingCanceled
                if !last_hour.is_some_and(|h: HourBucket| h.start <= l.time && l.time < h.end) =>
            {
                let h = zone.hour_containing(l.time);
                d.ring_hours.insert(h);
                last_hour = Some(h);
            }
            _ => {}
        }
        d.data_until = Some(d.data_until.map_or(l.time, |u| u.max(l.time)));
    }
    deriver.flush(&mut d.out);
    d
}

/// Derives the writes of a chunk from its new lines.
fn derive_chunk(
    deriver: &mut Deriver,
    lines: &[QueueLogLine<'_>],
    new: &[bool],
    agents: &AgentMap,
    zone: Zone,
    calls: &mut u64,
) -> ChunkWrites {
    let d = derive_lines(deriver, lines, Some(new), agents, zone);
    *calls += d.calls;
    ChunkWrites {
        events: d
            .out
            .events
            .iter()
            .map(TimelineEvent::to_agent_event)
            .collect(),
        stints: d.out.stints,
        ring_hours: d.ring_hours.into_iter().collect(),
        stats: Vec::new(),
        state: Vec::new(),
        queue_state: Vec::new(),
        data_until: d.data_until,
    }
}

/// The cursor stored under `key` in `store`.
fn stored_cursor(store: &mut dyn QueueStore, key: &str) -> Result<Option<Cursor>> {
    store
        .state(key)?
        .map(|v| Cursor::decode(key, &v))
        .transpose()
}

/// The derivation's carry-over stored in `store` (empty on a first run).
fn stored_deriver_state(store: &mut dyn QueueStore) -> Result<DeriverState> {
    QUEUE_LOG_DERIVE_STATE.decode(store.queue_state(QUEUE_LOG_DERIVE_STATE.name())?.as_deref())
}

/// Counts of one chunk beyond the lines it read.
struct ChunkCounts {
    /// Lines stored that were not stored before (dry run: lines that parsed).
    loaded: u64,
    /// Agent events new in `agent_events` (dry run: derived).
    events: u64,
    calls: u64,
}

/// What a run does with the chunks it reads: a load stores them, a dry run only counts.
trait ChunkSink {
    /// The stored cursor under `key`.
    fn cursor(&mut self, key: &str) -> Result<Option<Cursor>>;

    /// Whether the chunk's `queue_log` rows are wanted (a dry run stores nothing).
    fn keeps_raw_lines(&self) -> bool;

    /// A gap found while planning (after its warning was said).
    fn gap(&mut self, gap: &Gap) -> Result<()>;

    /// Handles one chunk, read up to `cursor`.
    fn chunk(
        &mut self,
        deriver: &mut Deriver,
        seg: &Segment,
        cursor: Cursor,
        parsed: &Parsed<'_>,
    ) -> Result<ChunkCounts>;
}

/// Loads each chunk in one transaction with its derivation, cursor and derivation state.
struct Load<'s, 'a> {
    store: &'s mut dyn QueueStore,
    agents: &'a AgentMap,
    zone: Zone,
    /// A gap found while planning, recorded with the first chunk committed after it.
    gap: Option<(String, String)>,
    /// The ring lines of the hours the last chunk touched (their `users_calls` counts).
    ring: RingCache,
}

impl ChunkSink for Load<'_, '_> {
    fn cursor(&mut self, key: &str) -> Result<Option<Cursor>> {
        stored_cursor(self.store, key)
    }

    fn keeps_raw_lines(&self) -> bool {
        true
    }

    fn gap(&mut self, gap: &Gap) -> Result<()> {
        self.gap = Some((gap.state_key(), gap.encode()?));
        Ok(())
    }

    fn chunk(
        &mut self,
        deriver: &mut Deriver,
        seg: &Segment,
        cursor: Cursor,
        parsed: &Parsed<'_>,
    ) -> Result<ChunkCounts> {
        let (agents, zone) = (self.agents, self.zone);
        let mut calls = 0;
        let ring = RefCell::new(&mut self.ring);
        let mut hour_fn = |hour: HourBucket, rows: &[_]| {
            ring.borrow_mut().read(hour, rows);
            hour_stats(hour.start, rows, agents)
        };
        // A chunk whose transaction lost to a concurrent one (a Galera certification
        // conflict) is tried again whole, from the deriver and gap it started with; the ring
        // hours held are forgotten then, as after any failure, and read back.
        let (start, start_gap) = (deriver.clone(), self.gap.clone());
        let store = &mut *self.store;
        let gap = &mut self.gap;
        let mut first = true;
        let outcome = retried(
            || {
                if !std::mem::take(&mut first) {
                    *deriver = start.clone();
                    *gap = start_gap.clone();
                    calls = 0;
                }
                let outcome = store.load_queue_chunk(
                    &parsed.raws,
                    &parsed.rejects,
                    &mut |new| {
                        let mut w =
                            derive_chunk(deriver, &parsed.lines, new, agents, zone, &mut calls);
                        let hours = std::mem::take(&mut w.ring_hours);
                        (w.stats, w.ring_hours) =
                            ring.borrow_mut().count(hours, &parsed.raws, new, agents);
                        w.queue_state.push((
                            QUEUE_LOG_DERIVE_STATE.name().to_string(),
                            QUEUE_LOG_DERIVE_STATE.encode(&deriver.state())?,
                        ));
                        w.state.extend(gap.take());
                        if let Some(key) = &seg.cursor_key {
                            w.state.push((key.clone(), cursor.encode()?));
                        }
                        Ok(w)
                    },
                    &mut hour_fn,
                );
                match &outcome {
                    Ok(_) => ring.borrow_mut().committed(),
                    Err(_) => ring.borrow_mut().forget(),
                }
                outcome
            },
            &mut std::thread::sleep,
        )?;
        Ok(ChunkCounts {
            loaded: outcome.lines_new,
            events: outcome.load.events_new,
            calls,
        })
    }
}

/// Parses and derives, writing nothing; cursors come from the database when there is one.
struct DryRun<'s, 'a> {
    store: Option<&'s mut dyn QueueStore>,
    agents: &'a AgentMap,
    zone: Zone,
}

impl ChunkSink for DryRun<'_, '_> {
    fn cursor(&mut self, key: &str) -> Result<Option<Cursor>> {
        match self.store.as_deref_mut() {
            Some(s) => stored_cursor(s, key),
            None => Ok(None),
        }
    }

    fn keeps_raw_lines(&self) -> bool {
        false
    }

    fn gap(&mut self, _: &Gap) -> Result<()> {
        Ok(())
    }

    fn chunk(
        &mut self,
        deriver: &mut Deriver,
        _: &Segment,
        _: Cursor,
        parsed: &Parsed<'_>,
    ) -> Result<ChunkCounts> {
        let d = derive_lines(deriver, &parsed.lines, None, self.agents, self.zone);
        Ok(ChunkCounts {
            loaded: parsed.lines.len() as u64,
            events: d.out.events.len() as u64,
            calls: d.calls,
        })
    }
}

/// Loads the files (`-` = stdin) into `store`.
pub fn load_files(
    store: &mut dyn QueueStore,
    files: &[String],
    agents: &AgentMap,
    opts: LoadOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadSummary> {
    let state = stored_deriver_state(store)?;
    let mut sink = Load {
        store,
        agents,
        zone: opts.zone,
        gap: None,
        ring: RingCache::new(opts.zone),
    };
    read_files(&mut sink, state, files, agents, opts, progress)
}

/// `--dry-run`: parses and derives everything the cursors (read from `store` when given)
/// would let a run read, and counts, writing nothing.
pub fn dry_run(
    mut store: Option<&mut dyn QueueStore>,
    files: &[String],
    agents: &AgentMap,
    opts: LoadOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadSummary> {
    let state = match store.as_deref_mut() {
        Some(s) => stored_deriver_state(s)?,
        None => DeriverState::default(),
    };
    let mut sink = DryRun {
        store,
        agents,
        zone: opts.zone,
    };
    read_files(&mut sink, state, files, agents, opts, progress)
}

/// Refuses a file among `files` that is not a queue_log, from its first chunk of
/// `chunk_lines` lines, as the load would: run before a database that does not exist yet is created,
/// so that the wrong file leaves no database behind (SPEC §9, issue 28). Standard input is
/// not looked at: what is read of it could not be read again without buffering it, and the
/// load refuses it on its first chunk, before anything of it is committed.
pub fn sniff(files: &[String], opts: LoadOptions) -> Result<()> {
    let mut chunk = Chunk::default();
    let agents = AgentMap::default();
    for arg in rotation_order(files) {
        for seg in plan(&arg, &mut |_| Ok(None))? {
            if seg.path.is_none() {
                continue;
            }
            let mut reader = SegmentReader::open(&seg)?;
            let first = opts.chunk_lines.max(NOT_A_QUEUE_LOG_LINES);
            if reader.next_chunk(&mut chunk, first)? {
                let texts = texts(&chunk);
                let (zone, bounds) = (opts.zone, opts.bounds);
                let parsed =
                    parse_chunk(&chunk, &texts, &seg.display, zone, bounds, false, &agents);
                not_a_queue_log(&seg.display, &parsed, chunk.lines.len(), zone)?;
            }
        }
    }
    Ok(())
}

/// Refuses a file whose first `read` lines (at least [`NOT_A_QUEUE_LOG_LINES`]) hold no
/// queue_log line: random bytes or the wrong file would otherwise load as rejects and record
/// a cursor. A line rejected only for its time or key sizes still parses: that file is a
/// queue_log with bad lines, reported line by line.
fn not_a_queue_log(display: &str, parsed: &Parsed<'_>, read: usize, zone: Zone) -> Result<()> {
    if read < NOT_A_QUEUE_LOG_LINES
        || !parsed.lines.is_empty()
        || parsed
            .rejects
            .iter()
            .any(|r| parse_line(r.line, zone).is_ok())
    {
        return Ok(());
    }
    Err(Error::input(format!(
        "{display} is not a queue_log ({read} lines read, none parsed; expected \
         TIME|CALLID|QUEUE|AGENT|EVENT|...)"
    )))
}

/// What a run committed so far, told when a full disk ends it: the re-run continues from
/// the last chunk committed, not from where this run started.
#[derive(Debug, Default)]
struct Committed {
    chunks: u64,
    /// The file and line the last committed chunk ends at.
    last: Option<(String, u64)>,
}

impl Committed {
    fn tell(&self, e: Error) -> Error {
        if !is_disk_full(&e) {
            return e;
        }
        match &self.last {
            None => Error::db(format!("{e} (nothing was committed)")),
            Some((file, line)) => Error::db(format!(
                "{e} ({} committed, up to line {line} of {file}; the next run continues \
                 from there)",
                match self.chunks {
                    1 => "chunk 1 was".to_string(),
                    n => format!("chunks 1 to {n} were"),
                }
            )),
        }
    }
}

/// The read loop of a load and of a dry run: plans each file from its cursor, reads its
/// segments chunk by chunk, parses each chunk and hands it to `sink`, counting.
fn read_files(
    sink: &mut dyn ChunkSink,
    state: DeriverState,
    files: &[String],
    agents: &AgentMap,
    opts: LoadOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<LoadSummary> {
    let mut summary = LoadSummary::default();
    let mut deriver = Deriver::new(
        DeriveConfig {
            zone: opts.zone,
            max_call_secs: opts.max_call_secs,
        },
        state,
    );
    let mut chunk = Chunk::default();
    let mut committed = Committed::default();
    for arg in rotation_order(files) {
        for seg in plan(&arg, &mut |k| sink.cursor(k))? {
            if let Some(n) = &seg.note {
                summary.notes.push(format!("{}: {n}", seg.display));
            }
            if let Some(g) = &seg.gap {
                summary.warnings.push(g.warning());
                sink.gap(g)?;
            }
            let mut reader = SegmentReader::open(&seg)?;
            // The first chunk of a file read from its start holds enough lines to tell a
            // queue_log from other data before anything of it is committed.
            let mut first = seg.start.offset == 0;
            let mut max_lines = if first {
                opts.chunk_lines.max(NOT_A_QUEUE_LOG_LINES)
            } else {
                opts.chunk_lines
            };
            while reader.next_chunk(&mut chunk, max_lines)? {
                max_lines = opts.chunk_lines;
                let texts = texts(&chunk);
                let parsed = parse_chunk(
                    &chunk,
                    &texts,
                    &seg.display,
                    opts.zone,
                    opts.bounds,
                    sink.keeps_raw_lines(),
                    agents,
                );
                if std::mem::take(&mut first) {
                    not_a_queue_log(&seg.display, &parsed, chunk.lines.len(), opts.zone)?;
                }
                let cursor = Cursor {
                    offset: reader.offset,
                    line_no: reader.line_no,
                    ..seg.start
                };
                let counts = sink
                    .chunk(&mut deriver, &seg, cursor, &parsed)
                    .map_err(|e| committed.tell(e))?;
                committed.chunks += 1;
                committed.last = Some((seg.display.clone(), cursor.line_no));
                summary.lines_read += chunk.lines.len() as u64;
                summary.empty += chunk.empty;
                summary.repaired += chunk.repaired;
                summary.loaded += counts.loaded;
                summary.rejected += parsed.rejects.len() as u64;
                summary.calls += counts.calls;
                summary.events += counts.events;
                progress(Progress {
                    lines: summary.lines_read,
                    bytes: reader.offset,
                    total_bytes: if reader.compressed {
                        None
                    } else {
                        reader.total_bytes
                    },
                });
            }
        }
    }
    summary.unmapped_names = deriver.unmapped_names();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str =
        "the disk holding database sqlite:///d/apr.db is full; free space and run again";

    #[test]
    fn a_full_disk_says_how_far_the_run_committed() {
        let mut committed = Committed::default();
        assert_eq!(
            committed.tell(Error::db(FULL)).to_string(),
            format!("{FULL} (nothing was committed)")
        );
        committed.chunks = 1;
        committed.last = Some(("/var/log/asterisk/queue_log".into(), 50_000));
        assert_eq!(
            committed.tell(Error::db(FULL)).to_string(),
            format!(
                "{FULL} (chunk 1 was committed, up to line 50000 of \
                 /var/log/asterisk/queue_log; the next run continues from there)"
            )
        );
        committed.chunks = 3;
        assert!(
            committed
                .tell(Error::db(FULL))
                .to_string()
                .contains("(chunks 1 to 3 were committed, up to line 50000 of")
        );
    }

    #[test]
    fn other_failures_are_told_as_they_were() {
        let committed = Committed {
            chunks: 2,
            last: Some(("f".into(), 10)),
        };
        let busy = "database sqlite:///d/apr.db is busy (another process is writing to it); \
                    try again when it finishes";
        assert_eq!(committed.tell(Error::db(busy)).to_string(), busy);
    }
}
