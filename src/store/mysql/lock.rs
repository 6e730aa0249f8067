//! `GET_LOCK` names: scoped to one database and short enough for the server.

/// `GET_LOCK` names are limited to 64 characters, as `apr_meta`'s keys (`VARCHAR(64)`).
const LOCK_NAME_MAX: usize = 64;

/// The `GET_LOCK` name for `name` in `database`: scoped to the database (the server's lock
/// namespace is shared by all databases), at most [`LOCK_NAME_MAX`] characters.
pub(super) fn lock_name(database: &str, name: &str) -> String {
    capped(format!("apr.{database}.{name}"))
}

/// `full` if it has at most 64 characters (a `GET_LOCK` name, an `apr_meta` key), else a
/// readable prefix of it made unique by a stable hash of the whole, 64 characters in all.
pub(super) fn capped(full: String) -> String {
    if full.chars().count() <= LOCK_NAME_MAX {
        return full;
    }
    let hash = format!("{:016x}", fnv1a(full.as_bytes()));
    let prefix: String = full.chars().take(LOCK_NAME_MAX - hash.len() - 1).collect();
    format!("{prefix}~{hash}")
}

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`, so two builds of apr
/// agree on lock names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_are_scoped_and_capped_at_64_characters() {
        assert_eq!(lock_name("apr", "collect"), "apr.apr.collect");
        let long_a = lock_name("a_rather_long_database_name_for_reports", &"x".repeat(80));
        let long_b = lock_name("a_rather_long_database_name_for_reports", &"y".repeat(80));
        assert_eq!(long_a.chars().count(), LOCK_NAME_MAX);
        assert_ne!(long_a, long_b);
        assert_eq!(
            long_a,
            lock_name("a_rather_long_database_name_for_reports", &"x".repeat(80))
        );
        let wide = lock_name("db", &"é".repeat(100));
        assert_eq!(wide.chars().count(), LOCK_NAME_MAX);
    }
}
