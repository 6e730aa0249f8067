//! The HTTP side of every route: errors as JSON fit to send back, the status of a failure
//! before the first byte, and a report's bytes streamed from the blocking pool as the
//! response body.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::pool::StorePool;
use super::state::AppState;
use crate::config::{ZoneUse, decide_zone};
use crate::error::Error;
use crate::store::Store;

/// A JSON error body `{"error": MSG}` with `status`, the message made [`client_safe`].
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

/// The HTTP status for a failure before the report's first byte: 503 while the database
/// is unavailable, 500 for the server's own configuration (a zone that does not match the
/// database's).
pub(crate) fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Database(_) | Error::Contended(_) => StatusCode::SERVICE_UNAVAILABLE,
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

/// Opens the database on the blocking pool and runs `job` there, returning its result (a
/// response built whole, such as the live board's).
pub(crate) async fn read_blocking<T, F>(
    state: Arc<AppState>,
    pool: Arc<StorePool>,
    job: F,
) -> crate::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Store, crate::hours::Zone) -> crate::Result<T> + Send + 'static,
{
    let done = tokio::task::spawn_blocking(move || {
        let mut store = pool.take()?;
        let recorded = store.meta("timezone")?;
        let zone = decide_zone(recorded.as_deref(), &state.zone_choice, ZoneUse::Read)?.zone;
        let out = job(store.as_mut(), zone)?;
        pool.give_back(store);
        Ok(out)
    })
    .await;
    done.unwrap_or_else(|_| {
        Err(Error::io(
            "the request failed",
            std::io::Error::other("the database task ended early"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::args::RawReportArgs;

    #[test]
    fn errors_sent_back_are_one_short_line_without_control_characters() {
        let long = "x".repeat(20_000);
        let e =
            RawReportArgs::from_query(vec![(format!("a\nb\0c{long}"), "1".into())]).unwrap_err();
        let safe = client_safe(&e);
        assert!(safe.starts_with("unknown parameter 'a b?c"), "{safe}");
        assert!(!safe.chars().any(char::is_control), "{safe}");
        assert_eq!(safe.chars().count(), ERROR_CHARS + 1);
        assert!(safe.ends_with('…'));
        let short = "--by 'year' is not a period";
        assert_eq!(client_safe(short), short);
    }
}
