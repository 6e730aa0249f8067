//! One log line per request at `-v` (SPEC §11): method, path and query without the token,
//! status, and the milliseconds until the response head (a streamed body may go on after).

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// The path and query of `uri` with any `token` parameter left out.
pub fn redacted(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_string();
    };
    let mut kept = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "token" {
            kept.append_pair(&k, &v);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", kept.finish())
    } else {
        path.to_string()
    }
}

/// Logs the request once its response head is ready.
pub async fn log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = redacted(req.uri());
    let start = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        "{method} {path} {} {} ms",
        resp.status().as_u16(),
        start.elapsed().as_millis()
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_reaches_the_log() {
        let uri: axum::http::Uri = "/?startDate=2025-09-07&token=s3cret&by=day"
            .parse()
            .unwrap();
        assert_eq!(redacted(&uri), "/?startDate=2025-09-07&by=day");
        let uri: axum::http::Uri = "/api/report?token=s3cret".parse().unwrap();
        assert_eq!(redacted(&uri), "/api/report");
        let uri: axum::http::Uri = "/health".parse().unwrap();
        assert_eq!(redacted(&uri), "/health");
    }
}
