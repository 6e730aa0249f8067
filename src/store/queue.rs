//! Storage of the queue_log tables (SPEC §6): raw lines (`queue_log`), rejects
//! (`queue_log_rejects`) and derived stints (`queue_calls`). A separate trait beside
//! [`Store`], because only queue_log ingestion and the queue report use it. One chunk of
//! lines is one transaction together with its agent events, `users_calls` hours and state.

use crate::error::Result;
use crate::hours::HourBucket;
use crate::model::{AgentEvent, HourStats};
use crate::source::queue_log::derive::{Outcome, RingRow, Stint};

use super::{DatabaseUrl, LoadOutcome, Store};

/// One raw line as stored in `queue_log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine<'a> {
    pub time: i64,
    pub hash: u64,
    pub callid: &'a str,
    pub queuename: &'a str,
    pub agent: &'a str,
    pub event: &'a str,
    pub data: [&'a str; 5],
}

/// One unparseable line, for `queue_log_rejects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRow<'a> {
    pub file: &'a str,
    pub line_no: u64,
    pub hash: u64,
    pub reason: String,
    pub line: &'a str,
}

/// What a chunk writes beside its raw lines, derived from the lines that were new.
#[derive(Debug, Default)]
pub struct ChunkWrites {
    pub events: Vec<AgentEvent>,
    /// Upserted by `(callid, queue, enter_time)`, in order.
    pub stints: Vec<Stint>,
    /// Hours whose `users_calls` counts are recomputed from the stored raw lines.
    pub ring_hours: Vec<HourBucket>,
    /// `etl_state` entries (file cursors) committed with the chunk.
    pub state: Vec<(String, String)>,
    /// `queue_log_state` entries (the derivation's carry-over) committed with the chunk.
    pub queue_state: Vec<(String, String)>,
    pub data_until: Option<i64>,
}

/// Counts of one chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    /// Raw lines not stored before.
    pub lines_new: u64,
    pub rejects_new: u64,
    pub stints_written: u64,
    pub load: LoadOutcome,
}

/// Derives a chunk's writes from which of its lines were new (`new[i]` for `lines[i]`).
pub type DeriveFn<'f> = dyn FnMut(&[bool]) -> Result<ChunkWrites> + 'f;
/// Counts of one hour from the raw lines that rang agents in it.
pub type HourStatsFn<'f> = dyn FnMut(HourBucket, &[RingRow]) -> HourStats + 'f;

/// Column limits of the schema; longer values are cut so MySQL's strict mode never refuses a
/// line (SQLite would store them whole, and both backends must agree).
pub(crate) mod limits {
    pub const CALLID: usize = 128;
    pub const QUEUE: usize = 128;
    pub const AGENT: usize = 255;
    pub const EVENT: usize = 64;
    pub const DATA: usize = 16_000;
    pub const FILE: usize = 255;
    pub const REASON: usize = 255;
    pub const CALLER_NUMBER: usize = 128;
    pub const CALLER_NAME: usize = 255;
    pub const EXT: usize = 64;
}

/// Values are cut to their column width as for the other tables (identifiers longer than
/// these widths do not occur in Asterisk's queue_log).
pub(crate) use super::clip;

/// A database that also holds the queue_log tables.
pub trait QueueStore: Store {
    /// In one transaction: inserts the raw lines (ignoring ones stored before) and the
    /// rejects, calls `derive` with which lines were new, writes its stints, recomputes the
    /// `users_calls` hours it names through `hour_stats`, loads its events and commits its
    /// state.
    fn load_queue_chunk(
        &mut self,
        lines: &[RawLine<'_>],
        rejects: &[RejectRow<'_>],
        derive: &mut DeriveFn<'_>,
        hour_stats: &mut HourStatsFn<'_>,
    ) -> Result<ChunkOutcome>;

    /// A value of `queue_log_state`.
    fn queue_state(&mut self, key: &str) -> Result<Option<String>>;

    /// Stints whose local entry hour label is in `[from_local, to_local)`, ordered by entry
    /// hour then queue name.
    fn scan_queue_calls(
        &mut self,
        from_local: &str,
        to_local: &str,
        each: &mut dyn FnMut(Stint) -> Result<()>,
    ) -> Result<()>;
}

/// Opens (creating if needed) the database for queue_log work.
pub fn open(url: &DatabaseUrl) -> Result<Box<dyn QueueStore>> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => Box::new(super::sqlite::SqliteStore::open(path)?),
        DatabaseUrl::Mysql(url) => Box::new(super::mysql::MysqlStore::open(url)?),
    })
}

/// `queue_calls` columns, in the order of [`stint_cells`].
pub(crate) const STINT_COLUMNS: &str = "callid, queuename, enter_time, enter_hour, \
    enter_hour_local, caller_number, caller_name, entry_position, outcome, agent, wait_secs, \
    talk_secs, ring_attempts, end_time";

/// A nullable integer or text cell of a `queue_calls` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StintCell<'a> {
    Int(Option<i64>),
    Text(&'a str),
}

pub(crate) fn stint_cells(s: &Stint) -> [StintCell<'_>; 14] {
    use StintCell::*;
    [
        Text(clip(&s.callid, limits::CALLID)),
        Text(clip(&s.queue, limits::QUEUE)),
        Int(Some(s.enter_time)),
        Int(Some(s.enter_hour)),
        Text(&s.enter_hour_local),
        Text(clip(&s.caller_number, limits::CALLER_NUMBER)),
        Text(clip(&s.caller_name, limits::CALLER_NAME)),
        Int(s.entry_position),
        Text(s.outcome.unwrap_or(Outcome::Incomplete).as_str()),
        Text(clip(&s.agent, limits::EXT)),
        Int(s.wait_secs),
        Int(s.talk_secs),
        Int(Some(s.ring_attempts)),
        Int(s.end_time),
    ]
}

/// Raw columns: `time, line_hash, callid, queuename, agent, event, data1..data5, loaded_at`.
pub(crate) const RAW_COLUMNS: &str = "time, line_hash, callid, queuename, agent, event, data1, data2, data3, data4, data5, loaded_at";

pub(crate) const RING_EVENTS_SQL: &str = "('CONNECT', 'RINGNOANSWER', 'RINGCANCELED')";
