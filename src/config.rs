//! Configuration shared by every subcommand (SPEC §2): the settings the CLI reads once from
//! the environment and `.env`, and the report time zone, recorded in the database by the
//! first run that commits data so that two zones' hour buckets never mix in one table.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::hours::Zone;
use crate::store::Store;

/// How a command uses the report zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneUse {
    /// Reads only (report, serve): never records a zone.
    Read,
    /// Loads or aggregates: records the zone on first use.
    Write,
    /// `aggregate --rebuild` or `init-load`: an explicit `--timezone` may replace the
    /// recorded zone, since every zone-dependent row is rebuilt.
    Replace,
}

/// The zone the user asked for, and where the request came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZoneChoice {
    /// `--timezone`.
    pub flag: Option<String>,
    /// `APR_TIMEZONE` (environment or `.env`).
    pub env: Option<String>,
}

impl ZoneChoice {
    /// The flag's value beside `APR_TIMEZONE` from the settings.
    pub fn new(flag: Option<String>, settings: &Settings) -> ZoneChoice {
        ZoneChoice {
            flag: flag.filter(|s| !s.trim().is_empty()),
            env: settings.get("APR_TIMEZONE").map(String::from),
        }
    }

    /// The configured zone (flag, else environment), validated; `None` when neither is set.
    pub fn parse(&self) -> Result<Option<Zone>> {
        match self.configured() {
            Some((name, source)) => Zone::parse(name)
                .map(Some)
                .map_err(|e| Error::config(format!("{source}: {e}"))),
            None => Ok(None),
        }
    }

    fn configured(&self) -> Option<(&str, &'static str)> {
        self.flag
            .as_deref()
            .map(|z| (z, "--timezone"))
            .or_else(|| self.env.as_deref().map(|z| (z, "APR_TIMEZONE")))
    }
}

/// Resolves the report zone against the one recorded in the database.
///
/// No zone configured: the recorded one, else the system's. A configured zone that differs
/// from the recorded one is refused, unless `usage` is [`ZoneUse::Replace`] and the zone was
/// given with `--timezone`. A writing command's zone is recorded by its first commit
/// ([`Store::record_zone`]), never here.
pub fn resolve_zone(store: &mut dyn Store, choice: &ZoneChoice, usage: ZoneUse) -> Result<Zone> {
    let recorded = store.meta("timezone")?;
    let configured = match choice.configured() {
        Some((name, source)) => Some((
            Zone::parse(name).map_err(|e| Error::config(format!("{source}: {e}")))?,
            source,
        )),
        None => None,
    };
    let zone = match (&recorded, configured) {
        (None, Some((z, _))) => z,
        (None, None) => Zone::system(),
        (Some(r), None) => Zone::parse(r)?,
        (Some(r), Some((z, _))) if z.name() == r.as_str() => z,
        (Some(_), Some((z, "--timezone"))) if usage == ZoneUse::Replace => {
            store.record_zone(z.name(), true);
            return Ok(z);
        }
        (Some(r), Some((z, source))) => {
            return Err(Error::config(format!(
                "the database's report time zone is {r} but {source} is {}; hours of two zones must not mix. \
                 Use {r}, or switch with 'apr aggregate --rebuild --timezone {}'",
                z.name(),
                z.name()
            )));
        }
    };
    if recorded.is_none() && usage != ZoneUse::Read {
        store.record_zone(zone.name(), false);
    }
    Ok(zone)
}

/// The settings of SPEC §2 (`APR_*` variables), read once by the CLI from the environment
/// and `.env`; the library reads no environment itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    vars: HashMap<String, String>,
}

impl Settings {
    /// Keeps the `APR_*` variables among `vars`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Settings {
        Settings {
            vars: vars
                .into_iter()
                .filter(|(k, _)| k.starts_with("APR_"))
                .collect(),
        }
    }

    /// A setting's trimmed value; unset and empty are the same.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A required setting, with a one-line error naming it.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::config(format!(
                "{name} is not set; set it in .env or the environment (see README, Configuration)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        (dir, s)
    }

    fn choice(flag: Option<&str>, env: Option<&str>) -> ZoneChoice {
        ZoneChoice {
            flag: flag.map(String::from),
            env: env.map(String::from),
        }
    }

    #[test]
    fn first_write_records_the_zone_and_later_runs_inherit_it() {
        let (_d, mut s) = store();
        let z = resolve_zone(&mut s, &choice(None, Some("Asia/Kolkata")), ZoneUse::Write).unwrap();
        assert_eq!(z.name(), "Asia/Kolkata");
        // Recorded by the first commit, not by resolving.
        assert_eq!(s.meta("timezone").unwrap(), None);
        s.replace_activity(0, 3600, &[], &[]).unwrap();
        assert_eq!(s.meta("timezone").unwrap().as_deref(), Some("Asia/Kolkata"));
        let z = resolve_zone(&mut s, &choice(None, None), ZoneUse::Read).unwrap();
        assert_eq!(z.name(), "Asia/Kolkata");
    }

    #[test]
    fn reads_do_not_record() {
        let (_d, mut s) = store();
        resolve_zone(&mut s, &choice(Some("Asia/Dubai"), None), ZoneUse::Read).unwrap();
        assert_eq!(s.meta("timezone").unwrap(), None);
    }

    #[test]
    fn a_different_zone_is_refused_naming_both() {
        let (_d, mut s) = store();
        s.set_meta("timezone", "Asia/Kolkata").unwrap();
        let e = resolve_zone(
            &mut s,
            &choice(None, Some("Europe/London")),
            ZoneUse::Replace,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("Asia/Kolkata") && msg.contains("Europe/London"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), 2);
        // From the environment even Replace refuses; only an explicit flag switches.
        let z = resolve_zone(
            &mut s,
            &choice(Some("Europe/London"), None),
            ZoneUse::Replace,
        )
        .unwrap();
        assert_eq!(z.name(), "Europe/London");
        s.replace_activity(0, 3600, &[], &[]).unwrap();
        assert_eq!(
            s.meta("timezone").unwrap().as_deref(),
            Some("Europe/London")
        );
    }

    #[test]
    fn bad_zone_names_its_source() {
        let (_d, mut s) = store();
        let e = resolve_zone(&mut s, &choice(None, Some("Nowhere/Land")), ZoneUse::Write)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("APR_TIMEZONE") && e.contains("Nowhere/Land"),
            "{e}"
        );
    }
}
