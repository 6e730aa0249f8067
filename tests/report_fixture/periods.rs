//! Period checks (SPEC §10): hourly rows of a few agents over DST days and a month
//! boundary, and the check that every day, week and month row (and every total) equals the
//! sums of its hourly rows in every column, with ratios recomputed from those sums. Runs
//! against any database URL, so SQLite and MariaDB share it.

use std::collections::BTreeMap;
use std::process::Command;

use apr::hours::Zone;
use apr::model::{ActivityRow, Buckets};
use apr::store::Store;
use serde_json::Value;

use super::server::APR;

/// The three scenarios: zone, first and last local hour of data, and the report range
/// (start date+time, end date+time), which cuts the first and last periods.
pub const SCENARIOS: [(&str, &str, &str, [&str; 4]); 3] = [
    // Fall-back day: 25 hours; the range cuts the week and month.
    (
        "Europe/London",
        "2025-10-24 00:00",
        "2025-10-28 12:00",
        ["2025-10-24", "06:00", "2025-10-28", "10:00"],
    ),
    // Spring-forward day: 23 hours.
    (
        "Europe/London",
        "2025-03-29 00:00",
        "2025-03-31 23:00",
        ["2025-03-29", "00:00", "2025-04-01", "00:00"],
    ),
    // +05:30 across the end of August.
    (
        "Asia/Kolkata",
        "2025-08-30 00:00",
        "2025-09-02 12:00",
        ["2025-08-30", "19:00", "2025-09-02", "06:00"],
    ),
];

/// A small deterministic generator (no two hours alike).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x
}

/// Hourly rows for three agents from `first` to `last` (local hours) in `zone`.
pub fn rows(zone: Zone, first: &str, last: &str) -> Vec<ActivityRow> {
    let from = super::at(zone, first);
    let to = super::at(zone, last);
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        for (k, ext) in ["100", "2000", "agent9"].iter().enumerate() {
            let r = mix(t as u64 * 7 + k as u64);
            let part = |shift: u32, max: u64| ((r >> shift) % max) as i64;
            let b = Buckets {
                idle: part(0, 900),
                talk: part(4, 1200),
                hold: part(8, 120),
                wrap_up: part(12, 300),
                meeting: part(16, 200),
                chat: part(18, 100),
                lunch: part(20, 400),
                bio: part(24, 60),
                login: part(26, 30),
                logoff: part(28, 200),
                dnd: part(30, 50),
                unaccounted: part(32, 40),
                ..Default::default()
            };
            let total = part(36, 9);
            let answered = total - part(40, 3).min(total);
            let mut row = super::row(zone, t, ext, &format!("Agent {ext}"), b, (total, answered));
            // The last hours are not over yet.
            row.complete = t < to - 3600;
            out.push(row);
        }
        t = zone.next_hour_start(t);
    }
    out
}

/// Writes the rows of scenario `i` into `store`.
pub fn fill(store: &mut dyn Store, i: usize) {
    let (zone_name, first, last, _) = SCENARIOS[i];
    store.set_meta("timezone", zone_name).unwrap();
    let zone = Zone::parse(zone_name).unwrap();
    let rows = rows(zone, first, last);
    let from = rows.iter().map(|r| r.report_hour).min().unwrap();
    let to = rows.iter().map(|r| r.report_hour).max().unwrap() + 3600;
    store.replace_activity(from, to, &rows, &[]).unwrap();
}

/// `apr report` as JSON rows.
pub fn report_json(url: &str, range: [&str; 4], extra: &[&str]) -> Vec<Value> {
    let out = Command::new(APR)
        .env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", url)
        .args(["report", "--format", "json", "--extended"])
        .args(["--start-date", range[0], "--start-time", range[1]])
        .args(["--end-date", range[2], "--end-time", range[3]])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The label of the period `by` holding an hour that starts at local `start` (RFC 3339).
fn label(by: &str, start: &str) -> String {
    let d = chrono::DateTime::parse_from_rfc3339(start)
        .unwrap()
        .naive_local()
        .date();
    use chrono::Datelike;
    match by {
        "day" => d.format("%Y-%m-%d").to_string(),
        "week" => format!("{}-W{:02}", d.iso_week().year(), d.iso_week().week()),
        _ => d.format("%Y-%m").to_string(),
    }
}

/// Keys that add up.
fn summed(key: &str) -> bool {
    (key.ends_with("_secs") && key != "aht_secs")
        || matches!(
            key,
            "total_calls"
                | "answered_calls"
                | "failed_calls"
                | "idle_count"
                | "not_available_count"
        )
}

/// The percentage rounded half-up to two decimals; `None` (JSON `null`) without a
/// denominator.
fn half_up(part: i64, whole: i64) -> Option<f64> {
    if whole <= 0 {
        return None;
    }
    let (n, d) = (part as i128 * 10_000, whole as i128);
    let h = n / d + i128::from(2 * (n % d) >= d);
    Some(h as f64 / 100.0)
}

fn int(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// Checks a period report (`--by by --totals`) against the hourly report of the same range.
pub fn check_periods(url: &str, scenario: usize, by: &str) {
    let range = SCENARIOS[scenario].3;
    let hourly = report_json(url, range, &[]);
    assert!(hourly.len() > 100, "{}", hourly.len());
    let periods = report_json(url, range, &["--by", by, "--totals"]);

    // Expected sums per (period, ext), per period (TOTAL) and overall.
    let mut want: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
    let mut incomplete: BTreeMap<String, bool> = BTreeMap::new();
    for h in &hourly {
        let p = label(by, h["start"].as_str().unwrap());
        let ext = h["ext"].as_str().unwrap().to_string();
        for (period, key) in [
            (p.clone(), ext.as_str()),
            (p.clone(), "TOTAL"),
            ("Total".to_string(), "TOTAL"),
        ] {
            {
                let sums = want.entry((period, key.to_string())).or_default();
                for (k, v) in h.as_object().unwrap() {
                    if summed(k) {
                        *sums.entry(k.clone()).or_default() += v.as_i64().unwrap();
                    }
                }
            }
        }
        *incomplete.entry(p).or_default() |= h["complete"] == false;
    }
    let mut seen = 0;
    for row in &periods {
        let p = row["interval"].as_str().unwrap().to_string();
        let ext = row["ext"].as_str().unwrap().to_string();
        let sums = want
            .get(&(p.clone(), ext.clone()))
            .unwrap_or_else(|| panic!("unexpected row {row}"));
        for (k, v) in sums {
            assert_eq!(int(row, k), *v, "{by} {p} {ext} {k}");
        }
        // Ratios from the sums, never an average of the hourly ratios.
        let handled = sums["talk_secs"] + sums["hold_secs"] + sums["wrap_up_secs"];
        let answered = sums["answered_calls"];
        let aht = (answered > 0).then(|| handled / answered);
        assert_eq!(row["aht_secs"].as_i64(), aht, "{p} {ext} AHT");
        assert_eq!(
            row["answer_rate_pct"].as_f64(),
            half_up(answered, sums["total_calls"]),
            "{p} {ext} answer rate"
        );
        let available = sums["available_secs"];
        assert_eq!(
            row["occupancy_pct"].as_f64(),
            half_up(handled, available),
            "{p} {ext} occupancy"
        );
        let covered: i64 = [
            "available_secs",
            "productive_secs",
            "non_productive_secs",
            "login_secs",
            "logoff_secs",
            "dnd_secs",
            "unaccounted_secs",
        ]
        .iter()
        .map(|k| sums[*k])
        .sum();
        assert_eq!(
            row["utilization_pct"].as_f64(),
            half_up(
                handled + sums["productive_secs"],
                covered - sums["logoff_secs"] - sums["unaccounted_secs"]
            ),
            "{p} {ext} utilization"
        );
        if p != "Total" {
            let cut = row["start"]
                .as_str()
                .unwrap()
                .contains(&format!("T{}", range[1]))
                && !range[1].starts_with("00:")
                || row["end"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("T{}", range[3]))
                    && !range[3].starts_with("00:");
            if cut || incomplete[&p] {
                assert_eq!(
                    row["complete"], false,
                    "{p} {ext} is cut or holds an open hour"
                );
            }
        }
        seen += 1;
    }
    assert_eq!(
        seen,
        want.len(),
        "one row per agent and period, totals included"
    );
    // A total row follows each period's agents, the grand total comes last.
    assert_eq!(periods.last().unwrap()["interval"], "Total");
    let first_period = periods[0]["interval"].as_str().unwrap();
    assert_eq!(
        periods
            .iter()
            .position(|r| r["ext"] == "TOTAL")
            .map(|i| periods[i]["interval"].as_str().unwrap()),
        Some(first_period)
    );
    // The first period starts where the range starts (it is cut there).
    assert!(
        periods[0]["start"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}T{}", range[0], range[1])),
        "{}",
        periods[0]["start"]
    );
}
