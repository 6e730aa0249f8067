//! JSON encoding of reports, the machine form of SPEC §10: one array of objects with
//! snake_case keys, written as rows arrive (`[` first, `]` last), so memory does not grow
//! with the range. Durations are integer seconds, ratios numbers (`66.67`), instants RFC 3339
//! with their offset, dates `YYYY-MM-DD`, `complete` a boolean, unknown values and ratios
//! without a denominator `null`; text is raw (the formula rule is for spreadsheets).

use std::io::{BufWriter, Write};

use crate::error::Result;

use super::cell::{Cell, Column, ReportMeta, RowKind, push_hundredths};
use super::sink::{RowSink, write_err};

/// Writes rows as a streamed JSON array.
pub struct JsonSink<'a> {
    w: BufWriter<&'a mut dyn Write>,
    /// The keys, already encoded as JSON strings.
    keys: Vec<String>,
    rows: u64,
    text: String,
}

impl<'a> JsonSink<'a> {
    pub fn new(out: &'a mut dyn Write) -> JsonSink<'a> {
        JsonSink {
            w: BufWriter::with_capacity(64 * 1024, out),
            keys: Vec::new(),
            rows: 0,
            text: String::new(),
        }
    }
}

fn json_str(w: &mut dyn Write, s: &str) -> Result<()> {
    serde_json::to_writer(w, s).map_err(|e| write_err(std::io::Error::other(e.to_string())))
}

impl RowSink for JsonSink<'_> {
    fn header(&mut self, _meta: &ReportMeta, columns: &[Column]) -> Result<()> {
        self.keys = columns
            .iter()
            .map(|c| serde_json::to_string(c.key).expect("a string always encodes"))
            .collect();
        self.w.write_all(b"[").map_err(write_err)
    }

    fn row(&mut self, _kind: RowKind, cells: &[Cell<'_>]) -> Result<()> {
        let w = &mut self.w;
        w.write_all(if self.rows == 0 { b"\n{" } else { b",\n{" })
            .map_err(write_err)?;
        for (i, (key, cell)) in self.keys.iter().zip(cells).enumerate() {
            if i > 0 {
                w.write_all(b",").map_err(write_err)?;
            }
            w.write_all(key.as_bytes()).map_err(write_err)?;
            w.write_all(b":").map_err(write_err)?;
            self.text.clear();
            match *cell {
                Cell::Text(s) => json_str(w, s)?,
                Cell::Int(n) | Cell::Duration(n) | Cell::Mean(Some(n)) => {
                    self.text.push_str(itoa::Buffer::new().format(n));
                }
                Cell::Percent(Some(h)) => push_hundredths(&mut self.text, h, '.'),
                // A ratio without a denominator is no number (a zero would drag averages).
                Cell::Mean(None) | Cell::Percent(None) => self.text.push_str("null"),
                Cell::Date(d, _) => json_str(w, &d.format("%Y-%m-%d").to_string())?,
                Cell::Clock(c) => json_str(w, &c.at.to_rfc3339())?,
                Cell::Flag(b) => self.text.push_str(if b { "true" } else { "false" }),
                Cell::Empty => self.text.push_str("null"),
            }
            w.write_all(self.text.as_bytes()).map_err(write_err)?;
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
    use super::super::cell::{Clock, col};
    use super::*;

    fn cols_empty() -> Vec<Column> {
        Vec::new()
    }

    #[test]
    fn an_array_of_typed_objects_with_snake_case_keys() {
        let zone = crate::hours::Zone::parse("Asia/Dubai").unwrap();
        let clock = Clock::new(zone, 1_757_253_600);
        let date = chrono::NaiveDate::from_ymd_opt(2025, 9, 7).unwrap();
        let mut out = Vec::new();
        {
            let mut s = JsonSink::new(&mut out);
            let meta = ReportMeta {
                title: "Agents",
                range: String::new(),
                zone: "Asia/Dubai".into(),
                by: "hour",
                start_date: date,
                service_level: None,
            };
            let cols = [
                col("Name", "name"),
                col("Start Time", "start"),
                col("Date", "date"),
                col("AHT", "aht_secs"),
                col("Answer Rate (%)", "answer_rate_pct"),
                col("Complete", "complete"),
                col("Wait", "wait_secs"),
                col("ASA", "asa_secs"),
                col("Service Level (%)", "service_level_pct"),
            ];
            s.header(&meta, &cols).unwrap();
            s.row(
                RowKind::Detail,
                &[
                    Cell::Text("=Doe\n\"Jo\""),
                    Cell::Clock(&clock),
                    Cell::Date(date, "07-Sep"),
                    Cell::Duration(75),
                    Cell::Percent(Some(6667)),
                    Cell::Flag(false),
                    Cell::Empty,
                    Cell::Mean(None),
                    Cell::Percent(None),
                ],
            )
            .unwrap();
            s.finish().unwrap();
        }
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{
                "name": "=Doe\n\"Jo\"",
                "start": "2025-09-07T18:00:00+04:00",
                "date": "2025-09-07",
                "aht_secs": 75,
                "answer_rate_pct": 66.67,
                "complete": false,
                "wait_secs": null,
                "asa_secs": null,
                "service_level_pct": null,
            }])
        );
        let mut empty = Vec::new();
        {
            let mut s = JsonSink::new(&mut empty);
            let meta = ReportMeta {
                title: "Agents",
                range: String::new(),
                zone: "UTC".into(),
                by: "day",
                start_date: date,
                service_level: None,
            };
            s.header(&meta, &cols_empty()).unwrap();
            s.finish().unwrap();
        }
        assert_eq!(empty, b"[]\n");
    }
}
