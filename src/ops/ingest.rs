//! Fetch → load: pulls a time range from a [`Source`] one local hour at a time and loads each
//! hour's events and stats in one transaction, with the watermark committed alongside, so a
//! run killed at any point resumes with no gap and no duplicate (SPEC §4, §7.1, §7.2).

use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::model::state::{COLLECT_EVENTS_UNTIL, InstantKey};
use crate::model::{EventSource, HourStats, LoadBatch, Reporter};
use crate::source::Source;
use crate::store::sqlite::is_disk_full;
use crate::store::{Store, table};

/// What one ingest fetched and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestSummary {
    /// Windows (local hours) fetched and committed.
    pub windows: u64,
    /// Event pages received.
    pub pages: u64,
    /// Events received, duplicates across pages and runs included.
    pub events_seen: u64,
    /// Events stored for the first time.
    pub events_new: u64,
    /// Hours whose stats were stored (replacing earlier fetches).
    pub stats_hours: u64,
    /// `users_calls` rows written.
    pub stats_rows: u64,
    /// Events a source handed in outside the window asked for, left out.
    pub events_outside: u64,
    /// Events and stats records whose extension, type or state is longer than its key
    /// column, left out (issue 15.3).
    pub too_long: u64,
}

/// Fetches `[from, to]` from `source` and loads it into `store`, window by window. `progress`
/// advances once per window; pass [`crate::model::Silent`] for none.
pub fn ingest(
    store: &mut dyn Store,
    source: &mut dyn Source,
    zone: Zone,
    from: i64,
    to: i64,
    progress: &dyn Reporter,
) -> Result<IngestSummary> {
    let mut summary = IngestSummary::default();
    if from >= to {
        return Ok(summary);
    }
    let hours = zone.hours(from, to + 1);
    progress.set_total(hours.len() as u64);
    let mut watermark = store.instant(COLLECT_EVENTS_UNTIL)?;
    // The end of the last window this run committed.
    let mut committed: Option<i64> = None;
    let source_name = source.describe();
    for hour in hours {
        let w_from = from.max(hour.start);
        let w_to = to.min(hour.end);
        if w_from >= w_to {
            // `to` at a local hour's start: the hour beginning there has nothing yet, and
            // its second `to` was already fetched with the hour before (events are
            // inclusive at both ends). The platform answers `[to, to]` with 400.
            progress.advance(1);
            continue;
        }
        progress.set_message(&zone.hour_label(hour.start));
        let mut events = Vec::new();
        source.events(w_from, w_to, &mut |page| {
            summary.pages += 1;
            // A source may claim only the window it was asked for: an event elsewhere
            // (a far-away timestamp above all) would widen the dirty range and
            // "data until" to an instant nobody asked about (issue 15.2).
            let before = events.len() + page.len();
            events.extend(page.into_iter().filter(|e| w_from <= e.ts && e.ts <= w_to));
            summary.events_outside += (before - events.len()) as u64;
            let before = events.len();
            events.retain(|e| match table::event_keys_fit(e) {
                Ok(()) => true,
                Err(why) => {
                    tracing::warn!("{}: an event left out: {why}", source_name);
                    false
                }
            });
            summary.too_long += (before - events.len()) as u64;
            Ok(())
        })?;
        let mut stats = Vec::new();
        if hour.start < to {
            let end = hour.end.min(to);
            if let Some(mut records) = source.stats(hour.start, end)? {
                let before = records.len();
                records.retain(|r| match table::USERS_CALLS.check_fits("ext", &r.ext) {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::warn!("{}: call statistics left out: {why}", source_name);
                        false
                    }
                });
                summary.too_long += (before - records.len()) as u64;
                stats.push(HourStats {
                    hour_start: hour.start,
                    records,
                });
            }
        }
        watermark = Some(watermark.map_or(w_to, |w| w.max(w_to)));
        let batch = LoadBatch {
            events: &events,
            stats: &stats,
            source: EventSource::Api,
            state: vec![(
                COLLECT_EVENTS_UNTIL.name().to_string(),
                InstantKey::encode(watermark.unwrap_or(w_to)),
            )],
            data_until: Some(w_to),
        };
        let outcome = store.load(&batch).map_err(|e| {
            if !is_disk_full(&e) {
                return e;
            }
            // Each window commits on its own, with the watermark the re-run continues from.
            match committed {
                None => Error::db(format!("{e} (nothing was committed)")),
                Some(until) => Error::db(format!(
                    "{e} (events up to {} were committed; the next run continues from there)",
                    zone.local(until).format("%Y-%m-%d %H:%M:%S %:z")
                )),
            }
        })?;
        committed = Some(w_to);
        summary.windows += 1;
        summary.events_seen += outcome.events_seen;
        summary.events_new += outcome.events_new;
        summary.stats_hours += stats.len() as u64;
        summary.stats_rows += outcome.stats_rows;
        progress.advance(1);
    }
    if summary.events_outside > 0 {
        tracing::warn!(
            "{}: {} outside the windows asked for {} left out",
            source.describe(),
            crate::plural::counts(summary.events_outside, "event"),
            if summary.events_outside == 1 {
                "was"
            } else {
                "were"
            }
        );
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::state;
    use crate::model::{AgentEvent, CallStats, Silent};
    use crate::store::sqlite::SqliteStore;

    /// A source serving fixed events in pages of two, overlapping by one event, like the
    /// platform's `next_start_key` pagination.
    struct Paged {
        events: Vec<AgentEvent>,
        stats_hours: Vec<i64>,
    }

    impl Source for Paged {
        fn describe(&self) -> String {
            "paged test source".into()
        }
        fn now(&mut self) -> Result<i64> {
            Ok(self.events.iter().map(|e| e.ts).max().unwrap_or(0))
        }
        fn events(
            &mut self,
            from: i64,
            to: i64,
            page: &mut dyn FnMut(Vec<AgentEvent>) -> Result<()>,
        ) -> Result<()> {
            let sel: Vec<AgentEvent> = self
                .events
                .iter()
                .filter(|e| from <= e.ts && e.ts <= to)
                .cloned()
                .collect();
            let mut i = 0;
            while i < sel.len() {
                let end = (i + 2).min(sel.len());
                let start = i.saturating_sub(1);
                page(sel[start..end].to_vec())?;
                i = end;
            }
            Ok(())
        }
        fn stats(&mut self, start: i64, _end: i64) -> Result<Option<Vec<CallStats>>> {
            Ok(self.stats_hours.contains(&start).then(|| {
                vec![CallStats {
                    ext: "1".into(),
                    total_calls: 3,
                    ..Default::default()
                }]
            }))
        }
    }

    fn ev(ts: i64, event: &str) -> AgentEvent {
        AgentEvent {
            ext: "1".into(),
            ts,
            event: event.into(),
            enabled: true,
            state: "none".into(),
            user_id: String::new(),
            username: "A".into(),
        }
    }

    #[test]
    fn a_full_disk_says_up_to_which_instant_the_run_committed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        // The first hour's two events fit; the second hour's thousands do not: SQLite's
        // page limit stands in for a full disk (both are SQLITE_FULL).
        let pages: i64 = store
            .b
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        store
            .b
            .conn
            .pragma_update(None, "max_page_count", pages + 8)
            .unwrap();
        let mut src = Paged {
            events: [ev(3600, "agent_idle"), ev(3700, "agent_idle")]
                .into_iter()
                .chain((0..3000).map(|i| ev(7200 + i, "agent_idle")))
                .collect(),
            stats_hours: vec![],
        };
        let e = ingest(&mut store, &mut src, Zone::UTC, 3600, 10_799, &Silent).unwrap_err();
        assert!(
            e.to_string().ends_with(
                "is full; free space and run again (events up to 1970-01-01 02:00:00 +00:00 \
                 were committed; the next run continues from there)"
            ),
            "{e}"
        );
        assert_eq!(
            store.instant(COLLECT_EVENTS_UNTIL).unwrap(),
            Some(7200),
            "the watermark is where the message says"
        );
    }

    #[test]
    fn overlapping_pages_load_once_and_rerun_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let mut src = Paged {
            events: (0..7).map(|i| ev(3600 + i * 1000, "agent_idle")).collect(),
            stats_hours: vec![3600, 7200],
        };
        let bar = Silent;
        let s = ingest(&mut store, &mut src, Zone::UTC, 3600, 9600, &bar).unwrap();
        assert_eq!(s.events_new, 7);
        assert!(s.events_seen > 7, "pages overlap");
        assert_eq!((s.windows, s.stats_hours), (2, 2));
        assert_eq!(
            store
                .state(state::COLLECT_EVENTS_UNTIL.name())
                .unwrap()
                .as_deref(),
            Some("9600")
        );
        let again = ingest(&mut store, &mut src, Zone::UTC, 3600, 9600, &bar).unwrap();
        assert_eq!(again.events_new, 0);
        assert_eq!(store.table_counts().unwrap()[0], ("agent_events", 7));
        assert_eq!(store.table_counts().unwrap()[1], ("users_calls", 2));
    }

    #[test]
    fn an_older_backfill_does_not_move_the_watermark_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let mut src = Paged {
            events: vec![ev(3700, "agent_idle"), ev(20_000, "agent_idle")],
            stats_hours: vec![],
        };
        let bar = Silent;
        ingest(&mut store, &mut src, Zone::UTC, 18_000, 20_000, &bar).unwrap();
        ingest(&mut store, &mut src, Zone::UTC, 3600, 7200, &bar).unwrap();
        assert_eq!(
            store
                .state(state::COLLECT_EVENTS_UNTIL.name())
                .unwrap()
                .as_deref(),
            Some("20000")
        );
        assert_eq!(
            store
                .state(state::API_DATA_UNTIL.name())
                .unwrap()
                .as_deref(),
            Some("20000")
        );
    }

    /// A source that hands in every event whatever window it is asked for.
    struct Careless(Vec<AgentEvent>);

    impl Source for Careless {
        fn describe(&self) -> String {
            "careless test source".into()
        }
        fn now(&mut self) -> Result<i64> {
            Ok(9600)
        }
        fn events(
            &mut self,
            _from: i64,
            _to: i64,
            page: &mut dyn FnMut(Vec<AgentEvent>) -> Result<()>,
        ) -> Result<()> {
            page(self.0.clone())
        }
        fn stats(&mut self, _start: i64, _end: i64) -> Result<Option<Vec<CallStats>>> {
            Ok(None)
        }
    }

    #[test]
    fn events_outside_the_window_asked_for_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let mut src = Careless(vec![
            ev(4000, "agent_idle"),
            ev(i64::MAX, "agent_idle"),
            ev(1_757_300_000_000, "agent_idle"),
            ev(-5, "agent_idle"),
            AgentEvent {
                ext: "7".repeat(70),
                ..ev(5000, "agent_idle")
            },
        ]);
        let bar = Silent;
        let s = ingest(&mut store, &mut src, Zone::UTC, 3600, 7000, &bar).unwrap();
        assert_eq!((s.events_new, s.events_outside, s.too_long), (1, 3, 1));
        assert_eq!(
            store.state(state::DIRTY_TO.name()).unwrap().as_deref(),
            Some("7000")
        );
    }
}
