//! The supervisors' page (SPEC §11), `GET /`: the form of [`super::form`] (its fields
//! carry the query parameter names of `/api/report`, so `/?startDate=2025-09-07&by=day` is
//! a link to that view), the HTML report of §10 below it, and links to download the same
//! report as CSV, XLSX and JSON. Without a query it opens on today, or on the latest day
//! with data when today has none. One small inline script sorts the table by a clicked
//! header; without script the page is the same report in the report's order.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::aggregate::categories::StateMap;
use crate::error::Error;
use crate::hours::Zone;
use crate::report::agent_figures::ext_order;
use crate::report::args::{ArgNames, RawReportArgs};
use crate::report::html::{HtmlShape, HtmlSink, document_start};
use crate::report::request::ReportRequest;
use crate::report::sink::RowSink;
use crate::store::Store;

use super::auth::QueryToken;
use super::form::{Choices, Values, header, join_lists};
use super::http::{status_of, stream_blocking};
use super::pool::StorePool;
use super::state::AppState;

/// The page's own style, after the report's.
const PAGE_CSS: &str = "\
.error{color:#a40000;font-weight:600}\
header h1{margin-bottom:.2em}\
nav.presets{display:flex;flex-wrap:wrap;gap:6px;margin:.4em 0}\
nav.presets a{margin:0;padding:3px 10px;border:1px solid #c8ccd4;border-radius:14px;text-decoration:none;color:#1f64b4;background:#fff}\
nav.presets a.on{background:#1f64b4;color:#fff;border-color:#1f64b4}\
form label.flag{flex-direction:row;align-items:center;gap:4px;padding-bottom:6px}\
form button{font:inherit;padding:5px 14px;background:#1f64b4;color:#fff;border:0;border-radius:4px;cursor:pointer}\
.pick{position:relative;font-size:.85em;align-self:end}\
.pick summary{cursor:pointer;padding:5px 8px;border:1px solid #b8b8c0;border-radius:3px;background:#fff;list-style-position:inside}\
.pick .options{position:absolute;z-index:5;left:0;top:100%;min-width:15em;max-width:min(26em,90vw);max-height:20em;overflow:auto;\
background:#fff;border:1px solid #b8b8c0;border-radius:4px;box-shadow:0 4px 14px rgba(0,0,0,.15);padding:6px}\
.pick .opt{display:flex;flex-direction:row;gap:6px;align-items:center;padding:2px 0;white-space:nowrap}\
.pick .none{margin:0;color:#555}.pick .more{display:flex;flex-direction:column;font-size:1em;margin-bottom:4px}\
nav.downloads{margin:.5em 0}\
th.sortable{cursor:pointer;user-select:none}th.sortable:hover{background:#e0e4ea}\
th[aria-sort=ascending]::after{content:' \\25B2';font-size:.8em}th[aria-sort=descending]::after{content:' \\25BC';font-size:.8em}\
@media (max-width:640px){.pick .options{position:static;max-width:none;box-shadow:none}form>label{flex:1 1 40%}}";

/// The table-sorting script (inline: the page loads nothing from anywhere).
const SORT_SCRIPT: &str = include_str!("sort.js");

/// The page up to the report: head and header.
fn page_start(v: &Values<'_>, choices: &Choices, error: Option<&str>, downloads: bool) -> String {
    let mut page = document_start("apr reports", PAGE_CSS).into_string();
    page.push_str(&header(v, choices, error, downloads).into_string());
    page
}

/// The end of the page: the script, which runs once the table is there.
fn page_end() -> String {
    format!("<script>{SORT_SCRIPT}</script></body></html>\n")
}

/// An HTML page: the whole of it, or the stream of a report.
fn html_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The form alone, with a message, when the database cannot say what it offers.
fn form_only(v: &Values<'_>, status: StatusCode, error: Option<&str>) -> Response {
    html_response(
        status,
        page_start(v, &Choices::default(), error, false) + &page_end(),
    )
}

/// What the database offers the form, in `zone` at `now`.
fn choices(store: &mut dyn Store, zone: Zone, now: i64) -> crate::Result<Choices> {
    let mut agents: Vec<(String, String)> = store.agent_names()?.into_iter().collect();
    agents.sort_by(|a, b| ext_order(&a.0, &b.0));
    let queues = match store.queue_store() {
        Some(q) => q.queue_names()?,
        None => Vec::new(),
    };
    let latest = store.latest_activity_hour()?;
    Ok(Choices {
        today: Some(zone.local(now).date_naive()),
        latest: latest.map(|t| zone.local(t).date_naive()),
        agents,
        queues,
    })
}

/// The report the query asks for, or the message saying why there is none.
fn parse(pairs: &[(String, String)], state_map: &StateMap) -> Result<ReportRequest, String> {
    // The page shows HTML whatever `format` says; the links carry the other formats.
    let report_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "format")
        .cloned()
        .collect();
    RawReportArgs::from_query(report_pairs).and_then(|mut raw| {
        raw.format = Some("html".into());
        let mut req = ReportRequest::parse(&raw, ArgNames::Http).map_err(|e| e.to_string())?;
        req.state_map = state_map.clone();
        Ok(req)
    })
}

/// `GET /`: the form, and below it the report the query asks for (without a query, the
/// opening day's).
pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
    token: Option<Extension<QueryToken>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let token = token.map(|Extension(QueryToken(t))| t);
    let pairs = match query {
        Ok(Query(pairs)) => join_lists(pairs),
        Err(e) => {
            let v = Values {
                pairs: &[],
                token: token.as_deref(),
            };
            let msg = format!("the query string is not valid: {}", e.body_text());
            return form_only(&v, StatusCode::BAD_REQUEST, Some(&msg));
        }
    };
    let opening = pairs.iter().all(|(_, value)| value.is_empty());
    let state_map = state.state_map.clone();
    let parsed = (!opening).then(|| parse(&pairs, &state_map));
    let status = match &parsed {
        Some(Err(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let now = chrono::Utc::now().timestamp();
    let token_bg = token.clone();
    let pairs_bg = pairs.clone();
    let body = stream_blocking(state, pool, move |store, zone, out| {
        let err = |e| Error::io("cannot write the page", e);
        let choices = choices(store, zone, now)?;
        let (pairs, parsed) = match parsed {
            Some(parsed) => (pairs_bg, parsed),
            None => {
                let day = choices.opening_day().map(|d| d.to_string());
                let pairs = vec![("startDate".to_string(), day.unwrap_or_default())];
                let parsed = parse(&pairs, &state_map);
                (pairs, parsed)
            }
        };
        let v = Values {
            pairs: &pairs,
            token: token_bg.as_deref(),
        };
        let (req, error) = match parsed {
            Ok(req) => (Some(req), None),
            Err(msg) => (None, Some(msg)),
        };
        let start = page_start(&v, &choices, error.as_deref(), req.is_some());
        out.write_all(start.as_bytes()).map_err(err)?;
        if let Some(req) = req {
            let mut sink = HtmlSink::with_shape(&mut *out, HtmlShape::Fragment, req.text_style());
            crate::report::render(store, zone, &req, &mut sink)?;
            sink.finish()?;
        }
        out.write_all(page_end().as_bytes()).map_err(err)
    })
    .await;
    match body {
        Ok(body) => html_response(status, body),
        Err(e) => {
            let v = Values {
                pairs: &pairs,
                token: token.as_deref(),
            };
            form_only(&v, status_of(&e), Some(&e.to_string()))
        }
    }
}
