//! A frozen MySQL/MariaDB server (issue 15.4), stood in for by a TCP listener on 127.0.0.1
//! that accepts connections and never answers (what a SIGSTOPped server looks like to a
//! client: the kernel completes the connection, nothing ever replies). `parse-queue-log`,
//! `collect` and `/api/report` end with one line naming the database once the read timeout
//! passes; `/health` answers 503 within its own deadline, shorter than the read timeout.
//! Each run has a time limit, so a hang fails the test instead of stalling the suite.

mod report_fixture;
mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use report_fixture::server::Server;
use reqwest::StatusCode;

/// A listener that accepts and holds every connection, silent; its address.
fn frozen_server() -> (String, Arc<Mutex<Vec<TcpStream>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    (addr, held)
}

fn apr(url: &str, dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = support::rows::apr()
        .current_dir(dir)
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .env("APR_MYSQL_READ_TIMEOUT_SECS", "1")
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn loads_end_with_one_line_naming_the_frozen_database() {
    let (addr, held) = frozen_server();
    let url = format!("mysql://apr:secret@{addr}/apr");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue_log");
    std::fs::write(&file, "1757250000|NONE|q1|PJSIP/201|ADDMEMBER|\n").unwrap();
    let replay = dir.path().join("replay/events");
    std::fs::create_dir_all(&replay).unwrap();
    std::fs::write(
        replay.join("a.json"),
        r#"[{"event":"agent_idle","enabled":true,"ext":"201","Timestamp":1757250100}]"#,
    )
    .unwrap();
    for args in [
        vec!["parse-queue-log", file.to_str().unwrap()],
        vec![
            "collect",
            "--source",
            dir.path().join("replay").to_str().unwrap(),
        ],
    ] {
        let (code, err) = apr(&url, dir.path(), &args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with(&format!(
                "error: MySQL database mysql://apr:***@{addr}/apr did not answer within 1 s"
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }
    assert!(!held.lock().unwrap().is_empty(), "apr did reach the server");
}

/// A TCP relay to the test's MariaDB that can be frozen: from then on it relays nothing in
/// either direction and holds every socket open, as a SIGSTOPped server would.
struct Relay {
    addr: String,
    frozen: Arc<AtomicBool>,
}

fn pump(mut from: TcpStream, mut to: TcpStream, frozen: Arc<AtomicBool>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

fn relay(target: String) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let frozen = Arc::new(AtomicBool::new(false));
    let flag = frozen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (f1, f2) = (flag.clone(), flag.clone());
            std::thread::spawn(move || pump(client, server, f1));
            std::thread::spawn(move || pump(s2, c2, f2));
        }
    });
    Relay { addr, frozen }
}

/// `mysql://user@HOST:PORT/db?..` → (`HOST:PORT`, the URL with `addr` in its place).
fn through(url: &str, addr: &str) -> (String, String) {
    let start = url
        .find('@')
        .map_or(url.find("://").unwrap() + 3, |i| i + 1);
    let end = start + url[start..].find('/').unwrap();
    (
        url[start..end].to_string(),
        format!("{}{addr}{}", &url[..start], &url[end..]),
    )
}

/// `serve` on a MariaDB that freezes while it runs: `/health` answers 503 within its own
/// deadline (the read timeout is the default two minutes), and a report ends in 503 once the
/// read timeout set for it passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_503_within_its_deadline_when_the_database_freezes() {
    let scratch = support::mysql::ScratchMysql::new();
    apr::store::open(&apr::store::DatabaseUrl::parse(scratch.url(), "APR_DATABASE_URL").unwrap())
        .unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for (read_timeout, path) in [
        (None, "/health"),
        (Some("2"), "/api/report?startDate=2025-09-07"),
    ] {
        let (target, _) = through(scratch.url(), "");
        let r = relay(target);
        let (_, url) = through(scratch.url(), &r.addr);
        // Over TCP only: the driver would otherwise move to the server's Unix socket,
        // around the relay.
        let url = format!(
            "{url}{}prefer_socket=false",
            if url.contains('?') { '&' } else { '?' }
        );
        let env: Vec<(&str, &str)> = read_timeout
            .map(|t| ("APR_MYSQL_READ_TIMEOUT_SECS", t))
            .into_iter()
            .collect();
        let server = Server::start_url(&url, &["serve"], &env);
        let ok = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK, "{path} before the freeze");
        r.frozen.store(true, Ordering::SeqCst);
        let resp = client
            .get(server.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path} is answered while the database is frozen: {e}"));
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains(&r.addr) && error.contains("did not answer"),
            "{error}"
        );
    }
}
