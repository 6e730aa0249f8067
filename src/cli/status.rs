//! `apr status [--format text|json] [--max-age SPAN]` (SPEC §12): where apr stands, read
//! only. With `--max-age` it is a monitoring check: one line, exit 1 when the last
//! successful collect or queue_log load, or the newest data of a source loaded in the last
//! week, is older than the span. What is shown is gathered
//! by [`crate::ops::status`] and checked by [`crate::ops::freshness`]; rendering it (text,
//! JSON) is here, and pure.

use std::io::Write;

use clap::Args as ClapArgs;
use serde_json::{Value as Json, json};

use crate::cli::global::GlobalArgs;
use crate::error::Error;
use crate::hours::{Zone, parse_span};
use crate::ops::freshness::{age, check_fresh, local_time};
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

fn rfc3339(zone: Zone, t: i64) -> String {
    zone.local(t)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The human form of a status.
pub fn render_text(s: &Status) -> String {
    let z = s.zone;
    let when = |t: i64| format!("{} ({})", local_time(z, t), age(s.now - t));
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    line(format!("database:        {} ({})", s.database, s.backend));
    if let Some(c) = &s.cluster {
        line(format!(
            "cluster:         Galera node, {}, {} in its component ({})",
            if c.ready { "ready" } else { "not ready" },
            counts(u64::from(c.size), "node"),
            c.state
        ));
    }
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
            d.name(),
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
            Some((f, t)) => format!("waiting for {} .. {}", local_time(z, f), local_time(z, t)),
            None => "nothing waiting".into(),
        }
    ));
    if let Some(p) = s.pruned_before {
        line(format!(
            "pruned:          raw data before {} (hours before it are not aggregated again)",
            local_time(z, p)
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
            format!("  {} .. {}", local_time(z, a), local_time(z, b))
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
        "cluster": s.cluster.as_ref().map(|c| json!({
            "ready": c.ready,
            "size": c.size,
            "state": c.state,
        })),
        "now": rfc3339(z, s.now),
        "schema_version": s.schema_version,
        "zone": z.name(),
        "zone_recorded": s.zone_recorded,
        "data_until": s.data_until.iter()
            .map(|d| (d.name().to_string(), instant(Some(d.until))))
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
