//! Oracles for hostile input, shared by the proptest runs of the normal suite
//! (tests/chaos_hostile.rs) and the cargo-fuzz targets in `fuzz/` (which include this file
//! by path): whatever the bytes, the entry point answers without panicking, and what it
//! answers holds together.

use apr::hours::Zone;
use apr::source::queue_log::parse::{LineError, parse_line};

/// One queue_log line of any bytes, read as the loader reads it (lossy UTF-8): either a
/// parsed line whose fields put back together give the line again, or a one-line reason.
pub fn check_queue_log_line(bytes: &[u8], zone: Zone) {
    // The reader splits at '\n': a line never holds one.
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..end]);
    match parse_line(&text, zone) {
        Ok(l) => {
            assert!(!l.event.is_empty(), "an empty event parsed: {text:?}");
            for f in [l.callid, l.queuename, l.agent, l.event]
                .iter()
                .chain(&l.data[..4])
            {
                assert!(
                    !f.contains('|'),
                    "a field holds a separator: {f:?} of {text:?}"
                );
            }
            let line = text.trim_end_matches(['\n', '\r']);
            let (_, rest) = line.split_once('|').expect("a parsed line has separators");
            let mut fields = vec![l.callid, l.queuename, l.agent, l.event];
            fields.extend(l.data);
            assert_eq!(
                fields.join("|").trim_end_matches('|'),
                rest.trim_end_matches('|'),
                "the fields do not give the line back: {text:?}"
            );
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
            if let LineError::TooFewFields(n) = e {
                assert!(n < 5, "{n} fields reported too few: {text:?}");
            }
        }
    }
}

/// `GET /api/report?QUERY` through the real router, on a database that does not exist:
/// parameters are checked before the database is opened, so the answer is 400 naming the
/// problem in one JSON line, or 503 (valid parameters, database missing) — never a panic,
/// a 500 or a debug dump. Returns the status.
pub fn check_report_query(rt: &tokio::runtime::Runtime, app: &axum::Router, query: &[u8]) -> u16 {
    use tower::ServiceExt;
    let q: String = query
        .iter()
        .map(|&b| {
            // Bytes a request line cannot carry raw are sent percent-encoded, as a client would.
            if b.is_ascii_graphic() && b != b'#' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let Ok(req) =
        axum::http::Request::get(format!("/api/report?{q}")).body(axum::body::Body::empty())
    else {
        return 0;
    };
    rt.block_on(async {
        let resp = app.clone().oneshot(req).await.expect("the router answers");
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("a short error body");
        let text = String::from_utf8_lossy(&body);
        assert!(
            status == 400 || status == 503,
            "{q:?}: status {status}: {text}"
        );
        let v: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{q:?}: not JSON ({e}): {text}"));
        let msg = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{q:?}: {text}"));
        // One line of body; the message may quote the client's own bytes, JSON-escaped.
        assert!(!msg.is_empty(), "{q:?}: {text}");
        assert!(!text.trim_end().contains('\n'), "{q:?}: {text}");
        // The client's own words may come back quoted ("unknown parameter 'Error {'"):
        // compared with the query as the server decodes it, not as it was sent.
        let sent = form_decoded(&q);
        for leak in ["SELECT", "Error {", "Error("] {
            assert!(
                sent.contains(leak) || !msg.contains(leak),
                "{q:?}: SQL or a debug dump: {msg}"
            );
        }
        status
    })
}

/// A query string decoded as a form (`+` a space, `%XX` a byte; a `%` not followed by two
/// hex digits kept as it is), read as lossy UTF-8: the text the server's parameters come
/// from, separators included.
pub fn form_decoded(q: &str) -> String {
    let b = q.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|&c| (c as char).to_digit(16));
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => {
                out.push((hex(i + 1).unwrap() * 16 + hex(i + 2).unwrap()) as u8);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The router of `apr serve` over a database path that does not exist.
pub fn report_router(missing_db: std::path::PathBuf) -> axum::Router {
    apr::serve::router(
        apr::serve::state::AppState {
            database: apr::store::DatabaseUrl::sqlite(missing_db),
            zone_choice: apr::config::ZoneChoice {
                flag: Some("Asia/Kolkata".into()),
                env: None,
            },
            token: None,
            token_name: "APR_SERVE_TOKEN",
            token_in_query: false,
            stale_after_secs: apr::serve::live::DEFAULT_STALE_AFTER_SECS,
            state_map: Default::default(),
        },
        &apr::serve::state::CorsOrigins::None,
    )
}
