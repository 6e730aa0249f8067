//! Typed watermarks and cursors of `etl_state`. Every key knows the form of its value, so a
//! stored value that does not parse is an error naming the key — never a silent "first run".

use super::EventSource;
use crate::error::{Error, Result};

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
pub const LEGACY_DATA_UNTIL: &str = "data_until";
/// When the last successful `collect` ran (RFC 3339 text, shown by `/health`).
pub const COLLECT_LAST_RUN: &str = "collect.last_run";

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
                    crate::error::one_line(&v.chars().take(40).collect::<String>())
                ))
            }),
        }
    }

    /// The text stored for `value`.
    pub fn encode(value: i64) -> String {
        value.to_string()
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
    }
}
