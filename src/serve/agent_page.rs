//! `GET /agent?ext=&date=` (SPEC §13): one agent's local day. A band drawn as inline SVG of
//! its state stints through the day, its sessions (login → logoff), its pauses with reason
//! and length, its queue calls (queue_log's `queue_calls`) and its hourly rows. The stints come from
//! [`crate::aggregate::stints`], walked as aggregation walks the hourly rows, so the band's
//! seconds are the rows' seconds.

use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::http::{json_error, read_blocking, status_of};
use super::live_page::{clock, state_title};
use super::pool::StorePool;
use super::state::AppState;
use crate::aggregate::categories::StateMap;
use crate::aggregate::stints::{StateStint, state_stints};
use crate::hours::{Zone, parse_date};
use crate::model::queue::Stint;
use crate::model::{ActivityFilter, ActivityRow};
use crate::report::args::parse_exts;

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;padding:10px;background:#f4f5f7;color:#1b1f24}\
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1em;margin:1em 0 .3em}\
svg.band{width:100%;height:48px;display:block;background:#ddd}\
.legend span{display:inline-block;margin:2px 8px 2px 0;font-size:.85em}\
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\
.scroll{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;background:#fff;font-size:.9em}\
td,th{border:1px solid #d5d9e0;padding:3px 6px;text-align:left;white-space:nowrap}\
a{color:#1f64b4}";

/// Band colour of a state (the live board's).
fn colour(state: &str) -> &'static str {
    match state {
        "on_call" | "hold" => "#1f7a1f",
        "wrap_up" => "#8a6d00",
        "idle" => "#1f64b4",
        "not_avail" => "#c05600",
        _ => "#999999",
    }
}

/// What the page asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentQuery {
    pub ext: String,
    pub date: NaiveDate,
}

/// `ext` (one extension) and `date` (`YYYY-MM-DD`), both required.
pub fn query_of(pairs: &[(String, String)]) -> Result<AgentQuery, String> {
    let (mut ext, mut date) = (None, None);
    for (k, v) in pairs {
        match k.as_str() {
            "ext" => ext = Some(v.as_str()),
            "date" => date = Some(v.as_str()),
            "token" => {}
            other => return Err(format!("unknown parameter '{other}'; expected ext or date")),
        }
    }
    let ext = ext.ok_or("ext is missing; expected ext=EXTENSION such as ext=3012")?;
    let exts = parse_exts(ext, "ext").map_err(|e| e.to_string())?;
    let [ext] = <[String; 1]>::try_from(exts)
        .map_err(|_| format!("ext '{ext}' is not one extension; expected one such as 3012"))?;
    let date = date.ok_or("date is missing; expected date=YYYY-MM-DD")?;
    let date = parse_date(date, "date").map_err(|e| e.to_string())?;
    Ok(AgentQuery { ext, date })
}

/// The agent's day as read from the store.
#[derive(Debug, Default)]
pub struct AgentDay {
    pub ext: String,
    pub name: String,
    pub date: String,
    pub from: i64,
    pub to: i64,
    pub stints: Vec<StateStint>,
    pub hours: Vec<ActivityRow>,
    /// The queue calls the agent answered or was offered (queue_log), by entry time.
    pub calls: Vec<Stint>,
}

/// Reads the agent's day in `zone`, its stints walked with `state_map` (as aggregation walked them).
pub fn read_day(
    store: &mut dyn crate::store::Store,
    zone: Zone,
    q: &AgentQuery,
    state_map: &StateMap,
) -> crate::Result<AgentDay> {
    let midnight = |d: NaiveDate| zone.instant_of(d.and_hms_opt(0, 0, 0).unwrap_or_default());
    let next = q.date.succ_opt().unwrap_or(q.date);
    let (from, to) = (midnight(q.date), midnight(next));
    let exts = vec![q.ext.clone()];
    let mut stints = Vec::new();
    state_stints(store, zone, from, to, &exts, state_map, &mut |s| {
        stints.push(s);
        Ok(())
    })?;
    let mut hours = Vec::new();
    let filter = ActivityFilter {
        from_local: format!("{} 00:00", q.date.format("%Y-%m-%d")),
        to_local: format!("{} 00:00", next.format("%Y-%m-%d")),
        exts: exts.clone(),
    };
    store.scan_activity(&filter, &mut |r| {
        hours.push(r);
        Ok(())
    })?;
    let mut calls = Vec::new();
    if let Some(queue_store) = store.queue_store() {
        queue_store.scan_queue_calls(&filter.from_local, &filter.to_local, &mut |c| {
            if c.agent == q.ext {
                calls.push(c);
            }
            Ok(())
        })?;
    }
    calls.sort_by(|a, b| (a.enter_time, &a.callid).cmp(&(b.enter_time, &b.callid)));
    let name = stints
        .first()
        .map(|s| s.name.clone())
        .or_else(|| hours.first().map(|r| r.agent_name.clone()))
        .unwrap_or_else(|| "Unknown".into());
    Ok(AgentDay {
        ext: q.ext.clone(),
        name,
        date: q.date.format("%Y-%m-%d").to_string(),
        from,
        to,
        stints,
        hours,
        calls,
    })
}

/// Sessions: runs of stints in any state but logged off, as `(login, logoff)`.
pub fn sessions(stints: &[StateStint]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for s in stints.iter().filter(|s| s.state != "logged_off") {
        match out.last_mut() {
            Some(last) if last.1 == s.start => last.1 = s.end,
            _ => out.push((s.start, s.end)),
        }
    }
    out
}

/// `GET /agent`: the page, or a one-line JSON error for a bad query.
pub async fn agent_page(
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
    let q = match query_of(&pairs) {
        Ok(q) => q,
        Err(msg) => return json_error(StatusCode::BAD_REQUEST, msg),
    };
    let state_map = state.state_map.clone();
    let read = read_blocking(state, pool, move |store, zone| {
        let day = read_day(store, zone, &q, &state_map)?;
        Ok(render(&day, zone))
    })
    .await;
    match read {
        Ok(doc) => {
            let mut resp = Response::new(axum::body::Body::from(doc.into_string()));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            resp
        }
        Err(e) => json_error(status_of(&e), e.to_string()),
    }
}

fn render(d: &AgentDay, zone: Zone) -> Markup {
    let hm = |t: i64| zone.local(t).format("%H:%M:%S").to_string();
    let span = (d.to - d.from).max(1);
    let pauses: Vec<&StateStint> = d.stints.iter().filter(|s| s.state == "not_avail").collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "apr — " (d.name) " (" (d.ext) ") on " (d.date) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { (d.name) " (" (d.ext) ") — " (d.date) }
                p { a href={ "/?startDate=" (d.date) "&ext=" (d.ext) } { "Hourly report" } " · " a href="/live" { "Floor now" } }
                h2 { "States" }
                svg.band viewBox={ "0 0 " (span) " 10" } preserveAspectRatio="none" role="img" aria-label="states through the day" {
                    @for s in &d.stints {
                        rect x=(s.start - d.from) y="0" width=(s.end - s.start) height="10"
                            fill=(colour(s.state)) data-state=(s.state) data-secs=(s.end - s.start) {
                            title { (state_title(s.state)) " " (s.reason) " " (hm(s.start)) "–" (hm(s.end)) }
                        }
                    }
                }
                div.legend {
                    @for st in ["idle", "on_call", "wrap_up", "not_avail", "logged_off"] {
                        span { i style={ "background:" (colour(st)) } {} (state_title(st)) }
                    }
                }
                h2 { "Sessions" }
                div.scroll { table.sessions {
                    tr { th { "Login" } th { "Logoff" } th { "Length" } }
                    @for (a, b) in sessions(&d.stints) {
                        tr { td { (hm(a)) } td { (hm(b)) } td { (clock(b - a)) } }
                    }
                } }
                h2 { "Pauses" }
                div.scroll { table.pauses {
                    tr { th { "Reason" } th { "Start" } th { "End" } th { "Length" } }
                    @for s in &pauses {
                        tr { td { (s.reason) } td { (hm(s.start)) } td { (hm(s.end)) } td { (clock(s.end - s.start)) } }
                    }
                } }
                h2 { "Calls" }
                div.scroll { table.calls {
                    tr { th { "Entered" } th { "Queue" } th { "Caller" } th { "Outcome" } th { "Wait" } th { "Talk" } }
                    @for c in &d.calls {
                        tr data-call=(c.callid) {
                            td { (hm(c.enter_time)) }
                            td { (c.queue) }
                            td { (c.caller_number) }
                            td { (c.outcome.map_or("", |o| o.as_str())) }
                            td { (c.wait_secs.map_or(String::new(), clock)) }
                            td { (c.talk_secs.map_or(String::new(), clock)) }
                        }
                    }
                } }
                h2 { "Hours" }
                div.scroll { table.hours {
                    tr { th { "Hour" } th { "Covered" } th { "Idle" } th { "Talk" } th { "Wrap-up" } th { "Calls" } th { "Answered" } }
                    @for r in &d.hours {
                        tr data-covered=(r.figures.covered_secs) {
                            td { (r.report_hour_local) }
                            td { (clock(r.figures.covered_secs)) }
                            td { (clock(r.figures.buckets.idle)) }
                            td { (clock(r.figures.buckets.talk)) }
                            td { (clock(r.figures.buckets.wrap_up)) }
                            td { (r.figures.total_calls) }
                            td { (r.figures.answered_calls) }
                        }
                    }
                } }
            }
        }
    }
}
