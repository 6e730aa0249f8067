//! The backfill of `apr init-load` (SPEC §7.1, §9): the last N hours are fetched into a
//! staging SQLite file and aggregated there, and only then replace the database's tables in
//! one atomic step. Until that step the old data is untouched: a wrong password, an
//! unreachable platform, a broken state map, Ctrl-C or `kill -9` leave the database as it
//! was.

use std::path::{Path, PathBuf};

use crate::aggregate::AggregateSummary;
use crate::aggregate::categories::StateMap;
use crate::bounds::TimeBounds;
use crate::config::{ZoneChoice, ZoneUse};
use crate::error::Result;
use crate::hours::Zone;
use crate::model::{CachedToken, Reporter, TableSummary};
use crate::source::Source;
use crate::store::sqlite::SqliteStore;
use crate::store::{self, DatabaseUrl, Store};

use super::ingest::{IngestSummary, ingest};
use super::open::{open_locked, time_bounds};
use super::upstream::Upstream;
use super::zone::{resolve_zone, zone_for};

/// What the database holds before a backfill, read without creating anything: what the
/// confirmation shows and what the source is opened with.
#[derive(Debug, Clone)]
pub struct Preview {
    pub zone: Zone,
    /// The login token an earlier run stored.
    pub cached_token: Option<CachedToken>,
    /// Rows and time range of each table the backfill replaces (none for a new database).
    pub tables: Vec<TableSummary>,
    /// The instants a source may claim.
    pub bounds: TimeBounds,
}

/// Validates the zone against the database, if it exists, and reads what it holds.
pub fn preview(url: &DatabaseUrl, choice: &ZoneChoice) -> Result<Preview> {
    choice.parse()?;
    let mut peek = store::peek(url)?;
    let zone = zone_for(
        peek.as_mut().map(|s| s.as_mut() as &mut dyn Store),
        choice,
        ZoneUse::Replace,
    )?;
    let (cached_token, tables) = match peek.as_mut() {
        Some(s) => (s.token()?, s.table_summaries()?),
        None => (None, Vec::new()),
    };
    let bounds = time_bounds(peek.as_mut().map(|s| s.as_mut() as &mut dyn Store))?;
    Ok(Preview {
        zone,
        cached_token,
        tables,
        bounds,
    })
}

/// What a backfill loaded and aggregated.
#[derive(Debug, Clone)]
pub struct Backfill {
    pub loaded: IngestSummary,
    pub aggregated: AggregateSummary,
}

/// Replaces the data of the database at `url` with the last `hours` from `upstream`: under
/// the write lock, staged and aggregated beside it, then swapped in. `progress` advances
/// once per hour fetched.
pub fn backfill(
    url: &DatabaseUrl,
    choice: &ZoneChoice,
    upstream: &mut Upstream,
    hours: u32,
    state_map: &StateMap,
    progress: &dyn Reporter,
) -> Result<Backfill> {
    let mut store = open_locked(url)?;
    let zone = resolve_zone(store.as_mut(), choice, ZoneUse::Replace)?;
    let staging = Staging::new(url);
    let (loaded, aggregated) = stage(
        &staging.0,
        upstream.source(),
        zone,
        hours,
        state_map,
        progress,
    );
    // Keep a fresh token even when the backfill failed, so the next run reuses it.
    upstream.keep_token(store.as_mut())?;
    let (loaded, aggregated) = (loaded?, aggregated?);
    store.replace_with(&staging.0)?;
    drop(staging);
    Ok(Backfill { loaded, aggregated })
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
            DatabaseUrl::Mysql(_) | DatabaseUrl::Postgres(_) => {
                let name: String = url
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

/// The load's and the aggregation's results apart: a token the platform issued is kept
/// whichever failed.
type Staged = (Result<IngestSummary>, Result<AggregateSummary>);

/// Fetches and aggregates the backfill into a new SQLite file at `path`.
fn stage(
    path: &Path,
    source: &mut dyn Source,
    zone: Zone,
    hours: u32,
    state_map: &StateMap,
    progress: &dyn Reporter,
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
    let loaded = ingest(&mut staging, source, zone, from, now, progress);
    progress.finish();
    if loaded.is_err() {
        return (loaded, Ok(Default::default()));
    }
    let aggregated = crate::ops::aggregate::after_load(&mut staging, zone, state_map);
    (loaded, aggregated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Silent;

    fn utc() -> ZoneChoice {
        ZoneChoice {
            flag: Some("UTC".into()),
            env: None,
        }
    }

    #[test]
    fn a_backfill_replaces_the_data_and_leaves_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let replay = dir.path().join("replay");
        std::fs::create_dir_all(replay.join("events")).unwrap();
        std::fs::write(
            replay.join("events").join("1.json"),
            serde_json::json!({"events": [
                {"ext": "201", "Timestamp": 1_757_260_000, "event": "agent_idle",
                 "enabled": true, "state": "none", "user_id": "u1", "username": "A"}
            ]})
            .to_string(),
        )
        .unwrap();
        let path = dir.path().join("apr.db");
        let url = DatabaseUrl::sqlite(path.clone());
        let before = preview(&url, &utc()).unwrap();
        assert!(before.tables.is_empty());
        assert!(!path.exists(), "the preview created the database");
        let mut upstream = Upstream::replay(&replay, before.zone, &before.bounds).unwrap();
        let done = backfill(
            &url,
            &utc(),
            &mut upstream,
            2,
            &StateMap::default(),
            &Silent,
        )
        .unwrap();
        assert_eq!(done.loaded.events_new, 1);
        assert!(!dir.path().join("apr.db.init-load-staging").exists());
        let after = preview(&url, &utc()).unwrap();
        assert_eq!(after.tables[0].table, "agent_events");
        assert_eq!(after.tables[0].rows, 1);
    }
}
