//! `apr report --kind agent-queues` (SPEC §14) end to end, through the real binary: rings,
//! answers and talk per agent and queue on a queue_log written for it, whatever the chunks
//! it is loaded in; its sums against the queue report and the call list; goldens of the
//! example day equal on SQLite, MariaDB and PostgreSQL; every format and `/api/report`; and
//! the schema step that fills the rings of calls stored before it.

mod support;

use support::backends::{apr_ok, backends, example, example_report};
use support::rows::Db;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");

/// 2025-01-06 10:00 UTC, a Monday.
const T0: i64 = 1_736_157_600;

/// Five calls in sales and support ringing 201, 202 and "John Doe" (203 by the agents
/// file): c1 rings 201 out and 202 answers (ring-all: 201's other ring cancelled); c2 rings
/// 201 and John Doe out and 201 answers; c3 rings 202 and 201 out and is abandoned; at 11:00
/// John Doe answers c4 and transfers it; 202 answers c5, still talking.
fn rings_log() -> String {
    let lines = [
        (0, "c1|sales|NONE|ENTERQUEUE||5551001|1"),
        (15, "c1|sales|SIP/201|RINGNOANSWER|15000"),
        (20, "c1|sales|SIP/202|CONNECT|20|c1.1|2"),
        (20, "c1|sales|SIP/201|RINGCANCELED|5000"),
        (120, "c1|sales|SIP/202|COMPLETEAGENT|20|100|1"),
        (600, "c2|support|NONE|ENTERQUEUE||5551002|1"),
        (615, "c2|support|SIP/201|RINGNOANSWER|15000"),
        (630, "c2|support|John Doe|RINGNOANSWER|15000"),
        (640, "c2|support|SIP/201|CONNECT|40|c2.1|2"),
        (700, "c2|support|SIP/201|COMPLETECALLER|40|60|1"),
        (1200, "c3|sales|NONE|ENTERQUEUE||5551003|1"),
        (1215, "c3|sales|SIP/202|RINGNOANSWER|15000"),
        (1230, "c3|sales|SIP/201|RINGNOANSWER|15000"),
        (1240, "c3|sales|NONE|ABANDON|1|1|40"),
        (3600, "c4|support|NONE|ENTERQUEUE||5551004|1"),
        (3605, "c4|support|John Doe|CONNECT|5|c4.1|2"),
        (
            3700,
            "c4|support|John Doe|TRANSFER|300|from-internal|5|95|1",
        ),
        (3700, "c5|sales|NONE|ENTERQUEUE||5551005|1"),
        (3703, "c5|sales|SIP/202|CONNECT|3|c5.1|2"),
    ];
    lines
        .iter()
        .map(|(dt, rest)| format!("{}|{rest}\n", T0 + dt))
        .collect()
}

const HEADER: &str = "Interval,Date,Agent,Queue,Rings,Answered,Ring No Answer,Talk,Avg Talk";

/// What the report of [`rings_log`] by day with totals must be, worked out by hand.
const BY_DAY_TOTALS: [&str; 6] = [
    "2025-01-06,06-Jan,201,sales,3,0,2,00:00:00,00:00:00",
    "2025-01-06,06-Jan,201,support,2,1,1,00:01:00,00:01:00",
    "2025-01-06,06-Jan,202,sales,3,2,1,00:01:40,00:01:40",
    "2025-01-06,06-Jan,203,support,2,1,1,00:01:35,00:01:35",
    "2025-01-06,06-Jan,TOTAL,,10,4,5,00:04:15,00:01:25",
    "Total,06-Jan,TOTAL,,10,4,5,00:04:15,00:01:25",
];

/// Loads `log` in UTC with the agents file naming John Doe 203, in chunks of `chunk` lines.
fn load(dir: &std::path::Path, url: &str, log: &str, chunk: &str) {
    let file = dir.join("queue_log");
    std::fs::write(&file, log).unwrap();
    let agents = dir.join("agents.toml");
    std::fs::write(&agents, "[agents]\n\"John Doe\" = \"203\"\n").unwrap();
    apr_ok(
        url,
        "UTC",
        &[
            "parse-queue-log",
            "--agents",
            agents.to_str().unwrap(),
            "--chunk-lines",
            chunk,
            file.to_str().unwrap(),
        ],
    );
}

fn report_utc(url: &str, args: &[&str]) -> String {
    let mut all = vec![
        "report",
        "--start-date",
        "2025-01-06",
        "--kind",
        "agent-queues",
    ];
    all.extend_from_slice(args);
    apr_ok(url, "UTC", &all)
}

fn csv(rows: &[&str]) -> String {
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

#[test]
fn rings_answers_and_talk_per_agent_and_queue_in_any_chunks_on_every_backend() {
    let b = backends();
    for db in &b.dbs {
        let url = db.url();
        // SQLite in lines of 1 and 3 too, each on a fresh file; the servers' scratch
        // database once, a line at a time. Each load is then read again.
        let scratch = tempfile::tempdir().unwrap();
        let mut runs = vec![(url.clone(), "1")];
        if let Db::Sqlite(_) = db {
            runs = vec![(url.clone(), "10000")];
            for chunk in ["1", "3"] {
                let file = scratch.path().join(format!("{chunk}.db"));
                runs.push((format!("sqlite://{}", file.display()), chunk));
            }
        }
        for (run_url, chunk) in &runs {
            load(scratch.path(), run_url, &rings_log(), chunk);
            let got = report_utc(run_url, &["--by", "day", "--totals"]);
            assert_eq!(got, csv(&BY_DAY_TOTALS), "{run_url} chunks of {chunk}");
            load(scratch.path(), run_url, &rings_log(), chunk);
            assert_eq!(
                report_utc(run_url, &["--by", "day", "--totals"]),
                got,
                "{run_url}: re-reading the lines changes nothing"
            );
        }
        // By hour: c4 and c5 entered at 11:00.
        assert_eq!(
            report_utc(&url, &[]),
            csv(&[
                "10:00 - 11:00,06-Jan,201,sales,3,0,2,00:00:00,00:00:00",
                "10:00 - 11:00,06-Jan,201,support,2,1,1,00:01:00,00:01:00",
                "10:00 - 11:00,06-Jan,202,sales,2,1,1,00:01:40,00:01:40",
                "10:00 - 11:00,06-Jan,203,support,1,0,1,00:00:00,00:00:00",
                "11:00 - 12:00,06-Jan,202,sales,1,1,0,00:00:00,00:00:00",
                "11:00 - 12:00,06-Jan,203,support,1,1,0,00:01:35,00:01:35",
            ]),
            "{url}"
        );
        // --ext keeps the agents', --queue the queue's; any cyclic period.
        assert_eq!(
            report_utc(&url, &["--by", "day", "--ext", "201", "--queue", "support"]),
            csv(&[BY_DAY_TOTALS[1]]),
            "{url}"
        );
        let weekday = report_utc(&url, &["--by", "weekday", "--totals"]);
        assert!(
            weekday.contains("\nMonday,06-Jan,202,sales,3,2,1,"),
            "{weekday}"
        );
        assert!(weekday.ends_with("\nTotal,06-Jan,TOTAL,,10,4,5,00:04:15,00:01:25\n"));
    }
}

/// The rows of a JSON report.
fn json_rows(text: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(text).unwrap()
}

#[test]
fn the_example_day_equals_its_goldens_the_queue_report_and_the_call_list_everywhere() {
    let b = example();
    insta::assert_snapshot!(
        "agent_queues_by_day_totals",
        example_report(&b, &["--kind", "agent-queues", "--by", "day", "--totals"])
    );
    insta::assert_snapshot!(
        "agent_queues_json",
        example_report(&b, &["--kind", "agent-queues", "--format", "json"])
    );
    // Per queue and hour, the agents' answered calls are the queue report's, and per queue
    // their talk is the call list's.
    let pairs = json_rows(&example_report(
        &b,
        &["--kind", "agent-queues", "--format", "json"],
    ));
    let queues = json_rows(&example_report(
        &b,
        &["--kind", "queues", "--format", "json"],
    ));
    let calls = json_rows(&example_report(
        &b,
        &["--kind", "calls", "--format", "json"],
    ));
    assert!(!queues.is_empty() && !pairs.is_empty());
    for q in &queues {
        let mine = pairs
            .iter()
            .filter(|p| p["queue"] == q["queue"] && p["start"] == q["start"]);
        let answered: i64 = mine.map(|p| p["answered"].as_i64().unwrap()).sum();
        assert_eq!(Some(answered), q["answered"].as_i64(), "{q}");
    }
    let mut rings = 0;
    for name in ["sales", "support", "billing"] {
        let talk: i64 = pairs
            .iter()
            .filter(|p| p["queue"] == name)
            .map(|p| p["talk_secs"].as_i64().unwrap())
            .sum();
        let listed: i64 = calls
            .iter()
            .filter(|c| c["queue"] == name)
            .filter_map(|c| c["talk_secs"].as_i64())
            .sum();
        assert_eq!(talk, listed, "{name}");
        assert!(talk > 0, "{name}");
        rings += pairs
            .iter()
            .filter(|p| p["queue"] == name)
            .map(|p| p["rings"].as_i64().unwrap())
            .sum::<i64>();
    }
    // Every ring is the call list's ring attempts of a named agent (the example names all).
    let attempts: i64 = calls
        .iter()
        .map(|c| c["ring_attempts"].as_i64().unwrap())
        .sum();
    assert_eq!(rings, attempts);
}

/// The stored rings of every stint, in key order.
const STINT_RINGS: &str = "SELECT callid, queuename, enter_time, agent_rings FROM queue_calls ORDER BY callid, queuename, enter_time";

fn exec(db: &Db, sql: &str) {
    match db {
        Db::Sqlite(p) => {
            rusqlite::Connection::open(p)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
        }
        Db::Mysql(u) => {
            use mysql::prelude::Queryable;
            let mut conn = mysql::Conn::new(mysql::Opts::from_url(u).unwrap()).unwrap();
            conn.query_drop(sql).unwrap();
        }
        Db::Postgres(u) => postgres::Client::connect(u, postgres::NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
    }
}

/// The example loaded on schema 8, taken back to schema 7 (the column dropped) and loaded
/// again: the step adds the column and fills every stint's rings from the stored lines as
/// the load had; a second run changes nothing.
#[test]
fn schema_7_stints_get_their_rings_from_the_stored_lines_on_every_backend() {
    let b = example();
    for db in &b.dbs {
        let fresh = db.rows(STINT_RINGS);
        assert!(
            fresh.iter().filter(|r| r.ends_with(']')).count() > 50,
            "{fresh:?}"
        );
        let before = example_report(&b, &["--kind", "agent-queues", "--by", "day"]);
        exec(db, "ALTER TABLE queue_calls DROP COLUMN agent_rings");
        exec(
            db,
            "UPDATE apr_meta SET meta_value = '7' WHERE meta_key = 'schema_version'",
        );
        apr_ok(
            &db.url(),
            "Asia/Dubai",
            &["parse-queue-log", "--agents", AGENTS, EXAMPLE],
        );
        assert_eq!(
            db.rows("SELECT meta_value FROM apr_meta WHERE meta_key = 'schema_version'"),
            [apr::store::SCHEMA_VERSION.to_string()]
        );
        assert_eq!(db.rows(STINT_RINGS), fresh, "{db:?}");
        apr_ok(
            &db.url(),
            "Asia/Dubai",
            &["parse-queue-log", "--agents", AGENTS, EXAMPLE],
        );
        assert_eq!(db.rows(STINT_RINGS), fresh, "{db:?}");
        assert_eq!(
            example_report(&b, &["--kind", "agent-queues", "--by", "day"]),
            before
        );
    }
}

/// Every format and the terminal table carry the kind's headers; `/api/report` answers the
/// bytes of `apr report`; options that do not apply are refused in one line.
#[test]
fn every_format_the_api_and_the_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apr.db").display());
    load(dir.path(), &url, &rings_log(), "10000");
    for ext in ["csv", "json", "xlsx", "html", "pdf"] {
        let file = dir.path().join(format!("r.{ext}"));
        report_utc(&url, &["--by", "day", "--output", file.to_str().unwrap()]);
        let bytes = std::fs::read(&file).unwrap();
        match ext {
            "xlsx" => assert!(bytes.starts_with(b"PK")),
            "pdf" => {
                let out = std::process::Command::new("pdftotext")
                    .arg(&file)
                    .arg("-")
                    .output()
                    .unwrap();
                let text = String::from_utf8(out.stdout).unwrap();
                assert!(text.contains("Rings") && text.contains("support"), "{text}");
            }
            "json" => {
                let rows = json_rows(std::str::from_utf8(&bytes).unwrap());
                assert_eq!(rows.len(), 4);
                assert_eq!(rows[2]["agent"], "202");
                assert_eq!(rows[2]["ring_no_answer"], 1);
                assert_eq!(rows[2]["avg_talk_secs"], 100);
                assert_eq!(rows[0]["avg_talk_secs"], serde_json::Value::Null);
            }
            _ => {
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.contains("Ring No Answer"), "{ext}: {text}");
            }
        }
    }
    let table = report_utc(&url, &["--format", "table"]);
    assert!(table.contains("Ring No Answer"), "{table}");

    let cmd = || {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("apr"));
        c.env_clear()
            .env("APR_DATABASE_URL", &url)
            .env("APR_TIMEZONE", "UTC");
        c
    };
    let (status, body) = support::serve_once::get(
        cmd(),
        "/api/report?startDate=2025-01-06&format=csv&kind=agent-queues&by=day&totals=1",
    );
    assert!(status.contains("200"), "{status} {body}");
    assert_eq!(support::serve_once::dechunked(&body), csv(&BY_DAY_TOTALS));

    for (args, want) in [
        (
            &["--extended"][..],
            "--extended applies to the agent report only",
        ),
        (
            &["--sort", "rings"][..],
            "--sort applies to the agent and queue reports only",
        ),
        (
            &["--start-time", "10:30"][..],
            "the agent-queue report holds whole hours",
        ),
    ] {
        let out = support::rows::apr()
            .env("APR_DATABASE_URL", &url)
            .env("APR_TIMEZONE", "UTC")
            .args([
                "report",
                "--start-date",
                "2025-01-06",
                "--kind",
                "agent-queues",
            ])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}
