//! What the server is configured with, shared by every route: the database, the zone, the
//! token, and the origins allowed to read responses from a browser.

use axum::http::HeaderValue;

use crate::aggregate::categories::StateMap;
use crate::config::ZoneChoice;
use crate::error::Error;
use crate::store::DatabaseUrl;

/// What every request needs: where the database is, the zone asked for, the token.
#[derive(Debug, Clone)]
pub struct AppState {
    pub database: DatabaseUrl,
    pub zone_choice: ZoneChoice,
    pub token: Option<String>,
    /// What the token is called where it is set (`APR_SERVE_TOKEN`), for the messages that
    /// ask for it: the library names no environment variable.
    pub token_name: &'static str,
    /// Accept the token as `?token=` too (`--token-in-query`, for browsers).
    pub token_in_query: bool,
    /// The live board flags a source whose data is older than this (`--stale-after`).
    pub stale_after_secs: i64,
    /// The not-available reason rules (`APR_STATE_MAP`) the loaders' aggregation uses: the
    /// state stints of `/agent` and `kind=states` must walk the events as it did, or their
    /// seconds would not sum to the hourly rows'.
    pub state_map: StateMap,
}

/// Origins allowed to read responses from a browser; empty: no CORS headers at all.
#[derive(Debug, Clone, Default)]
pub enum CorsOrigins {
    #[default]
    None,
    Any,
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Parses the allow-list: `*`, or comma-separated origins such as
    /// `https://ops.example.com`; `label` is what errors call it (the setting).
    pub fn parse(s: &str, label: &str) -> crate::Result<CorsOrigins> {
        let parts: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Ok(CorsOrigins::None);
        }
        if parts == ["*"] {
            return Ok(CorsOrigins::Any);
        }
        let mut list = Vec::new();
        for p in parts {
            let shaped = (p.starts_with("http://") || p.starts_with("https://"))
                && !p.ends_with('/')
                && !p.contains('*');
            match HeaderValue::from_str(p) {
                Ok(v) if shaped => list.push(v),
                _ => {
                    return Err(Error::config(format!(
                        "{label} entry '{p}' is not an origin; expected '*' or comma-separated origins like https://ops.example.com"
                    )));
                }
            }
        }
        Ok(CorsOrigins::List(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_parse() {
        assert!(matches!(
            CorsOrigins::parse(" ", "origins").unwrap(),
            CorsOrigins::None
        ));
        assert!(matches!(
            CorsOrigins::parse("*", "origins").unwrap(),
            CorsOrigins::Any
        ));
        match CorsOrigins::parse("https://a.example, http://127.0.0.1:3000", "origins").unwrap() {
            CorsOrigins::List(l) => assert_eq!(l.len(), 2),
            other => panic!("{other:?}"),
        }
        let e = CorsOrigins::parse("a.example", "origins")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("origins entry 'a.example'"), "{e}");
    }
}
