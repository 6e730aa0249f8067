//! `apr status [--format text|json] [--max-age SPAN]` (SPEC §12): where apr stands, read
//! only. With `--max-age` it is a monitoring check: one line, exit 1 when the last
//! successful collect or queue_log load, or the newest data of a source loaded in the last
//! week, is older than the span. What is shown is gathered
//! by [`crate::ops::status`]; rendering it (text, JSON) and the freshness check are here,
//! and pure.

use std::io::Write;

use clap::Args as ClapArgs;
use serde_json::{Value as Json, json};

use crate::cli::global::GlobalArgs;
use crate::error::Error;
use crate::hours::{Zone, parse_span};
use crate::ops::status::{Status, gather};
use crate::plural::counts;
use crate::store::maintenance::Conn;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// text, or json for programs
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub format: String,
    /// Check only: exit 1 with one line when the last successful collect or queue_log load,
    /// or the newest data of a source loaded in the last week, is older than this (30m, 2h)
    #[arg(long, value_name = "SPAN")]
    pub max_age: Option<String>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let json = match args.format.trim().to_ascii_lowercase().as_str() {
        "text" => false,
        "json" => true,
        _ => {
            return Err(Error::usage(format!(
                "--format '{}' is not a status format; expected text or json",
                args.format
            ))
            .into());
        }
    };
    let max_age = args
        .max_age
        .as_deref()
        .map(|s| parse_span(s, "--max-age").map(|secs| (secs, s.trim())))
        .transpose()?;
    let state_map = global.settings.state_map()?;
    let zone = global.zone_choice().parse()?.unwrap_or_else(Zone::system);
    let mut store = global.open_read_only()?;
    let mut conn = Conn::new(store.sql());
    let now = chrono::Utc::now().timestamp();
    let status = gather(&mut conn, zone, &state_map, now)?;
    if let Some((secs, text)) = max_age {
        return match check_fresh(&status, secs, text) {
            Ok(line) if json => print(&format!("{}\n", json!({"status": "ok", "message": line}))),
            Ok(line) => {
                global.summary(line);
                Ok(())
            }
            Err(stale) => Err(anyhow::anyhow!(stale)),
        };
    }
    let text = if json {
        format!("{:#}\n", render_json(&status))
    } else {
        render_text(&status)
    };
    print(&text)
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))?;
    Ok(())
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
    for d in &s.data_until {
        line(format!(
            "data until:      {:<10} {}",
            d.source,
            when(d.until)
        ));
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
    if s.reasons.is_empty() {
        line("reasons:         no not-available reason in the last 7 days of data".into());
    } else {
        line("reasons (not-available reasons in the last 7 days of data and the category each went to; map them with APR_STATE_MAP):".into());
    }
    for r in &s.reasons {
        line(format!(
            "  '{}' -> {}: {}, last {}",
            r.reason,
            r.category.name(),
            counts(r.starts, "start"),
            when(r.last)
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
            .map(|d| (d.source.clone(), instant(Some(d.until))))
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
        "reasons": s.reasons.iter().map(|r| json!({
            "reason": r.reason,
            "category": r.category.name(),
            "starts": r.starts,
            "last": rfc3339(z, r.last),
        })).collect::<Vec<_>>(),
        "other_reasons": s.other_reasons().map(|o| json!({
            "reason": o.reason,
            "starts": o.starts,
            "last": rfc3339(z, o.last),
        })).collect::<Vec<_>>(),
    })
}

/// The monitoring check of `--max-age`: every source that has run (collect, queue_log
/// loads) must have succeeded within `max_age` seconds, and every source whose loader ran
/// in the last week must hold data newer than `max_age` (a collect that runs but brings
/// nothing new is not fresh). `Ok` is a one-line summary, `Err` the one line saying what
/// is stale and which check failed.
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
    for d in &s.data_until {
        let loader = match d.source.as_str() {
            "api" => s.collect_last_run,
            "queue_log" => s.last_queue_log_load(),
            _ => s.collect_last_run.max(s.last_queue_log_load()),
        };
        let loaded = loader.map_or(d.written_at, |t| t.max(d.written_at));
        if s.now - loaded > LOADED_LATELY {
            continue;
        }
        let ago = s.now - d.until;
        if ago > max_age {
            return Err(format!(
                "the newest {} data is from {} ({}), older than --max-age {max_age_text}, \
                 although it was loaded {}",
                d.source,
                local(z, d.until),
                age(ago),
                age(s.now - loaded)
            ));
        }
        fresh.push(format!("{} data until {}", d.source, age(ago)));
    }
    Ok(format!("ok: {}", fresh.join(", ")))
}

/// A source loaded within this long must bring fresh data; one idle longer (a retired
/// queue_log, an API no longer collected) is not checked for its data's age.
const LOADED_LATELY: i64 = 7 * 86_400;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::status::{FileStatus, SourceData};

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5s ago");
        assert_eq!(age(60), "1m ago");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h 05m ago");
        assert_eq!(age(2 * 86_400 + 4 * 3600), "2d 04h ago");
        assert_eq!(age(-120), "in 2m");
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
            reasons: vec![],
        }
    }

    fn data(source: &str, until: i64, written_at: i64) -> SourceData {
        SourceData {
            source: source.into(),
            until,
            written_at,
        }
    }

    /// Issue 28: API data ending 473 days ago answered `ok` because a collect ran 2
    /// minutes ago.
    #[test]
    fn freshness_needs_fresh_data_from_a_source_loaded_lately() {
        let now = 1_757_260_800;
        let mut s = status(now, Some(now - 120), None);
        s.data_until = vec![data("api", now - 473 * 86_400, now - 473 * 86_400)];
        let e = check_fresh(&s, 1800, "30m").unwrap_err();
        assert!(
            e.starts_with("the newest api data is from 2024-")
                && e.contains("(473d 00h ago), older than --max-age 30m")
                && e.ends_with("although it was loaded 2m ago"),
            "{e}"
        );
        s.data_until = vec![data("api", now - 600, now - 120)];
        assert_eq!(
            check_fresh(&s, 1800, "30m").unwrap(),
            "ok: last collect 2m ago, api data until 10m ago"
        );
        // A source nothing loaded this week (a retired queue_log) is not held to it.
        s.data_until
            .push(data("queue_log", now - 30 * 86_400, now - 30 * 86_400));
        assert!(check_fresh(&s, 1800, "30m").is_ok());
        // A stale loader is said before stale data.
        let mut s = status(now, Some(now - 7200), None);
        s.data_until = vec![data("api", now - 86_400, now - 7200)];
        let e = check_fresh(&s, 1800, "30m").unwrap_err();
        assert!(e.starts_with("the last successful collect was"), "{e}");
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
