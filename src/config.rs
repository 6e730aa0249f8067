//! Configuration shared by every subcommand (SPEC §2): the database URL and the report time
//! zone, with the zone recorded in the database on first use so that two zones' hour
//! buckets never mix in one table.

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
    /// Reads `APR_TIMEZONE` beside the flag's value.
    pub fn from_env(flag: Option<String>) -> ZoneChoice {
        ZoneChoice {
            flag: flag.filter(|s| !s.trim().is_empty()),
            env: std::env::var("APR_TIMEZONE")
                .ok()
                .filter(|s| !s.trim().is_empty()),
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
/// given with `--timezone`.
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
            store.set_meta("timezone", z.name())?;
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
        store.set_meta("timezone", zone.name())?;
    }
    Ok(zone)
}

/// Reads a required setting from the environment (or `.env`), with a one-line error naming it.
pub fn required_env(name: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Error::config(format!(
            "{name} is not set; set it in .env or the environment (see README, Configuration)"
        ))),
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
        resolve_zone(&mut s, &choice(None, Some("Asia/Kolkata")), ZoneUse::Write).unwrap();
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
