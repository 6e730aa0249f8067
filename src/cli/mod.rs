//! The command line: global options shared by every subcommand, the settings
//! ([`settings`], the only reader of `APR_*` variables), and one module per subcommand, each
//! holding its argument struct and a `run` function that validates its arguments and
//! settings, calls [`crate::ops`] and prints the outcome. Commands return
//! `anyhow::Result`; [`main`] turns a failure into one `error:` line and the exit code of
//! SPEC §2 (the library's [`crate::Error::exit_code`], 1 for anything else).

use std::fmt::Display;
use std::io::IsTerminal;

use clap::{Args, Parser, Subcommand};

pub mod aggregate;
pub mod collect;
pub mod help;
pub mod init_load;
pub mod parse_queue_log;
pub mod prune;
pub mod settings;
pub mod shell;
pub mod status;

use crate::config::ZoneChoice;
use crate::store::{self, DatabaseUrl, Store};
use settings::Settings;

pub mod report;
pub mod report_mail;
pub mod serve;
pub mod serve_once;

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

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database: sqlite://PATH, a file path, or mysql://user:pass@host:port/db
    #[arg(
        long,
        global = true,
        env = "APR_DATABASE_URL",
        default_value = "sqlite://apr.db",
        hide_env_values = true,
        value_parser = DatabaseUrlParser
    )]
    pub database_url: DatabaseUrl,
    /// IANA time zone whose local hours are the report's hours [env: APR_TIMEZONE; default:
    /// the zone recorded in the database, else the system's]
    #[arg(long, global = true, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// More detail on stderr (-v: a summary line, -vv: debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print errors only: no summary lines, notes or progress (for cron)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// The `APR_*` settings, read once from the environment (and `.env`) after parsing.
    #[arg(skip)]
    pub settings: Settings,
}

/// `--database-url` / `APR_DATABASE_URL` as a typed URL (a usage error otherwise). The
/// error never repeats the value: it may hold a password.
#[derive(Clone)]
struct DatabaseUrlParser;

impl clap::builder::TypedValueParser for DatabaseUrlParser {
    type Value = DatabaseUrl;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<DatabaseUrl, clap::Error> {
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidUtf8,
                "APR_DATABASE_URL is not valid UTF-8\n",
            )
        })?;
        DatabaseUrl::parse(text).map_err(|e| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n"))
        })
    }
}

impl GlobalArgs {
    /// Opens the configured database read-only; a missing one is an error (exit 2).
    pub fn open_read_only(&self) -> crate::Result<Box<dyn Store>> {
        store::open_read_only(&self.database_url)
    }

    /// The zone asked for by `--timezone` or `APR_TIMEZONE`.
    pub fn zone_choice(&self) -> ZoneChoice {
        self.settings.zone_choice(self.timezone.clone())
    }

    /// A notice on stderr, `note: MESSAGE`, unless `--quiet`. The one word every notice
    /// starts with.
    pub fn note(&self, message: impl Display) {
        if !self.quiet {
            eprintln!("note: {message}");
        }
    }

    /// A command's closing summary line on stdout, unless `--quiet`.
    pub fn summary(&self, line: impl Display) {
        if !self.quiet {
            println!("{line}");
        }
    }

    /// A progress bar on stderr (see [`Bar::new`]), drawn nowhere with `--quiet`.
    pub fn bar(&self, template: &str, prefix: &'static str) -> Bar {
        let bar = Bar::new(template, prefix);
        if self.quiet {
            bar.0
                .set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar
    }
}

/// Draws a [`crate::model::Reporter`]'s progress as an indicatif bar on stderr (hidden when
/// stderr is not a terminal).
pub struct Bar(pub indicatif::ProgressBar);

impl Bar {
    /// A bar with `template` (indicatif syntax) and `prefix`.
    pub fn new(template: &str, prefix: &'static str) -> Bar {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(prefix);
        Bar(bar)
    }
}

impl crate::model::Reporter for Bar {
    fn set_total(&self, steps: u64) {
        self.0.set_length(steps);
    }
    fn set_message(&self, message: &str) {
        self.0.set_message(message.to_string());
    }
    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }
    fn set_position(&self, steps: u64) {
        self.0.set_position(steps);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
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
        for (param, setting) in store::mysql::TIMEOUT_PARAMS {
            if let Some(v) = cli.global.settings.get(setting) {
                *url = store::mysql::with_param(url, param, v);
            }
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
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
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

/// Asks `Type YES to continue:` on stderr and reads the answer from the terminal; true only
/// for `YES`. The terminal's own line editing (cooked mode) reads it, so Ctrl-D (end of
/// input) is an empty answer and aborts; a line editor in raw mode would take it for a
/// character and keep waiting.
pub fn confirm_yes() -> bool {
    eprint!("Type YES to continue: ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        answer.clear();
    }
    if answer.is_empty() {
        eprintln!();
    }
    answer.trim() == "YES"
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
    let filter = tracing_subscriber::EnvFilter::try_from_env("APR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("apr={default},warn")));
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

/// A clap value parser for a span flag (`15m`, `24h`): the flag's own one-line error,
/// without clap's usage block.
#[derive(Clone, Copy)]
pub struct SpanParser(pub &'static str);

impl clap::builder::TypedValueParser for SpanParser {
    type Value = i64;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<i64, clap::Error> {
        crate::hours::parse_span(&value.to_string_lossy(), self.0).map_err(|e| {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n"))
        })
    }
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
