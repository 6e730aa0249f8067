//! A stop asked of a long-running loader (SIGINT/SIGTERM at the binary's edge, SPEC §13): it
//! finishes the batch in hand and returns. The library only reads the flag; the binary sets
//! it from its signal handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a pause looks at the flag: a stop is answered within this.
const SLICE: Duration = Duration::from_millis(50);

/// A shared "please stop" flag; clones see the same flag.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks every holder to stop after the work in hand.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps `span`, waking early when a stop is asked; `false` when it was.
    pub fn pause(&self, span: Duration) -> bool {
        let until = Instant::now() + span;
        loop {
            if self.requested() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep(SLICE.min(until - now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_ends_at_once_when_a_stop_was_asked() {
        let stop = Stop::new();
        assert!(stop.pause(Duration::from_millis(1)));
        let other = stop.clone();
        other.request();
        assert!(stop.requested());
        // An hour's pause returns at once: the test would hang otherwise.
        assert!(!stop.pause(Duration::from_secs(3600)));
    }

    #[test]
    fn a_stop_asked_from_another_thread_wakes_a_pause() {
        let stop = Stop::new();
        let other = stop.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.request();
        });
        assert!(!stop.pause(Duration::from_secs(3600)));
        t.join().unwrap();
    }
}
