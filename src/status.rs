//! `apr status` (SPEC §12): where apr stands, read from an existing database without
//! writing anything — watermarks and "data until" instants with their age, what waits for
//! aggregation, each queue_log file's cursor against the file on disk, row counts and time
//! spans per table, and the not-available reasons that fell into Other lately. Gathering
//! reads the database and stats files; rendering and the staleness check are pure.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::aggregate::categories::{Category, StateMap};
use crate::error::Result;
use crate::hours::Zone;
use crate::plural::counts;
use crate::source::queue_log::checkpoint::{GAP_KEY_PREFIX, Gap};
use crate::store::maintenance::{Conn, PRUNED_BEFORE, Param};

/// How far back `status` looks for reasons that fell into Other.
pub const OTHER_REASONS_WINDOW: i64 = 7 * 86_400;

/// Tables and the column whose values span their time (epoch seconds), in display order.
pub const TABLES: &[(&str, Option<&str>)] = &[
    ("agent_events", Some("ts_epoch")),
    ("users_calls", Some("hour_start")),
    ("agent_activity", Some("report_hour")),
    ("agents", None),
    ("queue_log", Some("time")),
    ("queue_calls", Some("enter_time")),
    ("queue_log_rejects", Some("loaded_at")),
    ("queue_log_state", None),
    ("etl_state", None),
];

/// One table's size and span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStatus {
    pub name: &'static str,
    pub rows: u64,
    pub span: Option<(i64, i64)>,
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

/// A not-available reason counted as Other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherReason {
    pub reason: String,
    pub starts: u64,
    pub last: i64,
}

/// Everything `status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub database: String,
    pub backend: &'static str,
    pub now: i64,
    pub schema_version: Option<String>,
    pub zone: Zone,
    /// Recorded in the database (else the configured or system zone is shown).
    pub zone_recorded: bool,
    /// Per source (`api`, `queue_log`; `all` for a database with one shared value).
    pub data_until: Vec<(String, i64)>,
    pub collect_watermark: Option<i64>,
    pub collect_last_run: Option<i64>,
    pub pending_aggregation: Option<(i64, i64)>,
    pub pruned_before: Option<i64>,
    pub files: Vec<FileStatus>,
    pub gaps: Vec<GapStatus>,
    pub tables: Vec<TableStatus>,
    pub other_reasons: Vec<OtherReason>,
}

impl Status {
    /// The last time a queue_log file was loaded, if any ever was.
    pub fn last_queue_log_load(&self) -> Option<i64> {
        self.files.iter().map(|f| f.loaded_at).max()
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
    let instant = |k: &str| state.get(k).and_then(|(v, _)| v.trim().parse::<i64>().ok());
    let mut data_until = Vec::new();
    for source in ["api", "queue_log"] {
        if let Some(t) = instant(&format!("data_until.{source}")) {
            data_until.push((source.to_string(), t));
        }
    }
    if data_until.is_empty()
        && let Some(t) = instant("data_until")
    {
        data_until.push(("all".to_string(), t));
    }
    let pending_aggregation = match (
        instant("aggregate.dirty_from"),
        instant("aggregate.dirty_to"),
    ) {
        (Some(f), Some(t)) => Some((f, t)),
        _ => None,
    };
    let collect_last_run = state.get("collect.last_run").and_then(|(v, _)| {
        chrono::DateTime::parse_from_rfc3339(v.trim())
            .ok()
            .map(|d| d.timestamp())
    });
    let files = state
        .iter()
        .filter_map(|(k, (v, at))| {
            let path = k.strip_prefix("queue_log.cursor:")?;
            Some(file_status(path, v, *at))
        })
        .collect();
    let gaps = state
        .iter()
        .filter(|(k, _)| k.starts_with(GAP_KEY_PREFIX))
        .filter_map(|(_, (v, at))| {
            let gap: Gap = serde_json::from_str(v).ok()?;
            Some(GapStatus {
                file: gap.file,
                after_line: gap.line_no,
                found_at: *at,
            })
        })
        .collect();
    let mut tables = Vec::new();
    for (name, column) in TABLES {
        let rows = conn
            .int(&format!("SELECT COUNT(*) FROM {name}"), &[])?
            .unwrap_or(0) as u64;
        let mut span = None;
        if let Some(c) = column
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
    let mut other_reasons: Vec<OtherReason> = Vec::new();
    conn.query(
        "SELECT state, COUNT(*), MAX(ts_epoch) FROM agent_events \
         WHERE ts_epoch >= ? AND event = 'agent_not_avail_state' AND enabled = 1 \
         GROUP BY state",
        &[Param::Int(now - OTHER_REASONS_WINDOW)],
        &mut |r| {
            let reason = r.text(0)?;
            if state_map.classify(&reason) == Category::Other {
                other_reasons.push(OtherReason {
                    reason,
                    starts: r.int(1)?.max(0) as u64,
                    last: r.int(2)?,
                });
            }
            Ok(())
        },
    )?;
    other_reasons.sort_by(|a, b| b.last.cmp(&a.last).then(a.reason.cmp(&b.reason)));
    Ok(Status {
        database: conn.shown(),
        backend: conn.backend(),
        now,
        schema_version: meta.get("schema_version").cloned(),
        zone,
        zone_recorded,
        data_until,
        collect_watermark: instant("collect.events_until"),
        collect_last_run,
        pending_aggregation,
        pruned_before: instant(PRUNED_BEFORE),
        files,
        gaps,
        tables,
        other_reasons,
    })
}

/// A file's cursor (the JSON `queue_log` loading stores) compared with the file now.
fn file_status(path: &str, cursor: &str, loaded_at: i64) -> FileStatus {
    let c: Json = serde_json::from_str(cursor).unwrap_or(Json::Null);
    let field = |k: &str| c.get(k).and_then(Json::as_u64);
    let offset = field("offset").unwrap_or(0);
    let meta = std::fs::metadata(path).ok();
    #[cfg(unix)]
    let same_file = {
        use std::os::unix::fs::MetadataExt;
        meta.as_ref()
            .map(|m| Some(m.ino()) == field("ino") && Some(m.dev()) == field("dev"))
    };
    #[cfg(not(unix))]
    let same_file = meta.as_ref().map(|_| true);
    let size = meta.as_ref().map(|m| m.len());
    let (behind, remark) = behind(path, offset, size, same_file);
    FileStatus {
        path: path.to_string(),
        offset,
        lines: field("line_no").unwrap_or(0),
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

/// `45s`, `12m`, `3h 05m`, `2d 04h`: how long ago (or `in ...` for the future).
pub fn age(secs: i64) -> String {
    if secs < 0 {
        return format!("in {}", age(-secs).trim_end_matches(" ago"));
    }
    let text = match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    };
    format!("{text} ago")
}

fn local(zone: Zone, t: i64) -> String {
    zone.local(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn rfc3339(zone: Zone, t: i64) -> String {
    zone.local(t)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The human form of a status.
pub fn render_text(s: &Status) -> String {
    let z = s.zone;
    let when = |t: i64| format!("{} ({})", local(z, t), age(s.now - t));
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    line(format!("database:        {} ({})", s.database, s.backend));
    line(format!(
        "schema version:  {}",
        s.schema_version.as_deref().unwrap_or("none")
    ));
    line(format!(
        "zone:            {}{}",
        z.name(),
        if s.zone_recorded {
            ""
        } else {
            " (not recorded yet)"
        }
    ));
    if s.data_until.is_empty() {
        line("data until:      no data loaded".into());
    }
    for (source, t) in &s.data_until {
        line(format!("data until:      {source:<10} {}", when(*t)));
    }
    line(format!(
        "collect:         watermark {}; last successful run {}",
        s.collect_watermark.map_or("none".into(), when),
        s.collect_last_run.map_or("never".into(), when)
    ));
    line(format!(
        "aggregation:     {}",
        match s.pending_aggregation {
            Some((f, t)) => format!("waiting for {} .. {}", local(z, f), local(z, t)),
            None => "nothing waiting".into(),
        }
    ));
    if let Some(p) = s.pruned_before {
        line(format!(
            "pruned:          raw data before {} (hours before it are not aggregated again)",
            local(z, p)
        ));
    }
    if s.files.is_empty() {
        line("queue_log files: none loaded".into());
    } else {
        line("queue_log files:".into());
    }
    for f in &s.files {
        let size = f
            .size
            .map_or("size unknown".to_string(), |n| format!("of {n}"));
        let behind = f.behind.map_or(String::new(), |b| {
            format!(", behind by {}", counts(b, "byte"))
        });
        let remark = f
            .remark
            .as_ref()
            .map_or(String::new(), |r| format!(" ({r})"));
        line(format!(
            "  {}: offset {} {size}{behind}, {}; loaded {}{remark}",
            f.path,
            f.offset,
            counts(f.lines, "line"),
            when(f.loaded_at)
        ));
    }
    for g in &s.gaps {
        line(format!(
            "  gap: {} lost the lines after its line {} to rotation (found {})",
            g.file,
            g.after_line,
            when(g.found_at)
        ));
    }
    line("tables:".into());
    for t in &s.tables {
        let span = t.span.map_or(String::new(), |(a, b)| {
            format!("  {} .. {}", local(z, a), local(z, b))
        });
        line(format!(
            "  {:<18} {:>12}{span}",
            t.name,
            counts(t.rows, "row")
        ));
    }
    if s.other_reasons.is_empty() {
        line("other reasons:   none in the last 7 days".into());
    } else {
        line("other reasons (not-available reasons counted as Other NPT in the last 7 days; map them with APR_STATE_MAP):".into());
    }
    for o in &s.other_reasons {
        line(format!(
            "  '{}': {}, last {}",
            o.reason,
            counts(o.starts, "start"),
            when(o.last)
        ));
    }
    out
}

/// The program form: instants as RFC 3339 in the zone plus their age in seconds.
pub fn render_json(s: &Status) -> Json {
    let z = s.zone;
    let instant = |t: Option<i64>| match t {
        Some(t) => json!({"at": rfc3339(z, t), "epoch": t, "age_secs": s.now - t}),
        None => Json::Null,
    };
    json!({
        "database": s.database,
        "backend": s.backend,
        "now": rfc3339(z, s.now),
        "schema_version": s.schema_version,
        "zone": z.name(),
        "zone_recorded": s.zone_recorded,
        "data_until": s.data_until.iter()
            .map(|(src, t)| (src.clone(), instant(Some(*t))))
            .collect::<serde_json::Map<_, _>>(),
        "collect": {
            "watermark": instant(s.collect_watermark),
            "last_success": instant(s.collect_last_run),
        },
        "pending_aggregation": s.pending_aggregation
            .map(|(f, t)| json!({"from": rfc3339(z, f), "to": rfc3339(z, t)})),
        "pruned_before": s.pruned_before.map(|t| rfc3339(z, t)),
        "queue_log_files": s.files.iter().map(|f| json!({
            "path": f.path,
            "offset": f.offset,
            "lines": f.lines,
            "size": f.size,
            "behind_bytes": f.behind,
            "remark": f.remark,
            "last_load": instant(Some(f.loaded_at)),
        })).collect::<Vec<_>>(),
        "queue_log_gaps": s.gaps.iter().map(|g| json!({
            "file": g.file,
            "after_line": g.after_line,
            "found": instant(Some(g.found_at)),
        })).collect::<Vec<_>>(),
        "tables": s.tables.iter().map(|t| json!({
            "name": t.name,
            "rows": t.rows,
            "from": t.span.map(|(a, _)| rfc3339(z, a)),
            "to": t.span.map(|(_, b)| rfc3339(z, b)),
        })).collect::<Vec<_>>(),
        "other_reasons": s.other_reasons.iter().map(|o| json!({
            "reason": o.reason,
            "starts": o.starts,
            "last": rfc3339(z, o.last),
        })).collect::<Vec<_>>(),
    })
}

/// The monitoring check of `--max-age`: every source that has run (collect, queue_log
/// loads) must have succeeded within `max_age` seconds. `Ok` is a one-line summary, `Err`
/// the one line saying what is stale.
pub fn check_fresh(s: &Status, max_age: i64, max_age_text: &str) -> Result<String, String> {
    let z = s.zone;
    let mut fresh = Vec::new();
    let mut sources = 0;
    for (what, last) in [
        ("collect", s.collect_last_run),
        ("queue_log load", s.last_queue_log_load()),
    ] {
        let Some(t) = last else { continue };
        sources += 1;
        let ago = s.now - t;
        if ago > max_age {
            return Err(format!(
                "the last successful {what} was {} ({}), longer than --max-age {max_age_text}",
                local(z, t),
                age(ago)
            ));
        }
        fresh.push(format!("last {what} {}", age(ago)));
    }
    if sources == 0 {
        return Err(format!(
            "no successful collect or queue_log load is recorded in {}; nothing is fresh",
            s.database
        ));
    }
    Ok(format!("ok: {}", fresh.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5s ago");
        assert_eq!(age(60), "1m ago");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h 05m ago");
        assert_eq!(age(2 * 86_400 + 4 * 3600), "2d 04h ago");
        assert_eq!(age(-120), "in 2m");
    }

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

    fn status(now: i64, collect: Option<i64>, queue: Option<i64>) -> Status {
        Status {
            database: "sqlite://x.db".into(),
            backend: "sqlite",
            now,
            schema_version: Some("1".into()),
            zone: Zone::UTC,
            zone_recorded: true,
            data_until: vec![],
            collect_watermark: None,
            collect_last_run: collect,
            pending_aggregation: None,
            pruned_before: None,
            gaps: vec![],
            files: queue
                .map(|t| FileStatus {
                    path: "q".into(),
                    offset: 0,
                    lines: 0,
                    loaded_at: t,
                    size: Some(0),
                    behind: Some(0),
                    remark: None,
                })
                .into_iter()
                .collect(),
            tables: vec![],
            other_reasons: vec![],
        }
    }

    #[test]
    fn freshness_needs_every_source_that_ran() {
        let now = 1_757_260_800;
        assert_eq!(
            check_fresh(&status(now, Some(now - 600), None), 1800, "30m").unwrap(),
            "ok: last collect 10m ago"
        );
        let e = check_fresh(&status(now, Some(now - 3600), None), 1800, "30m").unwrap_err();
        assert!(
            e.starts_with("the last successful collect was") && e.contains("--max-age 30m"),
            "{e}"
        );
        // A fresh collect does not hide a stalled queue_log.
        let e = check_fresh(&status(now, Some(now), Some(now - 7200)), 1800, "30m").unwrap_err();
        assert!(e.contains("queue_log load"), "{e}");
        assert!(check_fresh(&status(now, None, Some(now - 60)), 1800, "30m").is_ok());
        let e = check_fresh(&status(now, None, None), 1800, "30m").unwrap_err();
        assert!(e.contains("no successful collect"), "{e}");
    }
}
