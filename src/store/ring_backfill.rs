//! Schema step 7 → 8: `queue_calls.agent_rings`, who was rung for each stint (SPEC §14
//! `--kind agent-queues`), added and filled from the stored raw `queue_log` lines. Kept to
//! this one step so that it can be renumbered if another step lands first.
//!
//! The backfill reads the ring lines (`CONNECT`, `RINGNOANSWER`, `RINGCANCELED`) one day of
//! stints at a time, each line joined to the stint of its call and queue it fell in, as the
//! derivation would have counted it. The agent field becomes an extension as the queue_log
//! source's agent map would make it, learned from the data where the map had an alias: the
//! field of a `CONNECT` line is the stored agent of the stint it connected; any other field
//! by its channel form. What the backfill cannot see stays out (README): stints whose lines
//! were pruned have no rings, and rings logged under a call id that a transfer swapped.

use std::collections::{BTreeMap, HashMap};

use super::sql::{Backend, Dialect, IN_LIST_MAX, query_int};
use super::value::Cell;
use crate::error::Result;
use crate::model::queue::AgentRings;
use crate::names::agent_field_ext;

/// Stints read per pass: one day of entries.
const SLICE_SECS: i64 = 86_400;
/// How long after its entry a stint's ring lines are looked for: a stint is cut long before
/// (`--max-call-hours`, 4 by default).
const RING_REACH_SECS: i64 = 86_400;

/// The step, in the caller's transaction.
pub(super) fn add_agent_rings<B: Backend + ?Sized>(b: &mut B) -> Result<()> {
    add_column(b)?;
    let (Some(first), Some(last)) = (
        query_int(b, "SELECT MIN(enter_time) FROM queue_calls", &[])?,
        query_int(b, "SELECT MAX(enter_time) FROM queue_calls", &[])?,
    ) else {
        return Ok(());
    };
    let mut learned: HashMap<String, String> = HashMap::new();
    let mut from = first;
    while from <= last {
        let to = from + SLICE_SECS;
        backfill_slice(b, from, to, &mut learned)?;
        from = to;
    }
    Ok(())
}

/// Adds the column unless it is there (MySQL commits DDL by itself, so a step cut short
/// after it is finished by the next run). `TEXT` takes no literal default on MySQL, which
/// fills the rows there with the empty text by itself.
fn add_column<B: Backend + ?Sized>(b: &mut B) -> Result<()> {
    let dialect = b.dialect();
    let present = super::sql::queue_calls_column_sql(dialect);
    if query_int(b, present, &[Cell::text("agent_rings")])?.unwrap_or(0) > 0 {
        return Ok(());
    }
    let ty = match dialect {
        Dialect::Mysql => "TEXT NOT NULL",
        Dialect::Sqlite => "TEXT NOT NULL DEFAULT ''",
        Dialect::Postgres => "TEXT COLLATE \"C\" NOT NULL DEFAULT ''",
    };
    b.exec(
        &format!("ALTER TABLE queue_calls ADD COLUMN agent_rings {ty}"),
        &[],
    )?;
    Ok(())
}

/// The ring lines of the stints that entered in `[from, to)`: each line joined to the stint
/// of its call and queue that had entered and not ended when it was logged (the latest such
/// stint: a call that entered the queue again after a cut). Driven by the lines' time (the
/// key of `queue_log`), each stint found by its key.
const RING_LINES: &str = "SELECT c.callid, c.queuename, c.enter_time, c.agent, q.agent, q.event \
     FROM queue_log q JOIN queue_calls c ON c.callid = q.callid AND c.queuename = q.queuename \
       AND c.enter_time <= q.time AND (c.end_time IS NULL OR q.time <= c.end_time) \
     WHERE q.time >= ? AND q.time < ? AND c.enter_time >= ? AND c.enter_time < ? \
       AND q.event IN ('CONNECT', 'RINGNOANSWER', 'RINGCANCELED') \
       AND NOT EXISTS (SELECT 1 FROM queue_calls n WHERE n.callid = c.callid \
         AND n.queuename = c.queuename AND n.enter_time > c.enter_time AND n.enter_time <= q.time) \
     ORDER BY q.time, q.line_hash";

/// One ring line joined to its stint.
struct RingLine {
    stint: (String, String, i64),
    stint_agent: String,
    field: String,
    event: String,
}

fn backfill_slice<B: Backend + ?Sized>(
    b: &mut B,
    from: i64,
    to: i64,
    learned: &mut HashMap<String, String>,
) -> Result<()> {
    let mut lines = Vec::new();
    b.query(
        RING_LINES,
        &[
            Cell::Int(from),
            Cell::Int(to + RING_REACH_SECS),
            Cell::Int(from),
            Cell::Int(to),
        ],
        &mut |r| {
            lines.push(RingLine {
                stint: (r.text(0)?, r.text(1)?, r.int(2)?),
                stint_agent: r.text(3)?,
                field: r.text(4)?,
                event: r.text(5)?,
            });
            Ok(())
        },
    )?;
    let rings: Vec<_> = count_rings(&lines, learned).into_iter().collect();
    // Up to IN_LIST_MAX stints per statement (a month of a large center is millions of
    // stints, one round trip each otherwise): each stint's text chosen by its key.
    let one = "(callid = ? AND queuename = ? AND enter_time = ?)";
    for chunk in rings.chunks(IN_LIST_MAX) {
        let sql = format!(
            "UPDATE queue_calls SET agent_rings = CASE {} END WHERE {}",
            vec![format!("WHEN {one} THEN ?"); chunk.len()].join(" "),
            vec![one; chunk.len()].join(" OR ")
        );
        let texts: Vec<String> = chunk.iter().map(|(_, r)| AgentRings::encode(r)).collect();
        let mut args: Vec<Cell<'_>> = Vec::with_capacity(chunk.len() * 7);
        for ((stint, _), text) in chunk.iter().zip(&texts) {
            args.extend(key(stint));
            args.push(Cell::text(text));
        }
        args.extend(chunk.iter().flat_map(|(stint, _)| key(stint)));
        b.exec(&sql, &args)?;
    }
    Ok(())
}

/// The cells of a stint's key, as [`backfill_slice`]'s statement names its columns.
fn key((callid, queue, enter_time): &(String, String, i64)) -> [Cell<'_>; 3] {
    [
        Cell::text(callid),
        Cell::text(queue),
        Cell::Int(*enter_time),
    ]
}

/// Each stint's rings by agent from its ring lines in time order, as the derivation counts
/// them; `learned` gathers each `CONNECT` field's extension (the stint's stored agent).
fn count_rings(
    lines: &[RingLine],
    learned: &mut HashMap<String, String>,
) -> BTreeMap<(String, String, i64), Vec<AgentRings>> {
    for l in lines {
        if l.event == "CONNECT" && !l.stint_agent.is_empty() {
            learned
                .entry(l.field.trim().to_string())
                .or_insert_with(|| l.stint_agent.clone());
        }
    }
    let mut out: BTreeMap<(String, String, i64), Vec<AgentRings>> = BTreeMap::new();
    for l in lines {
        let Some(own) = agent_field_ext(&l.field) else {
            continue;
        };
        let ext = learned.get(l.field.trim()).map_or(own, String::as_str);
        let rings = out.entry(l.stint.clone()).or_default();
        AgentRings::count(rings, ext, l.event == "RINGNOANSWER");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(callid: &str, stint_agent: &str, field: &str, event: &str) -> RingLine {
        RingLine {
            stint: (callid.into(), "sales".into(), 10),
            stint_agent: stint_agent.into(),
            field: field.into(),
            event: event.into(),
        }
    }

    #[test]
    fn rings_are_counted_as_the_derivation_counts_them_with_learned_aliases() {
        let lines = [
            line("c1", "201", "John Doe", "RINGNOANSWER"),
            line("c1", "201", "PJSIP/202", "RINGCANCELED"),
            line("c1", "201", "NONE", "RINGNOANSWER"),
            line("c1", "201", "John Doe", "CONNECT"),
            line("c2", "", "Local/203@from-queue/n", "RINGNOANSWER"),
        ];
        let mut learned = HashMap::new();
        let got = count_rings(&lines, &mut learned);
        type Counts = Vec<(String, i64, i64)>;
        let flat: Vec<(String, Counts)> = got
            .into_iter()
            .map(|((c, ..), r)| {
                (
                    c,
                    r.into_iter()
                        .map(|r| (r.agent, r.rings, r.no_answer))
                        .collect(),
                )
            })
            .collect();
        let own = |a: &str, r, n| (a.to_string(), r, n);
        assert_eq!(
            flat,
            [
                ("c1".to_string(), vec![own("201", 2, 1), own("202", 1, 0)]),
                ("c2".to_string(), vec![own("203", 1, 1)]),
            ]
        );
        assert_eq!(learned.get("John Doe").map(String::as_str), Some("201"));
    }
}
