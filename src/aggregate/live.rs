//! The floor now (SPEC §13): an agent's effective state at its source's data-until instant
//! and since when, from the events the aggregation's last batch holds. The state is walked
//! from an empty set over the carry window before the hour in progress (as the hour's row
//! carries it, §5.1), so the same stored events give the same state however the hours were
//! aggregated.

use super::categories::Category;
use super::timeline::{ActiveStates, Effective, EventKind};

/// One event as the walk needs it: the timeline's fields and the not-available reason.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub ts: i64,
    pub kind: EventKind,
    pub enabled: bool,
    pub category: Category,
    pub reason: &'a str,
}

/// The state now: `(state, reason, since)`, the state named as `agent_live` stores it.
/// `None` when no event changed anything (nothing to show).
pub fn live_state<'a>(
    steps: impl IntoIterator<Item = Step<'a>>,
) -> Option<(&'static str, String, i64)> {
    let mut set = ActiveStates::default();
    let mut reason = String::new();
    let mut now: Option<(&'static str, String, i64)> = None;
    for s in steps {
        set.apply(s.kind, s.enabled, s.category);
        if s.kind == EventKind::NotAvail && s.enabled {
            reason = s.reason.trim().to_string();
        }
        let (state, why) = label(set.effective(), &reason);
        if now
            .as_ref()
            .is_none_or(|(st, r, _)| *st != state || *r != why)
        {
            now = Some((state, why, s.ts));
        }
    }
    now
}

/// `agent_live`'s name of an effective state, and the reason shown with it.
fn label(e: Effective, reason: &str) -> (&'static str, String) {
    match e {
        Effective::Hold => ("hold", String::new()),
        Effective::OnCall => ("on_call", String::new()),
        Effective::WrapUp => ("wrap_up", String::new()),
        Effective::NotAvail(Category::Logoff) | Effective::Offline => ("logged_off", String::new()),
        Effective::NotAvail(_) => ("not_avail", reason.to_string()),
        Effective::Idle => ("idle", String::new()),
        Effective::Unaccounted => ("unaccounted", String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(ts: i64, kind: EventKind, enabled: bool, reason: &str) -> Step<'_> {
        let category = match reason {
            "lunch" => Category::Lunch,
            "Logoff" => Category::Logoff,
            _ => Category::Other,
        };
        Step {
            ts,
            kind,
            enabled,
            category,
            reason,
        }
    }

    #[test]
    fn the_state_now_began_at_its_last_change() {
        use EventKind::*;
        let steps = [
            step(10, Idle, true, "none"),
            step(20, OnCall, true, "none"),
            step(20, Idle, false, "none"),
            step(80, OnCall, false, "none"),
            step(80, Idle, true, "none"),
            // Starting the same state again changes nothing.
            step(90, Idle, true, "none"),
        ];
        assert_eq!(live_state(steps), Some(("idle", String::new(), 80)));
        assert_eq!(
            live_state(steps[..3].iter().copied()),
            Some(("on_call", String::new(), 20))
        );
        assert_eq!(live_state([]), None);
    }

    #[test]
    fn breaks_carry_their_reason_and_a_logoff_is_logged_off() {
        use EventKind::*;
        let steps = [
            step(10, Idle, true, "none"),
            step(30, NotAvail, true, "lunch"),
            step(50, NotAvail, true, "Tea Break"),
        ];
        assert_eq!(
            live_state(steps[..2].iter().copied()),
            Some(("not_avail", "lunch".into(), 30))
        );
        // Another reason is another stint.
        assert_eq!(
            live_state(steps),
            Some(("not_avail", "Tea Break".into(), 50))
        );
        let off = [
            step(10, Idle, true, "none"),
            step(60, NotAvail, true, "Logoff"),
        ];
        assert_eq!(live_state(off), Some(("logged_off", String::new(), 60)));
        let unreg = [step(10, Idle, true, "none"), step(70, Reg, false, "none")];
        assert_eq!(live_state(unreg), Some(("logged_off", String::new(), 70)));
    }
}
