//! The retry policy of every platform request (SPEC §3.4): which failures are worth another
//! try, and how long to wait before it (exponential backoff with full jitter, honouring
//! `Retry-After`), within a bounded number of retries.
//!
//! The delay is computed here rather than with `backon` because `backon`'s jitter adds a
//! random share on top of the exponential delay, while SPEC §3.4 asks for *full* jitter
//! (a uniform draw in `[0, min(cap, base·2ⁿ)]`), and because a server's `Retry-After`
//! must override the computed delay.

use std::time::Duration;

/// Production backoff base (SPEC §3.4).
pub const DEFAULT_BASE: Duration = Duration::from_millis(500);

/// How many times and how long to retry one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try (`APR_API_MAX_RETRIES`).
    pub max_retries: u32,
    /// The first backoff step. The cap (30 s) and the longest `Retry-After` honoured (5 min)
    /// scale with it, so tests can shrink every wait at once.
    pub base: Duration,
}

impl RetryPolicy {
    pub fn new(max_retries: u32, base: Duration) -> RetryPolicy {
        RetryPolicy { max_retries, base }
    }

    /// The longest computed backoff: 30 s at the production base.
    pub fn cap(&self) -> Duration {
        self.base * 60
    }

    /// The longest `Retry-After` honoured: 5 minutes at the production base. A server asking
    /// for more is asking for longer than a ten-minute cron tick; waiting that long would
    /// only make runs overlap.
    pub fn retry_after_limit(&self) -> Duration {
        self.base * 600
    }

    /// The wait before retry number `retry` (0 for the first retry): a uniform draw in
    /// `[0, min(cap, base·2^retry)]`, or the server's `Retry-After` when it gave one.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.retry_after_limit());
        }
        let ceiling = self
            .base
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.cap());
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// HTTP statuses that mean "try again later" (SPEC §3.4).
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Reads a `Retry-After` header: delay seconds, or an HTTP date (RFC 9110 §10.2.3) relative
/// to `now` (epoch seconds). A date in the past means "now".
pub fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp();
    Some(Duration::from_secs(u64::try_from(at - now).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_within_the_exponential_ceiling_and_the_cap() {
        let p = RetryPolicy::new(5, DEFAULT_BASE);
        for retry in 0..12 {
            let ceiling = (DEFAULT_BASE * 2u32.pow(retry)).min(Duration::from_secs(30));
            for _ in 0..200 {
                assert!(p.delay(retry, None) <= ceiling, "retry {retry}");
            }
        }
        assert_eq!(p.cap(), Duration::from_secs(30));
        // Full jitter draws from zero upwards, not from the ceiling's half.
        assert!((0..500).any(|_| p.delay(3, None) < Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_overrides_the_backoff_up_to_a_limit() {
        let p = RetryPolicy::new(5, DEFAULT_BASE);
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 12 ", 0), Some(Duration::from_secs(12)));
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            parse_retry_after(date, 784_111_770),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after(date, 784_111_800), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        for s in [429, 500, 502, 503, 504] {
            assert!(retryable_status(s));
        }
        for s in [400, 401, 403, 404, 422, 501] {
            assert!(!retryable_status(s));
        }
    }
}
