//! A fake of the contact-center platform API (SPEC §3.1–§3.3) for tests and benchmarks: a
//! real HTTP server on 127.0.0.1 serving deterministic generated agent events and call
//! statistics, with login, token expiry, `next_start_key` paging (overlapping at the last
//! second like the real platform), a plan of injected faults keyed by the Nth request to
//! an endpoint, and a hold: one request kept unanswered until the test releases it, so a
//! test can act (kill the client, kill a server) while the client provably waits mid-run.
//! Self-contained so a test crate includes it with one `mod` line.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const USERNAME: &str = "fake-user";
pub const PASSWORD: &str = "pa55-w0rd-never-logged";
pub const TENANT: &str = "fake-tenant";
pub const ACCOUNT_ID: &str = "acct-42";

/// One generated agent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeEvent {
    pub ext: String,
    pub ts: i64,
    pub event: &'static str,
    pub enabled: bool,
    pub state: &'static str,
    pub username: String,
    pub user_id: String,
}

/// Generates a deterministic timeline for `agents` agents over `[from, to)`: each agent
/// cycles idle → on call → wrap-up → idle with an occasional break, a transition every
/// ~5.5 minutes on average (≈ 500 events per agent per day, SPEC §8's reference load). At a
/// transition the new state's start is listed before the old state's end, at the same
/// second, as the real platform does.
pub fn generate(agents: usize, from: i64, to: i64) -> Vec<FakeEvent> {
    let mut out = Vec::new();
    for i in 0..agents {
        let ext = (3000 + i).to_string();
        let username = format!("Agent+ {i}");
        let user_id = format!("u{i}");
        let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64).wrapping_mul(0x0100_0000_01B3);
        let mut next = move |lo: i64, hi: i64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            lo + (rng % (hi - lo) as u64) as i64
        };
        let mut t = from + next(0, 300);
        let mut current: (&'static str, &'static str) = ("agent_idle", "none");
        out.push(ev(&ext, t, current.0, true, current.1, &username, &user_id));
        let mut cycle = 0u32;
        loop {
            t += next(30, 650);
            if t >= to {
                break;
            }
            cycle += 1;
            let new = match current.0 {
                "agent_idle" if cycle.is_multiple_of(11) => ("agent_not_avail_state", "lunch"),
                "agent_idle" if cycle.is_multiple_of(7) => ("agent_not_avail_state", "Tea Break"),
                "agent_idle" => ("agent_on_call", "none"),
                "agent_on_call" => ("agent_wrap_up", "none"),
                _ => ("agent_idle", "none"),
            };
            out.push(ev(&ext, t, new.0, true, new.1, &username, &user_id));
            // A closing not-available event carries `none`, not the reason (SPEC §3.2).
            out.push(ev(&ext, t, current.0, false, "none", &username, &user_id));
            current = new;
        }
    }
    // Stable: keeps each second's "new start before old end" order within an agent.
    out.sort_by_key(|e| e.ts);
    out
}

fn ev(
    ext: &str,
    ts: i64,
    event: &'static str,
    enabled: bool,
    state: &'static str,
    username: &str,
    user_id: &str,
) -> FakeEvent {
    FakeEvent {
        ext: ext.to_string(),
        ts,
        event,
        enabled,
        state,
        username: username.to_string(),
        user_id: user_id.to_string(),
    }
}

/// Which endpoint a fault or a count refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Login,
    Events,
    Stats,
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// This status with a short JSON error body.
    Status(u16),
    /// This status (429 or 503) with `Retry-After: secs`.
    RetryAfter(u16, u64),
    /// No answer for this long (longer than the client's timeout).
    Stall(Duration),
    /// Headers sent, then the connection is cut mid-body.
    Drop,
    /// A 200 whose JSON body is cut in half.
    Truncate,
    /// Every token issued so far expires now (server-side expiry), so this request gets
    /// a 401 unless the client logs in again.
    ExpireTokens,
    /// The right answer, after this long (shorter than the client's timeout: a slow
    /// platform, not a dead one).
    Slow(Duration),
}

/// Rewrites the events of a page before it is served (malformed fields in valid JSON).
pub type Mangle = fn(&mut Vec<Value>);

/// The `nth` request (1-based, retries included) to `endpoint` suffers `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub endpoint: Endpoint,
    pub nth: usize,
    pub kind: FaultKind,
}

impl Fault {
    pub fn new(endpoint: Endpoint, nth: usize, kind: FaultKind) -> Fault {
        Fault {
            endpoint,
            nth,
            kind,
        }
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub endpoint: Endpoint,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub status: u16,
    pub authorization: Option<String>,
    /// The fault injected into this request, if any.
    pub fault: Option<FaultKind>,
}

struct Inner {
    events: Arc<Vec<FakeEvent>>,
    expires_in: i64,
    tokens: HashMap<String, i64>,
    issued: Vec<String>,
    faults: Vec<Fault>,
    counts: HashMap<Endpoint, usize>,
    seen: Vec<Seen>,
    /// Multiplies the call counts served by the stats endpoint, so a re-fetch can be told apart.
    stats_version: i64,
    /// Send `next_start_key` on every non-empty page (else only on full pages).
    always_key: bool,
    /// When set, a stats window must start at a local hour of a zone with this fixed UTC
    /// offset (seconds) and span at most one hour; others get a 400.
    align_offset: Option<i64>,
    /// Largest page served, whatever `pageSize` asks.
    max_page: usize,
    /// Applied to every events page before it is served.
    mangle: Option<Mangle>,
    /// The request to keep unanswered, if any ([`FakePlatform::hold`]).
    hold: Option<Hold>,
}

/// The plan of [`FakePlatform::hold`]: the `nth` request to one of `endpoints`, counted
/// from when the hold was set, waits for `release` to turn true.
struct Hold {
    endpoints: Vec<Endpoint>,
    nth: usize,
    arrived: usize,
    /// Whether the held request has arrived and is waiting.
    holding: bool,
    release: tokio::sync::watch::Sender<bool>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake platform; stops when dropped.
pub struct FakePlatform {
    pub base: String,
    inner: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakePlatform {
    /// Starts serving `events` on 127.0.0.1 (a free port). Tokens live for an hour.
    pub fn start(events: Vec<FakeEvent>) -> FakePlatform {
        let mut events = events;
        events.sort_by_key(|e| e.ts);
        let inner = Arc::new(Mutex::new(Inner {
            events: Arc::new(events),
            expires_in: 3600,
            tokens: HashMap::new(),
            issued: Vec::new(),
            faults: Vec::new(),
            counts: HashMap::new(),
            seen: Vec::new(),
            stats_version: 1,
            always_key: false,
            align_offset: None,
            max_page: 100_000,
            mangle: None,
            hold: None,
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/api/v2/config/login/oauth", post(login))
            .route(
                "/api/v2/reports/callcenter/agents/activity/events",
                get(events_page),
            )
            .route("/api/v2/reports/callcenter/agents/stats", get(stats))
            .with_state(inner.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels connections still stalled by a fault.
            rt.shutdown_background();
        });
        FakePlatform {
            base,
            inner,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap())
    }

    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.with(|s| {
            s.faults = faults;
            s.counts.clear();
        });
    }

    /// Lifetime of tokens issued from now on (`expiresIn`).
    pub fn set_expires_in(&self, secs: i64) {
        self.with(|s| s.expires_in = secs);
    }

    pub fn set_stats_version(&self, v: i64) {
        self.with(|s| s.stats_version = v);
    }

    pub fn set_always_key(&self, on: bool) {
        self.with(|s| s.always_key = on);
    }

    pub fn set_align_offset(&self, offset: Option<i64>) {
        self.with(|s| s.align_offset = offset);
    }

    /// Rewrites every events page from now on (`None`: serve them as generated).
    pub fn set_mangle(&self, mangle: Option<Mangle>) {
        self.with(|s| s.mangle = mangle);
    }

    pub fn set_max_page(&self, n: usize) {
        self.with(|s| s.max_page = n);
    }

    pub fn set_events(&self, events: Vec<FakeEvent>) {
        let mut events = events;
        events.sort_by_key(|e| e.ts);
        self.with(|s| s.events = Arc::new(events));
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }

    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.with(|s| s.seen.iter().filter(|r| r.endpoint == endpoint).count())
    }

    /// Successful logins.
    pub fn logins(&self) -> usize {
        self.with(|s| {
            s.seen
                .iter()
                .filter(|r| {
                    r.endpoint == Endpoint::Login
                        && r.status == 200
                        && !matches!(r.fault, Some(FaultKind::Drop | FaultKind::Truncate))
                })
                .count()
        })
    }

    /// Every access token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.with(|s| s.issued.clone())
    }

    pub fn clear_seen(&self) {
        self.with(|s| s.seen.clear());
    }

    /// Keeps the `nth` request (1-based, counted from now, retries included) to any of
    /// `endpoints` unanswered until [`FakePlatform::release`]; it is not counted in
    /// [`FakePlatform::seen`] until it is answered. Replaces an earlier hold (releasing it).
    pub fn hold(&self, endpoints: &[Endpoint], nth: usize) {
        assert!(nth >= 1, "requests are counted from 1");
        let (release, _) = tokio::sync::watch::channel(false);
        let earlier = self.with(|s| {
            s.hold.replace(Hold {
                endpoints: endpoints.to_vec(),
                nth,
                arrived: 0,
                holding: false,
                release,
            })
        });
        if let Some(earlier) = earlier {
            earlier.release.send_replace(true);
        }
    }

    /// Whether the held request has arrived and waits for [`FakePlatform::release`].
    pub fn holding(&self) -> bool {
        self.with(|s| s.hold.as_ref().is_some_and(|h| h.holding))
    }

    /// Answers the held request (now, or as soon as it arrives) and ends the hold.
    pub fn release(&self) {
        if let Some(hold) = self.with(|s| s.hold.take()) {
            hold.release.send_replace(true);
        }
    }
}

impl Drop for FakePlatform {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Counts the request against the hold; when it is the held one, a receiver that turns true
/// on release.
fn held(s: &mut Inner, endpoint: Endpoint) -> Option<tokio::sync::watch::Receiver<bool>> {
    let hold = s.hold.as_mut()?;
    if !hold.endpoints.contains(&endpoint) {
        return None;
    }
    hold.arrived += 1;
    (hold.arrived == hold.nth).then(|| {
        hold.holding = true;
        hold.release.subscribe()
    })
}

/// Counts the request and returns the fault planned for it, if any.
fn fault_for(s: &mut Inner, endpoint: Endpoint) -> Option<FaultKind> {
    let n = s.counts.entry(endpoint).or_default();
    *n += 1;
    let n = *n;
    s.faults
        .iter()
        .find(|f| f.endpoint == endpoint && f.nth == n)
        .map(|f| f.kind)
}

fn error_json(status: u16, msg: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": msg }).to_string(),
    )
        .into_response()
}

fn ok_json(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Applies a fault that replaces the answer. `Truncate` and `ExpireTokens` are applied by
/// the handlers (they need the real answer or the auth check).
async fn fault_response(kind: FaultKind, body: impl FnOnce() -> String) -> Option<Response> {
    match kind {
        FaultKind::Status(code) => Some(error_json(code, "injected failure")),
        FaultKind::RetryAfter(code, secs) => {
            let mut r = error_json(code, "slow down");
            r.headers_mut()
                .insert(header::RETRY_AFTER, secs.to_string().parse().unwrap());
            Some(r)
        }
        FaultKind::Stall(d) => {
            // The client gives up long before this and drops the connection, which cancels
            // the handler; the request was already recorded (status 0: no answer).
            tokio::time::sleep(d).await;
            Some(error_json(504, "stalled"))
        }
        FaultKind::Drop => {
            let full = body();
            let half = Bytes::from(full.as_bytes()[..full.len() / 2].to_vec());
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected drop",
                )),
            ];
            Some(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    Body::from_stream(futures_util::stream::iter(chunks)),
                )
                    .into_response(),
            )
        }
        FaultKind::Truncate => {
            let full = body();
            Some(ok_json(full[..full.len() / 2].to_string()))
        }
        FaultKind::ExpireTokens => None,
        FaultKind::Slow(d) => {
            tokio::time::sleep(d).await;
            None
        }
    }
}

fn record(
    s: &Shared,
    endpoint: Endpoint,
    q: &HashMap<String, String>,
    auth: Option<String>,
    status: u16,
    fault: Option<FaultKind>,
) {
    let num = |k: &str| q.get(k).and_then(|v| v.parse().ok());
    s.lock().unwrap().seen.push(Seen {
        endpoint,
        start: num("startDate"),
        end: num("endDate"),
        status,
        authorization: auth,
        fault,
    });
}

async fn login(State(s): State<Shared>, body: Bytes) -> Response {
    let fault = fault_for(&mut s.lock().unwrap(), Endpoint::Login);
    let empty = HashMap::new();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ok = v["domain"] == TENANT && v["username"] == USERNAME && v["password"] == PASSWORD;
    let answer = {
        let mut st = s.lock().unwrap();
        let n = st.issued.len() + 1;
        let token = format!(
            "tok{n}-{:016x}",
            (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        let expires_in = st.expires_in;
        let body = json!({
            "accessToken": token,
            "refreshToken": format!("refresh-{token}"),
            "expiresIn": expires_in,
        })
        .to_string();
        if ok && fault.is_none_or(|f| matches!(f, FaultKind::Stall(_) | FaultKind::ExpireTokens)) {
            st.issued.push(token.clone());
            st.tokens.insert(token, now() + expires_in);
        }
        body
    };
    if let Some(kind) = fault {
        if matches!(kind, FaultKind::Stall(_)) {
            record(&s, Endpoint::Login, &empty, None, 0, fault);
        }
        let copy = answer.clone();
        if let Some(r) = fault_response(kind, move || copy).await {
            record(
                &s,
                Endpoint::Login,
                &empty,
                None,
                r.status().as_u16(),
                fault,
            );
            return r;
        }
    }
    if !ok {
        record(&s, Endpoint::Login, &empty, None, 401, fault);
        return error_json(401, "invalid credentials");
    }
    record(&s, Endpoint::Login, &empty, None, 200, fault);
    ok_json(answer)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Checks the bearer token and account header; `Err` is the 401/403 to send.
fn authorize(
    s: &mut Inner,
    headers: &HeaderMap,
    expire: bool,
) -> Result<Option<String>, (u16, &'static str)> {
    if expire {
        for exp in s.tokens.values_mut() {
            *exp = 0;
        }
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let token = auth.as_deref().and_then(|a| a.strip_prefix("Bearer "));
    match token.and_then(|t| s.tokens.get(t)) {
        Some(&exp) if exp > now() => {}
        _ => return Err((401, "token expired or invalid")),
    }
    if headers.get("x-account-id").and_then(|v| v.to_str().ok()) != Some(ACCOUNT_ID) {
        return Err((403, "unknown account"));
    }
    Ok(auth)
}

fn event_json(e: &FakeEvent) -> Value {
    json!({
        "event": e.event,
        "enabled": e.enabled,
        "user_id": e.user_id,
        "ext": e.ext,
        "username": e.username,
        "state": e.state,
        "Timestamp": e.ts,
    })
}

/// The request handling both data endpoints share: the fault plan, the bearer token, the
/// `startDate`/`endDate` window, the recording of every answer, and injected faults on the
/// way out. `body` builds the 200 body from the state and window, or refuses with a 400.
async fn data_endpoint(
    s: Shared,
    endpoint: Endpoint,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: impl FnOnce(&Inner, &HashMap<String, String>, i64, i64) -> Result<String, &'static str>,
) -> Response {
    let gate = held(&mut s.lock().unwrap(), endpoint);
    if let Some(mut gate) = gate {
        // An error only when the hold is gone unreleased (the fake is being dropped): the
        // answer then goes to a client that loses its server anyway.
        let _ = gate.wait_for(|released| *released).await;
    }
    let (fault, auth, body) = {
        let mut st = s.lock().unwrap();
        let fault = fault_for(&mut st, endpoint);
        let auth = match authorize(&mut st, &headers, fault == Some(FaultKind::ExpireTokens)) {
            Ok(a) => a,
            Err((code, msg)) => {
                drop(st);
                record(&s, endpoint, &q, None, code, fault);
                return error_json(code, msg);
            }
        };
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
        let built = match (num("startDate"), num("endDate")) {
            // Like the real platform: an empty window is refused.
            (Some(start), Some(end)) if end <= start => Err("bad range"),
            (Some(start), Some(end)) => body(&st, &q, start, end),
            _ => Err("startDate and endDate are required"),
        };
        match built {
            Ok(b) => (fault, auth, b),
            Err(msg) => {
                drop(st);
                record(&s, endpoint, &q, auth, 400, fault);
                return error_json(400, msg);
            }
        }
    };
    if let Some(kind) = fault {
        if matches!(kind, FaultKind::Stall(_)) {
            record(&s, endpoint, &q, auth.clone(), 0, fault);
        }
        let copy = body.clone();
        if let Some(r) = fault_response(kind, move || copy).await {
            record(&s, endpoint, &q, auth, r.status().as_u16(), fault);
            return r;
        }
    }
    record(&s, endpoint, &q, auth, 200, fault);
    ok_json(body)
}

async fn events_page(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    data_endpoint(s, Endpoint::Events, q, headers, |st, q, start, end| {
        if end - start > 31 * 86_400 {
            return Err("range exceeds 31 days");
        }
        let size = (q
            .get("pageSize")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(2000)
            .max(1) as usize)
            .min(st.max_page);
        let events = &st.events;
        let first = events.partition_point(|e| e.ts < start);
        let mut page: Vec<Value> = events[first..]
            .iter()
            .take_while(|e| e.ts <= end)
            .take(size)
            .map(event_json)
            .collect();
        // The key is the page's last timestamp: the next page starts at that same second
        // and repeats its events, as the real platform does.
        let key = match page.last() {
            Some(last) if page.len() == size || st.always_key => last["Timestamp"].to_string(),
            _ => String::new(),
        };
        if let Some(mangle) = st.mangle {
            mangle(&mut page);
        }
        Ok(json!({ "events": page, "next_start_key": key }).to_string())
    })
    .await
}

async fn stats(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    data_endpoint(s, Endpoint::Stats, q, headers, |st, _q, start, end| {
        if let Some(off) = st.align_offset
            && ((start + off).rem_euclid(3600) != 0 || end <= start || end - start > 3600)
        {
            return Err("stats window is not one aligned local hour");
        }
        let mut per_ext: std::collections::BTreeMap<&str, (i64, i64, &str)> = Default::default();
        for e in st.events.iter().filter(|e| start <= e.ts && e.ts < end) {
            let entry = per_ext.entry(&e.ext).or_insert((0, 0, &e.username));
            if e.event == "agent_on_call" && e.enabled {
                entry.0 += 1;
                entry.1 += (e.ts % 97) + 20;
            }
        }
        let v = st.stats_version;
        let mut obj = serde_json::Map::new();
        for (ext, (calls, talk, name)) in per_ext {
            let total = calls * v + calls / 3;
            obj.insert(
                ext.to_string(),
                json!({
                    "name": name,
                    "tags": ["fake"],
                    "total_calls": total,
                    "answered_calls": calls * v,
                    "talked_time": talk,
                    "on_call_time": talk.to_string(),
                    "idle_time": null,
                    "not_available_detailed_report": {"lunch": calls * 10},
                }),
            );
        }
        Ok(Value::Object(obj).to_string())
    })
    .await
}
