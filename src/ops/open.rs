//! Opening the database for a writing command: the write lock every loading command shares
//! (SPEC §7.2), taken before apr's schema is created or upgraded (SPEC §9), and the window of
//! instants a source may claim, which reads the stored data and the machine's clock.

use crate::bounds::TimeBounds;
use crate::error::{Error, Result};
use crate::model::state::DATA_UNTIL_KEYS;
use crate::model::stop::Stop;
use crate::store::{self, DatabaseUrl, Store};

/// Takes the database's write lock, shared by every command that loads or aggregates, so
/// overlapping cron runs cannot interleave (SPEC §7.2). Held until the store is dropped.
pub fn write_lock(store: &mut dyn Store) -> Result<()> {
    if store.try_lock("write")? {
        Ok(())
    } else {
        Err(Error::Locked(
            "another apr collect is running (or another command writing to this database); try again when it finishes".into(),
        ))
    }
}

/// How often a loader that follows looks again at a write lock another command holds.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(200);

/// How a writing command takes the write lock: a cron run refuses (exit 75) when another
/// holds it; a loader that follows waits for it (SPEC §13), until a stop is asked.
#[derive(Debug, Clone, Copy)]
pub enum LockWait<'a> {
    Refuse,
    Wait(&'a Stop),
}

/// Takes the write lock as `wait` says: [`write_lock`], or waiting while another command
/// holds it ([`Error::Stopped`] when a stop is asked meanwhile).
pub fn take_write_lock(store: &mut dyn Store, wait: LockWait<'_>) -> Result<()> {
    let LockWait::Wait(stop) = wait else {
        return write_lock(store);
    };
    loop {
        if store.try_lock("write")? {
            return Ok(());
        }
        if !stop.pause(LOCK_RETRY) {
            return Err(Error::Stopped);
        }
    }
}

/// Opens the database at `url` for writing under the write lock, taken before apr's schema
/// is created or upgraded: a run that finds another writer exits 75 and leaves an older
/// schema for the lock holder to upgrade (SPEC §9). Call it only after the command's
/// validation.
pub fn open_locked(url: &DatabaseUrl) -> Result<Box<dyn Store>> {
    store::open_checked(url, &mut |store, _| write_lock(store))
}

/// The window of instants a source may claim in this run (issue 15.2): from 2000 to a day
/// after the later of the machine's clock and the newest data already stored.
pub fn time_bounds(store: Option<&mut dyn Store>) -> Result<TimeBounds> {
    let mut newest: Option<i64> = None;
    if let Some(s) = store {
        for (_, key) in DATA_UNTIL_KEYS {
            if let Some(t) = s.instant(key)? {
                newest = Some(newest.map_or(t, |n| n.max(t)));
            }
        }
    }
    Ok(TimeBounds::new(chrono::Utc::now().timestamp(), newest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_exit_75_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite(dir.path().join("t.db"));
        let first = open_locked(&url).unwrap();
        let e = open_locked(&url).err().expect("the lock is held");
        assert_eq!(e.exit_code(), 75);
        assert!(e.to_string().contains("another apr collect"), "{e}");
        drop(first);
        open_locked(&url).unwrap();
    }

    #[test]
    fn a_waiting_writer_takes_the_lock_when_it_is_released_and_stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite(dir.path().join("t.db"));
        let first = open_locked(&url).unwrap();
        let stop = Stop::new();
        let asked = stop.clone();
        let waiter = std::thread::spawn(move || {
            let mut second = store::open(&url).unwrap();
            take_write_lock(second.as_mut(), LockWait::Wait(&asked)).map(|_| second)
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(first);
        let second = waiter.join().unwrap().expect("the waiter took the lock");
        // Held by the waiter now: a stop asked of the next waiter ends its wait.
        let url2 = DatabaseUrl::sqlite(dir.path().join("t.db"));
        let mut third = store::open(&url2).unwrap();
        stop.request();
        let e = take_write_lock(third.as_mut(), LockWait::Wait(&stop)).unwrap_err();
        assert!(matches!(e, Error::Stopped), "{e}");
        assert_eq!(
            take_write_lock(third.as_mut(), LockWait::Refuse)
                .unwrap_err()
                .exit_code(),
            75
        );
        drop(second);
    }

    #[test]
    fn the_bounds_reach_past_the_newest_stored_instant() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite(dir.path().join("t.db"));
        let mut store = open_locked(&url).unwrap();
        let (_, key) = DATA_UNTIL_KEYS[0];
        let far = chrono::Utc::now().timestamp() + 30 * 86_400;
        store
            .set_state(key.name(), &crate::model::state::InstantKey::encode(far))
            .unwrap();
        let bounds = time_bounds(Some(store.as_mut())).unwrap();
        assert!(bounds.check(far).is_ok());
        let unbounded_by_data = time_bounds(None).unwrap();
        assert!(unbounded_by_data.check(far).is_err());
    }
}
