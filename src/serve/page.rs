//! The supervisors' page (SPEC §11), `GET /`: a plain GET form whose fields carry the
//! query parameter names of `/api/report` (so `/?startDate=2025-09-07&by=day` is a link to
//! that view), the HTML report of §10 below it, and links to download the same report as
//! CSV, XLSX and JSON. No script at all: it works with JavaScript off. Markup comes from
//! maud templates, which escape every value the user typed.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};

use crate::error::Error;
use crate::report::args::{ArgNames, RawReportArgs};
use crate::report::html::{HtmlShape, HtmlSink, document_start};
use crate::report::request::ReportRequest;
use crate::report::sink::RowSink;

use super::auth::QueryToken;
use super::http::{status_of, stream_blocking};
use super::pool::StorePool;
use super::state::AppState;

/// The flags among the form's fields (checkboxes).
const FLAGS: [&str; 2] = ["extended", "totals"];

/// The page's fields as the request gave them, for echoing into the form and the links.
struct Values<'a> {
    pairs: &'a [(String, String)],
    token: Option<&'a str>,
}

impl Values<'_> {
    fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn on(&self, name: &str) -> bool {
        self.pairs
            .iter()
            .any(|(k, v)| k == name && !matches!(v.as_str(), "0" | "false" | "off"))
    }

    /// `/api/report?...&format=FORMAT` for the same report.
    fn download(&self, format: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs {
            if !v.is_empty() && k != "format" {
                q.append_pair(k, v);
            }
        }
        if let Some(t) = self.token {
            q.append_pair("token", t);
        }
        q.append_pair("format", format);
        format!("/api/report?{}", q.finish())
    }
}

fn select(name: &str, current: &str, options: &[(&str, &str)]) -> Markup {
    html! {
        select name=(name) {
            @for (value, label) in options {
                option value=(value) selected[*value == current] { (label) }
            }
        }
    }
}

/// The page up to the report: head, form, message, download links.
fn page_start(v: &Values<'_>, error: Option<&str>, downloads: bool) -> String {
    let markup = html! {
        (document_start("apr reports", ".error{color:#a40000;font-weight:600}"))
        header {
            h1 { "Agent performance reports" }
            form method="get" action="/" {
                label { "Start date" input type="date" name="startDate" value=(v.get("startDate")) required; }
                label { "Start time" input type="time" name="startTime" value=(v.get("startTime")); }
                label { "End date" input type="date" name="endDate" value=(v.get("endDate")); }
                label { "End time" input type="time" name="endTime" value=(v.get("endTime")); }
                label { "Kind" (select("kind", v.get("kind"), &[("agents", "Agents"), ("queues", "Queues"), ("calls", "Calls")])) }
                label { "Period" (select("by", v.get("by"), &[("hour", "Hour"), ("day", "Day"), ("week", "Week"), ("month", "Month")])) }
                label { "Extensions" input type="text" name="ext" value=(v.get("ext")) placeholder="3012,3032"; }
                label { "Queues" input type="text" name="queue" value=(v.get("queue")) placeholder="sales,support"; }
                @for flag in FLAGS {
                    label {
                        (if flag == "extended" { "Extended" } else { "Totals" })
                        input type="checkbox" name=(flag) value="1" checked[v.on(flag)];
                    }
                }
                @if let Some(t) = v.token {
                    input type="hidden" name="token" value=(t);
                }
                button type="submit" { "Show report" }
            }
            @if let Some(msg) = error {
                p.error role="alert" { (msg) }
            }
            @if downloads {
                nav {
                    "Download: "
                    a href=(v.download("csv")) { "CSV" }
                    a href=(v.download("xlsx")) { "XLSX" }
                    a href=(v.download("json")) { "JSON" }
                }
            }
        }
    };
    markup.into_string()
}

const PAGE_END: &str = "</body></html>\n";

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

/// The form alone, with a message when there is one.
fn form_only(v: &Values<'_>, status: StatusCode, error: Option<&str>) -> Response {
    html_response(status, page_start(v, error, false) + PAGE_END)
}

/// `GET /`: the form, and below it the report the query asks for.
pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(pool): Extension<Arc<StorePool>>,
    token: Option<Extension<QueryToken>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let token = token.map(|Extension(QueryToken(t))| t);
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(e) => {
            let v = Values {
                pairs: &[],
                token: token.as_deref(),
            };
            let msg = format!("the query string is not valid: {}", e.body_text());
            return form_only(&v, StatusCode::BAD_REQUEST, Some(&msg));
        }
    };
    let v = Values {
        pairs: &pairs,
        token: token.as_deref(),
    };
    if pairs.iter().all(|(_, value)| value.is_empty()) {
        return form_only(&v, StatusCode::OK, None);
    }
    // The page shows HTML whatever `format` says; the links carry the other formats.
    let report_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "format")
        .cloned()
        .collect();
    let req = RawReportArgs::from_query(report_pairs).and_then(|mut raw| {
        raw.format = Some("html".into());
        ReportRequest::parse(&raw, ArgNames::Http).map_err(|e| e.to_string())
    });
    let req = match req {
        Ok(req) => req,
        Err(msg) => return form_only(&v, StatusCode::BAD_REQUEST, Some(&msg)),
    };
    let start = page_start(&v, None, true);
    let body = stream_blocking(state, pool, move |store, zone, out| {
        let err = |e| Error::io("cannot write the page", e);
        out.write_all(start.as_bytes()).map_err(err)?;
        {
            let mut sink = HtmlSink::with_shape(&mut *out, HtmlShape::Fragment, req.text_style());
            crate::report::render(store, zone, &req, &mut sink)?;
            sink.finish()?;
        }
        out.write_all(PAGE_END.as_bytes()).map_err(err)
    })
    .await;
    match body {
        Ok(body) => html_response(StatusCode::OK, body),
        Err(e) => form_only(&v, status_of(&e), Some(&e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_echoes_values_escaped_and_links_carry_them() {
        let p: Vec<(String, String)> = [
            ("startDate", "2025-09-07"),
            ("ext", "<script>alert(1)</script>"),
            ("by", "day"),
            ("totals", "1"),
            ("format", "csv"),
            ("endDate", ""),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        let v = Values {
            pairs: &p,
            token: Some("t&k"),
        };
        let page = page_start(&v, Some("<b>bad</b>"), true);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<b>bad"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            page.contains(r#"<option value="day" selected>Day</option>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"name="totals" value="1" checked"#),
            "{page}"
        );
        assert!(
            !page.contains(r#"name="extended" value="1" checked"#),
            "{page}"
        );
        assert_eq!(
            v.download("xlsx"),
            "/api/report?startDate=2025-09-07&ext=%3Cscript%3Ealert%281%29%3C%2Fscript%3E&by=day&totals=1&token=t%26k&format=xlsx"
        );
        assert!(page.contains(r#"name="token" value="t&amp;k""#), "{page}");
    }
}
