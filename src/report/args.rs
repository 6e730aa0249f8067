//! The report arguments as the user typed them, from command-line flags or query
//! parameters, the names they go by in each, and the parsers of their values. Errors name
//! the argument as the user typed it (`--start-date` on the command line, `startDate` over
//! HTTP).

use chrono::{NaiveTime, Timelike};

use crate::error::{Error, Result};
use crate::model::queue::Outcome;

/// How the arguments are named where the request came from, so that errors name the
/// argument the user actually typed (`--start-date` on the command line, `startDate` over
/// HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgNames {
    Cli,
    Http,
}

impl ArgNames {
    pub(super) fn name(self, field: Field) -> &'static str {
        use Field::*;
        match (self, field) {
            (ArgNames::Cli, StartDate) => "--start-date",
            (ArgNames::Cli, EndDate) => "--end-date",
            (ArgNames::Cli, StartTime) => "--start-time",
            (ArgNames::Cli, EndTime) => "--end-time",
            (ArgNames::Cli, Format) => "--format",
            (ArgNames::Cli, Kind) => "--kind",
            (ArgNames::Cli, Ext) => "--ext",
            (ArgNames::Cli, Extended) => "--extended",
            (ArgNames::Cli, By) => "--by",
            (ArgNames::Cli, Totals) => "--totals",
            (ArgNames::Cli, Bom) => "--bom",
            (ArgNames::Cli, Delimiter) => "--delimiter",
            (ArgNames::Cli, Queue) => "--queue",
            (ArgNames::Cli, Outcome) => "--outcome",
            (ArgNames::Cli, Dates) => "--dates",
            (ArgNames::Cli, SlSecs) => "--sl-secs",
            (ArgNames::Cli, SlBasis) => "--sl-basis",
            (ArgNames::Cli, CallbackWindow) => "--callback-window",
            (ArgNames::Cli, Pending) => "--pending",
            (ArgNames::Cli, Buckets) => "--buckets",
            (ArgNames::Cli, Sort) => "--sort",
            (ArgNames::Cli, Top) => "--top",
            (ArgNames::Cli, Paper) => "--paper",
            (ArgNames::Http, StartDate) => "startDate",
            (ArgNames::Http, EndDate) => "endDate",
            (ArgNames::Http, StartTime) => "startTime",
            (ArgNames::Http, EndTime) => "endTime",
            (ArgNames::Http, Format) => "format",
            (ArgNames::Http, Kind) => "kind",
            (ArgNames::Http, Ext) => "ext",
            (ArgNames::Http, Extended) => "extended",
            (ArgNames::Http, By) => "by",
            (ArgNames::Http, Totals) => "totals",
            (ArgNames::Http, Bom) => "bom",
            (ArgNames::Http, Delimiter) => "delimiter",
            (ArgNames::Http, Queue) => "queue",
            (ArgNames::Http, Outcome) => "outcome",
            (ArgNames::Http, Dates) => "dates",
            (ArgNames::Http, SlSecs) => "slSecs",
            (ArgNames::Http, SlBasis) => "slBasis",
            (ArgNames::Http, CallbackWindow) => "callbackWindow",
            (ArgNames::Http, Pending) => "pending",
            (ArgNames::Http, Buckets) => "buckets",
            (ArgNames::Http, Sort) => "sort",
            (ArgNames::Http, Top) => "top",
            (ArgNames::Http, Paper) => "paper",
        }
    }
}

/// An argument of a report request, whatever it is called where the request came from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Field {
    StartDate,
    EndDate,
    StartTime,
    EndTime,
    Format,
    Kind,
    Ext,
    Extended,
    By,
    Totals,
    Bom,
    Delimiter,
    Queue,
    Outcome,
    Dates,
    SlSecs,
    SlBasis,
    CallbackWindow,
    Pending,
    Buckets,
    Sort,
    Top,
    Paper,
}

/// The report arguments as the user typed them (flags or query parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawReportArgs {
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub format: Option<String>,
    pub kind: Option<String>,
    pub ext: Option<String>,
    pub extended: bool,
    pub by: Option<String>,
    pub totals: bool,
    pub bom: bool,
    pub delimiter: Option<String>,
    pub queue: Option<String>,
    pub outcome: Option<String>,
    /// `seed` or `iso`.
    pub dates: Option<String>,
    /// Queue report: the service level threshold in seconds.
    pub sl_secs: Option<String>,
    /// Queue report: the service level's denominator.
    pub sl_basis: Option<String>,
    /// Unanswered list: how long after a stint a callback counts (`24h`).
    pub callback_window: Option<String>,
    /// Unanswered list: only the stints nobody called back.
    pub pending: bool,
    /// Wait distribution: the bucket limits in seconds (`10,20,30`).
    pub buckets: Option<String>,
    /// Agent and queue reports: `COLUMN[:asc]` to order each period's rows by.
    pub sort: Option<String>,
    /// Agent and queue reports: the first N rows of each period.
    pub top: Option<String>,
    /// PDF: `a4` or `letter`.
    pub paper: Option<String>,
}

/// The query parameters of `/api/report`, in the order error messages list them.
const REPORT_PARAMS: &str = "startDate, endDate, startTime, endTime, format, kind, by, ext, queue, outcome, extended, totals, bom, delimiter, dates, slSecs, slBasis, callbackWindow, pending, buckets, sort, top, paper";

impl RawReportArgs {
    /// Maps the query pairs of `/api/report` or the web page onto the report arguments,
    /// refusing unknown and repeated names. The error is the message alone: the server
    /// answers it as it is.
    pub fn from_query(pairs: Vec<(String, String)>) -> std::result::Result<RawReportArgs, String> {
        let mut raw = RawReportArgs::default();
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in pairs {
            if seen.contains(&k) {
                return Err(format!("{k} is given twice; expected it once"));
            }
            // A plain HTML form sends its empty fields too: empty is not given.
            if v.is_empty() && !matches!(k.as_str(), "extended" | "totals" | "bom" | "pending") {
                seen.push(k);
                continue;
            }
            let slot = match k.as_str() {
                "startDate" => &mut raw.start_date,
                "endDate" => &mut raw.end_date,
                "startTime" => &mut raw.start_time,
                "endTime" => &mut raw.end_time,
                "format" => &mut raw.format,
                "kind" => &mut raw.kind,
                "ext" => &mut raw.ext,
                "by" => &mut raw.by,
                "queue" => &mut raw.queue,
                "outcome" => &mut raw.outcome,
                "delimiter" => &mut raw.delimiter,
                "dates" => &mut raw.dates,
                "slSecs" => &mut raw.sl_secs,
                "slBasis" => &mut raw.sl_basis,
                "callbackWindow" => &mut raw.callback_window,
                "buckets" => &mut raw.buckets,
                "sort" => &mut raw.sort,
                "top" => &mut raw.top,
                "paper" => &mut raw.paper,
                "extended" | "totals" | "bom" | "pending" => {
                    let on = match v.as_str() {
                        "" | "1" | "true" | "on" => true,
                        "0" | "false" | "off" => false,
                        _ => {
                            return Err(format!(
                                "{k} '{v}' is not a flag; expected true, false, 1 or 0"
                            ));
                        }
                    };
                    match k.as_str() {
                        "extended" => raw.extended = on,
                        "totals" => raw.totals = on,
                        "pending" => raw.pending = on,
                        _ => raw.bom = on,
                    }
                    seen.push(k);
                    continue;
                }
                _ => {
                    return Err(format!(
                        "unknown parameter '{k}'; expected one of {REPORT_PARAMS}"
                    ));
                }
            };
            *slot = Some(v);
            seen.push(k);
        }
        Ok(raw)
    }
}

/// Most items one `--ext` or `--queue` list may name; far above any real filter, it bounds
/// the statement a request can make the database prepare.
pub(super) const MAX_LISTED: usize = 500;
/// Longest extension accepted in `--ext`.
const MAX_EXT_LEN: usize = 64;

pub(super) fn opt_time(s: Option<&str>, arg: &str) -> Result<Option<NaiveTime>> {
    let Some(s) = s else { return Ok(None) };
    let t = s.trim();
    let shaped = matches!(t.len(), 5 | 8)
        && t.bytes()
            .enumerate()
            .all(|(i, b)| matches!(i, 2 | 5) == (b == b':') && (b == b':' || b.is_ascii_digit()));
    let parsed = match t.len() {
        5 => NaiveTime::parse_from_str(t, "%H:%M"),
        _ => NaiveTime::parse_from_str(t, "%H:%M:%S"),
    };
    match parsed {
        // chrono reads `:60` as a leap second; a clock time never has one.
        Ok(time) if shaped && time.nanosecond() == 0 => Ok(Some(time)),
        _ => Err(Error::usage(format!(
            "{arg} '{s}' is not a time; expected HH:MM or HH:MM:SS, e.g. 18:00"
        ))),
    }
}

/// Extensions: comma-separated letters, digits, `-`, `_`, `.` and `@`.
pub fn parse_exts(s: &str, arg: &str) -> Result<Vec<String>> {
    let valid = |e: &str| {
        !e.is_empty()
            && e.len() <= MAX_EXT_LEN
            && e.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
    };
    parse_list(
        s,
        arg,
        valid,
        "a list of extensions; expected comma-separated extensions of letters, digits, '-', '_', '.', '@', e.g. 3012,3032",
        "extensions",
    )
}

/// Queue names: comma-separated, non-empty, without control characters.
pub(super) fn parse_names(s: &str, arg: &str) -> Result<Vec<String>> {
    let valid = |n: &str| !n.is_empty() && n.len() <= 128 && !n.chars().any(char::is_control);
    parse_list(
        s,
        arg,
        valid,
        "a list of queue names; expected comma-separated names, e.g. sales,support",
        "queues",
    )
}

/// A comma-separated list of distinct items, each trimmed and `valid`, at most
/// [`MAX_LISTED`]. `shape` says what the list was expected to be, `plural` what it names.
fn parse_list(
    s: &str,
    arg: &str,
    valid: impl Fn(&str) -> bool,
    shape: &str,
    plural: &str,
) -> Result<Vec<String>> {
    let mut items: Vec<String> = Vec::new();
    for part in s.split(',') {
        let item = part.trim();
        if !valid(item) {
            return Err(Error::usage(format!("{arg} '{s}' is not {shape}")));
        }
        if !items.iter().any(|x| x == item) {
            items.push(item.to_string());
        }
    }
    if items.len() > MAX_LISTED {
        return Err(Error::usage(format!(
            "{arg} names {} {plural}; expected at most {MAX_LISTED}",
            items.len()
        )));
    }
    Ok(items)
}

pub(super) fn parse_outcomes(s: &str, arg: &str) -> Result<Vec<Outcome>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match Outcome::parse(&part.trim().to_ascii_uppercase()) {
            Some(o) if !out.contains(&o) => out.push(o),
            Some(_) => {}
            None => {
                return Err(Error::usage(format!(
                    "{arg} '{s}' is not a list of outcomes; expected comma-separated ANSWERED, ABANDON, TIMEOUT, EXITWITHKEY, EXITEMPTY, WITHDRAW, TRANSFER or INCOMPLETE"
                )));
            }
        }
    }
    Ok(out)
}

/// One separator byte: `;`, `,`, `|`, or a tab (`\t` or `tab`).
pub(super) fn parse_delimiter(s: &str, arg: &str) -> Result<u8> {
    match s {
        "," => Ok(b','),
        ";" => Ok(b';'),
        "|" => Ok(b'|'),
        "\t" | "\\t" | "tab" => Ok(b'\t'),
        _ => Err(Error::usage(format!(
            "{arg} '{s}' is not a separator; expected ',', ';', '|' or tab"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_pairs_map_onto_report_arguments() {
        let raw = RawReportArgs::from_query(pairs(&[
            ("startDate", "2025-09-07"),
            ("ext", "3012"),
            ("extended", ""),
        ]))
        .unwrap();
        assert_eq!(raw.start_date.as_deref(), Some("2025-09-07"));
        assert_eq!(raw.ext.as_deref(), Some("3012"));
        assert!(raw.extended);
        let e = RawReportArgs::from_query(pairs(&[("startdate", "x")])).unwrap_err();
        assert!(e.starts_with("unknown parameter 'startdate'"), "{e}");
        let e = RawReportArgs::from_query(pairs(&[("ext", "1"), ("ext", "2")])).unwrap_err();
        assert!(e.starts_with("ext is given twice"), "{e}");
        let e = RawReportArgs::from_query(pairs(&[("extended", "yes")])).unwrap_err();
        assert!(e.starts_with("extended 'yes'"), "{e}");
    }

    #[test]
    fn queue_lists_are_trimmed_deduplicated_and_bounded() {
        let q = parse_names(" sales, support,sales", "--queue").unwrap();
        assert_eq!(q, ["sales", "support"]);
        let e = parse_names("sales,,x", "queue").unwrap_err().to_string();
        assert_eq!(
            e,
            "queue 'sales,,x' is not a list of queue names; expected comma-separated names, e.g. sales,support"
        );
        let many: Vec<String> = (0..=MAX_LISTED).map(|i| format!("q{i}")).collect();
        let e = parse_names(&many.join(","), "--queue")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--queue names 501 queues; expected at most 500");
    }
}
