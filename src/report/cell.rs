//! What report kinds hand to the renderers (SPEC §10): columns with a human header and a
//! machine key, and typed cells, so that each format writes a duration, a ratio or an
//! instant in its own way (text in CSV and HTML, seconds and RFC 3339 in JSON, Excel
//! durations and dates in XLSX) from one row.

use chrono::{DateTime, FixedOffset, NaiveDate};

/// One column: its header in the human formats and its snake_case key in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    pub key: &'static str,
}

/// Shorthand for a column table.
pub const fn col(header: &'static str, key: &'static str) -> Column {
    Column { header, key }
}

/// A local instant as the report shows it: the text of the human formats and the instant
/// with its UTC offset for the machine ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub text: String,
    pub at: DateTime<FixedOffset>,
}

impl Clock {
    /// `07/09/2025, 18:00:00` at instant `t` in `zone`.
    pub fn new(zone: crate::hours::Zone, t: i64) -> Clock {
        let local = zone.local(t);
        Clock {
            text: local.format("%d/%m/%Y, %H:%M:%S").to_string(),
            at: local.fixed_offset(),
        }
    }
}

/// One cell of a report row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Text; in the human formats it is guarded by [`formula_safe`].
    Text(&'a str),
    /// A count.
    Int(i64),
    /// Seconds.
    Duration(i64),
    /// A mean in seconds; `None` when there was nothing to average (ASA with nothing
    /// answered): `00:00:00` in CSV and on a terminal, as §7.4 has it, empty elsewhere.
    Mean(Option<i64>),
    /// A ratio in hundredths of a percent (`1250` is 12.50 %); `None` when its denominator
    /// is zero: `0.00%` in CSV and on a terminal, as §7.4 has it, empty elsewhere, so that
    /// a spreadsheet's averages leave it out.
    Percent(Option<i64>),
    /// A local date and its text (`07-Sep`).
    Date(NaiveDate, &'a str),
    /// A local instant.
    Clock(&'a Clock),
    /// A yes/no figure (`Complete`): `1`/`0` in the human formats.
    Flag(bool),
    /// An unknown value: an empty cell, `null` in JSON.
    Empty,
}

/// Whether a row is an agent's (or queue's, or call's) or a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Detail,
    Total,
}

/// How dates and instants read in the text formats (`--dates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateStyle {
    /// The seed-compatible `07-Sep` and `07/09/2025, 18:00:00`.
    #[default]
    Seed,
    /// `2025-09-07` and `2025-09-07 18:00:00`, which every spreadsheet locale reads as dates.
    Iso,
}

impl DateStyle {
    pub fn parse(s: &str, arg: &str) -> crate::error::Result<DateStyle> {
        match s.trim() {
            "seed" => Ok(DateStyle::Seed),
            "iso" => Ok(DateStyle::Iso),
            _ => Err(crate::error::Error::usage(format!(
                "{arg} '{s}' is not a date style; expected seed or iso"
            ))),
        }
    }
}

/// How the text formats (CSV, HTML, the terminal's table) write typed cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStyle {
    pub dates: DateStyle,
    /// A comma before the decimals (`12,50%`): what a `;`-separated CSV's locales expect.
    pub decimal_comma: bool,
}

/// What the whole report is, for the formats that show it (HTML's summary, the sheet name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMeta {
    /// `Agents`, `Queues` or `Calls`.
    pub title: &'static str,
    /// The requested range, local.
    pub range: String,
    pub zone: String,
    /// `hour`, `day`, `week` or `month`.
    pub by: &'static str,
    /// The range's first local date: also the workbook's creation date, so that the same
    /// report is the same bytes whenever it is made.
    pub start_date: NaiveDate,
    /// The queue report's service level threshold and basis (`20 s, offered-minus-short`).
    pub service_level: Option<String>,
}

/// The header a human format shows for `column`: the queue report's service level column
/// names its threshold and basis there (the CSV keeps the spec's header).
pub fn shown_header(meta: &ReportMeta, column: &Column) -> String {
    match (&meta.service_level, column.key) {
        (Some(sl), "service_level_pct") => format!("Service Level (%, {sl})"),
        _ => column.header.to_string(),
    }
}

/// The OWASP rule against spreadsheet formula injection (SPEC §9): text beginning with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
pub fn formula_safe(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
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

/// `part × 100 / whole` in hundredths of a percent, rounded half-up in integer arithmetic;
/// `None` when `whole` is not positive.
pub fn ratio_hundredths(part: i64, whole: i64) -> Option<i64> {
    if whole <= 0 {
        return None;
    }
    let (num, den) = (part.max(0) as i128 * 10_000, whole as i128);
    let (q, r) = (num / den, num % den);
    Some((if 2 * r >= den { q + 1 } else { q }) as i64)
}

/// `12.50` for 1250 hundredths (no sign for the non-negative ratios reports hold); `point`
/// separates the decimals.
pub fn push_hundredths(out: &mut String, hundredths: i64, point: char) {
    if hundredths < 0 {
        out.push('-');
    }
    let h = hundredths.unsigned_abs();
    out.push_str(itoa::Buffer::new().format(h / 100));
    out.push(point);
    push_two(out, h % 100);
}

/// Where the text of a zero-denominator ratio or an empty mean goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undefined {
    /// As zero (§7.4's CSV and the terminal's table, which mirrors it).
    Zero,
    /// As nothing (HTML).
    Blank,
}

/// The text of a cell in the human formats (CSV, HTML, the terminal), formula rule applied,
/// appended to `out`; `undefined` says how a ratio without a denominator reads.
pub fn push_text(out: &mut String, cell: &Cell<'_>, style: &TextStyle, undefined: Undefined) {
    let point = if style.decimal_comma { ',' } else { '.' };
    let zero = undefined == Undefined::Zero;
    match *cell {
        Cell::Text(s) => out.push_str(&formula_safe(s)),
        Cell::Int(n) => out.push_str(itoa::Buffer::new().format(n)),
        Cell::Duration(s) => push_duration(out, s),
        Cell::Mean(m) => {
            if let Some(s) = m.or(zero.then_some(0)) {
                push_duration(out, s);
            }
        }
        Cell::Percent(h) => {
            if let Some(h) = h.or(zero.then_some(0)) {
                push_hundredths(out, h, point);
                out.push('%');
            }
        }
        Cell::Date(d, text) => match style.dates {
            DateStyle::Seed => out.push_str(&formula_safe(text)),
            DateStyle::Iso => out.push_str(&d.format("%Y-%m-%d").to_string()),
        },
        Cell::Clock(c) => match style.dates {
            DateStyle::Seed => out.push_str(&c.text),
            DateStyle::Iso => out.push_str(&c.at.format("%Y-%m-%d %H:%M:%S").to_string()),
        },
        Cell::Flag(b) => out.push(if b { '1' } else { '0' }),
        Cell::Empty => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: Cell<'_>) -> String {
        let mut o = String::new();
        push_text(&mut o, &c, &TextStyle::default(), Undefined::Zero);
        o
    }

    fn styled(c: Cell<'_>, style: TextStyle, undefined: Undefined) -> String {
        let mut o = String::new();
        push_text(&mut o, &c, &style, undefined);
        o
    }

    #[test]
    fn iso_dates_and_decimal_commas() {
        let zone = crate::hours::Zone::parse("Europe/London").unwrap();
        let clock = Clock::new(zone, 1_757_253_600);
        let date = NaiveDate::from_ymd_opt(2025, 9, 7).unwrap();
        let iso = TextStyle {
            dates: DateStyle::Iso,
            decimal_comma: false,
        };
        assert_eq!(text(Cell::Clock(&clock)), "07/09/2025, 15:00:00");
        assert_eq!(
            styled(Cell::Clock(&clock), iso, Undefined::Zero),
            "2025-09-07 15:00:00"
        );
        assert_eq!(
            styled(Cell::Date(date, "07-Sep"), iso, Undefined::Zero),
            "2025-09-07"
        );
        let comma = TextStyle {
            dates: DateStyle::Seed,
            decimal_comma: true,
        };
        assert_eq!(
            styled(Cell::Percent(Some(1250)), comma, Undefined::Zero),
            "12,50%"
        );
        assert_eq!(styled(Cell::Percent(None), comma, Undefined::Zero), "0,00%");
        assert_eq!(DateStyle::parse("iso", "--dates").unwrap(), DateStyle::Iso);
        let e = DateStyle::parse("us", "dates").unwrap_err().to_string();
        assert_eq!(e, "dates 'us' is not a date style; expected seed or iso");
    }

    #[test]
    fn undefined_ratios_are_zero_in_csv_and_blank_in_html() {
        let seed = TextStyle::default();
        assert_eq!(text(Cell::Percent(None)), "0.00%");
        assert_eq!(text(Cell::Mean(None)), "00:00:00");
        assert_eq!(styled(Cell::Percent(None), seed, Undefined::Blank), "");
        assert_eq!(styled(Cell::Mean(None), seed, Undefined::Blank), "");
        assert_eq!(
            styled(Cell::Mean(Some(61)), seed, Undefined::Blank),
            "00:01:01"
        );
    }

    #[test]
    fn formula_rule_guards_text_only() {
        for s in ["=1+2", "+44 20", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(formula_safe(s), format!("'{s}"), "{s:?}");
        }
        for s in ["", "Jo", "3012", "'x", " =x"] {
            assert_eq!(formula_safe(s), s);
        }
        assert_eq!(text(Cell::Text("=HYPERLINK(\"x\")")), "'=HYPERLINK(\"x\")");
        // Numbers and durations are not text: a negative one keeps its sign.
        assert_eq!(text(Cell::Int(-3)), "-3");
        assert_eq!(text(Cell::Duration(-5)), "-00:00:05");
        assert_eq!(text(Cell::Percent(Some(1250))), "12.50%");
        assert_eq!(text(Cell::Flag(true)), "1");
        assert_eq!(text(Cell::Empty), "");
    }

    #[test]
    fn durations_keep_counting_past_a_day() {
        let dur = |s| text(Cell::Duration(s));
        assert_eq!(dur(0), "00:00:00");
        assert_eq!(dur(59), "00:00:59");
        assert_eq!(dur(3600), "01:00:00");
        assert_eq!(dur(3599), "00:59:59");
        assert_eq!(dur(86_400 + 61), "24:01:01");
        assert_eq!(dur(100 * 3600 + 5), "100:00:05");
    }

    #[test]
    fn ratios_round_half_up_in_integers() {
        assert_eq!(ratio_hundredths(1, 8), Some(1250));
        assert_eq!(ratio_hundredths(2, 3), Some(6667));
        assert_eq!(ratio_hundredths(1, 32), Some(313));
        assert_eq!(ratio_hundredths(1, 0), None);
        assert_eq!(ratio_hundredths(5, 5), Some(10_000));
        assert_eq!(text(Cell::Percent(ratio_hundredths(1, 800))), "0.13%");
    }
}
