//! What a page of the PDF report shows, as content streams: the summary page (title, the
//! summary's figures, the charts) and the table's pages (the header, then one line per
//! row), each with its footer. Sizes are in points; text is set in the one built-in font.

use std::collections::BTreeSet;

use pdf_writer::types::TextRenderingMode;
use pdf_writer::{Content, Name, Str};

use crate::error::{Error, Result};
use crate::report::cell::{Column, ReportMeta};
use crate::report::chart;
use crate::report::overview::{ChartData, charts, summary};

use super::font::Font;
use super::svg::Chart;

/// The table's font size.
const SIZE: f32 = 7.0;
/// Space left and right of a cell's text.
const PAD: f32 = 2.5;
/// A table row's height: one line, never split.
const ROW_H: f32 = 10.0;
/// The header holds up to this many lines of its columns' names.
const HEADER_LINES: usize = 3;
const HEADER_LINE: f32 = 8.2;
const HEADER_H: f32 = HEADER_LINES as f32 * HEADER_LINE + 4.0;
const MARGIN: f32 = 36.0;
/// The footer's baseline, within the bottom margin.
const FOOTER_Y: f32 = 20.0;

/// The paper size of `--paper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

impl Paper {
    pub fn parse(s: &str, arg: &str) -> Result<Paper> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Ok(Paper::A4),
            "letter" => Ok(Paper::Letter),
            _ => Err(Error::usage(format!(
                "{arg} '{s}' is not a paper size; expected a4 or letter"
            ))),
        }
    }

    /// Width and height of the upright sheet, in points.
    pub fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

/// A row of the table as it is shown: its cells' text and whether each is a number
/// (right-aligned); total rows are bold on a grey ground.
pub struct TableRow {
    pub total: bool,
    pub cells: Vec<(String, bool)>,
}

/// The sheet: its paper and whether it is turned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    paper: Paper,
    landscape: bool,
}

impl Geometry {
    pub fn new(paper: Paper, landscape: bool) -> Geometry {
        Geometry { paper, landscape }
    }

    /// Width and height as the page is read.
    pub fn size(self) -> (f32, f32) {
        let (w, h) = self.paper.size();
        if self.landscape { (h, w) } else { (w, h) }
    }

    pub fn table_width(self) -> f32 {
        self.size().0 - 2.0 * MARGIN
    }

    pub fn rows_per_page(self) -> usize {
        ((self.size().1 - 2.0 * MARGIN - HEADER_H) / ROW_H).floor() as usize
    }
}

/// `text`'s words in lines no wider than `width` (at font size 1); a word longer than the
/// width has a line of its own.
pub(super) fn wrap(font: &mut Font, text: &str, width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if font.width(&format!("{line} {word}")) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The narrowest width (at font size 1) that sets `header` in at most [`HEADER_LINES`]
/// lines.
pub fn header_width(font: &mut Font, header: &str) -> f32 {
    let mut width = header
        .split_whitespace()
        .map(|w| font.width(w))
        .fold(0.0, f32::max);
    while wrap(font, header, width).len() > HEADER_LINES {
        width += 0.1;
    }
    width
}

/// A column's width in points at its natural size: its widest text and the padding.
fn natural(width: f32) -> f32 {
    width * SIZE + 2.0 * PAD
}

/// The table's width at its natural size.
pub fn natural_width(widths: &[f32]) -> f32 {
    widths.iter().map(|&w| natural(w)).sum()
}

/// Shows `text` at (`x`, `y`) in the current text object.
fn show(c: &mut Content, font: &mut Font, x: f32, y: f32, text: &str) {
    let mut codes = Vec::with_capacity(text.len() * 2);
    font.encode(text, &mut codes);
    c.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]);
    c.show(Str(&codes));
}

/// Bold (the glyphs stroked as well as filled) or regular.
fn bold(c: &mut Content, on: bool) {
    if on {
        c.set_text_rendering_mode(TextRenderingMode::FillStroke);
        c.set_line_width(0.3);
    } else {
        c.set_text_rendering_mode(TextRenderingMode::Fill);
    }
}

/// The footer: the report, its range and zone on the left, the page number on the right
/// (its total is the `/Tot` object). Ends the current text object.
fn footer(c: &mut Content, font: &mut Font, g: Geometry, meta: &ReportMeta, number: usize) {
    let (width, _) = g.size();
    c.set_horizontal_scaling(100.0);
    bold(c, false);
    c.set_fill_gray(0.3);
    c.set_font(Name(b"F1"), SIZE);
    show(
        c,
        font,
        MARGIN,
        FOOTER_Y,
        &format!("{} report · {} · {}", meta.title, meta.range, meta.zone),
    );
    let page = format!("Page {number} of ");
    let x = width - MARGIN - 70.0;
    show(c, font, x, FOOTER_Y, &page);
    c.end_text();
    c.save_state();
    c.transform([1.0, 0.0, 0.0, 1.0, x + font.width(&page) * SIZE, FOOTER_Y]);
    c.x_object(Name(b"Tot"));
    c.restore_state();
}

/// The content of the form that shows the page count.
pub fn total(font: &mut Font, pages: usize) -> Vec<u8> {
    let mut c = Content::new();
    c.begin_text();
    c.set_fill_gray(0.3);
    c.set_font(Name(b"F1"), SIZE);
    show(&mut c, font, 0.0, 0.0, &pages.to_string());
    c.end_text();
    c.finish().into_vec()
}

/// One page of the table: its header, then `rows`, page `number`. `widths` are the
/// columns' widest texts at font size 1; a table wider than the page is set narrower
/// (horizontally scaled), never cut.
pub fn table(
    font: &mut Font,
    g: Geometry,
    meta: &ReportMeta,
    columns: &[Column],
    widths: &[f32],
    rows: &[TableRow],
    number: usize,
) -> Vec<u8> {
    let (_, height) = g.size();
    let sum: f32 = widths.iter().map(|&w| natural(w)).sum();
    let scale = (g.table_width() / sum).min(1.0);
    let mut lefts = Vec::with_capacity(widths.len());
    let mut x = MARGIN;
    for &w in widths {
        lefts.push((x, x + natural(w) * scale));
        x += natural(w) * scale;
    }
    let table_w = x - MARGIN;
    let top = height - MARGIN;
    let body = top - HEADER_H;
    let mut c = Content::new();
    c.set_fill_gray(0.93);
    c.rect(MARGIN, body, table_w, HEADER_H);
    c.fill_nonzero();
    c.set_fill_gray(0.96);
    for (r, row) in rows.iter().enumerate() {
        if row.total {
            c.rect(MARGIN, body - (r + 1) as f32 * ROW_H, table_w, ROW_H);
            c.fill_nonzero();
        }
    }
    c.set_stroke_gray(0.8);
    c.set_line_width(0.3);
    for r in 0..=rows.len() {
        let y = body - r as f32 * ROW_H;
        c.move_to(MARGIN, y);
        c.line_to(MARGIN + table_w, y);
    }
    c.move_to(MARGIN, top);
    c.line_to(MARGIN + table_w, top);
    c.stroke();

    c.begin_text();
    c.set_font(Name(b"F1"), SIZE);
    c.set_fill_gray(0.1);
    c.set_stroke_gray(0.1);
    c.set_horizontal_scaling(scale * 100.0);
    bold(&mut c, true);
    for (i, column) in columns.iter().enumerate() {
        let header = crate::report::cell::shown_header(meta, column);
        let Some(&(left, _)) = lefts.get(i) else {
            break;
        };
        for (k, line) in wrap(font, &header, widths[i]).iter().enumerate() {
            let y = top - (k + 1) as f32 * HEADER_LINE;
            show(&mut c, font, left + PAD * scale, y, line);
        }
    }
    let mut in_bold = true;
    for (r, row) in rows.iter().enumerate() {
        if row.total != in_bold {
            bold(&mut c, row.total);
            in_bold = row.total;
        }
        let y = body - (r + 1) as f32 * ROW_H + 3.0;
        for ((text, numeric), &(left, right)) in row.cells.iter().zip(&lefts) {
            if text.is_empty() {
                continue;
            }
            let x = if *numeric {
                right - PAD * scale - font.width(text) * SIZE * scale
            } else {
                left + PAD * scale
            };
            show(&mut c, font, x, y, text);
        }
    }
    footer(&mut c, font, g, meta, number);
    c.finish().into_vec()
}

/// The first page: title, the summary's figures and the charts (as the HTML report has
/// them), or the sentence saying the range has no data. Returns the content and the
/// opacities (hundredths) its charts use.
pub fn overview(
    font: &mut Font,
    g: Geometry,
    meta: &ReportMeta,
    data: &ChartData,
    rows: u64,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (width, height) = g.size();
    let avail = g.table_width();
    let top = height - MARGIN;
    let mut c = Content::new();
    let mut alphas = BTreeSet::new();
    c.begin_text();
    c.set_fill_gray(0.1);
    c.set_stroke_gray(0.1);
    c.set_font(Name(b"F1"), 16.0);
    bold(&mut c, true);
    show(
        &mut c,
        font,
        MARGIN,
        top - 14.0,
        &format!("{} report", meta.title),
    );
    bold(&mut c, false);
    if rows == 0 {
        c.set_font(Name(b"F1"), 11.0);
        let said = format!("No data from {} ({}).", meta.range, meta.zone);
        show(&mut c, font, MARGIN, top - 40.0, &said);
        footer(&mut c, font, g, meta, 1);
        return Ok((c.finish().into_vec(), Vec::new()));
    }
    let figures = summary(meta, data);
    let per_line = if width > 700.0 { 6 } else { 4 };
    let (box_w, box_h) = (avail / per_line as f32, 28.0);
    let boxes_top = top - 26.0;
    let place = |i: usize| {
        let (col, line) = (i % per_line, i / per_line);
        (
            MARGIN + col as f32 * box_w,
            boxes_top - line as f32 * (box_h + 4.0),
        )
    };
    for (i, (name, value)) in figures.iter().enumerate() {
        let (x, y) = place(i);
        c.set_fill_gray(0.35);
        c.set_font(Name(b"F1"), 7.0);
        show(&mut c, font, x + 5.0, y - 10.0, name);
        // A long value (the range) is set smaller to fit its box.
        let size = (10.0f32).min((box_w - 10.0) / font.width(value).max(0.01));
        c.set_fill_gray(0.1);
        c.set_font(Name(b"F1"), size);
        bold(&mut c, true);
        show(&mut c, font, x + 5.0, y - 22.0, value);
        bold(&mut c, false);
    }
    footer(&mut c, font, g, meta, 1);
    c.set_stroke_gray(0.85);
    c.set_line_width(0.5);
    for i in 0..figures.len() {
        let (x, y) = place(i);
        c.rect(x + 1.0, y - box_h, box_w - 2.0, box_h);
    }
    c.stroke();
    let lines = figures.len().div_ceil(per_line);
    let charts_top = boxes_top - lines as f32 * (box_h + 4.0) - 8.0;
    let drawn = charts(meta, data, chart::WIDE)?;
    let drawn: Vec<Chart> = drawn
        .iter()
        .map(|(_, svg)| Chart::parse(svg))
        .collect::<Result<_>>()?;
    let n = drawn.len().max(1) as f32;
    let area = charts_top - MARGIN;
    // The charts one above the other (upright) or side by side (a landscape page),
    // whichever draws them larger.
    let scale_of = |slot_w: f32, slot_h: f32| {
        drawn
            .iter()
            .map(|ch| {
                let (w, h) = ch.size();
                (slot_w / w).min((slot_h - 6.0) / h)
            })
            .fold(f32::INFINITY, f32::min)
    };
    let stacked = scale_of(avail, area / n);
    let beside = scale_of(avail / n - 6.0, area);
    for (k, chart) in drawn.iter().enumerate() {
        let (x, y, scale) = if stacked >= beside {
            (MARGIN, charts_top - k as f32 * area / n, stacked)
        } else {
            (MARGIN + k as f32 * avail / n, charts_top, beside)
        };
        chart.draw(&mut c, x, y, scale, &mut alphas);
    }
    Ok((c.finish().into_vec(), alphas.into_iter().collect()))
}
