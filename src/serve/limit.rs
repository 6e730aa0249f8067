//! How many requests `apr serve` works on at once (issue 13.5). Every request that reaches
//! the routes holds a permit while its handler runs and, for a streamed body (a report),
//! until the last byte is sent or the client goes away, so at most [`MAX_IN_FLIGHT`]
//! reports are rendered and at most that many database connections are open for them.
//! Others wait in line up to [`QUEUE_WAIT`], then get `503` with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Requests worked on at once. Each report costs a database connection, its page cache and
/// up to 320 KiB of body in flight; four keep a busy server well under 64 MiB and, on two
/// cores, render about as fast as more would.
pub const MAX_IN_FLIGHT: usize = 4;
/// How long a request waits for its turn before it is told to come back.
pub const QUEUE_WAIT: Duration = Duration::from_secs(15);
/// `Retry-After` of a request that waited in vain, in seconds.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The permits of one server.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl Limiter {
    pub(crate) fn new(in_flight: usize, wait: Duration) -> Limiter {
        Limiter {
            permits: Arc::new(Semaphore::new(in_flight)),
            wait,
        }
    }
}

fn busy() -> Response {
    let mut resp = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({
            "error": format!(
                "the server is busy with other reports; retry in {RETRY_AFTER_SECS} seconds"
            )
        })),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    resp
}

/// The middleware: waits for a permit (or answers 503), runs the request, and keeps the
/// permit with a streamed body until that body is done.
pub(crate) async fn admit(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let permit = match tokio::time::timeout(limiter.wait, limiter.permits.acquire_owned()).await {
        Ok(Ok(p)) => p,
        _ => return busy(),
    };
    let resp = next.run(req).await;
    hold_while_streaming(resp, permit)
}

/// A body whose length is known was built in full by the handler: the permit goes back
/// now. A streamed one (the report) keeps it until it is dropped.
fn hold_while_streaming(resp: Response, permit: OwnedSemaphorePermit) -> Response {
    if resp.body().size_hint().exact().is_some() {
        return resp;
    }
    resp.map(|body| {
        Body::from_stream(body.into_data_stream().map(move |chunk| {
            let _held = &permit;
            chunk
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app(limiter: Limiter) -> Router {
        let streamed = || async {
            Body::from_stream(futures_util::stream::iter([Ok::<_, std::io::Error>(
                bytes::Bytes::from_static(b"row\n"),
            )]))
        };
        Router::new()
            .route("/stream", get(streamed))
            .route("/full", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(limiter, admit))
    }

    fn get_req(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[test]
    fn a_streamed_body_keeps_its_permit_and_the_next_request_is_told_to_retry() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let limiter = Limiter::new(1, Duration::from_millis(20));
                let app = app(limiter.clone());
                // A full body gives the permit back at once.
                let full = app.clone().oneshot(get_req("/full")).await.unwrap();
                assert_eq!(full.status(), StatusCode::OK);
                assert_eq!(limiter.permits.available_permits(), 1);
                // A streamed body not yet sent holds it: the next request waits, then 503.
                let streaming = app.clone().oneshot(get_req("/stream")).await.unwrap();
                assert_eq!(limiter.permits.available_permits(), 0);
                let refused = app.clone().oneshot(get_req("/full")).await.unwrap();
                assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(refused.headers()[header::RETRY_AFTER], "5");
                // Once the body is sent (here: read to the end and dropped), it is free.
                let bytes = axum::body::to_bytes(streaming.into_body(), 1024)
                    .await
                    .unwrap();
                assert_eq!(&bytes[..], b"row\n");
                assert_eq!(limiter.permits.available_permits(), 1);
            });
    }
}
