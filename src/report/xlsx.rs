//! XLSX encoding of reports (SPEC §10) with rust_xlsxwriter: one sheet (continued on
//! `Agents (2)`, `Agents (3)`, ... past Excel's 1,048,576 rows, which a month of a
//! 2,000-agent center exceeds), durations as Excel
//! durations (`[h]:mm:ss`, fractions of a day, so Excel sums them), counts as numbers,
//! dates and instants as Excel dates, ratios as percentages; a bold frozen header, an
//! autofilter over the whole table, column widths fitted to the longest cell, bold total
//! rows. The sheet is written in constant-memory mode (each row goes to a temporary file
//! as it comes), and the finished workbook is zipped into an anonymous temporary file and
//! copied to the output, so memory does not grow with the range.

use std::io::{Seek, Write};

use chrono::{Datelike, Timelike};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

use crate::error::{Error, Result};

use super::cell::{Cell, Column, DateStyle, ReportMeta, RowKind, formula_safe, shown_header};
use super::sink::{RowSink, write_err};

/// Widest a fitted column gets, in characters.
const MAX_WIDTH: usize = 60;

/// Rows one Excel sheet holds, its header included.
const SHEET_ROWS: u32 = 1_048_576;

/// The formats of one row style (plain or bold).
struct Formats {
    text: Format,
    int: Format,
    duration: Format,
    percent: Format,
    date: Format,
    clock: Format,
}

impl Formats {
    /// The formats of a plain or `bold` row; instants show as `dates` asks (they are Excel
    /// dates either way).
    fn new(bold: bool, dates: DateStyle) -> Formats {
        let base = if bold {
            Format::new().set_bold()
        } else {
            Format::new()
        };
        Formats {
            text: base.clone(),
            int: base.clone().set_num_format("0"),
            duration: base.clone().set_num_format("[h]:mm:ss"),
            percent: base.clone().set_num_format("0.00%"),
            date: base.clone().set_num_format("yyyy-mm-dd"),
            clock: base.set_num_format(match dates {
                DateStyle::Seed => "dd/mm/yyyy hh:mm:ss",
                DateStyle::Iso => "yyyy-mm-dd hh:mm:ss",
            }),
        }
    }
}

/// Writes a report as a one-sheet workbook.
pub struct XlsxSink<'a> {
    out: &'a mut dyn Write,
    book: Workbook,
    plain: Formats,
    bold: Formats,
    header: Format,
    /// The sheet's name and column headers, repeated on each continuation sheet.
    title: &'static str,
    headers: Vec<String>,
    /// Sheets started so far; rows go to the last one.
    sheets: usize,
    /// Rows a sheet holds ([`SHEET_ROWS`]; smaller in tests).
    sheet_rows: u32,
    /// Next row to write on the current sheet (0 is the header).
    row: u32,
    columns: u16,
    /// Longest text of each column so far, in characters.
    widths: Vec<usize>,
}

fn xlsx_err(e: XlsxError) -> Error {
    write_err(std::io::Error::other(e.to_string()))
}

impl<'a> XlsxSink<'a> {
    pub fn new(out: &'a mut dyn Write, dates: DateStyle) -> XlsxSink<'a> {
        XlsxSink {
            out,
            book: Workbook::new(),
            plain: Formats::new(false, dates),
            bold: Formats::new(true, dates),
            header: Format::new().set_bold(),
            title: "",
            headers: Vec::new(),
            sheets: 0,
            sheet_rows: SHEET_ROWS,
            row: 0,
            columns: 0,
            widths: Vec::new(),
        }
    }
}

impl XlsxSink<'_> {
    /// Adds a sheet with the header row, frozen; the first is named after the report, the
    /// next ones `NAME (2)`, `NAME (3)`, ...
    fn start_sheet(&mut self) -> Result<()> {
        let name = match self.sheets {
            0 => self.title.to_string(),
            n => format!("{} ({})", self.title, n + 1),
        };
        let sheet = self
            .book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_err)?;
        sheet.set_name(name).map_err(xlsx_err)?;
        for (c, header) in self.headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, header, &self.header)
                .map_err(xlsx_err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        self.sheets += 1;
        self.row = 1;
        Ok(())
    }

    /// Puts the autofilter over the current sheet's rows and fits its columns.
    fn close_sheet(&mut self) -> Result<()> {
        let sheet = self
            .book
            .worksheet_from_index(self.sheets - 1)
            .map_err(xlsx_err)?;
        if self.columns > 0 {
            sheet
                .autofilter(0, 0, self.row - 1, self.columns - 1)
                .map_err(xlsx_err)?;
        }
        for (c, w) in self.widths.iter().enumerate() {
            sheet
                .set_column_width(c as u16, (*w).min(MAX_WIDTH) as f64)
                .map_err(xlsx_err)?;
        }
        Ok(())
    }
}

/// Text width of a cell as Excel shows it, for fitting the column.
fn shown_width(cell: &Cell<'_>) -> usize {
    match *cell {
        Cell::Text(s) => formula_safe(s).chars().count(),
        Cell::Int(n) => itoa::Buffer::new().format(n).len(),
        Cell::Duration(s) | Cell::Mean(Some(s)) => {
            6 + itoa::Buffer::new().format((s / 3600).max(10)).len()
        }
        Cell::Percent(Some(_)) => 7,
        Cell::Mean(None) | Cell::Percent(None) => 0,
        Cell::Date(..) => 10,
        Cell::Clock(_) => 19,
        Cell::Flag(_) => 1,
        Cell::Empty => 0,
    }
}

impl RowSink for XlsxSink<'_> {
    fn header(&mut self, meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        self.title = meta.title;
        self.headers = columns.iter().map(|c| shown_header(meta, c)).collect();
        let d = meta.start_date;
        let created = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
            .map_err(xlsx_err)?;
        self.book
            .set_properties(&DocProperties::new().set_creation_datetime(&created));
        self.widths = columns
            .iter()
            .map(|c| shown_header(meta, c).chars().count() + 3)
            .collect();
        self.columns = columns.len() as u16;
        self.start_sheet()
    }

    fn row(&mut self, kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
        if self.row == self.sheet_rows {
            self.close_sheet()?;
            self.start_sheet()?;
        }
        let f = match kind {
            RowKind::Detail => &self.plain,
            RowKind::Total => &self.bold,
        };
        let sheet = self
            .book
            .worksheet_from_index(self.sheets - 1)
            .map_err(xlsx_err)?;
        let r = self.row;
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            let sheet = &mut *sheet;
            match *cell {
                Cell::Text(s) => sheet.write_string_with_format(r, col, formula_safe(s), &f.text),
                Cell::Int(n) => sheet.write_number_with_format(r, col, n as f64, &f.int),
                Cell::Duration(s) | Cell::Mean(Some(s)) => {
                    sheet.write_number_with_format(r, col, s as f64 / 86_400.0, &f.duration)
                }
                Cell::Percent(Some(h)) => {
                    sheet.write_number_with_format(r, col, h as f64 / 10_000.0, &f.percent)
                }
                Cell::Date(d, _) => {
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .map_err(xlsx_err)?;
                    sheet.write_datetime_with_format(r, col, &dt, &f.date)
                }
                Cell::Clock(clock) => {
                    let t = clock.at.naive_local();
                    let dt =
                        ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
                            .and_then(|d| d.and_hms(t.hour() as u16, t.minute() as u8, t.second()))
                            .map_err(xlsx_err)?;
                    sheet.write_datetime_with_format(r, col, &dt, &f.clock)
                }
                Cell::Flag(b) => {
                    sheet.write_number_with_format(r, col, f64::from(u8::from(b)), &f.int)
                }
                // An empty cell, which a spreadsheet's averages leave out.
                Cell::Mean(None) | Cell::Percent(None) | Cell::Empty => Ok(&mut *sheet),
            }
            .map_err(xlsx_err)?;
            if let Some(w) = self.widths.get_mut(c) {
                *w = (*w).max(shown_width(cell) + 2);
            }
        }
        self.row += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.sheets > 0 {
            self.close_sheet()?;
        }
        let mut tmp = tempfile::tempfile()
            .map_err(|e| Error::io("cannot create a temporary file for the workbook", e))?;
        self.book.save_to_writer(&mut tmp).map_err(xlsx_err)?;
        tmp.rewind().map_err(write_err)?;
        std::io::copy(&mut tmp, &mut self.out).map_err(write_err)?;
        self.out.flush().map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader, Xlsx};

    use super::*;
    use crate::report::cell::col;

    #[test]
    fn rows_past_a_sheet_continue_on_the_next_with_the_header() {
        let mut out = Vec::new();
        {
            let mut sink = XlsxSink::new(&mut out, DateStyle::Seed);
            sink.sheet_rows = 3;
            let meta = ReportMeta {
                title: "Agents",
                range: String::new(),
                zone: "UTC".into(),
                by: "hour",
                start_date: chrono::NaiveDate::from_ymd_opt(2025, 9, 7).unwrap(),
                service_level: None,
            };
            sink.header(&meta, &[col("Ext", "ext"), col("Calls", "calls")])
                .unwrap();
            for n in 0..5 {
                let ext = format!("{}", 3000 + n);
                sink.row(RowKind::Detail, &[Cell::Text(&ext), Cell::Int(n)])
                    .unwrap();
            }
            sink.finish().unwrap();
        }
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(out)).unwrap();
        assert_eq!(book.sheet_names(), ["Agents", "Agents (2)", "Agents (3)"]);
        let mut seen = Vec::new();
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap();
            let rows: Vec<_> = range.rows().collect();
            assert_eq!(rows[0][0], Data::String("Ext".into()), "{name}");
            assert!(rows.len() <= 3, "{name}");
            for r in &rows[1..] {
                seen.push((r[0].to_string(), r[1].to_string()));
            }
        }
        let want: Vec<_> = (0..5)
            .map(|n| (format!("{}", 3000 + n), n.to_string()))
            .collect();
        assert_eq!(seen, want);
    }
}
