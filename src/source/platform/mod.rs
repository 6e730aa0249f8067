//! The live platform as a [`Source`] (SPEC §3.1–§3.4): a [`PlatformConfig`] the caller built,
//! events with `next_start_key` pagination (ranges over 31 days split), and stats per
//! aligned local hour. HTTP, login and retries live in [`client`]; the retry policy in
//! [`retry`]; JSON decoding is [`crate::source::upstream`]'s, shared with the replay source.

use crate::error::{Error, Result};
use crate::model::CachedToken;
use crate::model::{AgentEvent, CallStats};
use crate::source::Source;
use crate::source::upstream::{parse_events, parse_stats};

pub mod client;
mod config;
pub mod retry;

pub use client::{Client, ClientCounters};
pub use config::{PlatformConfig, SettingNames};
pub use retry::RetryPolicy;

/// Events endpoint (SPEC §3.2).
pub const EVENTS_PATH: &str = "/api/v2/reports/callcenter/agents/activity/events";
/// Stats endpoint (SPEC §3.3).
pub const STATS_PATH: &str = "/api/v2/reports/callcenter/agents/stats";
/// The longest span one events request may cover (SPEC §3.2).
pub const MAX_SPAN_SECS: i64 = 31 * 86_400;

/// The live platform.
pub struct PlatformSource {
    client: Client,
    base: String,
    page_size: u32,
    /// What the page size setting is called, for the error that asks to raise it.
    page_size_name: &'static str,
}

impl PlatformSource {
    /// Connects lazily: nothing is sent until the first fetch. `cached` is the token stored
    /// by an earlier run; it is reused while it has more than two minutes left.
    pub fn new(cfg: PlatformConfig, cached: Option<CachedToken>) -> Result<PlatformSource> {
        let base = cfg.base.clone();
        let page_size = cfg.page_size;
        let page_size_name = cfg.names.page_size;
        Ok(PlatformSource {
            client: Client::new(cfg, cached)?,
            base,
            page_size,
            page_size_name,
        })
    }

    /// Logs in now unless the cached token is still good (validation before any write).
    pub fn check_login(&mut self) -> Result<()> {
        self.client.ensure_login()
    }

    /// A token obtained during this run, to be stored for the next one (returned once).
    pub fn take_new_token(&mut self) -> Option<CachedToken> {
        self.client.take_new_token()
    }

    pub fn counters(&self) -> ClientCounters {
        self.client.counters()
    }

    /// Fetches one span of at most 31 days, following `next_start_key`.
    fn events_span(
        &mut self,
        from: i64,
        to: i64,
        page: &mut dyn FnMut(Vec<AgentEvent>) -> Result<()>,
    ) -> Result<()> {
        let mut start = from;
        loop {
            // The platform refuses `startDate == endDate` (400 bad range). When a full page
            // ends exactly at `to`, the rest of that second is asked as `[to, to + 1]` and
            // whatever lies after `to` is dropped.
            let end = if start >= to { to + 1 } else { to };
            let query = [
                ("startDate", start.to_string()),
                ("endDate", end.to_string()),
                ("pageSize", self.page_size.to_string()),
            ];
            let mut got = self.client.get(EVENTS_PATH, &query, parse_events)?;
            if got.skipped > 0 {
                tracing::warn!(
                    "{} from {start} lacked an extension, timestamp or type and {} skipped",
                    crate::plural::counts(got.skipped as u64, "event"),
                    if got.skipped == 1 { "was" } else { "were" }
                );
            }
            let count = got.events.len();
            let full = count >= self.page_size as usize;
            if end > to {
                got.events.retain(|e| e.ts <= to);
            }
            page(got.events)?;
            let Some(key) = got.next_start_key.filter(|_| count > 0) else {
                return Ok(());
            };
            let next = parse_key(&key)?;
            if next > to || (next == to && !full) {
                return Ok(());
            }
            if next <= start {
                if full {
                    return Err(Error::Upstream(format!(
                        "upstream pagination stalled at {start}: a full page of {} ends at next_start_key {key}, \
                         which does not advance; raise {} above the events of one second",
                        crate::plural::counts(count as u64, "event"),
                        self.page_size_name
                    )));
                }
                // A short page whose key repeats the start: nothing further remains.
                return Ok(());
            }
            start = next;
        }
    }
}

/// Reads `next_start_key`: epoch seconds (milliseconds above 1e11, like timestamps).
fn parse_key(key: &str) -> Result<i64> {
    let n: i64 = key.trim().parse().map_err(|_| {
        Error::Upstream(format!(
            "upstream next_start_key '{}' is not epoch seconds",
            key.chars().take(40).collect::<String>()
        ))
    })?;
    Ok(if n > 100_000_000_000 { n / 1000 } else { n })
}

impl Source for PlatformSource {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn now(&mut self) -> Result<i64> {
        Ok(chrono::Utc::now().timestamp())
    }

    fn events(
        &mut self,
        from: i64,
        to: i64,
        page: &mut dyn FnMut(Vec<AgentEvent>) -> Result<()>,
    ) -> Result<()> {
        // Consecutive spans share their boundary second; the load absorbs the duplicates,
        // and it avoids guessing whether the platform's endDate is inclusive.
        let mut start = from;
        loop {
            let end = to.min(start + MAX_SPAN_SECS);
            self.events_span(start, end, page)?;
            if end >= to {
                return Ok(());
            }
            start = end;
        }
    }

    fn stats(&mut self, start: i64, end: i64) -> Result<Option<Vec<CallStats>>> {
        let query = [
            ("startDate", start.to_string()),
            ("endDate", end.to_string()),
        ];
        self.client.get(STATS_PATH, &query, parse_stats).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_seconds_or_milliseconds() {
        assert_eq!(parse_key("1755687433").unwrap(), 1_755_687_433);
        assert_eq!(parse_key("1755687433123").unwrap(), 1_755_687_433);
        let e = parse_key("abc").unwrap_err();
        assert_eq!(e.exit_code(), 1);
    }
}
