//! The live floor over HTTP (SPEC §13, issue 22): a follower loads a growing queue_log while
//! `apr serve` answers `/api/live`; the new waiting caller, then the agent on the call, then
//! the queue's answered count show up, each within a bounded wait (polled, never timed).
//! `/live` draws the same board, refreshes itself with and without JavaScript, and both
//! routes narrow to `?queue=` / `?ext=` and refuse unknown parameters.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::files::append;

/// The URL of the SQLite database `db`.
fn sqlite(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

/// `apr ARGS` on the database at `url`, in Asia/Dubai, nothing else inherited.
fn apr(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
    cmd.env_clear()
        .current_dir(std::env::temp_dir())
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(args);
    cmd
}

/// Waits, in the few minutes after a local midnight in Asia/Dubai (UTC+4, no DST), until the
/// lines a test writes "a few minutes ago" fall on today, whose figures it reads.
fn clear_of_midnight() {
    let into_day = (chrono::Utc::now().timestamp() + 4 * 3600) % 86_400;
    if into_day < 400 {
        std::thread::sleep(Duration::from_secs((400 - into_day) as u64));
    }
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `apr serve` on a free loopback port; returns it with its address.
fn serve(db: &str, extra: &[&str]) -> (Running, String) {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = apr(db, &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("serve said {line:?}"))
        .to_string();
    (Running(child), addr)
}

/// `GET path` on `addr`: the status and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // Chunked bodies (streamed): drop the chunk sizes.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, body)
}

fn live(addr: &str, query: &str) -> Value {
    let (status, body) = get(addr, &format!("/api/live{query}"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls `/api/live{query}` until `done` holds; panics with the last board after two
/// minutes (a bound for a hung follower, not a measured duration).
fn wait_board(addr: &str, query: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let b = live(addr, query);
        if done(&b) {
            return b;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never happened: {what}; last board {b}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn queue<'a>(b: &'a Value, name: &str) -> Option<&'a Value> {
    b["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == name)
}

fn agent<'a>(b: &'a Value, ext: &str) -> Option<&'a Value> {
    b["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ext"] == ext)
}

/// A follower of `file` on `db`.
fn follower(db: &str, file: &Path) -> Running {
    Running(
        apr(
            db,
            &[
                "-q",
                "parse-queue-log",
                "--follow",
                "--interval",
                "1s",
                &file.display().to_string(),
            ],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    )
}

#[test]
fn a_caller_waits_then_an_agent_answers_then_the_queue_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("apr.db");
    caller_waits_then_answered(dir.path(), &sqlite(&db), &|| db.exists());
}

/// The same board from PostgreSQL: `agent_live` (schema 6) written by the follower's
/// aggregations and read by `serve`.
#[test]
fn postgres_a_caller_waits_then_an_agent_answers_then_the_queue_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = support::postgres::ScratchPostgres::new();
    let url = scratch.url().to_string();
    let db = support::rows::Db::Postgres(url.clone());
    caller_waits_then_answered(dir.path(), &url, &|| {
        db.tables().iter().any(|t| t == "agent_live")
    });
}

/// A follower loads a growing queue_log into the database at `db` (created by it: `ready`
/// says when) while `serve` shows the board.
fn caller_waits_then_answered(dir: &Path, db: &str, ready: &dyn Fn() -> bool) {
    let file = dir.join("queue_log");
    // Lines of a few minutes ago, so they fall on today and the waits are short.
    clear_of_midnight();
    let t = chrono::Utc::now().timestamp() - 300;
    std::fs::write(
        &file,
        format!(
            "{t}|NONE|sales|PJSIP/301|ADDMEMBER|\n{}|NONE|support|PJSIP/302|ADDMEMBER|\n{}|NONE|support|PJSIP/302|PAUSE|Lunch\n",
            t + 1,
            t + 2
        ),
    )
    .unwrap();
    let _follow = follower(db, &file);
    // serve reads a database a loader created: wait for it.
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < Duration::from_secs(120), "no database");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_serve, addr) = serve(db, &[]);
    let b = wait_board(&addr, "", "the members are there", |b| {
        queue(b, "sales").is_some_and(|q| q["available"] == 1)
            && queue(b, "support").is_some_and(|q| q["paused"] == 1)
    });
    assert_eq!(queue(&b, "sales").unwrap()["waiting"], 0);
    let on_break = wait_board(&addr, "", "302 on a break", |b| {
        agent(b, "302").is_some_and(|a| a["state"] == "not_avail")
    });
    assert_eq!(agent(&on_break, "302").unwrap()["reason"], "Lunch");

    append(
        &file,
        format!("{}|c1|sales|NONE|ENTERQUEUE||971500000001|1\n", t + 10).as_bytes(),
    );
    let b = wait_board(&addr, "", "the new caller waits", |b| {
        queue(b, "sales").is_some_and(|q| q["waiting"] == 1)
    });
    let q = queue(&b, "sales").unwrap();
    assert!(q["longest_wait_secs"].as_i64().unwrap() >= 280, "{q}");
    assert_eq!(q["today"]["offered"], 1);

    append(
        &file,
        format!("{}|c1|sales|PJSIP/301|CONNECT|8|c1.1|2\n", t + 18).as_bytes(),
    );
    let b = wait_board(&addr, "", "the agent is on the call", |b| {
        agent(b, "301").is_some_and(|a| a["state"] == "on_call")
    });
    let q = queue(&b, "sales").unwrap();
    assert_eq!(
        (&q["waiting"], &q["on_call"]),
        (&0.into(), &1.into()),
        "{q}"
    );
    assert_eq!(agent(&b, "301").unwrap()["since"], t + 18);

    append(
        &file,
        format!("{}|c1|sales|PJSIP/301|COMPLETECALLER|8|100|1\n", t + 118).as_bytes(),
    );
    // The stint is stored with the lines, the agent's state by the aggregation after them.
    let b = wait_board(&addr, "", "the queue counts the answered call", |b| {
        queue(b, "sales").is_some_and(|q| q["today"]["answered"] == 1)
            && agent(b, "301").is_some_and(|a| a["state"] == "idle")
    });
    let q = queue(&b, "sales").unwrap();
    assert_eq!(q["today"]["service_level"], 100.0);
    assert_eq!(q["today"]["asa_secs"], 8);
    let a = agent(&b, "301").unwrap();
    assert_eq!(a["state"], "idle");
    assert_eq!(a["today"]["answered"], 1);
    assert_eq!(a["today"]["talk_secs"], 100);

    // Narrowed: one queue's tiles and its members; one agent.
    let sales = live(&addr, "?queue=sales");
    let queues: Vec<&Value> = sales["queues"].as_array().unwrap().iter().collect();
    assert_eq!(queues.len(), 1);
    assert!(agent(&sales, "302").is_none() && agent(&sales, "301").is_some());
    let one = live(&addr, "?ext=302");
    assert_eq!(one["agents"].as_array().unwrap().len(), 1);
    // The data's age per source; nothing is stale two minutes after the last line.
    let ql = one["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "queue_log")
        .unwrap()
        .clone();
    assert_eq!(ql["data_until"], t + 118);

    // The page: every agent named with a link to its day, and both refreshes.
    let (status, page) = get(&addr, "/live");
    assert_eq!(status, 200);
    let today = b["today"].as_str().unwrap().to_string();
    assert!(
        page.contains(&format!("<a href=\"/agent?ext=301&amp;date={today}\">")),
        "{page}"
    );
    // The link is that agent's day.
    let (status, day) = get(&addr, &format!("/agent?ext=301&date={today}"));
    assert_eq!(status, 200);
    assert!(day.contains("<svg class=\"band\""), "{day}");
    assert!(page.contains("<noscript><meta http-equiv=\"refresh\""));
    assert!(page.contains("fetch('/api/live' + location.search"));
    assert!(page.contains("On a break (1)"), "{page}");
    let (status, tv) = get(&addr, "/live?tv=1&queue=sales");
    assert_eq!(status, 200);
    assert!(tv.contains("<body class=\"tv\""), "{tv}");
    let (status, body) = get(&addr, "/api/live?queue=sales&bogus=1");
    assert_eq!(status, 400);
    assert!(body.contains("unknown parameter 'bogus'"), "{body}");
}

#[test]
fn data_older_than_stale_after_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("apr.db");
    let file = dir.path().join("queue_log");
    let t = chrono::Utc::now().timestamp() - 600;
    std::fs::write(&file, format!("{t}|NONE|sales|PJSIP/301|ADDMEMBER|\n")).unwrap();
    let out = apr(
        &sqlite(&db),
        &["-q", "parse-queue-log", &file.display().to_string()],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (_fresh, addr) = serve(&sqlite(&db), &["--stale-after", "1h"]);
    let b = live(&addr, "");
    let ql = |b: &Value| {
        b["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == "queue_log")
            .unwrap()
            .clone()
    };
    assert_eq!(ql(&b)["stale"], false);
    assert!(ql(&b)["age_secs"].as_i64().unwrap() >= 600);
    let (_strict, addr) = serve(&sqlite(&db), &["--stale-after", "2m"]);
    let b = live(&addr, "");
    assert_eq!(ql(&b)["stale"], true);
    let (_, page) = get(&addr, "/live");
    assert!(page.contains("age stale"), "{page}");
    // The platform never loaded: no age, never stale.
    let api = b["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "api")
        .unwrap();
    assert_eq!(
        (&api["data_until"], &api["stale"]),
        (&Value::Null, &false.into())
    );
}

/// The value of the sample `name` whose labels include every `(label, value)` of `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name}: {other:?}"),
        })
}

#[test]
fn metrics_parse_as_the_prometheus_text_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("apr.db");
    let file = dir.path().join("queue_log");
    let t = chrono::Utc::now().timestamp() - 120;
    std::fs::write(
        &file,
        format!(
            "{t}|NONE|sales|PJSIP/301|ADDMEMBER|\n{}|NONE|support|PJSIP/302|ADDMEMBER|\n\
             {}|c1|sales|NONE|ENTERQUEUE||971500000001|1\n{}|c2|sales|NONE|ENTERQUEUE||971500000002|2\n\
             {}|c0|support|PJSIP/302|CONNECT|1|c0.1|1\n",
            t + 1,
            t + 10,
            t + 20,
            t + 30
        ),
    )
    .unwrap();
    let out = apr(
        &sqlite(&db),
        &["-q", "parse-queue-log", &file.display().to_string()],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (_serve, addr) = serve(&sqlite(&db), &[]);
    assert_eq!(get(&addr, "/api/live").0, 200);
    assert_eq!(get(&addr, "/no-such-route").0, 404);
    let (status, text) = get(&addr, "/metrics");
    assert_eq!(status, 200, "{text}");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert_eq!(
        sample(&scrape, "apr_queue_callers_waiting", &[("queue", "sales")]),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "apr_queue_callers_waiting",
            &[("queue", "support")]
        ),
        Some(0.0)
    );
    let longest = sample(
        &scrape,
        "apr_queue_longest_wait_seconds",
        &[("queue", "sales")],
    )
    .unwrap();
    assert!(longest >= 110.0, "{longest}");
    assert_eq!(
        sample(&scrape, "apr_agents", &[("state", "idle")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&scrape, "apr_agents", &[("state", "on_call")]),
        Some(1.0)
    );
    let age = sample(&scrape, "apr_data_age_seconds", &[("source", "queue_log")]).unwrap();
    assert!(age >= 90.0, "{age}");
    assert_eq!(
        sample(&scrape, "apr_data_age_seconds", &[("source", "api")]),
        None
    );
    assert!(
        sample(
            &scrape,
            "apr_last_load_timestamp_seconds",
            &[("loader", "parse-queue-log")]
        )
        .is_some()
    );
    assert_eq!(
        sample(&scrape, "apr_aggregation_waiting_events", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "apr_http_requests_total",
            &[("route", "/api/live"), ("status", "200")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "apr_http_requests_total",
            &[("route", "other"), ("status", "404")]
        ),
        Some(1.0)
    );
    let types: Vec<_> = scrape.docs.keys().cloned().collect();
    assert!(
        types.contains(&"apr_data_age_seconds".to_string()),
        "{types:?}"
    );
}

#[test]
fn the_board_reads_alike_from_mariadb() {
    let scratch = support::mysql::ScratchMysql::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    clear_of_midnight();
    let t = chrono::Utc::now().timestamp() - 200;
    std::fs::write(
        &file,
        format!(
            "{t}|NONE|sales|PJSIP/301|ADDMEMBER|\n{}|NONE|sales|PJSIP/302|ADDMEMBER|\n\
             {}|c1|sales|NONE|ENTERQUEUE||971500000001|1\n{}|c1|sales|PJSIP/301|CONNECT|5|c1.1|1\n\
             {}|c1|sales|PJSIP/301|COMPLETEAGENT|5|40|1\n{}|c2|sales|NONE|ENTERQUEUE||971500000002|1\n",
            t + 1,
            t + 10,
            t + 15,
            t + 55,
            t + 60
        ),
    )
    .unwrap();
    let mysql = |args: &[&str]| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("apr"));
        cmd.env_clear()
            .current_dir(std::env::temp_dir())
            .env("APR_DATABASE_URL", scratch.url())
            .env("APR_TIMEZONE", "Asia/Dubai")
            .args(args);
        cmd
    };
    let out = mysql(&["-q", "parse-queue-log", &file.display().to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut child = mysql(&["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _serve = Running(child);
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let b = live(&addr, "");
    let q = queue(&b, "sales").unwrap();
    assert_eq!(
        (&q["waiting"], &q["available"]),
        (&1.into(), &2.into()),
        "{q}"
    );
    assert_eq!(q["today"]["offered"], 2);
    assert_eq!(q["today"]["answered"], 1);
    assert_eq!(q["today"]["asa_secs"], 5);
    let a = agent(&b, "301").unwrap();
    assert_eq!(
        (&a["state"], &a["today"]["answered"]),
        (&"idle".into(), &1.into()),
        "{a}"
    );
    assert_eq!(a["today"]["talk_secs"], 40);
    let (status, text) = get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        text.contains("apr_queue_callers_waiting{queue=\"sales\"} 1"),
        "{text}"
    );
}

/// The (ext, source, state, reason, since) of every agent on the board.
fn floor(b: &Value) -> Vec<(String, String, String, String, i64)> {
    b["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap().to_string();
            let since = a["since"].as_i64().unwrap();
            (s("ext"), s("source"), s("state"), s("reason"), since)
        })
        .collect()
}

#[test]
fn platform_agents_are_on_the_board_after_init_load_without_queue_tiles() {
    // A platform-only shop (SPEC §13: platform agents show their state from the events, no
    // queue tiles without queue_log): init-load alone must put its floor on the board, the
    // same floor a later aggregation writes.
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(&dir.path().join("apr.db"));
    let replay = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/replay");
    // The example's hours are Asia/Kolkata's.
    let out = apr(&db, &["init-load", "--yes", "--source", replay])
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (_serve, addr) = serve(&db, &["--timezone", "Asia/Kolkata"]);
    let b = live(&addr, "");
    let after_init_load = floor(&b);
    assert!(after_init_load.len() > 5, "{b}");
    for (ext, source, state, _, since) in &after_init_load {
        assert_eq!(source, "api", "{ext}");
        assert!(
            [
                "idle",
                "on_call",
                "wrap_up",
                "hold",
                "not_avail",
                "logged_off"
            ]
            .contains(&state.as_str()),
            "{ext}: {state}"
        );
        assert!(*since > 0, "{ext}");
    }
    assert_eq!(b["queues"].as_array().unwrap().len(), 0, "{b}");
    let api = b["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "api")
        .unwrap();
    assert!(api["data_until"].as_i64().is_some(), "{b}");

    let out = apr(&db, &["aggregate", "--rebuild"])
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(floor(&live(&addr, "")), after_init_load);
}
