//! Report throughput (SPEC §8, §10): a 30-day month of a 2,000-agent center (1.44 M
//! agent-hours) in a temporary SQLite database, rendered by `write_report` to a sink in
//! several cases: the hourly CSV of the month, the same month `--by day`, XLSX, HTML and PDF
//! of one day (48,000 rows), and XLSX of the whole month. Each case renders in a fresh process
//! (this benchmark again, with `APR_BENCH_RENDER` set) so that its peak resident memory
//! (VmHWM) is its own, not the filling's. Prints rows/s of the store's scan alone and of the
//! whole report, and that peak.
//!
//! The kinds of SPEC §14 have their cases too: the agent report by hour of the day and by
//! weekday and ranked (`--sort answered_calls --top 10`), and over the month's queue stints
//! (`APR_BENCH_STINTS` per hour, default 4,000: 2.88 M in the month) the unanswered list,
//! the wait distribution, the outcomes, the agents by queue (each stint rings one to three of
//! the agents) and the queue report by hour of the day.
//!
//! `cargo bench --bench report` (`APR_BENCH_AGENTS`, `APR_BENCH_DAYS` scale it down;
//! `APR_BENCH_DB=PATH` keeps the database, which should not exist yet;
//! `APR_BENCH_CASES=csv:hour:30,xlsx:hour:1` picks cases as format:period:days, optionally
//! `:KIND` (agents, queues, unanswered, waits, outcomes, agent-queues) and `:top` for the
//! ranked agent report).

use std::time::Instant;

use apr::hours::HourBucket;
use apr::hours::Zone;
use apr::model::queue::{AgentRings, ChunkWrites, Outcome, RingRow, Stint};
use apr::model::{ActivityRow, Buckets, HourFigures, HourStats};
use apr::report::args::{ArgNames, RawReportArgs};
use apr::report::request::ReportRequest;
use apr::report::write_report;
use apr::store::sqlite::SqliteStore;
use apr::store::{QueueStore, Store};

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Counts the bytes of the report and drops them.
struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let days = env_or("APR_BENCH_DAYS", 30);
    if let Some(db) = std::env::var_os("APR_BENCH_RENDER") {
        render(std::path::Path::new(&db), days);
        return;
    }
    let agents = env_or("APR_BENCH_AGENTS", 2_000);
    let zone = Zone::parse("Asia/Dubai").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // APR_BENCH_DB keeps the filled database, e.g. to time `apr report` on it alone.
    let path = std::env::var_os("APR_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    let mut store = SqliteStore::open(&path).unwrap();
    store.set_meta("timezone", zone.name()).unwrap();
    let first = apr::hours::parse_instant(zone, "2025-09-01", "start").unwrap();
    // A drill-down column of realistic size: it is read with every row.
    let details = format!(
        "[{}]",
        [r#"{"ts":1756670400,"event":"agent_idle","enabled":true,"state":"none"}"#; 4].join(",")
    );

    let fill = Instant::now();
    for day in 0..days {
        let from = first + day * 86_400;
        let mut rows = Vec::with_capacity((agents * 24) as usize);
        for h in 0..24 {
            let start = from + h * 3600;
            let label = zone.hour_label(start);
            for a in 0..agents {
                let k = a + h + day;
                let b = Buckets {
                    idle: 900 + k % 300,
                    talk: 1200,
                    wrap_up: 300,
                    hold: 60,
                    lunch: 600 - k % 300,
                    meeting: 240,
                    tea: 300,
                    ..Default::default()
                };
                rows.push(ActivityRow {
                    agent_ext: (3000 + a).to_string(),
                    report_hour: start,
                    report_hour_local: label.clone(),
                    agent_name: format!("Agent {a}"),
                    figures: HourFigures {
                        buckets: b,
                        idle_count: 3,
                        notavail_count: 2,
                        total_calls: 7 + k % 5,
                        answered_calls: 6,
                        failed_calls: 1 + k % 5,
                        covered_secs: b.total(),
                    },
                    complete: true,
                    event_details: details.clone(),
                });
            }
        }
        store
            .replace_activity(from, from + 86_400, &rows, &[])
            .unwrap();
    }
    let filled = fill.elapsed();
    println!(
        "filled {} rows in {:.1} s",
        agents * days * 24,
        filled.as_secs_f64()
    );
    let per_hour = env_or("APR_BENCH_STINTS", 4_000);
    let fill = Instant::now();
    for day in 0..days {
        let from = first + day * 86_400;
        let stints = stints_of_day(zone, from, per_hour, agents);
        let mut derive = |_new: &[bool]| {
            Ok(ChunkWrites {
                stints: stints.clone(),
                ..Default::default()
            })
        };
        // The chunk names no ring hours, so nothing asks for their counts.
        let mut no_hours = |_: HourBucket, _: &[RingRow]| -> HourStats {
            unreachable!("the bench's chunks name no ring hours")
        };
        store
            .load_queue_chunk(&[], &[], &mut derive, &mut no_hours)
            .unwrap();
    }
    println!(
        "filled {} stints in {:.1} s",
        per_hour * 24 * days,
        fill.elapsed().as_secs_f64()
    );
    drop(store);
    let cases = std::env::var("APR_BENCH_CASES").unwrap_or_else(|_| {
        format!(
            "csv:hour:{days},csv:day:{days},xlsx:hour:1,html:hour:1,pdf:hour:1,xlsx:hour:{days},\
             csv:hour-of-day:{days},csv:weekday:{days},csv:day:{days}:agents:top,\
             csv:hour:{days}:unanswered,csv:day:{days}:waits,csv:hour-of-day:{days}:queues,\
             csv:day:{days}:outcomes,csv:day:{days}:agent-queues"
        )
    });
    for case in cases.split(',') {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .env("APR_BENCH_RENDER", &path)
            .env("APR_BENCH_CASE", case)
            .status()
            .unwrap();
        assert!(status.success(), "the rendering process failed: {status}");
    }
}

/// `per_hour` stints in each hour of the local day starting at `from`, over 20 queues and
/// `agents` agents: three in four answered, the others abandoned, timed out or left by key,
/// callers from a pool of numbers that call again, waits up to four minutes.
fn stints_of_day(zone: Zone, from: i64, per_hour: i64, agents: i64) -> Vec<Stint> {
    let mut out = Vec::with_capacity((per_hour * 24) as usize);
    for h in 0..24 {
        let start = from + h * 3600;
        let label = zone.hour_label(start);
        for i in 0..per_hour {
            let enter = start + i * 3600 / per_hour;
            let k = enter / 7 + i;
            let outcome = match k % 8 {
                0 => Outcome::Abandon,
                1 => Outcome::Timeout,
                2 if k % 3 == 0 => Outcome::ExitWithKey,
                _ => Outcome::Answered,
            };
            let answered = outcome == Outcome::Answered;
            // Each call rings `attempts` agents in turn; an answered one is answered by
            // the first, the others ring out (as `--kind agent-queues` reads them).
            let attempts = 1 + k % 3;
            let rings = (0..attempts)
                .map(|j| AgentRings {
                    agent: (3000 + (k + j) % agents).to_string(),
                    rings: 1,
                    no_answer: i64::from(!(answered && j == 0)),
                })
                .collect();
            out.push(Stint {
                callid: format!("{enter}.{i}"),
                queue: format!("queue{:02}", k % 20),
                enter_time: enter,
                enter_hour: start,
                enter_hour_local: label.clone(),
                caller_number: format!("9715{:07}", k % 400_000),
                caller_name: String::new(),
                entry_position: Some(1 + k % 5),
                outcome: Some(outcome),
                agent: if answered {
                    (3000 + k % agents).to_string()
                } else {
                    String::new()
                },
                wait_secs: Some(k % 240),
                talk_secs: answered.then_some(60 + k % 600),
                ring_attempts: attempts,
                end_time: Some(enter + 300),
                hangup_by: None,
                did: String::new(),
                rings,
                pending: false,
            });
        }
    }
    out
}

/// Renders the case `APR_BENCH_CASE` (format:period:days) from the database at `db`, in
/// this process alone.
fn render(db: &std::path::Path, _days: i64) {
    let case = std::env::var("APR_BENCH_CASE").unwrap_or_else(|_| "csv:hour:30".into());
    let parts: Vec<&str> = case.split(':').collect();
    let (format, by, days) = (parts[0], parts[1], parts[2].parse::<i64>().unwrap());
    let kind = parts.get(3).copied().unwrap_or("agents");
    let top = parts.get(4) == Some(&"top");
    println!(
        "--- {kind}{}, {format}, by {by}, {days} day(s)",
        if top {
            " --sort answered_calls --top 10"
        } else {
            ""
        }
    );
    let mut store = SqliteStore::open(db).unwrap();
    let zone = Zone::parse("Asia/Dubai").unwrap();
    let end = apr::hours::parse_instant(zone, "2025-09-01", "end").unwrap() + days * 86_400;
    let raw = RawReportArgs {
        start_date: Some("2025-09-01".into()),
        end_date: Some(zone.local(end).format("%Y-%m-%d").to_string()),
        format: Some(format.into()),
        by: (kind != "unanswered").then(|| by.into()),
        kind: Some(kind.into()),
        sort: top.then(|| "answered_calls".into()),
        top: top.then(|| "10".into()),
        ..Default::default()
    };
    let req = ReportRequest::parse(&raw, ArgNames::Cli).unwrap();
    // The store's share: scanning the same rows without rendering them.
    let t = Instant::now();
    let mut scanned = 0u64;
    if kind == "agents" {
        store
            .scan_activity(&req.filter(), &mut |_row| {
                scanned += 1;
                Ok(())
            })
            .unwrap();
    } else {
        let f = req.filter();
        store
            .scan_queue_calls(&f.from_local, &f.to_local, &mut |_s| {
                scanned += 1;
                Ok(())
            })
            .unwrap();
    }
    let scan = t.elapsed();

    let t = Instant::now();
    let mut out = CountingSink(0);
    let summary = write_report(&mut store, zone, &req, &mut out).unwrap();
    let took = t.elapsed();
    println!("output: {:.1} MiB", out.0 as f64 / 1048576.0);
    let peak = peak_rss_kib();

    println!(
        "report: {scanned} rows in, {} rows out, in {:.2} s = {:.0} rows/s",
        summary.rows,
        took.as_secs_f64(),
        scanned as f64 / took.as_secs_f64()
    );
    println!(
        "of which the store's scan alone: {scanned} rows in {:.2} s = {:.0} rows/s",
        scan.as_secs_f64(),
        scanned as f64 / scan.as_secs_f64()
    );
    match peak {
        Some(p) => println!(
            "peak RSS of the rendering process: {:.1} MiB",
            p as f64 / 1024.0
        ),
        None => println!("peak RSS: not measurable here (needs /proc/self/status)"),
    }
}
