//! The unanswered list (SPEC §14 `--kind unanswered`): one row per stint nobody answered
//! (abandoned, timed out, left by key or on an empty queue, incomplete) whose entry lies in
//! the range, ordered by entry, with `Called Back`: the entry time of the first later stint
//! of the same caller number, in any queue, that was answered and entered within
//! `--callback-window` of the unanswered one. A number without a digit (empty,
//! `anonymous`, withheld, `unknown`) is never matched. `--pending` keeps the rows without a
//! callback.
//!
//! Streamed: stints are read in entry order through the range and one window past it; a row
//! is written once its window has closed, so only the unanswered stints of one window are
//! held at a time (with the stints of the local hour being ordered).

use std::collections::{HashMap, VecDeque};

use crate::error::Result;
use crate::hours::Zone;
use crate::model::queue::{Outcome, Stint};
use crate::store::Store;

use super::cell::{Cell, Clock, Column, RowKind, col};
use super::request::ReportRequest;
use super::sink::{Figures, ReportSummary, RowSink};

/// The columns of the unanswered list, in order.
pub const COLUMNS: [Column; 8] = [
    col("Date", "date"),
    col("Enter Time", "enter_time"),
    col("Queue", "queue"),
    col("Caller", "caller"),
    col("Outcome", "outcome"),
    col("Wait", "wait_secs"),
    col("Position", "entry_position"),
    col("Called Back", "called_back"),
];

/// Whether a stint's outcome says nobody answered it.
pub fn unanswered(outcome: Option<Outcome>) -> bool {
    matches!(
        outcome,
        Some(
            Outcome::Abandon
                | Outcome::Timeout
                | Outcome::ExitWithKey
                | Outcome::ExitEmpty
                | Outcome::Incomplete
        )
    )
}

/// Whether a caller number can identify a callback: it holds a digit, so empty,
/// `anonymous`, `withheld`, `private` or `unknown` never match each other.
pub fn matchable(number: &str) -> bool {
    number.bytes().any(|b| b.is_ascii_digit())
}

/// An unanswered stint waiting for its window to close, and its callback once found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub stint: Stint,
    /// Entry time of the callback.
    pub called_back: Option<i64>,
}

/// Matches unanswered stints to later answered stints of the same caller. Stints are fed in
/// entry order; a stint comes out once no later stint can be its callback any more.
#[derive(Debug)]
pub struct Matcher {
    window: i64,
    waiting: VecDeque<Waiting>,
    /// Sequence number of `waiting[0]`.
    base: u64,
    /// Per caller number, the sequence numbers of its waiting stints not called back yet, in
    /// entry order.
    by_number: HashMap<String, VecDeque<u64>>,
}

impl Matcher {
    pub fn new(window: i64) -> Matcher {
        Matcher {
            window,
            waiting: VecDeque::new(),
            base: 0,
            by_number: HashMap::new(),
        }
    }

    /// Feeds the next stint in entry order: it may call back waiting stints, and it waits
    /// itself when `listed` (an unanswered stint of the report). Rows whose window closed
    /// before its entry go to `out` first, in entry order.
    pub fn feed(
        &mut self,
        s: Stint,
        listed: bool,
        out: &mut dyn FnMut(Waiting) -> Result<()>,
    ) -> Result<()> {
        self.release(Some(s.enter_time), out)?;
        let number = s.caller_number.trim();
        if s.connected()
            && matchable(number)
            && let Some(seqs) = self.by_number.get_mut(number)
        {
            while let Some(&seq) = seqs.front() {
                let w = &mut self.waiting[(seq - self.base) as usize];
                if w.stint.enter_time >= s.enter_time {
                    break;
                }
                w.called_back = Some(s.enter_time);
                seqs.pop_front();
            }
            if seqs.is_empty() {
                self.by_number.remove(number);
            }
        }
        if listed {
            let seq = self.base + self.waiting.len() as u64;
            if matchable(number) {
                self.by_number
                    .entry(number.to_string())
                    .or_default()
                    .push_back(seq);
            }
            self.waiting.push_back(Waiting {
                stint: s,
                called_back: None,
            });
        }
        Ok(())
    }

    /// Writes out every stint whose window closed before `now` (all of them with `None`).
    pub fn release(
        &mut self,
        now: Option<i64>,
        out: &mut dyn FnMut(Waiting) -> Result<()>,
    ) -> Result<()> {
        while let Some(w) = self.waiting.front() {
            if now.is_some_and(|t| w.stint.enter_time + self.window >= t) {
                break;
            }
            let Some(w) = self.waiting.pop_front() else {
                break;
            };
            let seq = self.base;
            self.base += 1;
            let number = w.stint.caller_number.trim();
            if let Some(seqs) = self.by_number.get_mut(number)
                && seqs.front() == Some(&seq)
            {
                seqs.pop_front();
                if seqs.is_empty() {
                    self.by_number.remove(number);
                }
            }
            out(w)?;
        }
        Ok(())
    }
}

/// Streams the unanswered list of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    sink.header(&req.meta("Unanswered", zone), &COLUMNS)?;
    let scan = req.call_scan(zone);
    let queue_store = super::queue_figures::queue_tables(store, "the unanswered list")?;
    // Callbacks of the range's last stints enter up to one window after its end.
    let until = zone.instant_of(req.end) + req.callback_window;
    let scan_to = zone.hour_label(zone.next_hour_start(until));
    let mut matcher = Matcher::new(req.callback_window);
    let mut rows = 0u64;
    let mut write = |w: Waiting| -> Result<()> {
        if req.pending && w.called_back.is_some() {
            return Ok(());
        }
        rows += 1;
        write_row(&w, zone, sink)
    };
    let mut hour: Vec<Stint> = Vec::new();
    let mut feed_hour =
        |hour: &mut Vec<Stint>, write: &mut dyn FnMut(Waiting) -> Result<()>| -> Result<()> {
            hour.sort_by(|a, b| {
                (a.enter_time, &a.queue, &a.callid).cmp(&(b.enter_time, &b.queue, &b.callid))
            });
            for s in hour.drain(..) {
                let listed = unanswered(s.outcome)
                    && s.enter_hour_local < scan.hours.to_local
                    && scan.holds(s.enter_time)
                    && (req.queue_names.is_empty() || req.queue_names.contains(&s.queue));
                matcher.feed(s, listed, write)?;
            }
            Ok(())
        };
    queue_store.scan_queue_calls(&scan.hours.from_local, &scan_to, &mut |s| {
        if hour.first().is_some_and(|h| h.enter_hour != s.enter_hour) {
            feed_hour(&mut hour, &mut write)?;
        }
        hour.push(s);
        Ok(())
    })?;
    feed_hour(&mut hour, &mut write)?;
    matcher.release(None, &mut write)?;
    Ok(ReportSummary { rows })
}

fn write_row(w: &Waiting, zone: Zone, sink: &mut dyn RowSink) -> Result<()> {
    let s = &w.stint;
    let local = zone.local(s.enter_time);
    let date_text = local.format("%d-%b").to_string();
    let enter = Clock::new(zone, s.enter_time);
    let back = w.called_back.map(|t| Clock::new(zone, t));
    let caller = if s.caller_number.is_empty() {
        &s.caller_name
    } else {
        &s.caller_number
    };
    sink.observe(&Figures::Unanswered {
        called_back: w.called_back.is_some(),
    });
    sink.row(
        RowKind::Detail,
        &[
            Cell::Date(local.date_naive(), &date_text),
            Cell::Clock(&enter),
            Cell::Text(&s.queue),
            Cell::Text(caller),
            s.outcome.map_or(Cell::Empty, |o| Cell::Text(o.as_str())),
            s.wait_secs.map_or(Cell::Empty, Cell::Duration),
            s.entry_position.map_or(Cell::Empty, Cell::Int),
            back.as_ref().map_or(Cell::Empty, Cell::Clock),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stint(t: i64, queue: &str, number: &str, outcome: Outcome) -> Stint {
        Stint {
            callid: format!("c{t}"),
            queue: queue.into(),
            enter_time: t,
            enter_hour: t - t % 3600,
            enter_hour_local: String::new(),
            caller_number: number.into(),
            caller_name: String::new(),
            entry_position: Some(1),
            outcome: Some(outcome),
            agent: String::new(),
            wait_secs: Some(5),
            talk_secs: None,
            ring_attempts: 0,
            end_time: Some(t + 5),
            hangup_by: None,
            did: String::new(),
            rings: Vec::new(),
            pending: false,
        }
    }

    /// Feeds `(time, number, outcome)` stints (all listed when unanswered) through a matcher
    /// of `window`; the rows as `(time, called back)`.
    fn matched(window: i64, stints: &[(i64, &str, Outcome)]) -> Vec<(i64, Option<i64>)> {
        let mut m = Matcher::new(window);
        let mut out = Vec::new();
        let mut keep = |w: Waiting| {
            out.push((w.stint.enter_time, w.called_back));
            Ok(())
        };
        for &(t, n, o) in stints {
            m.feed(stint(t, "q", n, o), unanswered(Some(o)), &mut keep)
                .unwrap();
        }
        m.release(None, &mut keep).unwrap();
        out
    }

    #[test]
    fn a_later_answered_stint_of_the_same_number_within_the_window_is_the_callback() {
        use Outcome::*;
        let got = matched(
            100,
            &[
                (0, "501", Abandon),
                (10, "502", Timeout),
                (20, "501", Abandon),
                (50, "501", Answered),
                (111, "502", Answered),
                (120, "503", ExitWithKey),
                (220, "503", Transfer),
            ],
        );
        // 501's both abandons are called back by the stint at 50; 502's window closed at
        // 110; 503's callback enters exactly at the window's end.
        assert_eq!(
            got,
            [(0, Some(50)), (10, None), (20, Some(50)), (120, Some(220))]
        );
    }

    #[test]
    fn withheld_numbers_never_match_and_answered_stints_are_not_listed() {
        use Outcome::*;
        for n in ["", "anonymous", "Withheld", "unknown", "  "] {
            assert!(!matchable(n), "{n:?}");
            let got = matched(100, &[(0, n, Abandon), (5, n, Answered)]);
            assert_eq!(got, [(0, None)], "{n:?}");
        }
        assert!(matchable("+44 20 7946 0000"));
        assert!(!unanswered(Some(Outcome::Withdraw)) && !unanswered(None));
        // An unanswered stint is not a callback; a simultaneous answered one neither.
        let got = matched(
            100,
            &[(0, "7", Abandon), (0, "7", Answered), (9, "7", Abandon)],
        );
        assert_eq!(got, [(0, None), (9, None)]);
    }

    #[test]
    fn rows_come_out_in_entry_order_as_their_windows_close() {
        let mut m = Matcher::new(10);
        let out = std::cell::RefCell::new(Vec::new());
        let mut keep = |w: Waiting| {
            out.borrow_mut().push(w.stint.enter_time);
            Ok(())
        };
        m.feed(stint(0, "q", "1", Outcome::Abandon), true, &mut keep)
            .unwrap();
        m.feed(stint(5, "q", "2", Outcome::Abandon), true, &mut keep)
            .unwrap();
        m.feed(stint(11, "q", "3", Outcome::Answered), false, &mut keep)
            .unwrap();
        assert_eq!(*out.borrow(), [0]);
        m.release(None, &mut keep).unwrap();
        assert_eq!(*out.borrow(), [0, 5]);
        assert!(m.waiting.is_empty() && m.by_number.is_empty());
    }
}
