//! The agent report (SPEC §7.4, §10): one row per agent and local hour, day, ISO week or
//! calendar month, with the exact column headers and order of the spec, the `--extended`
//! columns and KPIs, and `--totals`. Rows arrive from the store in hour order; the rows of
//! one period are summed per agent (at most one accumulator per agent is held), then
//! written ordered by extension with every ratio recomputed from the sums.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::error::Result;
use crate::hours::Zone;
use crate::model::{ActivityRow, Buckets};
use crate::store::Store;

pub use super::cell::push_duration;
use super::cell::{Cell, Clock, Column, Figures, RowKind, col, push_hundredths, ratio_hundredths};
use super::period::{self, By, PeriodTracker};
use super::{ReportFormat, ReportRequest, ReportSummary, RowSink};

/// The columns of every agent report, in order.
pub const COLUMNS: [Column; 27] = [
    col("Interval", "interval"),
    col("Date", "date"),
    col("Start Time", "start"),
    col("End Time", "end"),
    col("Ext", "ext"),
    col("Name", "name"),
    col("Available Time", "available_secs"),
    col("Productive Break", "productive_secs"),
    col("Non-Prod. Break", "non_productive_secs"),
    col("Login Time", "login_secs"),
    col("Logoff Time", "logoff_secs"),
    col("Idle Time", "idle_secs"),
    col("Total Calls", "total_calls"),
    col("Answered Calls", "answered_calls"),
    col("Failed Calls", "failed_calls"),
    col("AHT", "aht_secs"),
    col("Answer Rate (%)", "answer_rate_pct"),
    col("Lunch Time", "lunch_secs"),
    col("Tea/Coffee Break", "tea_coffee_secs"),
    col("Bio Break", "bio_break_secs"),
    col("Short Break", "short_break_secs"),
    col("Other NPT", "other_npt_secs"),
    col("Meeting Time", "meeting_secs"),
    col("Training Time", "training_secs"),
    col("Chat Time", "chat_secs"),
    col("Tickets Time", "tickets_secs"),
    col("Outbound Time", "outbound_secs"),
];

/// The columns `--extended` appends: the §7.4 ones, then the KPIs of §10.
pub const EXTENDED_COLUMNS: [Column; 10] = [
    col("Talk Time", "talk_secs"),
    col("Hold Time", "hold_secs"),
    col("Wrap Up Time", "wrap_up_secs"),
    col("DND Time", "dnd_secs"),
    col("Unaccounted Time", "unaccounted_secs"),
    col("Idle Count", "idle_count"),
    col("Not Available Count", "not_available_count"),
    col("Complete", "complete"),
    col("Occupancy (%)", "occupancy_pct"),
    col("Utilization (%)", "utilization_pct"),
];

/// Index of `Complete` among all columns (JSON always carries it).
const COMPLETE: usize = COLUMNS.len() + 7;

/// The indices (into [`COLUMNS`] then [`EXTENDED_COLUMNS`]) a request shows.
fn shown(req: &ReportRequest) -> Vec<usize> {
    let all = COLUMNS.len() + EXTENDED_COLUMNS.len();
    if req.extended {
        (0..all).collect()
    } else if req.format == ReportFormat::Json {
        (0..COLUMNS.len()).chain([COMPLETE]).collect()
    } else {
        (0..COLUMNS.len()).collect()
    }
}

/// The sums of one agent (or of all agents, for a total) over one period.
#[derive(Debug, Clone, Default)]
pub struct AgentSums {
    pub name: String,
    pub buckets: Buckets,
    pub idle_count: i64,
    pub notavail_count: i64,
    pub total_calls: i64,
    pub answered_calls: i64,
    pub failed_calls: i64,
    pub covered_secs: i64,
    pub hours: i64,
    /// Hours among them that are not over yet.
    pub incomplete_hours: i64,
}

fn add_buckets(a: &mut Buckets, b: &Buckets) {
    a.idle += b.idle;
    a.talk += b.talk;
    a.wrap_up += b.wrap_up;
    a.hold += b.hold;
    a.meeting += b.meeting;
    a.training += b.training;
    a.chat += b.chat;
    a.tickets += b.tickets;
    a.outbound += b.outbound;
    a.lunch += b.lunch;
    a.tea += b.tea;
    a.bio += b.bio;
    a.short += b.short;
    a.other += b.other;
    a.login += b.login;
    a.logoff += b.logoff;
    a.dnd += b.dnd;
    a.unaccounted += b.unaccounted;
}

impl AgentSums {
    /// Adds one hourly row; the name is the latest hour's.
    pub fn add_row(&mut self, r: &ActivityRow) {
        if self.name != r.agent_name {
            self.name.clone_from(&r.agent_name);
        }
        add_buckets(&mut self.buckets, &r.buckets);
        self.idle_count += r.idle_count;
        self.notavail_count += r.notavail_count;
        self.total_calls += r.total_calls;
        self.answered_calls += r.answered_calls;
        self.failed_calls += r.failed_calls;
        self.covered_secs += r.covered_secs;
        self.hours += 1;
        self.incomplete_hours += i64::from(!r.complete);
    }

    /// Adds another agent's sums (for totals; the name is not kept).
    pub fn add_sums(&mut self, o: &AgentSums) {
        add_buckets(&mut self.buckets, &o.buckets);
        self.idle_count += o.idle_count;
        self.notavail_count += o.notavail_count;
        self.total_calls += o.total_calls;
        self.answered_calls += o.answered_calls;
        self.failed_calls += o.failed_calls;
        self.covered_secs += o.covered_secs;
        self.hours += o.hours;
        self.incomplete_hours += o.incomplete_hours;
    }

    /// Talk + Hold + Wrap-up.
    pub fn handled(&self) -> i64 {
        self.buckets.talk + self.buckets.hold + self.buckets.wrap_up
    }

    /// `Occupancy (%)`: handled time over available time, in hundredths.
    pub fn occupancy(&self) -> i64 {
        ratio_hundredths(self.handled(), self.buckets.available())
    }

    /// `Utilization (%)`: handled and productive time over the logged-in time (covered
    /// minus logoff and unaccounted), in hundredths.
    pub fn utilization(&self) -> i64 {
        ratio_hundredths(
            self.handled() + self.buckets.productive(),
            self.covered_secs - self.buckets.logoff - self.buckets.unaccounted,
        )
    }
}

/// The clock columns of one row: Interval, Date (with its date), Start and End Time.
pub(crate) struct RowClock {
    pub(crate) interval: String,
    pub(crate) date: chrono::NaiveDate,
    pub(crate) date_text: String,
    pub(crate) start: Clock,
    pub(crate) end: Clock,
    /// The range cut the period.
    pub(crate) cut: bool,
}

impl RowClock {
    /// The clock of the local hour starting at `start`: the Interval reads the clock one
    /// hour later, so a repeated fall-back hour shows `01:00 - 01:00`; End Time is the
    /// hour's actual end.
    pub(crate) fn hour(zone: Zone, start: i64) -> RowClock {
        let s = zone.local(start);
        let later = zone.local(start + 3600);
        RowClock {
            interval: format!("{} - {}", s.format("%H:%M"), later.format("%H:%M")),
            date: s.date_naive(),
            date_text: s.format("%d-%b").to_string(),
            start: Clock::new(zone, start),
            end: Clock::new(zone, zone.next_hour_start(start)),
            cut: false,
        }
    }

    /// The clock of a row: an hour, or the period `key` of `by` cut to `range`.
    pub(crate) fn of(by: By, zone: Zone, key: i64, range: (i64, i64)) -> RowClock {
        if by == By::Hour {
            return RowClock::hour(zone, key);
        }
        let p = period::span(by, zone, key, range.0, range.1);
        RowClock {
            interval: p.label,
            date: p.first_date,
            date_text: p.first_date.format("%d-%b").to_string(),
            start: Clock::new(zone, p.start),
            end: Clock::new(zone, p.end),
            cut: p.cut,
        }
    }

    /// The grand total's clock: the whole range.
    pub(crate) fn range(zone: Zone, range: (i64, i64)) -> RowClock {
        let d = zone.local(range.0).date_naive();
        RowClock {
            interval: "Total".into(),
            date: d,
            date_text: d.format("%d-%b").to_string(),
            start: Clock::new(zone, range.0),
            end: Clock::new(zone, range.1),
            cut: false,
        }
    }
}

/// Groups hourly rows into periods as they stream by: the period in progress, one
/// accumulator per agent in it, and the grand total.
struct Periods<'s> {
    by: By,
    zone: Zone,
    range: (i64, i64),
    shown: Vec<usize>,
    totals: bool,
    sink: &'s mut dyn RowSink,
    /// The period in progress.
    period: PeriodTracker,
    agents: Vec<(String, AgentSums)>,
    index: HashMap<String, usize>,
    grand: AgentSums,
    rows: u64,
}

impl Periods<'_> {
    fn add(&mut self, row: ActivityRow) -> Result<()> {
        let h = row.report_hour;
        if let Some(key) = self.period.next_period(self.by, self.zone, h) {
            self.flush()?;
            self.period.enter(key, h);
        }
        match self.index.get(&row.agent_ext) {
            Some(&i) => self.agents[i].1.add_row(&row),
            None => {
                let mut sums = AgentSums::default();
                sums.add_row(&row);
                self.index.insert(row.agent_ext.clone(), self.agents.len());
                self.agents.push((row.agent_ext, sums));
            }
        }
        Ok(())
    }

    /// Writes the period in progress: its agents by extension, then its total.
    fn flush(&mut self) -> Result<()> {
        let Some(key) = self.period.take() else {
            return Ok(());
        };
        let clock = RowClock::of(self.by, self.zone, key, self.range);
        self.agents.sort_by(|a, b| ext_order(&a.0, &b.0));
        let mut total = AgentSums::default();
        for (ext, sums) in &self.agents {
            write_row(&clock, ext, sums, RowKind::Detail, &self.shown, self.sink)?;
            total.add_sums(sums);
        }
        self.rows += self.agents.len() as u64;
        if self.totals {
            write_row(
                &clock,
                "TOTAL",
                &total,
                RowKind::Total,
                &self.shown,
                self.sink,
            )?;
        }
        self.grand.add_sums(&total);
        self.agents.clear();
        self.index.clear();
        Ok(())
    }
}

/// Streams the agent report of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let shown = shown(req);
    let all: Vec<Column> = COLUMNS.iter().chain(&EXTENDED_COLUMNS).copied().collect();
    let columns: Vec<Column> = shown.iter().map(|&i| all[i]).collect();
    sink.header(&req.meta("Agents", zone), &columns)?;
    let range = req.instants(zone);
    let mut p = Periods {
        by: req.by,
        zone,
        range,
        shown,
        totals: req.totals,
        sink,
        period: PeriodTracker::default(),
        agents: Vec::new(),
        index: HashMap::new(),
        grand: AgentSums::default(),
        rows: 0,
    };
    store.scan_activity(&req.filter(), &mut |row| p.add(row))?;
    p.flush()?;
    if req.totals && p.grand.hours > 0 {
        let clock = RowClock::range(zone, range);
        write_row(&clock, "TOTAL", &p.grand, RowKind::Total, &p.shown, p.sink)?;
    }
    Ok(ReportSummary { rows: p.rows })
}

/// Writes one row of `sums` with the columns `shown`.
fn write_row(
    clock: &RowClock,
    ext: &str,
    s: &AgentSums,
    kind: RowKind,
    shown: &[usize],
    sink: &mut dyn RowSink,
) -> Result<()> {
    if kind == RowKind::Detail {
        sink.observe(&Figures::Agent {
            period: &clock.interval,
            ext,
            sums: s,
        });
    }
    let b = &s.buckets;
    let name = if kind == RowKind::Total {
        ""
    } else {
        s.name.as_str()
    };
    let complete = s.incomplete_hours == 0 && !clock.cut;
    let all: [Cell<'_>; 37] = [
        Cell::Text(&clock.interval),
        Cell::Date(clock.date, &clock.date_text),
        Cell::Clock(&clock.start),
        Cell::Clock(&clock.end),
        Cell::Text(ext),
        Cell::Text(name),
        Cell::Duration(b.available()),
        Cell::Duration(b.productive()),
        Cell::Duration(b.non_productive()),
        Cell::Duration(b.login),
        Cell::Duration(b.logoff),
        Cell::Duration(b.idle),
        Cell::Int(s.total_calls),
        Cell::Int(s.answered_calls),
        Cell::Int(s.failed_calls),
        Cell::Duration(aht(s.handled(), s.answered_calls)),
        Cell::Percent(ratio_hundredths(s.answered_calls, s.total_calls)),
        Cell::Duration(b.lunch),
        Cell::Duration(b.tea),
        Cell::Duration(b.bio),
        Cell::Duration(b.short),
        Cell::Duration(b.other),
        Cell::Duration(b.meeting),
        Cell::Duration(b.training),
        Cell::Duration(b.chat),
        Cell::Duration(b.tickets),
        Cell::Duration(b.outbound),
        Cell::Duration(b.talk),
        Cell::Duration(b.hold),
        Cell::Duration(b.wrap_up),
        Cell::Duration(b.dnd),
        Cell::Duration(b.unaccounted),
        Cell::Int(s.idle_count),
        Cell::Int(s.notavail_count),
        Cell::Flag(complete),
        Cell::Percent(s.occupancy()),
        Cell::Percent(s.utilization()),
    ];
    if shown.len() == all.len() {
        return sink.row(kind, &all);
    }
    let mut cells = [Cell::Empty; 37];
    for (slot, &i) in cells.iter_mut().zip(shown) {
        *slot = all[i];
    }
    sink.row(kind, &cells[..shown.len()])
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

/// Average handling time in seconds: handled seconds per answered call, floored; 0 when
/// nothing was answered.
pub fn aht(handled_secs: i64, answered: i64) -> i64 {
    if answered > 0 {
        handled_secs.max(0) / answered
    } else {
        0
    }
}

/// `answered × 100 / total` rounded half-up to two decimals, in integer arithmetic, with
/// `%`; `0.00%` when there were no calls.
pub fn push_rate(out: &mut String, answered: i64, total: i64) {
    push_hundredths(out, ratio_hundredths(answered, total));
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
        let c = RowClock::hour(z, t);
        vec![c.interval, c.date_text, c.start.text, c.end.text]
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
        let c = RowClock::hour(z, 1_755_678_600);
        assert_eq!(c.interval, "14:00 - 15:00");
        assert_eq!(c.start.text, "20/08/2025, 14:00:00");
    }

    #[test]
    fn london_fall_back_repeats_one_oclock() {
        let z = Zone::parse("Europe/London").unwrap();
        // 2025-10-26: 00:00 UTC is 01:00 BST, 01:00 UTC is 01:00 GMT.
        let first = RowClock::hour(z, 1_761_436_800);
        let second = RowClock::hour(z, 1_761_440_400);
        assert_eq!(first.interval, "01:00 - 01:00");
        assert_eq!(second.interval, "01:00 - 02:00");
        assert_eq!(first.end.text, "26/10/2025, 01:00:00");
        assert_eq!(second.start.text, "26/10/2025, 01:00:00");
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
