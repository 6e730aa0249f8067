//! `apr report` (SPEC §7.4): the agent report, or with `--kind queues` the queue report of
//! §6, as CSV or JSON on stdout or `--output FILE`.

use std::io::Write;

use clap::Args as ClapArgs;

use crate::cli::GlobalArgs;
use crate::cli::report_mail::MailArgs;
use crate::config::{ZoneUse, resolve_zone};
use crate::error::Error;
use crate::report::queues::{QueueOptions, SlBasis};
use crate::report::{ArgNames, RawReportArgs, ReportRequest, write_report};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// First local date, YYYY-MM-DD
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub start_date: String,
    /// Local date the range ends on, exclusive [default: 24 h after the start]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub end_date: Option<String>,
    /// Local time on the start date [default: 00:00:00]
    #[arg(long, value_name = "HH:MM[:SS]")]
    pub start_time: Option<String>,
    /// Local time on the end date [default: 00:00:00]; without --end-date, the next time
    /// after the start that the clock reads it
    #[arg(long, value_name = "HH:MM[:SS]")]
    pub end_time: Option<String>,
    /// csv or json
    #[arg(long, value_name = "FORMAT", default_value = "csv")]
    pub format: String,
    /// What to report on: agents, or queues (per queue and hour, from queue_log)
    #[arg(long, value_name = "KIND", default_value = "agents")]
    pub kind: String,
    /// Only these extensions, comma-separated (3012,3032)
    #[arg(long, value_name = "EXTS")]
    pub ext: Option<String>,
    /// Add talk, hold, wrap-up, DND and unaccounted times, counts and completeness
    #[arg(long)]
    pub extended: bool,
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
    /// Write to FILE instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub mail: MailArgs,
}

impl Args {
    fn raw(&self) -> RawReportArgs {
        RawReportArgs {
            start_date: Some(self.start_date.clone()),
            end_date: self.end_date.clone(),
            start_time: self.start_time.clone(),
            end_time: self.end_time.clone(),
            format: Some(self.format.clone()),
            kind: Some(self.kind.clone()),
            ext: self.ext.clone(),
            extended: self.extended,
        }
    }
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    // Arguments first: a usage error must not depend on the database being reachable.
    let mut req = ReportRequest::parse(&args.raw(), ArgNames::Cli)?;
    req.queues = QueueOptions {
        short_abandon_secs: i64::from(args.short_abandon_secs),
        sl_secs: i64::from(args.sl_secs),
        sl_basis: SlBasis::parse(&args.sl_basis, "--sl-basis")?,
    };
    let delivery = args.mail.delivery(&global.settings)?;
    let mut store = global.open_read_only()?;
    let zone = resolve_zone(store.as_mut(), &global.zone_choice(), ZoneUse::Read)?;
    if let Some(delivery) = delivery {
        // Mailed instead of printed: the attachment is exactly the bytes the renderer writes.
        let mut bytes = Vec::new();
        let summary = write_report(store.as_mut(), zone, &req, &mut bytes)?;
        return Ok(delivery.send(global, &req, zone, bytes, summary.rows)?);
    }
    let summary = match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path).map_err(|e| {
                Error::io(
                    format!("--output '{}' cannot be created", path.display()),
                    e,
                )
            })?;
            let s = write_report(store.as_mut(), zone, &req, &mut file)?;
            file.sync_all()
                .map_err(|e| Error::io(format!("--output '{}'", path.display()), e))?;
            s
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            let s = write_report(store.as_mut(), zone, &req, &mut lock)?;
            lock.flush()
                .map_err(|e| Error::io("cannot write the report", e))?;
            s
        }
    };
    if summary.rows == 0 {
        global.note(format_args!(
            "no data for {} to {} ({}); the report has the header only",
            req.start.format("%Y-%m-%d %H:%M:%S"),
            req.end.format("%Y-%m-%d %H:%M:%S"),
            zone.name()
        ));
    } else {
        tracing::info!(rows = summary.rows, "report written");
    }
    Ok(())
}
