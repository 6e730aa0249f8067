//! The report time zone a command asks for (SPEC §2), and the rule that decides it against
//! the zone recorded in the database, so that two zones' hour buckets never mix in one
//! table. Pure: reading and recording the zone is [`crate::ops::zone::resolve_zone`]'s, and
//! which setting holds the zone is the CLI's business (it passes the setting's name).

use crate::error::{Error, Result};
use crate::hours::Zone;

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

/// A setting's value beside the name errors call it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedValue {
    pub name: &'static str,
    pub value: String,
}

/// The zone the user asked for, and where the request came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZoneChoice {
    /// `--timezone`.
    pub flag: Option<String>,
    /// The zone setting (environment or `.env`), with its name.
    pub env: Option<NamedValue>,
}

/// Where a configured zone came from: only the flag may switch a recorded zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Flag,
    Setting(&'static str),
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Origin::Flag => "--timezone",
            Origin::Setting(name) => name,
        }
    }
}

impl ZoneChoice {
    /// The configured zone (flag, else environment), validated; `None` when neither is set.
    pub fn parse(&self) -> Result<Option<Zone>> {
        self.configured()
            .map(|(name, origin)| parse_from(name, origin))
            .transpose()
    }

    fn configured(&self) -> Option<(&str, Origin)> {
        self.flag
            .as_deref()
            .filter(|z| !z.trim().is_empty())
            .map(|z| (z, Origin::Flag))
            .or_else(|| {
                self.env
                    .as_ref()
                    .map(|e| (e.value.as_str(), Origin::Setting(e.name)))
            })
    }
}

fn parse_from(name: &str, origin: Origin) -> Result<Zone> {
    Zone::parse(name).map_err(|e| Error::config(format!("{}: {e}", origin.label())))
}

/// What becomes of the recorded zone when the command's first commit lands
/// ([`crate::store::Store::record_zone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneRecord {
    /// Nothing: the recorded zone stands, or the command only reads.
    Keep,
    /// No zone is recorded yet: record this one.
    New,
    /// Replace the recorded zone (`--timezone` with [`ZoneUse::Replace`]).
    Replace,
}

/// The zone a command works in, and what its first commit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneDecision {
    pub zone: Zone,
    pub record: ZoneRecord,
}

/// Decides the report zone against `recorded`, the zone the database holds.
///
/// No zone configured: the recorded one, else the system's. A configured zone that differs
/// from the recorded one is refused, unless `usage` is [`ZoneUse::Replace`] and the zone was
/// given with `--timezone`.
pub fn decide_zone(
    recorded: Option<&str>,
    choice: &ZoneChoice,
    usage: ZoneUse,
) -> Result<ZoneDecision> {
    let configured = match choice.configured() {
        Some((name, origin)) => Some((parse_from(name, origin)?, origin)),
        None => None,
    };
    let zone = match (recorded, configured) {
        (None, Some((z, _))) => z,
        (None, None) => Zone::system(),
        (Some(r), None) => Zone::parse(r)?,
        (Some(r), Some((z, _))) if z.name() == r => z,
        (Some(_), Some((z, Origin::Flag))) if usage == ZoneUse::Replace => {
            return Ok(ZoneDecision {
                zone: z,
                record: ZoneRecord::Replace,
            });
        }
        (Some(r), Some((z, origin))) => {
            return Err(Error::config(format!(
                "the database's report time zone is {r} but {} is {}; hours of two zones must not mix. \
                 Use {r}, or switch with 'apr aggregate --rebuild --timezone {}'",
                origin.label(),
                z.name(),
                z.name()
            )));
        }
    };
    let record = if recorded.is_none() && usage != ZoneUse::Read {
        ZoneRecord::New
    } else {
        ZoneRecord::Keep
    };
    Ok(ZoneDecision { zone, record })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(flag: Option<&str>, env: Option<&str>) -> ZoneChoice {
        ZoneChoice {
            flag: flag.map(String::from),
            env: env.map(|v| NamedValue {
                name: "APR_TIMEZONE",
                value: v.into(),
            }),
        }
    }

    #[test]
    fn the_first_writer_records_and_readers_never_do() {
        let env = choice(None, Some("Asia/Kolkata"));
        let d = decide_zone(None, &env, ZoneUse::Write).unwrap();
        assert_eq!((d.zone.name(), d.record), ("Asia/Kolkata", ZoneRecord::New));
        let d = decide_zone(None, &env, ZoneUse::Read).unwrap();
        assert_eq!(d.record, ZoneRecord::Keep);
        let d = decide_zone(Some("Asia/Kolkata"), &choice(None, None), ZoneUse::Write).unwrap();
        assert_eq!(
            (d.zone.name(), d.record),
            ("Asia/Kolkata", ZoneRecord::Keep)
        );
    }

    #[test]
    fn a_blank_flag_is_no_flag() {
        let d = decide_zone(None, &choice(Some("  "), Some("Asia/Dubai")), ZoneUse::Read).unwrap();
        assert_eq!(d.zone.name(), "Asia/Dubai");
    }

    #[test]
    fn only_the_flag_replaces_a_recorded_zone() {
        let e = decide_zone(
            Some("Asia/Kolkata"),
            &choice(None, Some("Europe/London")),
            ZoneUse::Replace,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("Asia/Kolkata") && msg.contains("but APR_TIMEZONE is Europe/London"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), 2);
        let d = decide_zone(
            Some("Asia/Kolkata"),
            &choice(Some("Europe/London"), None),
            ZoneUse::Replace,
        )
        .unwrap();
        assert_eq!(
            (d.zone.name(), d.record),
            ("Europe/London", ZoneRecord::Replace)
        );
        assert!(
            decide_zone(
                Some("Asia/Kolkata"),
                &choice(Some("Europe/London"), None),
                ZoneUse::Write
            )
            .is_err()
        );
    }

    #[test]
    fn a_bad_zone_names_the_setting_it_came_from() {
        let bad = choice(None, Some("Nowhere/Land"));
        for e in [
            decide_zone(None, &bad, ZoneUse::Write).unwrap_err(),
            bad.parse().unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(
                e.starts_with("APR_TIMEZONE") && e.contains("Nowhere/Land"),
                "{e}"
            );
        }
        let e = choice(Some("Nowhere/Land"), None).parse().unwrap_err();
        assert!(e.to_string().starts_with("--timezone:"), "{e}");
    }
}
