//! Sources: where agent events and call statistics come from. `upstream` decodes the
//! platform's JSON; `replay` reads a directory of recorded responses (SPEC §3.5). Every
//! source that feeds `collect`/`init-load` implements [`Source`], so the load and the
//! aggregation after it are the same whichever source is used.

use crate::error::Result;
use crate::model::{AgentEvent, CallStats};

pub mod platform;
pub mod replay;
pub mod upstream;

/// A place agent events and hourly call statistics are fetched from.
pub trait Source {
    /// Names the source in messages (a URL without credentials, a directory).
    fn describe(&self) -> String;

    /// The source's "now": the wall clock for the live platform, the newest recorded instant
    /// for a replay (so replays are reproducible).
    fn now(&mut self) -> Result<i64>;

    /// Fetches the events with `from <= ts <= to`, handing each page to `page` in the order
    /// the source lists them. Pages may overlap; the load absorbs duplicates.
    fn events(
        &mut self,
        from: i64,
        to: i64,
        page: &mut dyn FnMut(Vec<AgentEvent>) -> Result<()>,
    ) -> Result<()>;

    /// The stats of one aligned local hour `[start, end)` (`end` earlier than the hour's end
    /// for the hour in progress). `None` when the source has nothing for that hour, so that
    /// stored stats are kept rather than replaced by nothing.
    fn stats(&mut self, start: i64, end: i64) -> Result<Option<Vec<CallStats>>>;
}
