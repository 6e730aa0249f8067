//! The store's one value type, [`Cell`], and the reader of a result row, [`RowRead`]: the
//! floor every other store file stands on. A cell binds borrowed text when it is written
//! (no copy per row) and holds owned text when it is read back (a stored row compared with
//! what would be written, rows copied between two databases).

use std::borrow::Cow;

use crate::error::Result;

/// One SQL value, backend-neutral: a statement parameter or a column read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'a> {
    Int(i64),
    Null,
    Text(Cow<'a, str>),
}

impl<'a> Cell<'a> {
    /// Borrowed text.
    pub fn text(s: &'a str) -> Cell<'a> {
        Cell::Text(Cow::Borrowed(s))
    }

    /// An integer, or NULL for `None`.
    pub fn opt(v: Option<i64>) -> Cell<'a> {
        v.map_or(Cell::Null, Cell::Int)
    }

    /// This cell as a borrow of itself, for binding an owned cell without copying it.
    pub fn borrowed(&self) -> Cell<'_> {
        match self {
            Cell::Int(n) => Cell::Int(*n),
            Cell::Null => Cell::Null,
            Cell::Text(s) => Cell::text(s),
        }
    }
}

/// One row of a query's result, read by column index.
pub trait RowRead {
    fn int(&mut self, i: usize) -> Result<i64>;
    fn opt_int(&mut self, i: usize) -> Result<Option<i64>>;
    fn text(&mut self, i: usize) -> Result<String>;
}

/// A row read as owned cells; `is_int` says which columns are integers (NULL reads as
/// [`Cell::Null`]).
pub fn read_cells(r: &mut dyn RowRead, is_int: &[bool]) -> Result<Vec<Cell<'static>>> {
    is_int
        .iter()
        .enumerate()
        .map(|(i, int)| {
            Ok(if *int {
                Cell::opt(r.opt_int(i)?)
            } else {
                Cell::Text(Cow::Owned(r.text(i)?))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of fixed columns, for reading without a database.
    struct Fixed(Vec<Option<&'static str>>);

    impl RowRead for Fixed {
        fn int(&mut self, i: usize) -> Result<i64> {
            Ok(self.opt_int(i)?.unwrap_or(0))
        }
        fn opt_int(&mut self, i: usize) -> Result<Option<i64>> {
            Ok(self.0[i].map(|v| v.parse().unwrap()))
        }
        fn text(&mut self, i: usize) -> Result<String> {
            Ok(self.0[i].unwrap_or_default().to_string())
        }
    }

    #[test]
    fn a_read_row_equals_the_cells_that_wrote_it() {
        let mut row = Fixed(vec![Some("7"), None, Some("é x")]);
        let read = read_cells(&mut row, &[true, true, false]).unwrap();
        let text = String::from("é x");
        assert_eq!(read, vec![Cell::Int(7), Cell::opt(None), Cell::text(&text)]);
        assert_ne!(read[0], Cell::text("7"), "an integer is not its digits");
        let bound: Vec<Cell<'_>> = read.iter().map(Cell::borrowed).collect();
        assert_eq!(bound, read);
        assert!(matches!(bound[2], Cell::Text(Cow::Borrowed(_))));
    }
}
