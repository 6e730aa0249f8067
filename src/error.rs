//! The library's error type. Every variant renders as one line a person can act on, and maps
//! to the process exit code of SPEC §2 (0 ok, 1 runtime, 2 usage/config/input, 75 locked).

use std::fmt;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a command failed, grouped by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or argument is malformed (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Configuration is missing or inconsistent (exit 2).
    #[error("{0}")]
    Config(String),
    /// Input data (a file, a response from a replay directory) is not in the expected form (exit 2).
    #[error("{0}")]
    Input(String),
    /// Another run holds the lock (exit 75).
    #[error("{0}")]
    Locked(String),
    /// A stop (SIGINT/SIGTERM) was asked while a loader waited for the write lock: nothing
    /// was done. The loaders that follow end there with exit 0; elsewhere it is exit 1.
    #[error("stopped while waiting for the write lock")]
    Stopped,
    /// The database failed (exit 1). The message names the database (without password) and
    /// what to do.
    #[error("{0}")]
    Database(String),
    /// A transaction lost to a concurrent one (a deadlock, a lock wait that ran out, or a
    /// Galera certification conflict at `COMMIT`): the write paths try it again whole
    /// ([`crate::store::retry`]); exit 1 once they give up.
    #[error("{0}")]
    Contended(String),
    /// The upstream platform failed after retries, or answered with an error (exit 1).
    #[error("{0}")]
    Upstream(String),
    /// The mail server refused a message or could not be reached (exit 1).
    #[error("{0}")]
    Mail(String),
    /// A file or socket operation failed (exit 1).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error (SPEC §2).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Config(_) | Error::Input(_) => 2,
            Error::Locked(_) => 75,
            Error::Database(_)
            | Error::Contended(_)
            | Error::Upstream(_)
            | Error::Mail(_)
            | Error::Stopped
            | Error::Io { .. } => 1,
        }
    }

    pub fn usage(msg: impl fmt::Display) -> Self {
        Error::Usage(msg.to_string())
    }

    pub fn config(msg: impl fmt::Display) -> Self {
        Error::Config(msg.to_string())
    }

    pub fn input(msg: impl fmt::Display) -> Self {
        Error::Input(msg.to_string())
    }

    pub fn db(msg: impl fmt::Display) -> Self {
        Error::Database(msg.to_string())
    }

    pub fn io(context: impl fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            context: context.to_string(),
            source,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Input(format!("invalid JSON: {e}"))
    }
}

/// Folds a multi-line message into one line, so user-facing errors stay one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The URL with any password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redact_url("mysql://u:s3cr3t@h:3306/db?x=1"),
            "mysql://u:***@h:3306/db?x=1"
        );
        assert_eq!(redact_url("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(redact_url("/var/lib/apr.db"), "/var/lib/apr.db");
        assert_eq!(redact_url("smtp://a:b@c:d@mail:25"), "smtp://a:***@mail:25");
    }
}
