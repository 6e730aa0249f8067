//! The call list (SPEC §10 `--kind calls`): one row per queue stint of `queue_calls` whose
//! entry lies in the range, ordered by entry time, filtered by `--queue`, `--ext` (the
//! agent who answered) and `--outcome`. The store hands stints over hour by hour (ordered by
//! queue within the hour), so one local hour is held at a time to order it by time.

use crate::error::Result;
use crate::hours::Zone;
use crate::model::queue::Stint;
use crate::store::Store;

use super::cell::{Cell, Clock, Column, RowKind, col};
use super::request::ReportRequest;
use super::sink::{Figures, ReportSummary, RowSink};

/// The columns of the call list, in order.
pub const COLUMNS: [Column; 13] = [
    col("Date", "date"),
    col("Enter Time", "enter_time"),
    col("Queue", "queue"),
    col("Call ID", "call_id"),
    col("Caller", "caller"),
    col("Outcome", "outcome"),
    col("Agent", "agent"),
    col("Wait", "wait_secs"),
    col("Talk", "talk_secs"),
    col("Ring Attempts", "ring_attempts"),
    col("Entry Position", "entry_position"),
    col("Hangup By", "hangup_by"),
    col("DID", "did"),
];

/// Streams the call list of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    sink.header(&req.meta("Calls", zone), &COLUMNS)?;
    let scan = req.call_scan(zone);
    let queue_store = super::queue_figures::queue_tables(store, "the call list")?;
    let mut hour: Vec<Stint> = Vec::new();
    let mut rows = 0u64;
    let hours = &scan.hours;
    queue_store.scan_queue_calls(&hours.from_local, &hours.to_local, &mut |s| {
        if !scan.holds(s.enter_time) || !wanted(req, &s) {
            return Ok(());
        }
        if hour.first().is_some_and(|h| h.enter_hour != s.enter_hour) {
            rows += flush(&mut hour, zone, sink)?;
        }
        hour.push(s);
        Ok(())
    })?;
    rows += flush(&mut hour, zone, sink)?;
    Ok(ReportSummary { rows })
}

fn wanted(req: &ReportRequest, s: &Stint) -> bool {
    (req.queue_names.is_empty() || req.queue_names.contains(&s.queue))
        && (req.exts.is_empty() || req.exts.contains(&s.agent))
        && (req.outcomes.is_empty() || s.outcome.is_some_and(|o| req.outcomes.contains(&o)))
}

fn flush(hour: &mut Vec<Stint>, zone: Zone, sink: &mut dyn RowSink) -> Result<u64> {
    hour.sort_by(|a, b| {
        (a.enter_time, &a.queue, &a.callid).cmp(&(b.enter_time, &b.queue, &b.callid))
    });
    for s in hour.iter() {
        let local = zone.local(s.enter_time);
        let date_text = local.format("%d-%b").to_string();
        let enter = Clock::new(zone, s.enter_time);
        let caller = if s.caller_number.is_empty() {
            &s.caller_name
        } else {
            &s.caller_number
        };
        sink.observe(&Figures::Call { outcome: s.outcome });
        let opt = |v: Option<i64>, f: fn(i64) -> Cell<'static>| v.map_or(Cell::Empty, f);
        sink.row(
            RowKind::Detail,
            &[
                Cell::Date(local.date_naive(), &date_text),
                Cell::Clock(&enter),
                Cell::Text(&s.queue),
                Cell::Text(&s.callid),
                Cell::Text(caller),
                s.outcome.map_or(Cell::Empty, |o| Cell::Text(o.as_str())),
                Cell::Text(&s.agent),
                opt(s.wait_secs, Cell::Duration),
                opt(s.talk_secs, Cell::Duration),
                Cell::Int(s.ring_attempts),
                opt(s.entry_position, Cell::Int),
                s.hangup_by.map_or(Cell::Empty, |h| Cell::Text(h.as_str())),
                if s.did.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(&s.did)
                },
            ],
        )?;
    }
    let n = hour.len() as u64;
    hour.clear();
    Ok(n)
}
