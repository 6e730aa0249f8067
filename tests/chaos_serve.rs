//! `apr serve` under the hostile clients tests/serve.rs and tests/serve_load.rs do not
//! cover (issue 13), on 127.0.0.1 and bounded in count and time: slowloris (headers
//! trickled a byte at a time), path traversal, bad methods, oversized request lines,
//! headers and bodies, and a mix of them with real requests — every real request answered,
//! every hostile connection refused or cut, and the server's peak memory from `/proc`
//! bounded.

mod report_fixture;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use report_fixture::server::Server;

/// Sends `request` and reads the answer until the server closes or 20 s pass.
fn exchange(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // The server may answer (and close) before it has read everything: a write error then
    // is the point, not a failure.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

fn start(dir: &std::path::Path) -> Server {
    let db = report_fixture::create(dir);
    Server::start(
        &db,
        &[
            "serve",
            "--header-timeout",
            "2",
            "--first-byte-timeout",
            "1",
        ],
        &[("APR_TIMEZONE", report_fixture::ZONE)],
    )
}

#[test]
fn traversal_bad_methods_and_oversized_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let addr = server.addr.clone();
    for path in [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/api/report/../../../../etc/passwd",
        "/api/..%2f..%2f..%2fetc%2fpasswd",
        "//etc/passwd",
        "/api/report%00.csv",
        "/health/../../etc/passwd",
    ] {
        let r = exchange(
            &addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let code = status(&r);
        assert!(code == 400 || code == 404, "{path}: {r}");
        assert!(!r.contains("root:"), "{path} served a file: {r}");
    }
    for method in [
        "PUT", "DELETE", "POST", "PATCH", "TRACE", "CONNECT", "PROPFIND", "G\x01T",
    ] {
        let r = exchange(
            &addr,
            format!("{method} /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        let code = status(&r);
        assert!(code == 400 || code == 405, "{method:?}: {r}");
    }
    // A request line of 100 KiB, 200 headers, 100 KiB of one header.
    let long_line = format!(
        "GET /health?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100 << 10)
    );
    let many: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect();
    let many = format!("GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let big = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(100 << 10)
    );
    for (what, req) in [
        ("long line", long_line),
        ("many headers", many),
        ("big header", big),
    ] {
        let r = exchange(&addr, req.as_bytes());
        let code = status(&r);
        assert!((400..500).contains(&code), "{what}: {r}");
    }
    // A body of 64 MiB announced on a route that takes none: answered without reading it.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"POST /api/report HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n")
        .unwrap();
    let _ = s.write_all(&vec![b'z'; 1 << 20]);
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    let r = String::from_utf8_lossy(&buf[..n]);
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    // Still serving.
    let r = exchange(
        &addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status(&r), 200, "{r}");
    let peak = peak_rss_kib(server.child.id());
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn slowloris_is_cut_while_real_requests_are_answered() {
    const SLOW: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let addr = server.addr.clone();
    // Each sends its headers a byte every 200 ms: never done within the 2 s header timeout.
    let slow: Vec<_> = (0..SLOW)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).unwrap();
                let started = Instant::now();
                let request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
                    .iter()
                    .chain(b"z".repeat(1000).iter())
                    .copied()
                    .collect::<Vec<_>>();
                for b in request {
                    if s.write_all(&[b]).is_err() {
                        return started.elapsed();
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    if started.elapsed() > Duration::from_secs(30) {
                        break;
                    }
                }
                panic!("a slowloris connection was kept for 30 s");
            })
        })
        .collect();
    // Real requests meanwhile, each answered.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..10 {
        let r = exchange(
            &addr,
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status(&r), 200, "{r}");
        let r = exchange(
            &addr,
            b"GET /api/report?startDate=2025-09-07&format=json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status(&r), 200, "{}", &r[..r.len().min(300)]);
        std::thread::sleep(Duration::from_millis(100));
    }
    for t in slow {
        // Joined: each was cut (its write failed) within the 30 s bound.
        t.join().expect("slowloris thread");
    }
    let peak = peak_rss_kib(server.child.id());
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}
