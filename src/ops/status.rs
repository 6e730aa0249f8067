//! `apr status` (SPEC §12): where apr stands, read from an existing database without
//! writing anything — watermarks and "data until" instants, what waits for aggregation,
//! each queue_log file's cursor against the file on disk, row counts and time spans per
//! table, and the not-available reasons of the last week of data with the category each
//! went to. Gathering reads the database and stats files; every `etl_state` value is
//! decoded through its key in [`crate::model::state`], so a corrupt one is an error naming
//! the key.

use std::collections::BTreeMap;

use crate::aggregate::categories::{Category, StateMap};
use crate::error::Result;
use crate::hours::Zone;
use crate::model::state::{
    COLLECT_EVENTS_UNTIL, COLLECT_LAST_RUN, Cursor, DATA_UNTIL_KEYS, DIRTY_FROM, DIRTY_TO, Gap,
    InstantKey, LEGACY_DATA_UNTIL, PRUNED_BEFORE,
};
use crate::model::{ClusterState, EventSource};
use crate::store::maintenance::Conn;
use crate::store::table::{
    AGENT_ACTIVITY, AGENT_EVENTS, AGENTS, ETL_STATE, QUEUE_CALLS, QUEUE_LOG, QUEUE_LOG_REJECTS,
    QUEUE_LOG_STATE, Table, USERS_CALLS,
};
use crate::store::value::Cell;

/// How far back from the newest event `status` lists not-available reasons.
pub const REASONS_WINDOW: i64 = 7 * 86_400;

/// The tables shown, in display order; each one's time column gives its span.
const SHOWN_TABLES: [&Table; 9] = [
    &AGENT_EVENTS,
    &USERS_CALLS,
    &AGENT_ACTIVITY,
    &AGENTS,
    &QUEUE_LOG,
    &QUEUE_CALLS,
    &QUEUE_LOG_REJECTS,
    &QUEUE_LOG_STATE,
    &ETL_STATE,
];

/// One table's size and span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStatus {
    pub name: &'static str,
    pub rows: u64,
    pub span: Option<(i64, i64)>,
}

/// One source's newest data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceData {
    /// `None` for a database with one value shared by every source.
    pub source: Option<EventSource>,
    /// Its "data until" instant.
    pub until: i64,
    /// When that instant was last written (a load of the source).
    pub written_at: i64,
}

impl SourceData {
    /// `api`, `queue_log`, or `all` for the shared value.
    pub fn name(&self) -> &'static str {
        self.source.map_or("all", EventSource::as_str)
    }
}

/// One queue_log file's cursor and the file on disk now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    pub path: String,
    pub offset: u64,
    pub lines: u64,
    /// When the cursor last moved (the last load of this file).
    pub loaded_at: i64,
    /// The file's size now; `None` when it cannot be read.
    pub size: Option<u64>,
    /// Bytes not loaded yet; `None` when unknown (compressed or missing file).
    pub behind: Option<u64>,
    /// Why `behind` is what it is, when it needs saying.
    pub remark: Option<String>,
}

/// A stretch of a queue_log lost to rotation, as parse-queue-log recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapStatus {
    pub file: String,
    /// The last line read of the lost file.
    pub after_line: u64,
    /// When the gap was found.
    pub found_at: i64,
}

/// A not-available reason started in the listed week, and where its time went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonStatus {
    pub reason: String,
    pub category: Category,
    pub starts: u64,
    pub last: i64,
}

/// Everything `status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub database: String,
    pub backend: &'static str,
    /// The node's place in its cluster, when the server is a Galera node.
    pub cluster: Option<ClusterState>,
    pub now: i64,
    pub schema_version: Option<String>,
    pub zone: Zone,
    /// Recorded in the database (else the configured or system zone is shown).
    pub zone_recorded: bool,
    pub data_until: Vec<SourceData>,
    pub collect_watermark: Option<i64>,
    pub collect_last_run: Option<i64>,
    pub pending_aggregation: Option<(i64, i64)>,
    pub pruned_before: Option<i64>,
    pub files: Vec<FileStatus>,
    pub gaps: Vec<GapStatus>,
    pub tables: Vec<TableStatus>,
    /// The not-available reasons of the [`REASONS_WINDOW`] up to the newest event, newest
    /// first.
    pub reasons: Vec<ReasonStatus>,
}

impl Status {
    /// The last time a queue_log file was loaded, if any ever was.
    pub fn last_queue_log_load(&self) -> Option<i64> {
        self.files.iter().map(|f| f.loaded_at).max()
    }

    /// The listed reasons no rule maps (they count as Other).
    pub fn other_reasons(&self) -> impl Iterator<Item = &ReasonStatus> {
        self.reasons
            .iter()
            .filter(|r| r.category == Category::Other)
    }
}

/// Reads the status of the database behind `conn` at instant `now`. `zone` is used when
/// the database records none.
pub fn gather(conn: &mut Conn<'_>, zone: Zone, state_map: &StateMap, now: i64) -> Result<Status> {
    let mut meta: BTreeMap<String, String> = BTreeMap::new();
    conn.query("SELECT meta_key, meta_value FROM apr_meta", &[], &mut |r| {
        meta.insert(r.text(0)?, r.text(1)?);
        Ok(())
    })?;
    let recorded = meta.get("timezone").and_then(|z| Zone::parse(z).ok());
    let zone_recorded = recorded.is_some();
    let zone = recorded.unwrap_or(zone);
    // key -> (value, updated_at)
    let mut state: BTreeMap<String, (String, i64)> = BTreeMap::new();
    conn.query(
        "SELECT state_key, state_value, updated_at FROM etl_state",
        &[],
        &mut |r| {
            state.insert(r.text(0)?, (r.text(1)?, r.opt_int(2)?.unwrap_or(0)));
            Ok(())
        },
    )?;
    let stored = |k: &str| state.get(k).map(|(v, _)| v.as_str());
    let instant = |key: InstantKey| key.decode(stored(key.name()));
    let source_data =
        |source: Option<EventSource>, key: InstantKey| -> Result<Option<SourceData>> {
            Ok(instant(key)?.map(|until| SourceData {
                source,
                until,
                written_at: state.get(key.name()).map_or(0, |(_, at)| *at),
            }))
        };
    let mut data_until = Vec::new();
    for (source, key) in DATA_UNTIL_KEYS {
        data_until.extend(source_data(Some(source), key)?);
    }
    if data_until.is_empty() {
        data_until.extend(source_data(None, LEGACY_DATA_UNTIL)?);
    }
    let pending_aggregation = instant(DIRTY_FROM)?.zip(instant(DIRTY_TO)?);
    let collect_last_run = COLLECT_LAST_RUN.decode(stored(COLLECT_LAST_RUN.name()))?;
    let mut files = Vec::new();
    let mut gaps = Vec::new();
    for (key, (value, at)) in &state {
        if let Some(path) = Cursor::path_of(key) {
            files.push(file_status(path, &Cursor::decode(key, value)?, *at));
        } else if Gap::is_key(key) {
            let gap = Gap::decode(key, value)?;
            gaps.push(GapStatus {
                file: gap.file,
                after_line: gap.line_no,
                found_at: *at,
            });
        }
    }
    let mut tables = Vec::new();
    for table in SHOWN_TABLES {
        let name = table.name;
        let rows = conn
            .int(&format!("SELECT COUNT(*) FROM {name}"), &[])?
            .unwrap_or(0) as u64;
        let mut span = None;
        if let Some(c) = table.time_column
            && rows > 0
        {
            conn.query(
                &format!("SELECT MIN({c}), MAX({c}) FROM {name}"),
                &[],
                &mut |r| {
                    span = r.opt_int(0)?.zip(r.opt_int(1)?);
                    Ok(())
                },
            )?;
        }
        tables.push(TableStatus { name, rows, span });
    }
    let newest_event = conn.int("SELECT MAX(ts_epoch) FROM agent_events", &[])?;
    let mut reasons: Vec<ReasonStatus> = Vec::new();
    conn.query(
        "SELECT state, COUNT(*), MAX(ts_epoch) FROM agent_events \
         WHERE ts_epoch >= ? AND event = 'agent_not_avail_state' AND enabled = 1 \
         GROUP BY state",
        &[Cell::Int(newest_event.unwrap_or(now) - REASONS_WINDOW)],
        &mut |r| {
            let reason = r.text(0)?;
            reasons.push(ReasonStatus {
                category: state_map.classify(&reason),
                reason,
                starts: r.int(1)?.max(0) as u64,
                last: r.int(2)?,
            });
            Ok(())
        },
    )?;
    reasons.sort_by(|a, b| b.last.cmp(&a.last).then(a.reason.cmp(&b.reason)));
    Ok(Status {
        database: conn.shown(),
        backend: conn.backend(),
        cluster: conn.cluster_state()?,
        now,
        schema_version: meta.get("schema_version").cloned(),
        zone,
        zone_recorded,
        data_until,
        collect_watermark: instant(COLLECT_EVENTS_UNTIL)?,
        collect_last_run,
        pending_aggregation,
        pruned_before: instant(PRUNED_BEFORE)?,
        files,
        gaps,
        tables,
        reasons,
    })
}

/// A file's cursor compared with the file now.
fn file_status(path: &str, cursor: &Cursor, loaded_at: i64) -> FileStatus {
    let meta = std::fs::metadata(path).ok();
    #[cfg(unix)]
    let same_file = {
        use std::os::unix::fs::MetadataExt;
        meta.as_ref()
            .map(|m| m.ino() == cursor.ino && m.dev() == cursor.dev)
    };
    #[cfg(not(unix))]
    let same_file = meta.as_ref().map(|_| true);
    let size = meta.as_ref().map(|m| m.len());
    let (behind, remark) = behind(path, cursor.offset, size, same_file);
    FileStatus {
        path: path.to_string(),
        offset: cursor.offset,
        lines: cursor.line_no,
        loaded_at,
        size,
        behind,
        remark,
    }
}

/// How far a cursor at `offset` is behind a file of `size` bytes (pure).
fn behind(
    path: &str,
    offset: u64,
    size: Option<u64>,
    same_file: Option<bool>,
) -> (Option<u64>, Option<String>) {
    match (size, same_file) {
        (None, _) => (None, Some("the file cannot be read now".into())),
        _ if path.ends_with(".gz") => (
            None,
            Some("compressed: the offset counts decompressed bytes".into()),
        ),
        (Some(size), Some(false)) => (
            Some(size),
            Some("a new file since the last load (rotated): the next load finishes the old one from its rotated name".into()),
        ),
        (Some(size), _) if size < offset => (
            Some(size),
            Some("shorter than the cursor (truncated): the next load reads it again".into()),
        ),
        (Some(size), _) => (Some(size - offset), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn cursor_distance_to_the_file() {
        assert_eq!(behind("q", 100, Some(150), Some(true)), (Some(50), None));
        assert_eq!(behind("q", 150, Some(150), Some(true)), (Some(0), None));
        let (b, r) = behind("q", 200, Some(150), Some(true));
        assert_eq!(b, Some(150));
        assert!(r.unwrap().contains("truncated"));
        let (b, r) = behind("q", 200, Some(40), Some(false));
        assert_eq!(b, Some(40));
        assert!(r.unwrap().contains("rotated"));
        assert_eq!(behind("q.gz", 200, Some(40), Some(true)).0, None);
        assert_eq!(behind("q", 200, None, None).0, None);
    }

    fn gathered(state: &[(&str, &str)]) -> Result<Status> {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        for (k, v) in state {
            store.set_state(k, v).unwrap();
        }
        gather(
            &mut Conn::new(store.sql()),
            Zone::UTC,
            &StateMap::default(),
            1_757_260_800,
        )
    }

    #[test]
    fn state_values_decode_through_their_keys() {
        let cursor = r#"{"dev":1,"ino":2,"offset":300,"line_no":4,"first_hash":5}"#;
        let s = gathered(&[
            ("queue_log.cursor:/nowhere/queue_log", cursor),
            ("data_until.queue_log", "1757257200"),
            ("prune.before", "1756684800"),
            ("collect.last_run", "2025-09-07T15:00:00Z"),
        ])
        .unwrap();
        assert_eq!((s.files[0].offset, s.files[0].lines), (300, 4));
        assert_eq!(s.data_until.len(), 1);
        assert_eq!(
            (s.data_until[0].name(), s.data_until[0].until),
            ("queue_log", 1_757_257_200)
        );
        assert_eq!(s.pruned_before, Some(1_756_684_800));
        assert_eq!(s.collect_last_run, Some(1_757_257_200));
    }

    /// A corrupt cursor once showed as offset 0, a corrupt boundary as no boundary.
    #[test]
    fn a_corrupt_value_is_an_error_naming_its_key() {
        for (key, value) in [
            ("queue_log.cursor:/q", "{\"offset\":\"x\"}"),
            ("queue_log.gap:/q:00:1", "not json"),
            ("prune.before", "2025-09-01"),
            ("aggregate.dirty_from", "soon"),
            ("collect.last_run", "last tuesday"),
        ] {
            let e = gathered(&[(key, value)]).unwrap_err();
            assert!(e.to_string().contains(&format!("'{key}'")), "{key}: {e}");
        }
    }
}
