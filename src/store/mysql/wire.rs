//! How cells travel to the server: bound as prepared-statement values (and what they cost
//! in a packet), or written as `LOAD DATA` text.

use mysql::{Params, Value};

use crate::store::sql::placeholders;
use crate::store::value::Cell;

pub(super) fn bind(cell: &Cell<'_>) -> Value {
    match cell {
        Cell::Int(n) => Value::Int(*n),
        Cell::Null => Value::NULL,
        Cell::Text(s) => Value::Bytes(s.as_bytes().to_vec()),
    }
}

pub(super) fn params(cells: &[Cell<'_>]) -> Params {
    if cells.is_empty() {
        Params::Empty
    } else {
        Params::Positional(cells.iter().map(bind).collect())
    }
}

/// About the bytes a bound value takes in the packet that executes a prepared statement (its
/// type, length prefix and data), plus its `?, ` in the statement text that prepares it.
pub(super) fn sent_bytes(v: &Value) -> usize {
    let data = match v {
        Value::Bytes(b) => b.len() + 9,
        Value::NULL => 0,
        _ => 8,
    };
    data + 2 + 3
}

/// `(?, ?, ...), (?, ?, ...)` for `rows` rows of `cols` columns.
pub(super) fn row_placeholders(rows: usize, cols: usize) -> String {
    let one = format!("({})", placeholders(cols));
    vec![one; rows].join(", ")
}

/// Server errors that refuse `LOAD DATA LOCAL INFILE` itself: MySQL 5's and older
/// MariaDB's "command not allowed" (1148), MariaDB 10.5+'s "local infile capability
/// disabled" (4166), MySQL 8's local data disabled on the client (3948) or the server
/// (3950).
pub(super) const LOCAL_INFILE_REFUSED: [u16; 4] = [1148, 4166, 3948, 3950];

/// Appends one row in `LOAD DATA`'s default text format: tab-separated fields, `\N` for
/// NULL, backslash escapes for the bytes that would end a field or line.
pub(super) fn write_tsv_row(out: &mut Vec<u8>, row: &[Cell<'_>]) {
    use std::io::Write as _;
    for (i, cell) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::Null => out.extend_from_slice(b"\\N"),
            Cell::Text(s) => {
                let bytes = s.as_bytes();
                let mut from = 0;
                for (at, b) in bytes.iter().enumerate() {
                    let escaped: &[u8] = match b {
                        b'\\' => b"\\\\",
                        b'\t' => b"\\t",
                        b'\n' => b"\\n",
                        b'\r' => b"\\r",
                        0 => b"\\0",
                        _ => continue,
                    };
                    out.extend_from_slice(&bytes[from..at]);
                    out.extend_from_slice(escaped);
                    from = at + 1;
                }
                out.extend_from_slice(&bytes[from..]);
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_data_rows_escape_what_ends_a_field_or_line() {
        let mut out = Vec::new();
        write_tsv_row(
            &mut out,
            &[
                Cell::Int(-7),
                Cell::Null,
                Cell::text(""),
                Cell::text("a\tb\nc\\d\re\0f|é"),
            ],
        );
        assert_eq!(out, "-7\t\\N\t\ta\\tb\\nc\\\\d\\re\\0f|é\n".as_bytes());
    }

    #[test]
    fn multi_row_placeholders() {
        assert_eq!(row_placeholders(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
