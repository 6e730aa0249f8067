//! The command line: the parser and the dispatch to one module per subcommand, each holding
//! its argument struct and a `run` function that validates its arguments and settings, calls
//! [`crate::ops`] and prints the outcome. What the commands share is [`global`]; the
//! settings ([`settings`]) are the only reader of `APR_*` variables. Commands return
//! `anyhow::Result`; [`main`] turns a failure into one `error:` line and the exit code of
//! SPEC §2 (the library's [`crate::Error::exit_code`], 1 for anything else).

use std::io::IsTerminal;

use clap::{CommandFactory, Parser, Subcommand};

pub mod aggregate;
pub mod collect;
pub mod global;
pub mod help;
pub mod init_load;
pub mod parse_queue_log;
pub mod prune;
pub mod report;
pub mod report_mail;
pub mod serve;
pub mod serve_once;
pub mod settings;
pub mod shell;
pub mod status;

use crate::store::DatabaseUrl;
use crate::store::mysql::url::Wait;
use crate::store::postgres::url::Wait as PgWait;
use global::GlobalArgs;
use settings::Settings;

/// Contact-center agent performance reports: collect, aggregate, report.
#[derive(Debug, Parser)]
#[command(
    name = "apr",
    version,
    about,
    propagate_version = true,
    after_help = help::TOP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch new events and stats from the platform, load and aggregate them (for cron)
    #[command(after_help = help::COLLECT)]
    Collect(collect::Args),
    /// Wipe and backfill the last N hours (asks for YES)
    #[command(after_help = help::INIT_LOAD)]
    InitLoad(init_load::Args),
    /// Rebuild the hourly agent summary
    #[command(after_help = help::AGGREGATE)]
    Aggregate(aggregate::Args),
    /// Load Asterisk queue_log files (incremental; `-` for stdin)
    #[command(after_help = help::PARSE_QUEUE_LOG)]
    ParseQueueLog(parse_queue_log::Args),
    /// Render the agent, queue or call report (CSV, JSON, XLSX or HTML) for a local range
    #[command(after_help = help::REPORT)]
    Report(Box<report::Args>),
    /// Answer exactly one HTTP request (GET /api/report, /health), then exit
    #[command(after_help = help::SERVE_ONCE)]
    ServeOnce(serve_once::Args),
    /// Serve the report over HTTP until SIGINT/SIGTERM
    #[command(after_help = help::SERVE)]
    Serve(serve::Args),
    /// Show where apr stands: watermarks, queue_log cursors, tables (read-only)
    #[command(after_help = help::STATUS)]
    Status(status::Args),
    /// Delete raw data before a date, keeping the hourly summaries (asks for YES)
    #[command(after_help = help::PRUNE)]
    Prune(prune::Args),
    /// Print a shell completion script (bash, zsh, fish or powershell) to stdout
    #[command(after_help = help::COMPLETIONS)]
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff) to stdout
    #[command(after_help = help::MAN)]
    Man(shell::ManArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    if let Err(e) = load_dotenv() {
        eprintln!("error: {e}");
        return 2;
    }
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_tracing(&cli.global);
    // Every setting is read here, once; the library reads no environment.
    cli.global.settings = Settings::from_vars(std::env::vars());
    // MySQL timeouts from the settings, unless the URL sets them (its own word wins).
    if let DatabaseUrl::Mysql(url) = &mut cli.global.database_url {
        for (wait, setting) in [
            (Wait::Connect, "APR_MYSQL_CONNECT_TIMEOUT_SECS"),
            (Wait::Read, "APR_MYSQL_READ_TIMEOUT_SECS"),
            (Wait::Write, "APR_MYSQL_WRITE_TIMEOUT_SECS"),
        ] {
            url.setting(wait, setting, cli.global.settings.get(setting));
        }
        url.lease_setting(
            settings::MYSQL_LEASE,
            cli.global.settings.get(settings::MYSQL_LEASE),
        );
    }
    // PostgreSQL's the same way.
    if let DatabaseUrl::Postgres(url) = &mut cli.global.database_url {
        for (wait, setting) in [
            (PgWait::Connect, "APR_POSTGRES_CONNECT_TIMEOUT_SECS"),
            (PgWait::Read, "APR_POSTGRES_READ_TIMEOUT_SECS"),
            (PgWait::Write, "APR_POSTGRES_WRITE_TIMEOUT_SECS"),
        ] {
            url.setting(wait, setting, cli.global.settings.get(setting));
        }
    }
    let global = &cli.global;
    let result: anyhow::Result<()> = match cli.command {
        Command::Collect(args) => collect::run(global, args),
        Command::InitLoad(args) => init_load::run(global, args),
        Command::Aggregate(args) => aggregate::run(global, args),
        Command::ParseQueueLog(args) => parse_queue_log::run(global, args),
        Command::Report(args) => report::run(global, *args),
        Command::ServeOnce(args) => serve_once::run(global, args),
        Command::Serve(args) => serve::run(global, args),
        Command::Status(args) => status::run(global, args),
        Command::Prune(args) => prune::run(global, args),
        Command::Completions(args) => shell::completions(args, Cli::command()),
        Command::Man(args) => shell::man(args, Cli::command()),
    };
    match result {
        Ok(()) => 0,
        // A reader that went away (`apr report | head`) is not a failure.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            // The library's errors already name their cause; others show their chain. A
            // database error always names the database (never its password).
            let shown = global.database_url.shown();
            let message = match e.downcast_ref::<crate::Error>() {
                Some(crate::Error::Database(msg)) if !msg.contains(&shown) => {
                    format!("database {shown}: {msg}")
                }
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

fn init_tracing(global: &GlobalArgs) {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // usvg warns of what it skips while rasterising a mailed chart (plotters draws empty
    // bar segments as zero-width rectangles, which no viewer shows either): no news to users.
    let filter = tracing_subscriber::EnvFilter::try_from_env("APR_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("apr={default},usvg=error,warn"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_target(false)
        .without_time()
        .try_init();
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything but the empty
/// string (no-color.org), so log files and cron mail carry no escape codes.
fn colour(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn quiet_and_verbose_exclude_each_other() {
        assert!(Cli::try_parse_from(["apr", "-q", "-v", "aggregate"]).is_err());
        let cli = Cli::try_parse_from(["apr", "aggregate", "--quiet"]).unwrap();
        assert!(cli.global.quiet);
    }
}
