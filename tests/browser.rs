//! The supervisors' page in a real browser (SPEC §11): headless Chromium driven through
//! WebDriver (Debian's `chromium` and `chromium-driver`, which `scripts/test.sh` installs)
//! against `apr serve` on 127.0.0.1 with the example data. The form is filled and
//! submitted, the table read back and compared with `apr report`'s CSV, the XLSX link
//! followed (the browser downloads it) and its bytes compared with `apr report --format
//! xlsx`; screenshots at phone (390 px) and desktop width are kept under
//! `target/tmp/browser/`; and with JavaScript disabled the page still shows its table and
//! charts.

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

/// The text of every table cell, row by row, as the browser shows it.
async fn table_rows(c: &Client) -> Vec<Vec<String>> {
    let rows = c
        .execute(
            "return Array.from(document.querySelectorAll('table tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent));",
            vec![],
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
    let got = table_rows(&c).await;
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
    let charts = c.find_all(Locator::Css("figure svg")).await.unwrap();
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
    let charts = c.find_all(Locator::Css("figure svg")).await.unwrap();
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
    let first: Vec<String> = {
        let mut cells = Vec::new();
        for td in rows[0].find_all(Locator::Css("td")).await.unwrap() {
            cells.push(td.text().await.unwrap());
        }
        cells
    };
    let want: Vec<String> = csv::Reader::from_reader(csv.as_slice())
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(first, want);
    std::fs::write(
        artifacts().join("page-no-javascript.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}
