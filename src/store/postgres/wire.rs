//! How cells travel to and from PostgreSQL: `?` placeholders numbered `$1, $2, ...`, a
//! [`Cell`] bound as whatever type the server gave the parameter (a `SMALLINT` column takes
//! an `i16`, a `VARCHAR` the text), a column read back as an integer or as text whatever
//! its integer type (`COUNT` is `BIGINT`, `SUM` is `NUMERIC`), and rows written in `COPY`'s
//! text format.

use std::error::Error as StdError;

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::store::value::Cell;

type Boxed = Box<dyn StdError + Sync + Send>;

/// `sql` with each `?` outside a quoted string or identifier numbered as `$1, $2, ...`.
pub(super) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut n, mut quote) = (0, None);
    for c in sql.chars() {
        match (c, quote) {
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('?', None) => {
                n += 1;
                out.push('$');
                out.push_str(itoa::Buffer::new().format(n));
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A cell bound as a parameter of the type the server expects.
#[derive(Debug)]
pub(super) struct Bound<'a>(pub &'a Cell<'a>);

impl ToSql for Bound<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Boxed> {
        let n = match self.0 {
            Cell::Null => return Ok(IsNull::Yes),
            Cell::Int(n) => *n,
            Cell::Text(s) => {
                if !is_int(ty) {
                    out.extend_from_slice(s.as_bytes());
                    return Ok(IsNull::No);
                }
                s.trim().parse::<i64>()?
            }
        };
        match *ty {
            Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
            Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
            Type::INT8 => n.to_sql(ty, out),
            Type::BOOL => (n != 0).to_sql(ty, out),
            _ => {
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn is_int(ty: &Type) -> bool {
    matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL)
}

/// A column read as an integer: any integer type, a whole `NUMERIC`, a boolean, or text
/// holding digits.
pub(super) struct PgInt(pub Option<i64>);

impl<'a> FromSql<'a> for PgInt {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<PgInt, Boxed> {
        let n = match *ty {
            Type::INT2 => i64::from(i16::from_sql(ty, raw)?),
            Type::INT4 => i64::from(i32::from_sql(ty, raw)?),
            Type::INT8 => i64::from_sql(ty, raw)?,
            Type::BOOL => i64::from(bool::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?
                .parse::<i64>()
                .map_err(|_| "a NUMERIC that is not a whole 64-bit number")?,
            _ => std::str::from_utf8(raw)?.trim().parse::<i64>()?,
        };
        Ok(PgInt(Some(n)))
    }

    fn from_sql_null(_: &Type) -> Result<PgInt, Boxed> {
        Ok(PgInt(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A column read as text: text types as they are, integers and `NUMERIC` in decimal.
pub(super) struct PgText(pub Option<String>);

impl<'a> FromSql<'a> for PgText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<PgText, Boxed> {
        let s = match *ty {
            Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL => {
                PgInt::from_sql(ty, raw)?.0.unwrap_or(0).to_string()
            }
            Type::NUMERIC => numeric(raw)?,
            _ => std::str::from_utf8(raw)?.to_string(),
        };
        Ok(PgText(Some(s)))
    }

    fn from_sql_null(_: &Type) -> Result<PgText, Boxed> {
        Ok(PgText(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A `NUMERIC` in binary form as decimal text: a sign, base-10000 digits with the weight of
/// the first, and the digits after the point to show.
fn numeric(raw: &[u8]) -> Result<String, Boxed> {
    let word = |i: usize| -> Result<u16, Boxed> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a NUMERIC cut short".into())
    };
    let (ndigits, weight, sign, dscale) = (word(0)?, word(1)? as i16, word(2)?, word(3)?);
    if sign == 0xC000 {
        return Ok("NaN".into());
    }
    let digits: Vec<u16> = (0..ndigits as usize)
        .map(|i| word(4 + i))
        .collect::<Result<_, _>>()?;
    let mut int = String::new();
    for k in 0..=weight.max(-1) {
        let d = digits.get(k as usize).copied().unwrap_or(0);
        if int.is_empty() {
            if d != 0 {
                int.push_str(&d.to_string());
            }
        } else {
            int.push_str(&format!("{d:04}"));
        }
    }
    if int.is_empty() {
        int.push('0');
    }
    let mut frac = String::new();
    let mut k = weight as i32 + 1;
    while frac.len() < dscale as usize {
        let d = if k >= 0 {
            digits.get(k as usize).copied().unwrap_or(0)
        } else {
            0
        };
        frac.push_str(&format!("{d:04}"));
        k += 1;
    }
    frac.truncate(dscale as usize);
    let neg = if sign == 0x4000 { "-" } else { "" };
    Ok(if frac.is_empty() {
        format!("{neg}{int}")
    } else {
        format!("{neg}{int}.{frac}")
    })
}

/// One row in `COPY ... FROM STDIN`'s text format: tab-separated, `\N` for NULL, and
/// backslash, tab, newline and carriage return escaped.
pub(super) fn write_copy_row(out: &mut Vec<u8>, row: &[Cell<'_>]) {
    for (i, cell) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Null => out.extend_from_slice(b"\\N"),
            Cell::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Cell::Text(s) => {
                for &b in s.as_bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c LIKE '?%' AND \"d?\" IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c LIKE '?%' AND \"d?\" IN ($2, $3)"
        );
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn cells_bind_as_the_parameter_s_type() {
        let bind = |c: Cell<'_>, ty: Type| {
            let mut out = BytesMut::new();
            let null = Bound(&c).to_sql(&ty, &mut out).unwrap();
            (matches!(null, IsNull::Yes), out.to_vec())
        };
        assert_eq!(bind(Cell::Int(7), Type::INT2), (false, vec![0, 7]));
        assert_eq!(bind(Cell::Int(7), Type::INT4), (false, vec![0, 0, 0, 7]));
        assert_eq!(bind(Cell::Int(-1), Type::INT8), (false, vec![255; 8]));
        assert_eq!(bind(Cell::Int(42), Type::TEXT), (false, b"42".to_vec()));
        assert_eq!(
            bind(Cell::text("é"), Type::VARCHAR),
            (false, "é".as_bytes().to_vec())
        );
        assert_eq!(
            bind(Cell::text("5"), Type::INT8),
            (false, vec![0, 0, 0, 0, 0, 0, 0, 5])
        );
        assert_eq!(bind(Cell::Null, Type::INT8), (true, vec![]));
        let mut out = BytesMut::new();
        assert!(
            Bound(&Cell::Int(70_000))
                .to_sql(&Type::INT2, &mut out)
                .is_err()
        );
    }

    #[test]
    fn numerics_read_back_as_decimal_text() {
        let num = |words: &[u16]| {
            let raw: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            numeric(&raw).unwrap()
        };
        // 12345678: two base-10000 digits, weight 1.
        assert_eq!(num(&[2, 1, 0, 0, 1234, 5678]), "12345678");
        assert_eq!(num(&[1, 0, 0x4000, 0, 42]), "-42");
        assert_eq!(num(&[0, 0, 0, 0]), "0");
        assert_eq!(num(&[2, 0, 0, 2, 3, 5000]), "3.50");
        assert_eq!(num(&[1, 2, 0, 0, 1]), "100000000");
        assert_eq!(num(&[1, 0xFFFF, 0, 4, 25]), "0.0025");
    }

    #[test]
    fn copy_rows_escape_what_the_text_format_reserves() {
        let mut out = Vec::new();
        write_copy_row(
            &mut out,
            &[Cell::Int(-3), Cell::Null, Cell::text("a\tb\\c\nd\re")],
        );
        assert_eq!(out, b"-3\t\\N\ta\\tb\\\\c\\nd\\re\n");
    }
}
