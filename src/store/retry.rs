//! Trying a write transaction again when it lost to a concurrent one (a deadlock, or on a
//! Galera cluster a certification conflict at `COMMIT`, SPEC §15): *whether* is decided by
//! the kind of error alone ([`worth_retrying`]), *when* by a bounded schedule ([`backoff`]).
//! The transaction is tried again whole, from its first statement: every write of apr is
//! idempotent, so a retry changes nothing else than the lost attempt would have.

use std::time::Duration;

use super::sql::{Backend, in_tx};
use crate::error::{Error, Result};

/// How many times a transaction is tried in all before its error is the command's.
pub const ATTEMPTS: u32 = 6;

/// The first wait before a retry; each later one doubles it, up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(50);
const MAX_WAIT: Duration = Duration::from_secs(2);

/// Whether a failed transaction may succeed when tried again unchanged: only when it lost
/// to a concurrent transaction. A lost write lease, a broken connection, bad data or a full
/// disk fail the same way again (or must not be retried at all).
pub fn worth_retrying(e: &Error) -> bool {
    matches!(e, Error::Contended(_))
}

/// The wait before attempt `failed + 1`, after `failed` attempts failed; `None` once
/// [`ATTEMPTS`] were made. The nominal wait doubles from [`FIRST_WAIT`]; the actual one is
/// drawn between half of it and all of it, so that two writers that lost to each other do
/// not meet again at the same instant.
pub fn backoff(failed: u32, jitter: f64) -> Option<Duration> {
    if failed == 0 || failed >= ATTEMPTS {
        return None;
    }
    let nominal = FIRST_WAIT
        .saturating_mul(1 << (failed - 1).min(16))
        .min(MAX_WAIT);
    Some(nominal.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0)))
}

/// Runs `attempt` until it succeeds, fails with an error not [`worth_retrying`], or the
/// [`backoff`] schedule ends; the waits go through `sleep`.
pub fn retried<T>(
    mut attempt: impl FnMut() -> Result<T>,
    sleep: &mut dyn FnMut(Duration),
) -> Result<T> {
    let mut failed = 0;
    loop {
        match attempt() {
            Err(e) if worth_retrying(&e) => {
                failed += 1;
                match backoff(failed, fastrand::f64()) {
                    Some(wait) => {
                        tracing::info!("retrying a transaction that lost to a concurrent one: {e}");
                        sleep(wait);
                    }
                    None => return Err(e),
                }
            }
            other => return other,
        }
    }
}

/// [`in_tx`], tried again whole as [`retried`] says. `f` must be safe to run again after a
/// rollback (it writes only through `b`, and keeps no state of its own across attempts).
pub fn in_tx_retried<B: Backend + ?Sized, T>(
    b: &mut B,
    mut f: impl FnMut(&mut B) -> Result<T>,
) -> Result<T> {
    retried(|| in_tx(b, &mut f), &mut std::thread::sleep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_race_is_worth_retrying() {
        assert!(worth_retrying(&Error::Contended("deadlock".into())));
        assert!(!worth_retrying(&Error::db("disk full")));
        assert!(!worth_retrying(&Error::Locked("lease lost".into())));
        assert!(!worth_retrying(&Error::input("bad row")));
    }

    #[test]
    fn the_schedule_doubles_within_its_jitter_and_ends() {
        assert_eq!(backoff(0, 0.0), None);
        assert_eq!(backoff(1, 1.0), Some(Duration::from_millis(50)));
        assert_eq!(backoff(1, 0.0), Some(Duration::from_millis(25)));
        assert_eq!(backoff(2, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(backoff(5, 1.0), Some(Duration::from_millis(800)));
        assert_eq!(backoff(ATTEMPTS, 1.0), None);
        assert!(backoff(3, 0.7).unwrap() <= Duration::from_millis(200));
    }

    #[test]
    fn a_lost_race_is_tried_again_until_it_wins_or_the_schedule_ends() {
        let mut tries = 0;
        let mut waits = Vec::new();
        let won = retried(
            || {
                tries += 1;
                if tries < 3 {
                    Err(Error::Contended("certification".into()))
                } else {
                    Ok(tries)
                }
            },
            &mut |d| waits.push(d),
        );
        assert_eq!(won.unwrap(), 3);
        assert_eq!(waits.len(), 2);

        let mut tries = 0;
        let lost: Result<()> = retried(
            || {
                tries += 1;
                Err(Error::Contended("certification".into()))
            },
            &mut |_| {},
        );
        assert!(matches!(lost, Err(Error::Contended(_))));
        assert_eq!(tries, ATTEMPTS);

        let mut tries = 0;
        let other: Result<()> = retried(
            || {
                tries += 1;
                Err(Error::db("gone"))
            },
            &mut |_| {},
        );
        assert!(other.is_err());
        assert_eq!(tries, 1);
    }
}
