//! `apr report` (SPEC §7.4, §10): the agent report, the queue report of §6 or the call
//! list, by hour, day, week or month, as CSV, JSON, XLSX or HTML on stdout or `--output
//! FILE` (written to a temporary file beside it and renamed on success, so a failed report
//! never leaves a truncated or clobbered file), or as a table on a terminal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args as ClapArgs;
use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};

use crate::cli::global::GlobalArgs;
use crate::cli::report_mail::MailArgs;
use crate::config::ZoneUse;
use crate::error::Error;
use crate::ops::zone::resolve_zone;
use crate::report::args::{ArgNames, RawReportArgs};
use crate::report::mailed::write_report_for_mail;
use crate::report::request::{Destination, ReportKind, ReportRequest, cli_format};
use crate::report::sink::ReportSummary;
use crate::report::unmatched::unmatched_filters;
use crate::report::write_report;

/// A value parser that takes any text, left for the report's own parsers to check (their
/// errors name the argument and what it expects), and offers `values` to shell completion.
#[derive(Clone, Copy)]
struct Offered(&'static [&'static str]);

impl TypedValueParser for Offered {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.0.iter().copied().map(PossibleValue::new)))
    }
}

/// The values of `--format`, `--kind` and `--by` completion offers.
const KINDS: &[&str] = &[
    "agents",
    "queues",
    "calls",
    "unanswered",
    "waits",
    "outcomes",
    "agent-queues",
    "states",
];
const PERIODS: &[&str] = &["hour", "day", "week", "month", "hour-of-day", "weekday"];
const FORMATS: &[&str] = &["csv", "json", "xlsx", "html", "pdf", "table"];

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// First local date, YYYY-MM-DD
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub start_date: String,
    /// Local date the range ends on, exclusive [default: 24 h after the start]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub end_date: Option<String>,
    /// Local time on the start date, a whole hour except with --kind calls [default: 00:00:00]
    #[arg(long, value_name = "HH:MM[:SS]")]
    pub start_time: Option<String>,
    /// Local time on the end date, a whole hour except with --kind calls [default:
    /// 00:00:00]; without --end-date, the next time after the start that the clock reads it
    #[arg(long, value_name = "HH:MM[:SS]")]
    pub end_time: Option<String>,
    /// csv, json, xlsx, html, pdf or table [default: from --output's extension, else table on a
    /// terminal and csv elsewhere]
    #[arg(
        long,
        value_name = "FORMAT",
        value_parser = Offered(FORMATS),
        hide_possible_values = true
    )]
    pub format: Option<String>,
    /// What to report on: agents, queues (per queue, from queue_log), calls (one row per
    /// queue call), unanswered (the calls nobody answered, with their callbacks), waits
    /// (answered and abandoned calls per queue by how long they waited), outcomes (calls
    /// per queue by how they ended and who hung up), agent-queues (per agent and queue: rings,
    /// answered, rung out, talk) or states (one row per state stint of an agent)
    #[arg(
        long,
        value_name = "KIND", default_value = "agents",
        value_parser = Offered(KINDS),
        hide_possible_values = true
    )]
    pub kind: String,
    /// One row per agent (or queue) and hour, day, week or month; or per hour of the day
    /// (hour-of-day) or weekday, summed over the whole range
    #[arg(
        long,
        value_name = "PERIOD", default_value = "hour",
        value_parser = Offered(PERIODS),
        hide_possible_values = true
    )]
    pub by: String,
    /// Add a TOTAL row after each period and a grand total at the end
    #[arg(long)]
    pub totals: bool,
    /// Only these extensions, comma-separated (3012,3032); with --kind calls, the agent who
    /// answered; with --kind agent-queues, the agents rung or answering
    #[arg(long, value_name = "EXTS")]
    pub ext: Option<String>,
    /// Only these queues, comma-separated (the queue kinds and the call list)
    #[arg(long, value_name = "QUEUES")]
    pub queue: Option<String>,
    /// Call list: only these outcomes, comma-separated (ANSWERED,ABANDON,...)
    #[arg(long, value_name = "OUTCOMES")]
    pub outcome: Option<String>,
    /// Add talk, hold, wrap-up, DND and unaccounted times, counts, completeness, occupancy
    /// and utilization
    #[arg(long)]
    pub extended: bool,
    /// CSV: begin with a UTF-8 byte-order mark (for Excel)
    #[arg(long)]
    pub bom: bool,
    /// CSV: field separator: ',', ';', '|' or tab; with ';', decimals take a comma
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Dates and times in CSV, HTML and the table: seed (07-Sep, 07/09/2025, 18:00:00) or
    /// iso (2025-09-07, 2025-09-07 18:00:00, which every spreadsheet locale reads as dates)
    #[arg(long, value_name = "STYLE")]
    pub dates: Option<String>,
    /// Queue report: abandons within this many seconds are short abandons
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub short_abandon_secs: u32,
    /// Queue report: the service level threshold, seconds
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub sl_secs: u32,
    /// Queue report: service level denominator: offered-minus-short, offered, answered or
    /// answered-plus-abandoned
    #[arg(long, value_name = "BASIS", default_value = "offered-minus-short")]
    pub sl_basis: String,
    /// Unanswered list: an answered call of the same number entering this long after an
    /// unanswered one is its callback (24h, 90m, 3600s; at most 7d) [default: 24h]
    #[arg(long, value_name = "SPAN")]
    pub callback_window: Option<String>,
    /// Unanswered list: only the calls nobody called back yet
    #[arg(long)]
    pub pending: bool,
    /// Wait distribution: the buckets' upper limits, increasing seconds [default:
    /// 10,20,30,45,60,90,120]
    #[arg(long, value_name = "SECS,...")]
    pub buckets: Option<String>,
    /// Agent and queue reports: order each period's rows by COLUMN (its JSON key or
    /// header), largest first, or smallest first with :asc; ties by extension or queue
    #[arg(long, value_name = "COLUMN[:asc]")]
    pub sort: Option<String>,
    /// Agent and queue reports: only the first N rows of each period (with --sort, the top
    /// N); a TOTAL row still sums them all
    #[arg(long, value_name = "N")]
    pub top: Option<String>,
    /// PDF: the paper size, a4 or letter [default: a4]
    #[arg(long, value_name = "SIZE")]
    pub paper: Option<String>,
    /// Write to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub mail: MailArgs,
}

impl Args {
    /// The arguments as typed, with the format `--format`, `--output` and stdout decide.
    fn raw(&self) -> crate::Result<RawReportArgs> {
        let destination = match &self.output {
            Some(path) => Destination::File(path),
            None if self.mail.mail_to.is_none() && std::io::stdout().is_terminal() => {
                Destination::Terminal
            }
            None => Destination::Stream,
        };
        let csv_options = self.bom || self.delimiter.is_some();
        let format = cli_format(self.format.as_deref(), destination, csv_options)?;
        Ok(RawReportArgs {
            start_date: Some(self.start_date.clone()),
            end_date: self.end_date.clone(),
            start_time: self.start_time.clone(),
            end_time: self.end_time.clone(),
            format: Some(format.name().to_string()),
            kind: Some(self.kind.clone()),
            ext: self.ext.clone(),
            extended: self.extended,
            by: Some(self.by.clone()),
            totals: self.totals,
            bom: self.bom,
            delimiter: self.delimiter.clone(),
            queue: self.queue.clone(),
            outcome: self.outcome.clone(),
            dates: self.dates.clone(),
            sl_secs: Some(self.sl_secs.to_string()),
            sl_basis: Some(self.sl_basis.clone()),
            callback_window: self.callback_window.clone(),
            pending: self.pending,
            buckets: self.buckets.clone(),
            sort: self.sort.clone(),
            top: self.top.clone(),
            paper: self.paper.clone(),
        })
    }
}

/// The directory `--output` goes to, checked before anything runs: it must exist.
fn output_dir(path: &Path) -> Result<PathBuf, Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::usage(format!(
            "--output '{}': the directory '{}' does not exist; expected a file in an existing directory",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(Error::usage(format!(
            "--output '{}' is a directory; expected a file name",
            path.display()
        )));
    }
    Ok(dir)
}

/// Writes the report to a temporary file beside `path` and renames it over `path` once
/// complete; on any failure the temporary file is removed and `path` is untouched.
fn write_to_file(
    path: &Path,
    dir: &Path,
    write: impl FnOnce(&mut std::fs::File) -> crate::Result<ReportSummary>,
) -> anyhow::Result<ReportSummary> {
    let named = |what: &str| format!("--output '{}' {what}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".apr-report-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(named("cannot be created"), e))?;
    let summary = write(tmp.as_file_mut())?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(named("cannot be written"), e))?;
    // A new file gets the usual permissions (the temporary one is private); a replaced
    // file keeps its own.
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
    };
    std::fs::set_permissions(tmp.path(), mode)
        .map_err(|e| Error::io(named("cannot be written"), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(named("cannot be renamed into place"), e.error))?;
    Ok(summary)
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    // Arguments first: a usage error must not depend on the database being reachable.
    let mut req = ReportRequest::parse(&args.raw()?, ArgNames::Cli)?;
    req.queues.short_abandon_secs = i64::from(args.short_abandon_secs);
    if req.kind == ReportKind::States {
        req.state_map = global.settings.state_map()?;
    }
    let delivery = args.mail.delivery(&global.settings)?;
    let dir = args.output.as_deref().map(output_dir).transpose()?;
    let mut store = global.open_read_only()?;
    let zone = resolve_zone(store.as_mut(), &global.zone_choice(), ZoneUse::Read)?;
    if let Some(delivery) = delivery {
        // Mailed instead of printed: the attachment is exactly the bytes the renderer writes.
        let mut bytes = Vec::new();
        let tag = delivery.content_id_tag().to_string();
        let mailed = write_report_for_mail(store.as_mut(), zone, &req, &mut bytes, &tag)?;
        return Ok(delivery.send(global, &req, zone, bytes, mailed)?);
    }
    let summary = match (&args.output, dir) {
        (Some(path), Some(dir)) => write_to_file(path, &dir, |file| {
            write_report(store.as_mut(), zone, &req, file)
        })?,
        _ => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            let s = write_report(store.as_mut(), zone, &req, &mut lock)?;
            lock.flush()
                .map_err(|e| Error::io("cannot write the report", e))?;
            s
        }
    };
    if summary.rows == 0 {
        let range = format!(
            "{} to {} ({})",
            req.start.format("%Y-%m-%d %H:%M:%S"),
            req.end.format("%Y-%m-%d %H:%M:%S"),
            zone.name()
        );
        match unmatched_filters(store.as_mut(), zone, &req, ArgNames::Cli)? {
            Some(filters) => global.note(format_args!(
                "{filters} matched nothing in {range}, which has data; the report has the header only"
            )),
            None => global.note(format_args!(
                "no data for {range}; the report has the header only"
            )),
        }
    } else {
        tracing::info!(rows = summary.rows, "report written");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::period::By;
    use crate::report::request::{ReportFormat, ReportKind};

    #[test]
    fn completion_offers_exactly_the_values_the_report_takes() {
        let formats: Vec<&str> = ReportFormat::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(FORMATS, formats.as_slice());
        for k in KINDS {
            assert!(ReportKind::parse(k, "--kind").is_ok(), "{k}");
        }
        for p in PERIODS {
            assert_eq!(By::parse(p, "--by").unwrap().as_str(), *p);
        }
    }
}
