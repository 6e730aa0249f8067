//! The one encoder and decoder of each table's rows, in the column order of its descriptor
//! in [`super::table`] (text cut to the column's width there).

use super::table::{
    AGENT_ACTIVITY, AGENT_EVENTS, AGENTS, QUEUE_CALLS, QUEUE_LOG, QUEUE_LOG_REJECTS, USERS_CALLS,
};
use super::value::{Cell, RowRead};
use crate::error::Result;
use crate::model::queue::{AgentRings, HangupBy, Outcome, RawLine, RejectRow, Stint};
use crate::model::{
    ActivityRow, AgentEvent, Buckets, CachedToken, CallStats, EventSource, EventType, HourCalls,
    HourFigures, StoredEvent,
};

pub fn encode_event<'a>(e: &'a AgentEvent, source: EventSource, now: i64) -> Vec<Cell<'a>> {
    let t = &AGENT_EVENTS;
    vec![
        Cell::text(&e.ext),
        Cell::Int(e.ts),
        Cell::text(e.event.as_str()),
        Cell::Int(e.enabled as i64),
        Cell::text(&e.state),
        t.fit(5, &e.user_id),
        t.fit(6, &e.username),
        Cell::text(source.as_str()),
        Cell::Int(now),
    ]
}

/// The columns [`decode_stored_event`] reads.
pub const STORED_EVENT_SELECT: &str = "id, ext, ts_epoch, event, enabled, state, source";

pub fn decode_stored_event(r: &mut dyn RowRead) -> Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.int(0)?,
        ext: r.text(1)?,
        ts: r.int(2)?,
        event: EventType::parse(&r.text(3)?),
        enabled: r.int(4)? != 0,
        state: r.text(5)?,
        source: decode_source(&r.text(6)?),
    })
}

fn decode_source(s: &str) -> EventSource {
    // Only apr writes this column; an unknown value is read as the API's (the wider clock).
    EventSource::parse(s).unwrap_or(EventSource::Api)
}

pub fn encode_stats<'a>(
    r: &'a CallStats,
    hour_start: i64,
    source: EventSource,
    now: i64,
) -> Vec<Cell<'a>> {
    let t = &USERS_CALLS;
    vec![
        Cell::text(&r.ext),
        Cell::Int(hour_start),
        t.fit(2, &r.name),
        Cell::text(&r.tags),
        Cell::Int(r.total_calls),
        Cell::Int(r.answered_calls),
        Cell::Int(r.talked_time),
        Cell::Int(r.talked_average),
        Cell::Int(r.duration_seconds),
        Cell::Int(r.max_connect_seconds),
        Cell::Int(r.avg_connect_seconds),
        Cell::Int(r.total_connect_seconds),
        t.fit(12, &r.callee_id_number),
        t.fit(13, &r.callee_id_name),
        Cell::Int(r.registered_time),
        Cell::Int(r.idle_time),
        Cell::Int(r.wrap_up_time),
        Cell::Int(r.hold_time),
        Cell::Int(r.on_call_time),
        Cell::Int(r.on_call_time_avg),
        Cell::Int(r.not_available_time),
        Cell::text(&r.not_available_detailed_report),
        Cell::text(source.as_str()),
        Cell::Int(now),
    ]
}

/// The columns [`decode_hour_calls`] reads.
pub const HOUR_CALLS_SELECT: &str = "ext, hour_start, total_calls, answered_calls, source";

pub fn decode_hour_calls(r: &mut dyn RowRead) -> Result<HourCalls> {
    Ok(HourCalls {
        ext: r.text(0)?,
        hour_start: r.int(1)?,
        total_calls: r.int(2)?,
        answered_calls: r.int(3)?,
        source: decode_source(&r.text(4)?),
    })
}

/// Names of one extension with the instant each was seen (`i64::MIN` = never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSeen {
    pub stats: String,
    pub stats_at: i64,
    pub event: String,
    pub event_at: i64,
}

impl Default for NameSeen {
    fn default() -> Self {
        NameSeen {
            stats: String::new(),
            stats_at: i64::MIN,
            event: String::new(),
            event_at: i64::MIN,
        }
    }
}

impl NameSeen {
    /// Latest stats name, else latest event name, else `Unknown`.
    pub fn canonical(&self) -> String {
        if !self.stats.is_empty() {
            self.stats.clone()
        } else if !self.event.is_empty() {
            self.event.clone()
        } else {
            "Unknown".to_string()
        }
    }
}

pub fn encode_name<'a>(ext: &'a str, n: &'a NameSeen) -> Vec<Cell<'a>> {
    let t = &AGENTS;
    vec![
        Cell::text(ext),
        t.fit(1, &n.stats),
        Cell::Int(n.stats_at),
        t.fit(3, &n.event),
        Cell::Int(n.event_at),
    ]
}

pub fn decode_name(r: &mut dyn RowRead) -> Result<(String, NameSeen)> {
    Ok((
        r.text(0)?,
        NameSeen {
            stats: r.text(1)?,
            stats_at: r.int(2)?,
            event: r.text(3)?,
            event_at: r.int(4)?,
        },
    ))
}

pub fn encode_activity(r: &ActivityRow) -> Vec<Cell<'_>> {
    let f = &r.figures;
    let b = &f.buckets;
    let t = &AGENT_ACTIVITY;
    let mut cells = vec![
        Cell::text(&r.agent_ext),
        Cell::Int(r.report_hour),
        Cell::text(&r.report_hour_local),
        t.fit(3, &r.agent_name),
    ];
    cells.extend(
        [
            b.available(),
            b.idle,
            b.talk,
            b.wrap_up,
            b.hold,
            b.productive(),
            b.meeting,
            b.training,
            b.chat,
            b.tickets,
            b.outbound,
            b.non_productive(),
            b.lunch,
            b.tea,
            b.bio,
            b.short,
            b.other,
            b.login,
            b.logoff,
            b.dnd,
            b.unaccounted,
            f.idle_count,
            f.notavail_count,
            f.total_calls,
            f.answered_calls,
            f.failed_calls,
            f.covered_secs,
            r.complete as i64,
        ]
        .map(Cell::Int),
    );
    cells.push(Cell::text(&r.event_details));
    cells
}

/// Rebuilds a row from the columns of [`AGENT_ACTIVITY`]; the derived totals are not read.
pub fn decode_activity(r: &mut dyn RowRead) -> Result<ActivityRow> {
    let mut n = [0i64; 28];
    for (i, slot) in n.iter_mut().enumerate() {
        *slot = r.int(4 + i)?;
    }
    let buckets = Buckets {
        idle: n[1],
        talk: n[2],
        wrap_up: n[3],
        hold: n[4],
        meeting: n[6],
        training: n[7],
        chat: n[8],
        tickets: n[9],
        outbound: n[10],
        lunch: n[12],
        tea: n[13],
        bio: n[14],
        short: n[15],
        other: n[16],
        login: n[17],
        logoff: n[18],
        dnd: n[19],
        unaccounted: n[20],
    };
    Ok(ActivityRow {
        agent_ext: r.text(0)?,
        report_hour: r.int(1)?,
        report_hour_local: r.text(2)?,
        agent_name: r.text(3)?,
        figures: HourFigures {
            buckets,
            idle_count: n[21],
            notavail_count: n[22],
            total_calls: n[23],
            answered_calls: n[24],
            failed_calls: n[25],
            covered_secs: n[26],
        },
        complete: n[27] != 0,
        event_details: r.text(32)?,
    })
}

pub fn encode_token(t: &CachedToken) -> Vec<Cell<'_>> {
    vec![
        Cell::Int(1),
        Cell::text(&t.access_token),
        Cell::text(&t.refresh_token),
        Cell::Int(t.expires_at),
    ]
}

pub fn decode_token(r: &mut dyn RowRead) -> Result<CachedToken> {
    Ok(CachedToken {
        access_token: r.text(1)?,
        refresh_token: r.text(2)?,
        expires_at: r.int(3)?,
    })
}

pub fn encode_raw_line<'a>(l: &RawLine<'a>, now: i64) -> Vec<Cell<'a>> {
    let t = &QUEUE_LOG;
    vec![
        Cell::Int(l.time),
        Cell::Int(l.hash as i64),
        t.fit(2, l.callid),
        t.fit(3, l.queuename),
        t.fit(4, l.agent),
        t.fit(5, l.event),
        t.fit(6, l.data[0]),
        t.fit(7, l.data[1]),
        t.fit(8, l.data[2]),
        t.fit(9, l.data[3]),
        t.fit(10, l.data[4]),
        Cell::Int(now),
    ]
}

pub fn encode_stint(s: &Stint) -> Vec<Cell<'_>> {
    let t = &QUEUE_CALLS;
    vec![
        t.fit(0, &s.callid),
        t.fit(1, &s.queue),
        Cell::Int(s.enter_time),
        Cell::Int(s.enter_hour),
        Cell::text(&s.enter_hour_local),
        t.fit(5, &s.caller_number),
        t.fit(6, &s.caller_name),
        Cell::opt(s.entry_position),
        Cell::text(s.outcome.unwrap_or(Outcome::Incomplete).as_str()),
        t.fit(9, &s.agent),
        Cell::opt(s.wait_secs),
        Cell::opt(s.talk_secs),
        Cell::Int(s.ring_attempts),
        Cell::opt(s.end_time),
        Cell::text(s.hangup_by.map_or("", HangupBy::as_str)),
        t.fit(15, &s.did),
        Cell::Text(AgentRings::encode(&s.rings).into()),
    ]
}

pub fn decode_stint(r: &mut dyn RowRead) -> Result<Stint> {
    Ok(Stint {
        callid: r.text(0)?,
        queue: r.text(1)?,
        enter_time: r.int(2)?,
        enter_hour: r.int(3)?,
        enter_hour_local: r.text(4)?,
        caller_number: r.text(5)?,
        caller_name: r.text(6)?,
        entry_position: r.opt_int(7)?,
        outcome: Outcome::parse(&r.text(8)?),
        agent: r.text(9)?,
        wait_secs: r.opt_int(10)?,
        talk_secs: r.opt_int(11)?,
        ring_attempts: r.int(12)?,
        end_time: r.opt_int(13)?,
        hangup_by: HangupBy::parse(&r.text(14)?),
        did: r.text(15)?,
        rings: AgentRings::decode(&r.text(16)?),
        pending: false,
    })
}

pub fn encode_reject<'a>(r: &'a RejectRow<'a>, now: i64) -> Vec<Cell<'a>> {
    let t = &QUEUE_LOG_REJECTS;
    vec![
        t.fit(0, r.file),
        Cell::Int(r.line_no as i64),
        Cell::Int(r.hash as i64),
        t.fit(3, &r.reason),
        t.fit(4, r.line),
        Cell::Int(now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::{API_TOKEN, QUEUE_LOG};

    #[test]
    fn encoders_fill_every_column() {
        let e = AgentEvent {
            ext: "1".into(),
            ts: 1,
            event: "agent_idle".into(),
            enabled: true,
            state: "none".into(),
            user_id: String::new(),
            username: "n".repeat(300),
        };
        let cells = encode_event(&e, EventSource::Api, 0);
        assert_eq!(cells.len(), AGENT_EVENTS.columns.len());
        assert_eq!(cells[6], Cell::text(&e.username[..255]));
        let s = CallStats::default();
        assert_eq!(
            encode_stats(&s, 0, EventSource::Api, 0).len(),
            USERS_CALLS.columns.len()
        );
        let row = ActivityRow {
            agent_ext: String::new(),
            report_hour: 0,
            report_hour_local: String::new(),
            agent_name: String::new(),
            figures: HourFigures::default(),
            complete: false,
            event_details: String::new(),
        };
        assert_eq!(encode_activity(&row).len(), AGENT_ACTIVITY.columns.len());
        let n = NameSeen::default();
        assert_eq!(encode_name("1", &n).len(), AGENTS.columns.len());
        let t = CachedToken {
            access_token: String::new(),
            refresh_token: String::new(),
            expires_at: 0,
        };
        assert_eq!(encode_token(&t).len(), API_TOKEN.columns.len());
        let raw = RawLine {
            time: 0,
            hash: 0,
            callid: "",
            queuename: "",
            agent: "",
            event: "",
            data: [""; 5],
        };
        assert_eq!(encode_raw_line(&raw, 0).len(), QUEUE_LOG.columns.len());
        let rej = RejectRow {
            file: "",
            line_no: 0,
            hash: 0,
            reason: String::new(),
            line: "",
        };
        assert_eq!(
            encode_reject(&rej, 0).len(),
            QUEUE_LOG_REJECTS.columns.len()
        );
    }
}
