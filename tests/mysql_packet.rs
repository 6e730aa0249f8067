//! Multi-row statements on MySQL/MariaDB fit the server's `max_allowed_packet`: on a server
//! of the test's own started with `--max-allowed-packet=1M`, loads whose statements exceed
//! 1 MiB at a fixed row count (the former 500 rows per statement) succeed and store every
//! row. Needs the tests' MariaDB, like the other MySQL tests.

mod support;

use apr::model::{ActivityFilter, ActivityRow, Buckets, HourFigures, LoadBatch};
use apr::store::DatabaseUrl;
use support::mariadb::Mariadb;
use support::rows::mysql_rows;

/// 2025-08-20 00:00 UTC.
const START: i64 = 1_755_648_000;

fn row(ext: usize, hour: i64, details: String) -> ActivityRow {
    ActivityRow {
        agent_ext: ext.to_string(),
        report_hour: hour,
        report_hour_local: apr::hours::Zone::UTC.hour_label(hour),
        agent_name: format!("Agent {ext}"),
        figures: HourFigures {
            buckets: Buckets {
                idle: 3600,
                ..Default::default()
            },
            idle_count: 1,
            notavail_count: 0,
            total_calls: 0,
            answered_calls: 0,
            failed_calls: 0,
            covered_secs: 3600,
        },
        complete: true,
        event_details: details,
    }
}

#[test]
fn statements_fit_a_one_mebibyte_max_allowed_packet() {
    let server = Mariadb::install(&["--max-allowed-packet=1M"]);
    server.create_database("apr");
    let url = server.url("apr");
    assert_eq!(
        mysql_rows(&url, "SELECT @@max_allowed_packet"),
        [(1 << 20).to_string()]
    );
    let mut store =
        apr::store::open(&DatabaseUrl::parse(&url, "APR_DATABASE_URL").unwrap()).unwrap();

    // 1,000 agent-hours with 4 KiB drill-downs: 500 of them are 2 MiB, twice the packet;
    // and one row of 700 KiB, more than half the packet on its own.
    let details = |n: usize| format!("[{}]", vec![r#"[1,"idle",1,"available"]"#; n].join(","));
    let mut rows: Vec<ActivityRow> = (0..1000)
        .map(|i| {
            row(
                1000 + i % 100,
                START + (i / 100) as i64 * 3600,
                details(180),
            )
        })
        .collect();
    rows.push(row(5000, START, details(30_000)));
    assert!(
        rows[..500]
            .iter()
            .map(|r| r.event_details.len())
            .sum::<usize>()
            > 2 << 20
    );
    assert!(rows[1000].event_details.len() > 700 << 10);
    store
        .replace_activity(START, START + 10 * 3600, &rows, &[])
        .unwrap();
    assert_eq!(
        mysql_rows(
            &url,
            "SELECT COUNT(*), SUM(LENGTH(event_details)) FROM agent_activity"
        ),
        [format!(
            "{}|{}",
            rows.len(),
            rows.iter().map(|r| r.event_details.len()).sum::<usize>()
        )]
    );
    let mut back = Vec::new();
    let filter = ActivityFilter {
        from_local: String::new(),
        to_local: "~".into(),
        exts: vec![],
    };
    store
        .scan_activity(&filter, &mut |r| {
            back.push(r);
            Ok(())
        })
        .unwrap();
    back.sort_by_key(|r| (r.agent_ext.clone(), r.report_hour));
    rows.sort_by_key(|r| (r.agent_ext.clone(), r.report_hour));
    assert_eq!(back, rows);

    // A batch of events with long names: 4,096 rows per statement would be over 1 MiB.
    let mut events = apr::synth::day_of_events(40, 250, START, 7);
    for e in &mut events {
        e.username = format!("{:>250}", e.ext);
    }
    let expected = events.len();
    assert!(expected > 8000, "{expected} events");
    let outcome = store
        .load(&LoadBatch {
            events: &events,
            data_until: Some(START + 86_400),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(outcome.events_new as usize, expected);
    assert_eq!(
        mysql_rows(&url, "SELECT COUNT(*) FROM agent_events"),
        [expected.to_string()]
    );
}
