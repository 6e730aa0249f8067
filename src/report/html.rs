//! HTML encoding of reports (SPEC §10): one self-contained file (inline CSS and SVG, no
//! script, font or image from anywhere) with a summary, the charts of [`super::chart`] and
//! the table; readable on a phone (the table scrolls sideways, the charts scale) and
//! printable (the header repeats on every page). Markup comes from maud templates, which
//! escape every value.
//!
//! The summary and charts come before the table but need the whole report, so the table's
//! rows go to an anonymous temporary file as they stream by and are copied after the
//! charts: one pass over the store, memory bounded by the chart data (one point per period,
//! one bar per agent).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::error::{Error, Result};

use crate::model::queue::Outcome;

use super::agent_figures::{AgentSums, ext_order};
use super::cell::{
    Cell, Column, ReportMeta, RowKind, TextStyle, Undefined, push_duration, push_hundredths,
    push_text, shown_header,
};
use super::chart::{self, Bar, Series};
use super::queue_figures::{QueueHour, SlBasis};
use super::sink::{Figures, RowSink, write_err};
use plotters::style::RGBColor;

/// The page's style: also used by the web page of `apr serve`.
pub const CSS: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d1d1f;margin:0 auto;max-width:1280px;padding:12px}\
h1{font-size:1.35em;margin:.4em 0}h2{font-size:1.1em;margin:1em 0 .4em}\
.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5em,1fr));gap:6px;margin:0}\
.summary div{border:1px solid #d8d8dc;border-radius:6px;padding:4px 8px}\
.summary dt{font-size:.8em;color:#555}.summary dd{margin:0;font-weight:600}\
figure{margin:12px 0}figure svg{display:block;width:100%;height:auto}\
.table{overflow-x:auto;-webkit-overflow-scrolling:touch}\
table{border-collapse:collapse;font-size:12px;white-space:nowrap}\
th,td{border:1px solid #d8d8dc;padding:3px 6px;text-align:left}\
th{background:#eef0f3;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.total td{font-weight:700;background:#f5f6f8}\
form{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:end;margin:8px 0;padding:8px;border:1px solid #d8d8dc;border-radius:6px}\
form label{display:flex;flex-direction:column;font-size:.85em}form input,form select{font:inherit;padding:4px}\
nav a{margin-right:1em}\
.empty{font-size:1.1em;padding:1.2em;border:1px dashed #b8b8c0;border-radius:6px;background:#fafafb}\
td.k,th.k{position:sticky;left:0;background:#fff;z-index:1}th.k{background:#eef0f3;z-index:2}tr.total td.k{background:#f5f6f8}\
.keys2 .k:first-child{width:4.6em;min-width:4.6em;max-width:4.6em;box-sizing:border-box;overflow:hidden;text-overflow:ellipsis}\
.keys2 .k+.k{left:4.6em;max-width:14em;overflow:hidden;text-overflow:ellipsis;box-shadow:1px 0 0 #c8c8cc}\
.narrow{display:none}\
@media (max-width:640px){body{padding:8px}.narrow{display:block}.wide{display:none}.keys2 .k+.k{max-width:8.5em}}\
@media print{body{max-width:none;padding:0}.table{overflow:visible}thead{display:table-header-group}\
tr,figure{break-inside:avoid}form,nav{display:none}th,td.k{position:static}.narrow{display:none}.wide{display:block}}";

/// Whether the sink writes a whole document or the part of the web page below its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtmlShape {
    Document,
    Fragment,
}

/// A whole HTML document up to and including `<body>`: the page `title`, and the report's
/// style sheet followed by `extra_css`.
pub fn document_start(title: &str, extra_css: &str) -> Markup {
    html! {
        (DOCTYPE)
        (PreEscaped("<html lang=\"en\">"))
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            style { (PreEscaped(CSS)) (PreEscaped(extra_css)) }
        }
        (PreEscaped("<body>"))
    }
}

/// The figures the summary and charts are made of.
#[derive(Default)]
struct ChartData {
    /// Periods in report order, and the calls (offered, answered, abandoned) of each.
    periods: Vec<String>,
    calls: Vec<[i64; 3]>,
    /// Queue reports: every queue's figures of each period summed (service level).
    queue_periods: Vec<QueueHour>,
    /// Agent reports: per extension, its name and state sums.
    agents: BTreeMap<String, (String, AgentSums)>,
    agent_total: AgentSums,
    queues: std::collections::BTreeSet<String>,
    queue_total: QueueHour,
    basis: SlBasis,
    /// Call lists: calls, answered, abandoned.
    call_counts: [i64; 3],
}

impl ChartData {
    fn period(&mut self, label: &str) -> usize {
        if self.periods.last().map(String::as_str) != Some(label) {
            self.periods.push(label.to_string());
            self.calls.push([0; 3]);
            self.queue_periods.push(QueueHour::default());
        }
        self.periods.len() - 1
    }
}

/// Writes a report as HTML.
pub struct HtmlSink<'a> {
    out: &'a mut dyn Write,
    shape: HtmlShape,
    meta: Option<ReportMeta>,
    columns: Vec<Column>,
    /// The columns' indexes in the order the table shows them: the ones naming the row's
    /// agent or queue first, so that they can stay in view while the table scrolls.
    order: Vec<usize>,
    /// How many of the first shown columns name the row.
    keys: usize,
    table: Option<BufWriter<File>>,
    data: ChartData,
    rows: u64,
    text: String,
    style: TextStyle,
}

impl<'a> HtmlSink<'a> {
    pub fn new(out: &'a mut dyn Write, style: TextStyle) -> HtmlSink<'a> {
        Self::with_shape(out, HtmlShape::Document, style)
    }

    pub fn with_shape(out: &'a mut dyn Write, shape: HtmlShape, style: TextStyle) -> HtmlSink<'a> {
        HtmlSink {
            style,
            out,
            shape,
            meta: None,
            columns: Vec::new(),
            order: Vec::new(),
            keys: 0,
            table: None,
            data: ChartData::default(),
            rows: 0,
            text: String::new(),
        }
    }
}

fn numeric(cell: &Cell<'_>) -> bool {
    matches!(
        cell,
        Cell::Int(_) | Cell::Duration(_) | Cell::Mean(_) | Cell::Percent(_) | Cell::Flag(_)
    )
}

/// The columns that name a row's agent or queue, in the order they lead the table.
const KEY_COLUMNS: [&str; 3] = ["ext", "name", "queue"];

/// The table's column order: [`KEY_COLUMNS`] first (the CSV and JSON keep theirs), then
/// the rest as they come; and how many lead.
fn key_columns_first(columns: &[Column]) -> (Vec<usize>, usize) {
    let position = |key: &str| columns.iter().position(|c| c.key == key);
    let mut order: Vec<usize> = KEY_COLUMNS.iter().filter_map(|k| position(k)).collect();
    let keys = order.len();
    let rest: Vec<usize> = (0..columns.len()).filter(|i| !order.contains(i)).collect();
    order.extend(rest);
    (order, keys)
}

/// What the page's sorting script sorts a date or instant cell by (its text does not sort
/// in time order); other cells sort by their text.
fn sort_key(cell: &Cell<'_>) -> Option<String> {
    match cell {
        Cell::Date(date, _) => Some(date.format("%Y%m%d").to_string()),
        Cell::Clock(clock) => Some(clock.at.timestamp().to_string()),
        _ => None,
    }
}

/// A mean duration of the summary; empty, as in the table, with nothing to average.
fn dur(secs: Option<i64>) -> String {
    let mut s = String::new();
    if let Some(secs) = secs {
        push_duration(&mut s, secs);
    }
    s
}

/// A ratio of the summary; empty, as in the table, without a denominator.
fn pct(hundredths: Option<i64>) -> String {
    let mut s = String::new();
    if let Some(h) = hundredths {
        push_hundredths(&mut s, h, '.');
        s.push('%');
    }
    s
}

impl RowSink for HtmlSink<'_> {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        self.meta = Some(meta.clone());
        self.columns = columns.to_vec();
        // The page's table leads with the row's names, kept in view on a phone; a file
        // keeps the CSV's order.
        (self.order, self.keys) = match self.shape {
            HtmlShape::Fragment => key_columns_first(columns),
            HtmlShape::Document => ((0..columns.len()).collect(), 0),
        };
        let file = tempfile::tempfile()
            .map_err(|e| Error::io("cannot create a temporary file for the HTML table", e))?;
        self.table = Some(BufWriter::with_capacity(64 * 1024, file));
        Ok(())
    }

    fn observe(&mut self, f: &Figures<'_>) {
        let d = &mut self.data;
        match *f {
            Figures::Agent { period, ext, sums } => {
                let i = d.period(period);
                d.calls[i][0] += sums.figures.total_calls;
                d.calls[i][1] += sums.figures.answered_calls;
                d.agent_total.add_sums(sums);
                let entry = d.agents.entry(ext.to_string()).or_default();
                entry.0.clone_from(&sums.name);
                entry.1.add_sums(sums);
            }
            Figures::Queue {
                period,
                queue,
                figures,
                basis,
            } => {
                let i = d.period(period);
                d.calls[i][0] += figures.offered;
                d.calls[i][1] += figures.answered;
                d.calls[i][2] += figures.abandoned;
                d.queue_periods[i].merge(figures);
                d.queue_total.merge(figures);
                d.basis = basis;
                if !d.queues.contains(queue) {
                    d.queues.insert(queue.to_string());
                }
            }
            Figures::Call { outcome } => {
                d.call_counts[0] += 1;
                match outcome {
                    Some(Outcome::Answered | Outcome::Transfer) => d.call_counts[1] += 1,
                    Some(Outcome::Abandon) => d.call_counts[2] += 1,
                    _ => {}
                }
            }
        }
    }

    fn row(&mut self, kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
        let shown: Vec<(String, Option<&str>, Option<String>)> = self
            .order
            .iter()
            .enumerate()
            .filter_map(|(at, &i)| cells.get(i).map(|cell| (at, cell)))
            .map(|(at, cell)| {
                self.text.clear();
                push_text(&mut self.text, cell, &self.style, Undefined::Blank);
                let class = if at < self.keys {
                    Some("k")
                } else {
                    numeric(cell).then_some("n")
                };
                (self.text.clone(), class, sort_key(cell))
            })
            .collect();
        let keys = self.keys;
        let markup: Markup = html! {
            tr class=[(kind == RowKind::Total).then_some("total")] {
                @for (at, (text, class, key)) in shown.iter().enumerate() {
                    // A name column may be cut on a phone: its full text on hover.
                    td class=[*class] data-v=[key.as_deref()] title=[(at < keys).then_some(text)] { (text) }
                }
            }
        };
        let table = self
            .table
            .as_mut()
            .ok_or_else(|| write_err(std::io::Error::other("row before header")))?;
        table
            .write_all(markup.into_string().as_bytes())
            .map_err(write_err)?;
        table.write_all(b"\n").map_err(write_err)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let meta = self
            .meta
            .clone()
            .ok_or_else(|| write_err(std::io::Error::other("no header")))?;
        if self.rows == 0 {
            // Nothing to chart or tabulate: say so, and draw no empty axes.
            self.table = None;
            let empty = html! {
                section.report {
                    h1 { (meta.title) " report" }
                    p.empty role="status" {
                        "No data from " (meta.range) " (" (meta.zone) ")."
                    }
                }
            };
            return self.write_whole(&meta, &empty.into_string(), "");
        }
        // The page gets a chart for each screen width; a file (or mail) one that scales.
        let frames: &[(chart::Frame, Option<&str>)] = match self.shape {
            HtmlShape::Document => &[(chart::WIDE, None)],
            HtmlShape::Fragment => &[(chart::WIDE, Some("wide")), (chart::NARROW, Some("narrow"))],
        };
        let mut figures: Vec<Vec<(String, Option<&str>)>> = Vec::new();
        for &(frame, class) in frames {
            for (i, svg) in charts(&meta, &self.data, frame)?.into_iter().enumerate() {
                if figures.len() <= i {
                    figures.push(Vec::new());
                }
                figures[i].push((svg, class));
            }
        }
        let keys = self.keys;
        let before = html! {
            section.report {
                h1 { (meta.title) " report" }
                dl.summary {
                    @for (name, value) in summary(&meta, &self.data) {
                        div { dt { (name) } dd { (value) } }
                    }
                }
                @for figure in &figures {
                    figure {
                        @for (svg, class) in figure {
                            @if let Some(class) = class {
                                div class=(class) { (PreEscaped(svg)) }
                            } @else {
                                (PreEscaped(svg))
                            }
                        }
                    }
                }
                h2 { "Table" }
                (PreEscaped(if keys == 2 { "<div class=\"table\"><table class=\"keys2\">" } else { "<div class=\"table\"><table>" }))
                thead { tr { @for (at, &i) in self.order.iter().enumerate() {
                    th scope="col" class=[(at < keys).then_some("k")] { (shown_header(&meta, &self.columns[i])) }
                } } }
                (PreEscaped("<tbody>\n"))
            }
        };
        // The section above is balanced by maud; its closing tags go after the rows.
        let before = before.into_string();
        let (open, close) = before
            .rsplit_once("</section>")
            .map(|(o, _)| (o.to_string(), "</section>"))
            .unwrap_or((before.clone(), ""));
        self.write_whole(&meta, &open, close)
    }
}

impl HtmlSink<'_> {
    /// Writes the document's head (for a whole document), `open`, the table's rows if any,
    /// and `close`.
    fn write_whole(&mut self, meta: &ReportMeta, open: &str, close: &str) -> Result<()> {
        if self.shape == HtmlShape::Document {
            let head = document_start(&format!("{} report {}", meta.title, meta.range), "");
            self.out
                .write_all(head.into_string().as_bytes())
                .map_err(write_err)?;
        }
        self.out.write_all(open.as_bytes()).map_err(write_err)?;
        if let Some(table) = self.table.take() {
            let mut file = table.into_inner().map_err(|e| write_err(e.into_error()))?;
            file.rewind().map_err(write_err)?;
            std::io::copy(&mut file, &mut self.out).map_err(write_err)?;
            self.out
                .write_all(b"</tbody></table></div>")
                .map_err(write_err)?;
        }
        self.out.write_all(close.as_bytes()).map_err(write_err)?;
        if self.shape == HtmlShape::Document {
            self.out.write_all(b"</body></html>\n").map_err(write_err)?;
        }
        self.out.flush().map_err(write_err)
    }
}

/// The summary's figures, named.
fn summary(meta: &ReportMeta, d: &ChartData) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("Range", meta.range.clone()),
        ("Time zone", meta.zone.clone()),
    ];
    match meta.title {
        "Agents" => {
            let t = &d.agent_total;
            out.extend([
                ("Period", meta.by.to_string()),
                ("Agents", d.agents.len().to_string()),
                ("Calls", t.figures.total_calls.to_string()),
                ("Answered", t.figures.answered_calls.to_string()),
                ("Answer rate", pct(t.answer_rate())),
                ("AHT", dur(t.aht())),
                ("Occupancy", pct(t.occupancy())),
            ]);
        }
        "Queues" => {
            let q = &d.queue_total;
            out.extend([
                ("Period", meta.by.to_string()),
                ("Queues", d.queues.len().to_string()),
                ("Offered", q.offered.to_string()),
                ("Answered", q.answered.to_string()),
                ("Abandoned", q.abandoned.to_string()),
                ("Service level", pct(q.service_level(d.basis))),
                (
                    "Service level target",
                    meta.service_level.clone().unwrap_or_default(),
                ),
                ("ASA", dur(q.asa())),
            ]);
        }
        _ => {
            let [n, answered, abandoned] = d.call_counts;
            out.extend([
                ("Calls", n.to_string()),
                ("Answered", answered.to_string()),
                ("Abandoned", abandoned.to_string()),
                (
                    "Answer rate",
                    pct(super::cell::ratio_hundredths(answered, n)),
                ),
            ]);
        }
    }
    out
}

/// The lines of the calls chart, in the order of [`ChartData::calls`]' columns.
const CALL_LINES: [(&str, RGBColor); 3] = [
    ("Offered", chart::BLUE),
    ("Answered", chart::GREEN),
    ("Abandoned", chart::RED),
];

/// The charts of the report, each one `<svg>`.
fn charts(meta: &ReportMeta, d: &ChartData, frame: chart::Frame) -> Result<Vec<String>> {
    let per = meta.by;
    // A line per column of `d.calls`, named and colored by `lines`.
    let calls = |title: String, lines: &[(&str, RGBColor)]| {
        let series: Vec<Series> = lines
            .iter()
            .enumerate()
            .map(|(i, &(name, color))| Series {
                name,
                color,
                values: d.calls.iter().map(|c| c[i] as f64).collect(),
            })
            .collect();
        chart::lines(&title, &d.periods, &series, None, frame)
    };
    let mut out = Vec::new();
    match meta.title {
        "Agents" => {
            out.push(calls(
                format!("Calls offered and answered per {per}"),
                &CALL_LINES[..2],
            )?);
            let mut ranked: Vec<(&String, &(String, AgentSums))> = d.agents.iter().collect();
            let logged = |s: &AgentSums| {
                s.figures.buckets.available()
                    + s.figures.buckets.productive()
                    + s.figures.buckets.non_productive()
            };
            ranked.sort_by(|a, b| {
                logged(&b.1.1)
                    .cmp(&logged(&a.1.1))
                    .then_with(|| ext_order(a.0, b.0))
            });
            ranked.truncate(chart::MAX_AGENTS);
            ranked.sort_by(|a, b| ext_order(a.0, b.0));
            let hours = |s: i64| s as f64 / 3600.0;
            let bars: Vec<Bar> = ranked
                .iter()
                .map(|(ext, (name, s))| Bar {
                    label: format!("{ext} {name}"),
                    values: vec![
                        hours(s.figures.buckets.available()),
                        hours(s.figures.buckets.productive()),
                        hours(s.figures.buckets.non_productive()),
                        hours(s.figures.buckets.logoff),
                    ],
                })
                .collect();
            let title = if d.agents.len() > chart::MAX_AGENTS {
                format!(
                    "State time per agent ({} of {} agents, most logged time)",
                    chart::MAX_AGENTS,
                    d.agents.len()
                )
            } else {
                "State time per agent".to_string()
            };
            out.push(chart::stacked_bars(
                &title,
                "hours",
                &bars,
                &[
                    ("Available", chart::GREEN),
                    ("Productive", chart::BLUE),
                    ("Non-productive", chart::ORANGE),
                    ("Logoff", chart::GREY),
                ],
                frame,
            )?);
        }
        "Queues" => {
            out.push(calls(
                format!("Calls offered, answered and abandoned per {per}"),
                &CALL_LINES,
            )?);
            out.push(chart::lines(
                &format!("Service level per {per} (%)"),
                &d.periods,
                &[Series {
                    name: "Service level",
                    color: chart::GREEN,
                    values: d
                        .queue_periods
                        .iter()
                        // The chart keeps its line through a period without calls.
                        .map(|q| q.service_level(d.basis).unwrap_or(0) as f64 / 100.0)
                        .collect(),
                }],
                Some(100.0),
                frame,
            )?);
        }
        _ => {}
    }
    Ok(out)
}
