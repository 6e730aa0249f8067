//! The `event_details` drill-down of an `agent_activity` row (schema version 4): the hour's
//! events as a compact JSON array, `[[seconds into the hour, type, 0/1 enabled, state], ...]`,
//! e.g. `[[60,"idle",1,"available"],[600,"on_call",1,"none"]]`. The same drill-down as JSON
//! objects (schema 3) took 2.8 times the bytes; `BENCHMARKS.md` has the figures.
//!
//! The type is stored without its `agent_` prefix. So that every type survives the round
//! trip, a type that does not start with `agent_`, or whose remainder starts with `=`, is
//! stored whole behind a `=` marker: `queue_pause` → `=queue_pause`, `agent_=x` →
//! `=agent_=x`. Decoding is then unambiguous: a leading `=` means "the rest, as is", anything
//! else means `agent_` + it.

use serde::Deserialize;

/// What marks a type stored whole (not `agent_` + it).
const WHOLE: char = '=';
const PREFIX: &str = "agent_";

/// One event of an hour's drill-down.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Detail {
    pub ts: i64,
    pub event: String,
    pub enabled: bool,
    pub state: String,
}

/// The stored form of an event type (see the module's rule).
pub fn short_type(event: &str) -> std::borrow::Cow<'_, str> {
    match event.strip_prefix(PREFIX) {
        Some(rest) if !rest.starts_with(WHOLE) => rest.into(),
        _ => format!("{WHOLE}{event}").into(),
    }
}

/// The event type a stored short form stands for.
pub fn full_type(short: &str) -> String {
    match short.strip_prefix(WHOLE) {
        Some(whole) => whole.to_string(),
        None => format!("{PREFIX}{short}"),
    }
}

/// Encodes the events `(ts, type, enabled, state)` of the hour starting at `hour_start`.
/// Written straight into one buffer: aggregation encodes every event of the day once.
pub fn encode<'a>(
    hour_start: i64,
    events: impl IntoIterator<Item = (i64, &'a str, bool, &'a str)>,
) -> String {
    use std::io::Write;
    let mut out: Vec<u8> = Vec::with_capacity(64);
    out.push(b'[');
    for (i, (ts, event, enabled, state)) in events.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writes into a Vec cannot fail.
        let _ = write!(out, "[{},", ts - hour_start);
        let _ = serde_json::to_writer(&mut out, short_type(event).as_ref());
        out.extend_from_slice(if enabled { b",1," } else { b",0," });
        let _ = serde_json::to_writer(&mut out, state);
        out.push(b']');
    }
    out.push(b']');
    // JSON written from `&str`s is UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Decodes a stored drill-down of the hour starting at `hour_start`; `None` when it is not
/// the compact encoding.
pub fn decode(hour_start: i64, text: &str) -> Option<Vec<Detail>> {
    let tuples: Vec<(i64, String, u8, String)> = serde_json::from_str(text).ok()?;
    tuples
        .into_iter()
        .map(|(secs, short, enabled, state)| {
            (enabled <= 1).then(|| Detail {
                ts: hour_start + secs,
                event: full_type(&short),
                enabled: enabled == 1,
                state,
            })
        })
        .collect()
}

/// The compact form of a schema-3 drill-down (`[{"ts":..,"event":..,"enabled":..,"state":..}]`);
/// `None` when `text` is not that form (already compact, emptied by prune, or foreign), so
/// it is left as it is.
pub fn compact_legacy(hour_start: i64, text: &str) -> Option<String> {
    if !text.trim_start().starts_with("[{") {
        return None;
    }
    let events: Vec<Detail> = serde_json::from_str(text).ok()?;
    Some(encode(
        hour_start,
        events
            .iter()
            .map(|d| (d.ts, d.event.as_str(), d.enabled, d.state.as_str())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 1_755_648_000;

    fn d(secs: i64, event: &str, enabled: bool, state: &str) -> Detail {
        Detail {
            ts: HOUR + secs,
            event: event.into(),
            enabled,
            state: state.into(),
        }
    }

    fn round_trip(events: &[Detail]) -> String {
        let text = encode(
            HOUR,
            events
                .iter()
                .map(|e| (e.ts, e.event.as_str(), e.enabled, e.state.as_str())),
        );
        assert_eq!(decode(HOUR, &text).as_deref(), Some(events), "{text}");
        text
    }

    #[test]
    fn every_event_kind_round_trips_and_known_ones_lose_their_prefix() {
        let events = [
            d(0, "agent_idle", true, "available"),
            d(60, "agent_on_call", true, "none"),
            d(61, "agent_wrap_up", false, "none"),
            d(62, "agent_hold", true, "none"),
            d(600, "agent_not_avail_state", true, "Lunch \"long\" é"),
            d(601, "agent_reg", false, "none"),
            d(602, "agent_login", true, "Login"),
            d(3599, "agent_idle", false, "none"),
        ];
        let text = round_trip(&events);
        assert!(text.starts_with(r#"[[0,"idle",1,"available"],[60,"on_call",1,"none"],"#));
        assert!(!text.contains("agent_"), "{text}");
    }

    #[test]
    fn types_without_the_prefix_stay_distinguishable() {
        // Each pair would collide under a bare strip-the-prefix rule.
        let events = [
            d(1, "idle", true, "none"),
            d(2, "agent_idle", true, "none"),
            d(3, "queue_pause", true, "x"),
            d(4, "=agent_idle", false, ""),
            d(5, "agent_=idle", false, ""),
            d(6, "=idle", true, ""),
            d(7, "agent_", true, ""),
            d(8, "", true, ""),
            d(9, "AGENT_idle", true, ""),
        ];
        let text = round_trip(&events);
        assert!(text.contains(r#"[3,"=queue_pause",1,"x"]"#), "{text}");
        let shorts: std::collections::HashSet<String> =
            events.iter().map(|e| short_type(&e.event).into()).collect();
        assert_eq!(shorts.len(), events.len());
    }

    #[test]
    fn no_events_is_the_empty_array_prune_writes() {
        assert_eq!(encode(HOUR, []), "[]");
        assert_eq!(decode(HOUR, "[]"), Some(vec![]));
        assert_eq!(compact_legacy(HOUR, "[]"), None);
    }

    #[test]
    fn schema_3_objects_become_the_same_events_and_compact_text_is_left() {
        let legacy = format!(
            r#"[{{"ts":{},"event":"agent_idle","enabled":true,"state":"available"}},{{"ts":{},"event":"odd","enabled":false,"state":"none"}}]"#,
            HOUR + 5,
            HOUR + 3000
        );
        let compact = compact_legacy(HOUR, &legacy).unwrap();
        assert_eq!(
            compact,
            r#"[[5,"idle",1,"available"],[3000,"=odd",0,"none"]]"#
        );
        assert_eq!(
            decode(HOUR, &compact).unwrap(),
            [
                d(5, "agent_idle", true, "available"),
                d(3000, "odd", false, "none")
            ]
        );
        assert_eq!(compact_legacy(HOUR, &compact), None);
        assert_eq!(compact_legacy(HOUR, r#"[{"ext":"7"}]"#), None);
        assert_eq!(decode(HOUR, &legacy), None);
        assert_eq!(decode(HOUR, r#"[[1,"idle",2,"x"]]"#), None);
    }
}
