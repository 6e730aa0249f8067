//! `apr init-load [--hours 48] [--yes] [--source DIR]` (SPEC §7.1, §9): after a typed `YES`,
//! backfills the last N hours from the live platform (or a replay directory) into a staging
//! SQLite file, aggregates it there, and only then replaces the database's tables with it
//! in one atomic step. Until that step the old data is untouched: a wrong password, an
//! unreachable platform, a broken state map, Ctrl-C or `kill -9` leave the database as it
//! was.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args as ClapArgs;

use super::{Bar, GlobalArgs, aggregate};
use crate::aggregate::categories::StateMap;
use crate::config::{ZoneUse, resolve_zone};
use crate::error::Error;
use crate::hours::Zone;
use crate::ingest::ingest;
use crate::model::TableSummary;
use crate::plural::counts;
use crate::source::Source;
use crate::source::platform::{PlatformConfig, PlatformSource};
use crate::source::replay::ReplayDir;
use crate::store::sqlite::SqliteStore;
use crate::store::{DatabaseUrl, Store};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// How many hours to backfill, counted back from now (from the newest recorded instant
    /// with --source)
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=24 * 366))]
    pub hours: u32,
    /// Skip the confirmation (for scripts)
    #[arg(long)]
    pub yes: bool,
    /// Load a replay directory of recorded responses instead of the live platform
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
}

/// The staging file: beside an SQLite database (same file system, so nothing big crosses
/// disks), in the temporary directory for MySQL. Removed when dropped; a file a killed run
/// left behind is removed by the next init-load before it starts.
struct Staging(PathBuf);

impl Staging {
    fn new(url: &DatabaseUrl) -> Staging {
        let path = match url {
            DatabaseUrl::Sqlite(p) => {
                let mut s = p.path.clone().into_os_string();
                s.push(".init-load-staging");
                PathBuf::from(s)
            }
            DatabaseUrl::Mysql(u) => {
                let name: String = u
                    .shown()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                std::env::temp_dir().join(format!("apr-init-load-{name}.db"))
            }
        };
        let staging = Staging(path);
        staging.remove();
        staging
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `2025-09-07 10:00` in `zone`.
fn local(zone: Zone, t: i64) -> String {
    zone.local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// The confirmation text: the database, what each table holds, and what will not come back.
pub fn prompt_text(
    shown: &str,
    tables: &[TableSummary],
    zone: Zone,
    hours: u32,
    source: &str,
) -> String {
    let mut out = format!(
        "init-load replaces the data of {shown} with the last {} from {source}.\n",
        counts(u64::from(hours), "hour")
    );
    if tables.iter().all(|t| t.rows == 0) {
        out.push_str("The database holds no data yet.\n");
        return out;
    }
    out.push_str("It holds now:\n");
    for t in tables {
        let span = match t.span {
            Some((lo, hi)) => format!(
                ", {} to {} ({})",
                local(zone, lo),
                local(zone, hi),
                zone.name()
            ),
            None => String::new(),
        };
        out.push_str(&format!("  {}: {}{span}\n", t.table, counts(t.rows, "row")));
    }
    out.push_str(&format!(
        "What will not come back: hours older than the last {hours} (the platform is asked for \
         those hours only), and the queue_log history (queue_log, queue_calls, rejects and \
         cursors; re-read the files with apr parse-queue-log).\n"
    ));
    out
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    // Validate everything before the database is opened for writing (SPEC §9).
    let state_map = StateMap::from_settings(&global.settings)?;
    let choice = global.zone_choice();
    choice.parse()?;
    let mut peek = global.peek()?;
    let zone = match peek.as_mut() {
        Some(s) => resolve_zone(s.as_mut(), &choice, ZoneUse::Replace)?,
        None => choice.parse()?.unwrap_or_else(Zone::system),
    };
    let cached = match peek.as_mut() {
        Some(s) => s.token()?,
        None => None,
    };
    let tables = match peek.as_mut() {
        Some(s) => s.table_summaries()?,
        None => Vec::new(),
    };
    let bounds = super::time_bounds(peek.as_mut().map(|s| s.as_mut() as &mut dyn Store))?;
    drop(peek);
    let mut replay = None;
    let mut platform = None;
    let source: &mut dyn Source = match args.source.as_deref() {
        Some(dir) => replay.insert(ReplayDir::open(dir, zone, &bounds)?),
        None => {
            let cfg = PlatformConfig::from_settings(&global.settings)?;
            let mut p = PlatformSource::new(cfg, cached)?;
            p.check_login()?;
            platform.insert(p)
        }
    };

    let shown = global.database_url.shown();
    // What the prompt asks about; with --yes and --quiet (cron) nobody reads it.
    if !(args.yes && global.quiet) {
        eprint!(
            "{}",
            prompt_text(&shown, &tables, zone, args.hours, &source.describe())
        );
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "init-load replaces the database's data and needs confirmation: run it in a terminal and type YES, or pass --yes",
            )
            .into());
        }
        if !super::confirm_yes() {
            global.note("aborted: nothing was changed");
            return Ok(());
        }
    }

    let started = Instant::now();
    let mut store = global.open_locked()?;
    let zone = resolve_zone(store.as_mut(), &choice, ZoneUse::Replace)?;
    let staging = Staging::new(&global.database_url);
    let bar = global.bar("{prefix} [{bar:30}] {pos}/{len} hours {msg}", "loading");
    let (loaded, agg) = stage(&staging.0, source, zone, args.hours, &state_map, &bar);
    // Keep a fresh token even when the backfill failed, so the next run reuses it.
    if let Some(token) = platform.as_mut().and_then(PlatformSource::take_new_token) {
        store.set_token(&token)?;
    }
    let (loaded, agg) = (loaded?, agg?);
    store.replace_with(&staging.0)?;
    drop(staging);
    aggregate::note_other_reasons(global, &agg);
    global.summary(format_args!(
        "loaded {} ({} new) and {}; {} over {} ({}) in {:.1}s",
        counts(loaded.events_seen, "event"),
        loaded.events_new,
        counts(loaded.stats_rows, "hourly stats row"),
        counts(agg.agents, "agent"),
        counts(agg.hours_with_rows, "hour"),
        counts(agg.rows, "row"),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

type Staged = (
    crate::Result<crate::ingest::IngestSummary>,
    crate::Result<crate::aggregate::AggregateSummary>,
);

/// Fetches and aggregates the backfill into a new SQLite file at `path`.
fn stage(
    path: &Path,
    source: &mut dyn Source,
    zone: Zone,
    hours: u32,
    state_map: &StateMap,
    bar: &Bar,
) -> Staged {
    let mut staging = match SqliteStore::open_scratch(path) {
        Ok(s) => s,
        Err(e) => return (Err(e), Ok(Default::default())),
    };
    staging.record_zone(zone.name(), true);
    let now = match source.now() {
        Ok(n) => n,
        Err(e) => return (Err(e), Ok(Default::default())),
    };
    let from = now - i64::from(hours) * 3600;
    let loaded = ingest(&mut staging, source, zone, from, now, bar);
    bar.0.finish_and_clear();
    if loaded.is_err() {
        return (loaded, Ok(Default::default()));
    }
    let agg = crate::ops::aggregate::after_load(&mut staging, zone, state_map);
    (loaded, agg)
}
