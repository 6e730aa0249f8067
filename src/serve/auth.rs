//! The optional bearer token of SPEC §7.5: every request carries `Authorization: Bearer
//! TOKEN` when a token is configured, or, with `--token-in-query`, `?token=` (for browsers),
//! which is then taken out of the query before any handler sees it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::http::json_error;
use super::state::AppState;

/// Requires `Authorization: Bearer TOKEN` on every request when a token is configured.
pub async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
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
        format!(
            "missing or wrong bearer token; send Authorization: Bearer <{}>",
            state.token_name
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn a_request_without_the_token_is_told_what_the_token_is_called() {
        use tower::ServiceExt;
        let state = Arc::new(AppState {
            database: crate::store::DatabaseUrl::sqlite("unused.db"),
            zone_choice: crate::config::ZoneChoice::default(),
            token: Some("tok".into()),
            token_name: "APR_SERVE_TOKEN",
            token_in_query: false,
            stale_after_secs: 120,
            state_map: Default::default(),
        });
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "in" }))
            .layer(axum::middleware::from_fn_with_state(state, auth));
        let resp = app
            .oneshot(Request::new(axum::body::Body::empty()))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        assert_eq!(
            body,
            r#"{"error":"missing or wrong bearer token; send Authorization: Bearer <APR_SERVE_TOKEN>"}"#
        );
    }
}
