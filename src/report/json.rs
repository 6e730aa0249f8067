//! JSON encoding of reports: one array of objects keyed by the report's headers, written as
//! rows arrive (`[` first, `]` last), so memory does not grow with the range. Counts are
//! numbers, everything else the same text as the CSV.

use std::io::{BufWriter, Write};

use crate::error::Result;

use super::{Cell, RowSink, write_err};

/// Writes rows as a streamed JSON array.
pub struct JsonSink<'a> {
    w: BufWriter<&'a mut dyn Write>,
    /// The headers, already encoded as JSON strings.
    keys: Vec<String>,
    rows: u64,
    int: itoa::Buffer,
}

impl<'a> JsonSink<'a> {
    pub fn new(out: &'a mut dyn Write) -> JsonSink<'a> {
        JsonSink {
            w: BufWriter::with_capacity(64 * 1024, out),
            keys: Vec::new(),
            rows: 0,
            int: itoa::Buffer::new(),
        }
    }
}

impl RowSink for JsonSink<'_> {
    fn header(&mut self, columns: &[&str]) -> Result<()> {
        self.keys = columns
            .iter()
            .map(|c| serde_json::to_string(c).expect("a string always encodes"))
            .collect();
        self.w.write_all(b"[").map_err(write_err)
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        let w = &mut self.w;
        w.write_all(if self.rows == 0 { b"\n{" } else { b",\n{" })
            .map_err(write_err)?;
        for (i, (key, cell)) in self.keys.iter().zip(cells).enumerate() {
            if i > 0 {
                w.write_all(b",").map_err(write_err)?;
            }
            w.write_all(key.as_bytes()).map_err(write_err)?;
            w.write_all(b":").map_err(write_err)?;
            match *cell {
                Cell::Text(s) => serde_json::to_writer(&mut *w, s)
                    .map_err(|e| write_err(std::io::Error::other(e.to_string())))?,
                Cell::Int(n) => w
                    .write_all(self.int.format(n).as_bytes())
                    .map_err(write_err)?,
            }
        }
        self.rows += 1;
        w.write_all(b"}").map_err(write_err)
    }

    fn finish(&mut self) -> Result<()> {
        let end: &[u8] = if self.rows == 0 { b"]\n" } else { b"\n]\n" };
        self.w.write_all(end).map_err(write_err)?;
        self.w.flush().map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[&[Cell<'_>]]) -> String {
        let mut out = Vec::new();
        {
            let mut s = JsonSink::new(&mut out);
            s.header(&["Ext", "Name \"x\"", "Total Calls"]).unwrap();
            for r in rows {
                s.row(r).unwrap();
            }
            s.finish().unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_array_of_objects_keyed_by_header() {
        let text = render(&[
            &[Cell::Text("3012"), Cell::Text("Doe\n\"Jo\""), Cell::Int(7)],
            &[Cell::Text("3032"), Cell::Text("Zoë"), Cell::Int(0)],
        ]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"Ext": "3012", "Name \"x\"": "Doe\n\"Jo\"", "Total Calls": 7},
                {"Ext": "3032", "Name \"x\"": "Zoë", "Total Calls": 0},
            ])
        );
        assert_eq!(render(&[]), "[]\n");
    }
}
