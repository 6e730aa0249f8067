//! The per-agent state machine of SPEC §5.1: a set of active states, one per event type,
//! and the effective state that wins by precedence. Starts and ends of different types
//! commute, so the platform's habit of listing a new state's start before the old state's
//! end in the same second loses no time.

use super::categories::Category;

pub use crate::model::EventKind;

/// What an agent is doing at an instant, after precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effective {
    Hold,
    OnCall,
    WrapUp,
    NotAvail(Category),
    Idle,
    /// Offline (phone unregistered, or no event to carry): reported as Logoff.
    Offline,
    /// Nothing active and not offline: time the data does not explain.
    Unaccounted,
}

impl Effective {
    /// Whether this counts as Logoff for the row rule (§5.2) — offline or a Logoff reason.
    pub fn is_logged_off(self) -> bool {
        matches!(
            self,
            Effective::Offline | Effective::NotAvail(Category::Logoff)
        )
    }
}

/// The set of active states of one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActiveStates {
    idle: bool,
    on_call: bool,
    wrap_up: bool,
    hold: bool,
    not_avail: Option<Category>,
    offline: bool,
}

impl ActiveStates {
    /// An agent with nothing to carry into an hour: offline.
    pub fn offline() -> ActiveStates {
        ActiveStates {
            offline: true,
            ..ActiveStates::default()
        }
    }

    /// Applies one event. `category` is the not-available reason's category (ignored for
    /// other kinds).
    pub fn apply(&mut self, kind: EventKind, enabled: bool, category: Category) {
        match (kind, enabled) {
            (EventKind::Unknown, _) | (EventKind::Reg, true) => return,
            (EventKind::Reg, false) => {
                *self = ActiveStates::offline();
                return;
            }
            (_, true) => self.offline = false,
            (_, false) => {}
        }
        match kind {
            // An idle agent is on no call, in no wrap-up, on no break: an implicit end for
            // states whose end event was lost.
            EventKind::Idle if enabled => {
                *self = ActiveStates {
                    idle: true,
                    ..ActiveStates::default()
                }
            }
            EventKind::Idle => self.idle = false,
            EventKind::OnCall => self.on_call = enabled,
            EventKind::WrapUp => self.wrap_up = enabled,
            EventKind::Hold => self.hold = enabled,
            EventKind::NotAvail if enabled && category == Category::Logoff => {
                *self = ActiveStates {
                    not_avail: Some(Category::Logoff),
                    ..ActiveStates::default()
                }
            }
            EventKind::NotAvail if enabled => self.not_avail = Some(category),
            EventKind::NotAvail => self.not_avail = None,
            EventKind::Reg | EventKind::Unknown => {}
        }
    }

    /// The highest active state: hold > on call > wrap-up > not available > idle.
    pub fn effective(&self) -> Effective {
        if self.hold {
            Effective::Hold
        } else if self.on_call {
            Effective::OnCall
        } else if self.wrap_up {
            Effective::WrapUp
        } else if let Some(c) = self.not_avail {
            Effective::NotAvail(c)
        } else if self.idle {
            Effective::Idle
        } else if self.offline {
            Effective::Offline
        } else {
            Effective::Unaccounted
        }
    }
}

/// Whether applying this event leaves a state that does not depend on what came before it,
/// so that replaying a carry window may start from the latest such event.
pub fn is_reset(kind: EventKind, enabled: bool, category: Category) -> bool {
    match (kind, enabled) {
        (EventKind::Idle, true) | (EventKind::Reg, false) => true,
        (EventKind::NotAvail, true) => category == Category::Logoff,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind::*;
    use super::*;

    const NONE: Category = Category::Other;

    fn run(events: &[(EventKind, bool, Category)]) -> ActiveStates {
        let mut s = ActiveStates::default();
        for &(k, en, c) in events {
            s.apply(k, en, c);
        }
        s
    }

    #[test]
    fn precedence_hold_over_call_over_wrap_over_break_over_idle() {
        let s = run(&[
            (Idle, true, NONE),
            (NotAvail, true, Category::Lunch),
            (WrapUp, true, NONE),
            (OnCall, true, NONE),
            (Hold, true, NONE),
        ]);
        assert_eq!(s.effective(), Effective::Hold);
        let mut s2 = s;
        s2.apply(Hold, false, NONE);
        assert_eq!(s2.effective(), Effective::OnCall);
        s2.apply(OnCall, false, NONE);
        assert_eq!(s2.effective(), Effective::WrapUp);
        s2.apply(WrapUp, false, NONE);
        assert_eq!(s2.effective(), Effective::NotAvail(Category::Lunch));
    }

    #[test]
    fn start_before_end_in_the_same_second_commutes() {
        // The real platform lists agent_on_call start before agent_idle end.
        let quirk = run(&[
            (Idle, true, NONE),
            (OnCall, true, NONE),
            (Idle, false, NONE),
        ]);
        let tidy = run(&[
            (Idle, true, NONE),
            (Idle, false, NONE),
            (OnCall, true, NONE),
        ]);
        assert_eq!(quirk.effective(), Effective::OnCall);
        assert_eq!(quirk, tidy);
    }

    #[test]
    fn end_removes_the_type_whatever_its_state_text() {
        let s = run(&[(NotAvail, true, Category::Lunch), (NotAvail, false, NONE)]);
        assert_eq!(s.effective(), Effective::Unaccounted);
    }

    #[test]
    fn a_new_reason_replaces_the_active_one() {
        let s = run(&[
            (NotAvail, true, Category::Lunch),
            (NotAvail, true, Category::Tea),
        ]);
        assert_eq!(s.effective(), Effective::NotAvail(Category::Tea));
    }

    #[test]
    fn idle_start_clears_a_call_whose_end_was_lost() {
        let s = run(&[(OnCall, true, NONE), (Idle, true, NONE)]);
        assert_eq!(s.effective(), Effective::Idle);
    }

    #[test]
    fn logoff_reason_clears_everything_else() {
        let s = run(&[
            (OnCall, true, NONE),
            (WrapUp, true, NONE),
            (NotAvail, true, Category::Logoff),
        ]);
        assert_eq!(s.effective(), Effective::NotAvail(Category::Logoff));
        assert!(s.effective().is_logged_off());
    }

    #[test]
    fn unregistering_goes_offline_until_a_state_starts() {
        let mut s = run(&[(Idle, true, NONE), (Reg, false, NONE)]);
        assert_eq!(s.effective(), Effective::Offline);
        s.apply(Reg, true, NONE);
        assert_eq!(
            s.effective(),
            Effective::Offline,
            "registering alone changes nothing"
        );
        s.apply(OnCall, false, NONE);
        assert_eq!(s.effective(), Effective::Offline, "an end is not a start");
        s.apply(NotAvail, true, Category::Login);
        assert_eq!(s.effective(), Effective::NotAvail(Category::Login));
    }

    #[test]
    fn unknown_events_change_nothing() {
        let before = run(&[(WrapUp, true, NONE)]);
        let mut after = before;
        after.apply(Unknown, true, NONE);
        after.apply(Unknown, false, NONE);
        assert_eq!(before, after);
        assert_eq!(
            crate::model::EventType::parse("agent_parked").kind(),
            Unknown
        );
    }

    #[test]
    fn empty_set_is_unaccounted_unless_offline() {
        assert_eq!(ActiveStates::default().effective(), Effective::Unaccounted);
        assert_eq!(ActiveStates::offline().effective(), Effective::Offline);
    }

    #[test]
    fn reset_events_make_history_irrelevant() {
        let histories: [&[(EventKind, bool, Category)]; 3] = [
            &[],
            &[(OnCall, true, NONE), (Hold, true, NONE)],
            &[(Reg, false, NONE)],
        ];
        for reset in [
            (Idle, true, NONE),
            (Reg, false, NONE),
            (NotAvail, true, Category::Logoff),
        ] {
            assert!(is_reset(reset.0, reset.1, reset.2));
            let outcomes: Vec<ActiveStates> = histories
                .iter()
                .map(|h| {
                    let mut s = run(h);
                    s.apply(reset.0, reset.1, reset.2);
                    s
                })
                .collect();
            assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "{reset:?}");
        }
        assert!(!is_reset(NotAvail, true, Category::Lunch));
    }
}
