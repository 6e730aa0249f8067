//! The stored ring lines (`CONNECT`, `RINGNOANSWER`, `RINGCANCELED`) of the hours the last
//! chunk of a load touched, so that the next chunk counts those hours' `users_calls` from
//! them plus its own new lines instead of reading every such line of the hour back from the
//! database (issue 27: the re-reads cost 0.5 CPU-s per 1 M lines on SQLite, 1 on MariaDB).
//!
//! Exact because a load holds the write lock: between two chunks of one run nothing else
//! writes `queue_log`, so an hour's stored ring lines are those read (or counted) at the
//! previous chunk plus the new ones of this chunk. A cache lives for one run, and holds
//! only the hours the last committed chunk touched (a few hours of lines, whatever the
//! file's size).

use std::collections::HashMap;

use super::agent_map::AgentMap;
use super::derive::hour_stats;
use crate::hours::{HourBucket, Zone};
use crate::model::HourStats;
use crate::model::queue::{RawLine, RingRow};
use crate::store::table::QUEUE_LOG;

/// The events a ring row is read for (as `queue_log`'s `event` column holds them).
const RING_EVENTS: [&str; 3] = ["CONNECT", "RINGNOANSWER", "RINGCANCELED"];

/// The ring rows `line` stores, as the database returns them (its texts cut to the
/// columns' widths, as stored).
fn ring_row(line: &RawLine<'_>) -> Option<RingRow> {
    if !RING_EVENTS.contains(&line.event) {
        return None;
    }
    let text = |i: usize, s: &str| crate::store::table::clip(s, QUEUE_LOG.width(i)).to_string();
    Some(RingRow {
        time: line.time,
        line_hash: line.hash as i64,
        agent: text(4, line.agent),
        callid: text(2, line.callid),
        connected: line.event == "CONNECT",
    })
}

/// See the module doc.
pub(super) struct RingCache {
    zone: Zone,
    /// By hour start: the hours the last committed chunk touched, with all their stored
    /// ring rows in the key's order `(time, line_hash)`.
    committed: HashMap<i64, Vec<RingRow>>,
    /// The same for the chunk being loaded; becomes `committed` when it commits.
    pending: HashMap<i64, Vec<RingRow>>,
}

impl RingCache {
    pub(super) fn new(zone: Zone) -> RingCache {
        RingCache {
            zone,
            committed: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Of the hours a chunk rang agents in, the counts of those held here (their rows plus
    /// the chunk's new ring lines, `new` aligned with `raws`), and the hours the store must
    /// read back.
    pub(super) fn count(
        &mut self,
        hours: Vec<HourBucket>,
        raws: &[RawLine<'_>],
        new: &[bool],
        agents: &AgentMap,
    ) -> (Vec<HourStats>, Vec<HourBucket>) {
        let (mut counted, mut unread) = (Vec::new(), Vec::new());
        let mut held: HashMap<i64, (HourBucket, Vec<RingRow>)> = HashMap::new();
        for hour in hours {
            match self.committed.remove(&hour.start) {
                Some(rows) => {
                    held.insert(hour.start, (hour, rows));
                }
                None => unread.push(hour),
            }
        }
        if !held.is_empty() {
            for (line, _) in raws.iter().zip(new).filter(|(_, n)| **n) {
                let Some(row) = ring_row(line) else { continue };
                let start = self.zone.hour_containing(line.time).start;
                if let Some((_, rows)) = held.get_mut(&start) {
                    rows.push(row);
                }
            }
        }
        for (start, (hour, mut rows)) in held {
            // Stored rows come first and the new ones are mostly later: a stable sort of
            // nearly sorted runs.
            rows.sort_by_key(|r| (r.time, r.line_hash));
            counted.push(hour_stats(hour.start, &rows, agents));
            self.pending.insert(start, rows);
        }
        (counted, unread)
    }

    /// The store read `hour`'s ring rows back (after the chunk's inserts).
    pub(super) fn read(&mut self, hour: HourBucket, rows: &[RingRow]) {
        self.pending.insert(hour.start, rows.to_vec());
    }

    /// The chunk committed: its hours are the ones held now.
    pub(super) fn committed(&mut self) {
        self.committed = std::mem::take(&mut self.pending);
    }

    /// The chunk failed: nothing held is known to be stored any more.
    pub(super) fn forget(&mut self) {
        self.committed.clear();
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_757_235_600; // 2025-09-07 09:00:00 UTC

    fn raw(time: i64, hash: u64, agent: &'static str, event: &'static str) -> RawLine<'static> {
        RawLine {
            time,
            hash,
            callid: "c1",
            queuename: "q",
            agent,
            event,
            data: [""; 5],
        }
    }

    fn counts(h: &HourStats) -> Vec<(String, i64, i64)> {
        h.records
            .iter()
            .map(|r| (r.ext.clone(), r.total_calls, r.answered_calls))
            .collect()
    }

    #[test]
    fn a_held_hour_is_counted_with_the_new_lines_and_an_unheld_one_is_read() {
        let zone = Zone::UTC;
        let hour = zone.hour_containing(T0);
        let next = zone.hour_containing(T0 + 3600);
        let agents = AgentMap::default();
        let mut cache = RingCache::new(zone);
        // The first chunk: the store reads the hour back.
        let (counted, unread) = cache.count(vec![hour], &[], &[], &agents);
        assert!(counted.is_empty());
        assert_eq!(unread, [hour]);
        let stored = ring_row(&raw(T0 + 5, 1, "SIP/201", "RINGNOANSWER")).unwrap();
        cache.read(hour, std::slice::from_ref(&stored));
        cache.committed();
        // The second: the held hour gets its new ring lines only (not the old line read
        // again, nor lines of other events); the next hour is read.
        let raws = [
            raw(T0 + 5, 1, "SIP/201", "RINGNOANSWER"),
            raw(T0 + 9, 2, "SIP/201", "CONNECT"),
            raw(T0 + 10, 3, "SIP/202", "COMPLETECALLER"),
            raw(T0 + 3601, 4, "SIP/202", "CONNECT"),
        ];
        let (counted, unread) =
            cache.count(vec![hour, next], &raws, &[false, true, true, true], &agents);
        assert_eq!(unread, [next]);
        assert_eq!(counted.len(), 1);
        assert_eq!(counted[0].hour_start, hour.start);
        assert_eq!(counts(&counted[0]), [("201".to_string(), 1, 1)]);
        // Only the hours of the last committed chunk stay held.
        cache.read(next, &[]);
        cache.committed();
        let (_, unread) = cache.count(vec![hour], &[], &[], &agents);
        assert!(unread.is_empty());
        cache.forget();
        let (_, unread) = cache.count(vec![hour], &[], &[], &agents);
        assert_eq!(unread, [hour]);
    }

    #[test]
    fn held_rows_keep_the_stored_order_and_texts() {
        let long = Box::leak("x".repeat(300).into_boxed_str());
        let row = ring_row(&raw(T0, 7, long, "CONNECT")).unwrap();
        assert_eq!(row.agent.chars().count(), QUEUE_LOG.width(4));
        assert!(ring_row(&raw(T0, 7, "SIP/201", "connect")).is_none());
        let zone = Zone::UTC;
        let hour = zone.hour_containing(T0);
        let mut cache = RingCache::new(zone);
        cache.read(
            hour,
            &[ring_row(&raw(T0 + 20, 5, "SIP/201", "CONNECT")).unwrap()],
        );
        cache.committed();
        let raws = [raw(T0 + 10, 9, "SIP/201", "CONNECT")];
        cache.count(vec![hour], &raws, &[true], &AgentMap::default());
        let times: Vec<i64> = cache.pending[&hour.start].iter().map(|r| r.time).collect();
        assert_eq!(times, [T0 + 10, T0 + 20]);
    }
}
