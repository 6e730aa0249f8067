//! The report kinds and options of SPEC §14 end to end, through the real binary, on SQLite
//! and on scratch MariaDB and PostgreSQL databases: the unanswered list and its callbacks on
//! a queue_log written for it, and goldens of each kind on the example day, equal on every
//! backend.

mod support;

use assert_cmd::Command;
use support::backends::{backends, example, example_report};
use support::unended::load_utc;

/// `apr report ARGS` on `url` in `zone`, which must succeed; its stdout.
fn report(url: &str, zone: &str, args: &[&str]) -> String {
    let out = support::rows::apr()
        .env("APR_DATABASE_URL", url)
        .env("APR_TIMEZONE", zone)
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn apr_utc(url: &str) -> Command {
    let mut c = support::rows::apr();
    c.env("APR_DATABASE_URL", url).env("APR_TIMEZONE", "UTC");
    c
}

/// 2025-01-06 10:00 UTC, a Monday.
const T0: i64 = 1_736_157_600;

/// Callers nobody answered and what became of them, from 2025-01-06 10:00 UTC: 5551001
/// abandons and is answered 30 minutes later; 5551002 abandons and is answered 25 hours
/// later; 5551003 times out of sales and is answered in support two hours later; a withheld
/// (`anonymous`) and an empty number abandon, and other withheld and empty callers are
/// answered.
fn callers_log() -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut call = |id: &str, at: i64, queue: &str, number: &str, end: &str| {
        lines.push(format!("{at}|{id}|{queue}|NONE|ENTERQUEUE||{number}|1"));
        match end {
            "answered" => {
                lines.push(format!(
                    "{}|{id}|{queue}|SIP/201|CONNECT|5|{id}.1|2",
                    at + 5
                ));
                lines.push(format!(
                    "{}|{id}|{queue}|SIP/201|COMPLETECALLER|5|100|1",
                    at + 105
                ));
            }
            "abandon" => lines.push(format!("{}|{id}|{queue}|NONE|ABANDON|1|1|30", at + 30)),
            _ => lines.push(format!(
                "{}|{id}|{queue}|NONE|EXITWITHTIMEOUT|1|1|60",
                at + 60
            )),
        }
    };
    call("c1", T0, "sales", "5551001", "abandon");
    call("c2", T0 + 300, "sales", "5551002", "abandon");
    call("c3", T0 + 600, "sales", "5551003", "timeout");
    call("c4", T0 + 900, "sales", "anonymous", "abandon");
    call("c5", T0 + 1000, "sales", "anonymous", "answered");
    call("c6", T0 + 1200, "sales", "", "abandon");
    call("c7", T0 + 1300, "sales", "", "answered");
    call("c8", T0 + 1800, "sales", "5551001", "answered");
    call("c9", T0 + 7200, "support", "5551003", "answered");
    call("c10", T0 + 25 * 3600, "sales", "5551002", "answered");
    lines.sort_by_key(|l| l.split('|').next().unwrap().parse::<i64>().unwrap());
    lines.join("\n") + "\n"
}

const UNANSWERED_HEADER: &str = "Date,Enter Time,Queue,Caller,Outcome,Wait,Position,Called Back";

#[test]
fn the_unanswered_list_and_its_callbacks() {
    let b = backends();
    for url in &b.urls {
        load_utc(url, &callers_log(), &[]);
        let list = |extra: &[&str]| {
            let mut args = vec!["--start-date", "2025-01-06", "--kind", "unanswered"];
            args.extend_from_slice(extra);
            report(url, "UTC", &args)
        };
        let all = [
            "06-Jan,\"06/01/2025, 10:00:00\",sales,5551001,ABANDON,00:00:30,1,\"06/01/2025, 10:30:00\"",
            "06-Jan,\"06/01/2025, 10:05:00\",sales,5551002,ABANDON,00:00:30,1,",
            "06-Jan,\"06/01/2025, 10:10:00\",sales,5551003,TIMEOUT,00:01:00,1,\"06/01/2025, 12:00:00\"",
            "06-Jan,\"06/01/2025, 10:15:00\",sales,anonymous,ABANDON,00:00:30,1,",
            "06-Jan,\"06/01/2025, 10:20:00\",sales,,ABANDON,00:00:30,1,",
        ];
        let csv = |rows: &[&str]| format!("{UNANSWERED_HEADER}\n{}\n", rows.join("\n"));
        assert_eq!(list(&[]), csv(&all), "{url}");
        assert_eq!(
            list(&["--pending"]),
            csv(&[all[1], all[3], all[4]]),
            "{url}"
        );
        // A one-hour window leaves the support callback two hours later out.
        let third = "06-Jan,\"06/01/2025, 10:10:00\",sales,5551003,TIMEOUT,00:01:00,1,";
        assert_eq!(
            list(&["--callback-window", "1h", "--pending"]),
            csv(&[all[1], third, all[3], all[4]]),
            "{url}"
        );
        // Callbacks are found in any queue; the list is of the queues asked for.
        assert_eq!(
            list(&["--queue", "support"]),
            format!("{UNANSWERED_HEADER}\n")
        );
        // A range that ends before the callbacks still finds them, one window on.
        let morning = list(&["--start-time", "10:00", "--end-time", "10:06"]);
        assert_eq!(morning, csv(&all[..2]), "{url}");
        // The page's summary counts the callbacks.
        let html = list(&["--format", "html"]);
        for figure in ["Unanswered", "Called back", "Not called back"] {
            assert!(html.contains(figure), "{figure}: {html}");
        }
        let json = list(&["--format", "json"]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0]["called_back"], "2025-01-06T10:30:00+00:00");
        assert_eq!(rows[1]["called_back"], serde_json::Value::Null);
        assert_eq!(rows[2]["wait_secs"], 60);
    }
}

#[test]
fn new_options_are_validated_with_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apr.db").display());
    load_utc(&url, &callers_log(), &[]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--kind", "unanswered", "--callback-window", "soon"],
            "--callback-window 'soon' is not a callback window; expected a span from 1s to 7d such as 24h, 90m or 3600s",
        ),
        (
            &["--kind", "unanswered", "--callback-window", "8d"],
            "--callback-window '8d' is not a callback window; expected a span from 1s to 7d such as 24h, 90m or 3600s",
        ),
        (
            &["--kind", "calls", "--pending"],
            "--pending applies to the unanswered list only; expected it without --kind calls",
        ),
        (
            &["--callback-window", "1h"],
            "--callback-window applies to the unanswered list only; expected it without --kind agents",
        ),
        (
            &["--kind", "waits", "--buckets", "20,10"],
            "--buckets '20,10' is not a list of wait limits; expected up to 24 increasing whole seconds, comma-separated, such as 10,20,30,45,60,90,120",
        ),
        (
            &["--kind", "queues", "--buckets", "10"],
            "--buckets applies to the wait distribution only; expected it without --kind queues",
        ),
        (
            &["--kind", "waits", "--extended"],
            "--extended applies to the agent report only; expected it without --kind waits",
        ),
        (
            &["--sort", "interval"],
            "--sort 'interval' is not a column of the agent report; expected COLUMN[:asc], a column's JSON key or header such as answered_calls or aht_secs:asc",
        ),
        (
            &["--kind", "queues", "--sort", "offered:up"],
            "--sort 'offered:up' is not a column of the queue report; expected COLUMN[:asc], a column's JSON key or header such as offered or abandon_rate_pct:asc",
        ),
        (
            &["--top", "0"],
            "--top '0' is not a number of rows; expected a whole number from 1 to 100000, e.g. 10",
        ),
        (
            &["--kind", "calls", "--top", "5"],
            "--top applies to the agent and queue reports only; expected it without --kind calls",
        ),
        (
            &["--kind", "unanswered", "--ext", "201"],
            "--ext applies to the agent report and the call list only; expected it without --kind unanswered",
        ),
    ];
    for (args, want) in cases {
        let out = apr_utc(&url)
            .args(["report", "--start-date", "2025-01-06"])
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn goldens_of_the_example_day_equal_on_sqlite_mariadb_and_postgresql() {
    let b = example();
    insta::assert_snapshot!(
        "kinds_unanswered",
        example_report(&b, &["--kind", "unanswered"])
    );
    insta::assert_snapshot!(
        "kinds_unanswered_json",
        example_report(&b, &["--kind", "unanswered", "--format", "json"])
    );
    insta::assert_snapshot!(
        "kinds_agents_by_day_top_answered",
        example_report(
            &b,
            &[
                "--by",
                "day",
                "--sort",
                "answered_calls",
                "--top",
                "3",
                "--totals"
            ]
        )
    );
    insta::assert_snapshot!(
        "kinds_waits_by_day_totals",
        example_report(&b, &["--kind", "waits", "--by", "day", "--totals"])
    );
    insta::assert_snapshot!(
        "kinds_outcomes_totals",
        example_report(&b, &["--kind", "outcomes", "--totals"])
    );
    insta::assert_snapshot!(
        "kinds_outcomes_by_day_json",
        example_report(
            &b,
            &["--kind", "outcomes", "--by", "day", "--format", "json"]
        )
    );
    insta::assert_snapshot!(
        "kinds_calls_hangup_by_and_did",
        example_report(&b, &["--kind", "calls", "--queue", "support"])
    );
}

/// The outcome columns after Offered, by JSON key.
const WAYS: [&str; 10] = [
    "agent_hung_up",
    "caller_hung_up",
    "answered_no_hangup",
    "transferred",
    "abandoned",
    "timeout",
    "exit_with_key",
    "exit_empty",
    "withdrawn",
    "incomplete",
];

#[test]
fn outcomes_sum_to_offered_and_count_the_call_list() {
    let b = example();
    for by in ["hour", "day"] {
        let outcomes = json_rows(&example_report(
            &b,
            &["--kind", "outcomes", "--by", by, "--format", "json"],
        ));
        let queues = json_rows(&example_report(
            &b,
            &["--kind", "queues", "--by", by, "--format", "json"],
        ));
        assert!(!queues.is_empty());
        assert_eq!(outcomes.len(), queues.len(), "{by}");
        for (o, q) in outcomes.iter().zip(&queues) {
            assert_eq!((&o["queue"], &o["start"]), (&q["queue"], &q["start"]));
            assert_eq!(o["offered"], q["offered"], "{by}: {o}");
            let sum: i64 = WAYS.iter().map(|w| o[w].as_i64().unwrap()).sum();
            assert_eq!(Some(sum), o["offered"].as_i64(), "{by}: {o}");
        }
    }
    // Over the day, each column counts the call list's stints of its kind.
    let calls = json_rows(&example_report(
        &b,
        &["--kind", "calls", "--format", "json"],
    ));
    let day = json_rows(&example_report(
        &b,
        &["--kind", "outcomes", "--by", "day", "--format", "json"],
    ));
    for o in &day {
        let count = |outcome: &str, hangup: Option<&str>| {
            calls
                .iter()
                .filter(|c| {
                    c["queue"] == o["queue"]
                        && c["outcome"] == outcome
                        && hangup.is_none_or(|h| c["hangup_by"].as_str().unwrap_or("") == h)
                })
                .count() as i64
        };
        let want = [
            count("ANSWERED", Some("agent")),
            count("ANSWERED", Some("caller")),
            count("ANSWERED", Some("")),
            count("TRANSFER", None),
            count("ABANDON", None),
            count("TIMEOUT", None),
            count("EXITWITHKEY", None),
            count("EXITEMPTY", None),
            count("WITHDRAW", None),
            count("INCOMPLETE", None),
        ];
        let got: Vec<i64> = WAYS.iter().map(|w| o[w].as_i64().unwrap()).collect();
        assert_eq!(got, want, "{o}");
    }
    assert!(
        day.iter().any(|o| o["agent_hung_up"].as_i64() > Some(0))
            && day.iter().any(|o| o["caller_hung_up"].as_i64() > Some(0)),
        "{day:?}"
    );
}

fn json_rows(text: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(text).unwrap()
}

#[test]
fn wait_buckets_count_the_call_list_and_the_20_s_row_is_the_service_level() {
    let b = example();
    let limits = [10, 20, 30, 45, 60, 90, 120];
    let waits = json_rows(&example_report(
        &b,
        &["--kind", "waits", "--by", "day", "--format", "json"],
    ));
    let calls = json_rows(&example_report(
        &b,
        &["--kind", "calls", "--format", "json"],
    ));
    let queues = json_rows(&example_report(
        &b,
        &[
            "--kind",
            "queues",
            "--by",
            "day",
            "--sl-basis",
            "answered",
            "--sl-secs",
            "20",
            "--format",
            "json",
        ],
    ));
    assert!(!queues.is_empty());
    for q in &queues {
        let name = q["queue"].as_str().unwrap();
        let rows: Vec<&serde_json::Value> = waits.iter().filter(|r| r["queue"] == name).collect();
        assert_eq!(rows.len(), limits.len() + 1, "{name}");
        for (i, row) in rows.iter().enumerate() {
            let in_bucket =
                |w: i64| (i == 0 || w > limits[i - 1]) && (i == limits.len() || w <= limits[i]);
            let count = |outcomes: &[&str]| {
                calls
                    .iter()
                    .filter(|c| {
                        c["queue"] == name
                            && outcomes.contains(&c["outcome"].as_str().unwrap_or(""))
                            && c["wait_secs"].as_i64().is_some_and(in_bucket)
                    })
                    .count() as i64
            };
            assert_eq!(
                row["answered"].as_i64(),
                Some(count(&["ANSWERED", "TRANSFER"])),
                "{name} bucket {i}"
            );
            assert_eq!(
                row["abandoned"].as_i64(),
                Some(count(&["ABANDON"])),
                "{name} bucket {i}"
            );
            assert_eq!(row["up_to_secs"].as_i64(), limits.get(i).copied());
        }
        assert_eq!(rows[1]["wait"], "≤ 20 s");
        assert_eq!(
            rows[1]["answered_cum_pct"], q["service_level_pct"],
            "{name}: the ≤ 20 s row is the answered-basis service level"
        );
        assert_eq!(rows[limits.len()]["wait"], "> 120 s");
    }
    // A total per period and a grand total with --totals, and other buckets.
    let csv = example_report(&b, &["--kind", "waits", "--buckets", "15,60", "--totals"]);
    assert!(csv.starts_with(
        "Interval,Date,Queue,Wait,Answered,Answered Cum. (%),Abandoned,Abandoned Cum. (%)\n"
    ));
    assert!(csv.lines().any(|l| l.contains(",TOTAL,> 60 s,")), "{csv}");
    assert!(csv.lines().last().unwrap().starts_with("Total,"), "{csv}");
}

/// The new kinds in every format: the workbook is a zip with the report's sheet, the page
/// and the terminal table carry the headers.
#[test]
fn every_format_writes_the_new_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apr.db").display());
    load_utc(&url, &callers_log(), &[]);
    let kinds: &[(&[&str], &str)] = &[
        (&["--kind", "unanswered"], "Called Back"),
        (&["--kind", "waits", "--by", "day"], "Abandoned Cum. (%)"),
        (&["--kind", "outcomes", "--totals"], "Caller Hung Up"),
        (&["--kind", "calls"], "Hangup By"),
    ];
    for (args, header) in kinds {
        for ext in ["csv", "json", "xlsx", "html", "pdf"] {
            let file = dir.path().join(format!("r.{ext}"));
            apr_utc(&url)
                .args(["report", "--start-date", "2025-01-06"])
                .args(*args)
                .arg("--output")
                .arg(&file)
                .assert()
                .success();
            let bytes = std::fs::read(&file).unwrap();
            match ext {
                "xlsx" => assert!(bytes.starts_with(b"PK"), "{args:?}"),
                "pdf" => {
                    // Headers may wrap in the PDF's cells: their first word is read back.
                    let out = std::process::Command::new("pdftotext")
                        .arg(&file)
                        .arg("-")
                        .output()
                        .unwrap();
                    let text = String::from_utf8(out.stdout).unwrap();
                    let word = header.split(' ').next().unwrap();
                    assert!(text.contains(word), "{args:?} pdf: {text}");
                }
                "json" => assert!(!json_rows(std::str::from_utf8(&bytes).unwrap()).is_empty()),
                _ => {
                    let text = String::from_utf8(bytes).unwrap();
                    let shown = header.replace('&', "&amp;");
                    assert!(text.contains(&shown), "{args:?} {ext}: {text}");
                }
            }
        }
        let out = apr_utc(&url)
            .args(["report", "--start-date", "2025-01-06", "--format", "table"])
            .args(*args)
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.contains(header), "{args:?}: {text}");
    }
}

/// 2025-10-25 00:00 in London (BST, UTC+1), two days before the clocks go back.
const OCT_25_LONDON: i64 = 1_761_346_800;

/// Agents 201 and 202 in sales and support over four London days around the fall-back of
/// 2025-10-26: a call every hour (two in hours divisible by 3, one abandoned), talk
/// varying by hour.
fn fall_back_log() -> String {
    let mut lines = vec![
        format!("{}|NONE|sales|SIP/201|ADDMEMBER|", OCT_25_LONDON - 60),
        format!("{}|NONE|support|SIP/202|ADDMEMBER|", OCT_25_LONDON - 60),
    ];
    for h in 0..97 {
        let at = OCT_25_LONDON + h * 3600 + 600;
        let (queue, agent) = if h % 2 == 0 {
            ("sales", "SIP/201")
        } else {
            ("support", "SIP/202")
        };
        let id = format!("h{h}");
        let wait = 5 + h % 30;
        let talk = 60 + (h % 5) * 10;
        lines.push(format!("{at}|{id}|{queue}|NONE|ENTERQUEUE||5550{h}|1"));
        lines.push(format!(
            "{}|{id}|{queue}|{agent}|CONNECT|{wait}|{id}.1|2",
            at + wait
        ));
        lines.push(format!(
            "{}|{id}|{queue}|{agent}|COMPLETEAGENT|{wait}|{talk}|1",
            at + wait + talk
        ));
        if h % 3 == 0 {
            let at = at + 1200;
            lines.push(format!("{at}|a{h}|{queue}|NONE|ENTERQUEUE||5551{h}|1"));
            lines.push(format!("{}|a{h}|{queue}|NONE|ABANDON|1|1|40", at + 40));
        }
    }
    lines.join("\n") + "\n"
}

/// Columns that are means, maxima or settings rather than sums.
const NOT_SUMS: [&str; 6] = [
    "aht_secs",
    "asa_secs",
    "avg_abandon_wait_secs",
    "avg_talk_secs",
    "max_wait_secs",
    "service_level_secs",
];

/// Sums the integer columns of `hourly` rows per (cyclic period, member), the period from
/// each row's local start; `member` is `ext` or `queue`.
fn summed(
    hourly: &[serde_json::Value],
    member: &str,
    period: impl Fn(&str) -> String,
) -> std::collections::BTreeMap<(String, String), std::collections::BTreeMap<String, i64>> {
    let mut out: std::collections::BTreeMap<_, std::collections::BTreeMap<String, i64>> =
        Default::default();
    for r in hourly {
        let key = (
            period(r["start"].as_str().unwrap()),
            r[member].as_str().unwrap().to_string(),
        );
        let sums = out.entry(key).or_default();
        for (k, v) in r.as_object().unwrap() {
            if let Some(n) = v.as_i64().filter(|_| !NOT_SUMS.contains(&k.as_str())) {
                *sums.entry(k.clone()).or_default() += n;
            }
        }
    }
    out
}

#[test]
fn hour_of_day_and_weekday_rows_sum_their_hourly_rows_across_a_dst_change() {
    let b = backends();
    let weekday = |start: &str| {
        let d = chrono::NaiveDate::parse_from_str(&start[..10], "%Y-%m-%d").unwrap();
        let days = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        days[chrono::Datelike::weekday(&d).num_days_from_monday() as usize].to_string()
    };
    let hour = |start: &str| {
        let h: u32 = start[11..13].parse().unwrap();
        format!("{h:02}:00 - {:02}:00", (h + 1) % 24)
    };
    let mut outputs = Vec::new();
    for url in &b.urls {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("queue_log");
        std::fs::write(&log, fall_back_log()).unwrap();
        support::rows::apr()
            .env("APR_DATABASE_URL", url)
            .env("APR_TIMEZONE", "Europe/London")
            .arg("parse-queue-log")
            .arg(&log)
            .assert()
            .success();
        let range = ["--start-date", "2025-10-25", "--end-date", "2025-10-29"];
        let rows = |kind: &str, by: &str, extra: &[&str]| {
            let mut args = range.to_vec();
            args.extend(["--kind", kind, "--by", by, "--format", "json"]);
            args.extend_from_slice(extra);
            json_rows(&report(url, "Europe/London", &args))
        };
        for (kind, member, extra) in [
            ("agents", "ext", &["--extended"][..]),
            ("queues", "queue", &[][..]),
        ] {
            let hourly = rows(kind, "hour", extra);
            // The fall-back day's repeated 01:00 hour is two hourly rows of one agent.
            let ones = hourly
                .iter()
                .filter(|r| r["start"].as_str().unwrap().starts_with("2025-10-26T01:"))
                .count();
            assert!(ones >= 2, "{kind}: {ones}");
            for (by, period) in [
                ("hour-of-day", &hour as &dyn Fn(&str) -> String),
                ("weekday", &weekday),
            ] {
                let want = summed(&hourly, member, period);
                let got = rows(kind, by, extra);
                assert_eq!(got.len(), want.len(), "{kind} by {by}");
                for r in &got {
                    let key = (
                        r["interval"].as_str().unwrap().to_string(),
                        r[member].as_str().unwrap().to_string(),
                    );
                    let sums = want
                        .get(&key)
                        .unwrap_or_else(|| panic!("{kind} by {by}: {key:?} not in {want:?}"));
                    for (k, v) in sums {
                        assert_eq!(r[k].as_i64(), Some(*v), "{kind} by {by} {key:?} {k}");
                    }
                    // Ratios come from the sums, not from the hours' ratios.
                    let (part, whole, pct) = match kind {
                        "agents" => ("answered_calls", "total_calls", "answer_rate_pct"),
                        _ => ("answered", "offered", "abandon_rate_pct"),
                    };
                    if kind == "agents" && sums[whole] > 0 {
                        let want = (sums[part] * 20_000 + sums[whole]) / (2 * sums[whole]);
                        let got = (r[pct].as_f64().unwrap() * 100.0).round() as i64;
                        assert_eq!(got, want, "{key:?}");
                    }
                }
            }
        }
        // With totals: one TOTAL per period, then the grand total.
        let totals = rows("queues", "weekday", &["--totals"]);
        assert_eq!(
            totals.iter().filter(|r| r["queue"] == "TOTAL").count(),
            4 + 1
        );
        outputs.push(report(
            url,
            "Europe/London",
            &[
                "--start-date",
                "2025-10-25",
                "--end-date",
                "2025-10-29",
                "--kind",
                "queues",
                "--by",
                "hour-of-day",
                "--totals",
            ],
        ));
    }
    assert_eq!(outputs[0], outputs[1]);
    insta::assert_snapshot!("kinds_queues_by_hour_of_day_fall_back", outputs[0]);
}

/// The unranked `rows` of each period (consecutive rows with one `interval`) ordered by
/// `column` (largest first unless `ascending`, nulls last; a stable sort, so ties keep the
/// report's own order) and cut to `top`.
fn ranked(
    rows: &[serde_json::Value],
    column: &str,
    ascending: bool,
    top: usize,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for period in rows.chunk_by(|a, b| a["interval"] == b["interval"]) {
        let mut period = period.to_vec();
        period.sort_by(|a, b| {
            let (x, y) = (a[column].as_f64(), b[column].as_f64());
            match (x, y) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, _) => std::cmp::Ordering::Greater,
                (_, None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) if ascending => x.total_cmp(&y),
                (Some(x), Some(y)) => y.total_cmp(&x),
            }
        });
        period.truncate(top);
        out.extend(period);
    }
    out
}

#[test]
fn sort_and_top_rank_each_period_and_ties_keep_the_extension_order() {
    let b = example();
    for (kind, column, ascending, top) in [
        ("agents", "answered_calls", false, 2),
        ("agents", "aht_secs", true, 3),
        ("queues", "abandon_rate_pct", false, 2),
        ("queues", "offered", true, 1),
    ] {
        for by in ["hour", "day"] {
            let base = ["--kind", kind, "--by", by, "--format", "json"];
            let all = json_rows(&example_report(&b, &base));
            let sort = format!("{column}{}", if ascending { ":asc" } else { "" });
            let top_s = top.to_string();
            let mut args = base.to_vec();
            args.extend(["--sort", &sort, "--top", &top_s]);
            let got = json_rows(&example_report(&b, &args));
            assert_eq!(
                got,
                ranked(&all, column, ascending, top),
                "{kind} by {by} --sort {sort} --top {top}"
            );
        }
    }
    // Ties: every agent answered nothing in the first hours; they stay in extension order.
    let csv = example_report(&b, &["--sort", "Answered Calls", "--top", "100"]);
    assert_eq!(csv, example_report(&b, &["--sort", "answered_calls"]));
    // A period's total sums every member, shown or not.
    let totals = |extra: &[&str]| {
        let mut args = vec!["--kind", "queues", "--by", "day", "--totals"];
        args.extend_from_slice(extra);
        example_report(&b, &args)
            .lines()
            .filter(|l| l.contains(",TOTAL,"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(totals(&["--top", "1", "--sort", "offered"]), totals(&[]));
}

/// `/api/report` takes the new options under their camelCase names and answers the bytes
/// of `apr report`.
#[test]
fn the_api_serves_the_new_kinds_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apr.db").display());
    load_utc(&url, &callers_log(), &[]);
    let cmd = || {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("apr"));
        c.env_clear()
            .env("APR_DATABASE_URL", &url)
            .env("APR_TIMEZONE", "UTC");
        c
    };
    for (query, args) in [
        (
            "kind=unanswered&callbackWindow=1h&pending=1",
            &[
                "--kind",
                "unanswered",
                "--callback-window",
                "1h",
                "--pending",
            ][..],
        ),
        (
            "kind=waits&buckets=30,60&by=weekday&totals=1",
            &[
                "--kind",
                "waits",
                "--buckets",
                "30,60",
                "--by",
                "weekday",
                "--totals",
            ][..],
        ),
        (
            "kind=outcomes&by=day&totals=1",
            &["--kind", "outcomes", "--by", "day", "--totals"][..],
        ),
        (
            "kind=states&ext=201",
            &["--kind", "states", "--ext", "201"][..],
        ),
        (
            "kind=queues&by=hour-of-day&sort=offered:asc&top=1",
            &[
                "--kind",
                "queues",
                "--by",
                "hour-of-day",
                "--sort",
                "offered:asc",
                "--top",
                "1",
            ][..],
        ),
    ] {
        let path = format!("/api/report?startDate=2025-01-06&format=csv&{query}");
        let (status, body) = support::serve_once::get(cmd(), &path);
        assert!(status.contains("200"), "{query}: {status} {body}");
        let mut all = vec!["--start-date", "2025-01-06", "--format", "csv"];
        all.extend_from_slice(args);
        assert_eq!(
            support::serve_once::dechunked(&body),
            report(&url, "UTC", &all),
            "{query}"
        );
    }
    let (status, body) = support::serve_once::get(
        cmd(),
        "/api/report?startDate=2025-01-06&kind=waits&buckets=9,3",
    );
    assert!(status.contains("400"), "{status}");
    assert!(
        body.contains("buckets '9,3' is not a list of wait limits"),
        "{body}"
    );
}

/// Per extension and bucket, the seconds of the state stints of `states` (JSON rows) and
/// of the hourly rows of `hours` (JSON rows of `--extended`): the break buckets are summed
/// as "not_avail", and both Logoff buckets as "logged_off".
type Sums = std::collections::BTreeMap<(String, String), i64>;

fn stint_sums(states: &[serde_json::Value]) -> Sums {
    let mut out = Sums::new();
    for s in states {
        let key = (
            s["agent_ext"].as_str().unwrap().to_string(),
            s["state"].as_str().unwrap().to_string(),
        );
        *out.entry(key).or_default() += s["duration_secs"].as_i64().unwrap();
    }
    out
}

fn hour_sums(hours: &[serde_json::Value]) -> Sums {
    const BY_STATE: &[(&str, &[&str])] = &[
        ("idle", &["idle_secs"]),
        ("on_call", &["talk_secs"]),
        ("hold", &["hold_secs"]),
        ("wrap_up", &["wrap_up_secs"]),
        ("logged_off", &["logoff_secs"]),
        ("unaccounted", &["unaccounted_secs"]),
        (
            "not_avail",
            &[
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
            ],
        ),
    ];
    let mut out = Sums::new();
    for h in hours {
        let ext = h["ext"].as_str().unwrap();
        for (state, fields) in BY_STATE {
            let secs: i64 = fields.iter().map(|f| h[*f].as_i64().unwrap()).sum();
            if secs > 0 {
                *out.entry((ext.to_string(), state.to_string())).or_default() += secs;
            }
        }
    }
    out
}

#[test]
fn state_stints_of_the_example_day_sum_to_the_hourly_rows_on_every_backend() {
    let b = example();
    let states = json_rows(&example_report(
        &b,
        &["--kind", "states", "--format", "json"],
    ));
    let hours = json_rows(&example_report(&b, &["--extended", "--format", "json"]));
    assert!(states.len() > 100, "{}", states.len());
    let sums = stint_sums(&states);
    assert_eq!(sums, hour_sums(&hours));
    assert!(
        sums.keys().any(|(_, s)| s == "not_avail") && sums.keys().any(|(_, s)| s == "on_call"),
        "{sums:?}"
    );
    // Breaks carry their reason (a logoff its own, if it had one); no other state does.
    // Stints follow each other per agent.
    for s in &states {
        let reason = s["reason"].as_str().unwrap();
        match s["state"].as_str().unwrap() {
            "not_avail" => assert!(!reason.is_empty(), "{s}"),
            "logged_off" => {}
            _ => assert!(reason.is_empty(), "{s}"),
        }
    }
    for pair in states.windows(2) {
        if pair[0]["agent_ext"] == pair[1]["agent_ext"] {
            assert!(
                pair[0]["end"].as_str() <= pair[1]["start"].as_str(),
                "{pair:?}"
            );
            assert!(
                pair[0]["end"] != pair[1]["start"]
                    || pair[0]["state"] != pair[1]["state"]
                    || pair[0]["reason"] != pair[1]["reason"],
                "adjacent runs of one state are one stint: {pair:?}"
            );
        }
    }

    // --ext keeps that agent's stints, the same rows as in the whole list.
    let one = json_rows(&example_report(
        &b,
        &["--kind", "states", "--format", "json", "--ext", "202"],
    ));
    let theirs: Vec<_> = states
        .iter()
        .filter(|s| s["agent_ext"] == "202")
        .cloned()
        .collect();
    assert!(!one.is_empty());
    assert_eq!(one, theirs);

    // Every format writes the list.
    let dir = tempfile::tempdir().unwrap();
    let [sqlite, ..] = &b.urls;
    for ext in ["csv", "html", "pdf", "xlsx"] {
        let file = dir.path().join(format!("states.{ext}"));
        support::rows::apr()
            .env("APR_DATABASE_URL", sqlite)
            .env("APR_TIMEZONE", "Asia/Dubai")
            .args(["report", "--kind", "states", "--start-date", "2025-09-07"])
            .arg("--output")
            .arg(&file)
            .assert()
            .success();
        let bytes = std::fs::read(&file).unwrap();
        match ext {
            "xlsx" => assert!(bytes.starts_with(b"PK")),
            "pdf" => assert!(bytes.starts_with(b"%PDF")),
            _ => {
                let text = String::from_utf8(bytes).unwrap();
                assert!(
                    text.contains("Duration") && text.contains("on_call"),
                    "{ext}"
                );
            }
        }
    }
    let table = report(
        sqlite,
        "Asia/Dubai",
        &[
            "--kind",
            "states",
            "--start-date",
            "2025-09-07",
            "--format",
            "table",
        ],
    );
    assert!(
        table.contains("Reason") && table.contains("not_avail"),
        "{table}"
    );
    let refused = apr_utc(sqlite)
        .args(["report", "--kind", "states", "--queue", "sales"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn platform_state_stints_sum_to_the_hourly_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apr.db").display());
    support::rows::apr()
        .env("APR_DATABASE_URL", &url)
        .env("APR_TIMEZONE", "Asia/Kolkata")
        .args(["init-load", "--yes", "--source"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/replay"))
        .assert()
        .success();
    let day = ["--start-date", "2025-08-20", "--format", "json"];
    let states = json_rows(&report(
        &url,
        "Asia/Kolkata",
        &[&["--kind", "states"], &day[..]].concat(),
    ));
    let hours = json_rows(&report(
        &url,
        "Asia/Kolkata",
        &[&["--extended"], &day[..]].concat(),
    ));
    assert!(!states.is_empty() && !hours.is_empty());
    assert_eq!(stint_sums(&states), hour_sums(&hours));
}
