//! A report request (SPEC §7.4, §7.5): the user's strings ([`RawReportArgs`]) validated
//! into a typed [`ReportRequest`] before anything is opened: what to report on, over which
//! local range, in which format.

use chrono::{Duration, NaiveDateTime, NaiveTime, Timelike};

use crate::aggregate::categories::StateMap;
use crate::error::{Error, Result};
use crate::hours::{Zone, parse_date};
use crate::model::ActivityFilter;
use crate::model::queue::Outcome;

use super::args::{
    ArgNames, Field, RawReportArgs, opt_time, parse_delimiter, parse_exts, parse_names,
    parse_outcomes,
};
use super::cell::{Column, DateStyle, ReportMeta, TextStyle};
use super::grouped::Ranking;
use super::pdf::Paper;
use super::period::By;
use super::queue_figures::{QueueOptions, SlBasis};
use super::sink::RowSink;

/// The encodings a report can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Csv,
    Json,
    Xlsx,
    Html,
    /// A native PDF (SPEC §14).
    Pdf,
    /// Aligned columns for a terminal (`apr report` only).
    Table,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 6] = [
        ReportFormat::Csv,
        ReportFormat::Json,
        ReportFormat::Xlsx,
        ReportFormat::Html,
        ReportFormat::Pdf,
        ReportFormat::Table,
    ];

    /// The formats a file's extension names and the web offers; a table is for terminals.
    pub const FILES: [ReportFormat; 5] = [
        ReportFormat::Csv,
        ReportFormat::Json,
        ReportFormat::Xlsx,
        ReportFormat::Html,
        ReportFormat::Pdf,
    ];

    /// The formats `names`' origin offers: the command line has the terminal table too.
    pub fn offered(names: ArgNames) -> &'static [ReportFormat] {
        match names {
            ArgNames::Cli => &Self::ALL,
            ArgNames::Http => &Self::FILES,
        }
    }

    pub fn parse(s: &str, arg: &str, names: ArgNames) -> Result<ReportFormat> {
        let t = s.trim().to_ascii_lowercase();
        let offered = Self::offered(names);
        offered
            .iter()
            .copied()
            .find(|f| f.name() == t)
            .ok_or_else(|| {
                Error::usage(format!(
                    "{arg} '{s}' is not a report format; expected {}",
                    either(offered.iter().map(|f| f.name()))
                ))
            })
    }

    /// The format a file name's extension names (`--output report.xlsx`), if any.
    pub fn from_path(path: &std::path::Path) -> Option<ReportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::FILES.into_iter().find(|f| f.extension() == ext)
    }

    /// The name `--format` and `format=` take.
    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Table => "table",
            file => file.extension(),
        }
    }

    /// File name extension, also used in the server's `Content-Disposition`.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
            ReportFormat::Table => "txt",
        }
    }

    /// HTTP `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Json => "application/json",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Pdf => "application/pdf",
            ReportFormat::Table => "text/plain; charset=utf-8",
        }
    }

    /// Whether the format is bytes a terminal cannot show.
    pub fn is_binary(self) -> bool {
        matches!(self, ReportFormat::Xlsx | ReportFormat::Pdf)
    }
}

/// `a, b, c or d`.
fn either<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => items.concat(),
    }
}

/// Where `apr report` writes, which decides its format when `--format` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// `--output FILE`.
    File(&'a std::path::Path),
    /// Standard output, a terminal.
    Terminal,
    /// Standard output redirected (a pipe, a file) or a mail attachment.
    Stream,
}

/// The format `apr report` writes: `--format`, else `--output`'s extension, else a table on
/// a terminal (CSV when `csv_options`, `--bom` or `--delimiter`, were given) and CSV
/// elsewhere, so pipes and files keep the CSV they always had. Refuses a binary format on a
/// terminal, a `--format` that contradicts `--output`'s extension and an extension that
/// names no format when `--format` is not given.
pub fn cli_format(
    format: Option<&str>,
    destination: Destination<'_>,
    csv_options: bool,
) -> Result<ReportFormat> {
    let given = format
        .map(|s| ReportFormat::parse(s, "--format", ArgNames::Cli))
        .transpose()?;
    match (destination, given) {
        (Destination::File(path), given) => {
            let named = ReportFormat::from_path(path);
            let ext = path.extension().map(|e| e.to_string_lossy());
            match (given, named, ext) {
                (Some(g), Some(n), _) if g != n => Err(Error::usage(format!(
                    "--format {} contradicts --output '{}', a .{} file; expected --format {} or an --output ending in .{}",
                    g.name(),
                    path.display(),
                    n.extension(),
                    n.name(),
                    g.extension()
                ))),
                (Some(g), _, _) => Ok(g),
                (None, Some(n), _) => Ok(n),
                (None, None, Some(ext)) => Err(Error::usage(format!(
                    "--output '{}': .{ext} is not a report format; expected a file ending in {}, or --format",
                    path.display(),
                    either(
                        ReportFormat::FILES
                            .iter()
                            .map(|f| format!(".{}", f.extension()))
                    )
                ))),
                (None, None, None) => Ok(ReportFormat::Csv),
            }
        }
        (Destination::Terminal, Some(g)) if g.is_binary() => Err(Error::usage(format!(
            "--format {} is a binary file and stdout is a terminal; expected --output FILE, e.g. --output report.{}",
            g.name(),
            g.extension()
        ))),
        (Destination::Terminal, None) if !csv_options => Ok(ReportFormat::Table),
        (_, given) => Ok(given.unwrap_or(ReportFormat::Csv)),
    }
}

/// What a report is about. A new kind adds a variant here, its parse name, and an arm in
/// the report module's `render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Agents,
    /// Per queue and hour service metrics from queue_log (SPEC §6).
    Queues,
    /// One row per queue stint (SPEC §10).
    Calls,
    /// One row per stint nobody answered, with its callback (SPEC §14).
    Unanswered,
    /// Per queue and period, answered and abandoned stints by wait (SPEC §14).
    Waits,
    /// Per queue and period, stints by how they ended and who hung up (SPEC §14).
    Outcomes,
    /// Per agent, queue and period, rings, answered calls and talk (SPEC §14).
    AgentQueues,
    /// One row per state stint of an agent (SPEC §13).
    States,
}

impl ReportKind {
    pub const ALL: [ReportKind; 8] = [
        ReportKind::Agents,
        ReportKind::Queues,
        ReportKind::Calls,
        ReportKind::Unanswered,
        ReportKind::Waits,
        ReportKind::Outcomes,
        ReportKind::AgentQueues,
        ReportKind::States,
    ];

    /// The name `--kind` and `kind=` take.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Agents => "agents",
            ReportKind::Queues => "queues",
            ReportKind::Calls => "calls",
            ReportKind::Unanswered => "unanswered",
            ReportKind::Waits => "waits",
            ReportKind::Outcomes => "outcomes",
            ReportKind::AgentQueues => "agent-queues",
            ReportKind::States => "states",
        }
    }

    pub fn parse(s: &str, arg: &str) -> Result<ReportKind> {
        let t = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.name() == t)
            .ok_or_else(|| {
                Error::usage(format!(
                    "{arg} '{s}' is not a report kind; expected {}",
                    either(Self::ALL.iter().map(|k| k.name()))
                ))
            })
    }

    /// Whether the kind lists stints one by one (so its bounds may fall inside an hour).
    pub fn is_list(self) -> bool {
        matches!(
            self,
            ReportKind::Calls | ReportKind::Unanswered | ReportKind::States
        )
    }
}

/// The callback window of the unanswered list when `--callback-window` is not given.
pub const DEFAULT_CALLBACK_WINDOW: i64 = 24 * 3600;
/// The longest `--callback-window`: a week bounds what the list reads past its range.
pub const MAX_CALLBACK_WINDOW: i64 = 7 * 24 * 3600;

/// A validated report request: local start and end (`end > start`), what and how to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub format: ReportFormat,
    pub kind: ReportKind,
    pub exts: Vec<String>,
    pub extended: bool,
    pub by: By,
    pub totals: bool,
    /// CSV: a UTF-8 byte-order mark first.
    pub bom: bool,
    /// CSV: the field separator.
    pub delimiter: u8,
    /// How the text formats write dates and instants (`--dates`).
    pub dates: DateStyle,
    /// Queue report and call list: only these queues (`--queue`).
    pub queue_names: Vec<String>,
    /// Call list: only these outcomes (`--outcome`).
    pub outcomes: Vec<Outcome>,
    /// Settings of the queue report (defaults unless the command line sets them).
    pub queues: QueueOptions,
    /// Unanswered list: seconds after a stint's entry within which an answered stint of
    /// the same caller is its callback.
    pub callback_window: i64,
    /// Unanswered list: only the stints without a callback.
    pub pending: bool,
    /// Wait distribution: the buckets' upper limits in seconds, increasing.
    pub buckets: Vec<i64>,
    /// Agent and queue reports: `--sort` and `--top`.
    pub ranking: Ranking,
    /// PDF: the paper size (`--paper`).
    pub paper: Paper,
    /// State stints: the not-available reasons' categories (`APR_STATE_MAP`; the built-in
    /// rules unless the caller sets it), which decide which reasons log an agent off.
    pub state_map: StateMap,
}

impl ReportRequest {
    /// Validates the user's strings. Defaults (SPEC §7.4): times 00:00:00, format csv, kind
    /// agents. With no `--end-date`, the end is the first time after the start at which the
    /// local clock reads `--end-time`, or, when `--end-time` is not given either, the start
    /// time one local day later (24 h, or 23/25 h across a DST change). So
    /// `--start-time 18:00 --end-time 20:00` is two hours, and `--start-time 22:00
    /// --end-time 06:00` runs through the night into the next day.
    pub fn parse(raw: &RawReportArgs, names: ArgNames) -> Result<ReportRequest> {
        let arg = |f: Field| names.name(f);
        let start_date = match raw.start_date.as_deref() {
            Some(s) => parse_date(s, arg(Field::StartDate))?,
            None => {
                return Err(Error::usage(format!(
                    "{} is required; expected YYYY-MM-DD",
                    arg(Field::StartDate)
                )));
            }
        };
        let start_time = opt_time(raw.start_time.as_deref(), arg(Field::StartTime))?;
        let end_time = opt_time(raw.end_time.as_deref(), arg(Field::EndTime))?;
        let start = start_date.and_time(start_time.unwrap_or(NaiveTime::MIN));
        let end = match (raw.end_date.as_deref(), end_time) {
            (Some(d), t) => {
                parse_date(d, arg(Field::EndDate))?.and_time(t.unwrap_or(NaiveTime::MIN))
            }
            (None, Some(t)) => {
                let same_day = start_date.and_time(t);
                if same_day > start {
                    same_day
                } else {
                    same_day + Duration::days(1)
                }
            }
            (None, None) => start + Duration::days(1),
        };
        if end <= start {
            let which = if raw.end_date.is_some() {
                arg(Field::EndDate)
            } else {
                arg(Field::EndTime)
            };
            return Err(Error::usage(format!(
                "{which}: the end {} is not after the start {}; expected an end later than the start",
                end.format("%Y-%m-%d %H:%M:%S"),
                start.format("%Y-%m-%d %H:%M:%S")
            )));
        }
        let format = match raw.format.as_deref() {
            Some(s) => ReportFormat::parse(s, arg(Field::Format), names)?,
            None => ReportFormat::Csv,
        };
        let kind = match raw.kind.as_deref() {
            Some(s) => ReportKind::parse(s, arg(Field::Kind))?,
            None => ReportKind::Agents,
        };
        if names == ArgNames::Cli && !kind.is_list() {
            // Hourly data starts on the hour: a bound inside one would silently round up to
            // the next. The web form keeps rounding, as `/api/report` always has.
            let report = match kind {
                ReportKind::Queues => "the queue report",
                ReportKind::Waits => "the wait distribution",
                ReportKind::Outcomes => "the outcome report",
                ReportKind::AgentQueues => "the agent-queue report",
                _ => "the agent report",
            };
            for (field, given, at) in [
                (Field::StartTime, raw.start_time.as_deref(), start),
                (Field::EndTime, raw.end_time.as_deref(), end),
            ] {
                if let Some(given) = given.filter(|_| at.minute() != 0 || at.second() != 0) {
                    return Err(Error::usage(format!(
                        "{} '{given}' is not on the hour and {report} holds whole hours; expected a whole hour such as {:02}:00 or {:02}:00",
                        arg(field),
                        at.hour(),
                        (at.hour() + 1) % 24
                    )));
                }
            }
        }
        let exts = match raw.ext.as_deref() {
            Some(s) => parse_exts(s, arg(Field::Ext))?,
            None => Vec::new(),
        };
        if matches!(
            kind,
            ReportKind::Queues | ReportKind::Waits | ReportKind::Outcomes
        ) && (!exts.is_empty() || raw.extended)
        {
            let which = if raw.extended {
                arg(Field::Extended)
            } else {
                arg(Field::Ext)
            };
            return Err(Error::usage(format!(
                "{which} applies to the agent report only; expected it without {} {}",
                arg(Field::Kind),
                kind.name()
            )));
        }
        let by = match raw.by.as_deref() {
            Some(s) => By::parse(s, arg(Field::By))?,
            None => By::Hour,
        };
        let only = |field: Field, what: &str| {
            Err(Error::usage(format!(
                "{} applies to {what} only; expected it without {} {}",
                arg(field),
                arg(Field::Kind),
                kind.name()
            )))
        };
        if kind == ReportKind::AgentQueues && raw.extended {
            return only(Field::Extended, "the agent report");
        }
        if kind == ReportKind::Unanswered && !exts.is_empty() {
            return only(Field::Ext, "the agent report and the call list");
        }
        if kind.is_list() {
            if raw.extended {
                return only(Field::Extended, "the agent report");
            }
            if by != By::Hour {
                return only(Field::By, "the agent and queue reports");
            }
            if raw.totals {
                return only(Field::Totals, "the agent and queue reports");
            }
        }
        let queue_names = match raw.queue.as_deref() {
            Some(_) if matches!(kind, ReportKind::Agents | ReportKind::States) => {
                return only(Field::Queue, "the queue report and the call list");
            }
            Some(s) => parse_names(s, arg(Field::Queue))?,
            None => Vec::new(),
        };
        let callback_window = match raw.callback_window.as_deref() {
            Some(_) if kind != ReportKind::Unanswered => {
                return only(Field::CallbackWindow, "the unanswered list");
            }
            Some(s) => parse_window(s, arg(Field::CallbackWindow))?,
            None => DEFAULT_CALLBACK_WINDOW,
        };
        if raw.pending && kind != ReportKind::Unanswered {
            return only(Field::Pending, "the unanswered list");
        }
        let buckets = match raw.buckets.as_deref() {
            Some(_) if kind != ReportKind::Waits => {
                return only(Field::Buckets, "the wait distribution");
            }
            Some(s) => super::columns::parse_buckets(s, arg(Field::Buckets))?,
            None => super::columns::DEFAULT_BUCKETS.to_vec(),
        };
        let ranked = matches!(kind, ReportKind::Agents | ReportKind::Queues);
        let column = match raw.sort.as_deref() {
            Some(_) if !ranked => return only(Field::Sort, "the agent and queue reports"),
            Some(s) => Some(parse_sort(s, arg(Field::Sort), kind)?),
            None => None,
        };
        let top = match raw.top.as_deref() {
            Some(_) if !ranked => return only(Field::Top, "the agent and queue reports"),
            Some(s) => Some(parse_top(s, arg(Field::Top))?),
            None => None,
        };
        let ranking = Ranking {
            column: column.map(|(c, _)| c),
            ascending: column.is_some_and(|(_, asc)| asc),
            top,
        };
        let outcomes = match raw.outcome.as_deref() {
            Some(_) if kind != ReportKind::Calls => {
                return only(Field::Outcome, "the call list");
            }
            Some(s) => parse_outcomes(s, arg(Field::Outcome))?,
            None => Vec::new(),
        };
        if format != ReportFormat::Csv && (raw.bom || raw.delimiter.is_some()) {
            let which = if raw.bom {
                arg(Field::Bom)
            } else {
                arg(Field::Delimiter)
            };
            return Err(Error::usage(format!(
                "{which} applies to CSV only; expected it with {} csv",
                arg(Field::Format)
            )));
        }
        let paper = match raw.paper.as_deref() {
            Some(_) if format != ReportFormat::Pdf => {
                return Err(Error::usage(format!(
                    "{} applies to PDF only; expected it with {} pdf",
                    arg(Field::Paper),
                    arg(Field::Format)
                )));
            }
            Some(s) => Paper::parse(s, arg(Field::Paper))?,
            None => Paper::default(),
        };
        let delimiter = match raw.delimiter.as_deref() {
            Some(s) => parse_delimiter(s, arg(Field::Delimiter))?,
            None => b',',
        };
        let dates = match raw.dates.as_deref() {
            Some(s) => DateStyle::parse(s, arg(Field::Dates))?,
            None => DateStyle::Seed,
        };
        let defaults = QueueOptions::default();
        let sl_secs = match raw.sl_secs.as_deref() {
            Some(s) => i64::from(s.trim().parse::<u32>().map_err(|_| {
                Error::usage(format!(
                    "{} '{s}' is not a number of seconds; expected a whole number such as 20",
                    arg(Field::SlSecs)
                ))
            })?),
            None => defaults.sl_secs,
        };
        let sl_basis = match raw.sl_basis.as_deref() {
            Some(s) => SlBasis::parse(s, arg(Field::SlBasis))?,
            None => defaults.sl_basis,
        };
        Ok(ReportRequest {
            dates,
            start,
            end,
            format,
            kind,
            exts,
            extended: raw.extended,
            by,
            totals: raw.totals,
            bom: raw.bom,
            delimiter,
            queue_names,
            outcomes,
            paper,
            queues: QueueOptions {
                sl_secs,
                sl_basis,
                ..defaults
            },
            callback_window,
            pending: raw.pending,
            buckets,
            ranking,
            state_map: StateMap::default(),
        })
    }

    /// The range as instants in `zone` (a skipped local time resolves to the gap's end).
    pub fn instants(&self, zone: Zone) -> (i64, i64) {
        (zone.instant_of(self.start), zone.instant_of(self.end))
    }

    /// Writes the header of a kind whose machine form (JSON) adds `machine` after its
    /// `columns` (the period's bounds, and whatever else the kind adds); whether the rows
    /// are to carry those machine cells.
    pub fn header(
        &self,
        sink: &mut dyn RowSink,
        title: &'static str,
        zone: Zone,
        columns: &[Column],
        machine: &[Column],
    ) -> Result<bool> {
        let is_machine = self.format == ReportFormat::Json;
        let mut all = columns.to_vec();
        if is_machine {
            all.extend_from_slice(machine);
        }
        sink.header(&self.meta(title, zone), &all)?;
        Ok(is_machine)
    }

    /// What the report is, for the formats that show it.
    pub fn meta(&self, title: &'static str, zone: Zone) -> ReportMeta {
        ReportMeta {
            title,
            range: format!(
                "{} to {}",
                self.start.format("%Y-%m-%d %H:%M"),
                self.end.format("%Y-%m-%d %H:%M")
            ),
            zone: zone.name().to_string(),
            by: self.by.as_str(),
            start_date: self.start.date(),
            service_level: (self.kind == ReportKind::Queues)
                .then(|| format!("{} s, {}", self.queues.sl_secs, self.queues.sl_basis.name())),
        }
    }

    /// How the text formats write cells: `--dates`, and decimal commas in a `;`-separated
    /// CSV.
    pub fn text_style(&self) -> TextStyle {
        TextStyle {
            dates: self.dates,
            decimal_comma: self.format == ReportFormat::Csv && self.delimiter == b';',
        }
    }

    /// The rows of `[start, end)`: local hour starts are whole local hours, so an hour's
    /// start lies in the range exactly when its `YYYY-MM-DD HH:00` label lies between the
    /// bounds rounded up to whole hours.
    pub fn filter(&self) -> ActivityFilter {
        ActivityFilter {
            from_local: hour_ceil_label(self.start),
            to_local: hour_ceil_label(self.end),
            exts: self.exts.clone(),
        }
    }

    /// What the call list scans: the local hours holding `[start, end)`, and for a bound
    /// inside an hour (`--start-time 09:30`) the instant a stint's entry must be at or after
    /// (`after`) or before (`before`). Bounds on the hour select by hour label, as the
    /// hourly reports do.
    pub fn call_scan(&self, zone: Zone) -> CallScan {
        let on_hour = |t: NaiveDateTime| t.minute() == 0 && t.second() == 0;
        let floor = self.start.with_minute(0).and_then(|t| t.with_second(0));
        CallScan {
            hours: ActivityFilter {
                from_local: floor.map_or_else(
                    || hour_ceil_label(self.start),
                    |t| t.format("%Y-%m-%d %H:00").to_string(),
                ),
                to_local: hour_ceil_label(self.end),
                exts: Vec::new(),
            },
            after: (!on_hour(self.start)).then(|| zone.instant_of(self.start)),
            before: (!on_hour(self.end)).then(|| zone.instant_of(self.end)),
        }
    }

    /// `report_START_to_END.EXT`, from the local dates of the range.
    pub fn file_name(&self) -> String {
        format!(
            "report_{}_to_{}.{}",
            self.start.format("%Y-%m-%d"),
            self.end.format("%Y-%m-%d"),
            self.format.extension()
        )
    }
}

/// The columns `--sort` may name for `kind`, each with its index among the kind's cells:
/// every column but the period's own (Interval, Date, Start and End Time).
fn sortable(kind: ReportKind) -> Vec<(usize, Column)> {
    let (columns, period): (Vec<Column>, usize) = match kind {
        ReportKind::Agents => (
            super::columns::AGENT_COLUMNS
                .iter()
                .chain(&super::columns::AGENT_EXTENDED_COLUMNS)
                .copied()
                .collect(),
            4,
        ),
        _ => (super::columns::QUEUE_COLUMNS.to_vec(), 2),
    };
    columns.into_iter().enumerate().skip(period).collect()
}

/// `COLUMN[:asc|:desc]`: a column's JSON key or header (any case) of `kind`; its index and
/// whether it sorts ascending (largest first by default).
fn parse_sort(s: &str, arg: &str, kind: ReportKind) -> Result<(usize, bool)> {
    let t = s.trim();
    let (name, direction) = match t.rsplit_once(':') {
        Some((n, d)) if matches!(d.to_ascii_lowercase().as_str(), "asc" | "desc") => {
            (n.trim(), d.eq_ignore_ascii_case("asc"))
        }
        _ => (t, false),
    };
    sortable(kind)
        .into_iter()
        .find(|(_, c)| c.key.eq_ignore_ascii_case(name) || c.header.eq_ignore_ascii_case(name))
        .map(|(i, _)| (i, direction))
        .ok_or_else(|| {
            let example = match kind {
                ReportKind::Agents => "answered_calls or aht_secs:asc",
                _ => "offered or abandon_rate_pct:asc",
            };
            Error::usage(format!(
                "{arg} '{s}' is not a column of the {} report; expected COLUMN[:asc], a column's JSON key or header such as {example}",
                kind.name().trim_end_matches('s')
            ))
        })
}

/// The most rows `--top` keeps per period.
const MAX_TOP: usize = 100_000;

fn parse_top(s: &str, arg: &str) -> Result<usize> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "{arg} '{s}' is not a number of rows; expected a whole number from 1 to {MAX_TOP}, e.g. 10"
        ))),
    }
}

/// A callback window: a span such as `24h`, `90m` or `3600s`, more than nothing and at most
/// [`MAX_CALLBACK_WINDOW`].
fn parse_window(s: &str, arg: &str) -> Result<i64> {
    let expected = "expected a span from 1s to 7d such as 24h, 90m or 3600s";
    match crate::hours::parse_span(s, arg) {
        Ok(secs) if (1..=MAX_CALLBACK_WINDOW).contains(&secs) => Ok(secs),
        _ => Err(Error::usage(format!(
            "{arg} '{s}' is not a callback window; {expected}"
        ))),
    }
}

/// The local hours and instants the call list scans; see [`ReportRequest::call_scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallScan {
    pub hours: ActivityFilter,
    pub after: Option<i64>,
    pub before: Option<i64>,
}

impl CallScan {
    /// Whether an entry at `t` lies in the range.
    pub fn holds(&self, t: i64) -> bool {
        self.after.is_none_or(|a| t >= a) && self.before.is_none_or(|b| t < b)
    }
}

/// `YYYY-MM-DD HH:00` of the first whole local hour at or after `t`.
fn hour_ceil_label(t: NaiveDateTime) -> String {
    let floor = t.with_minute(0).and_then(|x| x.with_second(0)).unwrap_or(t);
    let ceil = if floor == t {
        t
    } else {
        floor + Duration::hours(1)
    };
    ceil.format("%Y-%m-%d %H:00").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::args::MAX_LISTED;

    fn raw(start: &str) -> RawReportArgs {
        RawReportArgs {
            start_date: Some(start.into()),
            ..Default::default()
        }
    }

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn err(r: &RawReportArgs, names: ArgNames) -> String {
        let e = ReportRequest::parse(r, names).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    }

    #[test]
    fn dates_and_decimal_commas_from_the_arguments() {
        let style = |delimiter: Option<&str>, dates: Option<&str>, format: Option<&str>| {
            let r = RawReportArgs {
                delimiter: delimiter.map(String::from),
                dates: dates.map(String::from),
                format: format.map(String::from),
                ..raw("2025-09-07")
            };
            ReportRequest::parse(&r, ArgNames::Http)
                .unwrap()
                .text_style()
        };
        assert_eq!(style(None, None, None), TextStyle::default());
        assert!(style(Some(";"), None, None).decimal_comma);
        assert!(!style(Some("|"), None, None).decimal_comma);
        assert_eq!(style(None, Some("iso"), None).dates, DateStyle::Iso);
        assert_eq!(style(None, Some("iso"), Some("html")).dates, DateStyle::Iso);
        let bad = RawReportArgs {
            dates: Some("us".into()),
            ..raw("2025-09-07")
        };
        assert_eq!(
            err(&bad, ArgNames::Http),
            "dates 'us' is not a date style; expected seed or iso"
        );
    }

    #[test]
    fn defaults_cover_one_local_day() {
        let r = ReportRequest::parse(&raw("2025-09-07"), ArgNames::Cli).unwrap();
        assert_eq!(r.start, dt("2025-09-07 00:00:00"));
        assert_eq!(r.end, dt("2025-09-08 00:00:00"));
        assert_eq!(r.format, ReportFormat::Csv);
        assert_eq!(r.kind, ReportKind::Agents);
        let f = r.filter();
        assert_eq!(
            (f.from_local.as_str(), f.to_local.as_str()),
            ("2025-09-07 00:00", "2025-09-08 00:00")
        );
        assert_eq!(r.file_name(), "report_2025-09-07_to_2025-09-08.csv");
    }

    #[test]
    fn start_time_alone_moves_both_ends() {
        let mut a = raw("2025-09-07");
        a.start_time = Some("18:00".into());
        let r = ReportRequest::parse(&a, ArgNames::Cli).unwrap();
        assert_eq!(r.end, dt("2025-09-08 18:00:00"));
    }

    #[test]
    fn end_time_alone_is_the_next_time_the_clock_reads_it() {
        let mut a = raw("2025-09-07");
        a.start_time = Some("18:00".into());
        a.end_time = Some("20:00:00".into());
        let r = ReportRequest::parse(&a, ArgNames::Cli).unwrap();
        assert_eq!(r.end, dt("2025-09-07 20:00:00"));
        a.start_time = Some("22:00".into());
        a.end_time = Some("06:00".into());
        let r = ReportRequest::parse(&a, ArgNames::Cli).unwrap();
        assert_eq!(r.end, dt("2025-09-08 06:00:00"));
        a.end_time = Some("22:00".into());
        let r = ReportRequest::parse(&a, ArgNames::Cli).unwrap();
        assert_eq!(r.end, dt("2025-09-08 22:00:00"));
    }

    #[test]
    fn bounds_round_up_to_whole_hours() {
        let mut a = raw("2025-09-07");
        a.start_time = Some("18:30".into());
        a.end_date = Some("2025-09-07".into());
        a.end_time = Some("23:00:01".into());
        let f = ReportRequest::parse(&a, ArgNames::Http).unwrap().filter();
        assert_eq!(f.from_local, "2025-09-07 19:00");
        assert_eq!(f.to_local, "2025-09-08 00:00");
    }

    #[test]
    fn range_errors_name_the_argument_and_the_form() {
        let mut a = raw("2025-09-07");
        a.end_date = Some("2025-09-07".into());
        let e = err(&a, ArgNames::Cli);
        assert!(
            e.starts_with("--end-date") && e.contains("not after"),
            "{e}"
        );
        a.end_date = Some("2025-09-06".into());
        assert!(err(&a, ArgNames::Http).starts_with("endDate"));

        let e = err(&raw("2025-02-30"), ArgNames::Cli);
        assert!(
            e.contains("--start-date '2025-02-30'") && e.contains("YYYY-MM-DD"),
            "{e}"
        );
        assert!(err(&raw("25-9-7"), ArgNames::Http).starts_with("startDate"));
        assert!(err(&raw("+2025-09-07"), ArgNames::Cli).contains("YYYY-MM-DD"));
        let e = err(&RawReportArgs::default(), ArgNames::Cli);
        assert!(e.contains("--start-date is required"), "{e}");

        for bad in [
            "25:00",
            "18:60",
            "18",
            "6:00",
            "18:00:60",
            "18:00:00.5",
            "ab:cd",
        ] {
            let mut a = raw("2025-09-07");
            a.start_time = Some(bad.into());
            let e = err(&a, ArgNames::Cli);
            assert!(
                e.starts_with("--start-time") && e.contains("HH:MM or HH:MM:SS"),
                "{bad}: {e}"
            );
        }
        let mut a = raw("2025-09-07");
        a.end_time = Some("noon".into());
        assert!(err(&a, ArgNames::Http).starts_with("endTime 'noon'"));
    }

    #[test]
    fn format_kind_and_ext_are_validated() {
        let mut a = raw("2025-09-07");
        a.format = Some("ods".into());
        assert!(err(&a, ArgNames::Http).starts_with("format 'ods'"));
        let mut a = raw("2025-09-07");
        a.kind = Some("people".into());
        assert!(err(&a, ArgNames::Cli).starts_with("--kind 'people'"));
        let mut a = raw("2025-09-07");
        a.ext = Some("3012,x'; DROP TABLE agent_activity;--".into());
        assert!(err(&a, ArgNames::Cli).starts_with("--ext"));
        a.ext = Some("3012,,3032".into());
        assert!(err(&a, ArgNames::Cli).starts_with("--ext"));
        a.ext = Some(" 3012, 3032,3012 ".into());
        a.format = Some("JSON".into());
        let r = ReportRequest::parse(&a, ArgNames::Cli).unwrap();
        assert_eq!(r.exts, vec!["3012", "3032"]);
        assert_eq!(r.format, ReportFormat::Json);
        let many: Vec<String> = (0..=MAX_LISTED).map(|i| i.to_string()).collect();
        a.ext = Some(many.join(","));
        assert!(err(&a, ArgNames::Cli).contains("at most"));
    }

    #[test]
    fn sort_names_a_column_by_key_or_header_with_a_direction() {
        let ranking = |kind: &str, sort: &str| {
            let r = RawReportArgs {
                kind: Some(kind.into()),
                sort: Some(sort.into()),
                top: Some("5".into()),
                ..raw("2025-09-07")
            };
            ReportRequest::parse(&r, ArgNames::Http).map(|r| r.ranking)
        };
        let r = ranking("agents", "answered_calls").unwrap();
        assert_eq!((r.column, r.ascending, r.top), (Some(13), false, Some(5)));
        let r = ranking("agents", "AHT:asc").unwrap();
        assert_eq!((r.column, r.ascending), (Some(15), true));
        assert_eq!(
            ranking("agents", "talk_secs:DESC").unwrap().column,
            Some(27)
        );
        assert_eq!(ranking("queues", "Offered").unwrap().column, Some(3));
        assert_eq!(ranking("queues", "queue:asc").unwrap().column, Some(2));
        for (kind, bad) in [
            ("agents", "date"),
            ("queues", "ext"),
            ("queues", "offered:"),
        ] {
            let e = ranking(kind, bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("sort '{bad}' is not a column")),
                "{e}"
            );
        }
    }

    #[test]
    fn hourly_reports_on_the_command_line_take_whole_hours_only() {
        let mut a = raw("2025-09-07");
        a.start_time = Some("18:30".into());
        let e = err(&a, ArgNames::Cli);
        assert_eq!(
            e,
            "--start-time '18:30' is not on the hour and the agent report holds whole hours; expected a whole hour such as 18:00 or 19:00"
        );
        a.start_time = Some("18:00".into());
        a.end_time = Some("19:00:01".into());
        a.kind = Some("queues".into());
        assert!(
            err(&a, ArgNames::Cli)
                .starts_with("--end-time '19:00:01' is not on the hour and the queue report")
        );
        a.kind = Some("calls".into());
        assert!(ReportRequest::parse(&a, ArgNames::Cli).is_ok());
    }

    #[test]
    fn the_call_list_scans_the_hours_holding_minute_bounds() {
        let zone = Zone::parse("UTC").unwrap();
        let mut a = raw("2025-09-07");
        a.kind = Some("calls".into());
        a.start_time = Some("09:30".into());
        a.end_time = Some("09:45".into());
        let scan = ReportRequest::parse(&a, ArgNames::Cli)
            .unwrap()
            .call_scan(zone);
        assert_eq!(
            (scan.hours.from_local.as_str(), scan.hours.to_local.as_str()),
            ("2025-09-07 09:00", "2025-09-07 10:00")
        );
        let at = |hms: &str| zone.instant_of(dt(&format!("2025-09-07 {hms}")));
        assert!(!scan.holds(at("09:29:59")));
        assert!(scan.holds(at("09:30:00")) && scan.holds(at("09:44:59")));
        assert!(!scan.holds(at("09:45:00")));
        // On the hour, the labels alone decide, as in the hourly reports.
        a.start_time = Some("09:00".into());
        a.end_time = Some("10:00".into());
        let r = ReportRequest::parse(&a, ArgNames::Cli).unwrap();
        let scan = r.call_scan(zone);
        assert_eq!((scan.after, scan.before), (None, None));
        assert_eq!(scan.hours.from_local, r.filter().from_local);
        assert_eq!(scan.hours.to_local, r.filter().to_local);
    }

    #[test]
    fn the_terminal_table_is_a_command_line_format_and_extensions_must_agree() {
        use std::path::Path;
        let mut a = raw("2025-09-07");
        a.format = Some("table".into());
        assert_eq!(
            err(&a, ArgNames::Http),
            "format 'table' is not a report format; expected csv, json, xlsx, html or pdf"
        );
        assert_eq!(
            ReportRequest::parse(&a, ArgNames::Cli).unwrap().format,
            ReportFormat::Table
        );
        let fmt = |f: Option<&str>, d: Destination<'_>, csv: bool| cli_format(f, d, csv);
        assert_eq!(
            fmt(None, Destination::Terminal, false).unwrap(),
            ReportFormat::Table
        );
        assert_eq!(
            fmt(None, Destination::Terminal, true).unwrap(),
            ReportFormat::Csv
        );
        assert_eq!(
            fmt(None, Destination::Stream, false).unwrap(),
            ReportFormat::Csv
        );
        assert_eq!(
            fmt(Some("xlsx"), Destination::Stream, false).unwrap(),
            ReportFormat::Xlsx
        );
        assert!(
            fmt(Some("xlsx"), Destination::Terminal, false)
                .unwrap_err()
                .to_string()
                .contains("--output FILE")
        );
        let file = |p| Destination::File(Path::new(p));
        assert_eq!(
            fmt(None, file("r.XLSX"), false).unwrap(),
            ReportFormat::Xlsx
        );
        assert_eq!(fmt(None, file("r"), false).unwrap(), ReportFormat::Csv);
        assert_eq!(
            fmt(Some("json"), file("r.txt"), false).unwrap(),
            ReportFormat::Json
        );
        assert_eq!(
            fmt(Some("csv"), file("r.csv"), false).unwrap(),
            ReportFormat::Csv
        );
        let e = fmt(Some("json"), file("y.xlsx"), false).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .starts_with("--format json contradicts --output 'y.xlsx'"),
            "{e}"
        );
        let e = fmt(None, file("x.docx"), false).unwrap_err().to_string();
        assert_eq!(
            e,
            "--output 'x.docx': .docx is not a report format; expected a file ending in .csv, .json, .xlsx, .html or .pdf, or --format"
        );
        let e = fmt(Some("odt"), Destination::Stream, false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--format 'odt' is not a report format; expected csv, json, xlsx, html, pdf or table"
        );
        // A PDF is picked by its extension, and is no text for a terminal.
        assert_eq!(fmt(None, file("r.pdf"), false).unwrap(), ReportFormat::Pdf);
        assert!(
            fmt(Some("pdf"), Destination::Terminal, false)
                .unwrap_err()
                .to_string()
                .contains("--output FILE, e.g. --output report.pdf")
        );
        assert_eq!(ReportFormat::Pdf.content_type(), "application/pdf");
    }

    #[test]
    fn the_paper_is_a4_or_letter_and_for_a_pdf_only() {
        use super::super::pdf::Paper;
        let mut a = raw("2025-09-07");
        a.format = Some("pdf".into());
        assert_eq!(
            ReportRequest::parse(&a, ArgNames::Cli).unwrap().paper,
            Paper::A4
        );
        a.paper = Some("Letter".into());
        assert_eq!(
            ReportRequest::parse(&a, ArgNames::Http).unwrap().paper,
            Paper::Letter
        );
        a.paper = Some("a3".into());
        assert_eq!(
            err(&a, ArgNames::Cli),
            "--paper 'a3' is not a paper size; expected a4 or letter"
        );
        a.paper = Some("a4".into());
        a.format = Some("html".into());
        assert_eq!(
            err(&a, ArgNames::Http),
            "paper applies to PDF only; expected it with format pdf"
        );
    }
}
