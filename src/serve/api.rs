//! The JSON API of SPEC §7.5: `/api/report` (the bytes of `apr report`, streamed),
//! `/health`, and the JSON answers to unknown paths (404) and methods (405).

use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::http::{json_error, status_of, stream_blocking};
use super::pool::StorePool;
use super::state::AppState;
use crate::error::Error;
use crate::model::state;
use crate::report::args::{ArgNames, RawReportArgs};
use crate::report::request::ReportRequest;
use crate::report::write_report;
use crate::store::Store;

/// Any other path: 404 naming the routes there are.
pub async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not found; expected GET /, GET /live, GET /agent, GET /api/report, GET /api/live, GET /metrics or GET /health",
    )
}

/// A known path asked with another method than GET: 405.
pub async fn method_not_allowed() -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed; expected GET",
    )
}

/// `GET /api/report`: the report the query asks for, as a download.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("the query string is not valid: {}", e.body_text()),
            );
        }
    };
    let mut req = match RawReportArgs::from_query(pairs)
        .and_then(|raw| ReportRequest::parse(&raw, ArgNames::Http).map_err(|e| e.to_string()))
    {
        Ok(req) => req,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };
    req.state_map = state.state_map.clone();

    let req_bg = req.clone();
    let body = match stream_blocking(state, pool, move |store, zone, out| {
        write_report(store, zone, &req_bg, out).map(|_| ())
    })
    .await
    {
        Ok(body) => body,
        Err(e) => return json_error(status_of(&e), e.to_string()),
    };
    let disposition = format!("attachment; filename=\"{}\"", req.file_name());
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, req.format.content_type())
        .header(header::CONTENT_DISPOSITION, disposition)
        .body(body)
        .unwrap_or_else(|_| json_error(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

/// `last_collect` as stored by `collect`; epoch seconds are shown as RFC 3339 UTC.
fn last_collect(store: &mut dyn Store) -> crate::Result<Option<String>> {
    Ok(store.state(state::COLLECT_LAST_RUN.name())?.map(|v| {
        v.trim()
            .parse::<i64>()
            .ok()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or(v)
    }))
}

/// How long `/health` waits for the database: a frozen server answers 503 after this,
/// long before the connection's own read timeout (issue 15.4).
pub const HEALTH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /health`: whether the database answers, and when `collect` last ran; on a Galera
/// node, whether it is ready and how many nodes its cluster has.
pub async fn health(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
) -> Response {
    let shown = state.database.shown();
    let check = tokio::task::spawn_blocking(move || {
        let mut s = pool.take()?;
        s.ping()?;
        let last = last_collect(s.as_mut())?;
        let cluster = s.sql().cluster_state()?;
        pool.give_back(s);
        Ok((last, cluster))
    });
    // On the deadline the check is left to end on its own connection timeouts.
    let checked = match tokio::time::timeout(HEALTH_DEADLINE, check).await {
        Ok(done) => done,
        Err(_) => Ok(Err(Error::db(format!(
            "database {shown} did not answer within {} s",
            HEALTH_DEADLINE.as_secs()
        )))),
    };
    match checked {
        Ok(Ok((last, None))) => (
            StatusCode::OK,
            axum::Json(json!({"status": "ok", "database": "ok", "last_collect": last})),
        )
            .into_response(),
        // A Galera node: its place in the cluster too (a node that is not ready refuses
        // connections before this, see the MySQL backend).
        Ok(Ok((last, Some(c)))) => (
            if c.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            },
            axum::Json(json!({
                "status": if c.ready { "ok" } else { "error" },
                "database": if c.ready { "ok" } else { "not ready" },
                "last_collect": last,
                "cluster": {"ready": c.ready, "size": c.size, "state": c.state},
            })),
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "status": "error",
                "database": "unavailable",
                "last_collect": null,
                "error": e.to_string(),
            })),
        )
            .into_response(),
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "the health check failed"),
    }
}
