//! `GET /metrics` (SPEC §13) in the Prometheus text format (version 0.0.4): the data's age
//! per source, the last successful load per loader, what waits for aggregation, agents by
//! state, callers waiting per queue, and this server's own request counters, so the
//! monitoring ops already run can scrape apr and alert on stale data.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::http::{json_error, read_blocking, status_of};
use super::live::{Board, LiveFilter, STATE_ORDER, board};
use super::pool::StorePool;
use super::state::AppState;
use crate::error::Result;
use crate::model::state::{COLLECT_LAST_RUN, DIRTY_FROM, DIRTY_TO};
use crate::store::Store;
use crate::store::maintenance::Conn;
use crate::store::value::Cell;

/// The paths counted by name; anything else is counted as `other`, so a scan of random
/// paths cannot grow the counters without bound.
const ROUTES: [&str; 7] = [
    "/",
    "/live",
    "/agent",
    "/api/report",
    "/api/live",
    "/health",
    "/metrics",
];

/// Requests answered, by route and status.
#[derive(Debug, Default)]
pub struct RequestCounters(Mutex<BTreeMap<(&'static str, u16), u64>>);

impl RequestCounters {
    fn add(&self, route: &'static str, status: u16) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route, status)).or_default() += 1;
    }

    fn snapshot(&self) -> BTreeMap<(&'static str, u16), u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Counts every response by its route and status.
pub async fn count(
    Extension(counters): Extension<Arc<RequestCounters>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let route = ROUTES
        .iter()
        .find(|r| **r == path)
        .copied()
        .unwrap_or("other");
    let resp = next.run(req).await;
    counters.add(route, resp.status().as_u16());
    resp
}

/// What the scrape reads from the database beside the board.
struct Loads {
    collect: Option<i64>,
    queue_log: Option<i64>,
    dirty: Option<(i64, i64)>,
    events_waiting: i64,
}

fn loads(store: &mut dyn Store) -> Result<Loads> {
    let collect = COLLECT_LAST_RUN.decode(store.state(COLLECT_LAST_RUN.name())?.as_deref())?;
    let dirty = match (store.instant(DIRTY_FROM)?, store.instant(DIRTY_TO)?) {
        (Some(f), Some(t)) => Some((f, t)),
        _ => None,
    };
    let mut conn = Conn::new(store.sql());
    // A queue_log cursor moves with every chunk a load commits.
    let queue_log = conn.int(
        "SELECT MAX(updated_at) FROM etl_state WHERE state_key LIKE 'queue_log.cursor:%'",
        &[],
    )?;
    let events_waiting = match dirty {
        Some((f, t)) => conn
            .int(
                "SELECT COUNT(*) FROM agent_events WHERE ts_epoch >= ? AND ts_epoch <= ?",
                &[Cell::Int(f), Cell::Int(t)],
            )?
            .unwrap_or(0),
        None => 0,
    };
    Ok(Loads {
        collect,
        queue_log,
        dirty,
        events_waiting,
    })
}

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
    Extension(counters): Extension<Arc<RequestCounters>>,
) -> Response {
    let stale_after = state.stale_after_secs;
    let read = read_blocking(state, pool, move |store, zone| {
        let now = chrono::Utc::now().timestamp();
        let b = board(store, zone, now, stale_after, &LiveFilter::default())?;
        Ok((b, loads(store)?))
    })
    .await;
    let (b, l) = match read {
        Ok(v) => v,
        Err(e) => return json_error(status_of(&e), e.to_string()),
    };
    let mut resp = Response::new(axum::body::Body::from(render(&b, &l, &counters.snapshot())));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// A label value escaped as the text format asks (backslash, quote, line feed).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn render(b: &Board, l: &Loads, requests: &BTreeMap<(&'static str, u16), u64>) -> String {
    let mut out = String::new();
    head(
        &mut out,
        "apr_data_age_seconds",
        "gauge",
        "Seconds since the newest instant a source's data covers (its data until).",
    );
    for s in &b.sources {
        if let Some(age) = s.age_secs {
            let _ = writeln!(out, "apr_data_age_seconds{{source=\"{}\"}} {age}", s.source);
        }
    }
    head(
        &mut out,
        "apr_data_until_timestamp_seconds",
        "gauge",
        "The newest instant a source's data covers, epoch seconds.",
    );
    for s in &b.sources {
        if let Some(u) = s.data_until {
            let _ = writeln!(
                out,
                "apr_data_until_timestamp_seconds{{source=\"{}\"}} {u}",
                s.source
            );
        }
    }
    head(
        &mut out,
        "apr_data_stale",
        "gauge",
        "1 when a source's data is older than serve --stale-after.",
    );
    for s in b.sources.iter().filter(|s| s.data_until.is_some()) {
        let _ = writeln!(
            out,
            "apr_data_stale{{source=\"{}\"}} {}",
            s.source,
            u8::from(s.stale)
        );
    }
    head(
        &mut out,
        "apr_last_load_timestamp_seconds",
        "gauge",
        "When a loader last committed data, epoch seconds.",
    );
    for (loader, at) in [("collect", l.collect), ("parse-queue-log", l.queue_log)] {
        if let Some(at) = at {
            let _ = writeln!(
                out,
                "apr_last_load_timestamp_seconds{{loader=\"{loader}\"}} {at}"
            );
        }
    }
    head(
        &mut out,
        "apr_aggregation_waiting_events",
        "gauge",
        "Agent events loaded since the last aggregation (in the range waiting for it).",
    );
    let _ = writeln!(out, "apr_aggregation_waiting_events {}", l.events_waiting);
    head(
        &mut out,
        "apr_aggregation_waiting_seconds",
        "gauge",
        "Length of the range of time waiting for aggregation.",
    );
    let _ = writeln!(
        out,
        "apr_aggregation_waiting_seconds {}",
        l.dirty.map_or(0, |(f, t)| (t - f).max(0))
    );
    head(
        &mut out,
        "apr_agents",
        "gauge",
        "Agents by effective state now (SPEC 5.1).",
    );
    for st in STATE_ORDER {
        let _ = writeln!(
            out,
            "apr_agents{{state=\"{st}\"}} {}",
            b.states.get(st).copied().unwrap_or(0)
        );
    }
    head(
        &mut out,
        "apr_queue_callers_waiting",
        "gauge",
        "Callers waiting in a queue now (queue_log).",
    );
    for q in &b.queues {
        let _ = writeln!(
            out,
            "apr_queue_callers_waiting{{queue=\"{}\"}} {}",
            label(&q.queue),
            q.waiting
        );
    }
    head(
        &mut out,
        "apr_queue_longest_wait_seconds",
        "gauge",
        "How long the longest-waiting caller of a queue has waited.",
    );
    for q in &b.queues {
        let _ = writeln!(
            out,
            "apr_queue_longest_wait_seconds{{queue=\"{}\"}} {}",
            label(&q.queue),
            q.longest_wait_secs
        );
    }
    head(
        &mut out,
        "apr_http_requests_total",
        "counter",
        "Requests this server answered, by route and status.",
    );
    for ((route, status), n) in requests {
        let _ = writeln!(
            out,
            "apr_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn counters_name_known_routes_only() {
        let c = RequestCounters::default();
        c.add("/api/live", 200);
        c.add("/api/live", 200);
        c.add("other", 404);
        let snap = c.snapshot();
        assert_eq!(snap[&("/api/live", 200)], 2);
        assert_eq!(snap[&("other", 404)], 1);
    }
}
