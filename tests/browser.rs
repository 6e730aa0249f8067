//! The supervisors' page in a real browser (SPEC §11): headless Chromium driven through
//! WebDriver (Debian's `chromium` and `chromium-driver`, which `scripts/test.sh` installs)
//! against `apr serve` on 127.0.0.1 with the example data. The form is filled and
//! submitted, the table read back and compared with `apr report`'s CSV, the XLSX link
//! followed (the browser downloads it) and its bytes compared with `apr report --format
//! xlsx`; screenshots at phone (390 px) and desktop width are kept under
//! `target/tmp/browser/`; and with JavaScript disabled the page still shows its table and
//! charts. The live board (`/live`, SPEC §13) with a queue_log follower behind it: with
//! JavaScript it redraws without a reload when a line is appended, and fits 1400 and 390 px
//! (as does `/agent`, which its names link to); without JavaScript its meta refresh brings
//! the change in.

mod report_fixture;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use report_fixture::server::{Server, apr_report};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process on a loopback port it picks itself (`--port=0`, then read from
/// its "started successfully on port N." line); killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "the browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver (scripts/test.sh does it)"
        );
        let mut child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Read on a thread, so that a chromedriver that never says it started fails the
        // test after the deadline instead of hanging it.
        let stdout = child.stdout.take().unwrap();
        let (said, heard) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let port = lines.by_ref().map_while(Result::ok).find_map(|line| {
                line.split_once("started successfully on port ")
                    .and_then(|(_, rest)| rest.trim_end_matches('.').parse::<u16>().ok())
            });
            let _ = said.send(port);
            // Keep reading: chromedriver must not block on a full pipe.
            lines.for_each(drop);
        });
        let port = match heard.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(port)) => port,
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromedriver did not say which port it listens on: {outcome:?}");
            }
        };
        let url = format!("http://127.0.0.1:{port}");
        Driver { child, url }
    }

    async fn browser(&self, javascript: bool, downloads: &Path) -> Client {
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-proxy-server",
            "--window-size=1280,1000",
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false");
        }
        let mut prefs = json!({
            "download.default_directory": downloads,
            "download.prompt_for_download": false,
        });
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args, "prefs": prefs},
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        // WebDriver on loopback is plain HTTP: no TLS stack needed.
        let http = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(http)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of every table cell, row by row, as the browser shows it, each row's cells in
/// the order of `columns` (the page's table leads with Ext and Name; the CSV does not).
async fn table_rows(c: &Client, columns: &[String]) -> Vec<Vec<String>> {
    let rows = c
        .execute(
            "const heads = Array.from(document.querySelectorAll('table thead th')).map(h => h.textContent);
             return Array.from(document.querySelectorAll('table tbody tr')).map(r =>
                 arguments[0].map(name => { const c = r.cells[heads.indexOf(name)]; return c ? c.textContent : null; }));",
            vec![json!(columns)],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn supervisor_fills_the_form_reads_the_table_and_downloads_the_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::example_db(dir.path());
    let server = Server::start(&db, &["serve"], &[]);
    let driver = Driver::start();
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let c = driver.browser(true, &downloads).await;

    c.goto(&server.url("/")).await.unwrap();
    // Date inputs take their value in the browser's locale when typed; set it as the
    // picker would.
    c.execute(
        "document.querySelector('input[name=startDate]').value = arguments[0];",
        vec![json!("2025-08-20")],
    )
    .await
    .unwrap();
    c.find(Locator::Css("select[name=kind]"))
        .await
        .unwrap()
        .select_by_value("agents")
        .await
        .unwrap();
    c.find(Locator::Css("select[name=by]"))
        .await
        .unwrap()
        .select_by_value("hour")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=totals]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("table tbody tr"))
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    assert!(url.as_str().contains("startDate=2025-08-20"), "{url}");

    let args = ["--start-date", "2025-08-20", "--totals"];
    let csv = apr_report(&db, &args);
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let want: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let got = table_rows(&c, &header).await;
    assert_eq!(got.len(), want.len());
    // The CSV's zero for a ratio or mean without a denominator is an empty cell on the page.
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.len(), w.len());
        for ((g, w), column) in g.iter().zip(w).zip(&header) {
            let undefined = matches!(column.as_str(), "AHT" | "Answer Rate (%)")
                && matches!(w.as_str(), "0.00%" | "00:00:00");
            assert!(
                g == w || (g.is_empty() && undefined),
                "{column}: csv {w:?}, page {g:?}"
            );
        }
    }
    let charts = c.find_all(Locator::Css("figure .wide svg")).await.unwrap();
    assert_eq!(charts.len(), 2);

    // Screenshots at desktop and phone width (kept as artifacts of the run).
    let out = artifacts();
    c.set_window_size(1280, 1000).await.unwrap();
    std::fs::write(out.join("page-desktop.png"), c.screenshot().await.unwrap()).unwrap();
    c.set_window_size(390, 844).await.unwrap();
    std::fs::write(out.join("page-390.png"), c.screenshot().await.unwrap()).unwrap();
    // On a phone the page itself does not scroll sideways; the table does, in its box.
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "page wider than the phone: {overflow}"
    );

    // Follow the XLSX link: the browser downloads the same bytes `apr report` writes.
    c.set_window_size(1280, 1000).await.unwrap();
    c.find(Locator::LinkText("XLSX"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let file = downloads.join("report_2025-08-20_to_2025-08-21.xlsx");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "no download in {}",
            downloads.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected = apr_report(&db, &[&args[..], &["--format", "xlsx"]].concat());
    // The file appears under its name once the download has completed.
    let mut got = std::fs::read(&file).unwrap();
    while got.len() < expected.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        got = std::fs::read(&file).unwrap();
    }
    assert!(
        got == expected,
        "downloaded XLSX differs from apr report --format xlsx"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn the_page_renders_its_table_and_charts_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::example_db(dir.path());
    let server = Server::start(&db, &["serve"], &[]);
    let driver = Driver::start();
    let c = driver.browser(false, dir.path()).await;
    c.goto(&server.url("/?startDate=2025-08-20&kind=agents&by=day&totals=1"))
        .await
        .unwrap();
    let charts = c.find_all(Locator::Css("figure .wide svg")).await.unwrap();
    assert_eq!(charts.len(), 2);
    for chart in &charts {
        assert!(chart.is_displayed().await.unwrap());
    }
    let rows = c.find_all(Locator::Css("table tbody tr")).await.unwrap();
    let csv = apr_report(
        &db,
        &["--start-date", "2025-08-20", "--by", "day", "--totals"],
    );
    assert_eq!(rows.len(), csv.split(|b| *b == b'\n').count() - 2);
    assert!(rows[0].is_displayed().await.unwrap());
    let mut shown: Vec<(String, String)> = Vec::new();
    let heads = c.find_all(Locator::Css("table thead th")).await.unwrap();
    let cells = rows[0].find_all(Locator::Css("td")).await.unwrap();
    for (th, td) in heads.iter().zip(&cells) {
        shown.push((th.text().await.unwrap(), td.text().await.unwrap()));
    }
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let first = reader.records().next().unwrap().unwrap();
    let mut want: Vec<(String, String)> = header
        .into_iter()
        .zip(first.iter().map(String::from))
        .collect();
    shown.sort();
    want.sort();
    assert_eq!(shown, want);
    std::fs::write(
        artifacts().join("page-no-javascript.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}

/// What is wrong with the page's layout at the window's width: the page wider than the
/// window, a chart outside it, a legend outside its chart or over its data; and how many
/// charts are shown (each is drawn twice, one for wide and one for narrow screens).
const LAYOUT: &str = r#"
const w = window.innerWidth;
const problems = [];
const page = document.documentElement.scrollWidth;
if (page > w) problems.push(`page ${page} px wide in a ${w} px window`);
let shown = 0;
for (const svg of document.querySelectorAll('svg')) {
  const r = svg.getBoundingClientRect();
  if (r.width === 0) continue;
  shown += 1;
  const name = svg.getAttribute('aria-label');
  if (r.left < -0.5 || r.right > w + 0.5) problems.push(`${name}: ${r.left}..${r.right} outside 0..${w}`);
  const legends = svg.querySelectorAll('g.legend');
  if (legends.length !== 1) problems.push(`${name}: ${legends.length} legends`);
  for (const g of legends) {
    const b = g.getBoundingClientRect();
    if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5)
      problems.push(`${name}: legend ${b.left},${b.top}..${b.right},${b.bottom} outside ${r.left},${r.top}..${r.right},${r.bottom}`);
    for (const d of svg.querySelectorAll('polyline, circle, rect')) {
      if (g.contains(d)) continue;
      const e = d.getBoundingClientRect();
      if (e.width >= r.width - 1) continue; // the background
      if (e.bottom > b.top + 0.5) problems.push(`${name}: data at ${e.bottom} under the legend at ${b.top}`);
    }
  }
}
return { problems, shown, empty: document.querySelectorAll('.empty').length };
"#;

async fn layout(c: &Client) -> (Vec<String>, u64, u64) {
    let v = c.execute(LAYOUT, vec![]).await.unwrap();
    (
        serde_json::from_value(v["problems"].clone()).unwrap(),
        v["shown"].as_u64().unwrap(),
        v["empty"].as_u64().unwrap(),
    )
}

/// With `APR_TEST_SCREENSHOTS=DIR` (scripts/screenshots.sh), the whole page (up to 2400 px
/// tall) is kept as `DIR/NAME`; always as a run artifact under `target/tmp/browser/`.
async fn keep_screenshot(c: &Client, width: u32, name: &str) {
    let height = c
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap()
        .clamp(600, 2400) as u32;
    c.set_window_size(width, height).await.unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(name), &png).unwrap();
    if let Some(dir) = std::env::var_os("APR_TEST_SCREENSHOTS") {
        std::fs::write(Path::new(&dir).join(name), &png).unwrap();
    }
}

#[tokio::test]
async fn the_page_fits_desktop_and_phone_keeps_legends_off_the_data_and_says_when_a_day_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::example_db(dir.path());
    let server = Server::start(&db, &["serve"], &[]);
    let driver = Driver::start();
    let c = driver.browser(true, dir.path()).await;
    for (width, name) in [(1400, "desktop"), (390, "phone")] {
        c.set_window_size(width, 1000).await.unwrap();
        // The page opens on the latest day with data, the example's.
        c.goto(&server.url("/")).await.unwrap();
        let start = c
            .find(Locator::Css("input[name=startDate]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(start.as_deref(), Some("2025-08-20"));
        let (problems, shown, empty) = layout(&c).await;
        assert!(problems.is_empty(), "{width} px: {problems:#?}");
        assert_eq!((shown, empty), (2, 0), "{width} px");
        // Scrolled to its far end, the table still shows whose row it is.
        let kept = c
            .execute(
                "const box = document.querySelector('.table'); box.scrollLeft = box.scrollWidth;
                 const cells = document.querySelector('tbody tr').cells;
                 const b = box.getBoundingClientRect();
                 return [cells[0], cells[1]].map(td => { const r = td.getBoundingClientRect();
                   return [r.left - b.left, b.right - r.right, td.textContent]; });",
                vec![],
            )
            .await
            .unwrap();
        let kept: Vec<(f64, f64, String)> = serde_json::from_value(kept).unwrap();
        for (left, right, text) in &kept {
            assert!(
                *left >= -1.0 && *right >= 0.0,
                "{width} px: {text} out of view {kept:?}"
            );
        }
        c.execute("document.querySelector('.table').scrollLeft = 0;", vec![])
            .await
            .unwrap();
        keep_screenshot(&c, width, &format!("page-{name}.png")).await;

        c.set_window_size(width, 1000).await.unwrap();
        c.goto(&server.url("/?startDate=2025-08-21")).await.unwrap();
        let (problems, shown, empty) = layout(&c).await;
        assert!(problems.is_empty(), "{width} px: {problems:#?}");
        assert_eq!((shown, empty), (0, 1), "{width} px");
        let said = c
            .find(Locator::Css(".empty"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            said,
            "No data from 2025-08-21 00:00 to 2025-08-22 00:00 (Asia/Kolkata)."
        );
        keep_screenshot(&c, width, &format!("page-empty-{name}.png")).await;
    }
    c.close().await.unwrap();
}

#[tokio::test]
async fn a_click_on_a_header_sorts_the_table_by_value_totals_last() {
    let dir = tempfile::tempdir().unwrap();
    let db = report_fixture::example_db(dir.path());
    let server = Server::start(&db, &["serve"], &[]);
    let driver = Driver::start();
    let c = driver.browser(true, dir.path()).await;
    c.goto(&server.url("/?startDate=2025-08-20&by=day&totals=1"))
        .await
        .unwrap();
    let column = |name: &str| {
        let name = name.to_string();
        let c = c.clone();
        async move {
            let v = c
                .execute(
                    "const i = Array.from(document.querySelectorAll('thead th')).findIndex(h => h.textContent === arguments[0]);
                     return Array.from(document.querySelectorAll('tbody tr')).map(r => [r.className, r.cells[i].textContent]);",
                    vec![json!(name)],
                )
                .await
                .unwrap();
            serde_json::from_value::<Vec<(String, String)>>(v).unwrap()
        }
    };
    let seconds = |s: &str| -> i64 {
        s.split(':')
            .fold(0, |acc, p| acc * 60 + p.parse::<i64>().unwrap())
    };
    for (header, descending) in [
        ("Total Calls", false),
        ("Total Calls", true),
        ("Available Time", false),
    ] {
        c.execute(
            "Array.from(document.querySelectorAll('thead th')).find(h => h.textContent === arguments[0]).click();",
            vec![json!(header)],
        )
        .await
        .unwrap();
        let rows = column(header).await;
        let (agents, totals): (Vec<_>, Vec<_>) =
            rows.iter().partition(|(class, _)| class != "total");
        assert_eq!(agents.len(), 60);
        // Total rows stay at the end.
        assert!(
            rows[rows.len() - totals.len()..]
                .iter()
                .all(|(class, _)| class == "total")
        );
        let values: Vec<i64> = agents
            .iter()
            .map(|(_, v)| {
                if v.contains(':') {
                    seconds(v)
                } else {
                    v.parse().unwrap()
                }
            })
            .collect();
        let mut sorted = values.clone();
        sorted.sort();
        if descending {
            sorted.reverse();
        }
        assert_eq!(values, sorted, "{header}, descending: {descending}");
    }
    c.close().await.unwrap();
}

/// A process killed on drop (the queue_log follower of the live tests).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A queue_log of a few minutes ago (UTC, so it falls on today) with 301 in sales and 302
/// on a lunch break in support, followed by `apr parse-queue-log --follow` into `db`, and
/// `apr serve` on it once the follower created the database. Returns the log's path and
/// the first line's instant.
fn live_floor(dir: &Path) -> (PathBuf, i64, Killed, Server) {
    // The board shows today: keep clear of a UTC midnight.
    let into_day = chrono::Utc::now().timestamp() % 86_400;
    if into_day < 400 {
        std::thread::sleep(Duration::from_secs((400 - into_day) as u64));
    }
    let db = dir.join("live.db");
    let file = dir.join("queue_log");
    let t = chrono::Utc::now().timestamp() - 300;
    std::fs::write(
        &file,
        format!(
            "{t}|NONE|sales|PJSIP/301|ADDMEMBER|\n{}|NONE|support|PJSIP/302|ADDMEMBER|\n{}|NONE|support|PJSIP/302|PAUSE|Lunch\n",
            t + 1,
            t + 2
        ),
    )
    .unwrap();
    let follower = Killed(
        Command::new(report_fixture::server::APR)
            .env_clear()
            .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
            .env("APR_TIMEZONE", "UTC")
            .args(["-q", "parse-queue-log", "--follow", "--interval", "1s"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while !db.exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "no database");
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = Server::start(&db, &["serve"], &[("APR_TIMEZONE", "UTC")]);
    (file, t, follower, server)
}

fn append_line(file: &Path, line: String) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

/// Waits (bounded) until `css` matches an element of the page as it is now.
async fn wait_for(c: &Client, css: &str, what: &str) {
    let started = Instant::now();
    while c.find_all(Locator::Css(css)).await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "never happened: {what} ({css})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How far the page is wider than the window (0 or less: it fits).
async fn overflow(c: &Client) -> i64 {
    c.execute(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        vec![],
    )
    .await
    .unwrap()
    .as_i64()
    .unwrap()
}

#[tokio::test]
async fn the_live_board_redraws_without_a_reload_and_fits_1400_and_390_px() {
    let dir = tempfile::tempdir().unwrap();
    let (file, t, _follower, server) = live_floor(dir.path());
    let driver = Driver::start();
    let c = driver.browser(true, dir.path()).await;
    c.goto(&server.url("/live")).await.unwrap();
    wait_for(&c, "[data-ext='302'].state-not_avail", "302 on a break").await;
    // A mark on this document: a reload would lose it.
    c.execute("window.aprMark = 'same page'; return null;", vec![])
        .await
        .unwrap();

    append_line(
        &file,
        format!("{}|c1|sales|NONE|ENTERQUEUE||971500000001|1\n", t + 10),
    );
    append_line(
        &file,
        format!("{}|c1|sales|PJSIP/301|CONNECT|8|c1.1|2\n", t + 18),
    );
    wait_for(&c, "[data-ext='301'].state-on_call", "301 on the call").await;
    let mark = c
        .execute("return window.aprMark || null;", vec![])
        .await
        .unwrap();
    assert_eq!(
        mark,
        json!("same page"),
        "the board redrew without a reload"
    );
    let link = c
        .find(Locator::Css("[data-ext='301'] a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(link.starts_with("/agent?ext=301&date="), "{link}");

    let out = artifacts();
    for (width, name) in [(1400, "live-desktop.png"), (390, "live-390.png")] {
        c.set_window_size(width, 900).await.unwrap();
        assert!(overflow(&c).await <= 0, "/live wider than {width} px");
        std::fs::write(out.join(name), c.screenshot().await.unwrap()).unwrap();
    }
    // The agent's day, from the link, fits a phone too.
    c.goto(&server.url(&link)).await.unwrap();
    wait_for(&c, "svg.band rect", "the band").await;
    assert!(overflow(&c).await <= 0, "/agent wider than 390 px");
    std::fs::write(out.join("agent-390.png"), c.screenshot().await.unwrap()).unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn without_javascript_the_live_board_reloads_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (file, t, _follower, server) = live_floor(dir.path());
    let driver = Driver::start();
    let c = driver.browser(false, dir.path()).await;
    c.set_window_size(390, 900).await.unwrap();
    c.goto(&server.url("/live")).await.unwrap();
    // Only the meta refresh can bring these in: the script does not run.
    wait_for(&c, "[data-ext='302'].state-not_avail", "302 on a break").await;
    append_line(
        &file,
        format!("{}|NONE|support|PJSIP/302|UNPAUSE|\n", t + 20),
    );
    wait_for(&c, "[data-ext='302'].state-idle", "302 back from the break").await;
    std::fs::write(
        artifacts().join("live-no-javascript-390.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}
