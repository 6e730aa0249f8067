//! The mapping of SQLite's errors to one-line messages that name the file and what to do.

use rusqlite::ErrorCode;

use crate::error::{Error, one_line};

/// One-line message for an SQLite failure on `shown`, given as `named`: what happened and what to do, never
/// the SQL text.
pub(super) fn sqlite_error(shown: &str, named: &str, e: rusqlite::Error) -> Error {
    let code = e.sqlite_error_code();
    let detail = match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) => {
            // SQLite's own message, minus any statement text it may quote.
            one_line(msg.split(" in \"").next().unwrap_or(msg))
                + &format!(" (code {})", f.extended_code)
        }
        rusqlite::Error::SqlInputError { msg, .. } => one_line(msg),
        other => one_line(&other.to_string()),
    };
    match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::db(format!(
            "database {shown} is busy (another process is writing to it); try again when it finishes"
        )),
        Some(ErrorCode::ReadOnly) => Error::db(format!(
            "database {shown} cannot be written ({detail}); check the permissions of the file and its directory"
        )),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => Error::config(format!(
            "database {shown} cannot be opened ({detail}); check the path and its permissions"
        )),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::config(format!(
            "database {shown} is not an SQLite database or is damaged; point {named} at apr's database"
        )),
        Some(ErrorCode::DiskFull) => Error::db(format!(
            "the disk holding database {shown} is full; free space and run again (nothing was committed)"
        )),
        Some(ErrorCode::SystemIoFailure) => Error::db(format!(
            "I/O error on database {shown} ({detail}); check the disk, then run again"
        )),
        _ => Error::db(format!("SQLite error on database {shown}: {detail}")),
    }
}
