//! What a queue_log run leaves for the next one, and the stored form of it: the per-file
//! [`Cursor`] (`etl_state` key [`CURSOR_KEY_PREFIX`] + the file's absolute path), the
//! [`Gap`]s found while planning (key [`GAP_KEY_PREFIX`] + ...), and the derivation's
//! carry-over ([`DERIVER_STATE_KEY`] of `queue_log_state`). Each is JSON; a stored value
//! that does not decode is an error naming its key, never a silent first run.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::derive::DeriverState;
use crate::error::{Error, Result};

/// `etl_state` key prefix of the per-file cursors.
pub const CURSOR_KEY_PREFIX: &str = "queue_log.cursor:";

/// `etl_state` key prefix of recorded gaps.
pub const GAP_KEY_PREFIX: &str = "queue_log.gap:";

/// `queue_log_state` key of the [`DeriverState`] (open stints, agents' memberships and pauses).
pub const DERIVER_STATE_KEY: &str = "queue_log.derive_state";

/// Where reading a file stopped; the default is the start of an input without identity
/// (stdin).
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
/// the rotated files. Recorded in `etl_state` (key [`Gap::state_key`]) with the first
/// chunk committed after it, so that `apr status` can count gaps.
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
    /// Stable for the same lost cursor, so that detecting it again (after a kill) records it once.
    pub fn state_key(&self) -> String {
        format!(
            "{GAP_KEY_PREFIX}{}:{:016x}:{}",
            self.file, self.first_hash, self.offset
        )
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

/// The derivation's carry-over as stored under [`DERIVER_STATE_KEY`]: the empty state when
/// nothing is stored, an error naming the key when the stored text does not decode.
pub fn decode_deriver_state(stored: Option<&str>) -> Result<DeriverState> {
    match stored {
        None => Ok(DeriverState::default()),
        Some(v) => decode(v, |e| {
            format!(
                "queue_log_state '{DERIVER_STATE_KEY}' is not readable ({e}); delete that row to start the derivation afresh"
            )
        }),
    }
}

/// The text stored under [`DERIVER_STATE_KEY`] for `state`.
pub fn encode_deriver_state(state: &DeriverState) -> Result<String> {
    encode(state)
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
        assert_eq!(Cursor::decode(&key, &c.encode().unwrap()).unwrap(), c);
        let e = Cursor::decode(&key, "{\"offset\":").unwrap_err();
        assert!(e.to_string().contains(&key), "{e}");
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
        assert_eq!(
            gap.state_key(),
            "queue_log.gap:/log/queue_log:0000000000000abc:120"
        );
        assert!(gap.warning().contains("(none found)"), "{}", gap.warning());
        let key = gap.state_key();
        assert_eq!(Gap::decode(&key, &gap.encode().unwrap()).unwrap(), gap);
        let e = Gap::decode(&key, "not json").unwrap_err();
        assert!(e.to_string().contains(&key), "{e}");
    }

    #[test]
    fn deriver_state_is_empty_when_absent_and_a_corrupt_one_names_its_key() {
        assert_eq!(decode_deriver_state(None).unwrap(), DeriverState::default());
        let stored = encode_deriver_state(&DeriverState::default()).unwrap();
        assert_eq!(
            decode_deriver_state(Some(&stored)).unwrap(),
            DeriverState::default()
        );
        let e = decode_deriver_state(Some("[")).unwrap_err();
        assert!(e.to_string().contains(DERIVER_STATE_KEY), "{e}");
    }
}
