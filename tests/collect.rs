//! `apr collect` and `apr init-load` over HTTP, run as the real binary against the fake
//! platform: quiet on success, the lock, failures that leave the database as it was and
//! runs that catch up with no gap, each fault loading what a fault-free run loads.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use apr::store::Store;
use apr::store::sqlite::SqliteStore;
use assert_cmd::Command;
use support::fake_platform::*;
use support::rows::sqlite_rows;

/// 2025-09-06 18:30 UTC = 2025-09-07 00:00 in Asia/Kolkata.
const FROM: i64 = 1_757_183_400;
const HOUR: i64 = 3600;

struct Env {
    dir: tempfile::TempDir,
    fake: FakePlatform,
}

impl Env {
    fn new() -> Env {
        let fake = FakePlatform::start(generate(8, FROM - HOUR, FROM + 6 * HOUR));
        fake.set_align_offset(Some(19_800));
        Env {
            dir: tempfile::tempdir().unwrap(),
            fake,
        }
    }

    fn db(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn apr(&self, db: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        self.command(db, args).assert()
    }

    fn command(&self, db: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("apr").unwrap();
        cmd.env_clear()
            .current_dir(self.dir.path())
            .env(
                "APR_DATABASE_URL",
                format!("sqlite://{}", self.db(db).display()),
            )
            .env("APR_TIMEZONE", "Asia/Kolkata")
            .env("APR_API_BASE", &self.fake.base)
            .env("APR_API_USERNAME", USERNAME)
            .env("APR_API_PASSWORD", PASSWORD)
            .env("APR_TENANT", TENANT)
            .env("APR_ACCOUNT_ID", ACCOUNT_ID)
            .env("APR_API_PAGE_SIZE", "50")
            .env("APR_API_TIMEOUT_SECS", "0.3")
            .env("APR_API_RETRY_BASE_MS", "1")
            .args(args)
            .timeout(Duration::from_secs(60));
        cmd
    }

    fn collect(&self, db: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
        let mut args = vec!["collect"];
        args.extend_from_slice(extra);
        self.apr(db, &args)
    }
}

fn at(t: i64) -> String {
    t.to_string()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn state(db: &Path, key: &str) -> Option<String> {
    SqliteStore::open(db).unwrap().state(key).unwrap()
}

/// Everything a collect produces, without load/fetch times.
fn dump(db: &Path) -> Vec<Vec<String>> {
    let rows = |sql: &str| sqlite_rows(db, sql);
    vec![
        rows(
            "SELECT ext, ts_epoch, event, enabled, state, user_id, username FROM agent_events \
             ORDER BY ext, ts_epoch, event, enabled, state",
        ),
        rows(
            "SELECT ext, hour_start, name, total_calls, answered_calls, talked_time FROM users_calls \
             ORDER BY ext, hour_start",
        ),
        rows("SELECT * FROM agent_activity ORDER BY agent_ext, report_hour"),
    ]
}

#[test]
fn collect_is_quiet_on_success_and_incremental_from_the_watermark() {
    let env = Env::new();
    let a = env
        .collect(
            "a.db",
            &["--since", &at(FROM), "--until", &at(FROM + 2 * HOUR)],
        )
        .success();
    assert!(a.get_output().stdout.is_empty() && a.get_output().stderr.is_empty());
    let db = env.db("a.db");
    assert_eq!(
        state(&db, "collect.events_until"),
        Some(at(FROM + 2 * HOUR))
    );
    assert!(state(&db, "collect.last_run").is_some());
    let first = dump(&db);
    assert!(!first[0].is_empty() && !first[1].is_empty() && !first[2].is_empty());

    // The next tick starts at the watermark minus the overlap.
    env.fake.clear_seen();
    env.collect("a.db", &["--until", &at(FROM + 3 * HOUR)])
        .success()
        .stderr("")
        .stdout("");
    let starts: Vec<i64> = env
        .fake
        .seen()
        .iter()
        .filter(|s| s.endpoint == Endpoint::Events)
        .filter_map(|s| s.start)
        .collect();
    assert_eq!(starts.first(), Some(&(FROM + 2 * HOUR - 15 * 60)));
    assert_eq!(
        state(&db, "collect.events_until"),
        Some(at(FROM + 3 * HOUR))
    );
    // The token cached in the database served the second run too: no login since.
    assert_eq!(env.fake.logins(), 0);
    assert_eq!(env.fake.issued_tokens().len(), 1);

    // Same result as one run over the whole range.
    env.collect(
        "b.db",
        &["--since", &at(FROM), "--until", &at(FROM + 3 * HOUR)],
    )
    .success();
    assert_eq!(dump(&db), dump(&env.db("b.db")));
}

#[test]
fn verbose_prints_one_summary_line() {
    let env = Env::new();
    let a = env
        .collect(
            "a.db",
            &["-v", "--since", &at(FROM), "--until", &at(FROM + HOUR)],
        )
        .success();
    let err = stderr(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("collect: "), "{err}");
    assert!(err.contains("new)"), "{err}");
}

#[test]
fn a_second_concurrent_run_exits_75() {
    let env = Env::new();
    let db = env.db("a.db");
    let mut holder = SqliteStore::open(&db).unwrap();
    assert!(holder.try_lock("write").unwrap());
    let a = env
        .collect("a.db", &["--since", &at(FROM), "--until", &at(FROM + HOUR)])
        .code(75);
    let err = stderr(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("another apr collect is running"), "{err}");
    // The login is checked before the database is opened (SPEC §9); nothing is fetched
    // without the lock.
    assert_eq!(
        env.fake.count(Endpoint::Events) + env.fake.count(Endpoint::Stats),
        0,
        "nothing fetched without the lock"
    );
    drop(holder);
    env.collect("a.db", &["--since", &at(FROM), "--until", &at(FROM + HOUR)])
        .success();
}

#[test]
fn upstream_down_fails_in_one_line_and_the_next_run_catches_up_with_no_gap() {
    let env = Env::new();
    env.collect("a.db", &["--since", &at(FROM), "--until", &at(FROM + HOUR)])
        .success();
    let db = env.db("a.db");
    let before = dump(&db);
    // Every events request fails: the budget (1 try + 5 retries) is spent on the first window.
    env.fake.set_faults(
        (1..=6)
            .map(|n| Fault::new(Endpoint::Events, n, FaultKind::Status(503)))
            .collect(),
    );
    let a = env
        .collect("a.db", &["--until", &at(FROM + 3 * HOUR)])
        .code(1);
    assert_eq!(
        stderr(&a),
        "error: upstream GET /api/v2/reports/callcenter/agents/activity/events failed after 6 tries: HTTP 503 Service Unavailable\n"
    );
    assert_eq!(state(&db, "collect.events_until"), Some(at(FROM + HOUR)));
    assert_eq!(
        dump(&db),
        before,
        "a failed run leaves the database as it was"
    );

    env.fake.set_faults(Vec::new());
    env.collect("a.db", &["--until", &at(FROM + 3 * HOUR)])
        .success();
    env.collect(
        "ref.db",
        &["--since", &at(FROM), "--until", &at(FROM + 3 * HOUR)],
    )
    .success();
    assert_eq!(dump(&db), dump(&env.db("ref.db")));
}

#[test]
fn each_fault_loads_what_a_fault_free_run_loads() {
    let env = Env::new();
    let range = ["--since", &at(FROM), "--until", &at(FROM + 2 * HOUR)].map(String::from);
    let range: Vec<&str> = range.iter().map(String::as_str).collect();
    env.collect("ref.db", &range).success();
    let reference = dump(&env.db("ref.db"));
    let kinds = [
        FaultKind::Status(500),
        FaultKind::Status(502),
        FaultKind::Status(503),
        FaultKind::Status(504),
        FaultKind::RetryAfter(429, 0),
        FaultKind::RetryAfter(503, 0),
        FaultKind::Stall(Duration::from_secs(5)),
        FaultKind::Drop,
        FaultKind::Truncate,
        FaultKind::ExpireTokens,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        for endpoint in [Endpoint::Events, Endpoint::Stats] {
            env.fake.set_faults(vec![
                Fault::new(endpoint, 1, kind),
                Fault::new(endpoint, 3, kind),
            ]);
            let db = format!("f{i}-{endpoint:?}.db");
            env.collect(&db, &range).success().stderr("");
            assert!(
                dump(&env.db(&db)) == reference,
                "{kind:?} on {endpoint:?} loaded different data"
            );
        }
    }
}

#[test]
fn secrets_never_reach_the_output() {
    let env = Env::new();
    env.fake.set_faults(vec![
        Fault::new(Endpoint::Events, 2, FaultKind::ExpireTokens),
        Fault::new(Endpoint::Stats, 1, FaultKind::Status(500)),
    ]);
    let a = env
        .collect(
            "a.db",
            &["-vv", "--since", &at(FROM), "--until", &at(FROM + HOUR)],
        )
        .success();
    let out = format!(
        "{}{}",
        stderr(&a),
        String::from_utf8_lossy(&a.get_output().stdout)
    );
    assert!(!out.is_empty());
    assert!(!out.contains(PASSWORD));
    let tokens = env.fake.issued_tokens();
    assert_eq!(tokens.len(), 2);
    for t in tokens {
        assert!(!out.contains(&t), "token in output");
    }
}

#[test]
fn a_refused_login_is_one_line_without_the_password() {
    let env = Env::new();
    let mut cmd = Command::cargo_bin("apr").unwrap();
    let a = cmd
        .env_clear()
        .current_dir(env.dir.path())
        .env(
            "APR_DATABASE_URL",
            format!("sqlite://{}", env.db("a.db").display()),
        )
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .env("APR_API_BASE", &env.fake.base)
        .env("APR_API_USERNAME", USERNAME)
        .env("APR_API_PASSWORD", "wrong-secret-value")
        .env("APR_TENANT", TENANT)
        .env("APR_ACCOUNT_ID", ACCOUNT_ID)
        .args([
            "collect",
            "-vv",
            "--since",
            &at(FROM),
            "--until",
            &at(FROM + HOUR),
        ])
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(!err.contains("wrong-secret-value"), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: upstream POST /api/v2/config/login/oauth: HTTP 401 Unauthorized"),
        "{err}"
    );
}

#[test]
fn missing_platform_settings_are_named() {
    let env = Env::new();
    let mut cmd = Command::cargo_bin("apr").unwrap();
    cmd.env_clear()
        .current_dir(env.dir.path())
        .env("APR_DATABASE_URL", format!("sqlite://{}", env.db("a.db").display()))
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .args(["collect"])
        .assert()
        .code(2)
        .stderr(
            "error: APR_API_BASE is not set; set it in .env or the environment (see README, Configuration)\n",
        );
}

#[test]
fn first_run_notice_and_long_gap_refusal() {
    // Data around the real clock, since a first run fetches the last hour before now.
    let now = chrono::Utc::now().timestamp();
    let env = Env::new();
    env.fake.set_events(generate(4, now - 2 * HOUR, now + 60));
    env.fake.set_align_offset(None);
    let a = env.collect("a.db", &[]).success();
    assert!(stderr(&a).contains("apr init-load"), "{}", stderr(&a));
    let w: i64 = state(&env.db("a.db"), "collect.events_until")
        .unwrap()
        .parse()
        .unwrap();
    assert!((w - now).abs() < 120);
    let n = dump(&env.db("a.db"))[0].len();
    assert!(n > 0);

    // A watermark more than 7 days old is not caught up without --since.
    env.collect(
        "old.db",
        &["--since", &at(FROM), "--until", &at(FROM + HOUR)],
    )
    .success();
    let a = env.collect("old.db", &[]).code(2);
    assert!(stderr(&a).contains("--since"), "{}", stderr(&a));
}

#[test]
fn refetched_stats_replace_the_earlier_fetch() {
    let env = Env::new();
    let range = ["--since", &at(FROM), "--until", &at(FROM + HOUR + 1800)].map(String::from);
    let range: Vec<&str> = range.iter().map(String::as_str).collect();
    env.collect("a.db", &range).success();
    let before = dump(&env.db("a.db"))[1].clone();
    env.fake.set_stats_version(2);
    env.collect("a.db", &range).success();
    let after = dump(&env.db("a.db"))[1].clone();
    assert_eq!(before.len(), after.len(), "replaced, not added");
    assert_ne!(before, after, "the newer fetch wins");
}

#[test]
fn init_load_backfills_from_the_platform_without_progress_bars_off_a_terminal() {
    let now = chrono::Utc::now().timestamp();
    let env = Env::new();
    env.fake.set_events(generate(4, now - 4 * HOUR, now + 60));
    env.fake.set_align_offset(None);
    let a = env
        .apr("a.db", &["init-load", "--yes", "--hours", "2"])
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.starts_with("loaded "), "{out}");
    let err = stderr(&a);
    assert!(
        !err.contains("loading ["),
        "no progress bar when stderr is not a terminal: {err}"
    );
    let d = dump(&env.db("a.db"));
    assert!(!d[0].is_empty() && !d[2].is_empty());
    let earliest = d[0]
        .iter()
        .map(|r| {
            r.split('|')
                .nth(1)
                .unwrap()
                .trim_start_matches("Integer(")
                .trim_end_matches(')')
                .parse::<i64>()
                .unwrap()
        })
        .min()
        .unwrap();
    assert!(
        earliest >= now - 2 * HOUR - 60,
        "backfill starts 2 hours back"
    );
}

#[test]
fn collect_reads_a_replay_directory_too() {
    let env = Env::new();
    let replay = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/replay");
    let a = env
        .collect("a.db", &["--source", replay.to_str().unwrap()])
        .success();
    assert!(stderr(&a).contains("apr init-load"), "first-run notice");
    let d = dump(&env.db("a.db"));
    assert!(!d[0].is_empty() && !d[2].is_empty());
    assert!(env.fake.seen().is_empty(), "no HTTP with --source");
    // A second run from the watermark is quiet and adds nothing new.
    env.collect("a.db", &["--source", replay.to_str().unwrap()])
        .success()
        .stderr("");
    assert_eq!(dump(&env.db("a.db"))[0], d[0]);
}

fn platform(fake: &FakePlatform, page_size: u32) -> apr::source::platform::PlatformSource {
    use apr::source::platform::{PlatformConfig, PlatformSource, RetryPolicy};
    let cfg = PlatformConfig {
        base: fake.base.clone(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        tenant: TENANT.into(),
        account_id: ACCOUNT_ID.into(),
        page_size,
        timeout: Duration::from_secs(5),
        // No retries: a refused request fails the run at once.
        retry: RetryPolicy::new(0, Duration::from_millis(1)),
        ca_cert: None,
        names: apr::cli::settings::PLATFORM_NAMES,
    };
    PlatformSource::new(cfg, None).unwrap()
}

/// A cron tick at hh:00:00 local asked `[to, to]` and got `400 bad range` (issue 15.1).
/// Collect with its clock at an exact local hour start, one second before and one after:
/// every request is a non-empty window, the run succeeds and the watermark reaches "now".
#[test]
fn a_tick_at_a_full_hour_never_asks_an_empty_window() {
    let zone = apr::hours::Zone::parse("Asia/Kolkata").unwrap();
    let hour = FROM + 3 * HOUR;
    for now in [hour - 1, hour, hour + 1] {
        let env = Env::new();
        let db = env.db("a.db");
        let mut store = SqliteStore::open(&db).unwrap();
        store
            .set_state("collect.events_until", &at(now - 1200))
            .unwrap();
        let mut source = platform(&env.fake, 50);
        // What `collect` runs under its lock: the plan from the watermark, then the load.
        let watermark = store
            .instant(apr::model::state::COLLECT_EVENTS_UNTIL)
            .unwrap();
        let plan = apr::ops::collect::plan(zone, watermark, now, 900, None, None).unwrap();
        let got = apr::ops::ingest::ingest(
            &mut store,
            &mut source,
            zone,
            plan.from,
            plan.to,
            &apr::model::Silent,
        );
        let seen = env.fake.seen();
        let empty: Vec<_> = seen
            .iter()
            .filter(|s| s.endpoint != Endpoint::Login && s.start >= s.end)
            .collect();
        assert!(empty.is_empty(), "now {now}: empty windows {empty:?}");
        assert!(seen.iter().all(|s| s.status == 200), "now {now}: {seen:?}");
        got.unwrap_or_else(|e| panic!("now {now}: {e}"));
        assert_eq!(state(&db, "collect.events_until"), Some(at(now)));
        // Every event up to and including `now` is stored.
        let want = generate(8, FROM - HOUR, FROM + 6 * HOUR)
            .iter()
            .filter(|e| now - 2100 <= e.ts && e.ts <= now)
            .count();
        let stored = sqlite_rows(
            &db,
            &format!(
                "SELECT COUNT(*) FROM agent_events WHERE ts_epoch >= {}",
                now - 2100
            ),
        );
        assert_eq!(stored, vec![want.to_string()], "now {now}");
    }
}

/// `--until` at a local hour's start, through the binary, with a full page that ends
/// exactly at `to`: the rest of second `to` is asked as `[to, to + 1]`, never `[to, to]`,
/// and every event of second `to` is kept while the one after it is not.
#[test]
fn until_at_an_hour_start_with_a_full_page_ending_at_it() {
    let env = Env::new();
    let to = FROM + 2 * HOUR;
    let event = |ext: &str, ts: i64| FakeEvent {
        ext: ext.into(),
        ts,
        event: "agent_idle",
        enabled: true,
        state: "none",
        username: format!("Agent {ext}"),
        user_id: String::new(),
    };
    // Page size 4: the first page is the events at to-300, to-100 and two of the three at
    // `to`, so its key is `to`.
    let events = vec![
        event("3000", to - 300),
        event("3000", to - 100),
        event("3000", to),
        event("3001", to),
        event("3002", to),
        event("3003", to + 1),
    ];
    env.fake.set_events(events);
    env.command(
        "a.db",
        &["collect", "--since", &at(to - 600), "--until", &at(to)],
    )
    .env("APR_API_PAGE_SIZE", "4")
    .assert()
    .success();
    let seen = env.fake.seen();
    assert!(
        seen.iter()
            .all(|s| s.status == 200 && (s.endpoint == Endpoint::Login || s.start < s.end)),
        "{seen:?}"
    );
    assert_eq!(
        sqlite_rows(
            &env.db("a.db"),
            "SELECT COUNT(*), MAX(ts_epoch) FROM agent_events"
        ),
        vec![format!("5|{to}")]
    );
}
