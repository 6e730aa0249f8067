//! Reports as a spreadsheet user opens them (issue 28), with the real binary on the example
//! data: `--dates iso` (and `dates=iso` over HTTP) writes dates and instants every Excel
//! locale reads; `--delimiter ';'` writes decimal commas; a ratio or mean without a
//! denominator is empty in XLSX and HTML and `null` in JSON while the CSV keeps §7.4's
//! zero; the queue report names its service level's threshold and basis.

mod report_fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDateTime;
use report_fixture::server::{APR, Server};

const QUEUE_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const QUEUE_AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");
const AGENT_DAY: [&str; 2] = ["--start-date", "2025-08-20"];
const QUEUE_DAY: [&str; 2] = ["--start-date", "2025-09-07"];

fn apr(db: &Path) -> Command {
    let mut cmd = Command::new(APR);
    cmd.env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("APR_LOG", "warn");
    cmd
}

fn report(db: &Path, args: &[&str]) -> Output {
    apr(db).arg("report").args(args).output().unwrap()
}

fn ok(db: &Path, args: &[&str]) -> Vec<u8> {
    let out = report(db, args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    out.stdout
}

fn text(db: &Path, args: &[&str]) -> String {
    String::from_utf8(ok(db, args)).unwrap()
}

/// The queue_log example day (queues and calls), in Asia/Dubai.
fn queue_db(dir: &Path) -> PathBuf {
    let db = dir.join("queues.db");
    let out = apr(&db)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["parse-queue-log", "--agents", QUEUE_AGENTS, QUEUE_LOG])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    db
}

fn records(csv: &str, delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(csv.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no {name} in {header:?}"))
}

/// The first sheet's cells, row by row.
fn sheet(xlsx: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// Checks that `iso` is `seed` with its `dates` and `instants` columns rewritten, each
/// naming the same day or instant.
fn same_but_iso(seed: &str, iso: &str, dates: &[&str], instants: &[&str]) {
    let (header, seed_rows) = records(seed, b',');
    let (iso_header, iso_rows) = records(iso, b',');
    assert_eq!(header, iso_header, "the header does not change");
    assert_eq!(seed_rows.len(), iso_rows.len());
    assert!(!seed_rows.is_empty());
    let dates: Vec<usize> = dates.iter().map(|d| column(&header, d)).collect();
    let instants: Vec<usize> = instants.iter().map(|d| column(&header, d)).collect();
    for (s, i) in seed_rows.iter().zip(&iso_rows) {
        for (c, (s, i)) in s.iter().zip(i).enumerate() {
            if dates.contains(&c) {
                let day = chrono::NaiveDate::parse_from_str(i, "%Y-%m-%d")
                    .unwrap_or_else(|e| panic!("{i:?}: {e}"));
                assert_eq!(day.format("%d-%b").to_string(), *s);
            } else if instants.contains(&c) {
                let at = NaiveDateTime::parse_from_str(i, "%Y-%m-%d %H:%M:%S")
                    .unwrap_or_else(|e| panic!("{i:?}: {e}"));
                assert_eq!(at.format("%d/%m/%Y, %H:%M:%S").to_string(), *s);
            } else {
                assert_eq!(s, i, "{}", header[c]);
            }
        }
    }
}

#[test]
fn dates_iso_in_the_csv_the_table_and_the_api_and_seed_stays_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::example_db(dir.path());
    let seed = text(&db, &AGENT_DAY);
    assert_eq!(
        seed,
        text(&db, &[&AGENT_DAY[..], &["--dates", "seed"]].concat()),
        "--dates seed is the default, byte for byte"
    );
    let iso = text(&db, &[&AGENT_DAY[..], &["--dates", "iso"]].concat());
    same_but_iso(&seed, &iso, &["Date"], &["Start Time", "End Time"]);
    assert!(iso.contains(",2025-08-20,2025-08-20 "), "{iso}");

    let table = text(
        &db,
        &[&AGENT_DAY[..], &["--dates", "iso", "--format", "table"]].concat(),
    );
    assert!(table.contains("2025-08-20 "), "{table}");
    assert!(!table.contains("20-Aug"), "{table}");

    // XLSX holds real dates either way; `iso` only shows its instants year first.
    let seed_xlsx = ok(&db, &[&AGENT_DAY[..], &["--format", "xlsx"]].concat());
    let iso_xlsx = ok(
        &db,
        &[&AGENT_DAY[..], &["--dates", "iso", "--format", "xlsx"]].concat(),
    );
    assert_ne!(seed_xlsx, iso_xlsx);
    let cells = sheet(iso_xlsx);
    assert_eq!(sheet(seed_xlsx), cells);
    assert!(
        matches!(cells[1][2], Data::DateTime(_)),
        "{:?}",
        cells[1][2]
    );

    let bad = report(&db, &[&AGENT_DAY[..], &["--dates", "us"]].concat());
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim_end(),
        "error: --dates 'us' is not a date style; expected seed or iso"
    );

    let server = Server::start(&db, &["serve-once"], &[]);
    let answer = server.raw(
        b"GET /api/report?startDate=2025-08-20&dates=iso HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_string()
    };
    assert_eq!(body, iso, "dates=iso over HTTP is the CLI's --dates iso");
}

/// The body of a chunked HTTP answer.
fn unchunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
}

#[test]
fn the_call_list_and_queue_report_take_iso_dates_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = queue_db(dir.path());
    for kind in ["calls", "queues"] {
        let args = [&QUEUE_DAY[..], &["--kind", kind]].concat();
        let seed = text(&db, &args);
        let iso = text(&db, &[&args[..], &["--dates", "iso"]].concat());
        // The queue report's periods are `Interval` and `Date`; the call list has its
        // instant too.
        let instants: &[&str] = if kind == "calls" {
            &["Enter Time"]
        } else {
            &[]
        };
        same_but_iso(&seed, &iso, &["Date"], instants);
    }
}

#[test]
fn a_semicolon_csv_writes_decimal_commas_and_the_default_keeps_points() {
    let dir = tempfile::tempdir().unwrap();
    let db = queue_db(dir.path());
    let args = [&QUEUE_DAY[..], &["--kind", "queues"]].concat();
    let plain = text(&db, &args);
    let semi = text(&db, &[&args[..], &["--delimiter", ";"]].concat());
    let (header, plain_rows) = records(&plain, b',');
    let (semi_header, semi_rows) = records(&semi, b';');
    assert_eq!(header, semi_header);
    let sl = column(&header, "Service Level (%)");
    assert!(plain_rows.iter().any(|r| r[sl] == "41.67%"), "{plain}");
    assert!(semi_rows.iter().any(|r| r[sl] == "41,67%"), "{semi}");
    for (p, s) in plain_rows.iter().zip(&semi_rows) {
        for (p, s) in p.iter().zip(s) {
            if p.ends_with('%') {
                assert_eq!(p.replace('.', ","), *s);
            } else {
                assert_eq!(p, s);
            }
        }
    }
    // Another separator keeps the point.
    let piped = text(&db, &[&args[..], &["--delimiter", "|"]].concat());
    assert!(piped.contains("|41.67%|"), "{piped}");
}

#[test]
fn ratios_without_a_denominator_are_empty_or_null_outside_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::example_db(dir.path());
    let csv = text(&db, &[&AGENT_DAY[..], &["--extended"]].concat());
    let (header, rows) = records(&csv, b',');
    let calls = column(&header, "Total Calls");
    let rate = column(&header, "Answer Rate (%)");
    let aht = column(&header, "AHT");
    let idle: Vec<usize> = (0..rows.len()).filter(|&i| rows[i][calls] == "0").collect();
    assert!(!idle.is_empty(), "the example day has hours without calls");
    for &i in &idle {
        assert_eq!(
            (rows[i][rate].as_str(), rows[i][aht].as_str()),
            ("0.00%", "00:00:00"),
            "the CSV keeps §7.4's zero"
        );
    }

    let json = text(
        &db,
        &[&AGENT_DAY[..], &["--extended", "--format", "json"]].concat(),
    );
    let v: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(v.len(), rows.len());
    for (i, r) in v.iter().enumerate() {
        let none = idle.contains(&i);
        assert_eq!(r["answer_rate_pct"].is_null(), none, "{r}");
        assert_eq!(r["aht_secs"].is_null(), r["answered_calls"] == 0, "{r}");
    }

    let cells = sheet(ok(
        &db,
        &[&AGENT_DAY[..], &["--extended", "--format", "xlsx"]].concat(),
    ));
    for &i in &idle {
        assert_eq!(cells[i + 1][rate], Data::Empty, "row {i}");
        assert_eq!(cells[i + 1][aht], Data::Empty, "row {i}");
    }
    let busy = (0..rows.len()).find(|i| !idle.contains(i)).unwrap();
    assert!(matches!(cells[busy + 1][rate], Data::Float(_)));
}

#[test]
fn the_queue_report_names_its_service_level_threshold_and_basis() {
    let dir = tempfile::tempdir().unwrap();
    let db = queue_db(dir.path());
    let args = [&QUEUE_DAY[..], &["--kind", "queues"]].concat();
    let custom = [&args[..], &["--sl-secs", "30", "--sl-basis", "answered"]].concat();

    let csv = text(&db, &custom);
    assert!(
        csv.contains(",Service Level (%),"),
        "the CSV keeps the spec's header"
    );

    let header =
        |xlsx: Vec<u8>| -> Vec<String> { sheet(xlsx)[0].iter().map(|c| c.to_string()).collect() };
    let default = header(ok(&db, &[&args[..], &["--format", "xlsx"]].concat()));
    assert!(
        default.contains(&"Service Level (%, 20 s, offered-minus-short)".to_string()),
        "{default:?}"
    );
    let named = header(ok(&db, &[&custom[..], &["--format", "xlsx"]].concat()));
    assert!(
        named.contains(&"Service Level (%, 30 s, answered)".to_string()),
        "{named:?}"
    );

    let html = text(&db, &[&custom[..], &["--format", "html"]].concat());
    assert!(
        html.contains("<th scope=\"col\">Service Level (%, 30 s, answered)</th>"),
        "the table's header"
    );
    assert!(
        html.contains("<dt>Service level target</dt><dd>30 s, answered</dd>"),
        "the summary"
    );

    let json = text(&db, &[&custom[..], &["--format", "json"]].concat());
    let v: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(!v.is_empty());
    for r in &v {
        assert_eq!(r["service_level_secs"], 30, "{r}");
        assert_eq!(r["service_level_basis"], "answered", "{r}");
    }
}
