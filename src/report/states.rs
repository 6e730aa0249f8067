//! The state stints (SPEC §13 `--kind states`): one row per stint of one agent in one
//! effective state, walked from the stored events as aggregation walks them (see
//! [`crate::aggregate::stints`]), so an agent's stints sum to its hourly rows' seconds.
//! Filtered by `--ext`; ordered by extension, then time.

use crate::aggregate::stints::state_stints;
use crate::error::Result;
use crate::hours::Zone;
use crate::store::Store;

use super::cell::{Cell, Clock, Column, RowKind, col};
use super::request::ReportRequest;
use super::sink::{ReportSummary, RowSink};

/// The columns of the stint list, in order.
pub const COLUMNS: [Column; 7] = [
    col("Ext", "agent_ext"),
    col("Name", "agent_name"),
    col("State", "state"),
    col("Reason", "reason"),
    col("Start", "start"),
    col("End", "end"),
    col("Duration", "duration_secs"),
];

/// Streams the stints of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    sink.header(&req.meta("States", zone), &COLUMNS)?;
    let (from, to) = req.instants(zone);
    let mut rows = 0u64;
    state_stints(store, zone, from, to, &req.exts, &req.state_map, &mut |s| {
        let (start, end) = (Clock::new(zone, s.start), Clock::new(zone, s.end));
        sink.row(
            RowKind::Detail,
            &[
                Cell::Text(&s.ext),
                Cell::Text(&s.name),
                Cell::Text(s.state),
                Cell::Text(&s.reason),
                Cell::Clock(&start),
                Cell::Clock(&end),
                Cell::Duration(s.end - s.start),
            ],
        )?;
        rows += 1;
        Ok(())
    })?;
    Ok(ReportSummary { rows })
}
