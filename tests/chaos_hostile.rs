//! The hostile-input column of the reliability matrix (issue 13): property runs of the two
//! entry points that take arbitrary outside bytes — a queue_log line and the report's query
//! parameters — with the oracles the cargo-fuzz targets in `fuzz/` use
//! (tests/support/hostile.rs), and the rotation patterns tests/queue_log.rs does not cover
//! (a file shrunk in place, a file replaced by one of the same size, in place or renamed).

mod support;

use std::io::Write;
use std::path::Path;

use apr::hours::Zone;
use proptest::prelude::*;
use support::hostile::{check_queue_log_line, check_report_query, report_router};
use support::rows::{Db, canonical_dump};

fn zone() -> Zone {
    Zone::parse("Asia/Dubai").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_as_a_queue_log_line(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_queue_log_line(&bytes, zone());
    }

    #[test]
    fn queue_log_shaped_lines(
        time in prop_oneof![
            (0i64..4_000_000_000).prop_map(|t| t.to_string()),
            (0i64..4_000_000_000, 0u32..1_000_000).prop_map(|(t, f)| format!("{t}.{f}")),
            "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?",
            "[ -~]{0,12}",
        ],
        fields in proptest::collection::vec("[^|\n]{0,10}", 0..14),
        crlf in any::<bool>(),
    ) {
        let mut line = time;
        for f in &fields {
            line.push('|');
            line.push_str(f);
        }
        if crlf {
            line.push_str("\r\n");
        }
        check_queue_log_line(line.as_bytes(), zone());
    }
}

/// The router and a runtime to drive it, built once per test.
fn router() -> (tempfile::TempDir, tokio::runtime::Runtime, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let app = report_router(dir.path().join("missing.db"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (dir, rt, app)
}

#[test]
fn any_bytes_as_report_query_parameters() {
    let (_d, rt, app) = router();
    proptest!(ProptestConfig::with_cases(256), |(q in proptest::collection::vec(any::<u8>(), 0..200))| {
        check_report_query(&rt, &app, &q);
    });
}

#[test]
fn report_shaped_query_parameters() {
    let (_d, rt, app) = router();
    let name = prop_oneof![
        Just("startDate"),
        Just("endDate"),
        Just("startTime"),
        Just("endTime"),
        Just("format"),
        Just("kind"),
        Just("ext"),
        Just("extended"),
        Just("token"),
    ];
    let value = prop_oneof![
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        "[0-2][0-9]:[0-5][0-9](:[0-6][0-9])?",
        Just("csv".to_string()),
        Just("json".to_string()),
        Just("queues".to_string()),
        "[0-9,]{0,40}",
        "%[0-9A-F]{2}[ -~]{0,8}",
        "[ -~]{0,16}",
    ];
    let valid = std::cell::Cell::new(0);
    proptest!(ProptestConfig::with_cases(256), |(dated in any::<bool>(), pairs in proptest::collection::vec((name, value), 0..6))| {
        let mut q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if dated {
            q.insert(0, "startDate=2025-09-07".into());
        }
        if check_report_query(&rt, &app, q.join("&").as_bytes()) == 503 {
            valid.set(valid.get() + 1);
        }
    });
    // The generator reaches past validation too (valid requests meet the missing database).
    assert!(valid.get() > 0, "no generated query was valid");
}

#[test]
fn a_well_formed_query_passes_validation_and_a_bad_one_is_400() {
    let (_d, rt, app) = router();
    assert_eq!(
        check_report_query(&rt, &app, b"startDate=2025-09-07&format=json&extended=true"),
        503
    );
    assert_eq!(check_report_query(&rt, &app, b"startDate=2025-02-30"), 400);
    assert_eq!(check_report_query(&rt, &app, b"../../etc/passwd"), 400);
    // Found by the report_query fuzz target: a parameter named like a debug dump is the
    // client's own text quoted back, not a leak (sent percent-encoded, as `Error%20{`).
    assert_eq!(check_report_query(&rt, &app, b"Error {  = "), 400);
    assert_eq!(check_report_query(&rt, &app, b"%45rror+{=1"), 400);
}

#[test]
fn queries_are_decoded_as_the_server_decodes_them() {
    assert_eq!(
        support::hostile::form_decoded("a+b%20c%7B%zz%4"),
        "a b c{%zz%4"
    );
}

// ---------------------------------------------------------------------------------------
// Rotation patterns beyond tests/queue_log.rs (rename, twice, gz, dateext, copytruncate).

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue_log");
const AGENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/queue-agents.toml");

fn load(db: &Path, file: &Path) {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("apr"))
        .env_clear()
        .env("APR_TIMEZONE", "Asia/Dubai")
        .env("APR_DATABASE_URL", db)
        .args(["parse-queue-log", "--agents", AGENTS])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example's lines, each with its `\n`.
fn example_lines() -> Vec<Vec<u8>> {
    std::fs::read(EXAMPLE)
        .unwrap()
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// What the derived data and the raw lines hold, without what names files (cursors,
/// rejects' file names and line numbers).
fn content(db: &Path) -> Vec<(String, Vec<String>)> {
    canonical_dump(&Db::Sqlite(db.to_path_buf()))
        .into_iter()
        .filter(|(t, _)| t != "etl_state" && t != "queue_log_rejects")
        .collect()
}

/// `a` then `b` through a plain rename rotation (a pattern tests/queue_log.rs proves):
/// what a loader that misses nothing holds.
fn reference(dir: &Path, a: &[u8], b: &[u8]) -> Vec<(String, Vec<String>)> {
    let db = dir.join("ref.db");
    let log = dir.join("ref_queue_log");
    std::fs::write(&log, a).unwrap();
    load(&db, &log);
    std::fs::rename(&log, dir.join("ref_queue_log.1")).unwrap();
    std::fs::write(&log, b).unwrap();
    load(&db, &log);
    content(&db)
}

/// A valid queue_log line at `time` of exactly `len` bytes (a `CONFIGRELOAD` whose data
/// pads it), so that two files can have the same size.
fn padding_line(time: &str, len: usize) -> Vec<u8> {
    let head = format!("{time}|NONE|NONE|NONE|CONFIGRELOAD|");
    assert!(len > head.len() + 1, "no room for a padding line");
    let mut line = head.into_bytes();
    line.resize(len - 1, b'x');
    line.push(b'\n');
    line
}

fn time_of(line: &[u8]) -> String {
    String::from_utf8_lossy(line.split(|b| *b == b'|').next().unwrap()).into_owned()
}

#[test]
fn a_file_shrunk_in_place_is_read_again_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let lines = example_lines();
    let cut = lines.len() * 7 / 10;
    let (a, b) = (lines[..cut].concat(), lines[cut..].concat());
    assert!(b.len() < a.len());
    let want = reference(dir.path(), &a, &b);
    let db = dir.path().join("apr.db");
    let log = dir.path().join("queue_log");
    std::fs::write(&log, &a).unwrap();
    load(&db, &log);
    // Truncated in place (same inode) and written again, shorter than the cursor.
    let mut f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(0).unwrap();
    f.write_all(&b).unwrap();
    drop(f);
    load(&db, &log);
    assert_eq!(content(&db), want);
}

/// `a` and `b` of the same size: the example split in two, the shorter half padded.
fn same_size_halves() -> (Vec<u8>, Vec<u8>) {
    let lines = example_lines();
    let cut = lines.len() / 2;
    let mut a = lines[..cut].concat();
    let mut b = lines[cut..].concat();
    let (short, long, last) = if a.len() < b.len() {
        (&mut a, b.len(), lines[cut - 1].clone())
    } else {
        (&mut b, a.len(), lines[lines.len() - 1].clone())
    };
    let pad = padding_line(&time_of(&last), long - short.len());
    short.extend(pad);
    assert_eq!(a.len(), b.len());
    (a, b)
}

#[test]
fn a_file_overwritten_in_place_with_the_same_size_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = same_size_halves();
    let want = reference(dir.path(), &a, &b);
    let db = dir.path().join("apr.db");
    let log = dir.path().join("queue_log");
    std::fs::write(&log, &a).unwrap();
    load(&db, &log);
    // Same inode, same size, other lines: only the first line's hash tells.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .write_all(&b)
        .unwrap();
    load(&db, &log);
    assert_eq!(content(&db), want);
}

#[test]
fn a_file_replaced_by_another_of_the_same_size_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = same_size_halves();
    let want = reference(dir.path(), &a, &b);
    let db = dir.path().join("apr.db");
    let log = dir.path().join("queue_log");
    std::fs::write(&log, &a).unwrap();
    load(&db, &log);
    // A new inode moved over the old name (the old file, fully read, is gone).
    let new = dir.path().join("queue_log.new");
    std::fs::write(&new, &b).unwrap();
    std::fs::rename(&new, &log).unwrap();
    load(&db, &log);
    assert_eq!(content(&db), want);
}
