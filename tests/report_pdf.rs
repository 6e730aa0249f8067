//! `apr report --format pdf` (SPEC §14) read back with poppler's tools (`pdftotext`,
//! `pdfinfo`, `pdftoppm`; scripts/test.sh installs poppler-utils): the example day's PDF
//! holds every row of the HTML report's table exactly once, the header on every table page,
//! the summary and the footers, and is the committed `examples/report.pdf` byte for byte;
//! one reference day (2,000 agents × 24 hours = 48,000 rows) has every row once, the
//! header on every page and the page count the page size gives; `--paper letter`, an empty
//! range, `--output x.pdf`, and `/api/report?format=pdf` the same bytes as the command.

mod report_fixture;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use apr::hours::Zone;
use apr::model::{ActivityRow, Buckets, HourFigures};
use apr::report::pdf::{Paper, rows_per_page};
use apr::store::Store;
use apr::store::sqlite::SqliteStore;
use report_fixture::server::{APR, Server, client};

fn apr(db: &Path) -> Command {
    let mut cmd = Command::new(APR);
    cmd.env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("APR_LOG", "warn");
    cmd
}

/// `apr report ARGS --output FILE`; the bytes written.
fn report_to(db: &Path, args: &[&str], file: &Path) -> Vec<u8> {
    let out = apr(db)
        .arg("report")
        .args(args)
        .arg("--output")
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    std::fs::read(file).unwrap()
}

/// A poppler tool's standard output; it must succeed and complain about nothing.
fn poppler(tool: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(file)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils; scripts/test.sh installs it): {e}"));
    assert!(out.status.success(), "{tool}: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "{tool} complains: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// The text of each page, laid out as printed (one table row a line).
fn pages(file: &Path) -> Vec<String> {
    let text = poppler("pdftotext", &["-layout"], file);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    // pdftotext ends every page with a form feed.
    assert_eq!(pages.pop().as_deref(), Some(""));
    pages
}

/// `pdfinfo`'s value for `key`.
fn info(file: &Path, key: &str) -> String {
    poppler("pdfinfo", &[], file)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("pdfinfo has no {key}"))
        .trim()
        .to_string()
}

/// Whether the pages are turned (A4 or Letter on its side), from `pdfinfo`'s page size.
fn landscape(file: &Path) -> bool {
    let size = info(file, "Page size");
    let mut n = size
        .split_whitespace()
        .filter_map(|t| t.parse::<f32>().ok());
    let (w, h) = (n.next().unwrap(), n.next().unwrap());
    w > h
}

/// A table page's row lines: those with a start time (`20/08/2025, 14:00:00`), detail and
/// total rows alike, their words joined by one space.
fn row_lines(page: &str) -> Vec<String> {
    let dated = |w: &str| {
        let b = w.as_bytes();
        b.len() == 11 && b[2] == b'/' && b[5] == b'/' && b[10] == b','
    };
    page.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|words| words.iter().any(|w| dated(w)))
        .map(|words| words.join(" "))
        .collect()
}

/// Whether `page` carries the table's header: a line starting with `Interval` and every
/// word of every column's header in the lines above the first row.
fn has_header(page: &str, headers: &[String]) -> bool {
    let head: Vec<&str> = page
        .lines()
        .take_while(|l| !l.contains("/20"))
        .flat_map(str::split_whitespace)
        .collect();
    page.lines().any(|l| l.trim_start().starts_with("Interval"))
        && headers
            .iter()
            .flat_map(|h| h.split_whitespace())
            .all(|w| head.contains(&w))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The HTML report's table: its headers, and each row as its cells' words.
fn html_table(html: &str) -> (Vec<String>, Vec<String>) {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let p = dom.parser();
    let cells = |sel: &str, node: &tl::Node| -> Vec<String> {
        node.as_tag()
            .unwrap()
            .query_selector(p, sel)
            .unwrap()
            .map(|h| unescape(&h.get(p).unwrap().inner_text(p)))
            .collect()
    };
    let table = dom.query_selector("table").unwrap().next().unwrap();
    let table = table.get(p).unwrap();
    let headers = cells("th", table);
    let rows = table
        .as_tag()
        .unwrap()
        .query_selector(p, "tr")
        .unwrap()
        .map(|tr| cells("td", tr.get(p).unwrap()))
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (headers, rows)
}

#[test]
fn the_example_day_holds_every_row_once_with_the_header_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::example_db(dir.path());
    let args = ["--start-date", "2025-08-20", "--totals"];
    let pdf_file = dir.path().join("report.pdf");
    let pdf = report_to(&db, &args, &pdf_file);
    let html = report_to(&db, &args, &dir.path().join("report.html"));
    let (headers, mut want) = html_table(&String::from_utf8(html).unwrap());
    assert!(want.len() > 100 && headers.len() > 20);

    let pages = pages(&pdf_file);
    let n = pages.len();
    assert_eq!(info(&pdf_file, "Pages"), n.to_string());
    let per_page = rows_per_page(Paper::A4, landscape(&pdf_file));
    assert_eq!(n, 1 + want.len().div_ceil(per_page));
    // Page 1: the title and the summary; no table.
    assert!(pages[0].contains("Agents report"), "{}", pages[0]);
    for figure in [
        "Range",
        "Time zone",
        "Agents",
        "Answer rate",
        "AHT",
        "Occupancy",
    ] {
        assert!(pages[0].contains(figure), "{figure}: {}", pages[0]);
    }
    assert!(
        !pages[0].contains("Interval"),
        "no table on the summary page"
    );
    let mut got = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let footer = "Agents report · 2025-08-20 00:00 to 2025-08-21 00:00 · Asia/Kolkata";
        assert!(page.contains(footer), "page {}: {page}", i + 1);
        assert!(page.contains(&format!("Page {} of {n}", i + 1)), "{page}");
        if i > 0 {
            assert!(has_header(page, &headers), "page {}: {page}", i + 1);
            let rows = row_lines(page);
            // Full pages, the last one the rest: no row left out or split off.
            let full = if i + 1 < n { per_page } else { rows.len() };
            assert_eq!(rows.len(), full, "page {}", i + 1);
            got.extend(rows);
        }
    }
    got.sort();
    want.sort();
    let first_difference = got.iter().zip(&want).find(|(g, w)| g != w);
    assert_eq!(
        first_difference, None,
        "the PDF's rows are the HTML table's"
    );
    assert_eq!(got.len(), want.len(), "each row once");
    assert!(got.iter().any(|r| r.contains("TOTAL")));

    // pdftoppm draws the first page (the summary and the charts) without a complaint.
    let root = dir.path().join("page");
    let out = Command::new("pdftoppm")
        .args(["-r", "40", "-f", "1", "-l", "1", "-png", "-singlefile"])
        .arg(&pdf_file)
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(root.with_extension("png")).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    // A4 at 40 dpi, and not blank.
    assert!(frame.width > 300 && frame.height > 300);
    assert!(pixels.iter().any(|&v| v < 128));
    // The same report is the same bytes, and it is the committed example.
    assert_eq!(pdf, report_to(&db, &args, &dir.path().join("again.pdf")));
    let committed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/report.pdf")).unwrap();
    assert!(
        pdf == committed,
        "examples/report.pdf differs from `apr report --start-date 2025-08-20 --totals --output examples/report.pdf` on the example data; regenerate it as the README says"
    );
}

#[test]
fn one_reference_day_of_48000_rows_has_each_row_once_and_the_header_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("day.db");
    let zone = Zone::parse("Asia/Dubai").unwrap();
    let agents = 2_000;
    {
        let mut store = SqliteStore::open(&db).unwrap();
        store.set_meta("timezone", zone.name()).unwrap();
        let from = apr::hours::parse_instant(zone, "2025-09-01", "start").unwrap();
        let mut rows = Vec::with_capacity(agents * 24);
        for h in 0..24 {
            let start = from + h * 3600;
            for a in 0..agents {
                let b = Buckets {
                    idle: 900 + (a as i64 % 300),
                    talk: 1200,
                    wrap_up: 300,
                    lunch: 600,
                    ..Default::default()
                };
                rows.push(ActivityRow {
                    agent_ext: (3000 + a).to_string(),
                    report_hour: start,
                    report_hour_local: zone.hour_label(start),
                    agent_name: format!("Agent {a}"),
                    figures: HourFigures {
                        buckets: b,
                        idle_count: 3,
                        notavail_count: 2,
                        total_calls: 7,
                        answered_calls: 6,
                        failed_calls: 1,
                        covered_secs: b.total(),
                    },
                    complete: true,
                    event_details: "[]".into(),
                });
            }
        }
        store
            .replace_activity(from, from + 86_400, &rows, &[])
            .unwrap();
    }
    let file = dir.path().join("day.pdf");
    report_to(&db, &["--start-date", "2025-09-01"], &file);
    let pages = pages(&file);
    let per_page = rows_per_page(Paper::A4, landscape(&file));
    assert_eq!(pages.len(), 1 + 48_000usize.div_ceil(per_page));
    let headers: Vec<String> = ["Interval", "Start Time", "Ext", "Name", "Answer Rate (%)"]
        .map(String::from)
        .to_vec();
    let mut seen = HashSet::new();
    for (i, page) in pages.iter().enumerate().skip(1) {
        assert!(has_header(page, &headers), "page {}: {page}", i + 1);
        let rows = row_lines(page);
        if i + 1 < pages.len() {
            assert_eq!(rows.len(), per_page, "page {}", i + 1);
        }
        for row in rows {
            let t: Vec<&str> = row.split(' ').collect();
            // Interval (3 words), Date, Start Time (2), End Time (2), then Ext and Name.
            assert_eq!(t[9], "Agent", "{row}");
            assert_eq!(t[8], (3000 + t[10].parse::<usize>().unwrap()).to_string());
            assert!(
                seen.insert((t[0].to_string(), t[8].to_string())),
                "twice: {row}"
            );
        }
    }
    assert_eq!(seen.len(), 48_000);
}

#[test]
fn letter_paper_an_empty_range_and_the_format_from_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    // The fixture's hours, on Letter, upright or turned.
    let file = dir.path().join("letter.pdf");
    report_to(
        &db,
        &["--start-date", "2025-09-07", "--paper", "letter"],
        &file,
    );
    let size = info(&file, "Page size");
    assert!(
        size.starts_with("612 x 792") || size.starts_with("792 x 612"),
        "{size}"
    );
    assert!(pages(&file)[1].contains("Interval"));
    // Nothing in the range: one page saying so.
    let empty = dir.path().join("empty.pdf");
    report_to(
        &db,
        &["--start-date", "2030-01-01", "--format", "pdf"],
        &empty,
    );
    let pages = pages(&empty);
    assert_eq!(pages.len(), 1);
    assert!(!landscape(&empty), "the page saying so stays upright");
    assert!(
        pages[0].contains("No data from 2030-01-01 00:00 to 2030-01-02 00:00 (Europe/London)."),
        "{}",
        pages[0]
    );
    assert!(pages[0].contains("Page 1 of 1"));
    // --paper belongs to the PDF.
    let out = apr(&db)
        .args([
            "report",
            "--start-date",
            "2025-09-07",
            "--paper",
            "a4",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: --paper applies to PDF only; expected it with --format pdf"
    );
}

#[tokio::test]
async fn api_report_answers_the_same_pdf_as_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let server = Server::start(&db, &["serve-once"], &[]);
    let resp = client()
        .get(
            server
                .url("/api/report?startDate=2025-09-07&kind=agents&by=day&format=pdf&paper=letter"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h[reqwest::header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        h[reqwest::header::CONTENT_DISPOSITION],
        "attachment; filename=\"report_2025-09-07_to_2025-09-08.pdf\""
    );
    let body = resp.bytes().await.unwrap();
    let want = report_to(
        &db,
        &[
            "--start-date",
            "2025-09-07",
            "--by",
            "day",
            "--paper",
            "letter",
        ],
        &dir.path().join("cli.pdf"),
    );
    assert!(
        body[..] == want[..],
        "the server's PDF differs from the command's"
    );
    assert!(server.wait().0.success());
}
