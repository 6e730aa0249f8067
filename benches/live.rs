//! The live floor (SPEC §13): `/api/live`'s server time for the reference center (2,000
//! agents, a day of ~500 events each) and 200 queues (every agent a member of one, 20,000
//! stints today, 300 callers waiting), p50 and p99 over 1,000 boards, each read on the
//! read-only connection `serve` keeps and serialized to JSON as the route does; then a
//! follower (the release binary, `parse-queue-log --follow --interval 1s`): the delay from a
//! line written to the board showing it, and its CPU while the followed file does not grow.
//!
//! Run: `cargo bench --bench live` (SQLite; `APR_BENCH_AGENTS`, `APR_BENCH_BOARDS` scale it).

#[path = "support/clock.rs"]
mod clock;

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use apr::aggregate::categories::StateMap;
use apr::aggregate::{AggregateOptions, DEFAULT_MAX_CARRY, Scope, aggregate};
use apr::config::ZoneChoice;
use apr::hours::Zone;
use apr::model::{HourStats, LoadBatch, Silent};
use apr::ops::parse_queue_log::{Limits, load_and_aggregate};
use apr::serve::live::{LiveFilter, board};
use apr::source::queue_log::agent_map::AgentMap;
use apr::store::{self, DatabaseUrl};

const QUEUES: usize = 200;
const STINTS: usize = 20_000;
const WAITING: usize = 300;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A queue_log of today: every agent joins one of the queues, `STINTS` answered or
/// abandoned calls spread over the hours so far, and `WAITING` callers still waiting.
fn queue_log(agents: usize, from: i64, now: i64) -> String {
    let mut out = String::new();
    for a in 0..agents {
        let _ = writeln!(
            out,
            "{from}|NONE|q{}|PJSIP/{}|ADDMEMBER|",
            a % QUEUES,
            1000 + a
        );
    }
    let span = (now - 600 - from).max(1) as usize;
    for i in 0..STINTS {
        let t = from + 1 + (i * span / STINTS) as i64;
        let q = i % QUEUES;
        let agent = 1000 + (i * 7) % agents;
        let _ = writeln!(out, "{t}|c{i}|q{q}|NONE|ENTERQUEUE||9715{i:07}|1");
        if i % 10 == 9 {
            let _ = writeln!(out, "{}|c{i}|q{q}|NONE|ABANDON|1|1|12", t + 12);
        } else {
            let _ = writeln!(out, "{}|c{i}|q{q}|PJSIP/{agent}|CONNECT|9|c{i}.1|2", t + 9);
            let _ = writeln!(
                out,
                "{}|c{i}|q{q}|PJSIP/{agent}|COMPLETECALLER|9|95|1",
                t + 104
            );
        }
    }
    for w in 0..WAITING {
        let t = now - 300 + w as i64;
        let _ = writeln!(
            out,
            "{t}|w{w}|q{}|NONE|ENTERQUEUE||9716{w:07}|1",
            w % QUEUES
        );
    }
    out
}

/// What each part of the board costs (`APR_BENCH_PARTS=1`), 20 times each.
fn parts(store: &mut dyn apr::store::Store, now: i64) {
    use apr::model::state::QUEUE_LOG_DERIVE_STATE;
    use apr::store::maintenance::Conn;
    use apr::store::value::Cell;
    let day = now - now % 86_400;
    let time = |what: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..20 {
            f();
        }
        println!(
            "part {what}: {:.1} ms",
            t.elapsed().as_secs_f64() * 1000.0 / 20.0
        );
    };
    time("live_agents", &mut || {
        std::hint::black_box(store.live_agents().expect("live"));
    });
    time(
        "agent sums of today (summed by the aggregation, not per board)",
        &mut || {
            let mut n = 0;
            Conn::new(store.sql())
                .query(
                    "SELECT agent_ext, SUM(answered_calls), SUM(talk_secs) FROM agent_activity \
                 WHERE report_hour >= ? AND report_hour < ? GROUP BY agent_ext",
                    &[Cell::Int(day), Cell::Int(day + 86_400)],
                    &mut |_| {
                        n += 1;
                        Ok(())
                    },
                )
                .expect("sums");
        },
    );
    time("derive state decode", &mut || {
        let q = store.queue_store().expect("queue store");
        let text = q.queue_state(QUEUE_LOG_DERIVE_STATE.name()).expect("state");
        let state: apr::source::queue_log::derive::DeriverState = QUEUE_LOG_DERIVE_STATE
            .decode(text.as_deref())
            .expect("decode");
        std::hint::black_box(state);
    });
    time("queue sums of today", &mut || {
        let mut n = 0;
        Conn::new(store.sql())
            .query(
                "SELECT queuename, COUNT(*) FROM queue_calls WHERE enter_time >= ? AND enter_time < ? GROUP BY queuename",
                &[Cell::Int(day), Cell::Int(day + 86_400)],
                &mut |_| {
                    n += 1;
                    Ok(())
                },
            )
            .expect("sums");
    });
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let agents = env_usize("APR_BENCH_AGENTS", 2_000);
    let boards = env_usize("APR_BENCH_BOARDS", 1_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("live.db");
    let url = DatabaseUrl::sqlite(path.clone());
    let zone = Zone::UTC;
    let now = chrono::Utc::now().timestamp();
    let day = now - now % 86_400;

    // The platform's day: events of the last 24 hours, loaded and aggregated.
    let t = Instant::now();
    let from = now - 86_400;
    let events = apr::synth::day_of_events(agents, 500, from, 42);
    let events: Vec<_> = events.into_iter().filter(|e| e.ts < now).collect();
    let stats: Vec<HourStats> = apr::synth::hourly_stats(&events, from - from % 3600, 25, 42)
        .into_iter()
        .map(|(hour_start, records)| HourStats {
            hour_start,
            records,
        })
        .collect();
    {
        let mut s = store::open(&url).expect("open");
        for (i, chunk) in events.chunks(50_000).enumerate() {
            s.load(&LoadBatch {
                events: chunk,
                stats: if i == 0 { &stats } else { &[] },
                data_until: Some(now),
                ..Default::default()
            })
            .expect("load");
        }
        let opts = AggregateOptions {
            scope: Scope::Dirty,
            max_carry: DEFAULT_MAX_CARRY,
            state_map: StateMap::default(),
        };
        aggregate(s.as_mut(), zone, &opts).expect("aggregate");
    }
    // The queues: today's queue_log, loaded and aggregated as parse-queue-log does.
    let file = dir.path().join("queue_log");
    std::fs::write(&file, queue_log(agents, day, now)).expect("queue_log");
    let utc = ZoneChoice {
        flag: Some("UTC".into()),
        env: None,
    };
    let files = [file.display().to_string()];
    let limits = Limits {
        max_call_secs: 4 * 3600,
        chunk_lines: 50_000,
        max_carry: DEFAULT_MAX_CARRY,
    };
    load_and_aggregate(
        &url,
        &utc,
        &files,
        &AgentMap::default(),
        limits,
        &StateMap::default(),
        &Silent,
    )
    .expect("parse-queue-log");
    println!(
        "setup: {} events, {agents} agents, {QUEUES} queues, {STINTS} stints today, {WAITING} waiting; {:.1}s",
        events.len(),
        t.elapsed().as_secs_f64()
    );

    // /api/live: the board on one read-only connection, as serve's pool keeps it.
    let mut reader = store::open_read_only(&url).expect("read-only");
    let first = board(reader.as_mut(), zone, now, 120, &LiveFilter::default()).expect("board");
    println!(
        "board: {} agents ({:?}), {} queues, {} waiting, JSON {} bytes",
        first.agents.len(),
        first.states,
        first.queues.len(),
        first.queues.iter().map(|q| q.waiting).sum::<i64>(),
        serde_json::to_vec(&first).expect("json").len()
    );
    if std::env::var("APR_BENCH_PARTS").is_ok() {
        parts(reader.as_mut(), now);
    }
    let mut times = Vec::with_capacity(boards);
    let cpu = clock::cpu_secs();
    for _ in 0..boards {
        let t = Instant::now();
        let b = board(
            reader.as_mut(),
            zone,
            chrono::Utc::now().timestamp(),
            120,
            &LiveFilter::default(),
        )
        .expect("board");
        let json = serde_json::to_vec(&b).expect("json");
        std::hint::black_box(json);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu = clock::cpu_secs() - cpu;
    times.sort_by(f64::total_cmp);
    println!(
        "/api/live server time over {boards} boards: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({:.2} CPU-s)",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
        cpu
    );
    drop(reader);

    // A follower: a line written → the board shows it; then idle.
    let bin = env!("CARGO_BIN_EXE_apr");
    let mut child = std::process::Command::new(bin)
        .env_clear()
        .env("APR_DATABASE_URL", format!("sqlite://{}", path.display()))
        .env("APR_TIMEZONE", "UTC")
        .args(["-q", "parse-queue-log", "--follow", "--interval", "1s"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("follower");
    std::thread::sleep(Duration::from_secs(3));
    let mut delays = Vec::new();
    for n in 0..5 {
        let t = chrono::Utc::now().timestamp();
        let call = format!("d{n}");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .expect("append");
        let written = Instant::now();
        writeln!(f, "{t}|{call}|q0|NONE|ENTERQUEUE||97170000{n}|1").expect("write");
        drop(f);
        let mut reader = store::open_read_only(&url).expect("read-only");
        let before = first.queues[0].waiting;
        loop {
            let b = board(reader.as_mut(), zone, t, 120, &LiveFilter::default()).expect("board");
            if b.queues[0].waiting > before + n as i64 {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(60),
                "the follower never loaded"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        delays.push(written.elapsed().as_secs_f64());
        std::thread::sleep(Duration::from_millis(1_300));
    }
    println!(
        "follower delay line → board (interval 1s): {}",
        delays
            .iter()
            .map(|d| format!("{d:.2}s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::thread::sleep(Duration::from_secs(2));
    let idle_from = clock::proc_cpu_secs(child.id());
    let idle = Duration::from_secs(30);
    std::thread::sleep(idle);
    let idle_cpu = clock::proc_cpu_secs(child.id()) - idle_from;
    println!(
        "follower idle: {idle_cpu:.2} CPU-s over {}s ({:.3}% of a core)",
        idle.as_secs(),
        idle_cpu * 100.0 / idle.as_secs_f64()
    );
    let _ = child.kill();
    let _ = child.wait();
}
