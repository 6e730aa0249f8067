//! The mapping of SQLite's errors to one-line messages that name the file and what to do.

use std::path::Path;

use rusqlite::ErrorCode;

use super::immutable::{FileSystem, Unwritable};
use crate::error::{Error, one_line};

/// How a full disk's message ends, on either backend (MySQL's says "the server's disk ...").
const FULL_DISK: &str = "is full; free space and run again";

/// Whether `e` is a database's disk being full: its transaction was rolled back, and a
/// loader adds what its earlier transactions committed.
pub fn is_disk_full(e: &Error) -> bool {
    matches!(e, Error::Database(msg) if msg.contains(FULL_DISK))
}

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
        Some(ErrorCode::DiskFull) => {
            Error::db(format!("the disk holding database {shown} {FULL_DISK}"))
        }
        Some(ErrorCode::SystemIoFailure) => Error::db(format!(
            "I/O error on database {shown} ({detail}); check the disk, then run again"
        )),
        _ => Error::db(format!("SQLite error on database {shown}: {detail}")),
    }
}

/// A WAL database that must be read without its shared index but whose `-wal` holds
/// commits: an immutable read would miss them, and SQLite cannot apply them there.
pub(super) fn wal_not_applied(path: &Path, why: Unwritable) -> Error {
    let shown = format!("sqlite://{}", path.display());
    Error::db(match why {
        Unwritable::Directory => format!(
            "database {shown} has a write-ahead log (-wal) that this user cannot apply, its \
             directory being read-only; run again when the writer has finished, or once as a \
             user who may write the directory"
        ),
        Unwritable::FileSystem => format!(
            "database {shown} is on a read-only file system and its write-ahead log (-wal) \
             was not checkpointed into it, which SQLite cannot do there; copy both files to a \
             writable disk and read it there, or make the copy again after a checkpoint \
             (stop every writer, or run `PRAGMA wal_checkpoint(TRUNCATE)`)"
        ),
    })
}

/// Why SQLite could not open an existing database when the file system says more than
/// "unable to open database file": the file is unreadable to this user, or every inode is
/// used so the `-shm` file beside it cannot be created. `None` when neither holds.
pub(super) fn cannot_open_cause(
    path: &Path,
    shown: &str,
    file_system: Option<FileSystem>,
) -> Option<Error> {
    if let Err(e) = std::fs::File::open(path)
        && e.kind() == std::io::ErrorKind::PermissionDenied
    {
        return Some(Error::config(format!(
            "database {shown} cannot be read by this user (permission denied); grant read \
             access to the file, or run as its owner"
        )));
    }
    if file_system.is_some_and(|fs| fs.out_of_inodes) {
        return Some(Error::db(format!(
            "database {shown} cannot be opened: its file system has no free inodes, and SQLite \
             must create the -shm file beside it; delete files there (`df -i` shows the \
             count), then run again"
        )));
    }
    None
}
