//! Reading a WAL database whose directory this user cannot write, or whose file system is
//! read-only (no shared index): as an immutable file, checked on every read against what it
//! looked like when opened.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What a reader without a shared index (`immutable=1`) can see of writers: the file's
/// size and modification time, and whether a `-wal` or `-shm` file exists (a writer that
/// opens the database creates both). A difference means a writer ran or runs: pages read
/// from then on may mix two versions, so the read fails instead (issue 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileState {
    len: u64,
    modified: Option<std::time::SystemTime>,
    wal: Option<u64>,
    shm: bool,
}

impl FileState {
    pub(super) fn of(path: &Path) -> std::io::Result<FileState> {
        let meta = std::fs::metadata(path)?;
        let beside = |suffix: &str| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(PathBuf::from(p)).ok()
        };
        Ok(FileState {
            len: meta.len(),
            modified: meta.modified().ok(),
            wal: beside("-wal").map(|m| m.len()),
            shm: beside("-shm").is_some(),
        })
    }

    /// Whether a `-wal` file holds committed transactions the database file does not.
    pub(super) fn wal_holds_commits(&self) -> bool {
        self.wal.is_some_and(|len| len > 0)
    }
}

/// Why a WAL database is read without its shared index: SQLite cannot create the `-shm`
/// file beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unwritable {
    /// Its directory is read-only to this user; a writer with more rights may exist.
    Directory,
    /// Its file system is mounted read-only (a backup, a replica): nobody can write it.
    FileSystem,
}

/// What statvfs tells of the file system holding a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileSystem {
    /// Mounted read-only (`ST_RDONLY`): no process can write the file through this mount.
    pub(super) read_only: bool,
    /// Every inode is used, so SQLite cannot create the `-shm` file. A file system that
    /// reports no inodes at all (some do not count them) is not out of them.
    pub(super) out_of_inodes: bool,
}

impl FileSystem {
    /// `None` when statvfs fails: the caller then knows nothing more than SQLite said.
    pub(super) fn of(path: &Path) -> Option<FileSystem> {
        let s = rustix::fs::statvfs(path).ok()?;
        Some(FileSystem {
            read_only: s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
            out_of_inodes: s.f_files > 0 && s.f_favail == 0,
        })
    }
}

/// Fails when an immutable read's file is no longer as it was opened.
pub(super) fn check_unchanged(
    path: &Path,
    shown: &str,
    opened: &Option<(FileState, Unwritable)>,
) -> Result<()> {
    let Some((opened, why)) = opened else {
        return Ok(());
    };
    if FileState::of(path).ok().as_ref() == Some(opened) {
        return Ok(());
    }
    let unwritable = match why {
        Unwritable::Directory => "its directory is read-only to this user",
        Unwritable::FileSystem => "its file system was mounted read-only",
    };
    Err(Error::db(format!(
        "database {shown} changed while it was read without SQLite's shared index \
         ({unwritable}); the read was abandoned: run again"
    )))
}

/// `file:PATH?immutable=1`, with the characters a URI gives meaning to escaped.
pub(super) fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}
