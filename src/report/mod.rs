//! Reports (SPEC §7.4, §10), rendered through one entry point, [`write_report`], used
//! unchanged by `apr report` and by the HTTP server (§7.5, §11), so both produce the same
//! bytes. The floors, each importing only those below it:
//! - `request`: the user's strings (`args`: as typed, named per origin, parsed value by
//!   value) validated into a [`request::ReportRequest`];
//! - the kinds (`agents`, `queues`, `calls`, `unanswered`, `waits`, `outcomes`, `agent_queues`, `states`): each owns its columns and streams its rows;
//! - the formats (`csv`, `json`, `xlsx`, `html` with `chart`, `pdf`, the terminal's `table`): each
//!   one [`sink::RowSink`]; `html` also in the mail look (`html_mail`, with the charts as
//!   PNG from `raster`), and `headline` sums a mailed report's figures beside any format;
//! - `sink` (the sink trait and the figures behind a row), `agent_figures`, `queue_figures`
//!   (sums and KPIs), `period` (days, weeks, months, the clock columns, the grouper) and
//!   `cell` (columns, typed cells and their text).
//!
//! Rendering is streamed: only one period's sums (one per agent or queue) are held at a time.

use std::io::Write;

use crate::error::Result;
use crate::hours::Zone;
use crate::store::Store;

pub mod agent_figures;
pub mod agent_queues;
pub mod agents;
pub mod args;
pub mod calls;
pub mod cell;
pub mod chart;
pub mod columns;
pub mod csv;
pub mod grouped;
pub mod headline;
pub mod html;
pub mod html_mail;
pub mod json;
pub mod mailed;
pub mod outcomes;
pub mod overview;
pub mod pdf;
pub mod period;
pub mod queue_figures;
pub mod queues;
pub mod raster;
pub mod request;
pub mod sink;
pub mod states;
pub mod table;
pub mod unanswered;
pub mod unmatched;
pub mod waits;
pub mod xlsx;

use request::{ReportFormat, ReportKind, ReportRequest};
use sink::{ReportSummary, RowSink};

/// Renders the report `req` asks for from `store` into `out`, streaming. `zone` is the
/// report zone (for the local clock columns). An empty range writes the header only.
pub fn write_report(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    out: &mut dyn Write,
) -> Result<ReportSummary> {
    let mut sink = format_sink(req, out);
    let summary = render(store, zone, req, sink.as_mut())?;
    sink.finish()?;
    Ok(summary)
}

/// The sink of the request's format, writing into `out`.
fn format_sink<'a>(req: &ReportRequest, out: &'a mut dyn Write) -> Box<dyn RowSink + 'a> {
    match req.format {
        ReportFormat::Csv => Box::new(csv::CsvSink::new(
            out,
            req.delimiter,
            req.bom,
            req.text_style(),
        )),
        ReportFormat::Json => Box::new(json::JsonSink::new(out)),
        ReportFormat::Xlsx => Box::new(xlsx::XlsxSink::new(out, req.dates)),
        ReportFormat::Html => Box::new(html::HtmlSink::new(out, req.text_style())),
        ReportFormat::Pdf => Box::new(pdf::PdfSink::new(out, req.text_style(), req.paper)),
        ReportFormat::Table => Box::new(table::TableSink::new(out, req.text_style())),
    }
}

/// Streams the rows of the report `req` asks for into `sink` (header and rows; the caller
/// finishes the sink). [`write_report`] picks the sink from the request's format; the web
/// page passes the HTML sink that writes the part of a page below its form.
pub fn render(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    sink: &mut dyn RowSink,
) -> Result<ReportSummary> {
    match req.kind {
        ReportKind::Agents => agents::render(store, zone, req, sink),
        ReportKind::Queues => queues::render(store, zone, req, sink),
        ReportKind::Calls => calls::render(store, zone, req, sink),
        ReportKind::Unanswered => unanswered::render(store, zone, req, sink),
        ReportKind::Waits => waits::render(store, zone, req, sink),
        ReportKind::Outcomes => outcomes::render(store, zone, req, sink),
        ReportKind::AgentQueues => agent_queues::render(store, zone, req, sink),
        ReportKind::States => states::render(store, zone, req, sink),
    }
}
