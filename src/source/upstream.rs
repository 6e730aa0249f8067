//! Decoding of the platform's JSON (SPEC §3.2, §3.3) into normalized records. Shared by the
//! live HTTP client and the replay directory so both load exactly the same data. Tolerant
//! where the platform is known to vary (root shapes, booleans as 1/"true", numbers as
//! strings, millisecond timestamps); strict about truncated or non-JSON bodies.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{AgentEvent, CallStats, EventType};
use crate::names::sanitize;

/// One decoded events response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventsPage {
    pub events: Vec<AgentEvent>,
    /// The platform's `next_start_key`, when present and non-empty.
    pub next_start_key: Option<String>,
    /// Entries that lacked an extension, a timestamp or an event type (logged, not loaded).
    pub skipped: usize,
}

/// Timestamps above this are milliseconds.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Decodes an events response: `{"events": [...], "next_start_key": ...}`, a bare array, or
/// `{"data": [...]}`.
pub fn parse_events(body: &[u8]) -> Result<EventsPage> {
    let root: Value = serde_json::from_slice(body)?;
    let (items, key) = match &root {
        Value::Array(items) => (items.as_slice(), None),
        Value::Object(obj) => {
            let items = ["events", "data"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(Value::as_array))
                .ok_or_else(|| Error::input("events response has no 'events' or 'data' array"))?;
            (items.as_slice(), obj.get("next_start_key"))
        }
        _ => {
            return Err(Error::input(
                "events response is neither an object nor an array",
            ));
        }
    };
    let mut page = EventsPage {
        events: Vec::with_capacity(items.len()),
        next_start_key: key.and_then(text).filter(|k| !k.trim().is_empty()),
        skipped: 0,
    };
    for item in items {
        match item.as_object().and_then(event_from) {
            Some(e) => page.events.push(e),
            None => page.skipped += 1,
        }
    }
    Ok(page)
}

fn event_from(obj: &Map<String, Value>) -> Option<AgentEvent> {
    let ext = obj.get("ext").and_then(text)?.trim().to_string();
    let event = obj.get("event").and_then(text)?.trim().to_string();
    let raw_ts = obj
        .get("Timestamp")
        .or_else(|| obj.get("timestamp"))
        .and_then(integer)?;
    if ext.is_empty() || event.is_empty() {
        return None;
    }
    let ts = if raw_ts > MILLIS_THRESHOLD {
        raw_ts / 1000
    } else {
        raw_ts
    };
    Some(AgentEvent {
        ext,
        ts,
        event: EventType::parse(&event),
        enabled: obj.get("enabled").map(truthy).unwrap_or(false),
        state: sanitize(&obj.get("state").and_then(text).unwrap_or_default()),
        user_id: obj.get("user_id").and_then(text).unwrap_or_default(),
        username: sanitize(&obj.get("username").and_then(text).unwrap_or_default()),
    })
}

/// Decodes a stats response: an object keyed by extension, or an array of records carrying
/// `ext`/`extension` (optionally under `data`).
pub fn parse_stats(body: &[u8]) -> Result<Vec<CallStats>> {
    let root: Value = serde_json::from_slice(body)?;
    let root = match root {
        Value::Object(mut obj) if obj.len() == 1 && obj.contains_key("data") => {
            obj.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    };
    let mut out = Vec::new();
    match root {
        Value::Object(obj) => {
            for (ext, rec) in obj {
                if let Value::Object(rec) = rec {
                    out.push(stats_from(ext.trim().to_string(), &rec));
                }
            }
        }
        Value::Array(items) => {
            for rec in items {
                if let Value::Object(rec) = rec {
                    let ext = rec
                        .get("ext")
                        .or_else(|| rec.get("extension"))
                        .and_then(text)
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default();
                    if !ext.is_empty() {
                        out.push(stats_from(ext, &rec));
                    }
                }
            }
        }
        Value::Null => {}
        _ => {
            return Err(Error::input(
                "stats response is neither an object nor an array",
            ));
        }
    }
    out.sort_by(|a, b| a.ext.cmp(&b.ext));
    out.dedup_by(|later, earlier| later.ext == earlier.ext);
    Ok(out)
}

fn stats_from(ext: String, rec: &Map<String, Value>) -> CallStats {
    let n = |k: &str| rec.get(k).map(count).unwrap_or(0);
    let s = |k: &str| rec.get(k).and_then(text).unwrap_or_default();
    let json = |k: &str| match rec.get(k) {
        None | Some(Value::Null) => "null".to_string(),
        Some(v) => v.to_string(),
    };
    CallStats {
        ext,
        name: sanitize(&s("name")),
        tags: json("tags"),
        total_calls: n("total_calls"),
        answered_calls: n("answered_calls"),
        talked_time: n("talked_time"),
        talked_average: n("talked_average"),
        duration_seconds: n("duration_seconds"),
        max_connect_seconds: n("max_connect_seconds"),
        avg_connect_seconds: n("avg_connect_seconds"),
        total_connect_seconds: n("total_connect_seconds"),
        callee_id_number: s("callee_id_number"),
        callee_id_name: sanitize(&s("callee_id_name")),
        registered_time: n("registered_time"),
        idle_time: n("idle_time"),
        wrap_up_time: n("wrap_up_time"),
        hold_time: n("hold_time"),
        on_call_time: n("on_call_time"),
        on_call_time_avg: n("on_call_time_avg"),
        not_available_time: n("not_available_time"),
        not_available_detailed_report: json("not_available_detailed_report"),
    }
}

/// A string or a number, as text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer from a number or a numeric string (fractions truncated).
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// A non-negative count: non-numbers and negatives are 0 (SPEC §3.3).
fn count(v: &Value) -> i64 {
    integer(v).unwrap_or(0).max(0)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_page_with_key() {
        let body = br#"{"events":[{"event":"agent_idle","enabled":true,"user_id":"u","ext":3012,
            "username":"Karan+ Sengar","state":"available","Timestamp":1755678600}],
            "next_start_key":"1755678600"}"#;
        let page = parse_events(body).unwrap();
        assert_eq!(page.next_start_key.as_deref(), Some("1755678600"));
        let e = &page.events[0];
        assert_eq!(
            (e.ext.as_str(), e.ts, e.enabled),
            ("3012", 1_755_678_600, true)
        );
        assert_eq!(e.username, "Karan Sengar");
    }

    #[test]
    fn root_shapes_and_boolean_forms() {
        let arr = br#"[{"event":"agent_hold","enabled":1,"ext":"1","Timestamp":"5"},
                       {"event":"agent_hold","enabled":"false","ext":"1","Timestamp":6},
                       {"event":"agent_hold","enabled":"true","ext":"1","Timestamp":1755678600123}]"#;
        let page = parse_events(arr).unwrap();
        assert_eq!(page.next_start_key, None);
        let flags: Vec<bool> = page.events.iter().map(|e| e.enabled).collect();
        assert_eq!(flags, [true, false, true]);
        assert_eq!(page.events[2].ts, 1_755_678_600);
        let data =
            br#"{"data":[{"event":"x","enabled":0,"ext":"1","Timestamp":1}],"next_start_key":""}"#;
        let page = parse_events(data).unwrap();
        assert_eq!((page.events.len(), page.next_start_key), (1, None));
    }

    #[test]
    fn state_is_trimmed_and_incomplete_entries_are_skipped() {
        let body = br#"{"events":[{"event":"agent_not_avail_state","enabled":true,"ext":"1","state":"Outbound ","Timestamp":1},
                                  {"event":"agent_idle","enabled":true,"Timestamp":1}]}"#;
        let page = parse_events(body).unwrap();
        assert_eq!(page.events[0].state, "Outbound");
        assert_eq!(page.skipped, 1);
    }

    #[test]
    fn truncated_json_is_an_error() {
        assert!(parse_events(br#"{"events":[{"event":"#).is_err());
        assert!(parse_stats(br#"{"3012":{"#).is_err());
    }

    #[test]
    fn stats_numbers_are_tolerant() {
        let body = br#"{"3012":{"name":"A+B","total_calls":"12","answered_calls":-3,"talked_time":null,
                        "hold_time":"x","idle_time":7.9,"not_available_detailed_report":{"lunch":3437}},
                        "3013":{"name":"C"}}"#;
        let s = parse_stats(body).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].total_calls, s[0].answered_calls, s[0].talked_time),
            (12, 0, 0)
        );
        assert_eq!((s[0].hold_time, s[0].idle_time), (0, 7));
        assert_eq!(s[0].name, "A B");
        assert_eq!(s[0].not_available_detailed_report, r#"{"lunch":3437}"#);
        assert_eq!(s[1].tags, "null");
    }

    #[test]
    fn stats_as_array() {
        let body = br#"[{"extension":"7","total_calls":2},{"ext":8,"answered_calls":1},{"name":"no ext"}]"#;
        let s = parse_stats(body).unwrap();
        assert_eq!(
            s.iter().map(|r| r.ext.as_str()).collect::<Vec<_>>(),
            ["7", "8"]
        );
    }

    #[test]
    fn real_sample_page_decodes() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/upstream-sample/events-page1.json"
        ))
        .unwrap();
        let page = parse_events(&body).unwrap();
        assert_eq!(page.events.len(), 2000);
        assert_eq!(page.skipped, 0);
        assert_eq!(page.next_start_key.as_deref(), Some("1755687433"));
        let stats = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/upstream-sample/stats.json"
        ))
        .unwrap();
        let stats = parse_stats(&stats).unwrap();
        assert_eq!(stats.len(), 175);
        assert_eq!(stats.iter().map(|s| s.total_calls).sum::<i64>(), 613);
    }
}
