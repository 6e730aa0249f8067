//! Deterministic synthetic contact-center data for benchmarks and large tests: a day of
//! agent events shaped like the platform's (calls with the same-second start-before-end
//! quirk, holds, wrap-ups, breaks with reasons, logins and logoffs) and hourly call stats
//! consistent with it. Same seed, same data; no I/O.

use crate::model::{AgentEvent, CallStats, EventType};

/// A small xorshift generator: reproducible without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

const REASONS: &[&str] = &[
    "lunch",
    "Tea Break",
    "ON Tickets",
    "Team Meeting",
    "Outbound ",
    "Not Available",
    "training",
];

/// `agents` agents (extensions `1000`, `1001`, ...) with about `events_per_agent` events each
/// over `[start, start + 86_400)`, merged in timestamp order as the platform lists them.
pub fn day_of_events(
    agents: usize,
    events_per_agent: usize,
    start: i64,
    seed: u64,
) -> Vec<AgentEvent> {
    let mut all = Vec::with_capacity(agents * (events_per_agent + 8));
    for a in 0..agents {
        let mut rng = Rng::new(seed ^ (a as u64 + 1));
        let ext = (1000 + a).to_string();
        let name = format!("Agent {ext}");
        // Spread the agent's events over the day: ~6 events per cycle, and a cycle advances
        // the clock by about 0.6 gap on average.
        let cycles = (events_per_agent / 6).max(1) as i64;
        let gap = 86_400 * 5 / (3 * cycles);
        let mut t = start + rng.range(0, 120);
        let mut push = |t: i64, event: &str, enabled: bool, state: &str| {
            all.push(AgentEvent {
                ext: ext.clone(),
                ts: t,
                event: EventType::parse(event),
                enabled,
                state: state.to_string(),
                user_id: format!("u{a}"),
                username: name.clone(),
            });
        };
        push(t, "agent_reg", true, "none");
        push(t, "agent_not_avail_state", true, "Login");
        t += rng.range(10, 120);
        push(t, "agent_not_avail_state", false, "none");
        push(t, "agent_idle", true, "available");
        let end = start + 86_400 - 60;
        while t + gap < end {
            t += rng.range(gap / 4, gap / 2);
            if rng.range(0, 9) < 8 {
                push(t, "agent_on_call", true, "none");
                push(t, "agent_idle", false, "none");
                let talk = rng.range(gap / 8, gap / 3);
                if rng.range(0, 9) == 0 {
                    push(t + talk / 3, "agent_hold", true, "none");
                    push(t + talk / 2, "agent_hold", false, "none");
                }
                t += talk;
                push(t, "agent_on_call", false, "none");
                push(t, "agent_wrap_up", true, "none");
                t += rng.range(5, 60);
                push(t, "agent_wrap_up", false, "none");
                push(t, "agent_idle", true, "available");
            } else {
                let reason = REASONS[rng.range(0, REASONS.len() as i64 - 1) as usize];
                push(t, "agent_idle", false, "none");
                push(t, "agent_not_avail_state", true, reason);
                t += rng.range(gap / 4, gap / 2);
                push(t, "agent_not_avail_state", false, "none");
                push(t, "agent_idle", true, "available");
            }
        }
        push(end, "agent_idle", false, "none");
        push(end, "agent_not_avail_state", true, "Logoff");
        push(end + 5, "agent_reg", false, "none");
    }
    all.sort_by_key(|e| e.ts);
    all
}

/// Hourly stats consistent with `events`: answered = calls started in the hour, total =
/// answered plus a few missed, for hours starting at `start + k * 3600`.
pub fn hourly_stats(
    events: &[AgentEvent],
    start: i64,
    hours: i64,
    seed: u64,
) -> Vec<(i64, Vec<CallStats>)> {
    let mut rng = Rng::new(seed);
    let mut counts: std::collections::BTreeMap<(i64, &str), i64> = Default::default();
    for e in events {
        if e.event == EventType::OnCall && e.enabled {
            let h = start + (e.ts - start).div_euclid(3600) * 3600;
            *counts.entry((h, e.ext.as_str())).or_default() += 1;
        }
    }
    (0..hours)
        .map(|k| {
            let h = start + k * 3600;
            let records = counts
                .range((h, "")..(h + 1, ""))
                .map(|(&(_, ext), &answered)| CallStats {
                    ext: ext.to_string(),
                    name: format!("Agent {ext}"),
                    tags: "null".into(),
                    total_calls: answered + rng.range(0, 2),
                    answered_calls: answered,
                    not_available_detailed_report: "null".into(),
                    ..Default::default()
                })
                .collect();
            (h, records)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_deterministic_ordered_and_about_the_size_asked() {
        let a = day_of_events(20, 500, 1_700_000_000, 7);
        let b = day_of_events(20, 500, 1_700_000_000, 7);
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].ts <= w[1].ts));
        let per_agent = a.len() / 20;
        assert!((350..=650).contains(&per_agent), "{per_agent}");
        assert!(
            a.iter()
                .all(|e| (1_700_000_000..1_700_086_400).contains(&e.ts))
        );
    }

    #[test]
    fn stats_count_the_calls_of_the_timeline() {
        let events = day_of_events(5, 300, 0, 1);
        let stats = hourly_stats(&events, 0, 24, 1);
        let answered: i64 = stats
            .iter()
            .flat_map(|(_, r)| r)
            .map(|r| r.answered_calls)
            .sum();
        let calls = events
            .iter()
            .filter(|e| e.event == EventType::OnCall && e.enabled)
            .count();
        assert_eq!(answered as usize, calls);
        assert!(
            stats
                .iter()
                .flat_map(|(_, r)| r)
                .all(|r| r.total_calls >= r.answered_calls)
        );
    }
}
