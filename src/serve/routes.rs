//! The HTTP routes of SPEC §7.5 as one axum [`Router`], shared by `serve-once` and `serve`:
//! `/api/report` (the bytes of `apr report`, streamed), `/health`, JSON 404/405, the
//! optional bearer token and the CORS allow-list.

use std::io::Write;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::pool::StorePool;
use crate::config::{ZoneChoice, ZoneUse, decide_zone};
use crate::error::Error;
use crate::report::{ArgNames, RawReportArgs, ReportRequest, write_report};
use crate::store::{DatabaseUrl, Store, keys};

/// What every request needs: where the database is, the zone asked for, the token.
#[derive(Debug, Clone)]
pub struct AppState {
    pub database: DatabaseUrl,
    pub zone_choice: ZoneChoice,
    pub token: Option<String>,
    /// Accept the token as `?token=` too (`--token-in-query`, for browsers).
    pub token_in_query: bool,
}

/// Origins allowed to read responses from a browser; empty: no CORS headers at all.
#[derive(Debug, Clone, Default)]
pub enum CorsOrigins {
    #[default]
    None,
    Any,
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Parses the allow-list: `*`, or comma-separated origins such as
    /// `https://ops.example.com`; `label` is what errors call it (the setting).
    pub fn parse(s: &str, label: &str) -> crate::Result<CorsOrigins> {
        let parts: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Ok(CorsOrigins::None);
        }
        if parts == ["*"] {
            return Ok(CorsOrigins::Any);
        }
        let mut list = Vec::new();
        for p in parts {
            let shaped = (p.starts_with("http://") || p.starts_with("https://"))
                && !p.ends_with('/')
                && !p.contains('*');
            match HeaderValue::from_str(p) {
                Ok(v) if shaped => list.push(v),
                _ => {
                    return Err(Error::config(format!(
                        "{label} entry '{p}' is not an origin; expected '*' or comma-separated origins like https://ops.example.com"
                    )));
                }
            }
        }
        Ok(CorsOrigins::List(list))
    }
}

/// The query parameters of `/api/report`, in the order error messages list them.
const REPORT_PARAMS: &str = "startDate, endDate, startTime, endTime, format, kind, by, ext, queue, outcome, extended, totals, bom, delimiter";

/// Builds the router every server form uses.
pub fn router(state: AppState, cors: &CorsOrigins) -> Router {
    // Read-only connections reused across requests (issue 13.5).
    let pool = Arc::new(StorePool::new(state.database.clone()));
    let state = Arc::new(state);
    let app = Router::new()
        .route("/", get(super::page::page))
        .route("/api/report", get(report))
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(pool))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn(super::access_log::log))
        .with_state(state);
    // CORS sits outside the token check: a browser's preflight carries no credentials.
    let allow = match cors {
        CorsOrigins::None => return app,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.clone()),
    };
    app.layer(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET])
            .allow_headers([header::AUTHORIZATION])
            .expose_headers([header::CONTENT_DISPOSITION]),
    )
}

pub(crate) fn json_error(status: StatusCode, msg: impl Into<String>) -> Response {
    let msg = client_safe(&msg.into());
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

/// Longest error text sent back, in characters: a message may quote the client's own bytes.
const ERROR_CHARS: usize = 300;

/// An error message fit to send back: one line, control characters shown as `?`, at most
/// [`ERROR_CHARS`] characters, since it may repeat what the client sent (`%0A`, `%00`, a
/// 16 KiB value) and whoever logs or prints the `error` must not get extra lines from it.
pub(crate) fn client_safe(msg: &str) -> String {
    let folded = crate::error::one_line(msg);
    let mut out: String = folded
        .chars()
        .take(ERROR_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if folded.chars().nth(ERROR_CHARS).is_some() {
        out.push('…');
    }
    out
}

async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not found; expected GET /, GET /api/report or GET /health",
    )
}

async fn method_not_allowed() -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed; expected GET",
    )
}

/// Requires `Authorization: Bearer TOKEN` on every request when a token is configured.
async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(token) = state.token.as_deref() else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| bearer_credentials(v.as_bytes()));
    if presented.is_some_and(|p| same_secret(p, token.as_bytes())) {
        return next.run(req).await;
    }
    if state.token_in_query {
        let mut req = req;
        if let Some(given) = take_query_token(&mut req)
            && same_secret(given.as_bytes(), token.as_bytes())
        {
            req.extensions_mut().insert(QueryToken(given));
            return next.run(req).await;
        }
    }
    let mut resp = json_error(
        StatusCode::UNAUTHORIZED,
        "missing or wrong bearer token; send Authorization: Bearer <APR_SERVE_TOKEN>",
    );
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// The credentials of an `Authorization: Bearer ...` value. The scheme is matched without
/// regard to case (RFC 9110 §11.1: `bearer`, `BEARER` are the same scheme), followed by one
/// or more spaces.
fn bearer_credentials(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"Bearer") || !rest.starts_with(b" ") {
        return None;
    }
    let creds = rest.trim_ascii();
    (!creds.is_empty()).then_some(creds)
}

/// The token a browser sent as `?token=` (with `--token-in-query`), for the page to carry
/// in its form and links.
#[derive(Debug, Clone)]
pub struct QueryToken(pub String);

/// Removes `token` from the request's query (so the handlers never see it) and returns it.
fn take_query_token(req: &mut Request) -> Option<String> {
    let query = req.uri().query()?;
    let mut token = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "token" && token.is_none() {
            token = Some(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    let token = token?;
    let rest = rest.finish();
    let path = req.uri().path();
    let pq = if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{rest}")
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    *req.uri_mut() = axum::http::Uri::from_parts(parts).ok()?;
    Some(token)
}

/// Compares without stopping at the first difference, so timing does not reveal how much
/// of a guess was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Maps the query pairs onto the report arguments, refusing unknown and repeated names.
pub(crate) fn raw_args(pairs: Vec<(String, String)>) -> Result<RawReportArgs, String> {
    let mut raw = RawReportArgs::default();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in pairs {
        if seen.contains(&k) {
            return Err(format!("{k} is given twice; expected it once"));
        }
        // A plain HTML form sends its empty fields too: empty is not given.
        if v.is_empty() && !matches!(k.as_str(), "extended" | "totals" | "bom") {
            seen.push(k);
            continue;
        }
        let slot = match k.as_str() {
            "startDate" => &mut raw.start_date,
            "endDate" => &mut raw.end_date,
            "startTime" => &mut raw.start_time,
            "endTime" => &mut raw.end_time,
            "format" => &mut raw.format,
            "kind" => &mut raw.kind,
            "ext" => &mut raw.ext,
            "by" => &mut raw.by,
            "queue" => &mut raw.queue,
            "outcome" => &mut raw.outcome,
            "delimiter" => &mut raw.delimiter,
            "extended" | "totals" | "bom" => {
                let on = match v.as_str() {
                    "" | "1" | "true" | "on" => true,
                    "0" | "false" | "off" => false,
                    _ => {
                        return Err(format!(
                            "{k} '{v}' is not a flag; expected true, false, 1 or 0"
                        ));
                    }
                };
                match k.as_str() {
                    "extended" => raw.extended = on,
                    "totals" => raw.totals = on,
                    _ => raw.bom = on,
                }
                seen.push(k);
                continue;
            }
            _ => {
                return Err(format!(
                    "unknown parameter '{k}'; expected one of {REPORT_PARAMS}"
                ));
            }
        };
        *slot = Some(v);
        seen.push(k);
    }
    Ok(raw)
}

/// The HTTP status for a failure before the report's first byte: 503 while the database
/// is unavailable, 500 for the server's own configuration (a zone that does not match the
/// database's).
pub(crate) fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Bytes handed to the response body at a time.
const CHUNK: usize = 64 * 1024;

/// A blocking [`Write`] that hands the report to the async response body in chunks; the
/// bounded channel makes a slow client slow down the report instead of buffering it.
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

async fn report(
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
    let req = match raw_args(pairs)
        .and_then(|raw| ReportRequest::parse(&raw, ArgNames::Http).map_err(|e| e.to_string()))
    {
        Ok(req) => req,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };

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

/// Opens the database on the blocking pool and runs `job` there, its output streamed as
/// the response body. Resolves once the database is open: an error opening it (or
/// resolving the zone) comes back before any byte, so the caller can answer 503.
pub(crate) async fn stream_blocking<F>(
    state: Arc<AppState>,
    pool: Arc<StorePool>,
    job: F,
) -> crate::Result<Body>
where
    F: FnOnce(&mut dyn Store, crate::hours::Zone, &mut dyn Write) -> crate::Result<()>
        + Send
        + 'static,
{
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    let (ready_tx, ready_rx) = oneshot::channel::<crate::Result<()>>();
    // The report code is blocking (the store streams rows synchronously); it runs on the
    // blocking pool with its own connection.
    tokio::task::spawn_blocking(move || {
        let opened = pool.take().and_then(|mut s| {
            let recorded = s.meta("timezone")?;
            let zone = decide_zone(recorded.as_deref(), &state.zone_choice, ZoneUse::Read)?.zone;
            Ok((s, zone))
        });
        let (mut store, zone) = match opened {
            Ok(v) => v,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let _ = ready_tx.send(Ok(()));
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        match job(store.as_mut(), zone, &mut out).and_then(|()| {
            out.flush()
                .map_err(|e| Error::io("cannot write the report", e))
        }) {
            // Only a connection that just served a whole report goes back to the pool.
            Ok(()) => pool.give_back(store),
            Err(e) => {
                tracing::warn!("report failed after its first byte: {e}");
                // An error item makes hyper abort the chunked body, so the client sees a
                // broken transfer rather than a report that silently ends early.
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(Error::io(
                "the report failed",
                std::io::Error::other("the report task ended early"),
            ));
        }
    }
    Ok(Body::from_stream(futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
    )))
}

/// `last_collect` as stored by `collect`; epoch seconds are shown as RFC 3339 UTC.
fn last_collect(store: &mut dyn Store) -> crate::Result<Option<String>> {
    Ok(store.state(keys::COLLECT_LAST_RUN)?.map(|v| {
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

async fn health(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
) -> Response {
    let shown = state.database.shown();
    let check = tokio::task::spawn_blocking(move || {
        let mut s = pool.take()?;
        s.ping()?;
        let last = last_collect(s.as_mut())?;
        pool.give_back(s);
        Ok(last)
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
        Ok(Ok(last)) => (
            StatusCode::OK,
            axum::Json(json!({"status": "ok", "database": "ok", "last_collect": last})),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A query string's pairs, as axum's `Query` extracts them.
    pub(crate) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn errors_sent_back_are_one_short_line_without_control_characters() {
        let long = "x".repeat(20_000);
        let e = raw_args(pairs(&[(&format!("a\nb\0c{long}"), "1")])).unwrap_err();
        let safe = client_safe(&e);
        assert!(safe.starts_with("unknown parameter 'a b?c"), "{safe}");
        assert!(!safe.chars().any(char::is_control), "{safe}");
        assert_eq!(safe.chars().count(), ERROR_CHARS + 1);
        assert!(safe.ends_with('…'));
        let short = "--by 'year' is not a period";
        assert_eq!(client_safe(short), short);
    }

    #[test]
    fn query_pairs_map_onto_report_arguments() {
        let raw = raw_args(pairs(&[
            ("startDate", "2025-09-07"),
            ("ext", "3012"),
            ("extended", ""),
        ]))
        .unwrap();
        assert_eq!(raw.start_date.as_deref(), Some("2025-09-07"));
        assert_eq!(raw.ext.as_deref(), Some("3012"));
        assert!(raw.extended);
        let e = raw_args(pairs(&[("startdate", "x")])).unwrap_err();
        assert!(e.starts_with("unknown parameter 'startdate'"), "{e}");
        let e = raw_args(pairs(&[("ext", "1"), ("ext", "2")])).unwrap_err();
        assert!(e.starts_with("ext is given twice"), "{e}");
        let e = raw_args(pairs(&[("extended", "yes")])).unwrap_err();
        assert!(e.starts_with("extended 'yes'"), "{e}");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in ["Bearer tok", "bearer tok", "BEARER tok", "bEaReR   tok "] {
            assert_eq!(bearer_credentials(v.as_bytes()), Some(&b"tok"[..]), "{v}");
        }
        for v in ["Basic tok", "Bearertok", "Bearer ", "Bear", "tok", ""] {
            assert_eq!(bearer_credentials(v.as_bytes()), None, "{v}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
    }

    #[test]
    fn cors_origins_parse() {
        assert!(matches!(
            CorsOrigins::parse(" ", "origins").unwrap(),
            CorsOrigins::None
        ));
        assert!(matches!(
            CorsOrigins::parse("*", "origins").unwrap(),
            CorsOrigins::Any
        ));
        match CorsOrigins::parse("https://a.example, http://127.0.0.1:3000", "origins").unwrap() {
            CorsOrigins::List(l) => assert_eq!(l.len(), 2),
            other => panic!("{other:?}"),
        }
        let e = CorsOrigins::parse("a.example", "origins")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("origins entry 'a.example'"), "{e}");
    }
}
