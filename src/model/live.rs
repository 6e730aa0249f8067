//! The floor as the loaders last saw it (SPEC §13): each agent's effective state now, since
//! when, as of which instant of its source's data. The aggregation writes it with the hour in
//! progress; `serve` reads it instead of replaying a day of events per request.

use serde::Serialize;

/// One agent's effective state (SPEC §5.1) at `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveAgent {
    pub ext: String,
    pub name: String,
    /// `api` or `queue_log`: the source whose data until `as_of` is.
    pub source: String,
    /// `hold`, `on_call`, `wrap_up`, `not_avail`, `idle`, `logged_off` or `unaccounted`.
    pub state: String,
    /// The not-available reason as the source gave it (empty for other states).
    pub reason: String,
    /// When the effective state began (within the carry window the aggregation reads).
    pub since: i64,
    /// The data-until instant of the agent's source this state is as of.
    pub as_of: i64,
    /// Start of the local day of `as_of`: `today` holds that day's figures so far.
    pub day_start: i64,
    /// The day's sums of the agent's hourly rows, taken when the state was written (the
    /// store fills them in the same transaction, from the rows it holds then).
    pub today: DayFigures,
}

/// One agent's sums over a local day of its hourly rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DayFigures {
    pub answered: i64,
    pub talk_secs: i64,
    pub hold_secs: i64,
    pub wrap_up_secs: i64,
    /// Productive and non-productive breaks.
    pub break_secs: i64,
    pub dnd_secs: i64,
}
