//! Every key of `etl_state` (and the one of `queue_log_state`), declared once with the form
//! of its value. A stored value that does not decode is an error naming the key — never a
//! silent "first run", offset 0 or disarmed guard.

use std::marker::PhantomData;

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

/// A family of `etl_state` keys: a fixed prefix followed by what the entry is about, each
/// holding the JSON of a `T`.
#[derive(Debug)]
pub struct KeyFamily<T> {
    prefix: &'static str,
    /// What a value is, for the error: "a queue_log cursor".
    what: &'static str,
    /// What to do about a corrupt value.
    remedy: &'static str,
    value: PhantomData<fn() -> T>,
}

/// The per-file queue_log cursors, after the prefix the file's absolute path.
pub const QUEUE_LOG_CURSORS: KeyFamily<Cursor> = KeyFamily {
    prefix: "queue_log.cursor:",
    what: "a queue_log cursor",
    remedy: "delete that row to re-read the file",
    value: PhantomData,
};

/// The stretches of queue_log lost to rotation, keyed by [`Gap::state_key`].
pub const QUEUE_LOG_GAPS: KeyFamily<Gap> = KeyFamily {
    prefix: "queue_log.gap:",
    what: "a queue_log gap record",
    remedy: "delete that row (it only informs apr status)",
    value: PhantomData,
};

impl<T: Serialize + DeserializeOwned> KeyFamily<T> {
    /// The key of the entry about `about`.
    pub fn key(&self, about: &str) -> String {
        format!("{}{about}", self.prefix)
    }

    /// What `key` is about, when it belongs to this family.
    pub fn about<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.prefix)
    }

    /// The stored value of `key`; a corrupt one is an error naming the key.
    pub fn decode(&self, key: &str, stored: &str) -> Result<T> {
        serde_json::from_str(stored).map_err(|e| {
            Error::db(format!(
                "etl_state '{key}' is not {} ({e}); {}",
                self.what, self.remedy
            ))
        })
    }

    /// The text stored for `value`.
    pub fn encode(&self, value: &T) -> Result<String> {
        serde_json::to_string(value).map_err(|e| Error::db(e.to_string()))
    }
}

/// A key of `queue_log_state` whose value is JSON, of a type its one user (the queue_log
/// derivation) owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStateKey {
    name: &'static str,
    remedy: &'static str,
}

/// The queue_log derivation's state between chunks (open calls, agents' sessions).
pub const QUEUE_LOG_DERIVE_STATE: QueueStateKey = QueueStateKey {
    name: "queue_log.derive_state",
    remedy: "delete that row to start the derivation afresh",
};

impl QueueStateKey {
    pub const fn name(self) -> &'static str {
        self.name
    }

    /// The stored value; a corrupt one is an error naming the key.
    pub fn decode<T: DeserializeOwned>(self, stored: &str) -> Result<T> {
        serde_json::from_str(stored).map_err(|e| {
            Error::db(format!(
                "queue_log_state '{}' is not readable ({e}); {}",
                self.name, self.remedy
            ))
        })
    }

    /// The text stored for `value`.
    pub fn encode<T: Serialize>(self, value: &T) -> Result<String> {
        serde_json::to_string(value).map_err(|e| Error::db(e.to_string()))
    }
}

/// Where reading a queue_log file stopped (the value of a [`QUEUE_LOG_CURSORS`] key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// A stretch of a queue_log that could not be read: the cursor's file was not found among
/// the rotated files. Recorded under [`Gap::state_key`] with the first chunk committed after
/// it, so that `apr status` can count gaps.
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
        QUEUE_LOG_GAPS.key(&format!(
            "{}:{:016x}:{}",
            self.file, self.first_hash, self.offset
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let key = QUEUE_LOG_CURSORS.key("/var/log/asterisk/queue_log");
        assert_eq!(key, "queue_log.cursor:/var/log/asterisk/queue_log");
        assert_eq!(
            QUEUE_LOG_CURSORS.about(&key),
            Some("/var/log/asterisk/queue_log")
        );
        assert_eq!(QUEUE_LOG_GAPS.about(&key), None);
        let c = Cursor {
            dev: 1,
            ino: 2,
            offset: 300,
            line_no: 4,
            first_hash: 5,
        };
        let stored = QUEUE_LOG_CURSORS.encode(&c).unwrap();
        assert_eq!(QUEUE_LOG_CURSORS.decode(&key, &stored).unwrap(), c);
        let e = QUEUE_LOG_CURSORS
            .decode(&key, "{\"offset\":\"x\"}")
            .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "etl_state 'queue_log.cursor:/var/log/asterisk/queue_log' is not a queue_log cursor"
            ),
            "{e}"
        );
    }

    #[test]
    fn gap_keys_are_stable_and_a_corrupt_gap_names_its_key() {
        let g = Gap {
            file: "/q".into(),
            line_no: 7,
            offset: 70,
            first_hash: 0xab,
            searched: vec![],
        };
        assert_eq!(g.state_key(), "queue_log.gap:/q:00000000000000ab:70");
        assert!(QUEUE_LOG_GAPS.about(&g.state_key()).is_some());
        let stored = QUEUE_LOG_GAPS.encode(&g).unwrap();
        assert_eq!(QUEUE_LOG_GAPS.decode(&g.state_key(), &stored).unwrap(), g);
        let e = QUEUE_LOG_GAPS.decode(&g.state_key(), "[").unwrap_err();
        assert!(e.to_string().contains(&g.state_key()), "{e}");
    }

    #[test]
    fn the_derivation_state_names_its_table_and_key() {
        let e = QUEUE_LOG_DERIVE_STATE.decode::<Vec<u64>>("{").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("queue_log_state 'queue_log.derive_state' is not readable"),
            "{e}"
        );
        let stored = QUEUE_LOG_DERIVE_STATE.encode(&vec![1u64, 2]).unwrap();
        assert_eq!(
            QUEUE_LOG_DERIVE_STATE.decode::<Vec<u64>>(&stored).unwrap(),
            [1, 2]
        );
    }
}
