//! The supervisors' page and the report formats over HTTP (SPEC §11), against `apr
//! serve-once` / `apr serve` on 127.0.0.1: the form, the report below it equal to the CSV,
//! download links, every format with its Content-Type and file name and the bytes of `apr
//! report`, no value echoed unescaped, the token (header, and `?token=` only with
//! `--token-in-query`), CORS on the page, and one log line per request without the token.

mod report_fixture;

use report_fixture::server::{Server, apr_report, client};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};

/// The texts of the `td` cells of each table row.
fn table_rows(html: &str) -> Vec<Vec<String>> {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let Some(table) = dom.query_selector("table").unwrap().next() else {
        return Vec::new();
    };
    table
        .get(parser)
        .unwrap()
        .as_tag()
        .unwrap()
        .query_selector(parser, "tr")
        .unwrap()
        .map(|tr| {
            tr.get(parser)
                .unwrap()
                .as_tag()
                .unwrap()
                .query_selector(parser, "td")
                .unwrap()
                .map(|td| {
                    td.get(parser)
                        .unwrap()
                        .inner_text(parser)
                        .replace("&quot;", "\"")
                        .replace("&#39;", "'")
                        .replace("&amp;", "&")
                })
                .collect::<Vec<String>>()
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// The table's rows as header → cell text, whatever the order of the columns (the page's
/// table leads with Ext and Name; the HTML file keeps the CSV's order).
fn keyed_rows(html: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let headers: Vec<String> = dom
        .query_selector("th")
        .unwrap()
        .map(|th| th.get(parser).unwrap().inner_text(parser).to_string())
        .collect();
    table_rows(html)
        .into_iter()
        .map(|row| headers.iter().cloned().zip(row).collect())
        .collect()
}

/// The body of `GET url`, whatever its status.
async fn body(c: &reqwest::Client, url: String) -> Vec<u8> {
    c.get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

fn csv_rows(csv: &[u8]) -> Vec<Vec<String>> {
    csv::Reader::from_reader(csv)
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

#[tokio::test]
async fn the_page_shows_the_form_then_the_report_and_its_downloads() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve"], &[]);
    let c = client();
    let resp = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    let form = resp.text().await.unwrap();
    for field in [
        "startDate",
        "startTime",
        "endDate",
        "endTime",
        "kind",
        "by",
        "ext",
        "queue",
        "extended",
        "totals",
    ] {
        assert!(form.contains(&format!("name=\"{field}\"")), "{field}");
    }
    assert!(form.contains("<form method=\"get\" action=\"/\">"));
    // Without a query the page opens on today, or (as here, the fixture's days long past)
    // on the latest day with data, with its report.
    assert!(
        form.contains(r#"name="startDate" value="2025-10-26""#),
        "{form}"
    );
    assert_eq!(
        keyed_rows(&form),
        keyed_rows(
            &String::from_utf8(apr_report(
                &db,
                &["--start-date", "2025-10-26", "--format", "html"]
            ))
            .unwrap()
        )
    );
    assert!(form.contains("Latest data (2025-10-26)"), "{form}");
    // Each agent's name opens its day; the downloaded HTML file has no such links.
    let rows = keyed_rows(&form);
    let first = &rows[0];
    let link = format!(
        "<a href=\"/agent?ext={}&amp;date=2025-10-26\">",
        first["Ext"]
    );
    assert!(form.contains(&link), "{link} in {form}");
    assert_eq!(
        form.matches("<a href=\"/agent?ext=").count(),
        rows.iter().filter(|r| r["Ext"] != "TOTAL").count()
    );
    let file = apr_report(&db, &["--start-date", "2025-10-26", "--format", "html"]);
    assert!(!String::from_utf8(file).unwrap().contains("/agent?"));

    let query = "startDate=2025-09-07&endDate=2025-10-27&by=day&totals=1&extended=1&ext=&queue=";
    let page = c
        .get(server.url(&format!("/?{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let args = [
        "--start-date",
        "2025-09-07",
        "--end-date",
        "2025-10-27",
        "--by",
        "day",
        "--totals",
        "--extended",
    ];
    // The page's table is the HTML report's (which tests/report_formats.rs holds to the
    // CSV), ratios without a denominator empty.
    let report = apr_report(&db, &[&args[..], &["--format", "html"]].concat());
    let rows = table_rows(&page);
    assert_eq!(rows.len(), csv_rows(&apr_report(&db, &args)).len());
    assert_eq!(
        keyed_rows(&page),
        keyed_rows(&String::from_utf8(report).unwrap())
    );
    assert!(
        page.contains("<th scope=\"col\" class=\"k\">Ext</th><th scope=\"col\" class=\"k\">Name</th><th scope=\"col\">Interval</th>"),
        "the page's table leads with the agent"
    );
    // Two charts, each drawn for a wide and a narrow screen.
    assert_eq!(page.matches("<figure").count(), 2);
    assert_eq!(page.matches("<svg").count(), 4);
    for forbidden in ["http:", "https:", "<script src", "<link", "url("] {
        assert!(!page.contains(forbidden), "{forbidden}");
    }
    // One small inline script (the table's sorting).
    assert_eq!(page.matches("<script>").count(), 1);
    // The links download the same report; the form keeps the values.
    assert!(page.contains(r#"<option value="day" selected>"#));
    for (format, ctype) in [
        ("csv", "text/csv; charset=utf-8"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("json", "application/json"),
    ] {
        let href = format!(
            "/api/report?startDate=2025-09-07&amp;endDate=2025-10-27&amp;by=day&amp;totals=1&amp;extended=1&amp;format={format}"
        );
        assert!(page.contains(&href), "{href}");
        let resp = c
            .get(server.url(&href.replace("&amp;", "&")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()[CONTENT_TYPE], ctype);
        let body = resp.bytes().await.unwrap();
        let expected = apr_report(&db, &[&args[..], &["--format", format]].concat());
        assert!(body.as_ref() == expected.as_slice(), "{format}");
    }
}

#[tokio::test]
async fn every_format_has_its_type_name_and_the_bytes_of_apr_report() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve"], &[]);
    for (format, ctype) in [
        ("csv", "text/csv; charset=utf-8"),
        ("json", "application/json"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("html", "text/html; charset=utf-8"),
    ] {
        let resp = client()
            .get(server.url(&format!(
                "/api/report?startDate=2025-09-07&by=week&totals=true&format={format}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[CONTENT_TYPE], ctype);
        assert_eq!(
            resp.headers()[CONTENT_DISPOSITION],
            format!("attachment; filename=\"report_2025-09-07_to_2025-09-08.{format}\"").as_str()
        );
        let body = resp.bytes().await.unwrap();
        let expected = apr_report(
            &db,
            &[
                "--start-date",
                "2025-09-07",
                "--by",
                "week",
                "--totals",
                "--format",
                format,
            ],
        );
        assert!(body.as_ref() == expected.as_slice(), "{format}");
    }
    // CSV options over HTTP too.
    let body = client()
        .get(server.url("/api/report?startDate=2025-09-07&bom=1&delimiter=%3B"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let expected = apr_report(
        &db,
        &["--start-date", "2025-09-07", "--bom", "--delimiter", ";"],
    );
    assert_eq!(body.as_ref(), expected.as_slice());
}

#[tokio::test]
async fn no_form_value_is_echoed_unescaped() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve"], &[]);
    let evil = "<script>alert(1)</script>";
    let fields = [
        "startDate",
        "startTime",
        "endDate",
        "endTime",
        "kind",
        "by",
        "ext",
        "queue",
        "extended",
        "totals",
        "outcome",
        "format",
    ];
    let enc: String = form_urlencoded::byte_serialize(evil.as_bytes()).collect();
    let mut all = Vec::new();
    for field in fields {
        let base = if field == "startDate" {
            String::new()
        } else {
            "startDate=2025-09-07&".to_string()
        };
        all.push(format!("{field}={enc}"));
        for query in [format!("{base}{field}={enc}"), all.join("&")] {
            let resp = client()
                .get(server.url(&format!("/?{query}")))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert!(!body.contains("<script>alert"), "{field}: {body}");
            assert_eq!(body.matches("<script").count(), 1, "{field}: {body}");
            // Form fields come back into the form, escaped.
            let echoed = !matches!(field, "format" | "outcome");
            assert!(body.contains("&lt;script&gt;") || !echoed, "{field}");
            assert!(
                status == StatusCode::BAD_REQUEST || field == "format",
                "{field}: {status}"
            );
        }
    }
}

#[tokio::test]
async fn the_token_guards_the_page_and_travels_in_the_query_only_when_enabled() {
    let (_dir, db) = report_fixture::temp_db();
    let token = [("APR_SERVE_TOKEN", "s3cret-t0ken")];
    let server = Server::start(&db, &["serve"], &token);
    let c = client();
    let q = "/?startDate=2025-09-07";
    assert_eq!(
        c.get(server.url(q)).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let resp = c
        .get(server.url(q))
        .bearer_auth("s3cret-t0ken")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!resp.text().await.unwrap().contains("s3cret"));
    // ?token= is refused unless the operator enables it.
    assert_eq!(
        c.get(server.url(&format!("{q}&token=s3cret-t0ken")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    drop(server);

    let server = Server::start(&db, &["-v", "serve-once", "--token-in-query"], &token);
    let resp = c
        .get(server.url(&format!("{q}&token=s3cret-t0ken&by=day")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    // The form and the links carry it on, so the browser stays signed in.
    assert!(page.contains(r#"<input type="hidden" name="token" value="s3cret-t0ken">"#));
    assert!(page.contains("token=s3cret-t0ken&amp;format=xlsx"));
    let (status, log) = server.wait();
    assert!(status.success());
    // One line per request: method, path without the token, status, milliseconds.
    let line = log
        .lines()
        .find(|l| l.contains("GET /"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains("GET /?startDate=2025-09-07&by=day 200 "),
        "{line}"
    );
    assert!(line.trim_end().ends_with(" ms"), "{line}");
    assert!(!log.contains("s3cret"), "{log}");

    let server = Server::start(&db, &["serve", "--token-in-query"], &token);
    assert_eq!(
        c.get(server.url(&format!("{q}&token=wrong")))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let resp = c
        .get(server.url("/api/report?startDate=2025-09-07&token=s3cret-t0ken&format=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn cors_rules_apply_to_the_page() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(
        &db,
        &["serve"],
        &[("APR_CORS_ORIGINS", "https://ops.example.com")],
    );
    let resp = client()
        .get(server.url("/?startDate=2025-09-07"))
        .header("Origin", "https://ops.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://ops.example.com"
    );
    let resp = client()
        .get(server.url("/"))
        .header("Origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_database_that_is_down_shows_the_form_with_503() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve"], &[]);
    // The database goes away while serving.
    std::fs::remove_file(&db).unwrap();
    let resp = client()
        .get(server.url("/?startDate=2025-09-07"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("<form") && body.contains("class=\"error\""),
        "{body}"
    );
}

#[tokio::test]
async fn pick_lists_offer_the_queues_and_agents_of_the_database_and_ticks_join() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/queue_log");
    let out = std::process::Command::new(report_fixture::server::APR)
        .env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .args(["--timezone", "Asia/Kolkata", "parse-queue-log"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let server = Server::start(&db, &["serve"], &[]);
    let c = client();
    let page = String::from_utf8(body(&c, server.url("/")).await).unwrap();
    for queue in ["sales", "support"] {
        assert!(
            page.contains(&format!(
                r#"<input type="checkbox" name="queue" value="{queue}">{queue}"#
            )),
            "{queue}: {page}"
        );
    }
    assert!(page.contains(r#"name="ext" value="201""#), "{page}");
    // Ticked boxes and the text field arrive as repeats; the page joins them into one list,
    // reports on it, ticks the boxes again and links the joined list.
    let query = "startDate=2025-09-07&kind=queues&queue=sales&queue=&queue=support&slSecs=30&slBasis=answered";
    let resp = c
        .get(server.url(&format!("/?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains(r#"name="queue" value="support" checked>support"#),
        "{page}"
    );
    assert!(page.contains("Service Level (%, 30 s, answered)"), "{page}");
    assert!(
        page.contains(r#"<option value="answered" selected>"#),
        "{page}"
    );
    let href = "/api/report?startDate=2025-09-07&kind=queues&queue=sales%2Csupport&slSecs=30&slBasis=answered&format=csv";
    assert!(page.contains(&href.replace('&', "&amp;")), "{page}");
    let csv = body(&c, server.url(href)).await;
    let want = apr_report(
        &db,
        &[
            "--start-date",
            "2025-09-07",
            "--kind",
            "queues",
            "--queue",
            "sales,support",
            "--sl-secs",
            "30",
            "--sl-basis",
            "answered",
        ],
    );
    assert!(csv == want);
    // Without the new fields, the CSV is the default one, byte for byte.
    let plain = body(
        &c,
        server.url("/api/report?startDate=2025-09-07&kind=queues"),
    )
    .await;
    let want = apr_report(&db, &["--start-date", "2025-09-07", "--kind", "queues"]);
    assert!(plain == want);
    // A threshold that is not a number is refused, naming the field.
    let resp = c
        .get(server.url("/?startDate=2025-09-07&kind=queues&slSecs=soon"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("slSecs 'soon' is not a number of seconds"),
        "{body}"
    );
}

#[tokio::test]
async fn an_empty_day_says_so_and_draws_no_chart() {
    let (_dir, db) = report_fixture::temp_db();
    let server = Server::start(&db, &["serve"], &[]);
    let page =
        String::from_utf8(body(&client(), server.url("/?startDate=2025-09-10")).await).unwrap();
    assert!(
        page.contains("No data from 2025-09-10 00:00 to 2025-09-11 00:00 (Europe/London)."),
        "{page}"
    );
    assert!(!page.contains("<svg") && !page.contains("<table"), "{page}");
}
