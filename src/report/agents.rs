//! The agent report (SPEC §7.4): one row per agent and local hour, with the exact column
//! headers and order of the spec, the `--extended` columns, and the formatting rules for
//! clock columns, durations, AHT and answer rate. Rows arrive from the store in hour order;
//! one hour's rows are buffered to order them by extension.

use std::cmp::Ordering;

use crate::error::Result;
use crate::hours::Zone;
use crate::model::ActivityRow;
use crate::store::Store;

use super::{Cell, ReportRequest, ReportSummary, RowSink};

/// The columns of every agent report, in order.
pub const COLUMNS: [&str; 27] = [
    "Interval",
    "Date",
    "Start Time",
    "End Time",
    "Ext",
    "Name",
    "Available Time",
    "Productive Break",
    "Non-Prod. Break",
    "Login Time",
    "Logoff Time",
    "Idle Time",
    "Total Calls",
    "Answered Calls",
    "Failed Calls",
    "AHT",
    "Answer Rate (%)",
    "Lunch Time",
    "Tea/Coffee Break",
    "Bio Break",
    "Short Break",
    "Other NPT",
    "Meeting Time",
    "Training Time",
    "Chat Time",
    "Tickets Time",
    "Outbound Time",
];

/// The columns `--extended` appends.
pub const EXTENDED_COLUMNS: [&str; 8] = [
    "Talk Time",
    "Hold Time",
    "Wrap Up Time",
    "DND Time",
    "Unaccounted Time",
    "Idle Count",
    "Not Available Count",
    "Complete",
];

/// Streams the agent report of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let mut columns: Vec<&str> = COLUMNS.to_vec();
    if req.extended {
        columns.extend(EXTENDED_COLUMNS);
    }
    sink.header(&columns)?;

    let mut summary = ReportSummary::default();
    let mut hour: Vec<ActivityRow> = Vec::new();
    let mut fmt = RowFormatter::default();
    store.scan_activity(&req.filter(), &mut |row| {
        if hour
            .first()
            .is_some_and(|h| h.report_hour != row.report_hour)
        {
            summary.rows += flush_hour(&mut hour, zone, req.extended, &mut fmt, sink)?;
        }
        hour.push(row);
        Ok(())
    })?;
    summary.rows += flush_hour(&mut hour, zone, req.extended, &mut fmt, sink)?;
    Ok(summary)
}

/// Writes one hour's rows ordered by extension and empties the buffer.
fn flush_hour(
    hour: &mut Vec<ActivityRow>,
    zone: Zone,
    extended: bool,
    fmt: &mut RowFormatter,
    sink: &mut dyn RowSink,
) -> Result<u64> {
    let Some(first) = hour.first() else {
        return Ok(0);
    };
    let clock = HourClock::new(zone, first.report_hour);
    hour.sort_by(|a, b| ext_order(&a.agent_ext, &b.agent_ext));
    for row in hour.iter() {
        fmt.write(&clock, row, extended, sink)?;
    }
    let n = hour.len() as u64;
    hour.clear();
    Ok(n)
}

/// A total order on extensions: all-digit extensions first, by numeric value (of any
/// length), then every other extension as text. Ties in value (`012` and `12`) fall back to
/// the text so that the order stays total.
pub fn ext_order(a: &str, b: &str) -> Ordering {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (digits(a), digits(b)) {
        (true, true) => {
            let (na, nb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            na.len()
                .cmp(&nb.len())
                .then_with(|| na.cmp(nb))
                .then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// The clock columns shared by every row of one local hour.
pub(crate) struct HourClock {
    pub(crate) interval: String,
    pub(crate) date: String,
    pub(crate) start: String,
    pub(crate) end: String,
}

impl HourClock {
    pub(crate) fn new(zone: Zone, start: i64) -> HourClock {
        let s = zone.local(start);
        // The Interval reads the clock one hour later, so a repeated fall-back hour shows
        // `01:00 - 01:00`; End Time is the hour's actual end.
        let later = zone.local(start + 3600);
        let end = zone.local(zone.next_hour_start(start));
        HourClock {
            interval: format!("{} - {}", s.format("%H:%M"), later.format("%H:%M")),
            date: s.format("%d-%b").to_string(),
            start: s.format("%d/%m/%Y, %H:%M:%S").to_string(),
            end: end.format("%d/%m/%Y, %H:%M:%S").to_string(),
        }
    }
}

/// Formats rows into one reused text buffer, so a row costs no allocation.
#[derive(Default)]
struct RowFormatter {
    text: String,
    spans: Vec<(usize, usize)>,
}

impl RowFormatter {
    fn write(
        &mut self,
        clock: &HourClock,
        r: &ActivityRow,
        extended: bool,
        sink: &mut dyn RowSink,
    ) -> Result<()> {
        let b = &r.buckets;
        // Durations in cell order: the 17 of every report, then the 5 of `--extended`.
        let durations = [
            b.available(),
            b.productive(),
            b.non_productive(),
            b.login,
            b.logoff,
            b.idle,
            aht(b.talk + b.hold + b.wrap_up, r.answered_calls),
            b.lunch,
            b.tea,
            b.bio,
            b.short,
            b.other,
            b.meeting,
            b.training,
            b.chat,
            b.tickets,
            b.outbound,
            b.talk,
            b.hold,
            b.wrap_up,
            b.dnd,
            b.unaccounted,
        ];
        let n_durations = if extended { 22 } else { 17 };

        self.text.clear();
        self.spans.clear();
        for &d in &durations[..n_durations] {
            let from = self.text.len();
            push_duration(&mut self.text, d);
            self.spans.push((from, self.text.len()));
        }
        let from = self.text.len();
        push_rate(&mut self.text, r.answered_calls, r.total_calls);
        let rate = (from, self.text.len());

        let t = |span: (usize, usize)| Cell::Text(&self.text[span.0..span.1]);
        let d = |i: usize| t(self.spans[i]);
        let mut cells: Vec<Cell<'_>> = Vec::with_capacity(35);
        cells.extend([
            Cell::Text(&clock.interval),
            Cell::Text(&clock.date),
            Cell::Text(&clock.start),
            Cell::Text(&clock.end),
            Cell::Text(&r.agent_ext),
            Cell::Text(&r.agent_name),
        ]);
        cells.extend((0..6).map(d));
        cells.extend([
            Cell::Int(r.total_calls),
            Cell::Int(r.answered_calls),
            Cell::Int(r.failed_calls),
            d(6),
            t(rate),
        ]);
        cells.extend((7..17).map(d));
        if extended {
            cells.extend((17..22).map(d));
            cells.extend([
                Cell::Int(r.idle_count),
                Cell::Int(r.notavail_count),
                Cell::Int(r.complete as i64),
            ]);
        }
        sink.row(&cells)
    }
}

/// Average handling time in seconds: handled seconds per answered call, floored; 0 when
/// nothing was answered.
pub fn aht(handled_secs: i64, answered: i64) -> i64 {
    if answered > 0 {
        handled_secs.max(0) / answered
    } else {
        0
    }
}

/// `HH:MM:SS`; hours keep counting past 24 (totals over many hours).
pub fn push_duration(out: &mut String, secs: i64) {
    if secs < 0 {
        out.push('-');
    }
    let s = secs.unsigned_abs();
    let hours = s / 3600;
    if hours < 100 {
        push_two(out, hours);
    } else {
        out.push_str(itoa::Buffer::new().format(hours));
    }
    out.push(':');
    push_two(out, s / 60 % 60);
    out.push(':');
    push_two(out, s % 60);
}

/// Two decimal digits of `n < 100`; by hand because `write!` costs more than the rest of a
/// row's formatting together.
fn push_two(out: &mut String, n: u64) {
    out.push(char::from(b'0' + (n / 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// `answered × 100 / total` rounded half-up to two decimals, in integer arithmetic, with
/// `%`; `0.00%` when there were no calls.
pub fn push_rate(out: &mut String, answered: i64, total: i64) {
    let hundredths = if total > 0 {
        let (num, den) = (answered.max(0) as i128 * 10_000, total as i128);
        let (q, r) = (num / den, num % den);
        if 2 * r >= den { q + 1 } else { q }
    } else {
        0
    };
    out.push_str(itoa::Buffer::new().format(hundredths / 100));
    out.push('.');
    push_two(out, (hundredths % 100) as u64);
    out.push('%');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dur(s: i64) -> String {
        let mut o = String::new();
        push_duration(&mut o, s);
        o
    }

    fn rate(a: i64, t: i64) -> String {
        let mut o = String::new();
        push_rate(&mut o, a, t);
        o
    }

    #[test]
    fn durations_keep_counting_past_a_day() {
        assert_eq!(dur(0), "00:00:00");
        assert_eq!(dur(59), "00:00:59");
        assert_eq!(dur(3600), "01:00:00");
        assert_eq!(dur(3599), "00:59:59");
        assert_eq!(dur(86_400 + 61), "24:01:01");
        assert_eq!(dur(100 * 3600 + 5), "100:00:05");
    }

    #[test]
    fn aht_is_floored_and_zero_without_answers() {
        assert_eq!(aht(100, 3), 33);
        assert_eq!(aht(101, 2), 50);
        assert_eq!(aht(500, 0), 0);
        assert_eq!(dur(aht(7_201, 2)), "01:00:00");
    }

    #[test]
    fn answer_rate_rounds_half_up_in_integers() {
        assert_eq!(rate(1, 8), "12.50%");
        assert_eq!(rate(2, 3), "66.67%");
        assert_eq!(rate(1, 6), "16.67%");
        assert_eq!(rate(1, 3), "33.33%");
        // 1/16 = 6.25 exactly; 1/32 = 3.125 → a tie that rounds up.
        assert_eq!(rate(1, 16), "6.25%");
        assert_eq!(rate(1, 32), "3.13%");
        assert_eq!(rate(1, 800), "0.13%");
        assert_eq!(rate(0, 5), "0.00%");
        assert_eq!(rate(5, 5), "100.00%");
        assert_eq!(rate(0, 0), "0.00%");
    }

    #[test]
    fn extensions_order_numerically_then_as_text() {
        let mut v = vec![
            "3032", "agent7", "999", "10000", "0100", "100", "A1", "", "3012",
        ];
        v.sort_by(|a, b| ext_order(a, b));
        assert_eq!(
            v,
            vec![
                "0100", "100", "999", "3012", "3032", "10000", "", "A1", "agent7"
            ]
        );
        // Digits longer than any integer type still order by value.
        assert_eq!(
            ext_order("99999999999999999999999", "100000000000000000000000"),
            Ordering::Less
        );
    }

    fn clock(zone: &str, local: &str) -> Vec<String> {
        let z = Zone::parse(zone).unwrap();
        let t = crate::hours::parse_instant(z, local, "t").unwrap();
        let c = HourClock::new(z, t);
        vec![c.interval, c.date, c.start, c.end]
    }

    #[test]
    fn clock_columns() {
        assert_eq!(
            clock("Asia/Dubai", "2025-09-07 18:00"),
            [
                "18:00 - 19:00",
                "07-Sep",
                "07/09/2025, 18:00:00",
                "07/09/2025, 19:00:00"
            ]
        );
        assert_eq!(
            clock("UTC", "2025-12-31 23:00"),
            [
                "23:00 - 00:00",
                "31-Dec",
                "31/12/2025, 23:00:00",
                "01/01/2026, 00:00:00"
            ]
        );
    }

    #[test]
    fn kolkata_hours_start_at_half_past_utc() {
        // 2025-08-20T08:30:00Z is 14:00 in Kolkata.
        let z = Zone::parse("Asia/Kolkata").unwrap();
        let c = HourClock::new(z, 1_755_678_600);
        assert_eq!(c.interval, "14:00 - 15:00");
        assert_eq!(c.start, "20/08/2025, 14:00:00");
    }

    #[test]
    fn london_fall_back_repeats_one_oclock() {
        let z = Zone::parse("Europe/London").unwrap();
        // 2025-10-26: 00:00 UTC is 01:00 BST, 01:00 UTC is 01:00 GMT.
        let first = HourClock::new(z, 1_761_436_800);
        let second = HourClock::new(z, 1_761_440_400);
        assert_eq!(first.interval, "01:00 - 01:00");
        assert_eq!(second.interval, "01:00 - 02:00");
        assert_eq!(first.end, "26/10/2025, 01:00:00");
        assert_eq!(second.start, "26/10/2025, 01:00:00");
    }

    #[test]
    fn london_spring_forward_skips_one_oclock() {
        // 2025-03-30: 00:00 GMT is followed by 02:00 BST.
        assert_eq!(
            clock("Europe/London", "2025-03-30 00:00"),
            [
                "00:00 - 02:00",
                "30-Mar",
                "30/03/2025, 00:00:00",
                "30/03/2025, 02:00:00"
            ]
        );
        assert_eq!(
            clock("Europe/London", "2025-03-30 02:00")[0],
            "02:00 - 03:00"
        );
    }
}
