//! CSV encoding of reports: RFC 4180 quoting (by the csv crate), UTF-8, `\n` line ends;
//! `--delimiter` changes the separator (`;` also turns decimal points into commas, as the
//! locales that separate with `;` read numbers) and `--bom` writes a UTF-8 byte-order mark
//! first so that Excel reads the file right in any locale. Text cells follow the formula
//! rule; a ratio without a denominator is `0.00%` (§7.4).

use std::io::Write;

use crate::error::{Error, Result};

use super::cell::{Cell, Column, ReportMeta, RowKind, TextStyle, Undefined, push_text};
use super::sink::{RowSink, write_err};

/// Writes a header and rows as CSV records.
pub struct CsvSink<'a> {
    w: csv::Writer<&'a mut dyn Write>,
    bom: bool,
    style: TextStyle,
    text: String,
}

impl<'a> CsvSink<'a> {
    /// A CSV writer separating fields with `delimiter`, cells written in `style`.
    pub fn new(out: &'a mut dyn Write, delimiter: u8, bom: bool, style: TextStyle) -> CsvSink<'a> {
        CsvSink {
            w: csv::WriterBuilder::new()
                .delimiter(delimiter)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(out),
            bom,
            style,
            text: String::new(),
        }
    }
}

fn csv_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => write_err(io),
        other => Error::io(
            "cannot write the report",
            std::io::Error::other(format!("{other:?}")),
        ),
    }
}

impl RowSink for CsvSink<'_> {
    fn header(&mut self, _meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        if self.bom {
            // The csv writer buffers; the mark goes through it so that it comes first.
            self.w
                .write_field("\u{feff}".to_string() + columns.first().map_or("", |c| c.header))
                .map_err(csv_err)?;
            for c in columns.iter().skip(1) {
                self.w.write_field(c.header).map_err(csv_err)?;
            }
            return self.w.write_record(None::<&[u8]>).map_err(csv_err);
        }
        self.w
            .write_record(columns.iter().map(|c| c.header))
            .map_err(csv_err)
    }

    fn row(&mut self, _kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
        for cell in cells {
            self.text.clear();
            push_text(&mut self.text, cell, &self.style, Undefined::Zero);
            self.w.write_field(&self.text).map_err(csv_err)?;
        }
        self.w.write_record(None::<&[u8]>).map_err(csv_err)
    }

    fn finish(&mut self) -> Result<()> {
        self.w.flush().map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ReportMeta {
        ReportMeta {
            title: "Agents",
            range: String::new(),
            zone: "UTC".into(),
            by: "hour",
            start_date: chrono::NaiveDate::from_ymd_opt(2025, 9, 7).unwrap(),
            service_level: None,
        }
    }

    fn render(delimiter: u8, bom: bool, rows: &[&[Cell<'_>]]) -> String {
        let mut out = Vec::new();
        {
            let mut s = CsvSink::new(
                &mut out,
                delimiter,
                bom,
                TextStyle {
                    decimal_comma: delimiter == b';',
                    ..TextStyle::default()
                },
            );
            let cols = [
                super::super::cell::col("Ext", "ext"),
                super::super::cell::col("Name", "name"),
                super::super::cell::col("Calls", "calls"),
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
    fn quotes_only_where_needed_with_newline_ends() {
        let text = render(
            b',',
            false,
            &[
                &[Cell::Text("3012"), Cell::Text("Doe, \"Jo\""), Cell::Int(7)],
                &[Cell::Text("3032"), Cell::Text("Zoë"), Cell::Int(-1)],
            ],
        );
        assert_eq!(
            text,
            "Ext,Name,Calls\n3012,\"Doe, \"\"Jo\"\"\",7\n3032,Zoë,-1\n"
        );
    }

    #[test]
    fn bom_delimiter_and_formula_rule() {
        let text = render(
            b';',
            true,
            &[&[Cell::Text("=1+1"), Cell::Text("a;b"), Cell::Duration(-5)]],
        );
        assert_eq!(text, "\u{feff}Ext;Name;Calls\n'=1+1;\"a;b\";-00:00:05\n");
        let comma = render(
            b';',
            false,
            &[&[Cell::Percent(Some(1250)), Cell::Percent(None), Cell::Int(3)]],
        );
        assert_eq!(comma, "Ext;Name;Calls\n12,50%;0,00%;3\n");
        let point = render(
            b',',
            false,
            &[&[Cell::Percent(Some(1250)), Cell::Percent(None), Cell::Int(3)]],
        );
        assert_eq!(point, "Ext,Name,Calls\n12.50%,0.00%,3\n");
        assert!(text.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]));
    }
}
