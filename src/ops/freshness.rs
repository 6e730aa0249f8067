//! The monitoring check of `apr status --max-age` (SPEC §12): is every loader that has run
//! recent enough, and is the data of every source loaded lately recent enough. Pure: it
//! reads a gathered [`Status`] and answers with the one line to print.

use crate::hours::Zone;
use crate::model::EventSource;
use crate::ops::status::Status;

/// `45s`, `12m`, `3h 05m`, `2d 04h`: how long ago (or `in ...` for the future).
pub fn age(secs: i64) -> String {
    if secs < 0 {
        return format!("in {}", age(-secs).trim_end_matches(" ago"));
    }
    let text = match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    };
    format!("{text} ago")
}

/// An instant as the zone's local date and time.
pub fn local_time(zone: Zone, t: i64) -> String {
    zone.local(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The monitoring check of `--max-age`: every source that has run (collect, queue_log
/// loads) must have succeeded within `max_age` seconds, and every source whose loader ran
/// in the last week must hold data newer than `max_age` (a collect that runs but brings
/// nothing new is not fresh). `Ok` is a one-line summary, `Err` the one line saying what
/// is stale and which check failed.
pub fn check_fresh(s: &Status, max_age: i64, max_age_text: &str) -> Result<String, String> {
    let z = s.zone;
    let mut fresh = Vec::new();
    let mut sources = 0;
    for (what, last) in [
        ("collect", s.collect_last_run),
        ("queue_log load", s.last_queue_log_load()),
    ] {
        let Some(t) = last else { continue };
        sources += 1;
        let ago = s.now - t;
        if ago > max_age {
            return Err(format!(
                "the last successful {what} was {} ({}), longer than --max-age {max_age_text}",
                local_time(z, t),
                age(ago)
            ));
        }
        fresh.push(format!("last {what} {}", age(ago)));
    }
    if sources == 0 {
        return Err(format!(
            "no successful collect or queue_log load is recorded in {}; nothing is fresh",
            s.database
        ));
    }
    for d in &s.data_until {
        let loader = match d.source {
            Some(EventSource::Api) => s.collect_last_run,
            Some(EventSource::QueueLog) => s.last_queue_log_load(),
            None => s.collect_last_run.max(s.last_queue_log_load()),
        };
        let loaded = loader.map_or(d.written_at, |t| t.max(d.written_at));
        if s.now - loaded > LOADED_LATELY {
            continue;
        }
        let ago = s.now - d.until;
        if ago > max_age {
            return Err(format!(
                "the newest {} data is from {} ({}), older than --max-age {max_age_text}, \
                 although it was loaded {}",
                d.name(),
                local_time(z, d.until),
                age(ago),
                age(s.now - loaded)
            ));
        }
        fresh.push(format!("{} data until {}", d.name(), age(ago)));
    }
    Ok(format!("ok: {}", fresh.join(", ")))
}

/// A source loaded within this long must bring fresh data; one idle longer (a retired
/// queue_log, an API no longer collected) is not checked for its data's age.
const LOADED_LATELY: i64 = 7 * 86_400;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::status::{FileStatus, SourceData};

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5s ago");
        assert_eq!(age(60), "1m ago");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h 05m ago");
        assert_eq!(age(2 * 86_400 + 4 * 3600), "2d 04h ago");
        assert_eq!(age(-120), "in 2m");
    }

    fn status(now: i64, collect: Option<i64>, queue: Option<i64>) -> Status {
        Status {
            cluster: None,
            database: "sqlite://x.db".into(),
            backend: "sqlite",
            now,
            schema_version: Some("1".into()),
            zone: Zone::UTC,
            zone_recorded: true,
            data_until: vec![],
            collect_watermark: None,
            collect_last_run: collect,
            pending_aggregation: None,
            pruned_before: None,
            gaps: vec![],
            files: queue
                .map(|t| FileStatus {
                    path: "q".into(),
                    offset: 0,
                    lines: 0,
                    loaded_at: t,
                    size: Some(0),
                    behind: Some(0),
                    remark: None,
                })
                .into_iter()
                .collect(),
            tables: vec![],
            reasons: vec![],
        }
    }

    fn data(source: EventSource, until: i64, written_at: i64) -> SourceData {
        SourceData {
            source: Some(source),
            until,
            written_at,
        }
    }

    /// Issue 28: API data ending 473 days ago answered `ok` because a collect ran 2
    /// minutes ago.
    #[test]
    fn freshness_needs_fresh_data_from_a_source_loaded_lately() {
        let now = 1_757_260_800;
        let mut s = status(now, Some(now - 120), None);
        s.data_until = vec![data(
            EventSource::Api,
            now - 473 * 86_400,
            now - 473 * 86_400,
        )];
        let e = check_fresh(&s, 1800, "30m").unwrap_err();
        assert!(
            e.starts_with("the newest api data is from 2024-")
                && e.contains("(473d 00h ago), older than --max-age 30m")
                && e.ends_with("although it was loaded 2m ago"),
            "{e}"
        );
        s.data_until = vec![data(EventSource::Api, now - 600, now - 120)];
        assert_eq!(
            check_fresh(&s, 1800, "30m").unwrap(),
            "ok: last collect 2m ago, api data until 10m ago"
        );
        // A source nothing loaded this week (a retired queue_log) is not held to it.
        s.data_until.push(data(
            EventSource::QueueLog,
            now - 30 * 86_400,
            now - 30 * 86_400,
        ));
        assert!(check_fresh(&s, 1800, "30m").is_ok());
        // A stale loader is said before stale data.
        let mut s = status(now, Some(now - 7200), None);
        s.data_until = vec![data(EventSource::Api, now - 86_400, now - 7200)];
        let e = check_fresh(&s, 1800, "30m").unwrap_err();
        assert!(e.starts_with("the last successful collect was"), "{e}");
    }

    #[test]
    fn freshness_needs_every_source_that_ran() {
        let now = 1_757_260_800;
        assert_eq!(
            check_fresh(&status(now, Some(now - 600), None), 1800, "30m").unwrap(),
            "ok: last collect 10m ago"
        );
        let e = check_fresh(&status(now, Some(now - 3600), None), 1800, "30m").unwrap_err();
        assert!(
            e.starts_with("the last successful collect was") && e.contains("--max-age 30m"),
            "{e}"
        );
        // A fresh collect does not hide a stalled queue_log.
        let e = check_fresh(&status(now, Some(now), Some(now - 7200)), 1800, "30m").unwrap_err();
        assert!(e.contains("queue_log load"), "{e}");
        assert!(check_fresh(&status(now, None, Some(now - 60)), 1800, "30m").is_ok());
        let e = check_fresh(&status(now, None, None), 1800, "30m").unwrap_err();
        assert!(e.contains("no successful collect"), "{e}");
    }
}
