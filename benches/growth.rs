//! How the cost grows (issue 14): `init-load`, `aggregate --rebuild` and `report`, run by the
//! real binary on SQLite at 1×, 4× and 16× the data, growing agents and days together
//! (1×: N agents × 1 day; 4×: 2N × 2 days; 16×: 4N × 4 days; ~500 events per agent and day).
//! Each run is timed from process start to exit, wall clock and CPU (user + system, which a
//! shared machine disturbs less); init-load's peak RSS is the child's (`/usr/bin/time`).
//! Linear growth shows as a flat "per M events" column.
//!
//! Run: `cargo bench --bench growth` (`APR_BENCH_AGENTS` sets N, default 125, so 16× is one
//! reference day's worth of events spread over 4 days and 500 agents; `APR_BENCH_SCALES=4`
//! runs some scales only, e.g. with `APR_BENCH_AGENTS=1000` the 48-hour backfill of the
//! reference center).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use apr::model::AgentEvent;

/// 2025-08-20 00:00 UTC.
const START: i64 = 1_755_648_000;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes a replay directory of `agents` agents over `days` days: one events file and one
/// stats file per hour. Returns the number of events.
fn write_replay(dir: &Path, agents: usize, days: usize) -> usize {
    std::fs::create_dir_all(dir.join("events")).unwrap();
    std::fs::create_dir_all(dir.join("stats")).unwrap();
    let mut total = 0;
    for d in 0..days {
        let day = START + d as i64 * 86_400;
        let events = apr::synth::day_of_events(agents, 500, day, 42 + d as u64);
        total += events.len();
        for (hour_start, records) in apr::synth::hourly_stats(&events, day, 24, 42) {
            let body: serde_json::Map<String, serde_json::Value> = records
                .iter()
                .map(|r| {
                    (
                        r.ext.clone(),
                        serde_json::json!({
                            "name": r.name,
                            "total_calls": r.total_calls,
                            "answered_calls": r.answered_calls,
                        }),
                    )
                })
                .collect();
            let path = dir
                .join("stats")
                .join(format!("{hour_start}-{}.json", hour_start + 3600));
            std::fs::write(path, serde_json::Value::Object(body).to_string()).unwrap();
        }
        let mut hour: Vec<&AgentEvent> = Vec::new();
        let flush = |hour: &mut Vec<&AgentEvent>| {
            if let Some(first) = hour.first() {
                let items: Vec<serde_json::Value> = hour
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "event": e.event, "enabled": e.enabled, "user_id": e.user_id,
                            "ext": e.ext, "username": e.username, "state": e.state,
                            "Timestamp": e.ts,
                        })
                    })
                    .collect();
                let path = dir.join("events").join(format!("{}.json", first.ts));
                std::fs::write(path, serde_json::json!({ "events": items }).to_string()).unwrap();
            }
            hour.clear();
        };
        for e in &events {
            if hour.first().is_some_and(|f| f.ts / 3600 != e.ts / 3600) {
                flush(&mut hour);
            }
            hour.push(e);
        }
        flush(&mut hour);
    }
    total
}

/// One run of the binary: wall seconds, CPU seconds and peak RSS (KiB), the last two when
/// `/usr/bin/time` measured them.
struct Run {
    wall: f64,
    cpu: Option<f64>,
    rss_kib: Option<u64>,
}

impl Run {
    fn cell(&self, m: f64) -> String {
        match self.cpu {
            Some(cpu) => format!(
                "{:.2} wall, {cpu:.2} CPU ({:.2} CPU per M)",
                self.wall,
                cpu / m
            ),
            None => format!("{:.2} wall ({:.2} per M)", self.wall, self.wall / m),
        }
    }
}

/// Runs `apr ARGS` against `db`.
fn apr(db: &Path, args: &[&str]) -> Run {
    let exe = env!("CARGO_BIN_EXE_apr");
    let timed = Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%U %S %M", exe]);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args)
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("APR_TIMEZONE", "UTC")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd.output().expect("run apr");
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "apr {args:?} failed: {stderr}");
    let measured: Vec<f64> = if timed {
        stderr
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect()
    } else {
        Vec::new()
    };
    Run {
        wall: secs,
        cpu: (measured.len() == 3).then(|| measured[0] + measured[1]),
        rss_kib: (measured.len() == 3).then(|| measured[2] as u64),
    }
}

fn main() {
    let base = env_or("APR_BENCH_AGENTS", 125);
    let scales = std::env::var("APR_BENCH_SCALES").unwrap_or_else(|_| "1,4,16".into());
    println!(
        "| scale | agents × days | events | init-load s | init-load peak RSS | aggregate --rebuild s | report s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (scale, agents, days) in [(1, base, 1), (4, 2 * base, 2), (16, 4 * base, 4)] {
        if !scales.split(',').any(|s| s.trim() == scale.to_string()) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let replay = dir.path().join("replay");
        let events = write_replay(&replay, agents, days);
        let db = dir.path().join("apr.db");
        let hours = (days * 24).to_string();
        let replay_arg = replay.to_string_lossy().to_string();
        let load = apr(
            &db,
            &[
                "init-load",
                "--yes",
                "--hours",
                &hours,
                "--source",
                &replay_arg,
            ],
        );
        let agg = apr(&db, &["aggregate", "--rebuild"]);
        let from = chrono::DateTime::from_timestamp(START, 0).unwrap();
        let to = from + chrono::Duration::days(days as i64);
        let report = apr(
            &db,
            &[
                "report",
                "--start-date",
                &from.format("%Y-%m-%d").to_string(),
                "--end-date",
                &to.format("%Y-%m-%d").to_string(),
            ],
        );
        let m = events as f64 / 1e6;
        println!(
            "| {scale}× | {agents} × {days} | {events} | {} | {} | {} | {} |",
            load.cell(m),
            load.rss_kib
                .map_or("-".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0)),
            agg.cell(m),
            report.cell(m)
        );
    }
}
