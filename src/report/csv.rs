//! CSV encoding of reports: RFC 4180 quoting (by the csv crate), UTF-8, `\n` line ends.

use std::io::Write;

use crate::error::{Error, Result};

use super::{Cell, RowSink, write_err};

/// Writes a header and rows as CSV records.
pub struct CsvSink<'a> {
    w: csv::Writer<&'a mut dyn Write>,
    int: itoa::Buffer,
}

impl<'a> CsvSink<'a> {
    pub fn new(out: &'a mut dyn Write) -> CsvSink<'a> {
        CsvSink {
            w: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(out),
            int: itoa::Buffer::new(),
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
    fn header(&mut self, columns: &[&str]) -> Result<()> {
        self.w.write_record(columns).map_err(csv_err)
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        for cell in cells {
            match *cell {
                Cell::Text(s) => self.w.write_field(s),
                Cell::Int(n) => self.w.write_field(self.int.format(n)),
            }
            .map_err(csv_err)?;
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

    #[test]
    fn quotes_only_where_needed_with_newline_ends() {
        let mut out = Vec::new();
        {
            let mut s = CsvSink::new(&mut out);
            s.header(&["Ext", "Name", "Calls"]).unwrap();
            s.row(&[Cell::Text("3012"), Cell::Text("Doe, \"Jo\""), Cell::Int(7)])
                .unwrap();
            s.row(&[Cell::Text("3032"), Cell::Text("Zoë"), Cell::Int(-1)])
                .unwrap();
            s.finish().unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Ext,Name,Calls\n3012,\"Doe, \"\"Jo\"\"\",7\n3032,Zoë,-1\n"
        );
    }
}
