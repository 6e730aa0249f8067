//! The terminal table of `apr report --format table`: a title line, then the header, a rule
//! and the rows in aligned columns, two spaces apart; counts, durations and percentages
//! right-aligned and written as in the CSV. Column widths come from the header and the first
//! [`WINDOW`] rows, held back until the window fills (or the report ends); later rows are
//! streamed with those widths, and a later cell wider than its column pushes the rest of its
//! own line only. Control characters in names are shown as `?`: a name must not drive the
//! terminal.

use std::io::{BufWriter, Write};

use crate::error::Result;

use super::cell::{Cell, Column, ReportMeta, RowKind, TextStyle, Undefined, push_text};
use super::sink::{RowSink, write_err};

/// Rows held back to size the columns: a screenful and more, a bounded memory whatever the
/// range.
pub const WINDOW: usize = 200;

/// Writes a report as an aligned text table.
pub struct TableSink<'a> {
    w: BufWriter<&'a mut dyn Write>,
    headers: Vec<&'static str>,
    /// Whether each column is right-aligned, from the first row with a value in it.
    right: Vec<Option<bool>>,
    /// The rows held back until the widths are known.
    window: Vec<Vec<String>>,
    /// The column widths, once the window has been written.
    widths: Option<Vec<usize>>,
    style: TextStyle,
}

impl<'a> TableSink<'a> {
    pub fn new(out: &'a mut dyn Write, style: TextStyle) -> TableSink<'a> {
        TableSink {
            style,
            w: BufWriter::new(out),
            headers: Vec::new(),
            right: Vec::new(),
            window: Vec::new(),
            widths: None,
        }
    }

    /// Sizes the columns from the header and the held rows and writes them.
    fn write_window(&mut self) -> Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.window {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        let rows = std::mem::take(&mut self.window);
        self.widths = Some(widths);
        for line in [header, rule].iter().chain(&rows) {
            self.write_line(line)?;
        }
        Ok(())
    }

    fn write_line(&mut self, cells: &[String]) -> Result<()> {
        let widths = self.widths.as_deref().unwrap_or_default();
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths
                .get(i)
                .map_or(0, |w| w.saturating_sub(cell.chars().count()));
            if self.right.get(i).copied().flatten().unwrap_or(false) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(self.w, "{}", line.trim_end()).map_err(write_err)
    }
}

/// The text of a cell on a terminal: as in the CSV, except that text is shown as it is (no
/// spreadsheet formula guard) with control characters replaced.
fn terminal_text(cell: &Cell<'_>, style: &TextStyle) -> String {
    match *cell {
        Cell::Text(s) => s
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
        _ => {
            let mut out = String::new();
            push_text(&mut out, cell, style, Undefined::Zero);
            out
        }
    }
}

/// Whether a cell's kind reads right-aligned; `None` for an empty cell, which says nothing.
fn right_aligned(cell: &Cell<'_>) -> Option<bool> {
    match cell {
        Cell::Int(_) | Cell::Duration(_) | Cell::Mean(_) | Cell::Percent(_) | Cell::Flag(_) => {
            Some(true)
        }
        Cell::Text(_) | Cell::Date(..) | Cell::Clock(_) => Some(false),
        Cell::Empty => None,
    }
}

impl RowSink for TableSink<'_> {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        writeln!(
            self.w,
            "{}, {} ({}), by {}",
            meta.title, meta.range, meta.zone, meta.by
        )
        .map_err(write_err)?;
        self.headers = columns.iter().map(|c| c.header).collect();
        self.right = vec![None; columns.len()];
        Ok(())
    }

    fn row(&mut self, _kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
        for (side, cell) in self.right.iter_mut().zip(cells) {
            if side.is_none() {
                *side = right_aligned(cell);
            }
        }
        let texts: Vec<String> = cells
            .iter()
            .map(|c| terminal_text(c, &self.style))
            .collect();
        if self.widths.is_some() {
            return self.write_line(&texts);
        }
        self.window.push(texts);
        if self.window.len() >= WINDOW {
            self.write_window()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.widths.is_none() {
            self.write_window()?;
        }
        self.w.flush().map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::cell::col;

    fn meta() -> ReportMeta {
        ReportMeta {
            title: "Agents",
            range: "2025-09-07 00:00 to 2025-09-08 00:00".into(),
            zone: "UTC".into(),
            by: "hour",
            start_date: chrono::NaiveDate::from_ymd_opt(2025, 9, 7).unwrap(),
            service_level: None,
        }
    }

    fn render(rows: &[&[Cell<'_>]]) -> String {
        let mut out = Vec::new();
        {
            let mut s = TableSink::new(&mut out, TextStyle::default());
            let cols = [
                col("Ext", "ext"),
                col("Name", "name"),
                col("Talk", "talk"),
                col("Answer Rate (%)", "rate"),
            ];
            s.header(&meta(), &cols).unwrap();
            for r in rows {
                s.row(RowKind::Detail, r).unwrap();
            }
            s.finish().unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_align_text_left_and_figures_right() {
        let text = render(&[
            &[
                Cell::Text("3012"),
                Cell::Text("Jo"),
                Cell::Duration(3725),
                Cell::Percent(Some(1250)),
            ],
            &[
                Cell::Text("3032"),
                Cell::Text("Zoë Long-Name"),
                Cell::Duration(100 * 3600),
                Cell::Empty,
            ],
        ]);
        assert_eq!(
            text,
            "Agents, 2025-09-07 00:00 to 2025-09-08 00:00 (UTC), by hour\n\
             Ext   Name                Talk  Answer Rate (%)\n\
             ----  -------------  ---------  ---------------\n\
             3012  Jo              01:02:05           12.50%\n\
             3032  Zoë Long-Name  100:00:00\n"
        );
    }

    #[test]
    fn an_empty_report_is_its_header_and_names_cannot_drive_the_terminal() {
        let text = render(&[]);
        assert_eq!(text.lines().count(), 3, "{text}");
        let text = render(&[&[
            Cell::Text("=1"),
            Cell::Text("\u{1b}[2Jx"),
            Cell::Int(1),
            Cell::Empty,
        ]]);
        assert!(text.contains("\n=1   ?[2Jx     1\n"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }

    #[test]
    fn rows_past_the_window_keep_its_widths() {
        let narrow = [
            Cell::Text("1"),
            Cell::Text("a"),
            Cell::Duration(0),
            Cell::Empty,
        ];
        let mut rows: Vec<&[Cell<'_>]> = vec![&narrow; WINDOW];
        let wide = [
            Cell::Text("12345"),
            Cell::Text("b"),
            Cell::Duration(0),
            Cell::Empty,
        ];
        rows.push(&wide);
        let text = render(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3 + WINDOW + 1);
        assert_eq!(lines[3], "1    a     00:00:00");
        // Wider than its column: only its own line shifts.
        assert_eq!(lines.last().unwrap(), &"12345  b     00:00:00");
    }
}
