//! `apr serve` under hostile load on 127.0.0.1, bounded in count and time (issue 13.4, 13.5):
//! a flood of sockets that never send a byte does not starve a real request, a silent
//! socket is closed after the first-byte timeout, and 200 concurrent reports stay within a
//! memory bound read from `/proc`.

mod report_fixture;

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Duration;

use report_fixture::server::Server;
use reqwest::StatusCode;

fn client() -> reqwest::Client {
    // Never through a proxy from the environment: only 127.0.0.1 is ever called.
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Whether the server has closed `s` (reads end of stream) rather than kept it open.
fn closed_by_server(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        // Reset by the server.
        Err(_) => true,
    }
}

/// 300 idle connections (more than the 256 the server holds) are open when a real request
/// comes. With timeouts far longer than the test, the request can only be answered because
/// the oldest idle connections are evicted to make room: it is, while the newest idle
/// sockets are still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_do_not_starve_a_real_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let server = Server::start(
        &db,
        &[
            "serve",
            "--header-timeout",
            "300",
            "--first-byte-timeout",
            "300",
        ],
        &[],
    );
    let mut idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&server.addr).unwrap())
        .collect();
    let resp = client()
        .get(server.url("/health"))
        .send()
        .await
        .expect("a real request is answered while 300 idle sockets are open");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        !closed_by_server(idle.last_mut().unwrap()),
        "the newest idle socket is still open"
    );
    // The oldest idle socket made room: the server closed it (wait up to the bound).
    let oldest = &mut idle[0];
    oldest.set_nonblocking(false).unwrap();
    oldest
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        matches!(oldest.read(&mut buf), Ok(0) | Err(_)) && closed_by_server(oldest),
        "the oldest idle socket was evicted"
    );
}

/// A socket that sends nothing is closed after `--first-byte-timeout`, long before the
/// header timeout; the server then answers as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_socket_is_closed_after_the_first_byte_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let server = Server::start(
        &db,
        &[
            "serve",
            "--header-timeout",
            "300",
            "--first-byte-timeout",
            "1",
        ],
        &[],
    );
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = Vec::new();
    let n = silent
        .read_to_end(&mut buf)
        .expect("closed by the server, not by the read timeout");
    assert_eq!(n, 0);
    let resp = client().get(server.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// A day of `agents` agents, written straight into `agent_activity`.
fn day_of_agents(dir: &std::path::Path, agents: usize) -> std::path::PathBuf {
    use apr::store::Store;
    let db = dir.join("day.db");
    let mut store = apr::store::sqlite::SqliteStore::open(&db).unwrap();
    store.set_meta("timezone", report_fixture::ZONE).unwrap();
    let zone = apr::hours::Zone::parse(report_fixture::ZONE).unwrap();
    let from = report_fixture::at(zone, "2025-09-07 00:00");
    let mut rows = Vec::new();
    for h in 0..24 {
        for a in 0..agents {
            let b = apr::model::Buckets {
                idle: 1_800,
                talk: 1_800,
                ..Default::default()
            };
            let ext = (3_000 + a).to_string();
            rows.push(report_fixture::row(
                zone,
                from + h * 3600,
                &ext,
                &format!("Agent {a}"),
                b,
                (4, 3),
            ));
        }
    }
    store
        .replace_activity(from, from + 86_400, &rows, &[])
        .unwrap();
    db
}

/// A field of `/proc/PID/status` in KiB (`VmHWM`: the peak resident set).
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// 200 concurrent report requests: every one is answered with the whole report or told to
/// come back (503 with Retry-After), and the server's peak resident memory, read from
/// `/proc`, stays under 64 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reports_stay_within_64_mib() {
    const REQUESTS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let db = day_of_agents(dir.path(), 100);
    let server = Server::start(&db, &["serve"], &[]);
    let pid = server.child.id();
    let c = client();
    let url = server.url("/api/report?startDate=2025-09-07&extended=true");
    let mut tasks = Vec::new();
    for _ in 0..REQUESTS {
        let c = c.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let resp = c.get(url).send().await.unwrap();
            let status = resp.status();
            let retry = resp.headers().get(reqwest::header::RETRY_AFTER).cloned();
            (status, retry, resp.bytes().await.unwrap().len())
        }));
    }
    let (mut full, mut refused) = (0, 0);
    let mut length = None;
    for t in tasks {
        let (status, retry, len) = t.await.unwrap();
        match status {
            StatusCode::OK => {
                assert_eq!(*length.get_or_insert(len), len, "every report is whole");
                full += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry.is_some(), "a refused report says when to retry");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let peak = proc_status_kib(pid, "VmHWM");
    let now = proc_status_kib(pid, "VmRSS");
    println!(
        "{REQUESTS} concurrent reports of {} bytes: {full} answered, {refused} refused; server peak RSS {:.1} MiB, after {:.1} MiB",
        length.unwrap_or(0),
        peak as f64 / 1024.0,
        now as f64 / 1024.0
    );
    assert_eq!(full + refused, REQUESTS);
    assert!(full > 0);
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}
