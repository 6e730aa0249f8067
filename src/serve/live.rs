//! The floor now (SPEC §13), as `GET /api/live` serves it and `GET /live` draws it: each
//! agent's effective state and time in it (the aggregation's `agent_live`), today's figures
//! so far per agent (summed from the hourly rows), and per queue the callers waiting, the
//! agents by state (the queue_log derivation's stored state: open stints, memberships,
//! pauses) and today's offered / answered / abandoned / SL / ASA (today's stints). Every
//! part is read from what the loaders stored; nothing replays a day of events per request.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::Result;
use crate::hours::Zone;
use crate::model::live::LiveAgent;
use crate::model::state::{DATA_UNTIL_KEYS, QUEUE_LOG_DERIVE_STATE};
use crate::report::queue_figures::{QueueHour, QueueOptions};
use crate::source::queue_log::derive::DeriverState;
use crate::store::Store;
use crate::store::maintenance::Conn;
use crate::store::value::Cell;

/// Default of `serve --stale-after`: data older than this is flagged stale.
pub const DEFAULT_STALE_AFTER_SECS: i64 = 120;

/// What the board is narrowed to (`?queue=`, `?ext=`, comma-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFilter {
    pub queues: Vec<String>,
    pub exts: Vec<String>,
}

impl LiveFilter {
    fn keeps_queue(&self, q: &str) -> bool {
        self.queues.is_empty() || self.queues.iter().any(|x| x == q)
    }

    fn keeps_ext(&self, e: &str) -> bool {
        self.exts.is_empty() || self.exts.iter().any(|x| x == e)
    }
}

/// One source's freshness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceAge {
    pub source: &'static str,
    /// Epoch seconds; `None` when the source never loaded.
    pub data_until: Option<i64>,
    pub age_secs: Option<i64>,
    pub stale: bool,
}

/// One agent on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentTile {
    pub ext: String,
    pub name: String,
    pub source: String,
    pub state: String,
    pub reason: String,
    pub since: i64,
    pub secs_in_state: i64,
    pub today: AgentToday,
}

/// An agent's figures today so far (its local day's hourly rows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentToday {
    pub answered: i64,
    pub talk_secs: i64,
    /// (Talk + Hold + Wrap-up) / Answered, floored; 0 with nothing answered.
    pub aht_secs: i64,
    /// Productive and non-productive breaks.
    pub break_secs: i64,
    /// Every not-available second but Login and Logoff: the breaks and DND.
    pub pause_secs: i64,
}

/// One queue's tile.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueTile {
    pub queue: String,
    pub waiting: i64,
    pub longest_wait_secs: i64,
    pub logged_in: i64,
    pub available: i64,
    pub on_call: i64,
    pub paused: i64,
    pub today: QueueToday,
}

/// A queue's figures today so far (§6 rules, the report's defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueToday {
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    /// Service level in percent with two decimals; `None` with an empty denominator.
    pub service_level: Option<f64>,
    pub asa_secs: Option<i64>,
}

/// The whole board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Board {
    pub now: i64,
    pub zone: &'static str,
    /// The local date of `now` (`YYYY-MM-DD`): the day of "today" figures, and of the
    /// report each agent name links to.
    pub today: String,
    pub stale_after_secs: i64,
    pub sources: Vec<SourceAge>,
    /// Agents by state, in the wallboard's order of states, then by extension.
    pub agents: Vec<AgentTile>,
    pub states: BTreeMap<String, i64>,
    pub queues: Vec<QueueTile>,
}

impl Board {
    /// Whether any source that has data is stale.
    pub fn stale(&self) -> bool {
        self.sources.iter().any(|s| s.stale)
    }
}

/// The wallboard's order of states: who needs a look first.
pub const STATE_ORDER: [&str; 7] = [
    "on_call",
    "hold",
    "wrap_up",
    "idle",
    "not_avail",
    "unaccounted",
    "logged_off",
];

fn state_rank(s: &str) -> usize {
    STATE_ORDER
        .iter()
        .position(|x| *x == s)
        .unwrap_or(STATE_ORDER.len())
}

/// Reads the board at `now` (epoch seconds, the server's clock).
pub fn board(
    store: &mut dyn Store,
    zone: Zone,
    now: i64,
    stale_after: i64,
    filter: &LiveFilter,
) -> Result<Board> {
    let mut sources = Vec::new();
    for (source, key) in DATA_UNTIL_KEYS {
        let until = store.instant(key)?;
        let age = until.map(|u| (now - u).max(0));
        sources.push(SourceAge {
            source: source.as_str(),
            data_until: until,
            age_secs: age,
            stale: age.is_some_and(|a| a > stale_after),
        });
    }
    let day = today(zone, now);
    let live = store.live_agents()?;
    let mut agents: Vec<AgentTile> = live
        .into_iter()
        .filter(|a| filter.keeps_ext(&a.ext))
        .map(|a| tile(a, now, day.0))
        .collect();
    let queues = queue_tiles(store, zone, day, now, filter)?;
    // A queue filter narrows the agents to the queues' members (queue_log agents).
    if !filter.queues.is_empty() {
        let members = queue_members(store, filter)?;
        agents.retain(|a| members.contains_key(&a.ext));
    }
    agents.sort_by(|a, b| {
        (state_rank(&a.state), a.since, &a.ext).cmp(&(state_rank(&b.state), b.since, &b.ext))
    });
    let mut states = BTreeMap::new();
    for a in &agents {
        *states.entry(a.state.clone()).or_default() += 1;
    }
    Ok(Board {
        now,
        zone: zone.name(),
        today: zone.local(now).date_naive().to_string(),
        stale_after_secs: stale_after,
        sources,
        agents,
        states,
        queues,
    })
}

/// An agent's tile; its day's figures count only when they are of today (`day_start`).
fn tile(a: LiveAgent, now: i64, day_start: i64) -> AgentTile {
    let f = if a.day_start == day_start {
        a.today
    } else {
        Default::default()
    };
    AgentTile {
        secs_in_state: (now.max(a.as_of) - a.since).max(0),
        today: AgentToday {
            answered: f.answered,
            talk_secs: f.talk_secs,
            aht_secs: if f.answered > 0 {
                (f.talk_secs + f.hold_secs + f.wrap_up_secs) / f.answered
            } else {
                0
            },
            break_secs: f.break_secs,
            pause_secs: f.break_secs + f.dnd_secs,
        },
        ext: a.ext,
        name: a.name,
        source: a.source,
        state: a.state,
        reason: a.reason,
        since: a.since,
    }
}

/// `[start, end)` of the local day holding `now`.
pub fn today(zone: Zone, now: i64) -> (i64, i64) {
    let date = zone.local(now).date_naive();
    let start = zone.day_start(now);
    let next = date.succ_opt().unwrap_or(date);
    let end = zone.instant_of(next.and_hms_opt(0, 0, 0).unwrap_or_default());
    (start, end)
}

/// The queue_log derivation's stored state (empty without queue_log data).
fn derive_state(store: &mut dyn Store) -> Result<DeriverState> {
    let Some(q) = store.queue_store() else {
        return Ok(DeriverState::default());
    };
    let stored = q.queue_state(QUEUE_LOG_DERIVE_STATE.name())?;
    QUEUE_LOG_DERIVE_STATE.decode(stored.as_deref())
}

/// Extensions that are members of a queue the filter keeps.
fn queue_members(store: &mut dyn Store, filter: &LiveFilter) -> Result<HashMap<String, ()>> {
    let state = derive_state(store)?;
    Ok(state
        .agents
        .into_iter()
        .filter(|(_, a)| a.queues.iter().any(|q| filter.keeps_queue(q)))
        .map(|(ext, _)| (ext, ()))
        .collect())
}

/// A queue, its figures today, and the sum and count of its answered stints' known waits.
type QueueSums = (String, QueueHour, (i64, i64));

/// Today's stored stints per queue, summed by the database in one grouped query (the
/// fields [`QueueHour`] needs for offered, answered, abandoned and the service level), and
/// the mean wait of the answered ones (ASA) beside it.
fn queue_today(
    store: &mut dyn Store,
    zone: Zone,
    (from, to): (i64, i64),
    opts: &QueueOptions,
) -> Result<Vec<QueueSums>> {
    if store.queue_store().is_none() {
        return Ok(Vec::new());
    }
    let (from_local, to_local) = (zone.hour_label(from), zone.hour_label(to));
    let mut out = Vec::new();
    let mut conn = Conn::new(store.sql());
    conn.query(
        "SELECT queuename, COUNT(*), \
         SUM(CASE WHEN outcome IN ('ANSWERED', 'TRANSFER') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN outcome = 'ABANDON' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN outcome = 'ABANDON' AND wait_secs <= ? THEN 1 ELSE 0 END), \
         SUM(CASE WHEN outcome IN ('ANSWERED', 'TRANSFER') AND wait_secs <= ? THEN 1 ELSE 0 END), \
         SUM(CASE WHEN outcome IN ('ANSWERED', 'TRANSFER') AND wait_secs IS NOT NULL THEN wait_secs ELSE 0 END), \
         SUM(CASE WHEN outcome IN ('ANSWERED', 'TRANSFER') AND wait_secs IS NOT NULL THEN 1 ELSE 0 END) \
         FROM queue_calls WHERE enter_hour_local >= ? AND enter_hour_local < ? \
         AND enter_time >= ? AND enter_time < ? GROUP BY queuename",
        &[
            Cell::Int(opts.short_abandon_secs),
            Cell::Int(opts.sl_secs),
            Cell::text(&from_local),
            Cell::text(&to_local),
            Cell::Int(from),
            Cell::Int(to),
        ],
        &mut |r| {
            let mut h = QueueHour::default();
            h.offered = r.int(1)?;
            h.answered = r.int(2)?;
            h.abandoned = r.int(3)?;
            h.short_abandons = r.int(4)?;
            h.within_sl = r.int(5)?;
            let (waits, n) = (r.int(6)?, r.int(7)?);
            out.push((r.text(0)?, h, (waits, n)));
            Ok(())
        },
    )?;
    Ok(out)
}

/// Every queue's tile: who waits and which agents are where (the derivation's state), and
/// today's figures (today's stored stints, plus the open ones that entered today).
fn queue_tiles(
    store: &mut dyn Store,
    zone: Zone,
    (from, to): (i64, i64),
    now: i64,
    filter: &LiveFilter,
) -> Result<Vec<QueueTile>> {
    let state = derive_state(store)?;
    let mut tiles: BTreeMap<String, QueueTile> = BTreeMap::new();
    let mut hours: BTreeMap<String, QueueHour> = BTreeMap::new();
    let opts = QueueOptions::default();
    for agent in state.agents.values() {
        for q in &agent.queues {
            let t = tiles.entry(q.clone()).or_default();
            if agent.off {
                continue;
            }
            t.logged_in += 1;
            if agent.calls > 0 {
                t.on_call += 1;
            } else if agent.paused.is_some() {
                t.paused += 1;
            } else {
                t.available += 1;
            }
        }
    }
    for s in &state.open {
        let t = tiles.entry(s.queue.clone()).or_default();
        if s.outcome.is_none() {
            t.waiting += 1;
            t.longest_wait_secs = t.longest_wait_secs.max((now - s.enter_time).max(0));
        }
        // Connected stints are in queue_calls already (flushed with every chunk).
        if s.outcome.is_none() && from <= s.enter_time && s.enter_time < to {
            hours.entry(s.queue.clone()).or_default().add(s, &opts);
        }
    }
    // ASA from the stored stints' wait sum and count (open stints have not connected).
    let mut asa: BTreeMap<String, Option<i64>> = BTreeMap::new();
    for (q, today, (waits, n)) in queue_today(store, zone, (from, to), &opts)? {
        tiles.entry(q.clone()).or_default();
        asa.insert(q.clone(), (n > 0).then(|| waits / n));
        hours.entry(q).or_default().merge(&today);
    }
    Ok(tiles
        .into_iter()
        .filter(|(q, _)| filter.keeps_queue(q))
        .map(|(q, mut t)| {
            if let Some(h) = hours.get(&q) {
                t.today = QueueToday {
                    offered: h.offered,
                    answered: h.answered,
                    abandoned: h.abandoned,
                    service_level: h.service_level(opts.sl_basis).map(|v| v as f64 / 100.0),
                    asa_secs: asa.get(&q).copied().flatten(),
                };
            }
            t.queue = q;
            t
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_local_day_including_dst_days() {
        let dubai = Zone::parse("Asia/Dubai").unwrap();
        // 2025-09-07 10:00 UTC = 14:00 in Dubai; the day starts at 20:00 UTC the day before.
        assert_eq!(
            today(dubai, 1_757_239_200),
            (1_757_188_800, 1_757_188_800 + 86_400)
        );
        let london = Zone::parse("Europe/London").unwrap();
        // 2025-10-26, the fall-back day, lasts 25 hours.
        let (s, e) = today(london, 1_761_480_000);
        assert_eq!(e - s, 25 * 3600);
    }

    #[test]
    fn states_rank_calls_first_and_logged_off_last() {
        assert!(state_rank("on_call") < state_rank("idle"));
        assert!(state_rank("not_avail") < state_rank("logged_off"));
        assert_eq!(state_rank("something else"), STATE_ORDER.len());
    }
}
