//! Which lines of a chunk are admitted and which are rejected, with the reason: a line must
//! parse, fall within the time bounds, and give key columns values that fit them. Pure: no
//! I/O.

use std::borrow::Cow;

use super::agent_map::AgentMap;
use super::parse::{EventKind, QueueLogLine, line_hash, parse_line};
use super::reader::{Chunk, MAX_LINE_BYTES, OVERLONG_HEAD_BYTES};
use crate::bounds::TimeBounds;
use crate::hours::Zone;
use crate::model::queue::{RawLine, RejectRow};
use crate::store::table;

/// One chunk's lines, parsed: text (lossy UTF-8) first, then fields borrowing from it.
pub(super) struct Parsed<'a> {
    pub(super) lines: Vec<QueueLogLine<'a>>,
    pub(super) raws: Vec<RawLine<'a>>,
    pub(super) rejects: Vec<RejectRow<'a>>,
}

/// The chunk's lines as text: borrowed from the chunk when it is valid UTF-8 as a whole (one
/// validation of the whole buffer, the common case), else line by line, lossily.
pub(super) fn texts(chunk: &Chunk) -> Vec<Cow<'_, str>> {
    if let Ok(all) = std::str::from_utf8(&chunk.bytes) {
        // Line spans end at line ends ('\n' is ASCII), so they are char boundaries; a cut
        // over-long line may end mid-character and is checked on its own.
        return chunk
            .lines
            .iter()
            .map(|l| match all.get(l.start..l.end) {
                Some(t) => Cow::Borrowed(t),
                None => String::from_utf8_lossy(&chunk.bytes[l.start..l.end]),
            })
            .collect();
    }
    (0..chunk.lines.len())
        .map(|i| String::from_utf8_lossy(chunk.line(i)))
        .collect()
}

/// Parses a chunk's lines; with `raws`, also the rows of `queue_log` (a dry run stores
/// nothing and skips them).
pub(super) fn parse_chunk<'a>(
    chunk: &Chunk,
    texts: &'a [Cow<'a, str>],
    file: &'a str,
    zone: Zone,
    bounds: TimeBounds,
    raws: bool,
    agents: &AgentMap,
) -> Parsed<'a> {
    let mut p = Parsed {
        lines: Vec::with_capacity(texts.len()),
        raws: Vec::with_capacity(if raws { texts.len() } else { 0 }),
        rejects: Vec::new(),
    };
    for (i, text) in texts.iter().enumerate() {
        let at = chunk.lines[i];
        let hash = || line_hash(chunk.line(i));
        if let Some(len) = at.overlong {
            p.rejects.push(RejectRow {
                file,
                line_no: at.line_no,
                hash: hash(),
                reason: format!(
                    "line of {len} bytes is longer than the {} MiB limit; its first {OVERLONG_HEAD_BYTES} bytes are kept",
                    MAX_LINE_BYTES >> 20
                ),
                line: text,
            });
            continue;
        }
        let parsed = parse_line(text, zone).map_err(|e| e.to_string());
        let admitted = parsed.and_then(|l| {
            bounds.check(l.time).map_err(|e| e.to_string())?;
            keys_fit(&l, agents)?;
            Ok(l)
        });
        match admitted {
            Ok(l) => {
                if raws {
                    p.raws.push(RawLine {
                        time: l.time,
                        hash: hash(),
                        callid: l.callid,
                        queuename: l.queuename,
                        agent: l.agent,
                        event: l.event,
                        data: l.data,
                    });
                }
                p.lines.push(l);
            }
            Err(reason) => p.rejects.push(RejectRow {
                file,
                line_no: at.line_no,
                hash: hash(),
                reason,
                line: text,
            }),
        }
    }
    p
}

/// The values a line gives to key columns fit them on every backend (issue 15.3): its call
/// id and queue (`queue_calls`), the extension of its agent and a pause reason
/// (`agent_events`). A longer one is a rejected line with that reason, never a chunk that
/// fails on MySQL alone.
fn keys_fit(l: &QueueLogLine<'_>, agents: &AgentMap) -> std::result::Result<(), String> {
    table::QUEUE_CALLS.check_fits("callid", l.callid)?;
    table::QUEUE_CALLS.check_fits("queuename", l.queuename)?;
    if let Some(ext) = agents.ext_of(l.agent) {
        table::AGENT_EVENTS.check_fits("ext", ext)?;
    }
    if matches!(
        EventKind::of(l.event),
        EventKind::Pause | EventKind::PauseAll
    ) {
        table::AGENT_EVENTS.check_fits("state", &crate::names::sanitize(l.data[0]))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::queue_log::reader::ChunkLine;

    const T0: i64 = 1_757_235_600; // 2025-09-07 09:00:00 UTC

    /// A chunk of `lines` as the reader leaves them; a line longer than `MAX_LINE_BYTES` is
    /// stood for by its head and `overlong` length.
    fn chunk(lines: &[(&str, Option<u64>)]) -> Chunk {
        let mut c = Chunk::default();
        for (i, (text, overlong)) in lines.iter().enumerate() {
            let start = c.bytes.len();
            c.bytes.extend_from_slice(text.as_bytes());
            c.lines.push(ChunkLine {
                start,
                end: c.bytes.len(),
                line_no: i as u64 + 1,
                overlong: *overlong,
            });
        }
        c
    }

    #[test]
    fn lines_are_admitted_or_rejected_with_their_reason() {
        let long_callid = "c".repeat(200);
        let lines = [
            (format!("{T0}|c1|sales|NONE|ENTERQUEUE||555|1"), None),
            ("garbage".to_string(), None),
            (
                format!("{}|c2|sales|NONE|ENTERQUEUE||555|1", T0 + 10 * 86_400),
                None,
            ),
            (
                format!("{T0}|{long_callid}|sales|NONE|ENTERQUEUE||555|1"),
                None,
            ),
            (
                "x".repeat(OVERLONG_HEAD_BYTES),
                Some(MAX_LINE_BYTES as u64 + 1),
            ),
        ];
        let refs: Vec<(&str, Option<u64>)> = lines.iter().map(|(t, o)| (t.as_str(), *o)).collect();
        let c = chunk(&refs);
        let texts = texts(&c);
        let bounds = TimeBounds::new(T0, None);
        let agents = AgentMap::default();
        let p = parse_chunk(&c, &texts, "queue_log", Zone::UTC, bounds, true, &agents);
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.lines[0].callid, "c1");
        assert_eq!(p.raws.len(), 1);
        assert_eq!(p.raws[0].hash, line_hash(lines[0].0.as_bytes()));
        let rejected: Vec<u64> = p.rejects.iter().map(|r| r.line_no).collect();
        assert_eq!(rejected, [2, 3, 4, 5]);
        assert!(
            p.rejects[2].reason.contains("callid"),
            "{}",
            p.rejects[2].reason
        );
        assert!(
            p.rejects[3].reason.contains("MiB limit"),
            "{}",
            p.rejects[3].reason
        );
        // A dry run keeps no raw rows, and admits the same lines.
        let dry = parse_chunk(&c, &texts, "queue_log", Zone::UTC, bounds, false, &agents);
        assert!(dry.raws.is_empty());
        assert_eq!((dry.lines.len(), dry.rejects.len()), (1, 4));
    }
}
