//! SPEC §10 on SQLite: period rows equal the sums of their hourly rows (DST days, a +05:30
//! zone, a month boundary), ratios from sums, totals; every format on the example data
//! (golden snapshots; the XLSX read back with calamine cell by cell against the CSV; the
//! HTML parsed: no URL, one `<svg>` per chart, the table equal to the CSV); the formula
//! rule in every human format; `--bom`, `--delimiter`, the format picked by `--output`'s
//! extension, and an `--output` that a failed report leaves untouched.

mod report_fixture;

use std::path::Path;
use std::process::{Command, Output};

use apr::store::Store;
use apr::store::sqlite::SqliteStore;
use calamine::{Data, Reader, Xlsx};
use report_fixture::periods;
use report_fixture::server::APR;

fn apr(url: &str) -> Command {
    let mut cmd = Command::new(APR);
    cmd.env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", url)
        .env("APR_LOG", "warn");
    cmd
}

fn sqlite(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

fn run(url: &str, args: &[&str]) -> Output {
    let out = apr(url).arg("report").args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    out
}

fn text(url: &str, args: &[&str]) -> String {
    String::from_utf8(run(url, args).stdout).unwrap()
}

#[test]
fn period_rows_are_the_sums_of_their_hours() {
    for scenario in 0..periods::SCENARIOS.len() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        periods::fill(&mut SqliteStore::open(&db).unwrap(), scenario);
        for by in ["day", "week", "month"] {
            periods::check_periods(&sqlite(&db), scenario, by);
        }
    }
}

#[test]
fn dst_days_are_23_and_25_hours_long() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    periods::fill(&mut SqliteStore::open(&db).unwrap(), 0);
    let days = periods::report_json(
        &sqlite(&db),
        ["2025-10-25", "00:00", "2025-10-27", "00:00"],
        &["--by", "day", "--ext", "100"],
    );
    let hours: Vec<i64> = days
        .iter()
        .map(|d| {
            let s = chrono::DateTime::parse_from_rfc3339(d["start"].as_str().unwrap()).unwrap();
            let e = chrono::DateTime::parse_from_rfc3339(d["end"].as_str().unwrap()).unwrap();
            (e - s).num_hours()
        })
        .collect();
    assert_eq!(hours, [24, 25]);
    assert_eq!(days[1]["start"], "2025-10-26T00:00:00+01:00");
    assert_eq!(days[1]["end"], "2025-10-27T00:00:00+00:00");
}

#[test]
fn ratios_come_from_sums_not_from_averages() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let url = sqlite(&db);
    // 3012 answered 1 of 6 calls at 18:00 (16.67%) and 2 of 3 at 19:00 (66.67%): the day
    // is 3 of 9, 33.33%, where the average of the hours would say 41.67%.
    let hourly = text(&url, &["--start-date", "2025-09-07", "--ext", "3012"]);
    assert!(
        hourly.contains(",6,1,5,") && hourly.contains("16.67%"),
        "{hourly}"
    );
    assert!(hourly.contains("66.67%"), "{hourly}");
    let day = text(
        &url,
        &["--start-date", "2025-09-07", "--ext", "3012", "--by", "day"],
    );
    let row = day.lines().nth(1).unwrap();
    assert!(row.contains(",9,3,6,") && row.contains(",33.33%,"), "{row}");
    // AHT: (2400 + 30 + 300 + 200) s handled over 3 answered = 976 s.
    assert!(row.contains(",00:16:16,33.33%,"), "{row}");
    insta::assert_snapshot!(
        "fixture_by_day_totals",
        text(
            &url,
            &[
                "--start-date",
                "2025-09-07",
                "--end-date",
                "2025-10-27",
                "--by",
                "day",
                "--totals",
                "--extended"
            ]
        )
    );
}

#[test]
fn golden_formats_of_the_example_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&report_fixture::example_db(dir.path()));
    let day = ["--start-date", "2025-08-20"];
    insta::assert_snapshot!(
        "example_by_day_totals_extended_csv",
        text(
            &url,
            &[&day[..], &["--by", "day", "--totals", "--extended"]].concat()
        )
    );
    insta::assert_snapshot!(
        "example_by_week_json",
        text(
            &url,
            &[&day[..], &["--by", "week", "--format", "json"]].concat()
        )
    );
    let xlsx = run(
        &url,
        &[&day[..], &["--by", "day", "--totals", "--format", "xlsx"]].concat(),
    )
    .stdout;
    insta::assert_snapshot!("example_by_day_totals_xlsx_cells", dump_xlsx(&xlsx));
    // The HTML golden is the committed example (README: the command that makes it).
    let html = run(
        &url,
        &[&day[..], &["--totals", "--format", "html"]].concat(),
    )
    .stdout;
    let committed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/report.html")).unwrap();
    assert!(
        html == committed,
        "examples/report.html differs from `apr report --start-date 2025-08-20 --totals --output examples/report.html` on the example data; regenerate it as the README says"
    );
}

/// Every cell of the first sheet as `TYPE:value`, one row a line.
fn dump_xlsx(bytes: &[u8]) -> String {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    let mut out = format!("sheet {name}\n");
    for row in range.rows() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Data::String(s) => format!("s:{s}"),
                Data::Float(f) => format!("n:{f}"),
                Data::Int(i) => format!("n:{i}"),
                Data::DateTime(d) if d.is_duration() => {
                    format!("dur:{}", (d.as_f64() * 86_400.0).round())
                }
                Data::DateTime(d) => format!("date:{}", d.as_f64()),
                Data::Empty => String::new(),
                other => format!("?:{other:?}"),
            })
            .collect();
        out.push_str(&cells.join("|"));
        out.push('\n');
    }
    out
}

/// `HH:MM:SS` (hours may pass 24) as seconds.
fn secs(s: &str) -> Option<i64> {
    let mut p = s.split(':');
    let (h, m, sec) = (p.next()?, p.next()?, p.next()?);
    if p.next().is_some() || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    Some(h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60 + sec.parse::<i64>().ok()?)
}

/// Whether an empty XLSX or HTML cell stands for the CSV's `want` in `column`: a ratio or
/// mean without a denominator, which the CSV writes as zero (§7.4) and the other formats
/// leave empty.
fn undefined_ratio(column: &str, want: &str) -> bool {
    matches!(
        column,
        "AHT" | "Answer Rate (%)" | "Occupancy (%)" | "Utilization (%)"
    ) && matches!(want, "0.00%" | "00:00:00")
}

/// An Excel serial date as local `DD/MM/YYYY, HH:MM:SS` and `DD-Mon`.
fn excel_local(serial: f64) -> chrono::NaiveDateTime {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    base + chrono::Duration::seconds((serial * 86_400.0).round() as i64)
}

#[test]
fn xlsx_cells_have_the_csv_meaning_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&report_fixture::example_db(dir.path()));
    for args in [
        &["--start-date", "2025-08-20", "--extended", "--totals"][..],
        &["--start-date", "2025-08-20", "--by", "week", "--extended"][..],
    ] {
        let csv = text(&url, args);
        let xlsx = run(&url, &[args, &["--format", "xlsx"]].concat()).stdout;
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        let range = book.worksheet_range("Agents").unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(range.height(), records.len());
        let header: Vec<String> = records[0].iter().map(String::from).collect();
        for (rec, row) in records.iter().zip(range.rows()) {
            assert_eq!(rec.len(), row.len());
            for ((want, got), column) in rec.iter().zip(row).zip(&header) {
                let ok = match got {
                    Data::String(s) => s == want,
                    Data::Empty => want.is_empty() || undefined_ratio(column, want),
                    Data::Float(f) if want.ends_with('%') => format!("{:.2}%", f * 100.0) == want,
                    Data::Float(f) => want.parse::<f64>().ok() == Some(*f),
                    Data::DateTime(d) if d.is_duration() => {
                        secs(want) == Some((d.as_f64() * 86_400.0).round() as i64)
                    }
                    Data::DateTime(d) if column == "Date" => {
                        excel_local(d.as_f64()).format("%d-%b").to_string() == want
                    }
                    Data::DateTime(d) => {
                        excel_local(d.as_f64())
                            .format("%d/%m/%Y, %H:%M:%S")
                            .to_string()
                            == want
                    }
                    _ => false,
                };
                assert!(ok, "{column}: csv {want:?}, xlsx {got:?}");
                // Durations, counts and ratios are numbers Excel can sum, not text.
                if secs(want).is_some() || want.ends_with('%') {
                    assert!(
                        !matches!(got, Data::String(_)) || column == "Interval",
                        "{column}"
                    );
                }
            }
        }
    }
}

/// The rows of the HTML table, cells as text with entities decoded.
fn html_table(html: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let cells = |sel: &str, node: &tl::Node| -> Vec<String> {
        node.as_tag()
            .unwrap()
            .query_selector(parser, sel)
            .unwrap()
            .map(|h| {
                let t = h.get(parser).unwrap().inner_text(parser).to_string();
                t.replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
            .collect()
    };
    let table = dom.query_selector("table").unwrap().next().unwrap();
    let table = table.get(parser).unwrap();
    let header = cells("th", table);
    let rows = table
        .as_tag()
        .unwrap()
        .query_selector(parser, "tr")
        .unwrap()
        .map(|h| cells("td", h.get(parser).unwrap()))
        .filter(|r| !r.is_empty())
        .collect();
    (header, rows)
}

#[test]
fn html_is_self_contained_with_one_svg_per_chart_and_the_csv_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&report_fixture::example_db(dir.path()));
    let args = ["--start-date", "2025-08-20", "--totals", "--extended"];
    let html =
        String::from_utf8(run(&url, &[&args[..], &["--format", "html"]].concat()).stdout).unwrap();
    for forbidden in [
        "http:", "https:", "//", "<script", "<link", "url(", "<img", "@import",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in the HTML");
    }
    // Agents: calls per hour and state time per agent.
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("Calls offered and answered per hour"));
    assert!(html.contains("State time per agent"));
    let (header, rows) = html_table(&html);
    let csv = text(&url, &args);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let want_header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, want_header);
    let want: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), want.len());
    for (got, want) in rows.iter().zip(&want) {
        for ((g, w), column) in got.iter().zip(want).zip(&header) {
            assert!(
                g == w || (g.is_empty() && undefined_ratio(column, w)),
                "{column}: csv {w:?}, html {g:?}"
            );
        }
    }
    // A queue report on the same page shape: two charts as well (calls, service level).
    assert!(html.contains("<meta name=\"viewport\""));
    assert!(html.contains("@media print"));
}

#[test]
fn formula_rule_in_every_human_format_and_raw_json() {
    use apr::hours::Zone;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let zone = Zone::parse("UTC").unwrap();
    let mut store = SqliteStore::open(&db).unwrap();
    store.set_meta("timezone", "UTC").unwrap();
    let h = report_fixture::at(zone, "2025-09-07 10:00");
    let names = [
        "=HYPERLINK(\"x\")",
        "+441",
        "-2+3",
        "@SUM(A1)",
        "\tTab",
        "\rCR",
        "Plain",
    ];
    let rows: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            report_fixture::row(
                zone,
                h,
                &format!("{}", 100 + i),
                n,
                apr::model::Buckets {
                    idle: 3600,
                    ..Default::default()
                },
                (1, 1),
            )
        })
        .collect();
    store.replace_activity(h, h + 3600, &rows, &[]).unwrap();
    drop(store);
    let url = sqlite(&db);
    let args = ["--start-date", "2025-09-07"];
    let guarded = |n: &str| {
        if n == "Plain" {
            n.to_string()
        } else {
            format!("'{n}")
        }
    };

    let csv = text(&url, &args);
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let got: Vec<String> = r.records().map(|x| x.unwrap()[5].to_string()).collect();
    assert_eq!(got, names.map(guarded));
    // Durations are not text: unaffected.
    assert!(csv.contains(",01:00:00,"));

    let xlsx = run(&url, &[&args[..], &["--format", "xlsx"]].concat()).stdout;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let range = book.worksheet_range("Agents").unwrap();
    let got: Vec<String> = range
        .rows()
        .skip(1)
        .map(|r| match &r[5] {
            Data::String(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, names.map(guarded));

    let html = text(&url, &[&args[..], &["--format", "html"]].concat());
    let (_, rows) = html_table(&html);
    let got: Vec<String> = rows.iter().map(|r| r[5].clone()).collect();
    assert_eq!(got, names.map(guarded));

    let json = text(&url, &[&args[..], &["--format", "json"]].concat());
    let v: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let got: Vec<&str> = v.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(got, names, "JSON keeps raw values");
}

#[test]
fn bom_delimiter_and_the_format_from_the_output_extension() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::create(dir.path());
    let url = sqlite(&db);
    let plain = text(&url, &["--start-date", "2025-09-07"]);
    let excel = run(
        &url,
        &["--start-date", "2025-09-07", "--bom", "--delimiter", ";"],
    )
    .stdout;
    assert_eq!(&excel[..3], b"\xEF\xBB\xBF");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&excel[3..]);
    let mut p = csv::Reader::from_reader(plain.as_bytes());
    assert_eq!(r.headers().unwrap(), p.headers().unwrap());
    let a: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    // With `;` the decimals take a comma, as the locales that separate with `;` read them.
    let b: Vec<csv::StringRecord> = p
        .records()
        .map(|x| {
            x.unwrap()
                .iter()
                .map(|f| {
                    if f.ends_with('%') {
                        f.replace('.', ",")
                    } else {
                        f.to_string()
                    }
                })
                .collect()
        })
        .collect();
    assert_eq!(a, b);
    assert!(
        excel.windows(4).any(|w| w == b",00%"),
        "a percentage with a comma"
    );

    for (file, check) in [
        (
            "r.xlsx",
            &(|b: &[u8]| b.starts_with(b"PK")) as &dyn Fn(&[u8]) -> bool,
        ),
        ("r.json", &|b: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(b).is_ok()
        }),
        ("r.html", &|b: &[u8]| b.starts_with(b"<!DOCTYPE html>")),
        ("r.CSV", &|b: &[u8]| b == plain.as_bytes()),
    ] {
        let out = dir.path().join(file);
        run(
            &url,
            &[
                "--start-date",
                "2025-09-07",
                "--output",
                out.to_str().unwrap(),
            ],
        );
        assert!(check(&std::fs::read(&out).unwrap()), "{file}");
    }
    // --format wins over the extension.
    let out = dir.path().join("r.txt");
    run(
        &url,
        &[
            "--start-date",
            "2025-09-07",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read(&out).unwrap().starts_with(b"["));
}

#[test]
fn a_failed_report_leaves_the_output_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.csv");
    std::fs::write(&out, "yesterday's report\n").unwrap();
    // A database that is not one: the report fails after --output was checked.
    let bad = dir.path().join("bad.db");
    std::fs::write(&bad, vec![b'x'; 8192]).unwrap();
    let res = apr(&sqlite(&bad))
        .args(["report", "--start-date", "2025-09-07", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "yesterday's report\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".apr-report"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A missing directory is a usage error before the database is opened.
    let db = report_fixture::create(dir.path());
    let res = apr(&sqlite(&db))
        .args(["report", "--start-date", "2025-09-07", "--output"])
        .arg(dir.path().join("no/such/dir/r.csv"))
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8(res.stderr).unwrap();
    assert!(err.contains("does not exist"), "{err}");
    // A successful run replaces the file whole.
    run(
        &sqlite(&db),
        &[
            "--start-date",
            "2025-09-07",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("Interval,")
    );
}
