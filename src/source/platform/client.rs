//! HTTP to the platform (SPEC §3.1, §3.4): login and the token it yields, and one
//! authenticated GET with timeouts, retries and a single re-login on 401. Owns the tokio
//! runtime that drives `reqwest`, so callers stay synchronous.
//!
//! Secrets: the password and the tokens are only ever put into request bodies and headers.
//! Error messages name the endpoint path and status; response bodies quoted in errors have
//! the password and token masked in case a server echoes them back.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, RETRY_AFTER};
use serde_json::{Value, json};

use super::config::PlatformConfig;
use super::retry::{RetryPolicy, parse_retry_after, retryable_status};
use crate::error::{Error, Result, one_line};
use crate::model::CachedToken;

/// Login endpoint (SPEC §3.1).
pub const LOGIN_PATH: &str = "/api/v2/config/login/oauth";

/// A token with less than this left is replaced before use (SPEC §3.1).
const REFRESH_MARGIN_SECS: i64 = 120;
/// Token lifetime when the login response does not say (SPEC §3.1).
const DEFAULT_EXPIRES_IN: i64 = 3600;
/// How much of an error body is quoted (SPEC §3.4).
const BODY_QUOTE: usize = 300;

/// Counters for the `-v` summary line and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCounters {
    /// HTTP requests sent, logins included.
    pub requests: u64,
    /// Retries after a transient failure.
    pub retries: u64,
    /// Successful logins.
    pub logins: u64,
}

/// An authenticated connection to the platform.
pub struct Client {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    cfg: PlatformConfig,
    token: Option<CachedToken>,
    token_changed: bool,
    counters: ClientCounters,
}

/// What one HTTP exchange produced, before deciding whether to retry.
enum Reply {
    Body(Vec<u8>),
    Status {
        status: reqwest::StatusCode,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
}

/// Why a try failed, when another try may succeed.
struct Transient {
    what: String,
    retry_after: Option<Duration>,
}

impl Client {
    /// Builds the HTTP client (timeouts, extra CA) and adopts `cached`, the token an earlier
    /// run stored in the database.
    pub fn new(cfg: PlatformConfig, cached: Option<CachedToken>) -> Result<Client> {
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .user_agent(concat!("apr/", env!("CARGO_PKG_VERSION")))
            .use_rustls_tls();
        if let Some(path) = &cfg.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                Error::config(format!(
                    "{} {} cannot be read: {e}; expected a PEM CA certificate file",
                    cfg.names.ca_cert,
                    path.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    Error::config(format!(
                        "{} {} holds no PEM certificate; expected '-----BEGIN CERTIFICATE-----' blocks",
                        cfg.names.ca_cert,
                        path.display()
                    ))
                })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| Error::config(format!("cannot set up the HTTP client: {e}")))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the HTTP runtime", e))?;
        Ok(Client {
            rt,
            http,
            cfg,
            token: cached,
            token_changed: false,
            counters: ClientCounters::default(),
        })
    }

    pub fn counters(&self) -> ClientCounters {
        self.counters
    }

    /// The token obtained by this client, if it logged in since it was created (to be stored
    /// for the next run). Returns it once.
    pub fn take_new_token(&mut self) -> Option<CachedToken> {
        if std::mem::take(&mut self.token_changed) {
            self.token.clone()
        } else {
            None
        }
    }

    /// GETs `path?query` and decodes the body with `decode`, retrying transient failures
    /// (SPEC §3.4) and logging in again once on a 401.
    pub fn get<T>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        decode: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<T> {
        let url = self.url(path);
        let policy = self.cfg.retry;
        let mut retry = 0u32;
        let mut relogged = false;
        loop {
            let token = self.valid_token()?;
            // Sensitive: kept out of any Debug rendering of the request.
            let mut bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| {
                    Error::Upstream(
                        "the platform issued a token that is not a valid header value".into(),
                    )
                })?;
            bearer.set_sensitive(true);
            let request = self
                .http
                .get(&url)
                .query(query)
                .header(AUTHORIZATION, bearer)
                .header("x-account-id", &self.cfg.account_id)
                .header(ACCEPT, "application/json");
            let failure = match self.send(request) {
                Ok(Reply::Body(body)) => match decode(&body) {
                    Ok(v) => return Ok(v),
                    Err(e) => Transient {
                        what: format!("unreadable response ({e})"),
                        retry_after: None,
                    },
                },
                Ok(Reply::Status { status, .. })
                    if status == reqwest::StatusCode::UNAUTHORIZED && !relogged =>
                {
                    // The token was revoked or expired early: one fresh login, then the same
                    // request again. A second 401 is an error, not a loop.
                    tracing::debug!("GET {path}: 401, logging in again");
                    relogged = true;
                    self.token = None;
                    continue;
                }
                Ok(Reply::Status {
                    status,
                    retry_after,
                    body,
                }) => {
                    if !retryable_status(status.as_u16()) {
                        return Err(self.refused("GET", path, status, &body));
                    }
                    Transient {
                        what: status_text(status),
                        retry_after,
                    }
                }
                Err(t) => t,
            };
            self.pause(&policy, "GET", path, &mut retry, failure)?;
        }
    }

    /// Makes sure the login works (a cached token with time left, or a fresh login), so a
    /// command can refuse a wrong password before it opens the database for writing.
    pub fn ensure_login(&mut self) -> Result<()> {
        self.valid_token().map(|_| ())
    }

    /// Returns a token with at least two minutes left, logging in when needed.
    fn valid_token(&mut self) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        match &self.token {
            Some(t) if t.expires_at - now >= REFRESH_MARGIN_SECS => Ok(t.access_token.clone()),
            _ => {
                self.login()?;
                Ok(self
                    .token
                    .as_ref()
                    .map(|t| t.access_token.clone())
                    .unwrap_or_default())
            }
        }
    }

    /// Logs in (SPEC §3.1), retrying transient failures like any request.
    fn login(&mut self) -> Result<()> {
        let url = self.url(LOGIN_PATH);
        let policy = self.cfg.retry;
        let body = json!({
            "domain": self.cfg.tenant,
            "username": self.cfg.username,
            "password": self.cfg.password,
        });
        let mut retry = 0u32;
        loop {
            let request = self
                .http
                .post(&url)
                .json(&body)
                .header(ACCEPT, "application/json");
            let failure = match self.send(request) {
                Ok(Reply::Body(bytes)) => match decode_login(&bytes) {
                    Ok(token) => {
                        self.counters.logins += 1;
                        self.token = Some(token);
                        self.token_changed = true;
                        tracing::debug!("logged in to the platform");
                        return Ok(());
                    }
                    Err(e) => Transient {
                        what: format!("unreadable response ({e})"),
                        retry_after: None,
                    },
                },
                Ok(Reply::Status {
                    status,
                    retry_after,
                    body,
                }) => {
                    if !retryable_status(status.as_u16()) {
                        let e = self.refused("POST", LOGIN_PATH, status, &body);
                        let n = self.cfg.names;
                        return Err(Error::Upstream(format!(
                            "{e}; check {}, {} and {}",
                            n.username, n.password, n.tenant
                        )));
                    }
                    Transient {
                        what: status_text(status),
                        retry_after,
                    }
                }
                Err(t) => t,
            };
            self.pause(&policy, "POST", LOGIN_PATH, &mut retry, failure)?;
        }
    }

    /// Sends one request and reads its whole body.
    fn send(&mut self, request: reqwest::RequestBuilder) -> std::result::Result<Reply, Transient> {
        self.counters.requests += 1;
        let exchange = async {
            let resp = request.send().await?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now().timestamp()));
            let body = resp.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>((status, retry_after, body))
        };
        match self.rt.block_on(exchange) {
            Ok((status, _, body)) if status.is_success() => Ok(Reply::Body(body)),
            Ok((status, retry_after, body)) => Ok(Reply::Status {
                status,
                // Only 429 and 503 carry a meaningful Retry-After (SPEC §3.4).
                retry_after: retry_after.filter(|_| matches!(status.as_u16(), 429 | 503)),
                body,
            }),
            Err(e) => Err(Transient {
                what: transport_text(&e),
                retry_after: None,
            }),
        }
    }

    /// Waits before the next try, or fails once the retry budget is spent.
    fn pause(
        &mut self,
        policy: &RetryPolicy,
        method: &str,
        path: &str,
        retry: &mut u32,
        failure: Transient,
    ) -> Result<()> {
        if *retry >= policy.max_retries {
            return Err(Error::Upstream(format!(
                "upstream {method} {path} failed after {}: {}",
                crate::plural::count(u64::from(*retry) + 1, "try", "tries"),
                failure.what
            )));
        }
        let wait = policy.delay(*retry, failure.retry_after);
        tracing::debug!(
            "{method} {path}: {}; retry {} in {wait:?}",
            failure.what,
            *retry + 1
        );
        *retry += 1;
        self.counters.retries += 1;
        self.rt
            .block_on(async move { tokio::time::sleep(wait).await });
        Ok(())
    }

    /// The one-line error for a status that is not worth retrying.
    fn refused(&self, method: &str, path: &str, status: reqwest::StatusCode, body: &[u8]) -> Error {
        let mut quoted = String::from_utf8_lossy(&body[..body.len().min(BODY_QUOTE)]).into_owned();
        for secret in [
            Some(self.cfg.password.as_str()),
            self.token.as_ref().map(|t| t.access_token.as_str()),
            self.token.as_ref().map(|t| t.refresh_token.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        {
            quoted = quoted.replace(secret, "***");
        }
        let quoted = one_line(&quoted);
        if quoted.is_empty() {
            Error::Upstream(format!("upstream {method} {path}: {}", status_text(status)))
        } else {
            Error::Upstream(format!(
                "upstream {method} {path}: {}: {quoted}",
                status_text(status)
            ))
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.base)
    }
}

fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// Describes a transport failure without the URL (the caller names the endpoint).
fn transport_text(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the response"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        one_line(&format!("{kind} ({detail})"))
    }
}

/// Reads a login response: `accessToken`/`access_token`, `refreshToken`/`refresh_token`,
/// `expiresIn` (seconds; 3600 when missing).
fn decode_login(body: &[u8]) -> Result<CachedToken> {
    let v: Value = serde_json::from_slice(body)?;
    let text = |keys: [&str; 2]| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .map(str::to_string)
    };
    let access_token = text(["accessToken", "access_token"])
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::input("login response has no accessToken"))?;
    let refresh_token = text(["refreshToken", "refresh_token"]).unwrap_or_default();
    let expires_in = ["expiresIn", "expires_in"]
        .iter()
        .find_map(|k| {
            let x = v.get(*k)?;
            x.as_i64().or_else(|| x.as_str()?.trim().parse().ok())
        })
        .unwrap_or(DEFAULT_EXPIRES_IN);
    Ok(CachedToken {
        access_token,
        refresh_token,
        expires_at: chrono::Utc::now().timestamp() + expires_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_responses_in_both_spellings() {
        let t = decode_login(br#"{"accessToken":"a","refreshToken":"r","expiresIn":60}"#).unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.refresh_token.as_str()),
            ("a", "r")
        );
        let now = chrono::Utc::now().timestamp();
        assert!((t.expires_at - now - 60).abs() <= 2);
        let t = decode_login(br#"{"access_token":"b","refresh_token":"s"}"#).unwrap();
        assert_eq!(t.access_token, "b");
        assert!(
            (t.expires_at - now - 3600).abs() <= 2,
            "missing expiresIn is an hour"
        );
        assert!(decode_login(br#"{"expiresIn":60}"#).is_err());
        assert!(decode_login(br#"{"accessToken":"a""#).is_err());
    }
}
