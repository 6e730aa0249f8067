//! The queue_log cases of a call whose end line never comes (issue 26), and of a queue_log
//! agent quiet for more than a day, run the same way on every backend: each check takes the
//! database's URL (`sqlite://PATH` or a scratch MariaDB's).

/// The lines (2014-07-03 10:00 UTC): agent 448 answers a call whose end line never
/// comes; a day later only a configuration reload is logged. `between` goes after the
/// `CONNECT`.
pub fn call_without_end(between: &[&str]) -> String {
    let mut lines = vec![
        "1404381600|c1|q|NONE|ENTERQUEUE||555|1",
        "1404381610|c1|q|SIP/448|CONNECT|10|c1.1|2",
    ];
    lines.extend_from_slice(between);
    lines.push("1404475200|NONE|NONE|NONE|CONFIGRELOAD|");
    lines.join("\n") + "\n"
}

/// The pause of agent 448 at 10:10:00, ten minutes into the call without an end.
pub const PAUSE_AT_10_10: &str = "1404382200|NONE|q|SIP/448|PAUSE|Tea";

/// Agent 448 logs in at 2014-07-03 10:00 UTC, is quiet for 30 hours, then takes a call.
pub const QUIET_30_HOURS: &str = "1404381600|NONE|q|SIP/448|ADDMEMBER|\n\
    1404489600|c1|q|NONE|ENTERQUEUE||555|1\n\
    1404489610|c1|q|SIP/448|CONNECT|10|c1.1|2\n\
    1404489670|c1|q|SIP/448|COMPLETECALLER|10|60|1\n";

fn apr(db_url: &str) -> assert_cmd::Command {
    let mut cmd = super::rows::apr();
    cmd.env("APR_DATABASE_URL", db_url)
        .env("APR_TIMEZONE", "UTC");
    cmd
}

/// `apr parse-queue-log EXTRA queue_log` in UTC, the file holding `text`.
pub fn load_utc(db_url: &str, text: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("queue_log");
    std::fs::write(&log, text).unwrap();
    apr(db_url)
        .arg("parse-queue-log")
        .args(extra)
        .arg(&log)
        .assert()
        .success();
}

/// Agent 448's `column` (seconds) per UTC hour (the hour's start), hours without any left
/// out, from `apr report --extended --format json` over 2014-07-03 and 2014-07-04.
pub fn by_hour(db_url: &str, column: &str) -> Vec<(String, i64)> {
    let out = apr(db_url)
        .args([
            "report",
            "--start-date",
            "2014-07-03",
            "--end-date",
            "2014-07-05",
        ])
        .args(["--extended", "--format", "json"])
        .assert()
        .success();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    rows.iter()
        .filter(|r| r["ext"] == "448" && r[column].as_i64() != Some(0))
        .map(|r| {
            (
                r["start"].as_str().unwrap().to_string(),
                r[column].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Connected at 10:00:10; the stint is closed --max-call-hours (4) after it entered, at
/// 14:00: 3,590 s, then three whole hours, and no talk after.
pub fn check_talk_until_the_stint_is_closed(db_url: &str) {
    load_utc(db_url, &call_without_end(&[]), &[]);
    assert_eq!(
        by_hour(db_url, "talk_secs"),
        [
            ("2014-07-03T10:00:00+00:00".to_string(), 3590),
            ("2014-07-03T11:00:00+00:00".to_string(), 3600),
            ("2014-07-03T12:00:00+00:00".to_string(), 3600),
            ("2014-07-03T13:00:00+00:00".to_string(), 3600),
        ]
    );
}

/// The talk of the call without an end, paused at 10:10:00: 590 s, the agent off the call
/// from the pause.
pub fn talk_paused_at_10_10(db_url: &str) -> Vec<(String, i64)> {
    by_hour(db_url, "talk_secs")
}

/// What [`talk_paused_at_10_10`] must give.
pub fn paused_at_10_10() -> Vec<(String, i64)> {
    vec![("2014-07-03T10:00:00+00:00".to_string(), 590)]
}

/// The quiet hours more than 24 h after the login (2014-07-04 10:00 to 16:00 UTC) where
/// the agent shows idle time.
fn idle_after_a_day(db_url: &str) -> Vec<(String, i64)> {
    by_hour(db_url, "idle_secs")
        .into_iter()
        .filter(|(start, _)| start.as_str() >= "2014-07-04T10" && start.as_str() < "2014-07-04T16")
        .collect()
}

/// `--max-carry 48h` keeps the quiet agent logged in (idle) in `long`, also after a later
/// `aggregate --rebuild` (the carry is recorded); the default day does not, in `default`.
pub fn check_max_carry(long: &str, default: &str) {
    let quiet: Vec<(String, i64)> = (10..16)
        .map(|h| (format!("2014-07-04T{h}:00:00+00:00"), 3600))
        .collect();
    load_utc(long, QUIET_30_HOURS, &["--max-carry", "48h"]);
    assert_eq!(idle_after_a_day(long), quiet);
    apr(long)
        .args(["aggregate", "--rebuild"])
        .assert()
        .success();
    assert_eq!(idle_after_a_day(long), quiet);

    load_utc(default, QUIET_30_HOURS, &[]);
    assert_eq!(idle_after_a_day(default), []);
}
