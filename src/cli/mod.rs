//! The command line: global options shared by every subcommand, and one module per
//! subcommand, each holding its argument struct and a `run` function. Commands return
//! `anyhow::Result`; [`main`] turns a failure into one `error:` line and the exit code of
//! SPEC §2 (the library's [`crate::Error::exit_code`], 1 for anything else).

use clap::{Args, Parser, Subcommand};

pub mod aggregate;
pub mod collect;
pub mod init_load;
pub mod parse_queue_log;

use crate::config::ZoneChoice;
use crate::store::{self, DatabaseUrl, Store};

pub mod report;
pub mod serve;
pub mod serve_once;

/// Contact-center agent performance reports: collect, aggregate, report.
#[derive(Debug, Parser)]
#[command(name = "apr", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database: sqlite://PATH, a file path, or mysql://user:pass@host:port/db
    #[arg(
        long,
        global = true,
        env = "APR_DATABASE_URL",
        default_value = "sqlite://apr.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// IANA time zone whose local hours are the report's hours [env: APR_TIMEZONE; default:
    /// the zone recorded in the database, else the system's]
    #[arg(long, global = true, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// More detail on stderr (-v: a summary line, -vv: debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// Opens the configured database, applying the schema.
    pub fn open_store(&self) -> crate::Result<Box<dyn Store>> {
        store::open(&DatabaseUrl::parse(&self.database_url)?)
    }

    /// The zone asked for by `--timezone` or `APR_TIMEZONE`.
    pub fn zone_choice(&self) -> ZoneChoice {
        ZoneChoice::from_env(self.timezone.clone())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch new events and stats from the platform, load and aggregate them (for cron)
    Collect(collect::Args),
    /// Wipe and backfill the last N hours (asks for YES)
    InitLoad(init_load::Args),
    /// Rebuild the hourly agent summary
    Aggregate(aggregate::Args),
    /// Load Asterisk queue_log files (incremental; `-` for stdin)
    ParseQueueLog(parse_queue_log::Args),
    /// Render the agent, queue or call report (CSV, JSON, XLSX or HTML) for a local range
    Report(Box<report::Args>),
    /// Answer exactly one HTTP request (GET /api/report, /health), then exit
    ServeOnce(serve_once::Args),
    /// Serve the report over HTTP until SIGINT/SIGTERM
    Serve(serve::Args),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    if let Err(e) = load_dotenv() {
        eprintln!("error: {e}");
        return 2;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_tracing(cli.global.verbose);
    let global = &cli.global;
    let result: anyhow::Result<()> = match cli.command {
        Command::Collect(args) => collect::run(global, args),
        Command::InitLoad(args) => init_load::run(global, args),
        Command::Aggregate(args) => aggregate::run(global, args),
        Command::ParseQueueLog(args) => parse_queue_log::run(global, args),
        Command::Report(args) => report::run(global, *args),
        Command::ServeOnce(args) => serve_once::run(global, args),
        Command::Serve(args) => serve::run(global, args),
    };
    match result {
        Ok(()) => 0,
        // A reader that went away (`apr report | head`) is not a failure.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            // The library's errors already name their cause; others show their chain.
            let message = match e.downcast_ref::<crate::Error>() {
                Some(err) => err.to_string(),
                None => format!("{e:#}"),
            };
            eprintln!("error: {}", crate::error::one_line(&message));
            e.downcast_ref::<crate::Error>()
                .map(crate::Error::exit_code)
                .unwrap_or(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Takes the database's write lock, shared by every command that loads or aggregates, so
/// overlapping cron runs cannot interleave (SPEC §7.2). Held until the store is dropped.
pub fn write_lock(store: &mut dyn Store) -> crate::Result<()> {
    if store.try_lock("write")? {
        Ok(())
    } else {
        Err(crate::Error::Locked(
            "another apr collect is running (or another command writing to this database); try again when it finishes".into(),
        ))
    }
}

/// Loads `.env` from the working directory only (never a parent), if present; variables
/// already in the environment win.
fn load_dotenv() -> Result<(), String> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(
            ".env in the working directory cannot be read: {e}; expected KEY=value lines"
        )),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("APR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("apr={default},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
