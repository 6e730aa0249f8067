//! `GET /api/live` (the board as JSON) and `GET /live` (the wallboard, SPEC §13): agents
//! grouped by state with the time in state and today's figures, queue tiles, the data's
//! age per source flagged stale. The page refreshes itself: a small inline script polls
//! `/api/live` with the page's own query and redraws the board; without JavaScript a
//! `<meta http-equiv="refresh">` inside `<noscript>` reloads it. `?queue=` and `?ext=`
//! narrow it, `?tv=1` is large type for a wall screen. Each agent name links to that agent's
//! day (`/agent`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::http::{json_error, read_blocking, status_of};
use super::live::{Board, LiveFilter, STATE_ORDER, board};
use super::pool::StorePool;
use super::state::AppState;

/// Seconds between two reloads of the page without JavaScript.
const META_REFRESH_SECS: u32 = 10;
/// Milliseconds between two polls of `/api/live` by the page's script.
const POLL_MS: u32 = 3000;

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;padding:10px;background:#f4f5f7;color:#1b1f24}\
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1em;margin:.8em 0 .3em}\
.ages{display:flex;flex-wrap:wrap;gap:8px;margin:.3em 0}\
.age{padding:3px 10px;border-radius:12px;background:#dfe9f5;font-weight:600}\
.age.stale{background:#a40000;color:#fff}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px}\
.tile{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:8px;min-width:0;overflow-wrap:anywhere}\
.tile b{display:block;font-size:1.05em}.tile .big{font-size:1.6em;font-weight:700}\
.tile .small{font-size:.85em;color:#444}\
.state-on_call,.state-hold{border-left:6px solid #1f7a1f}.state-wrap_up{border-left:6px solid #8a6d00}\
.state-idle{border-left:6px solid #1f64b4}.state-not_avail{border-left:6px solid #c05600}\
.state-logged_off,.state-unaccounted{border-left:6px solid #888;opacity:.8}\
a{color:#1f64b4}\
body.tv{font-size:150%}body.tv .grid{grid-template-columns:repeat(auto-fill,minmax(260px,1fr))}\
@media (max-width:480px){.grid{grid-template-columns:1fr 1fr}body{padding:6px}}";

/// The board's script: polls `/api/live` with the page's query and redraws the board from
/// the JSON with DOM text nodes (nothing from the data is parsed as HTML).
const SCRIPT: &str = include_str!("live.js");

/// The filter of a query (`queue`, `ext`: comma-separated; repeated keys add up).
fn filter_of(pairs: &[(String, String)]) -> Result<(LiveFilter, bool), String> {
    let mut f = LiveFilter::default();
    let mut tv = false;
    for (k, v) in pairs {
        let list = || {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match k.as_str() {
            "queue" => f.queues.extend(list()),
            "ext" => f.exts.extend(list()),
            "tv" => tv = matches!(v.as_str(), "1" | "true" | "yes"),
            "token" => {}
            other => {
                return Err(format!(
                    "unknown parameter '{other}'; expected queue, ext or tv"
                ));
            }
        }
    }
    Ok((f, tv))
}

async fn read_board(
    state: Arc<AppState>,
    pool: Arc<StorePool>,
    filter: LiveFilter,
) -> crate::Result<Board> {
    let stale_after = state.stale_after_secs;
    read_blocking(state, pool, move |store, zone| {
        board(
            store,
            zone,
            chrono::Utc::now().timestamp(),
            stale_after,
            &filter,
        )
    })
    .await
}

/// `GET /api/live`: the board as JSON.
pub async fn api_live(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(p)) => p,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("the query string is not valid: {}", e.body_text()),
            );
        }
    };
    let filter = match filter_of(&pairs) {
        Ok((f, _)) => f,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };
    match read_board(state, pool, filter).await {
        Ok(b) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            axum::Json(b),
        )
            .into_response(),
        Err(e) => json_error(status_of(&e), e.to_string()),
    }
}

/// `GET /live`: the wallboard.
pub async fn live_page(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match query {
        Ok(Query(p)) => p,
        Err(e) => {
            return page(
                StatusCode::BAD_REQUEST,
                false,
                html! { p.error { "the query string is not valid: " (e.body_text()) } },
            );
        }
    };
    let (filter, tv) = match filter_of(&pairs) {
        Ok(v) => v,
        Err(msg) => return page(StatusCode::BAD_REQUEST, false, html! { p.error { (msg) } }),
    };
    match read_board(state, pool, filter).await {
        Ok(b) => page(StatusCode::OK, tv, render(&b)),
        Err(e) => page(status_of(&e), tv, html! { p.error { (e.to_string()) } }),
    }
}

fn page(status: StatusCode, tv: bool, board: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "apr — floor now" }
                noscript { meta http-equiv="refresh" content=(META_REFRESH_SECS); }
                style { (PreEscaped(CSS)) }
            }
            body class=[tv.then_some("tv")] data-poll=(POLL_MS) {
                h1 { "Floor now" }
                div #board { (board) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    let mut resp = Response::new(axum::body::Body::from(doc.into_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `H:MM:SS` (or `M:SS` under an hour).
pub fn clock(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// How a state is titled on the board.
pub fn state_title(s: &str) -> &'static str {
    match s {
        "on_call" => "On call",
        "hold" => "On hold",
        "wrap_up" => "Wrap-up",
        "idle" => "Available",
        "not_avail" => "On a break",
        "unaccounted" => "Unaccounted",
        "logged_off" => "Logged off",
        _ => "Other",
    }
}

/// The board as the page first shows it (the script redraws the same markup).
fn render(b: &Board) -> Markup {
    html! {
        div.ages {
            @for s in &b.sources {
                @if let Some(age) = s.age_secs {
                    span class={ "age" @if s.stale { " stale" } } data-source=(s.source) {
                        (s.source) " data " (clock(age)) " old" @if s.stale { " — stale" }
                    }
                }
            }
            @if b.sources.iter().all(|s| s.data_until.is_none()) {
                span.age.stale { "no data loaded yet" }
            }
        }
        @if !b.queues.is_empty() {
            h2 { "Queues" }
            div.grid {
                @for q in &b.queues {
                    div.tile.queue data-queue=(q.queue) {
                        b { (q.queue) }
                        span.big.waiting { (q.waiting) } " waiting"
                        @if q.waiting > 0 { span.small { " (longest " (clock(q.longest_wait_secs)) ")" } }
                        div.small {
                            (q.logged_in) " in · " (q.available) " available · " (q.on_call) " on call · " (q.paused) " paused"
                        }
                        div.small.today {
                            "today: " span.offered { (q.today.offered) } " offered, "
                            span.answered { (q.today.answered) } " answered, "
                            (q.today.abandoned) " abandoned, SL "
                            (q.today.service_level.map_or("—".to_string(), |v| format!("{v:.2}%")))
                            ", ASA " (q.today.asa_secs.map_or("—".to_string(), clock))
                        }
                    }
                }
            }
        }
        @for st in STATE_ORDER {
            @let group: Vec<_> = b.agents.iter().filter(|a| a.state == st).collect();
            @if !group.is_empty() {
                h2 { (state_title(st)) " (" (group.len()) ")" }
                div.grid {
                    @for a in group {
                        div class={ "tile agent state-" (a.state) } data-ext=(a.ext) {
                            a href={ "/agent?ext=" (a.ext) "&date=" (b.today) } { (a.name) " (" (a.ext) ")" }
                            div.big { (clock(a.secs_in_state)) }
                            @if !a.reason.is_empty() { div.small { (a.reason) } }
                            div.small {
                                (a.today.answered) " answered · AHT " (clock(a.today.aht_secs))
                                " · breaks " (clock(a.today.break_secs))
                            }
                        }
                    }
                }
            }
        }
        @if b.agents.is_empty() && b.queues.is_empty() {
            p { "Nobody on the floor yet." }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_narrows_and_unknown_parameters_are_named() {
        let (f, tv) = filter_of(&[
            ("queue".into(), "sales, support".into()),
            ("ext".into(), "201".into()),
            ("tv".into(), "1".into()),
        ])
        .unwrap();
        assert_eq!(f.queues, ["sales", "support"]);
        assert_eq!(f.exts, ["201"]);
        assert!(tv);
        let e = filter_of(&[("qeue".into(), "x".into())]).unwrap_err();
        assert!(e.starts_with("unknown parameter 'qeue'"), "{e}");
    }

    #[test]
    fn clocks_read_minutes_then_hours() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(65), "1:05");
        assert_eq!(clock(3 * 3600 + 61), "3:01:01");
        assert_eq!(clock(-5), "0:00");
    }
}
