//! Every key of `etl_state` (and the one of `queue_log_state`), declared once with the form
//! of its value. A stored value that does not decode is an error naming the key — never a
//! silent "first run", offset 0 or disarmed guard.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::EventSource;
use crate::error::{Error, Result, one_line};

/// An `etl_state` key whose value is an instant (epoch seconds); empty means unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstantKey(&'static str);

/// Earliest / latest instant touched by loads since the last aggregation (SPEC §5.4).
pub const DIRTY_FROM: InstantKey = InstantKey("aggregate.dirty_from");
pub const DIRTY_TO: InstantKey = InstantKey("aggregate.dirty_to");
/// The end of the last window `collect` (or `init-load`) committed.
pub const COLLECT_EVENTS_UNTIL: InstantKey = InstantKey("collect.events_until");
/// The "data until" of the API source: time after it is never guessed for API agents.
pub const API_DATA_UNTIL: InstantKey = InstantKey("data_until.api");
/// The "data until" of the queue_log source.
pub const QUEUE_LOG_DATA_UNTIL: InstantKey = InstantKey("data_until.queue_log");
/// Before schema version 2 one "data until" served every source.
pub const LEGACY_DATA_UNTIL: InstantKey = InstantKey("data_until");
/// The local midnight before which `apr prune` dropped raw data: hours before it are never
/// aggregated again (their events are gone).
pub const PRUNED_BEFORE: InstantKey = InstantKey("prune.before");

/// Every source's "data until" key, in a fixed order.
pub const DATA_UNTIL_KEYS: [(EventSource, InstantKey); 2] = [
    (EventSource::Api, API_DATA_UNTIL),
    (EventSource::QueueLog, QUEUE_LOG_DATA_UNTIL),
];

/// The "data until" key of `source` (SPEC §9: sources do not invent each other's time).
pub fn data_until_key(source: EventSource) -> InstantKey {
    match source {
        EventSource::Api => API_DATA_UNTIL,
        EventSource::QueueLog => QUEUE_LOG_DATA_UNTIL,
    }
}

/// A stored value as a message shows it: one line, at most 40 characters.
fn shown(stored: &str) -> String {
    one_line(&stored.chars().take(40).collect::<String>())
}

impl InstantKey {
    pub const fn name(self) -> &'static str {
        self.0
    }

    /// The stored text as an instant: `None` when absent or empty, an error naming the key
    /// when it is anything but an integer.
    pub fn decode(self, stored: Option<&str>) -> Result<Option<i64>> {
        match stored.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                Error::db(format!(
                    "etl_state '{}' holds '{}', not epoch seconds; correct or delete that row \
                     (apr init-load rebuilds every watermark)",
                    self.0,
                    shown(v)
                ))
            }),
        }
    }

    /// The text stored for `value`.
    pub fn encode(value: i64) -> String {
        value.to_string()
    }
}

/// An `etl_state` key whose value is a wall-clock timestamp (RFC 3339 text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimestampKey(&'static str);

/// When the last successful `collect` ran (shown by `status` and `/health`).
pub const COLLECT_LAST_RUN: TimestampKey = TimestampKey("collect.last_run");

impl TimestampKey {
    pub const fn name(self) -> &'static str {
        self.0
    }

    /// The stored text as epoch seconds: `None` when absent or empty; RFC 3339 or epoch
    /// seconds (what `/health` also accepts); anything else is an error naming the key.
    pub fn decode(self, stored: Option<&str>) -> Result<Option<i64>> {
        let Some(v) = stored.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
            return Ok(Some(t.timestamp()));
        }
        v.parse::<i64>().map(Some).map_err(|_| {
            Error::db(format!(
                "etl_state '{}' holds '{}', not an RFC 3339 timestamp; correct or delete that row",
                self.0,
                shown(v)
            ))
        })
    }

    /// The text stored for the instant `at` (UTC, whole seconds).
    pub fn encode(at: chrono::DateTime<chrono::Utc>) -> String {
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// An `etl_state` key whose value is a span in whole seconds; empty means unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanKey(&'static str);

/// How far back the state carried into an hour is looked for, for the agents whose data
/// comes from queue_log: `parse-queue-log --max-carry`, for every later aggregation of them.
pub const QUEUE_LOG_MAX_CARRY: SpanKey = SpanKey("queue_log.max_carry");

impl SpanKey {
    pub const fn name(self) -> &'static str {
        self.0
    }

    /// The stored text as seconds: `None` when absent or empty, an error naming the key when
    /// it is anything but a non-negative integer.
    pub fn decode(self, stored: Option<&str>) -> Result<Option<i64>> {
        match stored.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| {
                    Error::db(format!(
                        "etl_state '{}' holds '{}', not a span in seconds; correct or delete \
                         that row (the next parse-queue-log records it again)",
                        self.0,
                        shown(v)
                    ))
                }),
        }
    }

    /// The text stored for `secs`.
    pub fn encode(secs: i64) -> String {
        secs.to_string()
    }
}

/// `etl_state` key prefix of the per-file queue_log cursors (the file's absolute path follows).
const CURSOR_KEY_PREFIX: &str = "queue_log.cursor:";
/// `etl_state` key prefix of the recorded queue_log gaps.
const GAP_KEY_PREFIX: &str = "queue_log.gap:";

/// Where reading a queue_log file stopped; the default is the start of an input without
/// identity (stdin). Stored as JSON under [`Cursor::key`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub dev: u64,
    pub ino: u64,
    /// Bytes consumed (of the decompressed stream for `.gz`): the end of the last complete line.
    pub offset: u64,
    /// Lines consumed.
    pub line_no: u64,
    /// Hash of the first line, to tell a truncated-and-rewritten file from a grown one.
    pub first_hash: u64,
}

impl Cursor {
    /// The `etl_state` key of the cursor of the file at `abs` (an absolute path).
    pub fn key(abs: &Path) -> String {
        format!("{CURSOR_KEY_PREFIX}{}", abs.display())
    }

    /// The file whose cursor `key` holds, when it is a cursor's key.
    pub fn path_of(key: &str) -> Option<&str> {
        key.strip_prefix(CURSOR_KEY_PREFIX)
    }

    /// The cursor stored under `key`; an error naming the key when it is not one.
    pub fn decode(key: &str, stored: &str) -> Result<Cursor> {
        decode(stored, |e| {
            format!(
                "etl_state '{key}' is not a queue_log cursor ({e}); delete that row to re-read the file"
            )
        })
    }

    /// The text stored for it.
    pub fn encode(&self) -> Result<String> {
        encode(self)
    }
}

/// A stretch of a queue_log that could not be read: the cursor's file was not found among
/// the rotated files. Recorded in `etl_state` (key [`Gap::state_key`]) with the first chunk
/// committed after it, so that `apr status` can count gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The live file (as given, made absolute).
    pub file: String,
    /// The last line read of the lost file, and its byte offset.
    pub line_no: u64,
    pub offset: u64,
    pub first_hash: u64,
    /// The rotated files looked at.
    pub searched: Vec<String>,
}

impl Gap {
    /// Stable for the same lost cursor, so that detecting it again (after a kill) records it
    /// once.
    pub fn state_key(&self) -> String {
        format!(
            "{GAP_KEY_PREFIX}{}:{:016x}:{}",
            self.file, self.first_hash, self.offset
        )
    }

    /// Whether `key` is a gap's key.
    pub fn is_key(key: &str) -> bool {
        key.starts_with(GAP_KEY_PREFIX)
    }

    /// The gap stored under `key`; an error naming the key when it is not one.
    pub fn decode(key: &str, stored: &str) -> Result<Gap> {
        decode(stored, |e| {
            format!(
                "etl_state '{key}' is not a queue_log gap ({e}); delete that row to forget the gap"
            )
        })
    }

    /// The text stored for it.
    pub fn encode(&self) -> Result<String> {
        encode(self)
    }

    /// The warning printed for it.
    pub fn warning(&self) -> String {
        format!(
            "'{}' was rotated and the file read up to its line {} is not among its rotated files ({}); lines written to it after that line are missing from the database",
            self.file,
            self.line_no,
            if self.searched.is_empty() {
                "none found".to_string()
            } else {
                self.searched.join(", ")
            }
        )
    }
}

/// A key of `queue_log_state` whose value is JSON of a type its one user (the queue_log
/// derivation) owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStateKey(&'static str);

/// The queue_log derivation's carry-over between chunks (open stints, agents' memberships
/// and pauses).
pub const QUEUE_LOG_DERIVE_STATE: QueueStateKey = QueueStateKey("queue_log.derive_state");

impl QueueStateKey {
    pub const fn name(self) -> &'static str {
        self.0
    }

    /// The stored value: the empty (default) state when nothing is stored, an error naming
    /// the key when the stored text does not decode.
    pub fn decode<T: DeserializeOwned + Default>(self, stored: Option<&str>) -> Result<T> {
        match stored {
            None => Ok(T::default()),
            Some(v) => decode(v, |e| {
                format!(
                    "queue_log_state '{}' is not readable ({e}); delete that row to start the derivation afresh",
                    self.0
                )
            }),
        }
    }

    /// The text stored for `value`.
    pub fn encode<T: Serialize>(self, value: &T) -> Result<String> {
        encode(value)
    }
}

/// `stored` as JSON of `T`; `refusal` words the error from serde's reason, naming the key.
fn decode<T: DeserializeOwned>(
    stored: &str,
    refusal: impl FnOnce(serde_json::Error) -> String,
) -> Result<T> {
    serde_json::from_str(stored).map_err(|e| Error::db(refusal(e)))
}

/// The JSON stored for `value`.
fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::db(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_decode_or_name_the_key() {
        let key = QUEUE_LOG_MAX_CARRY;
        assert_eq!(key.decode(None).unwrap(), None);
        assert_eq!(key.decode(Some("")).unwrap(), None);
        assert_eq!(
            key.decode(Some(&SpanKey::encode(172_800))).unwrap(),
            Some(172_800)
        );
        for bad in ["-1", "2d"] {
            let e = key.decode(Some(bad)).unwrap_err().to_string();
            assert!(e.contains("queue_log.max_carry") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn instants_decode_or_name_the_key() {
        assert_eq!(DIRTY_FROM.decode(None).unwrap(), None);
        assert_eq!(DIRTY_FROM.decode(Some("")).unwrap(), None);
        assert_eq!(DIRTY_FROM.decode(Some(" 42 ")).unwrap(), Some(42));
        let e = COLLECT_EVENTS_UNTIL.decode(Some("yesterday")).unwrap_err();
        assert!(
            e.to_string().contains("collect.events_until") && e.to_string().contains("yesterday"),
            "{e}"
        );
        let e = PRUNED_BEFORE.decode(Some("2025-09-01")).unwrap_err();
        assert!(e.to_string().contains("'prune.before'"), "{e}");
    }

    #[test]
    fn timestamps_read_rfc3339_or_epoch_seconds_and_name_the_key_otherwise() {
        let at = chrono::DateTime::from_timestamp(1_757_260_800, 0).unwrap();
        let stored = TimestampKey::encode(at);
        assert_eq!(stored, "2025-09-07T16:00:00Z");
        assert_eq!(
            COLLECT_LAST_RUN.decode(Some(&stored)).unwrap(),
            Some(1_757_260_800)
        );
        assert_eq!(
            COLLECT_LAST_RUN.decode(Some("1757260800")).unwrap(),
            Some(1_757_260_800)
        );
        assert_eq!(COLLECT_LAST_RUN.decode(Some(" ")).unwrap(), None);
        let e = COLLECT_LAST_RUN.decode(Some("last tuesday")).unwrap_err();
        assert!(e.to_string().contains("'collect.last_run'"), "{e}");
    }

    #[test]
    fn cursors_round_trip_and_a_corrupt_one_names_its_key() {
        let c = Cursor {
            dev: 1,
            ino: 2,
            offset: 30,
            line_no: 4,
            first_hash: 5,
        };
        let key = Cursor::key(Path::new("/var/log/asterisk/queue_log"));
        assert_eq!(key, "queue_log.cursor:/var/log/asterisk/queue_log");
        assert_eq!(Cursor::path_of(&key), Some("/var/log/asterisk/queue_log"));
        assert!(!Gap::is_key(&key));
        assert_eq!(Cursor::decode(&key, &c.encode().unwrap()).unwrap(), c);
        let e = Cursor::decode(&key, "{\"offset\":\"x\"}").unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("etl_state '{key}' is not a queue_log cursor")),
            "{e}"
        );
    }

    #[test]
    fn a_gap_keys_by_its_lost_cursor_and_round_trips() {
        let gap = Gap {
            file: "/log/queue_log".into(),
            line_no: 7,
            offset: 120,
            first_hash: 0xabc,
            searched: Vec::new(),
        };
        let key = gap.state_key();
        assert_eq!(key, "queue_log.gap:/log/queue_log:0000000000000abc:120");
        assert!(Gap::is_key(&key) && Cursor::path_of(&key).is_none());
        assert!(gap.warning().contains("(none found)"), "{}", gap.warning());
        assert_eq!(Gap::decode(&key, &gap.encode().unwrap()).unwrap(), gap);
        let e = Gap::decode(&key, "not json").unwrap_err();
        assert!(e.to_string().contains(&key), "{e}");
    }

    #[test]
    fn the_derivation_state_is_empty_when_absent_and_a_corrupt_one_names_its_key() {
        let key = QUEUE_LOG_DERIVE_STATE;
        assert_eq!(key.decode::<Vec<u64>>(None).unwrap(), Vec::<u64>::new());
        let stored = key.encode(&vec![1u64, 2]).unwrap();
        assert_eq!(key.decode::<Vec<u64>>(Some(&stored)).unwrap(), [1, 2]);
        let e = key.decode::<Vec<u64>>(Some("[")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("queue_log_state 'queue_log.derive_state' is not readable"),
            "{e}"
        );
    }
}
