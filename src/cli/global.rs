//! What every command shares: the global options ([`GlobalArgs`]) and how a command speaks
//! (notes, summary lines, progress bars, the `YES` prompt, span flags). Commands import it
//! from here, not from `cli`'s root, which only dispatches to them.

use std::fmt::Display;

use clap::Args;

use super::settings::Settings;
use crate::config::ZoneChoice;
use crate::store::{self, DatabaseUrl, Store};

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database: sqlite://PATH, a file path, mysql://user:pass@host:port/db or
    /// postgres://user:pass@host:port/db
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
        DatabaseUrl::parse(text, "APR_DATABASE_URL").map_err(|e| {
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

/// A stop flag set by SIGINT or SIGTERM, for the loaders that follow (SPEC §13): they finish
/// the batch in hand and exit 0. The handlers are installed before this returns, so a signal
/// from then on never kills the process mid-batch.
pub fn stop_on_signals() -> anyhow::Result<crate::model::stop::Stop> {
    let stop = crate::model::stop::Stop::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (mut int, mut term) = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })?;
        let asked = stop.clone();
        std::thread::spawn(move || {
            rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
            asked.request();
        });
    }
    #[cfg(not(unix))]
    {
        let asked = stop.clone();
        std::thread::spawn(move || {
            rt.block_on(crate::serve::shutdown_signal());
            asked.request();
        });
    }
    Ok(stop)
}
