//! Aggregation speed (SPEC §8): one day of a 2,000-agent center (~1 M events, 48,000
//! agent-hours), on SQLite (target under 3 s on one core) and on MariaDB (`aggregate
//! --rebuild` under 2.5 s). Beside the aggregation itself it measures the floor: the ordered
//! read of the day's events alone, and the write of the day's rows alone. Then the storage:
//! bytes per event and per agent-hour of every table and index (SQLite: the `dbstat`
//! virtual table; MariaDB: `mysql.innodb_index_stats` after `ANALYZE TABLE`), and what the
//! `event_details` column holds (the compact encoding of schema 4) against the JSON objects
//! schema 3 stored for the same drill-down.
//!
//! Last, the schema 3 → 4 upgrade of the day: the drill-downs put back as schema 3 stored them,
//! then the store opened again, which rewrites them in the compact form.
//!
//! Run: `cargo bench --bench aggregate`.
//! - `APR_BENCH_AGENTS` scales the center down (default 2,000).
//! - `APR_BENCH_BACKENDS=sqlite` (or `mysql`, or `postgres`) runs those backends only
//!   (default sqlite,mysql). PostgreSQL has no older schema: its run ends with the storage.
//! - The MariaDB server is the tests' one (`APR_TEST_MYSQL_URL`, else root@127.0.0.1:3306);
//!   the bench works in a scratch database dropped afterwards.

#[allow(dead_code)]
#[path = "../tests/support/mysql.rs"]
mod scratch;

#[allow(dead_code)]
#[path = "../tests/support/postgres.rs"]
mod scratch_pg;

#[path = "support/clock.rs"]
mod clock;

use clock::{Stage, server_pid};
use std::time::Instant;

use apr::aggregate::categories::StateMap;
use apr::aggregate::{AggregateOptions, DEFAULT_MAX_CARRY, Scope, aggregate};
use apr::hours::Zone;
use apr::model::LoadBatch;
use apr::model::{ActivityFilter, ActivityRow, AgentEvent, HourStats};
use apr::store::{DatabaseUrl, Store};

/// 2025-08-20 00:00 UTC.
const START: i64 = 1_755_648_000;

/// Bytes of every table and index: SQLite pages from `dbstat`.
fn sqlite_sizes(path: &std::path::Path) -> Vec<(String, u64)> {
    let conn = rusqlite::Connection::open(path).expect("open for dbstat");
    let mut stmt = conn
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .expect("dbstat");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .expect("dbstat rows")
        .map(|r| r.expect("row"))
        .collect()
}

/// Bytes of every table (its heap) and index of the PostgreSQL database `url`, after
/// `VACUUM ANALYZE` (the visibility map and statistics a settled table has).
fn postgres_sizes(url: &str) -> Vec<(String, u64)> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    client.batch_execute("VACUUM ANALYZE").expect("vacuum");
    client
        .query(
            "SELECT c.relname::text, pg_relation_size(c.oid) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't') \
             ORDER BY 2 DESC",
            &[],
        )
        .expect("sizes")
        .into_iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
        .collect()
}

/// Bytes of every InnoDB index (the clustered one holds the rows) of the database `url`.
fn mysql_sizes(url: &str) -> Vec<(String, u64)> {
    use mysql::prelude::Queryable;
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("url")).expect("connect");
    for t in ["agent_events", "agent_activity", "users_calls"] {
        conn.query_drop(format!("ANALYZE TABLE {t}"))
            .expect("analyze");
    }
    conn.query_map(
        "SELECT CONCAT(table_name, '.', index_name), stat_value * @@innodb_page_size \
         FROM mysql.innodb_index_stats WHERE database_name = DATABASE() \
         AND stat_name = 'size' ORDER BY 2 DESC",
        |(name, bytes): (String, u64)| (name, bytes),
    )
    .expect("index stats")
}

/// The drill-down of one row as schema version 3 stored it (JSON objects), for the
/// before/after of the compact encoding.
fn version_3_details(row: &ActivityRow) -> String {
    let events = apr::model::details::decode(row.report_hour, &row.event_details)
        .expect("event_details is compact");
    let objects: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::json!({"ts": e.ts, "event": e.event, "enabled": e.enabled, "state": e.state}))
        .collect();
    serde_json::to_string(&objects).expect("JSON")
}

/// Writes drill-downs `(agent_ext, report_hour, event_details)` as schema 3 stored them and
/// marks the schema 3, in one transaction.
type PutBack<'a> = dyn Fn(&[(String, i64, String)]) + 'a;

/// The 3 → 4 upgrade of the day: every drill-down put back as schema 3 stored it and the
/// schema marked 3 (by `put_back`, one transaction), then the store opened for writing again,
/// which rewrites them; the rows must read back as before.
fn upgrade_from_3(backend: &str, url: &DatabaseUrl, rows: &[ActivityRow], put_back: &PutBack) {
    let legacy: Vec<(String, i64, String)> = rows
        .iter()
        .map(|r| (r.agent_ext.clone(), r.report_hour, version_3_details(r)))
        .collect();
    put_back(&legacy);
    let t = Instant::now();
    let mut store = apr::store::open(url).expect("open upgrades");
    println!(
        "{backend} upgrade 3 -> 4: {} drill-downs rewritten in {:.2}s",
        rows.len(),
        t.elapsed().as_secs_f64()
    );
    let mut back = Vec::with_capacity(rows.len());
    store
        .scan_activity(&all_hours(), &mut |r| {
            back.push(r);
            Ok(())
        })
        .expect("rows");
    assert!(
        back == rows,
        "the upgrade gives back the rows aggregation wrote"
    );
}

/// The 4 → 5 upgrade of the day on MariaDB: `agent_events` and `agent_activity` put back as
/// schema 4 keyed them (by id and by (agent_ext, report_hour), each with a time index), then
/// the store opened for writing again, which stores them in time order.
fn upgrade_mysql_from_4(url: &DatabaseUrl, raw: &str) {
    use mysql::prelude::Queryable;
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(raw).expect("url")).expect("connect");
    for alter in scratch::BACK_TO_SCHEMA_4 {
        conn.query_drop(alter).expect("back to schema 4");
    }
    conn.query_drop("UPDATE apr_meta SET meta_value = '4' WHERE meta_key = 'schema_version'")
        .expect("version 4");
    let events: u64 = conn
        .query_first("SELECT COUNT(*) FROM agent_events")
        .expect("count")
        .unwrap_or(0);
    let t = Stage::start(server_pid());
    drop(apr::store::open(url).expect("open upgrades"));
    println!(
        "mariadb upgrade 4 -> 5: agent_events ({events} events) and agent_activity stored in time order in {:.2}s ({})",
        t.wall_secs(),
        t.cpu()
    );
}

fn all_hours() -> ActivityFilter {
    ActivityFilter {
        from_local: "0000".into(),
        to_local: "9999".into(),
        exts: vec![],
    }
}

fn print_sizes(backend: &str, sizes: &[(String, u64)], events: usize, rows: usize) {
    let total: u64 = sizes.iter().map(|(_, b)| b).sum();
    println!(
        "{backend} storage: {:.1} MiB in all",
        total as f64 / 1048576.0
    );
    for (name, bytes) in sizes {
        if *bytes < 64 * 1024 {
            continue;
        }
        println!(
            "{backend}   {name}: {:.1} MiB, {:.1} bytes/event, {:.1} bytes/agent-hour",
            *bytes as f64 / 1048576.0,
            *bytes as f64 / events as f64,
            *bytes as f64 / rows as f64
        );
    }
}

fn run(
    backend: &str,
    url: &DatabaseUrl,
    store: &mut dyn Store,
    events: &[AgentEvent],
    stats: &[HourStats],
    sizes: &dyn Fn() -> Vec<(String, u64)>,
    put_back: Option<&PutBack<'_>>,
) {
    // The local server's CPU is shown beside apr's: on two cores their sum bounds the wall.
    let server = if backend == "mariadb" {
        server_pid()
    } else {
        None
    };
    let t = Stage::start(server);
    for (i, chunk) in events.chunks(20_000).enumerate() {
        let batch = LoadBatch {
            events: chunk,
            stats: if i == 0 { stats } else { &[] },
            data_until: Some(START + 86_400),
            ..Default::default()
        };
        store.load(&batch).expect("load");
    }
    let load_secs = t.wall_secs();
    println!(
        "{backend} load: {} events in {load_secs:.2}s ({:.0} events/s; {})",
        events.len(),
        events.len() as f64 / load_secs,
        t.cpu()
    );

    // The floor, read: the day's events in (ts, id) order, nothing done with them.
    let t = Stage::start(server);
    let mut read = 0u64;
    store
        .scan_events(START - 1, START + 86_400 + 3600, &mut |_| read += 1)
        .expect("scan");
    println!(
        "{backend} floor read: {read} events in {:.2}s ({})",
        t.wall_secs(),
        t.cpu()
    );

    let opts = AggregateOptions {
        scope: Scope::All,
        max_carry: DEFAULT_MAX_CARRY,
        state_map: StateMap::default(),
    };
    for run in ["first", "again (idempotent rebuild)"] {
        let t = Stage::start(server);
        let s = aggregate(store, Zone::UTC, &opts).expect("aggregate");
        let secs = t.wall_secs();
        println!(
            "{backend} aggregate {run}: {} agent-hours from {} events in {secs:.2}s ({:.0} agent-hours/s; {})",
            s.rows,
            events.len(),
            s.rows as f64 / secs,
            t.cpu()
        );
    }

    // The floor, write: the day's rows written in one transaction into their emptied
    // range, nothing computed (a rebuild leaves unchanged rows alone, so writing the same
    // rows over themselves measures only their read).
    let mut rows: Vec<ActivityRow> = Vec::new();
    store
        .scan_activity(&all_hours(), &mut |r| {
            rows.push(r);
            Ok(())
        })
        .expect("rows");
    let range = (START, START + 86_400 + 3600);
    store
        .replace_activity(range.0, range.1, &[], &[])
        .expect("empty the range");
    let t = Stage::start(server);
    store
        .replace_activity(range.0, range.1, &rows, &[])
        .expect("write");
    println!(
        "{backend} floor write: {} rows in {:.2}s ({})",
        rows.len(),
        t.wall_secs(),
        t.cpu()
    );

    print_sizes(backend, &sizes(), events.len(), rows.len());
    let compact: usize = rows.iter().map(|r| r.event_details.len()).sum();
    let json: usize = rows.iter().map(|r| version_3_details(r).len()).sum();
    println!(
        "{backend} event_details text (compact, schema 4): {:.1} MiB ({:.1} bytes/agent-hour); as schema 3's JSON objects: {:.1} MiB ({:.1} bytes/agent-hour)",
        compact as f64 / 1048576.0,
        compact as f64 / rows.len() as f64,
        json as f64 / 1048576.0,
        json as f64 / rows.len() as f64
    );
    if let Some(put_back) = put_back {
        upgrade_from_3(backend, url, &rows, put_back);
    }
}

fn main() {
    let agents: usize = std::env::var("APR_BENCH_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let backends = std::env::var("APR_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,mysql".into());
    let events = apr::synth::day_of_events(agents, 500, START, 42);
    let stats: Vec<HourStats> = apr::synth::hourly_stats(&events, START, 24, 42)
        .into_iter()
        .map(|(hour_start, records)| HourStats {
            hour_start,
            records,
        })
        .collect();
    if backends.split(',').any(|b| b.trim() == "sqlite") {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bench.db");
        let url = DatabaseUrl::sqlite(path.clone());
        let mut store = apr::store::open(&url).expect("open SQLite");
        run(
            "sqlite",
            &url,
            store.as_mut(),
            &events,
            &stats,
            &|| sqlite_sizes(&path),
            Some(&|legacy| {
                let mut conn = rusqlite::Connection::open(&path).expect("open");
                let tx = conn.transaction().expect("begin");
                {
                    let mut update = tx
                        .prepare(
                            "UPDATE agent_activity SET event_details = ? \
                             WHERE agent_ext = ? AND report_hour = ?",
                        )
                        .expect("prepare");
                    for (ext, hour, details) in legacy {
                        update.execute((details, ext, hour)).expect("update");
                    }
                    tx.execute(
                        "UPDATE apr_meta SET meta_value = '3' WHERE meta_key = 'schema_version'",
                        [],
                    )
                    .expect("version 3");
                }
                tx.commit().expect("commit");
            }),
        );
    }
    if backends.split(',').any(|b| b.trim() == "mysql") {
        let db = scratch::ScratchMysql::new();
        let url = DatabaseUrl::parse(db.url(), "APR_DATABASE_URL").unwrap();
        let mut store = apr::store::open(&url).expect("open MariaDB");
        let raw = db.url().to_string();
        run(
            "mariadb",
            &url,
            store.as_mut(),
            &events,
            &stats,
            &|| mysql_sizes(&raw),
            Some(&|legacy| {
                use mysql::prelude::Queryable;
                let mut conn =
                    mysql::Conn::new(mysql::Opts::from_url(&raw).expect("url")).expect("connect");
                let mut tx = conn.start_transaction(Default::default()).expect("begin");
                tx.exec_batch(
                    "UPDATE agent_activity SET event_details = ? \
                     WHERE agent_ext = ? AND report_hour = ?",
                    legacy.iter().map(|(ext, hour, d)| (d, ext, hour)),
                )
                .expect("update");
                tx.query_drop(
                    "UPDATE apr_meta SET meta_value = '3' WHERE meta_key = 'schema_version'",
                )
                .expect("version 3");
                tx.commit().expect("commit");
            }),
        );
        drop(store);
        upgrade_mysql_from_4(&url, &raw);
    }
    if backends.split(',').any(|b| b.trim() == "postgres") {
        let db = scratch_pg::ScratchPostgres::new();
        let url = DatabaseUrl::parse(db.url(), "APR_DATABASE_URL").unwrap();
        let mut store = apr::store::open(&url).expect("open PostgreSQL");
        let raw = db.url().to_string();
        run(
            "postgres",
            &url,
            store.as_mut(),
            &events,
            &stats,
            &|| postgres_sizes(&raw),
            None,
        );
    }
}
