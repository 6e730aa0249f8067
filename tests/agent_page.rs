//! `GET /agent?ext=&date=` (SPEC §13): an agent's day for a queue_log agent (the example
//! queue_log) and a platform agent (the example replay), its band's seconds equal to its
//! hourly rows' seconds, and a bad query answered 400 with a one-line JSON error.

mod support;

const QUEUE_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");
const REPLAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/replay");

fn serve_cmd(url: &str, zone: &str) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("apr"));
    c.env_clear()
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", zone);
    c
}

/// The `data-X="N"` numbers of the page, summed.
fn summed(page: &str, attr: &str) -> i64 {
    let key = format!("{attr}=\"");
    page.match_indices(&key)
        .map(|(i, _)| {
            let rest = &page[i + key.len()..];
            rest[..rest.find('"').unwrap()].parse::<i64>().unwrap()
        })
        .sum()
}

/// Every bucket of an hourly row (`--extended`), which together cover its hour.
const BUCKETS: [&str; 18] = [
    "idle_secs",
    "talk_secs",
    "hold_secs",
    "wrap_up_secs",
    "logoff_secs",
    "unaccounted_secs",
    "login_secs",
    "dnd_secs",
    "meeting_secs",
    "training_secs",
    "chat_secs",
    "tickets_secs",
    "outbound_secs",
    "lunch_secs",
    "tea_coffee_secs",
    "bio_break_secs",
    "short_break_secs",
    "other_npt_secs",
];

/// The agent's hourly rows' seconds, from `apr report --extended` as JSON.
fn hourly_secs(url: &str, zone: &str, date: &str, ext: &str) -> i64 {
    let out = support::rows::apr()
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", zone)
        .args([
            "report",
            "--start-date",
            date,
            "--ext",
            ext,
            "--format",
            "json",
            "--extended",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!rows.is_empty());
    rows.iter()
        .map(|r| BUCKETS.iter().map(|b| r[*b].as_i64().unwrap()).sum::<i64>())
        .sum()
}

fn check_day(url: &str, zone: &str, date: &str, ext: &str) -> String {
    let (status, page) = support::serve_once::get(
        serve_cmd(url, zone),
        &format!("/agent?ext={ext}&date={date}"),
    );
    assert!(status.contains("200"), "{status} {page}");
    let band = summed(&page, "data-secs");
    assert!(band > 0, "{page}");
    assert_eq!(
        band,
        summed(&page, "data-covered"),
        "band vs the page's hours"
    );
    assert_eq!(
        band,
        hourly_secs(url, zone, date, ext),
        "band vs the report"
    );
    assert!(page.contains("<h2>Sessions</h2>") && page.contains("<h2>Pauses</h2>"));
    page
}

#[test]
fn a_queue_log_agents_day_and_a_platform_agents_day_band_their_hourly_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let ql = format!("sqlite://{}", dir.path().join("ql.db").display());
    support::rows::apr()
        .env("APR_DATABASE_URL", &ql)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["parse-queue-log", "--agents", AGENTS, QUEUE_LOG])
        .assert()
        .success();
    let page = check_day(&ql, "Asia/Dubai", "2025-09-07", "201");
    assert!(
        page.contains("data-state=\"not_avail\""),
        "a pause on the band"
    );
    // The calls are the call list's for that agent.
    let out = support::rows::apr()
        .env("APR_DATABASE_URL", &ql)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["report", "--kind", "calls", "--start-date", "2025-09-07"])
        .args(["--ext", "201", "--format", "json"])
        .output()
        .unwrap();
    let calls: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!calls.is_empty());
    assert_eq!(page.matches("data-call=\"").count(), calls.len());
    for c in &calls {
        let id = c["call_id"].as_str().unwrap();
        assert!(page.contains(&format!("data-call=\"{id}\"")), "{id}");
    }

    let api = format!("sqlite://{}", dir.path().join("api.db").display());
    support::rows::apr()
        .env("APR_DATABASE_URL", &api)
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .args(["init-load", "--yes", "--source", REPLAY])
        .assert()
        .success();
    let out = support::rows::apr()
        .env("APR_DATABASE_URL", &api)
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .args(["report", "--start-date", "2025-08-20", "--format", "json"])
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ext = rows[0]["ext"].as_str().unwrap().to_string();
    check_day(&api, "Asia/Kolkata", "2025-08-20", &ext);
}

#[test]
fn a_bad_ext_or_date_is_a_one_line_json_400() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apr.db").display());
    support::rows::apr()
        .env("APR_DATABASE_URL", &url)
        .env("APR_TIMEZONE", "UTC")
        .args(["parse-queue-log", "--agents", AGENTS, QUEUE_LOG])
        .assert()
        .success();
    for (path, want) in [
        ("/agent?date=2025-09-07", "ext is missing"),
        ("/agent?ext=201", "date is missing"),
        ("/agent?ext=201&date=2025-13-40", "date"),
        ("/agent?ext=201,202&date=2025-09-07", "not one extension"),
        (
            "/agent?ext=201&date=2025-09-07&x=1",
            "unknown parameter 'x'",
        ),
    ] {
        let (status, body) = support::serve_once::get(serve_cmd(&url, "UTC"), path);
        assert!(status.contains("400"), "{path}: {status}");
        let body = body.trim();
        let json: serde_json::Value =
            serde_json::from_str(body.lines().find(|l| l.starts_with('{')).unwrap_or(body))
                .unwrap_or_else(|_| panic!("{path}: {body}"));
        let msg = json["error"].as_str().unwrap();
        assert!(msg.contains(want) && !msg.contains('\n'), "{path}: {msg}");
    }
}

/// The seconds of the band's segments in `state`.
fn band_secs_in(page: &str, state: &str) -> i64 {
    let key = format!("data-state=\"{state}\" data-secs=\"");
    page.match_indices(&key)
        .map(|(i, _)| {
            let rest = &page[i + key.len()..];
            rest[..rest.find('"').unwrap()].parse::<i64>().unwrap()
        })
        .sum()
}

#[test]
fn the_server_walks_the_day_with_the_state_map_the_loader_used() {
    // A shop's own rules (APR_STATE_MAP) turn the "Tea" pause into a logoff: the hourly rows
    // count it as Logoff, so the band (and kind=states) must show it logged off, not as a
    // break, or the page would disagree with the report.
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("state-map.toml");
    std::fs::write(
        &map,
        "[[rule]]\ncategory = \"logoff\"\nexact = [\"logoff\", \"logout\", \"tea\"]\n",
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.path().join("apr.db").display());
    support::rows::apr()
        .env("APR_DATABASE_URL", &url)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .env("APR_STATE_MAP", &map)
        .args(["parse-queue-log", "--agents", AGENTS, QUEUE_LOG])
        .assert()
        .success();
    let out = support::rows::apr()
        .env("APR_DATABASE_URL", &url)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .env("APR_STATE_MAP", &map)
        .args(["report", "--start-date", "2025-09-07", "--ext", "201"])
        .args(["--format", "json", "--extended"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let logoff: i64 = rows
        .iter()
        .map(|r| r["logoff_secs"].as_i64().unwrap())
        .sum();
    let tea: i64 = rows
        .iter()
        .map(|r| r["tea_coffee_secs"].as_i64().unwrap())
        .sum();
    assert!(logoff > 0 && tea == 0, "logoff {logoff}, tea {tea}");

    let mut serve = serve_cmd(&url, "Asia/Dubai");
    serve.env("APR_STATE_MAP", &map);
    let (status, page) = support::serve_once::get(serve, "/agent?ext=201&date=2025-09-07");
    assert!(status.contains("200"), "{status} {page}");
    assert_eq!(band_secs_in(&page, "logged_off"), logoff, "{page}");
    assert_eq!(summed(&page, "data-secs"), summed(&page, "data-covered"));

    let mut serve = serve_cmd(&url, "Asia/Dubai");
    serve.env("APR_STATE_MAP", &map);
    let (status, body) = support::serve_once::get(
        serve,
        "/api/report?kind=states&startDate=2025-09-07&ext=201&format=json",
    );
    assert!(status.contains("200"), "{status} {body}");
    let stints: Vec<serde_json::Value> =
        serde_json::from_str(&support::serve_once::dechunked(&body)).unwrap();
    let logged_off: i64 = stints
        .iter()
        .filter(|s| s["state"] == "logged_off")
        .map(|s| s["duration_secs"].as_i64().unwrap_or_else(|| panic!("{s}")))
        .sum();
    assert_eq!(logged_off, logoff);
}
