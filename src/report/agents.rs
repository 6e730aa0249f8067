//! The agent report (SPEC §7.4, §10): one row per agent and local hour, day, ISO week or
//! calendar month, with the exact column headers and order of the spec, the `--extended`
//! columns and KPIs, and `--totals`. Rows arrive from the store in hour order; the rows of
//! one period are summed per agent (at most one accumulator per agent is held), then
//! written ordered by extension with every ratio recomputed from the sums.

use std::cmp::Ordering;

use crate::error::Result;
use crate::hours::Zone;
use crate::store::Store;

use super::agent_figures::{AgentSums, ext_order};
use super::cell::{Cell, Column, RowKind};
use super::grouped::{Grouper, PeriodRows, SortValue};
use super::period::RowClock;
use super::request::{ReportFormat, ReportRequest};
use super::sink::{Figures, ReportSummary, RowSink};

/// The columns of every agent report, in order.
pub use super::columns::AGENT_COLUMNS as COLUMNS;

/// The columns `--extended` appends: the §7.4 ones, then the KPIs of §10.
pub use super::columns::AGENT_EXTENDED_COLUMNS as EXTENDED_COLUMNS;

/// Index of `Complete` among all columns (JSON always carries it).
const COMPLETE: usize = COLUMNS.len() + 7;

/// The indices (into [`COLUMNS`] then [`EXTENDED_COLUMNS`]) a request shows.
fn shown(req: &ReportRequest) -> Vec<usize> {
    let all = COLUMNS.len() + EXTENDED_COLUMNS.len();
    if req.extended {
        (0..all).collect()
    } else if req.format == ReportFormat::Json {
        (0..COLUMNS.len()).chain([COMPLETE]).collect()
    } else {
        (0..COLUMNS.len()).collect()
    }
}

/// Streams the agent report of `req` from `store` into `sink`.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    let shown = shown(req);
    let all: Vec<Column> = COLUMNS.iter().chain(&EXTENDED_COLUMNS).copied().collect();
    let columns: Vec<Column> = shown.iter().map(|&i| all[i]).collect();
    sink.header(&req.meta("Agents", zone), &columns)?;
    let rows = AgentRows { shown, sink };
    let mut g =
        Grouper::new(req.by, zone, req.instants(zone), req.totals, rows).ranked(req.ranking);
    store.scan_activity(&req.filter(), &mut |mut row| {
        let ext = std::mem::take(&mut row.agent_ext);
        g.sums(row.report_hour, ext)?.add_row(&row);
        Ok(())
    })?;
    Ok(ReportSummary { rows: g.finish()? })
}

/// Where the agent report's rows go: agents by extension, with the columns `shown`.
struct AgentRows<'s> {
    shown: Vec<usize>,
    sink: &'s mut dyn RowSink,
}

impl PeriodRows for AgentRows<'_> {
    type Sums = AgentSums;

    fn order(a: &str, b: &str) -> Ordering {
        ext_order(a, b)
    }

    fn merge(total: &mut AgentSums, sums: &AgentSums) {
        total.add_sums(sums);
    }

    fn sort_value(&self, clock: &RowClock, ext: &str, s: &AgentSums, column: usize) -> SortValue {
        cells(clock, ext, s, RowKind::Detail)
            .get(column)
            .map_or(SortValue::Missing, SortValue::of)
    }

    fn write(&mut self, clock: &RowClock, ext: &str, s: &AgentSums, kind: RowKind) -> Result<()> {
        write_row(clock, ext, s, kind, &self.shown, self.sink)
    }
}

/// Writes one row of `sums` with the columns `shown`.
fn write_row(
    clock: &RowClock,
    ext: &str,
    s: &AgentSums,
    kind: RowKind,
    shown: &[usize],
    sink: &mut dyn RowSink,
) -> Result<()> {
    if kind == RowKind::Detail {
        sink.observe(&Figures::Agent {
            period: &clock.interval,
            ext,
            sums: s,
        });
    }
    let all = cells(clock, ext, s, kind);
    if shown.len() == all.len() {
        return sink.row(kind, &all);
    }
    let mut cells = [Cell::Empty; 37];
    for (slot, &i) in cells.iter_mut().zip(shown) {
        *slot = all[i];
    }
    sink.row(kind, &cells[..shown.len()])
}

/// Every cell of a row of `sums`: [`COLUMNS`], then [`EXTENDED_COLUMNS`].
fn cells<'a>(clock: &'a RowClock, ext: &'a str, s: &'a AgentSums, kind: RowKind) -> [Cell<'a>; 37] {
    let f = &s.figures;
    let b = &f.buckets;
    let name = if kind == RowKind::Total {
        ""
    } else {
        s.name.as_str()
    };
    let complete = s.incomplete_hours == 0 && !clock.cut;
    [
        Cell::Text(&clock.interval),
        Cell::Date(clock.date, &clock.date_text),
        Cell::Clock(&clock.start),
        Cell::Clock(&clock.end),
        Cell::Text(ext),
        Cell::Text(name),
        Cell::Duration(b.available()),
        Cell::Duration(b.productive()),
        Cell::Duration(b.non_productive()),
        Cell::Duration(b.login),
        Cell::Duration(b.logoff),
        Cell::Duration(b.idle),
        Cell::Int(f.total_calls),
        Cell::Int(f.answered_calls),
        Cell::Int(f.failed_calls),
        Cell::Mean(s.aht()),
        Cell::Percent(s.answer_rate()),
        Cell::Duration(b.lunch),
        Cell::Duration(b.tea),
        Cell::Duration(b.bio),
        Cell::Duration(b.short),
        Cell::Duration(b.other),
        Cell::Duration(b.meeting),
        Cell::Duration(b.training),
        Cell::Duration(b.chat),
        Cell::Duration(b.tickets),
        Cell::Duration(b.outbound),
        Cell::Duration(b.talk),
        Cell::Duration(b.hold),
        Cell::Duration(b.wrap_up),
        Cell::Duration(b.dnd),
        Cell::Duration(b.unaccounted),
        Cell::Int(f.idle_count),
        Cell::Int(f.notavail_count),
        Cell::Flag(complete),
        Cell::Percent(s.occupancy()),
        Cell::Percent(s.utilization()),
    ]
}
