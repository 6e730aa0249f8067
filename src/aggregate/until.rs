//! Each source's "data until" (SPEC §9), and which sources an agent's data comes from: an
//! agent's hour in progress is covered up to the data until of its own sources.

use crate::error::Result;
use crate::model::EventSource;
use crate::model::state::DATA_UNTIL_KEYS;
use crate::store::Store;

/// Each source's "data until" (SPEC §9): an agent's hour in progress is covered up to the
/// data until of the sources its data comes from, never another source's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataUntil {
    api: Option<i64>,
    queue_log: Option<i64>,
}

impl DataUntil {
    pub fn read(store: &mut dyn Store) -> Result<DataUntil> {
        let mut out = DataUntil::default();
        for (source, key) in DATA_UNTIL_KEYS {
            *out.slot(source) = store.instant(key)?;
        }
        Ok(out)
    }

    fn slot(&mut self, source: EventSource) -> &mut Option<i64> {
        match source {
            EventSource::Api => &mut self.api,
            EventSource::QueueLog => &mut self.queue_log,
        }
    }

    /// The newest instant any source speaks for.
    pub fn newest(self) -> Option<i64> {
        self.api.max(self.queue_log)
    }

    /// The data until of an agent whose data comes from `sources` (the newest of theirs);
    /// the newest of all when none of its sources has one.
    pub fn of(self, sources: Sources) -> Option<i64> {
        let mut until = None;
        if sources.api {
            until = until.max(self.api);
        }
        if sources.queue_log {
            until = until.max(self.queue_log);
        }
        until.or(self.newest())
    }
}

/// Which sources an agent's data in a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sources {
    pub api: bool,
    pub queue_log: bool,
}

impl Sources {
    pub fn add(&mut self, source: EventSource) {
        match source {
            EventSource::Api => self.api = true,
            EventSource::QueueLog => self.queue_log = true,
        }
    }
}
