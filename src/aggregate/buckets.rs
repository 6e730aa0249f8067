//! One agent's local hours from its timeline (SPEC §5.1, §5.2): the state carried into each
//! hour, the seconds per bucket, the counts, and whether the agent gets a row at all. Pure:
//! the caller reads events and writes rows.

use super::categories::Category;
use super::timeline::{ActiveStates, Effective, EventKind, is_reset};
use crate::hours::HourBucket;
use crate::model::Buckets;

/// One event of one agent, in `(ts, id)` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedEvent {
    pub ts: i64,
    pub kind: EventKind,
    pub enabled: bool,
    /// The not-available reason's category (`Other` for other kinds).
    pub category: Category,
}

/// An agent's hour that qualifies for a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentHour {
    pub hour: HourBucket,
    pub buckets: Buckets,
    pub idle_count: i64,
    pub notavail_count: i64,
    pub covered_secs: i64,
    pub complete: bool,
    /// Indices of the events with `hour.start <= ts < hour.end` (for drill-down).
    pub events: std::ops::Range<usize>,
}

/// Adds `secs` of `state` to its bucket.
pub fn add(b: &mut Buckets, state: Effective, secs: i64) {
    let slot = match state {
        Effective::Hold => &mut b.hold,
        Effective::OnCall => &mut b.talk,
        Effective::WrapUp => &mut b.wrap_up,
        Effective::Idle => &mut b.idle,
        Effective::Offline => &mut b.logoff,
        Effective::Unaccounted => &mut b.unaccounted,
        Effective::NotAvail(c) => match c {
            Category::Login => &mut b.login,
            Category::Logoff => &mut b.logoff,
            Category::Dnd => &mut b.dnd,
            Category::Meeting => &mut b.meeting,
            Category::Training => &mut b.training,
            Category::Chat => &mut b.chat,
            Category::Tickets => &mut b.tickets,
            Category::Outbound => &mut b.outbound,
            Category::Lunch => &mut b.lunch,
            Category::Tea => &mut b.tea,
            Category::Bio => &mut b.bio,
            Category::Short => &mut b.short,
            Category::Other => &mut b.other,
        },
    };
    *slot += secs;
}

/// Computes the hours of one agent.
///
/// `events` are the agent's events in `(ts, id)` order, covering at least
/// `(first hour start - max_carry, last hour end)`. Hours at or after `data_until` are not
/// reported; the hour containing it is covered up to it. `has_calls(hour_start)` says
/// whether the agent had calls in that hour (which alone qualifies the hour for a row).
pub fn agent_hours(
    events: &[TimedEvent],
    hours: &[HourBucket],
    data_until: i64,
    max_carry: i64,
    has_calls: &dyn Fn(i64) -> bool,
) -> Vec<AgentHour> {
    let last_reset = last_resets(events);

    let mut out = Vec::new();
    for &hour in hours {
        let end = hour.end.min(data_until);
        if end <= hour.start {
            continue;
        }
        let mut buckets = Buckets::default();
        let walked = walk_hour(events, &last_reset, hour, end, max_carry, &mut |run| {
            add(&mut buckets, run.state, run.end - run.start)
        });
        let (entered, in_lo, in_hi) = (walked.entered, walked.in_lo, walked.in_hi);

        let in_hour = &events[in_lo..in_hi];
        let qualifies = !in_hour.is_empty()
            || !(entered.is_logged_off() || entered == Effective::Unaccounted)
            || has_calls(hour.start);
        if !qualifies {
            continue;
        }
        let count = |kind: EventKind| {
            in_hour
                .iter()
                .filter(|e| e.kind == kind && e.enabled)
                .count() as i64
        };
        out.push(AgentHour {
            hour,
            buckets,
            idle_count: count(EventKind::Idle),
            notavail_count: count(EventKind::NotAvail),
            covered_secs: end - hour.start,
            complete: hour.end <= data_until,
            events: in_lo..in_hi,
        });
    }
    out
}

/// `last_reset[i]`: the latest event at or before `i` after which history no longer matters.
fn last_resets(events: &[TimedEvent]) -> Vec<Option<usize>> {
    let mut last_reset = Vec::with_capacity(events.len());
    let mut latest = None;
    for (i, e) in events.iter().enumerate() {
        if is_reset(e.kind, e.enabled, e.category) {
            latest = Some(i);
        }
        last_reset.push(latest);
    }
    last_reset
}

/// A run of seconds `[start, end)` of one effective state within an hour. `not_avail` is
/// the index of the latest enabled not-available event applied (the run's reason when the
/// state is not available).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: i64,
    pub end: i64,
    pub state: Effective,
    pub not_avail: Option<usize>,
}

/// What [`walk_hour`] saw besides its runs.
struct Walked {
    /// The state carried into the hour.
    entered: Effective,
    /// The events with `hour.start <= ts < hour.end`.
    in_lo: usize,
    in_hi: usize,
}

/// Walks one hour up to `end` (`hour.start < end <= hour.end`): the carried set (the events
/// in `(start - max_carry, start]` applied to an empty set; none at all means offline), then
/// the hour's events, handing each run of seconds to `each`.
fn walk_hour(
    events: &[TimedEvent],
    last_reset: &[Option<usize>],
    hour: HourBucket,
    end: i64,
    max_carry: i64,
    each: &mut dyn FnMut(Run),
) -> Walked {
    let first_after = |t: i64| events.partition_point(|e| e.ts <= t);
    let first_at_or_after = |t: i64| events.partition_point(|e| e.ts < t);
    let lo = first_after(hour.start - max_carry);
    let hi = first_after(hour.start);
    let mut not_avail = None;
    let apply = |s: &mut ActiveStates, i: usize, not_avail: &mut Option<usize>| {
        let e = &events[i];
        s.apply(e.kind, e.enabled, e.category);
        if e.kind == EventKind::NotAvail && e.enabled {
            *not_avail = Some(i);
        }
    };
    let mut state = if lo == hi {
        ActiveStates::offline()
    } else {
        let from = match last_reset[hi - 1] {
            Some(r) if r >= lo => r,
            _ => lo,
        };
        let mut s = ActiveStates::default();
        for i in from..hi {
            apply(&mut s, i, &mut not_avail);
        }
        s
    };
    let entered = state.effective();
    let in_lo = first_at_or_after(hour.start);
    let in_hi = first_at_or_after(hour.end);
    let mut t = hour.start;
    // Events at exactly the hour's start were applied with the carry (zero seconds before).
    let first = hi.max(in_lo);
    for (i, e) in events.iter().enumerate().take(in_hi).skip(first) {
        let until = e.ts.min(end);
        if until > t {
            each(Run {
                start: t,
                end: until,
                state: state.effective(),
                not_avail,
            });
            t = until;
        }
        apply(&mut state, i, &mut not_avail);
    }
    if end > t {
        each(Run {
            start: t,
            end,
            state: state.effective(),
            not_avail,
        });
    }
    Walked {
        entered,
        in_lo,
        in_hi,
    }
}

/// The runs of the hours [`agent_hours`] gives a row (same arguments), in time order:
/// their seconds are those rows' seconds, bucket by bucket.
pub fn agent_runs(
    events: &[TimedEvent],
    hours: &[HourBucket],
    data_until: i64,
    max_carry: i64,
    has_calls: &dyn Fn(i64) -> bool,
) -> Vec<Run> {
    let last_reset = last_resets(events);
    let mut out = Vec::new();
    for h in agent_hours(events, hours, data_until, max_carry, has_calls) {
        let end = h.hour.end.min(data_until);
        walk_hour(events, &last_reset, h.hour, end, max_carry, &mut |run| {
            out.push(run)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::EventKind::*;
    use super::*;
    use crate::hours::Zone;
    use proptest::prelude::*;

    const H: i64 = 3600;
    const DAY: i64 = 86_400;
    const O: Category = Category::Other;

    fn ev(ts: i64, kind: EventKind, enabled: bool) -> TimedEvent {
        TimedEvent {
            ts,
            kind,
            enabled,
            category: O,
        }
    }

    fn na(ts: i64, enabled: bool, category: Category) -> TimedEvent {
        TimedEvent {
            ts,
            kind: NotAvail,
            enabled,
            category,
        }
    }

    fn hours_utc(from: i64, to: i64) -> Vec<HourBucket> {
        Zone::UTC.hours(from, to)
    }

    fn one(events: &[TimedEvent], hour_start: i64, data_until: i64) -> Option<AgentHour> {
        agent_hours(
            events,
            &hours_utc(hour_start, hour_start + 1),
            data_until,
            DAY,
            &|_| false,
        )
        .pop()
    }

    #[test]
    fn idle_then_call_then_wrap_splits_the_hour() {
        let events = [
            ev(10 * H, Idle, true),
            ev(10 * H + 600, OnCall, true),
            ev(10 * H + 600, Idle, false),
            ev(10 * H + 900, OnCall, false),
            ev(10 * H + 900, WrapUp, true),
            ev(10 * H + 960, WrapUp, false),
            ev(10 * H + 960, Idle, true),
        ];
        let h = one(&events, 10 * H, 20 * H).unwrap();
        assert_eq!(h.buckets.idle, 600 + (3600 - 960));
        assert_eq!(h.buckets.talk, 300);
        assert_eq!(h.buckets.wrap_up, 60);
        assert_eq!(h.buckets.total(), 3600);
        assert_eq!((h.idle_count, h.notavail_count), (2, 0));
        assert!(h.complete);
    }

    #[test]
    fn same_second_start_before_end_loses_no_talk_time() {
        // As in the real sample: agent_on_call start listed before agent_idle end.
        let quirk = [
            ev(10 * H, Idle, true),
            ev(10 * H + 100, OnCall, true),
            ev(10 * H + 100, Idle, false),
            ev(10 * H + 400, OnCall, false),
            ev(10 * H + 400, Idle, true),
        ];
        let h = one(&quirk, 10 * H, 20 * H).unwrap();
        assert_eq!(h.buckets.talk, 300);
        assert_eq!(h.buckets.idle, 3300);
    }

    #[test]
    fn hold_inside_a_call_counts_as_hold_then_talk_resumes() {
        let events = [
            ev(10 * H, OnCall, true),
            ev(10 * H + 100, Hold, true),
            ev(10 * H + 160, Hold, false),
            ev(10 * H + 300, OnCall, false),
            ev(10 * H + 300, Idle, true),
        ];
        let h = one(&events, 10 * H, 20 * H).unwrap();
        assert_eq!((h.buckets.talk, h.buckets.hold), (240, 60));
        assert_eq!(h.buckets.available(), 3600);
    }

    #[test]
    fn a_missing_call_end_is_closed_by_the_next_idle() {
        let events = [ev(10 * H, OnCall, true), ev(10 * H + 500, Idle, true)];
        let h = one(&events, 10 * H, 20 * H).unwrap();
        assert_eq!((h.buckets.talk, h.buckets.idle), (500, 3100));
    }

    #[test]
    fn a_reason_change_without_an_end_moves_the_time() {
        let events = [
            na(10 * H, true, Category::Lunch),
            na(10 * H + 1800, true, Category::Tea),
            na(10 * H + 2400, false, O),
            ev(10 * H + 2400, Idle, true),
        ];
        let h = one(&events, 10 * H, 20 * H).unwrap();
        assert_eq!(
            (h.buckets.lunch, h.buckets.tea, h.buckets.idle),
            (1800, 600, 1200)
        );
        assert_eq!(h.buckets.non_productive(), 2400);
        assert_eq!(h.notavail_count, 2);
    }

    #[test]
    fn unknown_reasons_are_other_never_dropped() {
        let events = [na(10 * H + 600, true, Category::Other)];
        let h = one(&events, 10 * H, 20 * H).unwrap();
        // Before the first event the agent carried nothing: offline (Logoff).
        assert_eq!((h.buckets.logoff, h.buckets.other), (600, 3000));
    }

    #[test]
    fn unregistering_counts_as_logoff_until_the_next_start() {
        let events = [
            ev(10 * H, Idle, true),
            ev(10 * H + 1000, Idle, false),
            ev(10 * H + 1000, Reg, false),
            ev(10 * H + 2000, Reg, true),
            na(10 * H + 3000, true, Category::Login),
        ];
        let h = one(&events, 10 * H, 20 * H).unwrap();
        assert_eq!(
            (h.buckets.idle, h.buckets.logoff, h.buckets.login),
            (1000, 2000, 600)
        );
    }

    #[test]
    fn an_empty_set_without_offline_is_unaccounted() {
        let events = [ev(10 * H, WrapUp, true), ev(10 * H + 60, WrapUp, false)];
        let h = one(&events, 10 * H, 20 * H).unwrap();
        assert_eq!((h.buckets.wrap_up, h.buckets.unaccounted), (60, 3540));
    }

    #[test]
    fn state_carries_across_hours_and_qualifies_the_next_hour() {
        let events = [na(10 * H + 3000, true, Category::Lunch)];
        let rows = agent_hours(&events, &hours_utc(10 * H, 12 * H), 20 * H, DAY, &|_| false);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].buckets.lunch, 3600);
        assert_eq!(rows[1].events.len(), 0);
    }

    #[test]
    fn carry_stops_after_max_carry() {
        let events = [ev(10 * H, Idle, true)];
        let rows = agent_hours(&events, &hours_utc(10 * H, 40 * H), 40 * H, DAY, &|_| false);
        // Hours 10..=33 carry the idle state (their starts are within 24 h); 34.. are offline.
        assert_eq!(rows.len(), 24);
        assert_eq!(rows.last().unwrap().hour.start, 33 * H);
    }

    #[test]
    fn logged_off_agents_get_no_row_unless_they_had_calls() {
        let events = [na(10 * H + 100, true, Category::Logoff)];
        let hours = hours_utc(10 * H, 12 * H);
        let rows = agent_hours(&events, &hours, 20 * H, DAY, &|_| false);
        assert_eq!(
            rows.iter().map(|r| r.hour.start).collect::<Vec<_>>(),
            [10 * H]
        );
        let rows = agent_hours(&events, &hours, 20 * H, DAY, &|h| h == 11 * H);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].buckets.logoff, 3600);
    }

    #[test]
    fn an_event_at_the_hour_start_belongs_to_the_carry_but_is_listed_in_the_hour() {
        let events = [ev(11 * H, Idle, true)];
        let rows = agent_hours(&events, &hours_utc(10 * H, 12 * H), 20 * H, DAY, &|_| false);
        assert_eq!(rows.len(), 1, "hour 10 has no event and enters offline");
        assert_eq!(rows[0].hour.start, 11 * H);
        assert_eq!(rows[0].buckets.idle, 3600);
        assert_eq!(rows[0].idle_count, 1);
    }

    #[test]
    fn the_hour_in_progress_is_covered_up_to_the_data() {
        let events = [ev(10 * H, Idle, true)];
        let h = one(&events, 10 * H, 10 * H + 1234).unwrap();
        assert_eq!(
            (h.covered_secs, h.complete, h.buckets.idle),
            (1234, false, 1234)
        );
        assert!(
            one(&events, 11 * H, 10 * H + 1234).is_none(),
            "no row after the data"
        );
    }

    #[test]
    fn london_fall_back_day_has_25_rows_each_fully_covered() {
        let l = Zone::parse("Europe/London").unwrap();
        let day = crate::hours::parse_instant(l, "2025-10-26", "t").unwrap();
        let hours = l.hours(day, day + 25 * H);
        let events = [ev(day - 60, Idle, true)];
        // The 25th hour starts 24 h after midnight, so carry further than the default.
        let rows = agent_hours(&events, &hours, day + 30 * H, 2 * DAY, &|_| false);
        assert_eq!(rows.len(), 25);
        assert!(
            rows.iter()
                .all(|r| r.buckets.idle == 3600 && r.covered_secs == 3600)
        );
        assert_ne!(rows[1].hour.start, rows[2].hour.start);
    }

    #[test]
    fn kolkata_hours_split_at_half_past_utc() {
        let k = Zone::parse("Asia/Kolkata").unwrap();
        let start = 1_755_678_600; // 14:00 IST
        let events = [
            ev(start - 600, OnCall, true),
            ev(start + 600, OnCall, false),
            ev(start + 600, Idle, true),
        ];
        let rows = agent_hours(
            &events,
            &k.hours(start - 3600, start + 3600),
            start + 3600,
            DAY,
            &|_| false,
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].buckets.talk, 600);
        assert_eq!((rows[1].buckets.talk, rows[1].buckets.idle), (600, 3000));
    }

    /// Not-available reasons of every kind the timeline treats differently: a session
    /// (Login), a reset (Logoff), breaks, DND and an unmapped reason.
    fn arb_reason() -> impl Strategy<Value = Category> + Clone {
        prop_oneof![
            Just(Category::Login),
            Just(Category::Logoff),
            Just(Category::Lunch),
            Just(Category::Meeting),
            Just(Category::Dnd),
            Just(Category::Other)
        ]
    }

    fn arb_event(base: i64) -> impl Strategy<Value = TimedEvent> {
        let kinds = prop_oneof![
            Just(Idle),
            Just(OnCall),
            Just(WrapUp),
            Just(Hold),
            Just(NotAvail),
            Just(Reg),
            Just(Unknown)
        ];
        let cats = arb_reason();
        (0..6 * H, kinds, any::<bool>(), cats).prop_map(move |(dt, kind, enabled, category)| {
            TimedEvent {
                ts: base + dt,
                kind,
                enabled,
                category,
            }
        })
    }

    proptest! {
        #[test]
        fn buckets_always_sum_to_covered_secs(
            mut events in proptest::collection::vec(arb_event(100 * H), 0..80),
            until_offset in 1..7 * H,
            zone_idx in 0..3usize,
            carry in prop_oneof![Just(DAY), Just(H), Just(1800i64)],
        ) {
            events.sort_by_key(|e| e.ts);
            let zone = Zone::parse(["UTC", "Asia/Kolkata", "Asia/Kathmandu"][zone_idx]).unwrap();
            let hours = zone.hours(100 * H - 2 * H, 100 * H + 7 * H);
            let until = 100 * H + until_offset;
            let rows = agent_hours(&events, &hours, until, carry, &|_| false);
            for r in &rows {
                prop_assert_eq!(r.buckets.total(), r.covered_secs);
                prop_assert!(r.buckets.total() <= r.hour.end - r.hour.start);
                prop_assert!(r.hour.start < until);
                prop_assert_eq!(r.complete, r.hour.end <= until);
                let b = r.buckets;
                for v in [b.idle, b.talk, b.wrap_up, b.hold, b.lunch, b.login, b.logoff, b.dnd, b.other, b.meeting, b.unaccounted] {
                    prop_assert!(v >= 0);
                }
            }
        }

        #[test]
        fn runs_tile_the_rows_hours_and_bucket_to_their_seconds(
            mut events in proptest::collection::vec(arb_event(100 * H), 0..80),
            until_offset in 1..7 * H,
            zone_idx in 0..3usize,
            carry in prop_oneof![Just(DAY), Just(H), Just(1800i64)],
            calls_at in proptest::option::of(0..9i64),
        ) {
            events.sort_by_key(|e| e.ts);
            let zone = Zone::parse(["UTC", "Asia/Kolkata", "Asia/Kathmandu"][zone_idx]).unwrap();
            let hours = zone.hours(100 * H - 2 * H, 100 * H + 7 * H);
            let until = 100 * H + until_offset;
            let has_calls = |h: i64| calls_at.is_some_and(|c| h == hours[c as usize].start);
            let rows = agent_hours(&events, &hours, until, carry, &has_calls);
            let runs = agent_runs(&events, &hours, until, carry, &has_calls);
            for r in &rows {
                let mut b = Buckets::default();
                let mut t = r.hour.start;
                for run in runs.iter().filter(|x| r.hour.start <= x.start && x.start < r.hour.end) {
                    prop_assert_eq!(run.start, t, "runs are contiguous");
                    prop_assert!(run.end > run.start);
                    if let Effective::NotAvail(c) = run.state {
                        let i = run.not_avail.expect("a break names its event");
                        prop_assert_eq!(events[i].kind, NotAvail);
                        prop_assert_eq!(events[i].category, c);
                    }
                    add(&mut b, run.state, run.end - run.start);
                    t = run.end;
                }
                prop_assert_eq!(t, r.hour.start + r.covered_secs);
                prop_assert_eq!(b, r.buckets);
            }
            let in_rows: i64 = rows.iter().map(|r| r.covered_secs).sum();
            let in_runs: i64 = runs.iter().map(|r| r.end - r.start).sum();
            prop_assert_eq!(in_rows, in_runs, "no run outside a row's hour");
        }

        #[test]
        fn same_second_groups_give_the_same_buckets_in_every_order(
            groups in proptest::collection::vec(arb_same_second_group(), 1..40),
            gaps in proptest::collection::vec(0..1500i64, 40),
            seeds in proptest::collection::vec(any::<u64>(), 40),
        ) {
            // Groups at increasing seconds (a gap of 0 keeps two groups in one second),
            // listed in the order built, then each permuted.
            let mut t = 100 * H - 1800;
            let mut listed = Vec::new();
            let mut permuted = Vec::new();
            for (i, group) in groups.iter().enumerate() {
                t += gaps[i];
                let mut at: Vec<TimedEvent> =
                    group.iter().map(|e| TimedEvent { ts: t, ..*e }).collect();
                listed.extend(at.iter().copied());
                let before = at.clone();
                let mut rng = fastrand::Rng::with_seed(seeds[i]);
                rng.shuffle(&mut at);
                if at.len() > 1 && at == before {
                    at.rotate_left(1);
                }
                permuted.extend(at);
            }
            let hours = Zone::UTC.hours(100 * H - H, t + H);
            let until = t + 600;
            let a = agent_hours(&listed, &hours, until, DAY, &|_| false);
            let b = agent_hours(&permuted, &hours, until, DAY, &|_| false);
            for r in &a {
                prop_assert_eq!(r.buckets.total(), r.covered_secs);
            }
            let summary = |rows: &[AgentHour]| {
                rows.iter()
                    .map(|r| (r.hour.start, r.buckets, r.idle_count, r.notavail_count))
                    .collect::<Vec<_>>()
            };
            prop_assert_eq!(summary(&a), summary(&b));
        }
    }

    /// The events one second of the platform can hold, as it lists them when an agent
    /// changes state (SPEC §3.2): the end of the old state and the start of a new one of
    /// another type — a not-available reason, or a reset (idle, a Logoff reason) — or the
    /// phone unregistering; with events that change nothing (`agent_reg` start, unknown
    /// types) mixed in. Their `ts` is set by the caller.
    fn arb_same_second_group() -> impl Strategy<Value = Vec<TimedEvent>> {
        let state = prop_oneof![
            Just(Idle),
            Just(OnCall),
            Just(WrapUp),
            Just(Hold),
            Just(NotAvail)
        ];
        let reason = arb_reason();
        (state.clone(), state, reason, any::<bool>(), 0..3usize).prop_filter_map(
            "a change of state is between two types",
            |(old, new, category, unregister, noise)| {
                if old == new {
                    return None;
                }
                let mut group = vec![TimedEvent {
                    ts: 0,
                    kind: old,
                    enabled: false,
                    category: O,
                }];
                group.push(if unregister {
                    TimedEvent {
                        ts: 0,
                        kind: Reg,
                        enabled: false,
                        category: O,
                    }
                } else {
                    let category = if new == NotAvail { category } else { O };
                    TimedEvent {
                        ts: 0,
                        kind: new,
                        enabled: true,
                        category,
                    }
                });
                for n in 0..noise {
                    let kind = if n == 0 { Reg } else { Unknown };
                    group.push(TimedEvent {
                        ts: 0,
                        kind,
                        enabled: true,
                        category: O,
                    });
                }
                Some(group)
            },
        )
    }
}
