//! The report zone of a command against the one recorded in the database: the decision is
//! [`crate::config::decide_zone`]'s; this reads the recorded zone and hands the decision to
//! the store, which records it with the command's first commit.

use crate::config::{ZoneChoice, ZoneRecord, ZoneUse, decide_zone};
use crate::error::Result;
use crate::hours::Zone;
use crate::store::Store;

/// Resolves the report zone against the one recorded in `store` (see
/// [`decide_zone`]). A writing command's zone is recorded by its first commit
/// ([`Store::record_zone`]), never here.
pub fn resolve_zone(store: &mut dyn Store, choice: &ZoneChoice, usage: ZoneUse) -> Result<Zone> {
    let recorded = store.meta("timezone")?;
    let decision = decide_zone(recorded.as_deref(), choice, usage)?;
    match decision.record {
        ZoneRecord::Keep => {}
        ZoneRecord::New => store.record_zone(decision.zone.name(), false),
        ZoneRecord::Replace => store.record_zone(decision.zone.name(), true),
    }
    Ok(decision.zone)
}

/// The zone of a command that may find no database yet (`store` is `None`): resolved
/// against the recorded zone where there is one, else the configured zone or the system's.
pub fn zone_for(
    store: Option<&mut dyn Store>,
    choice: &ZoneChoice,
    usage: ZoneUse,
) -> Result<Zone> {
    match store {
        Some(s) => resolve_zone(s, choice, usage),
        None => Ok(choice.parse()?.unwrap_or_else(Zone::system)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NamedValue;
    use crate::store::sqlite::SqliteStore;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        (dir, s)
    }

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
    fn without_a_database_the_configured_zone_or_the_system_s() {
        let z = zone_for(None, &choice(None, Some("Asia/Dubai")), ZoneUse::Write).unwrap();
        assert_eq!(z.name(), "Asia/Dubai");
        let z = zone_for(None, &choice(None, None), ZoneUse::Write).unwrap();
        assert_eq!(z, Zone::system());
        let (_d, mut s) = store();
        s.set_meta("timezone", "Asia/Kolkata").unwrap();
        let z = zone_for(Some(&mut s), &choice(None, None), ZoneUse::Read).unwrap();
        assert_eq!(z.name(), "Asia/Kolkata");
    }

    #[test]
    fn reads_do_not_record() {
        let (_d, mut s) = store();
        resolve_zone(&mut s, &choice(Some("Asia/Dubai"), None), ZoneUse::Read).unwrap();
        s.replace_activity(0, 3600, &[], &[]).unwrap();
        assert_eq!(s.meta("timezone").unwrap(), None);
    }

    #[test]
    fn a_flag_with_replace_switches_the_recorded_zone_at_the_next_commit() {
        let (_d, mut s) = store();
        s.set_meta("timezone", "Asia/Kolkata").unwrap();
        let e = resolve_zone(
            &mut s,
            &choice(None, Some("Europe/London")),
            ZoneUse::Replace,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
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
}
