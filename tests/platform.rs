//! The platform client against the fake platform: paging, stats per aligned local hour,
//! tokens, and every injected fault, each shown to load exactly the data of a fault-free run.

mod support;

use std::path::Path;
use std::time::Duration;

use apr::hours::Zone;
use apr::ops::ingest::ingest;
use apr::source::Source;
use apr::source::platform::{PlatformConfig, PlatformSource, RetryPolicy};
use apr::store::Store;
use apr::store::sqlite::SqliteStore;
use support::fake_platform::*;
use support::rows::sqlite_rows;

/// 2025-09-06 18:30 UTC = 2025-09-07 00:00 in Asia/Kolkata.
const FROM: i64 = 1_757_183_400;
const TO: i64 = FROM + 3 * 3600 - 1;
const KOLKATA: i64 = 19_800;

fn config(fake: &FakePlatform) -> PlatformConfig {
    PlatformConfig {
        base: fake.base.clone(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        tenant: TENANT.into(),
        account_id: ACCOUNT_ID.into(),
        page_size: 100,
        timeout: Duration::from_millis(300),
        retry: RetryPolicy::new(5, Duration::from_micros(100)),
        ca_cert: None,
        names: apr::cli::settings::PLATFORM_NAMES,
    }
}

fn fake() -> FakePlatform {
    let f = FakePlatform::start(generate(12, FROM - 600, TO + 600));
    f.set_align_offset(Some(KOLKATA));
    f
}

fn zone() -> Zone {
    Zone::parse("Asia/Kolkata").unwrap()
}

/// Runs one ingest of `[FROM, TO]` into a fresh database and returns its contents.
fn load(fake: &FakePlatform, dir: &Path, name: &str) -> apr::Result<(Vec<String>, Vec<String>)> {
    let path = dir.join(name);
    let mut store = SqliteStore::open(&path)?;
    let mut src = PlatformSource::new(config(fake), None)?;
    ingest(&mut store, &mut src, zone(), FROM, TO, &apr::model::Silent)?;
    Ok(dump(&path))
}

/// The loaded events and stats, without load-time columns.
fn dump(path: &Path) -> (Vec<String>, Vec<String>) {
    let rows = |sql: &str| sqlite_rows(path, sql);
    (
        rows(
            "SELECT ext, ts_epoch, event, enabled, state, user_id, username FROM agent_events \
             ORDER BY ext, ts_epoch, event, enabled, state",
        ),
        rows(
            "SELECT ext, hour_start, name, tags, total_calls, answered_calls, talked_time, on_call_time, \
             idle_time, not_available_detailed_report FROM users_calls ORDER BY ext, hour_start",
        ),
    )
}

#[test]
fn fault_free_run_loads_every_event_once_and_stats_per_local_hour() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let (events, stats) = load(&f, dir.path(), "a.db").unwrap();
    let expected = generate(12, FROM - 600, TO + 600)
        .into_iter()
        .filter(|e| FROM <= e.ts && e.ts <= TO)
        .count();
    assert_eq!(events.len(), expected);
    // Pages overlap at their last second: more events were served than stored.
    let pages = f.count(Endpoint::Events);
    assert!(pages > 3 * 2, "several pages per hour, got {pages}");
    // Stats: one request per aligned local hour (the fake refuses unaligned windows).
    let stat_reqs: Vec<_> = f
        .seen()
        .into_iter()
        .filter(|s| s.endpoint == Endpoint::Stats)
        .collect();
    assert_eq!(stat_reqs.len(), 3);
    assert!(stat_reqs.iter().all(|s| s.status == 200));
    assert_eq!(
        stat_reqs
            .iter()
            .map(|s| s.start.unwrap())
            .collect::<Vec<_>>(),
        vec![FROM, FROM + 3600, FROM + 7200]
    );
    assert!(!stats.is_empty());
    assert_eq!(f.logins(), 1, "one login for the whole run");
    // A second fetch loads nothing new.
    let mut store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
    let mut src = PlatformSource::new(config(&f), None).unwrap();
    let again = ingest(&mut store, &mut src, zone(), FROM, TO, &apr::model::Silent).unwrap();
    assert_eq!(again.events_new, 0);
}

#[test]
fn every_fault_loads_the_same_data_as_a_fault_free_run() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let baseline = load(&f, dir.path(), "baseline.db").unwrap();
    let kinds = [
        FaultKind::Status(500),
        FaultKind::Status(502),
        FaultKind::Status(503),
        FaultKind::Status(504),
        FaultKind::RetryAfter(429, 1),
        FaultKind::RetryAfter(503, 1),
        FaultKind::Stall(Duration::from_secs(5)),
        FaultKind::Drop,
        FaultKind::Truncate,
        FaultKind::ExpireTokens,
    ];
    for kind in kinds {
        for endpoint in [Endpoint::Events, Endpoint::Stats, Endpoint::Login] {
            if endpoint == Endpoint::Login && kind == FaultKind::ExpireTokens {
                continue;
            }
            // Hit the first request and one in the middle of the run, twice in a row there.
            let nth = if endpoint == Endpoint::Login { 1 } else { 4 };
            let mut plan = vec![
                Fault::new(endpoint, 1, kind),
                Fault::new(endpoint, nth + 1, kind),
            ];
            // Two expiries in a row would be a 401 right after a fresh login, which is an
            // error by design (see a_second_401_after_relogin_is_an_error_not_a_loop).
            if kind != FaultKind::ExpireTokens {
                plan.push(Fault::new(endpoint, nth + 2, kind));
            }
            f.set_faults(plan);
            f.clear_seen();
            let name = format!("{kind:?}-{endpoint:?}.db").replace([' ', '(', ')', ','], "_");
            let got = load(&f, dir.path(), &name)
                .unwrap_or_else(|e| panic!("{kind:?} on {endpoint:?}: {e}"));
            assert!(
                got == baseline,
                "{kind:?} on {endpoint:?} loaded different data"
            );
            let seen = f.seen();
            assert!(
                seen.iter()
                    .any(|s| s.endpoint == endpoint && s.fault == Some(kind)),
                "{kind:?} on {endpoint:?} was injected"
            );
            if kind == FaultKind::ExpireTokens {
                assert!(f.logins() >= 2, "a 401 after expiry logs in again");
            }
        }
    }
}

#[test]
fn a_spent_retry_budget_is_one_line_naming_endpoint_and_status() {
    let f = fake();
    let faults = (1..=6)
        .map(|n| Fault::new(Endpoint::Events, n, FaultKind::Status(503)))
        .collect();
    f.set_faults(faults);
    let dir = tempfile::tempdir().unwrap();
    let e = load(&f, dir.path(), "a.db").unwrap_err();
    let msg = e.to_string();
    assert_eq!(
        msg,
        "upstream GET /api/v2/reports/callcenter/agents/activity/events failed after 6 tries: HTTP 503 Service Unavailable"
    );
    assert_eq!(e.exit_code(), 1);
    assert_eq!(f.count(Endpoint::Events), 6, "first try plus five retries");
    // Nothing was committed: the first window failed.
    let (events, stats) = dump(&dir.path().join("a.db"));
    assert!(events.is_empty() && stats.is_empty());
}

#[test]
fn other_client_errors_are_not_retried_and_quote_the_body() {
    let f = fake();
    f.set_faults(vec![Fault::new(Endpoint::Stats, 1, FaultKind::Status(404))]);
    let dir = tempfile::tempdir().unwrap();
    let msg = load(&f, dir.path(), "a.db").unwrap_err().to_string();
    assert_eq!(
        msg,
        r#"upstream GET /api/v2/reports/callcenter/agents/stats: HTTP 404 Not Found: {"error":"injected failure"}"#
    );
    assert_eq!(f.count(Endpoint::Stats), 1);
}

#[test]
fn a_timeout_that_persists_names_the_endpoint() {
    let f = fake();
    let faults = (1..=3)
        .map(|n| {
            Fault::new(
                Endpoint::Events,
                n,
                FaultKind::Stall(Duration::from_secs(5)),
            )
        })
        .collect();
    f.set_faults(faults);
    let mut cfg = config(&f);
    cfg.retry.max_retries = 2;
    let mut src = PlatformSource::new(cfg, None).unwrap();
    let msg = src
        .events(FROM, TO, &mut |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("upstream GET /api/v2/reports/callcenter/agents/activity/events failed after 3 tries: timed out"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[test]
fn wrong_credentials_fail_once_without_showing_the_password() {
    let f = fake();
    let mut cfg = config(&f);
    cfg.password = "not-the-password".into();
    let mut src = PlatformSource::new(cfg, None).unwrap();
    let e = src.stats(FROM, FROM + 3600).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("upstream POST /api/v2/config/login/oauth: HTTP 401 Unauthorized"),
        "{msg}"
    );
    assert!(msg.contains("APR_API_PASSWORD"), "{msg}");
    assert!(!msg.contains("not-the-password"));
    assert_eq!(
        f.count(Endpoint::Login),
        1,
        "a refused login is not retried"
    );
}

#[test]
fn the_cached_token_is_reused_and_refreshed_early() {
    let f = fake();
    let mut src = PlatformSource::new(config(&f), None).unwrap();
    src.stats(FROM, FROM + 3600).unwrap();
    let token = src
        .take_new_token()
        .expect("a login yields a token to store");
    assert!(src.take_new_token().is_none(), "handed out once");
    assert_eq!(f.issued_tokens(), vec![token.access_token.clone()]);
    // The next run adopts the cached token: no login.
    let mut next = PlatformSource::new(config(&f), Some(token.clone())).unwrap();
    next.stats(FROM, FROM + 3600).unwrap();
    assert_eq!(f.logins(), 1);
    assert!(next.take_new_token().is_none());
    // A token with under two minutes left is replaced before use.
    let mut short = token.clone();
    short.expires_at = chrono::Utc::now().timestamp() + 100;
    let mut next = PlatformSource::new(config(&f), Some(short)).unwrap();
    next.stats(FROM, FROM + 3600).unwrap();
    assert_eq!(f.logins(), 2);
    assert!(next.take_new_token().is_some());
    // Every data request carried a bearer token and the account header (else 401/403).
    assert!(f.seen().iter().all(|s| s.status == 200));
}

#[test]
fn a_second_401_after_relogin_is_an_error_not_a_loop() {
    let f = fake();
    f.set_faults(vec![
        Fault::new(Endpoint::Stats, 1, FaultKind::ExpireTokens),
        Fault::new(Endpoint::Stats, 2, FaultKind::ExpireTokens),
    ]);
    let mut src = PlatformSource::new(config(&f), None).unwrap();
    let msg = src.stats(FROM, FROM + 3600).unwrap_err().to_string();
    assert!(
        msg.starts_with("upstream GET /api/v2/reports/callcenter/agents/stats: HTTP 401"),
        "{msg}"
    );
    assert_eq!(f.logins(), 2);
    for t in f.issued_tokens() {
        assert!(!msg.contains(&t));
    }
}

#[test]
fn stalled_pagination_fails_clearly() {
    // 150 events in one second with pages of 100: the key cannot advance.
    let events = (0..150)
        .map(|i| FakeEvent {
            ext: format!("{}", 4000 + i),
            ts: FROM + 10,
            event: "agent_idle",
            enabled: true,
            state: "none",
            username: "X".into(),
            user_id: String::new(),
        })
        .collect();
    let f = FakePlatform::start(events);
    let mut src = PlatformSource::new(config(&f), None).unwrap();
    let msg = src
        .events(FROM, TO, &mut |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(&format!("upstream pagination stalled at {}", FROM + 10)),
        "{msg}"
    );
    assert_eq!(f.count(Endpoint::Events), 2);
}

#[test]
fn a_key_on_the_last_short_page_still_ends_paging() {
    let f = fake();
    f.set_always_key(true);
    let mut src = PlatformSource::new(config(&f), None).unwrap();
    let mut n = 0;
    src.events(FROM, FROM + 3599, &mut |p| {
        n += p.len();
        Ok(())
    })
    .unwrap();
    assert!(n > 0);
    assert!(f.count(Endpoint::Events) < 50);
}

#[test]
fn ranges_over_31_days_are_split() {
    let day = 86_400;
    let events: Vec<FakeEvent> = (0..80)
        .map(|d| FakeEvent {
            ext: "3000".into(),
            ts: FROM + d * day + 5,
            event: "agent_idle",
            enabled: d % 2 == 0,
            state: "none",
            username: "A".into(),
            user_id: String::new(),
        })
        .collect();
    let f = FakePlatform::start(events);
    let mut src = PlatformSource::new(config(&f), None).unwrap();
    let mut got = std::collections::BTreeSet::new();
    src.events(FROM, FROM + 75 * day, &mut |p| {
        got.extend(p.into_iter().map(|e| e.ts));
        Ok(())
    })
    .unwrap();
    assert_eq!(got.len(), 75, "days 0..=74 (day 75 is 5 s past the end)");
    let spans: Vec<_> = f
        .seen()
        .into_iter()
        .filter(|s| s.endpoint == Endpoint::Events)
        .collect();
    assert_eq!(spans.len(), 3);
    assert!(
        spans
            .iter()
            .all(|s| s.status == 200 && s.end.unwrap() - s.start.unwrap() <= 31 * day)
    );
    assert_eq!(spans.last().unwrap().end, Some(FROM + 75 * day));
}

#[test]
fn an_unreadable_ca_file_is_a_config_error_naming_it() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ca.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let mut cfg = config(&f);
    cfg.ca_cert = Some(bad.clone());
    let e = PlatformSource::new(cfg.clone(), None).err().unwrap();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().starts_with("APR_API_CA_CERT "), "{e}");
    cfg.ca_cert = Some(dir.path().join("missing.pem"));
    let e = PlatformSource::new(cfg.clone(), None).err().unwrap();
    assert!(e.to_string().contains("cannot be read"), "{e}");
    std::fs::write(&bad, TEST_CA).unwrap();
    cfg.ca_cert = Some(bad);
    PlatformSource::new(cfg, None).unwrap();
}

/// A self-signed CA (CN=apr-test-ca) used only to check that a PEM CA file is accepted.
const TEST_CA: &str = include_str!("support/test-ca.pem");

#[test]
fn the_store_keeps_the_token_between_runs() {
    let f = fake();
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let mut src = PlatformSource::new(config(&f), store.token().unwrap()).unwrap();
    src.stats(FROM, FROM + 3600).unwrap();
    store.set_token(&src.take_new_token().unwrap()).unwrap();
    let mut src = PlatformSource::new(config(&f), store.token().unwrap()).unwrap();
    src.stats(FROM, FROM + 3600).unwrap();
    assert_eq!(f.logins(), 1);
}

#[test]
fn an_unreachable_platform_fails_after_the_retry_budget() {
    let refused = support::refused::RefusedPort::new();
    let f = fake();
    let mut cfg = config(&f);
    cfg.base = format!("http://127.0.0.1:{}", refused.port());
    cfg.retry.max_retries = 2;
    let mut src = PlatformSource::new(cfg, None).unwrap();
    let e = src.stats(FROM, FROM + 3600).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "upstream POST /api/v2/config/login/oauth failed after 3 tries: cannot connect"
        ),
        "{msg}"
    );
    assert_eq!(e.exit_code(), 1);
}

/// An event type apr does not know, with odd casing, inner whitespace and non-ASCII text.
const ODD_TYPE: &str = "Agent_PARKED  on\thold · réunion";

/// Loads the fake platform's timeline plus one event of [`ODD_TYPE`] into `url` and returns
/// the stored `event` text of that event, as hex so that no byte can hide.
fn stored_odd_type(url: &str, rows: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    let mut events = generate(2, FROM - 600, TO + 600);
    events.push(FakeEvent {
        ext: "3999".into(),
        ts: FROM + 60,
        event: ODD_TYPE,
        enabled: true,
        state: "none",
        username: "Odd Agent".into(),
        user_id: "u-3999".into(),
    });
    let fake = FakePlatform::start(events);
    fake.set_align_offset(Some(KOLKATA));
    let db = apr::store::DatabaseUrl::parse(url, "APR_DATABASE_URL").unwrap();
    let mut store = apr::store::open(&db).unwrap();
    let mut src = PlatformSource::new(config(&fake), None).unwrap();
    ingest(
        store.as_mut(),
        &mut src,
        zone(),
        FROM,
        TO,
        &apr::model::Silent,
    )
    .unwrap();
    drop(store);
    rows("SELECT hex(event) FROM agent_events WHERE ext = '3999'")
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn an_unknown_event_type_is_stored_with_its_exact_text_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.db");
    let url = format!("sqlite://{}", path.display());
    let got = stored_odd_type(&url, |sql| sqlite_rows(&path, sql));
    assert_eq!(got, [hex(ODD_TYPE)]);
}

#[test]
fn an_unknown_event_type_is_stored_with_its_exact_text_on_mariadb() {
    let scratch = support::mysql::ScratchMysql::new();
    let url = scratch.url().to_string();
    let got = stored_odd_type(&url, |sql| support::rows::mysql_rows(&url, sql));
    assert_eq!(got, [hex(ODD_TYPE)]);
}

#[test]
fn an_unknown_event_type_is_stored_with_its_exact_text_on_postgres() {
    let scratch = support::postgres::ScratchPostgres::new();
    let url = scratch.url().to_string();
    // PostgreSQL spells hex() its own way.
    let got = stored_odd_type(&url, |sql| {
        let sql = sql.replace(
            "hex(event)",
            "upper(encode(convert_to(event, 'UTF8'), 'hex'))",
        );
        support::rows::postgres_rows(&url, &sql)
    });
    assert_eq!(got, [hex(ODD_TYPE)]);
}
