//! `apr report` as a person at a terminal meets it: a table by default on a terminal (CSV
//! unchanged in pipes and files), binary formats refused there, `--format` and `--output`
//! that contradict each other, bounds inside an hour of hourly data, a filter that matches
//! nothing; and the completion values and man sections of the command line.

mod report_fixture;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;

fn apr(db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("apr").unwrap();
    cmd.env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("APR_LOG", "warn");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `apr ARGS` with stdout on a pseudo-terminal (util-linux `script`); returns the exit
/// code and what the terminal showed (stdout and stderr together, `\r\n` line ends undone).
fn on_terminal(db: &Path, args: &str) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("apr");
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
        .env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("APR_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script`");
    let code = out.status.code().expect("an exit code");
    (code, text(&out.stdout).replace("\r\n", "\n"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A database loaded from the example queue_log (Asia/Dubai, 2025-09-07).
fn queue_db(dir: &Path) -> PathBuf {
    let db = dir.join("queue.db");
    apr(&db)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["-q", "parse-queue-log", "--agents"])
        .arg(root().join("examples/queue-agents.toml"))
        .arg(root().join("examples/queue_log"))
        .assert()
        .success();
    db
}

#[test]
fn a_terminal_gets_an_aligned_table_and_a_pipe_keeps_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let (code, shown) = on_terminal(&db, "report --start-date 2025-09-07");
    assert_eq!(code, 0, "{shown}");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines[0],
        "Agents, 2025-09-07 00:00 to 2025-09-08 00:00 (Europe/London), by hour"
    );
    assert!(lines[1].starts_with("Interval       Date"), "{shown}");
    assert!(lines[2].starts_with("-------------  ------"), "{shown}");
    // Five agent-hours, as in the CSV; every column starts where its header does.
    assert_eq!(lines.len(), 3 + 5, "{shown}");
    let name_at = lines[1].find("Name").unwrap();
    for row in &lines[3..] {
        assert_eq!(row.as_bytes()[name_at - 1], b' ', "{row}");
        assert_ne!(row.as_bytes()[name_at], b' ', "{row}");
    }
    // Durations and percentages as in the CSV, right-aligned under their headers.
    let rate_end = lines[1].find("Answer Rate (%)").unwrap() + "Answer Rate (%)".len();
    assert_eq!(&lines[3][rate_end - 6..rate_end], "66.67%", "{shown}");
    assert!(lines[3].contains("00:26:40"), "{shown}");

    // Asked for, the table goes anywhere; without --format a pipe gets the CSV.
    let piped = apr(&db)
        .args(["report", "--start-date", "2025-09-07"])
        .assert()
        .success();
    assert!(text(&piped.get_output().stdout).starts_with("Interval,Date,"));
    let table = apr(&db)
        .args(["report", "--start-date", "2025-09-07", "--format", "table"])
        .assert()
        .success();
    assert_eq!(text(&table.get_output().stdout), shown);

    // CSV options keep CSV on a terminal; --format csv too.
    for args in ["--delimiter ';'", "--format csv"] {
        let (code, shown) = on_terminal(&db, &format!("report --start-date 2025-09-07 {args}"));
        assert_eq!(code, 0, "{shown}");
        assert!(shown.starts_with("Interval"), "{args}: {shown}");
        assert!(!shown.contains("  "), "{args}: {shown}");
    }
}

#[test]
fn binary_formats_refuse_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let (code, shown) = on_terminal(&db, "report --start-date 2025-09-07 --format xlsx");
    assert_eq!(code, 2, "{shown}");
    assert_eq!(
        shown,
        "error: --format xlsx is a binary file and stdout is a terminal; expected --output FILE, e.g. --output report.xlsx\n"
    );
    // Redirected, the bytes are wanted.
    let out = apr(&db)
        .args(["report", "--start-date", "2025-09-07", "--format", "xlsx"])
        .assert()
        .success();
    assert!(out.get_output().stdout.starts_with(b"PK"));
}

#[test]
fn format_and_output_extension_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    for (args, message) in [
        (
            vec!["--format", "json", "--output", &path("y.xlsx")],
            format!(
                "error: --format json contradicts --output '{}', a .xlsx file; expected --format xlsx or an --output ending in .json\n",
                path("y.xlsx")
            ),
        ),
        (
            vec!["--output", &path("x.docx")],
            format!(
                "error: --output '{}': .docx is not a report format; expected a file ending in .csv, .json, .xlsx, .html or .pdf, or --format\n",
                path("x.docx")
            ),
        ),
    ] {
        apr(&db)
            .args(["report", "--start-date", "2025-09-07"])
            .args(&args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(message);
    }
    assert!(!Path::new(&path("y.xlsx")).exists() && !Path::new(&path("x.pdf")).exists());
    // A file with no extension, or a --format over an extension that names none, is as asked.
    apr(&db)
        .args([
            "report",
            "--start-date",
            "2025-09-07",
            "--output",
            &path("plain"),
        ])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(path("plain"))
            .unwrap()
            .starts_with("Interval,")
    );
    apr(&db)
        .args(["report", "--start-date", "2025-09-07", "--format", "table"])
        .args(["--output", &path("day.txt")])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(path("day.txt"))
            .unwrap()
            .starts_with("Agents, ")
    );
}

#[test]
fn hourly_reports_refuse_bounds_inside_an_hour_and_the_call_list_keeps_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    for (args, message) in [
        (
            &["--start-time", "18:30"][..],
            "error: --start-time '18:30' is not on the hour and the agent report holds whole hours; expected a whole hour such as 18:00 or 19:00\n",
        ),
        (
            &["--start-time", "18:00", "--end-time", "20:00:30"][..],
            "error: --end-time '20:00:30' is not on the hour and the agent report holds whole hours; expected a whole hour such as 20:00 or 21:00\n",
        ),
        (
            &["--kind", "queues", "--start-time", "23:45"][..],
            "error: --start-time '23:45' is not on the hour and the queue report holds whole hours; expected a whole hour such as 23:00 or 00:00\n",
        ),
    ] {
        apr(&db)
            .args(["report", "--start-date", "2025-09-07"])
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(message);
    }
    let queues = queue_db(dir.path());
    let calls = apr(&queues)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["report", "--start-date", "2025-09-07", "--kind", "calls"])
        .args([
            "--start-time",
            "09:30",
            "--end-time",
            "09:45",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&calls.get_output().stdout).unwrap();
    let times: Vec<&str> = rows
        .iter()
        .map(|r| &r["enter_time"].as_str().unwrap()[11..19])
        .collect();
    assert_eq!(
        times,
        [
            "09:31:13", "09:32:52", "09:35:32", "09:37:19", "09:40:00", "09:43:32"
        ]
    );
}

#[test]
fn a_filter_that_matches_nothing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let empty = apr(&db)
        .args(["report", "--start-date", "2025-09-07", "--ext", "9999"])
        .assert()
        .success();
    assert_eq!(
        text(&empty.get_output().stderr),
        "note: --ext 9999 matched nothing in 2025-09-07 00:00:00 to 2025-09-08 00:00:00 (Europe/London), which has data; the report has the header only\n"
    );
    // A range without data says so, filter or not.
    let empty = apr(&db)
        .args(["report", "--start-date", "2024-01-01", "--ext", "9999"])
        .assert()
        .success();
    assert!(
        text(&empty.get_output().stderr).starts_with("note: no data for 2024-01-01 00:00:00"),
        "{:?}",
        empty.get_output()
    );

    let queues = queue_db(dir.path());
    let report = |args: &[&str]| {
        let a = apr(&queues)
            .env("APR_TIMEZONE", "Asia/Dubai")
            .args(["report", "--start-date", "2025-09-07"])
            .args(args)
            .assert()
            .success();
        text(&a.get_output().stderr)
    };
    let note = report(&["--kind", "queues", "--queue", "nosuch"]);
    assert!(
        note.starts_with("note: --queue nosuch matched nothing in 2025-09-07"),
        "{note}"
    );
    let note = report(&["--kind", "calls", "--queue", "sales", "--ext", "9999"]);
    assert!(
        note.starts_with("note: --ext 9999 matched nothing"),
        "{note}"
    );
    // Each matches alone; only together do they match nothing.
    let note = report(&[
        "--kind",
        "calls",
        "--queue",
        "billing",
        "--outcome",
        "EXITEMPTY",
    ]);
    assert!(
        note.starts_with("note: --queue billing and --outcome EXITEMPTY together matched nothing"),
        "{note}"
    );
}

#[test]
fn completions_offer_the_values_of_kind_by_and_format() {
    let a = Command::cargo_bin("apr")
        .unwrap()
        .args(["completions", "bash"])
        .assert()
        .success();
    let script = text(&a.get_output().stdout);
    for values in [
        "csv json xlsx html pdf table",
        "agents queues calls",
        "hour day week month",
    ] {
        assert!(script.contains(values), "{values}");
    }
    let a = Command::cargo_bin("apr")
        .unwrap()
        .args(["completions", "fish"])
        .assert()
        .success();
    let script = text(&a.get_output().stdout);
    assert!(
        script.contains("-l format") && script.contains("table"),
        "{script}"
    );
}

#[test]
fn man_pages_have_exit_status_and_environment_sections() {
    for args in [&["man"][..], &["man", "report"][..]] {
        let a = Command::cargo_bin("apr")
            .unwrap()
            .args(args)
            .assert()
            .success();
        let page = text(&a.get_output().stdout);
        let status = page.find(".SH \"EXIT STATUS\"").expect("EXIT STATUS");
        let env = page.find(".SH ENVIRONMENT").expect("ENVIRONMENT");
        let examples = page.find(".SH EXAMPLES").expect("EXAMPLES");
        assert!(status < env && env < examples, "{page}");
        assert!(page[status..env].contains(".TP\n75\n"), "{page}");
        assert!(page[env..examples].contains("APR_DATABASE_URL"), "{page}");
        assert!(!page[env..examples].contains("Examples"), "{page}");
        assert!(!page.contains(".SH EXTRA"), "{page}");
    }
    let a = Command::cargo_bin("apr")
        .unwrap()
        .args(["man", "report"])
        .assert()
        .success();
    let page = text(&a.get_output().stdout);
    assert!(page.contains("APR_SMTP_URL"), "{page}");
    assert!(
        page.contains("apr report \\-\\-start\\-date 2025\\-09\\-07"),
        "{page}"
    );
}
