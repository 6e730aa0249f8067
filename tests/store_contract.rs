//! The `Store` contract, run unchanged against every backend: SQLite in a temporary directory
//! (`sqlite::*`), a scratch database on the local MariaDB (`mysql::*`) and one on the local
//! PostgreSQL (`postgres::*`). Every case is a
//! plain function over a [`Db`]; the `contract!` macro instantiates it once per backend.

mod support;

use std::collections::HashMap;

use apr::model::state;
use apr::model::{
    ActivityFilter, ActivityRow, AgentEvent, Buckets, CachedToken, CallStats, EventSource,
    HourCalls, HourFigures, HourStats, LoadBatch, StoredEvent,
};
use apr::store::{DatabaseUrl, Store};
use support::mysql::ScratchMysql;
use support::postgres::ScratchPostgres;

/// A database a case runs against; stores opened from it share its data.
enum Db {
    Sqlite(tempfile::TempDir),
    Mysql(ScratchMysql),
    Postgres(ScratchPostgres),
}

impl Db {
    fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    fn mysql() -> Db {
        Db::Mysql(ScratchMysql::new())
    }

    fn postgres() -> Db {
        Db::Postgres(ScratchPostgres::new())
    }

    fn url(&self) -> DatabaseUrl {
        match self {
            Db::Sqlite(dir) => DatabaseUrl::sqlite(dir.path().join("apr.db")),
            Db::Mysql(db) => DatabaseUrl::parse(db.url(), "APR_DATABASE_URL").unwrap(),
            Db::Postgres(db) => DatabaseUrl::parse(db.url(), "APR_DATABASE_URL").unwrap(),
        }
    }

    /// A new store (a new connection) on this database.
    fn open(&self) -> Box<dyn Store> {
        apr::store::open(&self.url()).expect("open store")
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::$case(&super::Db::sqlite()); } )*
        }
        mod mysql {
            $( #[test]
            fn $case() { super::$case(&super::Db::mysql()); } )*
        }
        mod postgres {
            $( #[test]
            fn $case() { super::$case(&super::Db::postgres()); } )*
        }
    };
}

contract!(
    open_records_the_schema_version_and_reopens_idempotently,
    loading_the_same_batch_twice_stores_nothing_new,
    reloading_a_batch_of_many_extensions_stores_nothing_new,
    ids_follow_the_listed_order,
    a_duplicate_inside_one_batch_is_stored_once,
    reloads_do_not_consume_ids,
    states_differing_only_in_case_are_distinct_events,
    keys_differing_only_in_trailing_spaces_are_distinct,
    batches_larger_than_one_statement_keep_order_and_counts,
    scan_events_excludes_both_bounds_and_orders_by_ts_then_id,
    stats_refetch_replaces_only_that_hour,
    stats_of_another_source_are_overwritten_not_duplicated,
    canonical_names_prefer_stats_and_newer_names,
    dirty_range_widens_and_data_until_never_moves_back,
    batch_state_is_committed_with_the_load,
    replace_activity_replaces_the_range_and_scan_filters_and_orders,
    replacing_with_an_empty_staging_database_empties_the_tables_and_keeps_meta_and_token,
    token_roundtrips_and_is_overwritten,
    meta_and_state_roundtrip,
    try_lock_is_exclusive_until_the_holder_drops,
    locks_are_scoped_to_the_database,
    earliest_data_covers_events_and_stats,
    hour_calls_returns_the_half_open_range,
    overlong_names_are_cut_to_their_column_width,
    overlong_keys_are_refused_alike_and_store_nothing,
    large_event_details_roundtrip,
    each_source_keeps_its_own_data_until,
    the_latest_activity_hour_and_the_queue_names_are_listed,
);

// ---------------------------------------------------------------------------------------
// Builders

fn ev(ext: &str, ts: i64, event: &str, enabled: bool, state: &str, name: &str) -> AgentEvent {
    AgentEvent {
        ext: ext.to_string(),
        ts,
        event: event.into(),
        enabled,
        state: state.to_string(),
        user_id: format!("u{ext}"),
        username: name.to_string(),
    }
}

fn idle(ext: &str, ts: i64) -> AgentEvent {
    ev(ext, ts, "agent_idle", true, "none", "")
}

fn calls(ext: &str, name: &str, total: i64, answered: i64) -> CallStats {
    CallStats {
        ext: ext.to_string(),
        name: name.to_string(),
        tags: "null".to_string(),
        total_calls: total,
        answered_calls: answered,
        not_available_detailed_report: "null".to_string(),
        ..Default::default()
    }
}

fn hour(hour_start: i64, records: Vec<CallStats>) -> HourStats {
    HourStats {
        hour_start,
        records,
    }
}

fn events_only(events: &[AgentEvent]) -> LoadBatch<'_> {
    LoadBatch {
        events,
        ..Default::default()
    }
}

fn stats_only(stats: &[HourStats]) -> LoadBatch<'_> {
    LoadBatch {
        stats,
        ..Default::default()
    }
}

fn activity(ext: &str, report_hour: i64, local: &str, idle_secs: i64) -> ActivityRow {
    ActivityRow {
        agent_ext: ext.to_string(),
        report_hour,
        report_hour_local: local.to_string(),
        agent_name: format!("Agent {ext}"),
        figures: HourFigures {
            buckets: Buckets {
                idle: idle_secs,
                talk: 60,
                lunch: 120,
                meeting: 30,
                unaccounted: 3600 - idle_secs - 210,
                ..Default::default()
            },
            idle_count: 2,
            notavail_count: 1,
            total_calls: 3,
            answered_calls: 2,
            failed_calls: 1,
            covered_secs: 3600,
        },
        complete: true,
        event_details: format!(r#"[{{"ext":"{ext}"}}]"#),
    }
}

fn all_events(store: &mut dyn Store) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    store
        .scan_events(i64::MIN, i64::MAX, &mut |e| out.push(e))
        .expect("scan_events");
    out
}

/// Stored events in id order, as `(ext, ts, event, enabled, state)`.
fn keys_by_id(store: &mut dyn Store) -> Vec<(String, i64, String, bool, String)> {
    let mut rows = all_events(store);
    rows.sort_by_key(|e| e.id);
    rows.into_iter()
        .map(|e| (e.ext, e.ts, e.event.to_string(), e.enabled, e.state))
        .collect()
}

fn key_of(e: &AgentEvent) -> (String, i64, String, bool, String) {
    (
        e.ext.clone(),
        e.ts,
        e.event.to_string(),
        e.enabled,
        e.state.clone(),
    )
}

fn scan(store: &mut dyn Store, filter: &ActivityFilter) -> Vec<ActivityRow> {
    let mut out = Vec::new();
    store
        .scan_activity(filter, &mut |r| {
            out.push(r);
            Ok(())
        })
        .expect("scan_activity");
    out
}

fn calls_sorted(store: &mut dyn Store, from: i64, to: i64) -> Vec<HourCalls> {
    let mut v = store.hour_calls(from, to).expect("hour_calls");
    v.sort_by(|a, b| (a.hour_start, &a.ext).cmp(&(b.hour_start, &b.ext)));
    v
}

fn hc(ext: &str, hour_start: i64, total: i64, answered: i64) -> HourCalls {
    HourCalls {
        ext: ext.to_string(),
        hour_start,
        total_calls: total,
        answered_calls: answered,
        source: EventSource::Api,
    }
}

fn state_i64(store: &mut dyn Store, key: &str) -> Option<i64> {
    store
        .state(key)
        .expect("state")
        .map(|v| v.parse().expect("numeric state"))
}

// ---------------------------------------------------------------------------------------
// Cases

fn open_records_the_schema_version_and_reopens_idempotently(db: &Db) {
    let mut store = db.open();
    assert_eq!(
        store.meta("schema_version").unwrap().as_deref(),
        Some(apr::store::SCHEMA_VERSION.to_string().as_str())
    );
    store.ping().unwrap();
    store.load(&events_only(&[idle("3001", 100)])).unwrap();
    drop(store);
    let mut again = db.open();
    assert_eq!(all_events(again.as_mut()).len(), 1);
    assert_eq!(
        again.backend(),
        match db {
            Db::Sqlite(_) => "sqlite",
            Db::Mysql(_) => "mysql",
            Db::Postgres(_) => "postgres",
        }
    );
}

fn loading_the_same_batch_twice_stores_nothing_new(db: &Db) {
    let mut store = db.open();
    let events = vec![
        ev("3001", 1000, "agent_login", true, "none", "Ann"),
        idle("3001", 1010),
        ev("3001", 1100, "agent_not_avail_state", true, "lunch", "Ann"),
        idle("3002", 1005),
    ];
    let stats = vec![hour(0, vec![calls("3001", "Ann", 4, 3)])];
    let batch = LoadBatch {
        events: &events,
        stats: &stats,
        source: EventSource::Api,
        ..Default::default()
    };
    let first = store.load(&batch).unwrap();
    assert_eq!(
        (first.events_new, first.events_seen, first.stats_rows),
        (4, 4, 1)
    );
    let rows = all_events(store.as_mut());
    let calls_before = calls_sorted(store.as_mut(), 0, 3600);

    let second = store.load(&batch).unwrap();
    assert_eq!(
        (second.events_new, second.events_seen, second.stats_rows),
        (0, 4, 1)
    );
    assert_eq!(all_events(store.as_mut()), rows);
    assert_eq!(calls_sorted(store.as_mut(), 0, 3600), calls_before);
    let counts: HashMap<_, _> = store.table_counts().unwrap().into_iter().collect();
    assert_eq!(counts["agent_events"], 4);
    assert_eq!(counts["users_calls"], 1);
}

fn reloading_a_batch_of_many_extensions_stores_nothing_new(db: &Db) {
    // More extensions than one statement's worth, some events stored by an earlier,
    // overlapping batch; over a short span (one page of a busy minute) and over two days
    // (MySQL looks stored keys up differently for the two).
    let mut store = db.open();
    for (base, step) in [(1_000, 0), (1_000_000, 97)] {
        let events: Vec<AgentEvent> = (0..1500)
            .map(|i| {
                idle(
                    &format!("{}", 20_000 + i),
                    base + i64::from(i % 50) + step * i64::from(i),
                )
            })
            .collect();
        let before = all_events(store.as_mut()).len();
        assert_eq!(
            store.load(&events_only(&events[..700])).unwrap().events_new,
            700
        );
        let out = store.load(&events_only(&events)).unwrap();
        assert_eq!((out.events_new, out.events_seen), (800, 1500));
        assert_eq!(store.load(&events_only(&events)).unwrap().events_new, 0);
        let expected: Vec<_> = events.iter().map(key_of).collect();
        assert_eq!(keys_by_id(store.as_mut())[before..], expected[..]);
    }
    // Rejected duplicates consumed no ids.
    let mut ids: Vec<i64> = all_events(store.as_mut()).iter().map(|e| e.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=3000).collect::<Vec<i64>>());
}

fn ids_follow_the_listed_order(db: &Db) {
    let mut store = db.open();
    // Listed out of timestamp order on purpose: ids are load order, not time order.
    let first = vec![idle("3001", 500), idle("3002", 100), idle("3001", 300)];
    store.load(&events_only(&first)).unwrap();
    // A later batch mixing stored and new events: only the new ones get (larger) ids.
    let second = vec![
        idle("3003", 50),
        idle("3002", 100),
        idle("3001", 400),
        idle("3001", 500),
    ];
    let out = store.load(&events_only(&second)).unwrap();
    assert_eq!(out.events_new, 2);
    let expected: Vec<_> = [&first[0], &first[1], &first[2], &second[0], &second[2]]
        .into_iter()
        .map(key_of)
        .collect();
    assert_eq!(keys_by_id(store.as_mut()), expected);
}

fn a_duplicate_inside_one_batch_is_stored_once(db: &Db) {
    let mut store = db.open();
    let mut dup = idle("3001", 200);
    dup.username = "Other name, same key".into();
    let events = vec![idle("3001", 200), idle("3002", 150), dup, idle("3001", 100)];
    let out = store.load(&events_only(&events)).unwrap();
    assert_eq!((out.events_new, out.events_seen), (3, 4));
    let expected: Vec<_> = [&events[0], &events[1], &events[3]]
        .into_iter()
        .map(key_of)
        .collect();
    assert_eq!(keys_by_id(store.as_mut()), expected);
}

fn reloads_do_not_consume_ids(db: &Db) {
    let mut store = db.open();
    let batch = vec![idle("3001", 100), idle("3001", 100), idle("3002", 100)];
    store.load(&events_only(&batch)).unwrap();
    store.load(&events_only(&batch)).unwrap();
    store
        .load(&events_only(&[idle("3001", 100), idle("3003", 90)]))
        .unwrap();
    let mut ids: Vec<i64> = all_events(store.as_mut()).iter().map(|e| e.id).collect();
    ids.sort_unstable();
    let first = ids[0];
    assert_eq!(ids, vec![first, first + 1, first + 2]);
}

fn states_differing_only_in_case_are_distinct_events(db: &Db) {
    let mut store = db.open();
    let events = vec![
        ev("3001", 100, "agent_not_avail_state", true, "lunch", ""),
        ev("3001", 100, "agent_not_avail_state", true, "Lunch", ""),
        ev("3001", 100, "Agent_Not_Avail_State", true, "lunch", ""),
        ev("3001", 100, "agent_not_avail_state", false, "lunch", ""),
    ];
    assert_eq!(store.load(&events_only(&events)).unwrap().events_new, 4);
    assert_eq!(store.load(&events_only(&events)).unwrap().events_new, 0);
    let states: Vec<String> = keys_by_id(store.as_mut())
        .into_iter()
        .map(|k| k.4)
        .collect();
    assert_eq!(states, ["lunch", "Lunch", "lunch", "lunch"]);
}

fn keys_differing_only_in_trailing_spaces_are_distinct(db: &Db) {
    // SQLite compares bytes; MySQL's PAD SPACE collations would call these equal.
    let mut store = db.open();
    let events = vec![
        ev("3001", 100, "agent_not_avail_state", true, "lunch", ""),
        ev("3001", 100, "agent_not_avail_state", true, "lunch ", ""),
        ev("3001 ", 100, "agent_not_avail_state", true, "lunch", ""),
    ];
    assert_eq!(store.load(&events_only(&events)).unwrap().events_new, 3);
    assert_eq!(store.load(&events_only(&events)).unwrap().events_new, 0);
    let expected: Vec<_> = events.iter().map(key_of).collect();
    assert_eq!(keys_by_id(store.as_mut()), expected);
}

fn batches_larger_than_one_statement_keep_order_and_counts(db: &Db) {
    let mut store = db.open();
    // Descending timestamps across many extensions, with every 7th event repeated.
    let mut events = Vec::new();
    for i in 0..1234i64 {
        events.push(idle(&format!("{}", 4000 + i % 37), 100_000 - i));
        if i % 7 == 0 {
            events.push(idle(&format!("{}", 4000 + i % 37), 100_000 - i));
        }
    }
    let records: Vec<CallStats> = (0..777)
        .map(|i| calls(&format!("{}", 5000 + i), &format!("N{i}"), i, i / 2))
        .collect();
    let stats = vec![hour(7200, records)];
    let batch = LoadBatch {
        events: &events,
        stats: &stats,
        ..Default::default()
    };
    let out = store.load(&batch).unwrap();
    assert_eq!(out.events_seen, events.len() as u64);
    assert_eq!(out.events_new, 1234);
    assert_eq!(out.stats_rows, 777);
    let mut unique = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in &events {
        if seen.insert(key_of(e)) {
            unique.push(key_of(e));
        }
    }
    assert_eq!(keys_by_id(store.as_mut()), unique);
    assert_eq!(store.hour_calls(7200, 10800).unwrap().len(), 777);
    assert_eq!(store.agent_names().unwrap().len(), 777);
    let rows: Vec<ActivityRow> = (0..600)
        .map(|i| activity(&format!("{}", 6000 + i), 7200, "1970-01-01 02:00", 100))
        .collect();
    store.replace_activity(0, 10800, &rows, &[]).unwrap();
    let got = scan(
        store.as_mut(),
        &ActivityFilter {
            from_local: "1970".into(),
            to_local: "1971".into(),
            exts: vec![],
        },
    );
    assert_eq!(got, rows);
}

fn scan_events_excludes_both_bounds_and_orders_by_ts_then_id(db: &Db) {
    let mut store = db.open();
    let events = vec![
        idle("3002", 200),
        idle("3001", 300),
        idle("3001", 200),
        idle("3003", 100),
        idle("3003", 400),
    ];
    store.load(&events_only(&events)).unwrap();
    let mut got = Vec::new();
    store
        .scan_events(100, 400, &mut |e| got.push((e.ts, e.ext, e.id)))
        .unwrap();
    let tail: Vec<(i64, String)> = got.iter().map(|(ts, x, _)| (*ts, x.clone())).collect();
    assert_eq!(
        tail,
        [
            (200, "3002".to_string()),
            (200, "3001".to_string()),
            (300, "3001".to_string())
        ]
    );
    assert!(got[0].2 < got[1].2, "equal timestamps come in id order");
    let stored = all_events(store.as_mut());
    let e = stored.iter().find(|e| e.ts == 300).unwrap();
    assert_eq!(
        (e.event.as_str(), e.enabled, e.state.as_str()),
        ("agent_idle", true, "none")
    );
}

fn stats_refetch_replaces_only_that_hour(db: &Db) {
    let mut store = db.open();
    let first = vec![
        hour(
            3600,
            vec![calls("3001", "Ann", 5, 4), calls("3002", "Bob", 2, 2)],
        ),
        hour(
            7200,
            vec![calls("3001", "Ann", 1, 1), calls("3002", "Bob", 9, 8)],
        ),
    ];
    assert_eq!(store.load(&stats_only(&first)).unwrap().stats_rows, 4);
    // The hour 3600 fetched again: 3002 is gone from it, 3001 changed.
    let refetch = vec![hour(3600, vec![calls("3001", "Ann", 6, 5)])];
    assert_eq!(store.load(&stats_only(&refetch)).unwrap().stats_rows, 1);
    assert_eq!(
        calls_sorted(store.as_mut(), 0, 100_000),
        vec![
            hc("3001", 3600, 6, 5),
            hc("3001", 7200, 1, 1),
            hc("3002", 7200, 9, 8)
        ]
    );
    // An empty re-fetch empties the hour.
    store.load(&stats_only(&[hour(7200, Vec::new())])).unwrap();
    assert_eq!(
        calls_sorted(store.as_mut(), 0, 100_000),
        vec![hc("3001", 3600, 6, 5)]
    );
}

fn stats_of_another_source_are_overwritten_not_duplicated(db: &Db) {
    let mut store = db.open();
    let api = vec![hour(3600, vec![calls("3001", "Ann", 5, 4)])];
    store.load(&stats_only(&api)).unwrap();
    let ql = vec![hour(3600, vec![calls("3001", "Ann", 7, 7)])];
    let out = store
        .load(&LoadBatch {
            stats: &ql,
            source: EventSource::QueueLog,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(out.stats_rows, 1);
    assert_eq!(
        calls_sorted(store.as_mut(), 0, 100_000),
        vec![HourCalls {
            source: EventSource::QueueLog,
            ..hc("3001", 3600, 7, 7)
        }]
    );
}

fn canonical_names_prefer_stats_and_newer_names(db: &Db) {
    let mut store = db.open();
    let events = vec![
        ev("3001", 100, "agent_idle", true, "none", "Event Ann"),
        ev("3002", 100, "agent_idle", true, "none", "Old Bob"),
        ev("3002", 200, "agent_idle", true, "none", "New Bob"),
        ev("3004", 100, "agent_idle", true, "none", "Only Events"),
        ev("3005", 100, "agent_idle", true, "none", ""),
    ];
    let stats = vec![
        hour(0, vec![calls("3001", "Stats Ann", 1, 1)]),
        hour(3600, vec![calls("3003", "Cy Newer", 1, 1)]),
    ];
    store
        .load(&LoadBatch {
            events: &events,
            stats: &stats,
            ..Default::default()
        })
        .unwrap();
    // Older sightings in later loads do not win; newer ones do.
    let later_events = vec![
        ev("3002", 50, "agent_idle", true, "none", "Ancient Bob"),
        ev("3004", 300, "agent_idle", true, "none", "Renamed"),
    ];
    let later_stats = vec![hour(0, vec![calls("3003", "Cy Older", 1, 1)])];
    store
        .load(&LoadBatch {
            events: &later_events,
            stats: &later_stats,
            ..Default::default()
        })
        .unwrap();
    let names = store.agent_names().unwrap();
    assert_eq!(names["3001"], "Stats Ann");
    assert_eq!(names["3002"], "New Bob");
    assert_eq!(names["3003"], "Cy Newer");
    assert_eq!(names["3004"], "Renamed");
    // Never named: no canonical name stored (callers show `Unknown`).
    assert_eq!(names.get("3005"), None);
    assert_eq!(names.len(), 4);
}

fn dirty_range_widens_and_data_until_never_moves_back(db: &Db) {
    let mut store = db.open();
    let s = store.as_mut();
    let first = vec![idle("3001", 1000), idle("3001", 2000)];
    s.load(&LoadBatch {
        events: &first,
        data_until: Some(3000),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(state_i64(s, state::DIRTY_FROM.name()), Some(1000));
    assert_eq!(state_i64(s, state::DIRTY_TO.name()), Some(3000));
    assert_eq!(state_i64(s, state::API_DATA_UNTIL.name()), Some(3000));

    // Late data with an older data_until: the range widens back, data_until stays.
    let late = vec![idle("3002", 500)];
    s.load(&LoadBatch {
        events: &late,
        data_until: Some(2500),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(state_i64(s, state::DIRTY_FROM.name()), Some(500));
    assert_eq!(state_i64(s, state::DIRTY_TO.name()), Some(3000));
    assert_eq!(state_i64(s, state::API_DATA_UNTIL.name()), Some(3000));

    // Only time passing: the newly covered span becomes dirty.
    s.load(&LoadBatch {
        data_until: Some(4000),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(state_i64(s, state::DIRTY_FROM.name()), Some(500));
    assert_eq!(state_i64(s, state::DIRTY_TO.name()), Some(4000));
    assert_eq!(state_i64(s, state::API_DATA_UNTIL.name()), Some(4000));

    // Stats hours count as touched instants too.
    s.load(&stats_only(&[hour(7200, vec![calls("3001", "A", 1, 1)])]))
        .unwrap();
    assert_eq!(state_i64(s, state::DIRTY_TO.name()), Some(7200));
}

fn batch_state_is_committed_with_the_load(db: &Db) {
    let mut store = db.open();
    store
        .set_state(state::COLLECT_EVENTS_UNTIL.name(), "100")
        .unwrap();
    let events = vec![idle("3001", 150)];
    store
        .load(&LoadBatch {
            events: &events,
            state: vec![
                (
                    state::COLLECT_EVENTS_UNTIL.name().to_string(),
                    "200".to_string(),
                ),
                ("queue_log./var/log/q".to_string(), "4096".to_string()),
            ],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        store
            .state(state::COLLECT_EVENTS_UNTIL.name())
            .unwrap()
            .as_deref(),
        Some("200")
    );
    assert_eq!(
        store.state("queue_log./var/log/q").unwrap().as_deref(),
        Some("4096")
    );
}

fn replace_activity_replaces_the_range_and_scan_filters_and_orders(db: &Db) {
    let mut store = db.open();
    let (h0, h1, h2) = (1_757_203_200, 1_757_206_800, 1_757_210_400);
    let (l0, l1, l2) = ("2025-09-07 00:00", "2025-09-07 01:00", "2025-09-07 02:00");
    // Inserted out of order; scans come by report_hour, then ext (byte order).
    let rows = vec![
        activity("3002", h1, l1, 10),
        activity("3001", h1, l1, 20),
        activity("10", h1, l1, 30),
        activity("3002", h0, l0, 40),
        activity("3001", h2, l2, 50),
    ];
    store
        .replace_activity(
            h0,
            h2 + 3600,
            &rows,
            &[("aggregate.last".into(), "x".into())],
        )
        .unwrap();
    assert_eq!(store.state("aggregate.last").unwrap().as_deref(), Some("x"));
    let window = |exts: &[&str]| ActivityFilter {
        from_local: l0.to_string(),
        to_local: l2.to_string(),
        exts: exts.iter().map(|e| e.to_string()).collect(),
    };
    let got = scan(store.as_mut(), &window(&[]));
    assert_eq!(
        got,
        vec![
            rows[3].clone(),
            rows[2].clone(),
            rows[1].clone(),
            rows[0].clone()
        ]
    );
    let got = scan(store.as_mut(), &window(&["3002", "10", "9999"]));
    assert_eq!(got, vec![rows[3].clone(), rows[2].clone(), rows[0].clone()]);

    // Re-aggregating hour 1 with only 3001 left: the others disappear from that hour only.
    let mut redo = activity("3001", h1, l1, 25);
    redo.complete = false;
    redo.figures.covered_secs = 1800;
    store
        .replace_activity(h1, h1 + 3600, std::slice::from_ref(&redo), &[])
        .unwrap();
    let all = ActivityFilter {
        from_local: "2025-09-07".into(),
        to_local: "2025-09-08".into(),
        exts: vec![],
    };
    assert_eq!(
        scan(store.as_mut(), &all),
        vec![rows[3].clone(), redo, rows[4].clone()]
    );

    // The callback's error stops the scan and is returned.
    let mut seen = 0;
    let err = store
        .scan_activity(&all, &mut |_| {
            seen += 1;
            Err(apr::Error::input("stop"))
        })
        .unwrap_err();
    assert_eq!((seen, err.to_string()), (1, "stop".to_string()));
    // The store is still usable after an abandoned scan.
    assert_eq!(scan(store.as_mut(), &all).len(), 3);
}

fn the_latest_activity_hour_and_the_queue_names_are_listed(db: &Db) {
    let mut store = db.open();
    assert_eq!(store.latest_activity_hour().unwrap(), None);
    let queues = |store: &mut dyn Store| store.queue_store().unwrap().queue_names().unwrap();
    assert!(queues(store.as_mut()).is_empty());
    let (h0, h2) = (1_757_203_200, 1_757_210_400);
    let rows = vec![
        activity("3001", h2, "2025-09-07 02:00", 10),
        activity("3002", h0, "2025-09-07 00:00", 20),
    ];
    store.replace_activity(h0, h2 + 3600, &rows, &[]).unwrap();
    assert_eq!(store.latest_activity_hour().unwrap(), Some(h2));
    load_queue_line(store.as_mut());
    assert_eq!(queues(store.as_mut()), ["sales"]);
}

fn replacing_with_an_empty_staging_database_empties_the_tables_and_keeps_meta_and_token(db: &Db) {
    let mut store = db.open();
    let events = vec![ev("3001", 100, "agent_idle", true, "none", "Ann")];
    let stats = vec![hour(0, vec![calls("3001", "Ann", 1, 1)])];
    store
        .load(&LoadBatch {
            events: &events,
            stats: &stats,
            data_until: Some(200),
            ..Default::default()
        })
        .unwrap();
    store
        .replace_activity(0, 3600, &[activity("3001", 0, "1970-01-01 00:00", 5)], &[])
        .unwrap();
    let token = CachedToken {
        access_token: "a".into(),
        refresh_token: "r".into(),
        expires_at: 9,
    };
    store.set_token(&token).unwrap();
    store.set_meta("timezone", "Asia/Dubai").unwrap();
    load_queue_line(store.as_mut());
    let names: Vec<&str> = vec![
        "agent_events",
        "users_calls",
        "agent_activity",
        "agent_live",
        "agents",
        "etl_state",
        "queue_log",
        "queue_calls",
        "queue_log_rejects",
        "queue_log_state",
    ];
    let before = store.table_counts().unwrap();
    assert_eq!(before.iter().map(|c| c.0).collect::<Vec<_>>(), names);
    // `agent_live` is written by an aggregation that reaches the newest data, which this
    // test does not run; every other table holds rows before the swap.
    assert!(
        before.iter().all(|c| c.1 > 0 || c.0 == "agent_live"),
        "{before:?}"
    );

    let staging_dir = tempfile::tempdir().unwrap();
    let staging = staging_dir.path().join("staging.db");
    drop(apr::store::sqlite::SqliteStore::open(&staging).unwrap());
    store.replace_with(&staging).unwrap();
    let after = store.table_counts().unwrap();
    assert_eq!(after, names.iter().map(|n| (*n, 0u64)).collect::<Vec<_>>());
    assert_eq!(store.earliest_data().unwrap(), None);
    assert_eq!(
        store.meta("timezone").unwrap().as_deref(),
        Some("Asia/Dubai")
    );
    assert_eq!(store.token().unwrap(), Some(token));
    // Loading after a wipe counts the events as new again, with load-order ids from 1.
    assert_eq!(store.load(&events_only(&events)).unwrap().events_new, 1);
    assert_eq!(all_events(store.as_mut())[0].id, 1);
}

/// One raw queue_log line, one reject and one stint, through the queue store.
fn load_queue_line(store: &mut dyn Store) {
    use apr::model::queue::{ChunkWrites, RawLine, RejectRow};
    use apr::model::queue::{Outcome, Stint};
    let line = RawLine {
        time: 100,
        hash: 7,
        callid: "c1",
        queuename: "sales",
        agent: "NONE",
        event: "ABANDON",
        data: ["1", "1", "5", "", ""],
    };
    let reject = RejectRow {
        file: "queue_log",
        line_no: 2,
        hash: 8,
        reason: "too few fields".into(),
        line: "x",
    };
    let stint = Stint {
        callid: "c1".into(),
        queue: "sales".into(),
        enter_time: 95,
        enter_hour: 0,
        enter_hour_local: "1970-01-01 00:00".into(),
        caller_number: "555".into(),
        caller_name: String::new(),
        entry_position: Some(1),
        outcome: Some(Outcome::Abandon),
        agent: String::new(),
        wait_secs: Some(5),
        talk_secs: None,
        ring_attempts: 0,
        end_time: Some(100),
        hangup_by: None,
        did: String::new(),
        rings: Vec::new(),
        pending: false,
    };
    let out = store
        .queue_store()
        .expect("every backend has the queue tables")
        .load_queue_chunk(
            &[line],
            &[reject],
            &mut |new| {
                assert_eq!(new, [true]);
                Ok(ChunkWrites {
                    stints: vec![stint.clone()],
                    queue_state: vec![("queue_log.derive_state".into(), "{}".into())],
                    ..Default::default()
                })
            },
            &mut |_, _| unreachable!("no ring hours"),
        )
        .unwrap();
    assert_eq!(
        (out.lines_new, out.rejects_new, out.stints_written),
        (1, 1, 1)
    );
}

fn token_roundtrips_and_is_overwritten(db: &Db) {
    let mut store = db.open();
    assert_eq!(store.token().unwrap(), None);
    let first = CachedToken {
        access_token: "eyJ.access".into(),
        refresh_token: "refresh-1".into(),
        expires_at: 1_757_203_200,
    };
    store.set_token(&first).unwrap();
    assert_eq!(store.token().unwrap(), Some(first));
    let second = CachedToken {
        access_token: "eyJ.other".into(),
        refresh_token: "refresh-2".into(),
        expires_at: 1_757_206_800,
    };
    store.set_token(&second).unwrap();
    drop(store);
    assert_eq!(db.open().token().unwrap(), Some(second));
}

fn meta_and_state_roundtrip(db: &Db) {
    let mut store = db.open();
    assert_eq!(store.meta("timezone").unwrap(), None);
    store.set_meta("timezone", "Asia/Kolkata").unwrap();
    store.set_meta("timezone", "Europe/London").unwrap();
    assert_eq!(
        store.meta("timezone").unwrap().as_deref(),
        Some("Europe/London")
    );
    assert_eq!(store.state("k").unwrap(), None);
    store.set_state("k", "1").unwrap();
    store.set_state("k", "ünïcødé 2").unwrap();
    assert_eq!(store.state("k").unwrap().as_deref(), Some("ünïcødé 2"));
    assert_eq!(store.state("K").unwrap(), None, "keys are case-exact");
}

fn try_lock_is_exclusive_until_the_holder_drops(db: &Db) {
    let mut holder = db.open();
    let mut other = db.open();
    assert!(holder.try_lock("collect").unwrap());
    assert!(!other.try_lock("collect").unwrap());
    assert!(!holder.try_lock("collect").unwrap(), "not re-entrant");
    assert!(
        other.try_lock("aggregate").unwrap(),
        "names are independent"
    );
    drop(holder);
    assert!(other.try_lock("collect").unwrap());
    let mut third = db.open();
    assert!(!third.try_lock("collect").unwrap());
}

fn locks_are_scoped_to_the_database(db: &Db) {
    let elsewhere = match db {
        Db::Sqlite(_) => Db::sqlite(),
        Db::Mysql(_) => Db::mysql(),
        Db::Postgres(_) => Db::postgres(),
    };
    let mut a = db.open();
    let mut b = elsewhere.open();
    assert!(a.try_lock("collect").unwrap());
    assert!(b.try_lock("collect").unwrap());
    // A long name still locks (MySQL caps lock names at 64 characters).
    let long = "x".repeat(100);
    assert!(a.try_lock(&long).unwrap());
    assert!(!db.open().try_lock(&long).unwrap());
}

fn earliest_data_covers_events_and_stats(db: &Db) {
    let mut store = db.open();
    assert_eq!(store.earliest_data().unwrap(), None);
    store
        .load(&stats_only(&[hour(7200, vec![calls("3001", "A", 1, 1)])]))
        .unwrap();
    assert_eq!(store.earliest_data().unwrap(), Some(7200));
    store
        .load(&events_only(&[idle("3001", 9000), idle("3002", 5000)]))
        .unwrap();
    assert_eq!(store.earliest_data().unwrap(), Some(5000));
}

fn hour_calls_returns_the_half_open_range(db: &Db) {
    let mut store = db.open();
    let stats = vec![
        hour(0, vec![calls("3001", "A", 1, 0)]),
        hour(
            3600,
            vec![calls("3001", "A", 2, 1), calls("3002", "B", 3, 3)],
        ),
        hour(7200, vec![calls("3001", "A", 4, 2)]),
    ];
    store.load(&stats_only(&stats)).unwrap();
    assert_eq!(
        calls_sorted(store.as_mut(), 3600, 7200),
        vec![hc("3001", 3600, 2, 1), hc("3002", 3600, 3, 3)]
    );
    assert_eq!(calls_sorted(store.as_mut(), 0, 7201).len(), 4);
    assert_eq!(calls_sorted(store.as_mut(), 7201, 100_000), vec![]);
}

fn overlong_names_are_cut_to_their_column_width(db: &Db) {
    // MySQL refuses a value longer than its VARCHAR; SQLite would keep it. Both cut names
    // (display text, no part of a key) to the column's 255 characters instead of failing.
    let mut store = db.open();
    let mut long_event = ev("3001", 100, "agent_idle", true, "none", &"n".repeat(300));
    long_event.user_id = "u".repeat(100);
    let mut stat = calls("3002", &"é".repeat(300), 1, 1);
    stat.callee_id_name = "c".repeat(256);
    let events = vec![long_event];
    let stats = vec![hour(0, vec![stat])];
    let out = store
        .load(&LoadBatch {
            events: &events,
            stats: &stats,
            ..Default::default()
        })
        .unwrap();
    assert_eq!((out.events_new, out.stats_rows), (1, 1));
    let names = store.agent_names().unwrap();
    assert_eq!(names["3001"], "n".repeat(255));
    assert_eq!(names["3002"], "é".repeat(255));
    let mut row = activity("3001", 0, "1970-01-01 00:00", 5);
    row.agent_name = "a".repeat(400);
    store
        .replace_activity(0, 3600, std::slice::from_ref(&row), &[])
        .unwrap();
    let got = scan(
        store.as_mut(),
        &ActivityFilter {
            from_local: "1970".into(),
            to_local: "1971".into(),
            exts: vec![],
        },
    );
    assert_eq!(got[0].agent_name, "a".repeat(255));
    // Loading the same event again is still recognised as a duplicate.
    assert_eq!(store.load(&events_only(&events)).unwrap().events_new, 0);
}

fn overlong_keys_are_refused_alike_and_store_nothing(db: &Db) {
    // A key value longer than its column: MySQL refused it with "Data too long" while
    // SQLite kept it (issue 15.3). Cutting it could merge two keys, so both backends refuse
    // the batch alike, in one line naming the column, and store nothing of it.
    let mut store = db.open();
    let long_ext = "7".repeat(70);
    let long_state = "s".repeat(129);
    let events = [idle(&long_ext, 100)];
    let reasons = [ev(
        "3001",
        100,
        "agent_not_avail_state",
        true,
        &long_state,
        "A",
    )];
    let stats = [hour(0, vec![calls(&long_ext, "A", 1, 1)])];
    for (batch, column) in [
        (events_only(&events), "agent_events.ext"),
        (events_only(&reasons), "agent_events.state"),
        (stats_only(&stats), "users_calls.ext"),
    ] {
        let e = store.load(&batch).unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.exit_code(), 2, "{msg}");
        assert!(msg.contains(column) && !msg.contains('\n'), "{msg}");
    }
    let counts: Vec<(&str, u64)> = store
        .table_summaries()
        .unwrap()
        .iter()
        .filter(|t| ["agent_events", "users_calls", "agents", "etl_state"].contains(&t.table))
        .map(|t| (t.table, t.rows))
        .collect();
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
    // At the width itself, both store it.
    let fits = [idle(&"7".repeat(64), 100)];
    assert_eq!(store.load(&events_only(&fits)).unwrap().events_new, 1);
}

fn large_event_details_roundtrip(db: &Db) {
    // A flapping agent's hour can list thousands of events: more than MySQL's 64 KiB TEXT.
    let mut store = db.open();
    let mut row = activity("3001", 0, "1970-01-01 00:00", 5);
    let one = r#"{"ts":1757203200,"event":"agent_idle","enabled":true,"state":"available"},"#;
    row.event_details = format!("[{}]", one.repeat(3000).trim_end_matches(','));
    assert!(row.event_details.len() > 200_000);
    store
        .replace_activity(0, 3600, std::slice::from_ref(&row), &[])
        .unwrap();
    let got = scan(
        store.as_mut(),
        &ActivityFilter {
            from_local: "1970".into(),
            to_local: "1971".into(),
            exts: vec![],
        },
    );
    assert_eq!(got, vec![row]);
}

// ---------------------------------------------------------------------------------------
// MySQL-only: opening errors are one line, helpful, and never show the password.

#[test]
fn mysql_open_names_a_missing_database_and_says_to_create_it() {
    let server = ScratchMysql::new();
    let missing = format!("{}_missing", server.name());
    let url = server.url().replace(server.name(), &missing);
    let err = apr::store::open(&DatabaseUrl::parse(&url, "APR_DATABASE_URL").unwrap())
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains(&missing) && msg.contains("CREATE DATABASE") && !msg.contains('\n'),
        "{msg}"
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn mysql_open_errors_redact_the_password() {
    let server = ScratchMysql::new();
    // An unknown user with a password: the server refuses the login.
    let scratch = server.url();
    let host_start = scratch.find("://").unwrap() + 3;
    let host = match scratch[host_start..].find('@') {
        Some(at) => &scratch[host_start + at + 1..],
        None => &scratch[host_start..],
    };
    let url = format!("mysql://apr_no_such_user:s3cr3t-pw@{host}");
    let msg = apr::store::open(&DatabaseUrl::parse(&url, "APR_DATABASE_URL").unwrap())
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        !msg.contains("s3cr3t-pw") && msg.contains("apr_no_such_user:***@") && !msg.contains('\n'),
        "{msg}"
    );
}

#[test]
fn scratch_databases_are_dropped_even_when_the_test_panics() {
    let name = std::thread::spawn(|| {
        let scratch = ScratchMysql::new();
        let name = scratch.name().to_string();
        std::panic::panic_any(name);
    })
    .join()
    .expect_err("the thread panicked")
    .downcast::<String>()
    .expect("panic payload is the database name");
    let mut probe = ScratchMysql::new();
    let probe_name = probe.name().to_string();
    let left: Option<String> = ::mysql::prelude::Queryable::exec_first(
        probe.admin(),
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        (name.as_str(),),
    )
    .unwrap();
    assert_eq!(left, None, "{name} was not dropped");
    let own: Option<String> = ::mysql::prelude::Queryable::exec_first(
        probe.admin(),
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        (probe_name.as_str(),),
    )
    .unwrap();
    assert_eq!(own, Some(probe_name));
}

#[test]
fn mysql_open_requires_a_database_name() {
    let msg = apr::store::open(
        &DatabaseUrl::parse("mysql://root:pw@127.0.0.1:3306/", "APR_DATABASE_URL").unwrap(),
    )
    .err()
    .expect("must fail")
    .to_string();
    assert!(
        msg.contains("names no database") && msg.contains("root:***@"),
        "{msg}"
    );
}

/// SPEC §9: loading queue_log never extends an API agent's hour in progress, nor the
/// reverse; each agent is covered up to its own sources' data until.
fn each_source_keeps_its_own_data_until(db: &Db) {
    use apr::aggregate::{AggregateOptions, Scope, aggregate};
    let mut store = db.open();
    let api = vec![ev("3001", 7300, "agent_idle", true, "none", "Ann")];
    store
        .load(&LoadBatch {
            events: &api,
            data_until: Some(7200 + 1200),
            ..Default::default()
        })
        .unwrap();
    let ql = vec![ev("201", 7250, "agent_idle", true, "none", "Bob")];
    store
        .load(&LoadBatch {
            events: &ql,
            source: EventSource::QueueLog,
            data_until: Some(7200 + 3000),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        store
            .state(state::API_DATA_UNTIL.name())
            .unwrap()
            .as_deref(),
        Some("8400")
    );
    assert_eq!(
        store
            .state(state::QUEUE_LOG_DATA_UNTIL.name())
            .unwrap()
            .as_deref(),
        Some("10200")
    );
    let opts = AggregateOptions {
        scope: Scope::All,
        max_carry: 86_400,
        state_map: Default::default(),
    };
    aggregate(store.as_mut(), apr::hours::Zone::UTC, &opts).unwrap();
    let mut covered = HashMap::new();
    store
        .scan_activity(
            &ActivityFilter {
                from_local: "1970-01-01 00:00".into(),
                to_local: "1970-01-02 00:00".into(),
                exts: vec![],
            },
            &mut |r| {
                assert_eq!(r.figures.buckets.total(), r.figures.covered_secs);
                covered.insert(
                    (r.agent_ext.clone(), r.report_hour),
                    (r.figures.covered_secs, r.complete),
                );
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(
        covered.get(&("3001".to_string(), 7200)),
        Some(&(1200, false))
    );
    assert_eq!(
        covered.get(&("201".to_string(), 7200)),
        Some(&(3000, false))
    );
    // A later queue_log load moves only its own clock.
    let more = vec![ev("201", 9000, "agent_idle", false, "none", "Bob")];
    store
        .load(&LoadBatch {
            events: &more,
            source: EventSource::QueueLog,
            data_until: Some(7200 + 3500),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        store
            .state(state::API_DATA_UNTIL.name())
            .unwrap()
            .as_deref(),
        Some("8400")
    );
}

/// Issue 13: the server going away mid-run is one line naming the database and what to
/// do, not the driver's debug text.
#[test]
fn mysql_a_lost_connection_is_one_line_naming_the_database() {
    let mut scratch = ScratchMysql::new();
    let mut store =
        apr::store::open(&DatabaseUrl::parse(scratch.url(), "APR_DATABASE_URL").unwrap()).unwrap();
    let name = scratch.name().to_string();
    let ids: Vec<u64> = ::mysql::prelude::Queryable::exec(
        scratch.admin(),
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?",
        (name.as_str(),),
    )
    .unwrap();
    assert!(!ids.is_empty());
    for id in ids {
        ::mysql::prelude::Queryable::query_drop(scratch.admin(), format!("KILL {id}")).unwrap();
    }
    let events = vec![ev("3001", 100, "agent_idle", true, "none", "Ann")];
    let err = store.load(&events_only(&events)).unwrap_err().to_string();
    assert!(
        err.starts_with("lost the connection to MySQL database mysql://") && err.contains(&name),
        "{err}"
    );
    assert!(
        err.contains("run again") && !err.contains('{') && !err.contains('\n'),
        "{err}"
    );
}
