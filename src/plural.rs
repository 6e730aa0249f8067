//! Counts in messages: `1 row`, `2 rows`, `1 try`, `over 1 hour`. One function so that no
//! message says `1 rows`.

/// `n` followed by the singular or the plural of a noun.
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// `n` followed by the noun with an `s` when `n` is not 1 (`row` → `rows`).
pub fn counts(n: u64, singular: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {singular}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(counts(1, "row"), "1 row");
        assert_eq!(counts(0, "row"), "0 rows");
        assert_eq!(counts(2, "hour"), "2 hours");
        assert_eq!(count(1, "try", "tries"), "1 try");
        assert_eq!(count(6, "try", "tries"), "6 tries");
        assert_eq!(
            count(u64::MAX, "retry", "retries"),
            format!("{} retries", u64::MAX)
        );
    }
}
