//! The report and the server on MariaDB (a scratch database, dropped after): the same
//! fixture rows give the same bytes as on SQLite, from `apr report` and over HTTP.

mod report_fixture;
mod support;

use std::process::Command;

use apr::store::mysql::MysqlStore;
use apr::store::mysql::url::MysqlUrl;
use report_fixture::server::{APR, Server};
use support::mysql::ScratchMysql;

fn report(url: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(APR)
        .env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", url)
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

#[tokio::test]
async fn mariadb_reports_the_same_bytes_as_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", report_fixture::create(dir.path()).display());
    let scratch = ScratchMysql::new();
    report_fixture::fill(
        &mut MysqlStore::open(&MysqlUrl::parse(scratch.url(), "APR_DATABASE_URL")).unwrap(),
    );

    let args = [
        "--start-date",
        "2025-09-07",
        "--end-date",
        "2025-10-27",
        "--extended",
    ];
    let expected = report(&sqlite, &args);
    assert_eq!(
        String::from_utf8(expected.clone()).unwrap().lines().count(),
        8,
        "header and the seven fixture rows"
    );
    assert_eq!(report(scratch.url(), &args), expected);

    let server = Server::start_url(scratch.url(), &["serve-once"], &[]);
    let body = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(server.url("/api/report?startDate=2025-09-07&endDate=2025-10-27&extended=1"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), expected.as_slice());
    assert!(server.wait().0.success());
}

#[test]
fn mariadb_period_rows_are_the_sums_of_their_hours() {
    for scenario in 0..report_fixture::periods::SCENARIOS.len() {
        let scratch = ScratchMysql::new();
        report_fixture::periods::fill(
            &mut MysqlStore::open(&MysqlUrl::parse(scratch.url(), "APR_DATABASE_URL")).unwrap(),
            scenario,
        );
        for by in ["day", "week", "month"] {
            report_fixture::periods::check_periods(scratch.url(), scenario, by);
        }
        // And the same bytes as SQLite in every format.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        report_fixture::periods::fill(
            &mut apr::store::sqlite::SqliteStore::open(&db).unwrap(),
            scenario,
        );
        let sqlite = format!("sqlite://{}", db.display());
        let range = report_fixture::periods::SCENARIOS[scenario].3;
        for format in ["csv", "json", "xlsx", "html"] {
            let args = [
                "--start-date",
                range[0],
                "--end-date",
                range[2],
                "--by",
                "week",
                "--totals",
                "--format",
                format,
            ];
            assert!(
                report(scratch.url(), &args) == report(&sqlite, &args),
                "{format}"
            );
        }
    }
}
