//! A PostgreSQL database as configured: `postgres://user:pass@host:port/db` (also
//! `postgresql://`), with `?sslmode=` (disable, prefer, require, verify-ca, verify-full, as
//! libpq reads it), `?sslrootcert=PATH` (the CA that verify-ca and verify-full trust besides
//! the public roots), `?connect_timeout=`, `?read_timeout=`, `?write_timeout=` and
//! `?statement_timeout=` (seconds; apr's waits on the server; the first three also by the
//! settings the caller names, [`PostgresUrl::setting`], the URL's own word winning). Parsed once, before anything connects; the password is kept for connecting
//! and never shown.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result, redact_url};

/// How the connection is encrypted (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked (libpq's `require`).
    Require,
    /// TLS with a certificate signed by a trusted CA, for any host name.
    VerifyCa,
    /// TLS with a trusted certificate for the host connected to.
    VerifyFull,
}

impl SslMode {
    const ALL: [(&'static str, SslMode); 5] = [
        ("disable", SslMode::Disable),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ];
}

/// One of apr's waits on the server (issue 26's bounds, as on MySQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Establishing the connection: TCP, TLS, the startup and the login, as a whole.
    Connect,
    /// Any one wait for the server's answer.
    Read,
    /// Any one wait for the server to take what apr sends.
    Write,
}

impl Wait {
    fn index(self) -> usize {
        self as usize
    }

    /// The URL parameter that sets it.
    pub fn param(self) -> &'static str {
        ["connect_timeout", "read_timeout", "write_timeout"][self.index()]
    }
}

/// Seconds apr waits for an answer, or for the server to take what it sends, unless the
/// URL or a setting says: a frozen server ends a command within about a minute, as on MySQL.
const WAIT_SECS: u64 = 60;

/// Seconds apr waits for a connection (TCP, TLS and login) unless the URL says.
const CONNECT_SECS: u64 = 10;
/// Seconds one statement may run unless the URL says: as MySQL's read timeout, a stalled
/// server ends a command within a minute, far above the longest statement apr sends at the
/// reference scale (SPEC §8).
const STATEMENT_SECS: u64 = 60;

/// A parsed `postgres://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub statement_timeout: Duration,
    /// What the URL was given as, named in messages about it.
    pub named: &'static str,
    /// The setting that sets each [`Wait`] besides the URL (its parameter until a caller
    /// names one), and whether the URL set it.
    wait_named: [&'static str; 3],
    from_url: [bool; 3],
    /// A setting's value that is not a number of seconds, reported when connecting.
    unusable: Option<(Wait, String)>,
    shown: String,
}

impl PostgresUrl {
    /// Parses `s` (`postgres://` or `postgresql://`); `named` is what it was given as.
    pub fn parse(s: &str, named: &'static str) -> Result<PostgresUrl> {
        let shown_full = redact_url(s);
        let bad = |why: &str| {
            Error::config(format!(
                "{named} '{}' is not a valid PostgreSQL URL ({why}); expected \
                 postgres://user:pass@host:port/db",
                shown_full
            ))
        };
        let url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        let decode = |v: &str| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("the user or password is not UTF-8"))
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let user = match url.username() {
            "" => "postgres".to_string(),
            u => decode(u)?,
        };
        let password = url.password().map(decode).transpose()?;
        let database = decode(url.path().trim_start_matches('/'))?;
        let mut out = PostgresUrl {
            user,
            password,
            host,
            port: url.port().unwrap_or(5432),
            database,
            sslmode: SslMode::Prefer,
            sslrootcert: None,
            connect_timeout: Duration::from_secs(CONNECT_SECS),
            read_timeout: Duration::from_secs(WAIT_SECS),
            write_timeout: Duration::from_secs(WAIT_SECS),
            statement_timeout: Duration::from_secs(STATEMENT_SECS),
            named,
            wait_named: [Wait::Connect, Wait::Read, Wait::Write].map(Wait::param),
            from_url: [false; 3],
            unusable: None,
            shown: String::new(),
        };
        for (k, v) in url.query_pairs() {
            let secs = || match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
                _ => Err(bad(&format!("{k}={v} is not a number of seconds above 0"))),
            };
            match k.as_ref() {
                "sslmode" => {
                    out.sslmode = SslMode::ALL
                        .iter()
                        .find(|(n, _)| *n == v)
                        .map(|(_, m)| *m)
                        .ok_or_else(|| {
                            bad(&format!(
                                "sslmode={v}; expected disable, prefer, require, verify-ca or verify-full"
                            ))
                        })?
                }
                "sslrootcert" => out.sslrootcert = Some(PathBuf::from(v.as_ref())),
                "connect_timeout" => {
                    out.connect_timeout = secs()?;
                    out.from_url[Wait::Connect.index()] = true;
                }
                "read_timeout" => {
                    out.read_timeout = secs()?;
                    out.from_url[Wait::Read.index()] = true;
                }
                "write_timeout" => {
                    out.write_timeout = secs()?;
                    out.from_url[Wait::Write.index()] = true;
                }
                "statement_timeout" => out.statement_timeout = secs()?,
                other => return Err(bad(&format!("unknown parameter '{other}'"))),
            }
        }
        if out.database.is_empty() {
            return Err(Error::config(format!(
                "{named} '{shown_full}' names no database; expected postgres://user:pass@host:port/db"
            )));
        }
        let mut shown = url.clone();
        shown.set_query(None);
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        out.shown = shown
            .to_string()
            .replacen("postgresql://", "postgres://", 1);
        Ok(out)
    }

    /// Sets `wait` from the setting `named` (whole seconds), unless the URL set it; `named`
    /// is what messages about that wait name.
    pub fn setting(&mut self, wait: Wait, named: &'static str, value: Option<&str>) {
        self.wait_named[wait.index()] = named;
        let Some(value) = value.filter(|_| !self.from_url[wait.index()]) else {
            return;
        };
        match value.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => *self.limit_mut(wait) = Duration::from_secs(secs),
            _ => {
                if self.unusable.is_none() {
                    self.unusable = Some((wait, value.to_string()));
                }
            }
        }
    }

    fn limit_mut(&mut self, wait: Wait) -> &mut Duration {
        match wait {
            Wait::Connect => &mut self.connect_timeout,
            Wait::Read => &mut self.read_timeout,
            Wait::Write => &mut self.write_timeout,
        }
    }

    /// How long `wait` lasts, and what sets it (named in messages).
    pub fn limit(&self, wait: Wait) -> (Duration, &'static str) {
        let limit = match wait {
            Wait::Connect => self.connect_timeout,
            Wait::Read => self.read_timeout,
            Wait::Write => self.write_timeout,
        };
        (limit, self.wait_named[wait.index()])
    }

    /// Fails naming the setting whose value is not usable.
    pub fn check_settings(&self) -> Result<()> {
        match &self.unusable {
            None => Ok(()),
            Some((wait, value)) => Err(Error::config(format!(
                "PostgreSQL {} '{value}' ({}) is not usable; expected whole seconds above 0",
                wait.param(),
                self.wait_named[wait.index()]
            ))),
        }
    }

    /// The URL without its password or parameters, as messages show it.
    pub fn shown(&self) -> String {
        self.shown.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_is_read_and_shown_without_its_password() {
        let u = PostgresUrl::parse(
            "postgresql://apr:s%3Acret@db.example:6543/apr_site?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3&statement_timeout=90",
            "APR_DATABASE_URL",
        )
        .unwrap();
        assert_eq!(
            (
                u.user.as_str(),
                u.password.as_deref(),
                u.host.as_str(),
                u.port
            ),
            ("apr", Some("s:cret"), "db.example", 6543)
        );
        assert_eq!(u.database, "apr_site");
        assert_eq!(u.sslmode, SslMode::VerifyFull);
        assert_eq!(u.sslrootcert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(u.connect_timeout, Duration::from_secs(3));
        assert_eq!(u.statement_timeout, Duration::from_secs(90));
        assert_eq!(u.shown(), "postgres://apr:***@db.example:6543/apr_site");
    }

    #[test]
    fn a_setting_sets_a_wait_unless_the_url_does() {
        let mut u = PostgresUrl::parse("postgres://h/db?read_timeout=7", "URL").unwrap();
        u.setting(Wait::Read, "READ", Some("3"));
        u.setting(Wait::Write, "WRITE", Some("4"));
        u.setting(Wait::Connect, "CONNECT", None);
        assert_eq!(u.limit(Wait::Read), (Duration::from_secs(7), "READ"));
        assert_eq!(u.limit(Wait::Write), (Duration::from_secs(4), "WRITE"));
        assert_eq!(
            u.limit(Wait::Connect),
            (Duration::from_secs(CONNECT_SECS), "CONNECT")
        );
        assert!(u.check_settings().is_ok());
        u.setting(Wait::Connect, "CONNECT", Some("soon"));
        let e = u.check_settings().unwrap_err().to_string();
        assert!(e.contains("'soon' (CONNECT)"), "{e}");
    }

    #[test]
    fn defaults_are_libpq_s() {
        let u = PostgresUrl::parse("postgres://h/db", "URL").unwrap();
        assert_eq!((u.user.as_str(), u.port), ("postgres", 5432));
        assert_eq!(u.sslmode, SslMode::Prefer);
        assert_eq!(u.statement_timeout, Duration::from_secs(STATEMENT_SECS));
        assert_eq!(u.shown(), "postgres://h/db");
    }

    #[test]
    fn bad_urls_are_one_line_without_the_password() {
        let err = |s: &str| PostgresUrl::parse(s, "URL").unwrap_err().to_string();
        let e = err("postgres://u:secret@h/db?sslmode=maybe");
        assert!(
            e.starts_with("URL 'postgres://u:***@h/db?sslmode=maybe' is not a valid PostgreSQL URL (sslmode=maybe; expected disable")
                && !e.contains("secret"),
            "{e}"
        );
        let e = err("postgres://u:secret@h/");
        assert!(
            e.contains("names no database") && !e.contains("secret"),
            "{e}"
        );
        assert!(err("postgres://h/db?statement_timeout=0").contains("statement_timeout=0"));
        assert!(err("postgres://h/db?pool=3").contains("unknown parameter 'pool'"));
        assert!(err("postgres://h/db?read_timeout=x").contains("read_timeout=x"));
        assert!(err("postgres://h:99999/db").contains("not a valid PostgreSQL URL"));
    }
}
