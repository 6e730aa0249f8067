//! The HTTP server of SPEC §7.5: the [`router`] of every route, binding (loopback unless a
//! token or `--allow-public`), hyper's HTTP/1 connection handling with limits on
//! request-line/header size and on how long a client may take to send them, and the two
//! lifetimes: [`run_once`] answers one request and returns, [`run`] serves until
//! SIGINT/SIGTERM and then drains.
//!
//! The floors, each importing only those below it: this file; the handlers (`api`: the
//! report download, `/health`, 404/405; `page`: the supervisors' page, over its `form`);
//! the middleware (`auth`, `access_log`, `limit`); `http` (JSON errors, streaming a report
//! body); and `state` (the configuration every route shares), `pool`, `slots`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::{Method, header};
use axum::routing::get;
use axum::{Extension, Router, middleware};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::{Error, Result};

pub mod access_log;
pub mod agent_page;
pub mod api;
pub mod auth;
pub mod form;
pub mod http;
pub mod limit;
pub mod live;
pub mod live_page;
pub mod metrics;
pub mod page;
pub mod pool;
mod slots;
pub mod state;

use pool::StorePool;
use state::{AppState, CorsOrigins};

/// Largest request line plus headers accepted, in bytes (hyper's smallest read buffer is
/// 8 KiB); a larger head gets 431 or 414 from hyper.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header fields accepted in one request.
pub const MAX_HEADERS: usize = 64;
/// Connections `serve` holds at once. When they are all taken, the oldest connection that
/// has not sent a byte yet is closed to make room; only when every one has spoken do
/// further clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// Default of `--first-byte-timeout`: how long a new connection may stay silent. Shorter
/// than the header timeout, so that sockets that never speak give their slots back first.
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `serve` waits for in-flight requests after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub allow_public: bool,
    /// How long a client may take to send the request line and headers.
    pub header_timeout: Duration,
    /// How long a new connection may take to send its first byte (`serve`).
    pub first_byte_timeout: Duration,
    pub cors: CorsOrigins,
    pub state: AppState,
}

/// Builds the router every server form uses: `/` (the page), `/api/report`, `/health`,
/// `/live`, `/api/live`, `/metrics`, JSON 404/405, the optional bearer token and the CORS allow-list.
pub fn router(state: AppState, cors: &CorsOrigins) -> Router {
    // Read-only connections reused across requests (issue 13.5).
    let pool = Arc::new(StorePool::new(state.database.clone()));
    let counters = Arc::new(metrics::RequestCounters::default());
    let state = Arc::new(state);
    let app = Router::new()
        .route("/", get(page::page))
        .route("/api/report", get(api::report))
        .route("/health", get(api::health))
        .route("/live", get(live_page::live_page))
        .route("/agent", get(agent_page::agent_page))
        .route("/api/live", get(live_page::api_live))
        .route("/metrics", get(metrics::metrics))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(Extension(pool))
        .layer(middleware::from_fn_with_state(state.clone(), auth::auth))
        // Outside the token check, so refused requests are counted too.
        .layer(middleware::from_fn(metrics::count))
        .layer(Extension(counters))
        .layer(middleware::from_fn(access_log::log))
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

/// Binds the listening socket, refusing a non-loopback address without a token unless
/// `allow_public`, and prints `listening on http://ADDR` (the bound address, so port 0
/// shows the port picked) before anything is accepted.
pub async fn bind(cfg: &ServerConfig) -> Result<TcpListener> {
    if !cfg.listen.ip().is_loopback() && cfg.state.token.is_none() && !cfg.allow_public {
        return Err(Error::config(format!(
            "--listen {} is not a loopback address and {} is not set; set a token, or pass --allow-public to serve it unauthenticated",
            cfg.listen, cfg.state.token_name
        )));
    }
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| Error::io(format!("--listen {} cannot be bound", cfg.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("the bound address is unknown", e))?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{addr}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))?;
    Ok(listener)
}

fn conn_builder(header_timeout: Duration, keep_alive: bool) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(keep_alive);
    b
}

/// Serves one connection; `answered` is set when a request reached the router.
async fn serve_connection(
    builder: &http1::Builder,
    stream: TcpStream,
    app: Router,
    answered: Arc<AtomicBool>,
) -> std::result::Result<(), hyper::Error> {
    let service = hyper::service::service_fn(move |req| {
        answered.store(true, Ordering::SeqCst);
        app.clone().oneshot(req)
    });
    builder
        .serve_connection(TokioIo::new(stream), service)
        .await
}

/// Whether hyper itself answered a request it could not parse (400, 414, 431).
fn hyper_answered(e: &hyper::Error) -> bool {
    e.is_parse() || e.is_parse_too_large()
}

/// `serve-once`: answers exactly one HTTP request (whatever its status) and returns.
/// Connections that close or time out without a request are not answers; the next one is
/// accepted. `timeout`: give up (exit 1) when no request has come by then.
pub async fn run_once(cfg: ServerConfig, timeout: Option<Duration>) -> Result<()> {
    let listener = bind(&cfg).await?;
    let app = router(cfg.state.clone(), &cfg.cors);
    let builder = conn_builder(cfg.header_timeout, false);
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    loop {
        let accepted = match deadline {
            Some(d) => match tokio::time::timeout_at(d, listener.accept()).await {
                Ok(a) => a,
                Err(_) => {
                    return Err(Error::io(
                        "serve-once",
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "no request within --timeout {} s",
                                timeout.unwrap_or_default().as_secs()
                            ),
                        ),
                    ));
                }
            },
            None => listener.accept().await,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let answered = Arc::new(AtomicBool::new(false));
        let result = serve_connection(&builder, stream, app.clone(), answered.clone()).await;
        if let Err(e) = &result {
            tracing::info!("connection from {peer}: {e}");
        }
        if answered.load(Ordering::SeqCst) || result.as_ref().is_err_and(hyper_answered) {
            return Ok(());
        }
    }
}

/// `serve`: serves until SIGINT or SIGTERM, then stops accepting and lets in-flight
/// requests finish (up to [`DRAIN_TIMEOUT`]).
pub async fn run(cfg: ServerConfig) -> Result<()> {
    let listener = bind(&cfg).await?;
    let limiter = limit::Limiter::new(limit::MAX_IN_FLIGHT, limit::QUEUE_WAIT);
    let app = router(cfg.state.clone(), &cfg.cors)
        .layer(axum::middleware::from_fn_with_state(limiter, limit::admit));
    let builder = Arc::new(conn_builder(cfg.header_timeout, true));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = slots::Slots::new(MAX_CONNECTIONS);
    let first_byte = cfg.first_byte_timeout.min(cfg.header_timeout);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let mut claim = tokio::select! {
            c = slots.claim() => c,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = {
            let app = app.clone();
            hyper::service::service_fn(move |req| app.clone().oneshot(req))
        };
        let builder = builder.clone();
        let graceful_conn = graceful.watcher();
        tokio::spawn(async move {
            // Until its first byte the connection is idle: evictable, and closed after
            // `first_byte` (a closed or failed socket reads as ready and ends in hyper).
            let mut byte = [0u8; 1];
            let spoke = tokio::select! {
                // `peek` waits for real data (`readable` may wake falsely); end of stream or
                // an error also counts, and hyper then ends the connection.
                r = tokio::time::timeout(first_byte, stream.peek(&mut byte)) => r.is_ok(),
                () = claim.evicted.notified() => false,
            };
            if !spoke || !claim.activate() {
                tracing::debug!("connection from {peer} closed before its first byte");
                return;
            }
            let conn = graceful_conn.watch(builder.serve_connection(TokioIo::new(stream), service));
            if let Err(e) = conn.await {
                tracing::info!("connection from {peer}: {e}");
            }
            drop(claim);
        });
    }
    drop(listener);
    tracing::info!("shutting down; finishing in-flight requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running after {} s; stopping",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let int = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = int.await;
                    return;
                }
            };
        tokio::select! {
            _ = int => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = int.await;
    }
}
