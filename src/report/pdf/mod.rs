//! PDF encoding of reports (SPEC §14): the HTML report's summary and charts on the first
//! page, then the table across pages, its header repeated on every page and one line per
//! row (a row is never split), on A4 or Letter (`--paper`), turned to landscape when the
//! table is wider than the upright page. Every page's footer names the report, its range and
//! zone, and its page number. The one font is built in ([`font`]) and embedded as the subset
//! used, the text is real text (extractable), and the same report is the same bytes.
//!
//! Written natively with pdf-writer, streamed ([`writer`]): a page of rows is laid out and
//! written as soon as it is full, so memory holds one page whatever the row count. The
//! first page, which needs the whole report's figures, is written last under the id
//! reserved for it and listed first; "of N" in the footers is one small object, written at
//! the end with the count, that every page shows.

mod font;
mod page;
mod svg;
mod writer;

use std::io::Write;

use pdf_writer::{Filter, Name, Rect, Ref};

use crate::error::{Error, Result};

use super::cell::{Cell, Column, ReportMeta, RowKind, TextStyle, Undefined, push_text};
use super::overview::ChartData;
use super::sink::{Figures, RowSink, write_err};

use font::Font;
pub use page::Paper;
use page::{Geometry, TableRow};
use writer::{ObjectWriter, deflate};

/// How many table rows one page of `paper` holds, upright or in landscape: the first page
/// is the summary, so a report of `n` rows has `1 + ceil(n / rows_per_page)` pages.
pub fn rows_per_page(paper: Paper, landscape: bool) -> usize {
    Geometry::new(paper, landscape).rows_per_page()
}

/// Writes a report as PDF.
pub struct PdfSink<'a> {
    out: Option<&'a mut dyn Write>,
    w: Option<ObjectWriter<'a>>,
    paper: Paper,
    style: TextStyle,
    meta: Option<ReportMeta>,
    columns: Vec<Column>,
    /// Decided with the first page of rows; then fixed for the document.
    geometry: Option<Geometry>,
    /// Rows waiting for their page (at most one page's and the upright page's worth).
    pending: Vec<TableRow>,
    /// Each column's widest text so far at font size 1, so that columns only widen.
    widths: Vec<f32>,
    font: Option<Font>,
    /// The ids of the pages in order; the first is the summary's, written last.
    pages: Vec<Ref>,
    refs: Option<Refs>,
    data: ChartData,
    rows: u64,
    text: String,
}

/// The ids every page refers to, reserved at the start.
#[derive(Clone, Copy)]
struct Refs {
    pages: Ref,
    font: Ref,
    /// The "N" of "Page n of N".
    total: Ref,
}

impl<'a> PdfSink<'a> {
    pub fn new(out: &'a mut dyn Write, style: TextStyle, paper: Paper) -> PdfSink<'a> {
        PdfSink {
            out: Some(out),
            w: None,
            paper,
            style,
            meta: None,
            columns: Vec::new(),
            geometry: None,
            pending: Vec::new(),
            widths: Vec::new(),
            font: None,
            pages: Vec::new(),
            refs: None,
            data: ChartData::default(),
            rows: 0,
            text: String::new(),
        }
    }

    /// Lays out and writes the first `n` pending rows as one page.
    fn flush_page(&mut self, n: usize) -> Result<()> {
        let rows: Vec<TableRow> = self.pending.drain(..n).collect();
        let geometry = self
            .geometry
            .ok_or_else(|| write_err(std::io::Error::other("no geometry")))?;
        let number = self.pages.len() + 1;
        let (w, font, refs, meta) = match (&mut self.w, &mut self.font, self.refs, &self.meta) {
            (Some(w), Some(f), Some(r), Some(m)) => (w, f, r, m),
            _ => return Err(write_err(std::io::Error::other("row before header"))),
        };
        let content = page::table(
            font,
            geometry,
            meta,
            &self.columns,
            &self.widths,
            &rows,
            number,
        );
        let id = w.alloc();
        write_page(w, refs, geometry, id, &content, &[])?;
        self.pages.push(id);
        Ok(())
    }

    /// Writes the pages the pending rows fill (all of them at the end).
    fn flush(&mut self, all: bool) -> Result<()> {
        if self.geometry.is_none() {
            // No row at all: the page saying so stays upright.
            if self.pending.is_empty() {
                return Ok(());
            }
            let upright = Geometry::new(self.paper, false);
            if !all && self.pending.len() < upright.rows_per_page() {
                return Ok(());
            }
            // Turned when the table does not fit the upright page at its natural size.
            let natural = page::natural_width(&self.widths);
            let landscape = natural > upright.table_width();
            self.geometry = Some(Geometry::new(self.paper, landscape));
        }
        let per_page = self.geometry.map(|g| g.rows_per_page()).unwrap_or(1);
        while self.pending.len() >= per_page || (all && !self.pending.is_empty()) {
            let n = per_page.min(self.pending.len());
            self.flush_page(n)?;
        }
        Ok(())
    }
}

/// Writes page `id`: its content stream and the page object with its resources (the font,
/// the page total, and the graphics states `/A{n}` of `alphas`).
fn write_page(
    w: &mut ObjectWriter<'_>,
    refs: Refs,
    geometry: Geometry,
    id: Ref,
    content: &[u8],
    alphas: &[u8],
) -> Result<()> {
    let stream = w.alloc();
    let packed = deflate(content);
    w.object(|c| {
        c.stream(stream, &packed).filter(Filter::FlateDecode);
    })?;
    let (width, height) = geometry.size();
    let states: Vec<(String, f32)> = alphas
        .iter()
        .map(|&a| (svg::alpha_name(a), f32::from(a) / 100.0))
        .collect();
    let gs: Vec<Ref> = states.iter().map(|_| w.alloc()).collect();
    for (&id, (_, alpha)) in gs.iter().zip(&states) {
        w.object(|c| {
            c.ext_graphics(id)
                .non_stroking_alpha(*alpha)
                .stroking_alpha(*alpha);
        })?;
    }
    w.object(|c| {
        let mut p = c.page(id);
        p.media_box(Rect::new(0.0, 0.0, width, height))
            .parent(refs.pages)
            .contents(stream);
        let mut res = p.resources();
        res.fonts().pair(Name(b"F1"), refs.font);
        res.x_objects().pair(Name(b"Tot"), refs.total);
        if !gs.is_empty() {
            let mut dict = res.ext_g_states();
            for (&id, (name, _)) in gs.iter().zip(&states) {
                dict.pair(Name(name.as_bytes()), id);
            }
        }
    })
}

fn no_header() -> Error {
    write_err(std::io::Error::other("row before header"))
}

fn numeric(cell: &Cell<'_>) -> bool {
    matches!(
        cell,
        Cell::Int(_) | Cell::Duration(_) | Cell::Mean(_) | Cell::Percent(_) | Cell::Flag(_)
    )
}

impl RowSink for PdfSink<'_> {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| write_err(std::io::Error::other("header twice")))?;
        let mut w = ObjectWriter::new(out)?;
        self.refs = Some(Refs {
            pages: w.alloc(),
            font: w.alloc(),
            total: w.alloc(),
        });
        // The summary's page comes first; it is written at the end.
        self.pages.push(w.alloc());
        self.w = Some(w);
        let mut font = Font::new()?;
        self.widths = columns
            .iter()
            .map(|c| page::header_width(&mut font, &super::cell::shown_header(meta, c)))
            .collect();
        self.font = Some(font);
        self.meta = Some(meta.clone());
        self.columns = columns.to_vec();
        Ok(())
    }

    fn observe(&mut self, f: &Figures<'_>) {
        self.data.add(f);
    }

    fn row(&mut self, kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
        let font = self.font.as_mut().ok_or_else(no_header)?;
        let mut shown = Vec::with_capacity(cells.len());
        for (i, cell) in cells.iter().enumerate() {
            self.text.clear();
            push_text(&mut self.text, cell, &self.style, Undefined::Blank);
            let width = font.width(&self.text);
            if let Some(w) = self.widths.get_mut(i) {
                *w = w.max(width);
            }
            shown.push((self.text.clone(), numeric(cell)));
        }
        self.pending.push(TableRow {
            total: kind == RowKind::Total,
            cells: shown,
        });
        self.rows += 1;
        self.flush(false)
    }

    fn finish(&mut self) -> Result<()> {
        if self.w.is_none() {
            return Err(no_header());
        }
        self.flush(true)?;
        let geometry = self
            .geometry
            .unwrap_or_else(|| Geometry::new(self.paper, false));
        let total_pages = self.pages.len();
        let first = self.pages[0];
        let rows = self.rows;
        let (w, font, refs, meta) = match (&mut self.w, &mut self.font, self.refs, &self.meta) {
            (Some(w), Some(f), Some(r), Some(m)) => (w, f, r, m),
            _ => return Err(write_err(std::io::Error::other("no header"))),
        };
        let (content, alphas) = page::overview(font, geometry, meta, &self.data, rows)?;
        write_page(w, refs, geometry, first, &content, &alphas)?;
        let total = page::total(font, total_pages);
        w.object(|c| {
            let mut x = c.form_xobject(refs.total, &total);
            x.bbox(Rect::new(0.0, -4.0, 60.0, 12.0));
            x.resources().fonts().pair(Name(b"F1"), refs.font);
        })?;
        font.write(w, refs.font)?;
        let pages = self.pages.clone();
        w.object(|c| {
            c.pages(refs.pages)
                .kids(pages.iter().copied())
                .count(pages.len() as i32);
        })?;
        let title = format!("{} report {}", meta.title, meta.range);
        let w = self
            .w
            .take()
            .ok_or_else(|| write_err(std::io::Error::other("no header")))?;
        w.finish(refs.pages, &title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ReportMeta {
        ReportMeta {
            title: "Calls",
            range: "2025-09-07 00:00 to 2025-09-08 00:00".into(),
            zone: "Asia/Dubai".into(),
            by: "hour",
            start_date: chrono::NaiveDate::from_ymd_opt(2025, 9, 7).unwrap(),
            service_level: None,
        }
    }

    /// A report of `n` rows of two columns through the sink.
    fn render(n: usize, paper: Paper) -> Vec<u8> {
        let mut out = Vec::new();
        let mut sink = PdfSink::new(&mut out, TextStyle::default(), paper);
        let columns = [
            crate::report::cell::col("Call ID", "call_id"),
            crate::report::cell::col("Wait", "wait_secs"),
        ];
        sink.header(&meta(), &columns).unwrap();
        for i in 0..n {
            let id = format!("call-{i}");
            sink.row(
                RowKind::Detail,
                &[Cell::Text(&id), Cell::Duration(i as i64)],
            )
            .unwrap();
        }
        sink.finish().unwrap();
        out
    }

    /// The byte offsets the cross-reference table lists for objects 1...
    fn xref(pdf: &[u8]) -> Vec<usize> {
        let tail = String::from_utf8_lossy(&pdf[pdf.len() - 40..]).into_owned();
        let start: usize = tail
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        String::from_utf8(pdf[start..].to_vec())
            .unwrap()
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n"))
            .map(|l| l[..10].parse().unwrap())
            .collect()
    }

    #[test]
    fn every_object_is_where_the_cross_reference_table_says() {
        let pdf = render(200, Paper::A4);
        assert!(pdf.starts_with(b"%PDF-1.7\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let offsets = xref(&pdf);
        assert!(offsets.len() > 10);
        for (i, &at) in offsets.iter().enumerate() {
            let head = format!("{} 0 obj", i + 1);
            assert!(
                pdf[at..].starts_with(head.as_bytes()),
                "object {} is not at {at}",
                i + 1
            );
        }
        // The same report is the same bytes.
        assert_eq!(pdf, render(200, Paper::A4));
    }

    #[test]
    fn pages_are_the_summary_and_the_rows_a_page_holds() {
        let count = |pdf: &[u8]| {
            let text = String::from_utf8_lossy(pdf);
            let at = text.find("/Type /Pages").unwrap();
            let count = &text[at..];
            let count = &count[count.find("/Count ").unwrap() + 7..];
            count[..count.find(|c: char| !c.is_ascii_digit()).unwrap()]
                .parse::<usize>()
                .unwrap()
        };
        let per_page = rows_per_page(Paper::A4, false);
        assert_eq!(count(&render(0, Paper::A4)), 1);
        assert_eq!(count(&render(1, Paper::A4)), 2);
        assert_eq!(count(&render(per_page, Paper::A4)), 2);
        assert_eq!(count(&render(per_page + 1, Paper::A4)), 3);
        let letter = rows_per_page(Paper::Letter, false);
        assert_eq!(count(&render(3 * letter, Paper::Letter)), 4);
        assert!(String::from_utf8_lossy(&render(1, Paper::Letter)).contains("[0 0 612 792]"));
    }

    #[test]
    fn a_page_holds_more_rows_upright_than_turned() {
        assert_eq!(rows_per_page(Paper::A4, false), 74);
        assert_eq!(rows_per_page(Paper::A4, true), 49);
        assert_eq!(rows_per_page(Paper::Letter, false), 69);
        assert_eq!(rows_per_page(Paper::Letter, true), 51);
    }

    #[test]
    fn headers_wrap_into_three_lines_at_most() {
        let mut font = Font::new().unwrap();
        for header in [
            "Ext",
            "Not Available Count",
            "Avg Abandon Wait Time In Queue",
        ] {
            let width = page::header_width(&mut font, header);
            let widest_word = header.split(' ').map(|w| font.width(w)).fold(0.0, f32::max);
            assert!(width >= widest_word, "{header}");
            assert!(page::wrap(&mut font, header, width).len() <= 3, "{header}");
            assert!(page::wrap(&mut font, header, width - 0.2).len() > 3 || width == widest_word);
        }
    }

    #[test]
    fn text_is_measured_in_the_fonts_widths_and_encoded_as_subset_glyphs() {
        let mut font = Font::new().unwrap();
        // DejaVu Sans: digits are 0.636 em wide, `i` narrower than `W`.
        assert!(
            (font.width("0") - 0.636).abs() < 0.001,
            "{}",
            font.width("0")
        );
        assert!(font.width("i") < font.width("W"));
        let mut font = Font::new().unwrap();
        let mut codes = Vec::new();
        font.encode("aba", &mut codes);
        // Glyphs are numbered in the order first used, after .notdef.
        assert_eq!(codes, [0, 1, 0, 2, 0, 1]);
    }
}
