//! The replay directory (SPEC §3.5): recorded platform responses loaded exactly as if they
//! had been fetched. `DIR/events/*.json` are events responses read in file-name order;
//! `DIR/stats/START-END.json` is the stats response of the aligned local hour starting at
//! START (END is the hour's end, or an earlier instant for the hour in progress). "Now" is
//! the newest event timestamp or stats END in the directory.
//!
//! Memory stays at one file's events whatever the size of the directory: `open` reads every
//! file once to validate it and remember the span of its timestamps, and each window asked
//! for re-reads only the files whose span it overlaps (the last file read is kept, since
//! consecutive windows usually ask for it again).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Source;
use super::upstream::{parse_events, parse_stats};
use crate::bounds::TimeBounds;
use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::model::{AgentEvent, CallStats};

/// A replay directory, validated and indexed on open.
#[derive(Debug)]
pub struct ReplayDir {
    dir: PathBuf,
    /// Every events file, in file-name order, with the span of its in-bounds timestamps.
    files: Vec<EventsFile>,
    /// The bounds events are checked against, when a file is read again.
    bounds: TimeBounds,
    /// The events file read last, with its in-bounds events in listed order.
    cached: Option<(usize, Vec<AgentEvent>)>,
    /// Stats files by hour start: `(end, path)`.
    stats: BTreeMap<i64, (i64, PathBuf)>,
    now: i64,
    /// Entries of events files that were not events (no ext, timestamp or type).
    pub skipped: usize,
    /// Events whose timestamp lies outside the run's [`TimeBounds`], left out.
    pub out_of_bounds: usize,
}

/// One events file of the directory: where it is and the span `[min, max]` of its in-bounds
/// timestamps (`None` when it has none).
#[derive(Debug)]
struct EventsFile {
    path: PathBuf,
    span: Option<(i64, i64)>,
}

/// What reading one events file found.
struct FileEvents {
    events: Vec<AgentEvent>,
    skipped: usize,
    out_of_bounds: usize,
    /// The first event left out, with why.
    first_out: Option<(String, String)>,
}

/// Reads one events file, keeping its in-bounds events in listed order.
fn read_events(path: &Path, bounds: &TimeBounds) -> Result<FileEvents> {
    let page =
        parse_events(&read(path)?).map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    let mut out = FileEvents {
        events: Vec::with_capacity(page.events.len()),
        skipped: page.skipped,
        out_of_bounds: 0,
        first_out: None,
    };
    for e in page.events {
        match bounds.check(e.ts) {
            Ok(()) => out.events.push(e),
            Err(why) => {
                if out.first_out.is_none() {
                    out.first_out = Some((e.ext.clone(), why.to_string()));
                }
                out.out_of_bounds += 1;
            }
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

impl ReplayDir {
    /// Reads and validates `dir`: every events file must decode, every stats file name must
    /// be `START-END.json` for one aligned local hour of `zone` within `bounds`. Events
    /// outside `bounds` are left out with a warning naming the first and why, so that one
    /// far-away timestamp can neither become "now" nor reach the database.
    pub fn open(dir: &Path, zone: Zone, bounds: &TimeBounds) -> Result<ReplayDir> {
        if !dir.is_dir() {
            // A relative path is read from where apr runs, which is what a user who ran a
            // command outside the checkout needs to see.
            let from = match std::env::current_dir() {
                Ok(cwd) if dir.is_relative() => format!(" (from {})", cwd.display()),
                _ => String::new(),
            };
            return Err(Error::input(format!(
                "--source '{}'{from} is not a directory; expected a replay directory with events/*.json and stats/START-END.json",
                dir.display()
            )));
        }
        let mut files = Vec::new();
        let mut skipped = 0;
        let mut out_of_bounds = 0;
        for path in json_files(&dir.join("events"))? {
            let read = read_events(&path, bounds)?;
            skipped += read.skipped;
            if let (0, Some((ext, why))) = (out_of_bounds, &read.first_out) {
                tracing::warn!(
                    "{}: an event of extension {ext} left out: {why}",
                    path.display()
                );
            }
            out_of_bounds += read.out_of_bounds;
            let span = read.events.iter().fold(None, |span, e| match span {
                None => Some((e.ts, e.ts)),
                Some((lo, hi)) => Some((e.ts.min(lo), e.ts.max(hi))),
            });
            files.push(EventsFile { path, span });
        }
        if out_of_bounds > 1 {
            tracing::warn!(
                "{}: {out_of_bounds} events with out-of-bounds timestamps left out",
                dir.display()
            );
        }
        let mut stats = BTreeMap::new();
        for path in json_files(&dir.join("stats"))? {
            let (start, end) = stats_window(&path, zone)?;
            if let Err(why) = bounds.check(start).and_then(|()| bounds.check(end)) {
                return Err(Error::input(format!("{}: {why}", path.display())));
            }
            stats.insert(start, (end, path));
        }
        if files.iter().all(|f| f.span.is_none()) && stats.is_empty() {
            return Err(Error::input(format!(
                "--source '{}' holds no events/*.json or stats/*.json files",
                dir.display()
            )));
        }
        let now = files
            .iter()
            .filter_map(|f| f.span.map(|(_, hi)| hi))
            .chain(stats.values().map(|(end, _)| *end))
            .max()
            .unwrap_or(0);
        Ok(ReplayDir {
            dir: dir.to_path_buf(),
            files,
            bounds: *bounds,
            cached: None,
            stats,
            now,
            skipped,
            out_of_bounds,
        })
    }
}

/// Parses and checks the `START-END` window of a stats file name.
fn stats_window(path: &Path, zone: Zone) -> Result<(i64, i64)> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let bad = |why: &str| {
        Error::input(format!(
            "{}: {why}; expected stats/START-END.json with START the epoch of a local hour's start in {} and END its end (or earlier, for the hour in progress)",
            path.display(),
            zone.name()
        ))
    };
    let (start, end) = stem
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
        .ok_or_else(|| bad("the name is not START-END in epoch seconds"))?;
    if !zone.is_hour_start(start) {
        // Hours that start off this zone's hours are usually another zone's (a directory
        // written in Asia/Kolkata read in UTC starts every hour at :30).
        let into = (start - zone.floor_hour(start)) / 60;
        return Err(bad(&format!(
            "START is not the start of a local hour in {} ({into} min into one); if the \
             directory's hours are another zone's, give that zone with --timezone",
            zone.name()
        )));
    }
    if end <= start || end > zone.next_hour_start(start) {
        return Err(bad("END is not within the hour that START begins"));
    }
    Ok((start, end))
}

impl Source for ReplayDir {
    fn describe(&self) -> String {
        format!("replay directory {}", self.dir.display())
    }

    fn now(&mut self) -> Result<i64> {
        Ok(self.now)
    }

    fn events(
        &mut self,
        from: i64,
        to: i64,
        page: &mut dyn FnMut(Vec<AgentEvent>) -> Result<()>,
    ) -> Result<()> {
        let mut selected = Vec::new();
        for i in 0..self.files.len() {
            let Some((lo, hi)) = self.files[i].span else {
                continue;
            };
            if hi < from || lo > to {
                continue;
            }
            if self.cached.as_ref().is_none_or(|(at, _)| *at != i) {
                // The file was validated on open; only its events are needed again.
                let events = read_events(&self.files[i].path, &self.bounds)?.events;
                self.cached = Some((i, events));
            }
            if let Some((_, events)) = &self.cached {
                selected.extend(
                    events
                        .iter()
                        .filter(|e| from <= e.ts && e.ts <= to)
                        .cloned(),
                );
            }
        }
        if selected.is_empty() {
            return Ok(());
        }
        page(selected)
    }

    fn stats(&mut self, start: i64, _end: i64) -> Result<Option<Vec<CallStats>>> {
        match self.stats.get(&start) {
            Some((_, path)) => parse_stats(&read(path)?)
                .map(Some)
                .map_err(|e| Error::input(format!("{}: {e}", path.display()))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventType;

    fn write(dir: &Path, rel: &str, body: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    /// The unit tests' tiny epochs stand for any instant.
    const ANY: TimeBounds = TimeBounds {
        floor: i64::MIN,
        ceiling: i64::MAX,
    };

    const EV: &str = r#"{"events":[{"event":"agent_idle","enabled":true,"ext":"1","state":"available","Timestamp":3700}]}"#;

    #[test]
    fn now_is_the_newest_event_or_stats_end() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "events/a.json", EV);
        write(d.path(), "stats/3600-5000.json", "{}");
        let mut r = ReplayDir::open(d.path(), Zone::UTC, &ANY).unwrap();
        assert_eq!(r.now().unwrap(), 5000);
        assert_eq!(r.stats(3600, 5000).unwrap(), Some(vec![]));
        assert_eq!(r.stats(7200, 10800).unwrap(), None);
    }

    #[test]
    fn events_files_are_read_in_name_order_and_filtered() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "events/b.json",
            r#"[{"event":"agent_hold","enabled":true,"ext":"1","Timestamp":10}]"#,
        );
        write(
            d.path(),
            "events/a.json",
            r#"[{"event":"agent_idle","enabled":true,"ext":"1","Timestamp":20}]"#,
        );
        let mut r = ReplayDir::open(d.path(), Zone::UTC, &ANY).unwrap();
        let mut got = Vec::new();
        r.events(0, 100, &mut |p| {
            got.extend(p.into_iter().map(|e| e.event));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, [EventType::Idle, EventType::Hold]);
        let mut n = 0;
        r.events(15, 100, &mut |p| {
            n += p.len();
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn misaligned_stats_window_is_rejected_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "events/a.json", EV);
        write(d.path(), "stats/3000-6600.json", "{}");
        let e = ReplayDir::open(d.path(), Zone::UTC, &ANY)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3000-6600.json") && e.contains("START"), "{e}");
        std::fs::remove_file(d.path().join("stats/3000-6600.json")).unwrap();
        write(d.path(), "stats/3600-9000.json", "{}");
        let e = ReplayDir::open(d.path(), Zone::UTC, &ANY)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3600-9000.json") && e.contains("END"), "{e}");
        // Asia/Kolkata hours start at :30 UTC, so a UTC-aligned hour is wrong there.
        std::fs::remove_file(d.path().join("stats/3600-9000.json")).unwrap();
        write(d.path(), "stats/3600-7200.json", "{}");
        let e = ReplayDir::open(d.path(), Zone::parse("Asia/Kolkata").unwrap(), &ANY)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "START is not the start of a local hour in Asia/Kolkata (30 min into one); if \
                 the directory's hours are another zone's, give that zone with --timezone;"
            ),
            "{e}"
        );
    }

    #[test]
    fn broken_json_names_the_file() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "events/a.json", r#"{"events":[{"#);
        let e = ReplayDir::open(d.path(), Zone::UTC, &ANY).unwrap_err();
        assert!(e.to_string().contains("a.json"));
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn empty_or_missing_directory_is_bad_input() {
        let d = tempfile::tempdir().unwrap();
        assert!(ReplayDir::open(d.path(), Zone::UTC, &ANY).is_err());
        assert!(ReplayDir::open(&d.path().join("nope"), Zone::UTC, &ANY).is_err());
        let e = ReplayDir::open(Path::new("no/such/replay"), Zone::UTC, &ANY)
            .unwrap_err()
            .to_string();
        let cwd = std::env::current_dir().unwrap();
        assert!(
            e.starts_with(&format!(
                "--source 'no/such/replay' (from {}) is not a directory;",
                cwd.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn out_of_bounds_events_are_left_out_and_never_become_now() {
        let d = tempfile::tempdir().unwrap();
        let t = 1_757_300_000;
        write(
            d.path(),
            "events/a.json",
            &format!(
                r#"[{{"event":"agent_idle","enabled":true,"ext":"1","Timestamp":{t}}},
                   {{"event":"agent_idle","enabled":true,"ext":"2","Timestamp":"9223372036854775807"}},
                   {{"event":"agent_idle","enabled":true,"ext":"3","Timestamp":253402300800}},
                   {{"event":"agent_idle","enabled":true,"ext":"4","Timestamp":5}}]"#
            ),
        );
        let bounds = TimeBounds::new(t + 3600, None);
        let mut r = ReplayDir::open(d.path(), Zone::UTC, &bounds).unwrap();
        assert_eq!(r.out_of_bounds, 3);
        assert_eq!(r.now().unwrap(), t);
        // A stats file for a far-away hour is refused, naming the file and why.
        write(d.path(), "stats/253402300800-253402304400.json", "{}");
        let e = ReplayDir::open(d.path(), Zone::UTC, &bounds).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = e.to_string();
        assert!(
            e.contains("253402300800-253402304400.json") && e.contains("more than a day after"),
            "{e}"
        );
    }
}
