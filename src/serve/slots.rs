//! Connection slots of `apr serve` (issue 13.4): at most [`super::MAX_CONNECTIONS`]
//! connections at once, where a connection that has not sent its first byte yet is *idle*
//! and may be evicted. When the cap is reached, the oldest idle connection is closed to make
//! room, so sockets that never speak cannot starve real requests; only when every slot
//! holds a connection that has spoken does a new one wait for a free slot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Idle connections by arrival order, each with the signal that evicts it.
    idle: BTreeMap<u64, Arc<Notify>>,
    /// Connections that have sent at least one byte.
    active: usize,
}

/// The shared slot table.
#[derive(Clone)]
pub(crate) struct Slots {
    cap: usize,
    inner: Arc<Mutex<Inner>>,
    freed: Arc<Notify>,
}

/// One accepted connection's claim on a slot; while idle it can be evicted.
pub(crate) struct Claim {
    id: u64,
    slots: Slots,
    /// Notified when this connection is evicted.
    pub(crate) evicted: Arc<Notify>,
    active: bool,
}

impl Slots {
    pub(crate) fn new(cap: usize) -> Slots {
        Slots {
            cap,
            inner: Arc::new(Mutex::new(Inner::default())),
            freed: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the counts half-updated.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for room for one more connection, evicting the oldest idle one when the cap
    /// is reached, and claims a slot for a new (idle) connection.
    pub(crate) async fn claim(&self) -> Claim {
        loop {
            let freed = self.freed.notified();
            {
                let mut s = self.lock();
                if s.idle.len() + s.active >= self.cap
                    && let Some((_, evict)) = s.idle.pop_first()
                {
                    evict.notify_one();
                }
                if s.idle.len() + s.active < self.cap {
                    let id = s.next_id;
                    s.next_id += 1;
                    let evicted = Arc::new(Notify::new());
                    s.idle.insert(id, evicted.clone());
                    return Claim {
                        id,
                        slots: self.clone(),
                        evicted,
                        active: false,
                    };
                }
            }
            // Every slot holds a connection that has spoken: wait for one to end.
            freed.await;
        }
    }

    /// Connections counted now: (idle, active).
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let s = self.lock();
        (s.idle.len(), s.active)
    }
}

impl Claim {
    /// The connection sent its first byte: it can no longer be evicted. `false` when it was
    /// evicted first (the caller closes it).
    pub(crate) fn activate(&mut self) -> bool {
        let mut s = self.slots.lock();
        if s.idle.remove(&self.id).is_none() {
            return false;
        }
        s.active += 1;
        self.active = true;
        true
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        {
            let mut s = self.slots.lock();
            if self.active {
                s.active -= 1;
            } else {
                s.idle.remove(&self.id);
            }
        }
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_oldest_idle_connection_makes_room() {
        rt().block_on(async {
            let slots = Slots::new(2);
            let first = slots.claim().await;
            let mut second = slots.claim().await;
            assert!(second.activate());
            let third = slots.claim().await;
            // `first` was evicted: signalled, and can no longer become active.
            tokio::time::timeout(std::time::Duration::from_secs(5), first.evicted.notified())
                .await
                .expect("the oldest idle connection is told to close");
            let mut first = first;
            assert!(!first.activate());
            drop(first);
            assert_eq!(slots.counts(), (1, 1));
            drop(third);
            drop(second);
            assert_eq!(slots.counts(), (0, 0));
        });
    }

    #[test]
    fn when_every_slot_has_spoken_a_new_connection_waits_for_one_to_end() {
        rt().block_on(async {
            let slots = Slots::new(1);
            let mut busy = slots.claim().await;
            assert!(busy.activate());
            let waiting = slots.claim();
            tokio::pin!(waiting);
            assert!(
                tokio::time::timeout(std::time::Duration::from_millis(50), &mut waiting)
                    .await
                    .is_err(),
                "no idle connection to evict: the claim waits"
            );
            drop(busy);
            let next = waiting.await;
            assert_eq!(slots.counts(), (1, 0));
            drop(next);
        });
    }
}
