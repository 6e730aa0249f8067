//! `apr serve-once` and `apr serve` run as binaries on 127.0.0.1 port 0 and talked to with
//! reqwest, or with a raw TCP stream where a client must misbehave: every route and error,
//! byte equality with `apr report`, malformed and oversized requests, a silent client,
//! `--timeout`, the token, CORS, concurrent requests and shutdown on SIGTERM.

mod report_fixture;

use report_fixture::server::{APR, Server, apr_report, client};

use std::io::Read;
use std::net::TcpStream;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

async fn json_of(resp: reqwest::Response) -> Value {
    assert_eq!(
        resp.headers()[reqwest::header::CONTENT_TYPE],
        "application/json"
    );
    resp.json().await.unwrap()
}

#[tokio::test]
async fn serve_once_returns_the_bytes_of_apr_report_and_exits() {
    let (_dir, db) = report_fixture::temp_db();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "startDate=2025-09-07",
            &["--start-date", "2025-09-07"],
            "report_2025-09-07_to_2025-09-08.csv",
        ),
        (
            "startDate=2025-10-26&endTime=03:00&extended=true&format=json",
            &[
                "--start-date",
                "2025-10-26",
                "--end-time",
                "03:00",
                "--extended",
                "--format",
                "json",
            ],
            "report_2025-10-26_to_2025-10-26.json",
        ),
        (
            "startDate=2025-09-07&startTime=18:00&endDate=2025-09-07&endTime=19:00&ext=3032%2Cagent7&kind=agents",
            &[
                "--start-date",
                "2025-09-07",
                "--start-time",
                "18:00",
                "--end-date",
                "2025-09-07",
                "--end-time",
                "19:00",
                "--ext",
                "3032,agent7",
            ],
            "report_2025-09-07_to_2025-09-07.csv",
        ),
    ];
    for (query, args, file_name) in cases {
        let server = Server::start(&db, &["serve-once"], &[]);
        let resp = client()
            .get(server.url(&format!("/api/report?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{query}");
        let json = args.contains(&"json");
        let h = resp.headers().clone();
        assert_eq!(
            h[reqwest::header::CONTENT_TYPE],
            if json {
                "application/json"
            } else {
                "text/csv; charset=utf-8"
            }
        );
        let body = resp.bytes().await.unwrap();
        let expected = apr_report(&db, args);
        assert!(expected.len() > 400, "the fixture yields rows for {query}");
        assert_eq!(
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&expected),
            "{query}"
        );
        let (status, _) = server.wait();
        assert!(status.success(), "{status:?}");
        assert_eq!(
            h[reqwest::header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"{file_name}\"").as_str()
        );
    }
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let (_dir, db) = report_fixture::temp_db();
    for (query, needle) in [
        ("", "startDate is required"),
        ("startDate=2025-13-01", "startDate '2025-13-01'"),
        ("startDate=2025-09-07&endDate=2025-09-01", "endDate"),
        ("startDate=2025-09-07&startTime=7pm", "startTime '7pm'"),
        ("startDate=2025-09-07&format=xml", "format 'xml'"),
        ("startDate=2025-09-07&kind=people", "kind 'people'"),
        ("startDate=2025-09-07&by=year", "by 'year'"),
        ("startDate=2025-09-07&totals=maybe", "totals 'maybe'"),
        ("startDate=2025-09-07&ext=1%27%3B--", "ext"),
        ("startDate=2025-09-07&extended=maybe", "extended 'maybe'"),
        (
            "startDate=2025-09-07&start_date=x",
            "unknown parameter 'start_date'",
        ),
        (
            "startDate=2025-09-07&startDate=2025-09-08",
            "startDate is given twice",
        ),
    ] {
        let server = Server::start(&db, &["serve-once"], &[]);
        let resp = client()
            .get(server.url(&format!("/api/report?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
        let v = json_of(resp).await;
        let msg = v["error"].as_str().unwrap();
        assert!(msg.starts_with(needle), "{query}: {msg}");
        let (status, _) = server.wait();
        assert!(status.success(), "serve-once exits 0 whatever the status");
    }
}

#[tokio::test]
async fn health_reports_the_database_and_the_last_collect() {
    let (dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve-once"], &[]);
    let resp = client().get(server.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json_of(resp).await,
        serde_json::json!({"status": "ok", "database": "ok", "last_collect": "2025-10-26T02:10:00Z"})
    );
    assert!(server.wait().0.success());

    // A database that is missing at start: exit 2 with the §9 message, nothing created.
    let gone = dir.path().join("missing-dir").join("apr.db");
    let out = Command::new(APR)
        .env("APR_DATABASE_URL", format!("sqlite://{}", gone.display()))
        .args(["serve-once", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "database sqlite://{} does not exist",
            gone.display()
        )),
        "{err}"
    );
    assert!(!gone.parent().unwrap().exists(), "nothing created");

    // A database that goes away while serving: health and report are 503.
    for path in ["/health", "/api/report?startDate=2025-09-07"] {
        let copy = dir.path().join("going.db");
        std::fs::copy(&db, &copy).unwrap();
        let server = Server::start(&copy, &["serve-once"], &[]);
        std::fs::remove_file(&copy).unwrap();
        let resp = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let v = json_of(resp).await;
        assert!(v["error"].as_str().unwrap().contains("going.db"), "{v}");
        assert!(server.wait().0.success());
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_other_methods_405() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve-once"], &[]);
    let resp = client()
        .get(server.url("/api/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(json_of(resp).await["error"].is_string());
    assert!(server.wait().0.success());

    let server = Server::start(&db, &["serve-once"], &[]);
    let resp = client()
        .post(server.url("/api/report?startDate=2025-09-07"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(json_of(resp).await["error"].is_string());
    assert!(server.wait().0.success());
}

#[tokio::test]
async fn the_token_guards_every_route() {
    let (_dir, db) = report_fixture::temp_db();
    let token = [("APR_SERVE_TOKEN", "s3cret-token")];
    for auth in [None, Some("Bearer wrong"), Some("s3cret-token")] {
        let server = Server::start(&db, &["serve-once"], &token);
        let mut req = client().get(server.url("/health"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        assert!(json_of(resp).await["error"].is_string());
        assert!(server.wait().0.success());
    }
    let server = Server::start(&db, &["serve-once"], &token);
    let resp = client()
        .get(server.url("/api/report?startDate=2025-09-07"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        apr_report(&db, &["--start-date", "2025-09-07"]).as_slice()
    );
    assert!(server.wait().0.success());
}

#[tokio::test]
async fn listen_resolves_host_names_and_the_scheme_is_case_insensitive() {
    let (_dir, db) = report_fixture::temp_db();
    let token = [("APR_SERVE_TOKEN", "s3cret-token")];
    let server = Server::start(&db, &["serve-once", "--listen", "localhost:0"], &token);
    assert!(
        server.addr.starts_with("127.0.0.1:") || server.addr.starts_with("[::1]:"),
        "{}",
        server.addr
    );
    let resp = client()
        .get(server.url("/health"))
        .header("Authorization", "bearer s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(server.wait().0.success());
}

#[test]
fn a_public_address_needs_a_token_or_allow_public() {
    let (_dir, db) = report_fixture::temp_db();
    // Refused before anything is bound.
    let out = Command::new(APR)
        .env_remove("APR_SERVE_TOKEN")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .args(["serve-once", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--allow-public") && err.contains("APR_SERVE_TOKEN"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = Command::new(APR)
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen 'localhost'"));
}

#[test]
fn a_malformed_request_gets_400_from_the_http_stack() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve-once"], &[]);
    let resp = server.raw(b"THIS IS NOT HTTP\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp:?}");
    assert!(server.wait().0.success());
}

#[test]
fn an_oversized_header_gets_431() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve-once"], &[]);
    let mut req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 20_000));
    req.extend(b"\r\n\r\n");
    let resp = server.raw(&req);
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp:?}");
    assert!(server.wait().0.success());
}

#[tokio::test]
async fn a_silent_client_is_dropped_and_the_next_request_answered() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve-once", "--header-timeout", "1"], &[]);
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    // The server closes the connection without an answer once the header timeout passes.
    let mut buf = Vec::new();
    let n = silent.read_to_end(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&buf));
    // That was no request: serve-once still answers the next one.
    let resp = client().get(server.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(server.wait().0.success());
}

#[test]
fn serve_once_timeout_exits_1_without_a_request() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve-once", "--timeout", "1"], &[]);
    let (status, err) = server.wait();
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("no request within --timeout 1 s"), "{err}");
}

#[tokio::test]
async fn cors_allows_only_listed_origins_and_preflight_needs_no_token() {
    let (_dir, db) = report_fixture::temp_db();
    let env = [
        ("APR_CORS_ORIGINS", "http://127.0.0.1:3000"),
        ("APR_SERVE_TOKEN", "tok"),
    ];
    let server = Server::start(&db, &["serve"], &env);
    let c = client();
    let resp = c
        .get(server.url("/health"))
        .bearer_auth("tok")
        .header("Origin", "http://127.0.0.1:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    let resp = c
        .get(server.url("/health"))
        .bearer_auth("tok")
        .header("Origin", "http://127.0.0.1:4000")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = c
        .request(reqwest::Method::OPTIONS, server.url("/api/report"))
        .header("Origin", "http://127.0.0.1:3000")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
}

#[tokio::test]
async fn serve_answers_concurrent_requests_and_stops_on_sigterm() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve"], &[]);
    let expected = apr_report(&db, &["--start-date", "2025-09-07"]);
    let c = client();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let c = c.clone();
        let url = if i % 3 == 0 {
            server.url("/health")
        } else {
            server.url("/api/report?startDate=2025-09-07")
        };
        tasks.push(tokio::spawn(async move {
            let resp = c.get(url).send().await.unwrap();
            (resp.status(), resp.bytes().await.unwrap())
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        if i % 3 != 0 {
            assert_eq!(body.as_ref(), expected.as_slice());
        }
    }
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (status, _) = server.wait();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn serve_finishes_an_in_flight_report_after_sigterm() {
    // A report of several megabytes, more than the socket buffers hold, so the server is
    // still writing it when the signal comes.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    {
        use apr::store::Store;
        let mut store = apr::store::sqlite::SqliteStore::open(&db).unwrap();
        store.set_meta("timezone", report_fixture::ZONE).unwrap();
        let zone = apr::hours::Zone::parse(report_fixture::ZONE).unwrap();
        let from = report_fixture::at(zone, "2025-09-07 00:00");
        let mut rows = Vec::new();
        for h in 0..24 {
            for a in 0..1_000 {
                let b = apr::model::Buckets {
                    idle: 1_800,
                    talk: 1_800,
                    ..Default::default()
                };
                let name = format!("Agent {a}");
                let ext = (3_000 + a).to_string();
                rows.push(report_fixture::row(
                    zone,
                    from + h * 3600,
                    &ext,
                    &name,
                    b,
                    (4, 3),
                ));
            }
        }
        store
            .replace_activity(from, from + 86_400, &rows, &[])
            .unwrap();
    }
    let expected = apr_report(&db, &["--start-date", "2025-09-07", "--extended"]);
    assert!(expected.len() > 5_000_000, "{}", expected.len());

    let server = Server::start(&db, &["serve"], &[]);
    let resp = client()
        .get(server.url("/api/report?startDate=2025-09-07&extended=true"))
        .send()
        .await
        .unwrap();
    // The headers are here: the request is in flight.
    assert_eq!(resp.status(), StatusCode::OK);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), expected.len());
    assert!(body.as_ref() == expected.as_slice());
    let (status, _) = server.wait();
    assert!(status.success(), "{status:?}");
}
