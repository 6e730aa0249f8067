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
    /// A ratio in hundredths of a percent (`1250` is 12.50 %).
    Percent(i64),
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
/// 0 when `whole` is not positive.
pub fn ratio_hundredths(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    let (num, den) = (part.max(0) as i128 * 10_000, whole as i128);
    let (q, r) = (num / den, num % den);
    (if 2 * r >= den { q + 1 } else { q }) as i64
}

/// `12.50` for 1250 hundredths (no sign for the non-negative ratios reports hold).
pub fn push_hundredths(out: &mut String, hundredths: i64) {
    if hundredths < 0 {
        out.push('-');
    }
    let h = hundredths.unsigned_abs();
    out.push_str(itoa::Buffer::new().format(h / 100));
    out.push('.');
    push_two(out, h % 100);
}

/// The text of a cell in the human formats (CSV, HTML), formula rule applied, appended to
/// `out`.
pub fn push_text(out: &mut String, cell: &Cell<'_>) {
    match *cell {
        Cell::Text(s) => out.push_str(&formula_safe(s)),
        Cell::Int(n) => out.push_str(itoa::Buffer::new().format(n)),
        Cell::Duration(s) => push_duration(out, s),
        Cell::Percent(h) => {
            push_hundredths(out, h);
            out.push('%');
        }
        Cell::Date(_, text) => out.push_str(&formula_safe(text)),
        Cell::Clock(c) => out.push_str(&c.text),
        Cell::Flag(b) => out.push(if b { '1' } else { '0' }),
        Cell::Empty => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: Cell<'_>) -> String {
        let mut o = String::new();
        push_text(&mut o, &c);
        o
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
        assert_eq!(text(Cell::Percent(1250)), "12.50%");
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
        assert_eq!(ratio_hundredths(1, 8), 1250);
        assert_eq!(ratio_hundredths(2, 3), 6667);
        assert_eq!(ratio_hundredths(1, 32), 313);
        assert_eq!(ratio_hundredths(1, 0), 0);
        assert_eq!(ratio_hundredths(5, 5), 10_000);
        assert_eq!(text(Cell::Percent(ratio_hundredths(1, 800))), "0.13%");
    }
}
