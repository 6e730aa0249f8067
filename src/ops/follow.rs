//! The loaders that follow (SPEC §13): `parse-queue-log --follow` and `collect --every` run
//! their batch or tick in a loop, holding the write lock only while one batch or tick loads
//! (cron `collect`, `aggregate` and `prune` run between two; while one of them holds the
//! lock the follower waits, it never exits 75), and end after the batch in hand when a stop
//! is asked. A followed file that did not change since the last batch costs one `stat`: its
//! identity, length and modification time are compared with what they were when the last
//! batch started, and the database is not opened at all.

use std::time::{Duration, Instant, SystemTime};

use super::collect::{Tick, prepare, tick};
use super::open::LockWait;
use super::parse_queue_log::{Limits, Loaded, load_batch};
use super::upstream::Upstream;
use crate::aggregate::categories::StateMap;
use crate::config::ZoneChoice;
use crate::error::{Error, Result};
use crate::model::Silent;
use crate::model::stop::Stop;
use crate::source::queue_log::agent_map::AgentMap;
use crate::store::DatabaseUrl;

/// What `stat` says of a followed file; a change of any part means new lines, a rotation
/// (new inode) or a truncation (shorter, or rewritten to the same length: a newer time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMark {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileMark {
    /// The file's mark now; `None` while it does not exist (between a rotation's rename
    /// and the new file's creation).
    pub fn of(path: &str) -> Option<FileMark> {
        let meta = std::fs::metadata(path).ok()?;
        let (dev, ino) = identity(&meta);
        Some(FileMark {
            dev,
            ino,
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The files a batch reads: those that exist and whose mark differs from `seen` (the
/// marks when the last successful batch started; `None` before the first).
pub fn changed(
    files: &[String],
    now: &[Option<FileMark>],
    seen: &[Option<FileMark>],
) -> Vec<String> {
    files
        .iter()
        .zip(now)
        .zip(seen)
        .filter(|((_, now), seen)| now.is_some() && now != seen)
        .map(|((f, _), _)| f.clone())
        .collect()
}

/// How an error of one batch or tick ends the loop: a runtime failure (the database or the
/// platform down, exit 1) is reported and retried at the next interval, since every load is
/// idempotent; bad input or configuration (exit 2) ends it.
fn retried(e: &Error) -> bool {
    e.exit_code() == 1 && !matches!(e, Error::Stopped)
}

/// What the queue_log follower reads and how.
pub struct QueueLogFollow<'a> {
    pub url: &'a DatabaseUrl,
    pub choice: &'a ZoneChoice,
    pub files: &'a [String],
    pub agents: &'a AgentMap,
    pub limits: Limits,
    pub state_map: &'a StateMap,
    pub interval: Duration,
}

/// Follows `f.files` until `stop` is asked: every interval, the files whose mark changed
/// are loaded as one batch ([`load_batch`], waiting for the write lock). `report` gets each
/// batch's result; a retried failure does not end the loop.
pub fn follow_queue_log(
    f: &QueueLogFollow<'_>,
    stop: &Stop,
    report: &mut dyn FnMut(Result<&Loaded, &Error>),
) -> Result<()> {
    let mut seen: Vec<Option<FileMark>> = vec![None; f.files.len()];
    while !stop.requested() {
        // Marked before reading: a line written during the batch changes the mark again.
        let now: Vec<Option<FileMark>> = f.files.iter().map(|p| FileMark::of(p)).collect();
        let batch = changed(f.files, &now, &seen);
        if !batch.is_empty() {
            let wait = LockWait::Wait(stop);
            match load_batch(
                f.url,
                f.choice,
                &batch,
                f.agents,
                f.limits,
                f.state_map,
                &Silent,
                wait,
            ) {
                Ok(loaded) => {
                    seen = now;
                    report(Ok(&loaded));
                }
                Err(Error::Stopped) => break,
                Err(e) if retried(&e) => report(Err(&e)),
                Err(e) => return Err(e),
            }
        }
        if !stop.pause(f.interval) {
            break;
        }
    }
    Ok(())
}

/// What `collect --every` fetches and how often.
pub struct CollectEvery<'a> {
    pub url: &'a DatabaseUrl,
    pub choice: &'a ZoneChoice,
    pub overlap: i64,
    pub state_map: &'a StateMap,
    pub every: Duration,
}

/// Runs the collect tick every `c.every` until `stop` is asked, on one `upstream` (so the
/// platform's login token is reused across ticks and renewed when it expires), waiting for
/// the write lock. Each tick reads the watermark afresh: a cron `collect` in between moves
/// it. `report` gets each tick's result (and a first run's notice as text).
pub fn collect_every(
    c: &CollectEvery<'_>,
    upstream: &mut Upstream,
    stop: &Stop,
    report: &mut dyn FnMut(Result<&Tick, &Error>),
    note: &mut dyn FnMut(&str),
) -> Result<()> {
    while !stop.requested() {
        let started = Instant::now();
        let result = (|| {
            let prepared = prepare(c.url, c.choice, c.overlap, None, None)?;
            let now = upstream.source().now()?;
            if let Some(n) = prepared.plan(now)?.notice {
                note(&n);
            }
            tick(
                c.url,
                c.choice,
                &prepared,
                now,
                upstream,
                c.state_map,
                LockWait::Wait(stop),
            )
        })();
        match result {
            Ok(done) => report(Ok(&done)),
            Err(Error::Stopped) => break,
            Err(e) if retried(&e) => report(Err(&e)),
            Err(e) => return Err(e),
        }
        if !stop.pause(c.every.saturating_sub(started.elapsed())) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(ino: u64, len: u64) -> Option<FileMark> {
        Some(FileMark {
            dev: 1,
            ino,
            len,
            modified: None,
        })
    }

    #[test]
    fn only_files_that_changed_and_exist_are_read() {
        let files = ["a".to_string(), "b".to_string(), "c".to_string()];
        // First batch: every existing file.
        assert_eq!(
            changed(
                &files,
                &[mark(1, 10), None, mark(3, 0)],
                &[None, None, None]
            ),
            ["a", "c"]
        );
        // Nothing changed: nothing read (the idle follower opens no database).
        let seen = [mark(1, 10), mark(2, 5), mark(3, 0)];
        assert!(changed(&files, &seen, &seen).is_empty());
        // Grown, rotated (new inode) and truncated files are read; a vanished one is not.
        assert_eq!(
            changed(&files, &[mark(1, 11), mark(9, 5), mark(3, 0)], &seen),
            ["a", "b"]
        );
        assert_eq!(
            changed(&files, &[mark(1, 2), None, mark(3, 0)], &seen),
            ["a"]
        );
    }

    #[test]
    fn a_rewrite_to_the_same_length_is_seen_by_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("queue_log");
        std::fs::write(&p, "1|a|q|NONE|QUEUESTART|\n").unwrap();
        let path = p.display().to_string();
        let before = FileMark::of(&path).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1))
            .unwrap();
        let after = FileMark::of(&path).unwrap();
        assert_eq!((before.ino, before.len), (after.ino, after.len));
        assert_ne!(before, after);
        assert_eq!(
            FileMark::of(&dir.path().join("gone").display().to_string()),
            None
        );
    }

    #[test]
    fn runtime_failures_are_retried_and_bad_input_ends_the_loop() {
        assert!(retried(&Error::db("database down")));
        assert!(!retried(&Error::input("not a queue_log")));
        assert!(!retried(&Error::Stopped));
    }
}
