//! HTML encoding of reports (SPEC §10): one self-contained file (inline CSS and SVG, no
//! script, font or image from anywhere) with a summary, the charts of [`super::chart`] and
//! the table; readable on a phone (the table scrolls sideways, the charts scale) and
//! printable (the header repeats on every page). Markup comes from maud templates, which
//! escape every value.
//!
//! The summary and charts ([`super::overview`]) come before the table but need the whole
//! report, so the table's rows go to an anonymous temporary file as they stream by and are
//! copied after the charts: one pass over the store, memory bounded by the chart data (one
//! point per period, one bar per agent).
//!
//! A mailed HTML report (SPEC §12) is the same report in the mail look of
//! [`super::html_mail`]: inline styles, tables for layout, each chart a PNG
//! ([`super::raster`]) the sink keeps for the mail to carry beside the page.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::error::{Error, Result};
use crate::model::mail_body::InlineImage;

use super::cell::{
    Cell, Column, ReportMeta, RowKind, TextStyle, Undefined, push_text, shown_header,
};
use super::chart;
use super::html_mail::{self, ChartImage};
use super::overview::{ChartData, charts, summary};
use super::sink::{Figures, RowSink, write_err};

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

/// Whether the sink writes a whole document, the part of the web page below its form, or
/// the HTML part of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtmlShape {
    Document,
    Fragment,
    Mail,
}

/// A whole HTML document up to and including `<body>`: the page `title`, and the report's
/// style sheet followed by `extra_css`.
pub fn document_start(title: &str, extra_css: &str) -> Markup {
    let style = html! { style { (PreEscaped(CSS)) (PreEscaped(extra_css)) } };
    document_open(title, style, "<body>")
}

/// A document's start: its head (`title`, then `style`) and the `body` tag as given.
fn document_open(title: &str, style: Markup, body: &str) -> Markup {
    html! {
        (DOCTYPE)
        (PreEscaped("<html lang=\"en\">"))
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            (style)
        }
        (PreEscaped(body))
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
    /// Mail: what makes the charts' Content-IDs unique (`{unique}@{domain}`), and the charts
    /// drawn as PNG under them.
    content_id_tag: String,
    images: Vec<InlineImage>,
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
            content_id_tag: String::new(),
            images: Vec::new(),
        }
    }

    /// The mail look: the charts' images are named `chart1.{content_id_tag}`, ...
    pub fn for_mail(
        out: &'a mut dyn Write,
        style: TextStyle,
        content_id_tag: &str,
    ) -> HtmlSink<'a> {
        HtmlSink {
            content_id_tag: content_id_tag.to_string(),
            ..Self::with_shape(out, HtmlShape::Mail, style)
        }
    }

    /// The charts of a finished mail, as PNG under the Content-IDs its HTML names.
    pub fn take_images(&mut self) -> Vec<InlineImage> {
        std::mem::take(&mut self.images)
    }

    /// The document's head and the report up to the table's rows; what closes it.
    fn page_frame(&self, meta: &ReportMeta) -> Result<(String, String)> {
        // The page gets a chart for each screen width; a file one that scales.
        let frames: &[(chart::Frame, Option<&str>)] = match self.shape {
            HtmlShape::Fragment => &[(chart::WIDE, Some("wide")), (chart::NARROW, Some("narrow"))],
            HtmlShape::Document | HtmlShape::Mail => &[(chart::WIDE, None)],
        };
        let mut figures: Vec<Vec<(String, Option<&str>)>> = Vec::new();
        for &(frame, class) in frames {
            for (i, (_, svg)) in charts(meta, &self.data, frame)?.into_iter().enumerate() {
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
                    @for (name, value) in summary(meta, &self.data) {
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
                    th scope="col" class=[(at < keys).then_some("k")] { (shown_header(meta, &self.columns[i])) }
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
        let tail = format!("</tbody></table></div>{close}");
        Ok(self.in_document(meta, open, tail))
    }

    /// A report without rows: a sentence saying so, no chart and no table.
    fn empty_frame(&self, meta: &ReportMeta) -> (String, String) {
        let said = format!("No data from {} ({}).", meta.range, meta.zone);
        if self.shape == HtmlShape::Mail {
            let start = document_open(
                &format!("{} report {}", meta.title, meta.range),
                html! {},
                html_mail::BODY,
            );
            let body = html! {
                (start)
                h1 style="font-family:Arial,Helvetica,sans-serif;font-size:20px;color:#1b1b1f" { (meta.title) " report" }
                p style="font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#1b1b1f" { (said) }
            };
            return (body.into_string(), "</body></html>\n".to_string());
        }
        let empty = html! {
            section.report {
                h1 { (meta.title) " report" }
                p.empty role="status" { (said) }
            }
        };
        self.in_document(meta, empty.into_string(), String::new())
    }

    /// `open` and `close` with the document's head and end around them for a whole document.
    fn in_document(&self, meta: &ReportMeta, open: String, mut close: String) -> (String, String) {
        if self.shape != HtmlShape::Document {
            return (open, close);
        }
        let head = document_start(&format!("{} report {}", meta.title, meta.range), "");
        close.push_str("</body></html>\n");
        (head.into_string() + &open, close)
    }

    /// The mail's HTML up to the table's rows, with the charts drawn as PNG into `images`;
    /// what closes it.
    fn mail_frame(&mut self, meta: &ReportMeta) -> Result<(String, String)> {
        let mut shown = Vec::new();
        for (i, (alt, svg)) in charts(meta, &self.data, chart::WIDE)?
            .into_iter()
            .enumerate()
        {
            let png = super::raster::png(&svg)?;
            let content_id = format!("chart{}.{}", i + 1, self.content_id_tag);
            shown.push(ChartImage {
                content_id: content_id.clone(),
                width: png.width,
                height: png.height,
                alt,
            });
            self.images.push(InlineImage {
                content_id,
                file_name: format!("chart{}.png", i + 1),
                png: png.bytes,
            });
        }
        let headers: Vec<String> = self.columns.iter().map(|c| shown_header(meta, c)).collect();
        let start = document_open(
            &format!("{} report {}", meta.title, meta.range),
            html! {},
            html_mail::BODY,
        );
        let open = html_mail::open(
            start,
            &format!("{} report", meta.title),
            &summary(meta, &self.data),
            &shown,
            &headers,
        );
        Ok((open, html_mail::CLOSE.to_string()))
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

/// The keys of the columns naming a row's agent, and its extension.
const NAME_KEYS: [&str; 2] = ["name", "agent_name"];
const EXT_KEYS: [&str; 2] = ["ext", "agent_ext"];

impl HtmlSink<'_> {
    fn is_name(&self, column: usize) -> bool {
        self.columns
            .get(column)
            .is_some_and(|c| NAME_KEYS.contains(&c.key))
    }

    /// The agent (extension) and local day (`YYYY-MM-DD`) of an agent's row: its Ext cell,
    /// and its Date cell or else its first instant (the stint list's Start).
    fn agent_day(&self, cells: &[Cell<'_>]) -> Option<(String, String)> {
        let at = |keys: &[&str]| self.columns.iter().position(|c| keys.contains(&c.key));
        let ext = match cells.get(at(&EXT_KEYS)?)? {
            Cell::Text(t) if !t.is_empty() => t.to_string(),
            _ => return None,
        };
        at(&NAME_KEYS)?;
        let date = cells.iter().find_map(|c| match c {
            Cell::Date(d, _) => Some(*d),
            _ => None,
        });
        let date = date.or_else(|| {
            cells.iter().find_map(|c| match c {
                Cell::Clock(k) => Some(k.at.date_naive()),
                _ => None,
            })
        })?;
        Some((ext, date.format("%Y-%m-%d").to_string()))
    }
}

impl RowSink for HtmlSink<'_> {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        self.meta = Some(meta.clone());
        self.columns = columns.to_vec();
        // The page's table leads with the row's names, kept in view on a phone; a file
        // keeps the CSV's order.
        (self.order, self.keys) = match self.shape {
            HtmlShape::Fragment => key_columns_first(columns),
            HtmlShape::Document | HtmlShape::Mail => ((0..columns.len()).collect(), 0),
        };
        let file = tempfile::tempfile()
            .map_err(|e| Error::io("cannot create a temporary file for the HTML table", e))?;
        self.table = Some(BufWriter::with_capacity(64 * 1024, file));
        Ok(())
    }

    fn observe(&mut self, f: &Figures<'_>) {
        self.data.add(f);
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
        let day = (self.shape == HtmlShape::Fragment && kind == RowKind::Detail)
            .then(|| self.agent_day(cells))
            .flatten();
        let markup: Markup = if self.shape == HtmlShape::Mail {
            let cells: Vec<(String, bool)> = shown
                .into_iter()
                .map(|(text, class, _)| (text, class == Some("n")))
                .collect();
            html_mail::row(kind == RowKind::Total, &cells)
        } else {
            html! {
                tr class=[(kind == RowKind::Total).then_some("total")] {
                    @for (at, (text, class, key)) in shown.iter().enumerate() {
                        // A name column may be cut on a phone: its full text on hover.
                        td class=[*class] data-v=[key.as_deref()] title=[(at < keys).then_some(text)] {
                            @match (&day, self.is_name(self.order[at])) {
                                // On the web page an agent's name opens its day (`/agent`).
                                (Some((ext, date)), true) => a href={ "/agent?ext=" (ext) "&date=" (date) } { (text) },
                                _ => (text),
                            }
                        }
                    }
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
        let (open, close) = if self.rows == 0 {
            // Nothing to chart or tabulate: say so, and draw no empty axes.
            self.table = None;
            self.empty_frame(&meta)
        } else {
            match self.shape {
                HtmlShape::Mail => self.mail_frame(&meta)?,
                HtmlShape::Document | HtmlShape::Fragment => self.page_frame(&meta)?,
            }
        };
        self.out.write_all(open.as_bytes()).map_err(write_err)?;
        if let Some(table) = self.table.take() {
            let mut file = table.into_inner().map_err(|e| write_err(e.into_error()))?;
            file.rewind().map_err(write_err)?;
            std::io::copy(&mut file, &mut self.out).map_err(write_err)?;
        }
        self.out.write_all(close.as_bytes()).map_err(write_err)?;
        self.out.flush().map_err(write_err)
    }
}
