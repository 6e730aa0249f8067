//! A MySQL/MariaDB database as configured: the URL the driver reads, and how long apr waits
//! on the server (issue 15.4: a frozen server used to hang every command). Each wait is set
//! per database in the URL (`?connect_timeout=10&read_timeout=120&write_timeout=120`,
//! seconds; apr's own parameters, taken out before the driver reads the URL) or by a setting
//! the caller names and fills in ([`MysqlUrl::setting`]); the URL's own word wins.

use std::time::Duration;

use crate::error::{Error, Result, redact_url};

/// One of apr's waits on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Establishing the connection: TCP, the handshake and the login, as a whole.
    Connect,
    /// Any one wait for the server's answer: the longest a single statement may run.
    Read,
    /// Any one wait for the server to take what apr sends.
    Write,
}

impl Wait {
    const ALL: [Wait; 3] = [Wait::Connect, Wait::Read, Wait::Write];

    /// The URL parameter that sets it.
    fn param(self) -> &'static str {
        match self {
            Wait::Connect => "connect_timeout",
            Wait::Read => "read_timeout",
            Wait::Write => "write_timeout",
        }
    }

    fn default_secs(self) -> u64 {
        match self {
            Wait::Connect => 10,
            // A frozen server ends a command within about a minute: a cron job every 10
            // minutes (collect) is over well before the next tick, while the longest
            // statement apr sends at the reference scale (SPEC §8) takes a few seconds.
            Wait::Read | Wait::Write => 60,
        }
    }

    fn of_param(param: &str) -> Option<Wait> {
        Wait::ALL.into_iter().find(|w| w.param() == param)
    }
}

/// The write lease's period when no setting gives one: a killed collector on one server of
/// a cluster holds the others back this long at most, while a live one renews it every
/// third of it (a beat missed to a slow server is caught up at the next).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long one wait lasts, and what sets it besides the URL (named in its messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout {
    pub limit: Duration,
    /// The setting that sets it outside the URL, as the caller named it; the URL parameter
    /// until a caller does.
    pub named: &'static str,
    /// Whether the URL set it (a setting then leaves it alone).
    from_url: bool,
}

/// The three waits of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Timeout,
    pub read: Timeout,
    pub write: Timeout,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        let of = |w: Wait| Timeout {
            limit: Duration::from_secs(w.default_secs()),
            named: w.param(),
            from_url: false,
        };
        Timeouts {
            connect: of(Wait::Connect),
            read: of(Wait::Read),
            write: of(Wait::Write),
        }
    }
}

impl Timeouts {
    fn get_mut(&mut self, w: Wait) -> &mut Timeout {
        match w {
            Wait::Connect => &mut self.connect,
            Wait::Read => &mut self.read,
            Wait::Write => &mut self.write,
        }
    }
}

/// A MySQL/MariaDB database: the URL the driver reads (apr's timeout parameters taken out)
/// and the waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlUrl {
    driver: String,
    /// What the URL was given as, named in messages about it.
    pub named: &'static str,
    pub timeouts: Timeouts,
    /// How long the write lease lasts unless renewed (see `lease`): the longest a killed
    /// holder keeps another server of a Galera cluster from writing, and the longest a
    /// holder may go without reaching the server before it loses the lease.
    pub lease: Duration,
    /// The lease period given as something other than whole seconds above 0, with the
    /// setting that gave it: connecting fails on it.
    lease_unusable: Option<(&'static str, String)>,
    /// The first wait given a value that is not whole seconds above 0 (in the order the URL,
    /// then the settings, gave them), with that value: connecting fails on it, so that only
    /// a command that connects fails.
    unusable: Option<(Wait, String)>,
}

impl MysqlUrl {
    /// Splits apr's timeout parameters off `url` (`mysql://user:pass@host:port/db?...`);
    /// `named` is what the URL was given as.
    pub fn parse(url: &str, named: &'static str) -> MysqlUrl {
        let mut out = MysqlUrl {
            driver: url.to_string(),
            named,
            timeouts: Timeouts::default(),
            lease: DEFAULT_LEASE,
            lease_unusable: None,
            unusable: None,
        };
        let Some((base, query)) = url.split_once('?') else {
            return out;
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match Wait::of_param(k) {
                Some(wait) => {
                    out.give(wait, v);
                    out.timeouts.get_mut(wait).from_url = true;
                }
                None => kept.push(pair),
            }
        }
        out.driver = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        out
    }

    /// Names the setting that sets `wait` outside the URL, and applies its value (if any)
    /// unless the URL set that wait.
    pub fn setting(&mut self, wait: Wait, named: &'static str, value: Option<&str>) {
        let t = self.timeouts.get_mut(wait);
        t.named = named;
        if let (Some(v), false) = (value, t.from_url) {
            self.give(wait, v);
        }
    }

    /// Applies the lease period `value` (whole seconds above 0) of the setting `named`.
    pub fn lease_setting(&mut self, named: &'static str, value: Option<&str>) {
        match value.map(str::parse::<u64>) {
            None => {}
            Some(Ok(secs)) if secs > 0 => self.lease = Duration::from_secs(secs),
            Some(_) => self.lease_unusable = Some((named, value.unwrap_or("").to_string())),
        }
    }

    fn give(&mut self, wait: Wait, value: &str) {
        match value.parse::<u64>() {
            Ok(secs) if secs > 0 => self.timeouts.get_mut(wait).limit = Duration::from_secs(secs),
            _ => {
                if self.unusable.is_none() {
                    self.unusable = Some((wait, value.to_string()));
                }
            }
        }
    }

    /// The URL the driver reads, once every wait is usable.
    pub(super) fn driver(&self) -> Result<&str> {
        if let Some((wait, value)) = &self.unusable {
            return Err(Error::config(format!(
                "MySQL {} '{value}' ({} or {}) is not usable; expected whole seconds above 0",
                wait.param(),
                self.named,
                self.timeouts.get(*wait).named
            )));
        }
        if let Some((named, value)) = &self.lease_unusable {
            return Err(Error::config(format!(
                "{named} '{value}' is not usable; expected whole seconds above 0"
            )));
        }
        Ok(&self.driver)
    }

    /// The database as shown to people: the URL without its password or apr's parameters.
    pub fn shown(&self) -> String {
        redact_url(&self.driver)
    }
}

impl Timeouts {
    pub(super) fn get(&self, w: Wait) -> &Timeout {
        match w {
            Wait::Connect => &self.connect,
            Wait::Read => &self.read,
            Wait::Write => &self.write,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: &Timeouts) -> (u64, u64, u64) {
        (
            t.connect.limit.as_secs(),
            t.read.limit.as_secs(),
            t.write.limit.as_secs(),
        )
    }

    #[test]
    fn timeouts_come_from_the_url_and_leave_it_to_the_driver() {
        let url = MysqlUrl::parse("mysql://u:p@h:3306/db", "URL");
        assert_eq!(url.driver().unwrap(), "mysql://u:p@h:3306/db");
        assert_eq!(url.timeouts, Timeouts::default());
        assert_eq!(secs(&url.timeouts), (10, 60, 60));
        let url = MysqlUrl::parse(
            "mysql://u:p@h/db?read_timeout=5&prefer_socket=false&connect_timeout=2&write_timeout=7",
            "URL",
        );
        assert_eq!(
            url.driver().unwrap(),
            "mysql://u:p@h/db?prefer_socket=false"
        );
        assert_eq!(url.shown(), "mysql://u:***@h/db?prefer_socket=false");
        assert_eq!(secs(&url.timeouts), (2, 5, 7));
    }

    #[test]
    fn a_setting_fills_what_the_url_leaves_and_names_itself() {
        let mut url = MysqlUrl::parse("mysql://u@h/db?read_timeout=9", "URL");
        url.setting(Wait::Read, "READ_SETTING", Some("5"));
        url.setting(Wait::Write, "WRITE_SETTING", Some("6"));
        url.setting(Wait::Connect, "CONNECT_SETTING", None);
        assert_eq!(secs(&url.timeouts), (10, 9, 6));
        assert_eq!(url.timeouts.read.named, "READ_SETTING");
        assert_eq!(url.timeouts.connect.named, "CONNECT_SETTING");
    }

    #[test]
    fn an_unusable_wait_fails_the_connection_naming_where_it_came_from() {
        let url = MysqlUrl::parse("mysql://u@h/db?read_timeout=0", "URL");
        let mut set = url.clone();
        set.setting(Wait::Read, "READ_SETTING", Some("5"));
        let e = set.driver().unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "MySQL read_timeout '0' (URL or READ_SETTING) is not usable; expected whole seconds above 0"
        );
        let mut bad = MysqlUrl::parse("mysql://u@h/db", "URL");
        bad.setting(Wait::Write, "WRITE_SETTING", Some("x"));
        bad.setting(Wait::Connect, "CONNECT_SETTING", Some("-1"));
        let mut lease = MysqlUrl::parse("mysql://u@h/db", "URL");
        assert_eq!(lease.lease, DEFAULT_LEASE);
        lease.lease_setting("LEASE_SETTING", Some("7"));
        assert_eq!(lease.lease, Duration::from_secs(7));
        lease.lease_setting("LEASE_SETTING", Some("0"));
        assert_eq!(
            lease.driver().unwrap_err().to_string(),
            "LEASE_SETTING '0' is not usable; expected whole seconds above 0"
        );
        assert_eq!(
            bad.driver().unwrap_err().to_string(),
            "MySQL write_timeout 'x' (URL or WRITE_SETTING) is not usable; expected whole seconds above 0"
        );
    }
}
