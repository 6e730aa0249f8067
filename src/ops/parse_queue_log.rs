//! `apr parse-queue-log` as a use case (SPEC §6): the agents file, then the files loaded
//! incrementally under the write lock and the hours they touched aggregated, or, for a dry
//! run, parsed and counted against the stored cursors without writing anything.

use std::path::Path;

use crate::aggregate::AggregateSummary;
use crate::aggregate::categories::StateMap;
use crate::config::{ZoneChoice, ZoneUse};
use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::model::Reporter;
use crate::model::state::{QUEUE_LOG_MAX_CARRY, SpanKey};
use crate::plural::counts;
use crate::source::queue_log::agent_map::AgentMap;
use crate::source::queue_log::load::{self, LoadOptions, LoadSummary, Progress};
use crate::store::{self, DatabaseUrl, QueueStore, Store};

use super::open::{LockWait, take_write_lock, time_bounds};
use super::zone::{resolve_zone, zone_for};

/// Reads the agents file at `path` (none: an empty map); `label` is what errors call it
/// (the flag and the setting that name it).
pub fn agent_map(path: Option<&Path>, label: &str) -> Result<AgentMap> {
    let Some(path) = path else {
        return Ok(AgentMap::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!(
            "{label} file '{}' cannot be read: {e}; expected a TOML file with an [agents] table",
            path.display()
        ))
    })?;
    AgentMap::from_toml(&text, &path.display().to_string())
}

/// How the lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A call still waiting this long after it entered is closed as INCOMPLETE.
    pub max_call_secs: i64,
    /// Lines per transaction.
    pub chunk_lines: usize,
    /// How far back the state carried into an hour is looked for, for the queue_log agents
    /// (recorded for every later aggregation of them).
    pub max_carry: i64,
}

/// What a load stored and aggregated.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub summary: LoadSummary,
    pub aggregated: AggregateSummary,
}

/// Loads `files` (`-`: stdin) into the database at `url` under the write lock, then
/// aggregates the hours they touched. `progress` follows the bytes of the file being read
/// and is finished before the aggregation.
pub fn load_and_aggregate(
    url: &DatabaseUrl,
    choice: &ZoneChoice,
    files: &[String],
    agents: &AgentMap,
    limits: Limits,
    state_map: &StateMap,
    progress: &dyn Reporter,
) -> Result<Loaded> {
    load_batch(
        url,
        choice,
        files,
        agents,
        limits,
        state_map,
        progress,
        LockWait::Refuse,
    )
}

/// [`load_and_aggregate`], taking the write lock as `wait` says: one batch of a follower
/// waits for it (SPEC §13). The lock is released when the batch returns.
#[allow(clippy::too_many_arguments)]
pub fn load_batch(
    url: &DatabaseUrl,
    choice: &ZoneChoice,
    files: &[String],
    agents: &AgentMap,
    limits: Limits,
    state_map: &StateMap,
    progress: &dyn Reporter,
    wait: LockWait<'_>,
) -> Result<Loaded> {
    // A first run given the wrong file leaves no database (SPEC §9): the files are looked
    // at before one is created.
    if store::peek_queue(url)?.is_none() {
        let zone = zone_for(None, choice, ZoneUse::Write)?;
        load::sniff(files, options(zone, limits, time_bounds(None)?))?;
    }
    // The lock before the schema is created or upgraded (SPEC §9).
    let mut store = store::open_queue_checked(url, &mut |store, _| take_write_lock(store, wait))?;
    let zone = resolve_zone(store.as_mut(), choice, ZoneUse::Write)?;
    let opts = options(zone, limits, time_bounds(Some(store.as_mut()))?);
    let summary = load::load_files(store.as_mut(), files, agents, opts, &mut follow(progress))?;
    progress.finish();
    let base: &mut dyn Store = store.as_mut();
    base.set_state(
        QUEUE_LOG_MAX_CARRY.name(),
        &SpanKey::encode(limits.max_carry),
    )?;
    let aggregated = crate::ops::aggregate::after_load(base, zone, state_map)?;
    Ok(Loaded {
        summary,
        aggregated,
    })
}

/// Parses and derives `files` as a load would, counting, writing and creating nothing: the
/// cursors come from the database only when it exists and holds apr's tables.
pub fn dry_run(
    url: &DatabaseUrl,
    choice: &ZoneChoice,
    files: &[String],
    agents: &AgentMap,
    limits: Limits,
    progress: &dyn Reporter,
) -> Result<LoadSummary> {
    let mut store = store::peek_queue(url)?;
    let zone = zone_for(
        store.as_mut().map(|s| s.as_mut() as &mut dyn Store),
        choice,
        ZoneUse::Read,
    )?;
    let bounds = time_bounds(store.as_mut().map(|s| s.as_mut() as &mut dyn Store))?;
    let summary = load::dry_run(
        store.as_mut().map(|s| s.as_mut() as &mut dyn QueueStore),
        files,
        agents,
        options(zone, limits, bounds),
        &mut follow(progress),
    )?;
    progress.finish();
    Ok(summary)
}

fn options(zone: Zone, limits: Limits, bounds: crate::bounds::TimeBounds) -> LoadOptions {
    LoadOptions {
        zone,
        max_call_secs: limits.max_call_secs,
        chunk_lines: limits.chunk_lines,
        bounds,
    }
}

/// Hands a chunk's progress to `progress`: the bytes of the file being read (when its size
/// is known) and the lines read so far.
fn follow(progress: &dyn Reporter) -> impl FnMut(Progress) + '_ {
    move |p| {
        if let Some(total) = p.total_bytes {
            progress.set_total(total);
            progress.set_position(p.bytes);
        }
        progress.set_message(&counts(p.lines, "line"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Silent;

    const LIMITS: Limits = Limits {
        max_call_secs: 4 * 3600,
        chunk_lines: 1000,
        max_carry: crate::aggregate::DEFAULT_MAX_CARRY,
    };

    fn utc() -> ZoneChoice {
        ZoneChoice {
            flag: Some("UTC".into()),
            env: None,
        }
    }

    #[test]
    fn an_unreadable_agents_file_is_named_with_the_label() {
        let e = agent_map(Some(Path::new("/nonexistent/agents.toml")), "--agents")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--agents file '/nonexistent/agents.toml' cannot be read"),
            "{e}"
        );
        assert_eq!(agent_map(None, "--agents").unwrap(), AgentMap::default());
    }

    #[test]
    fn a_dry_run_counts_what_a_load_then_stores() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("queue_log");
        std::fs::write(
            &log,
            "1757260800|1757260800.1|q1|NONE|ENTERQUEUE||201|1\n\
             1757260805|1757260800.1|q1|PJSIP/201|CONNECT|5|1757260800.2|1\n\
             1757260865|1757260800.1|q1|PJSIP/201|COMPLETEAGENT|5|60|1\n",
        )
        .unwrap();
        let files = [log.display().to_string()];
        let path = dir.path().join("apr.db");
        let url = DatabaseUrl::sqlite(path.clone());
        let agents = AgentMap::default();
        let dry = dry_run(&url, &utc(), &files, &agents, LIMITS, &Silent).unwrap();
        assert!(!path.exists(), "a dry run created the database");
        assert_eq!((dry.lines_read, dry.loaded, dry.calls), (3, 3, 1));
        let loaded = load_and_aggregate(
            &url,
            &utc(),
            &files,
            &agents,
            LIMITS,
            &StateMap::default(),
            &Silent,
        )
        .unwrap();
        assert_eq!(loaded.summary.loaded, 3);
        assert_eq!(loaded.summary.calls, 1);
        // The cursor is stored: a second dry run reads nothing new.
        let again = dry_run(&url, &utc(), &files, &agents, LIMITS, &Silent).unwrap();
        assert_eq!(again.lines_read, 0);
    }
}
