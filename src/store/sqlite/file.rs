//! An SQLite database file, and what it was given as (named in the messages that tell where
//! to point instead).

use std::path::{Path, PathBuf};

/// What a file given by its path alone (a test's, init-load's staging file) is called in
/// those messages.
const GIVEN_BY_PATH: &str = "the database path";

/// An SQLite database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteFile {
    pub path: PathBuf,
    /// What the file was given as (the caller's setting).
    pub named: &'static str,
}

impl SqliteFile {
    /// The database as shown to people.
    pub fn shown(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

// Conversions from borrowed paths only, so that the openers taking `impl Into<SqliteFile>`
// are called with `&path` as they always were.
impl From<&Path> for SqliteFile {
    fn from(path: &Path) -> SqliteFile {
        SqliteFile {
            path: path.to_path_buf(),
            named: GIVEN_BY_PATH,
        }
    }
}

impl From<&PathBuf> for SqliteFile {
    fn from(path: &PathBuf) -> SqliteFile {
        SqliteFile::from(path.as_path())
    }
}

impl From<&SqliteFile> for SqliteFile {
    fn from(file: &SqliteFile) -> SqliteFile {
        file.clone()
    }
}
