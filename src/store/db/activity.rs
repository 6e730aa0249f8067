//! The hourly summaries (`agent_activity`): a batch's rows written over a range (only those
//! that changed), and the report's query.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::model::live::{DayFigures, LiveAgent};
use crate::model::{ActivityFilter, ActivityRow};
use crate::store::rows;
use crate::store::sql::{Backend, Dialect, IN_LIST_MAX, placeholders};
use crate::store::table;
use crate::store::value::{Cell, read_cells};

/// Makes the `agent_activity` rows with `from <= report_hour < to` exactly `rows`, inside the
/// caller's transaction. The range's stored rows are read first: a row whose every column
/// already holds what would be written is left alone (a rebuild mostly recomputes rows that
/// did not change, and reading them costs the server a fraction of rewriting them), a
/// changed one is overwritten in place (one upsert, no delete-then-insert), and a stored row
/// that no longer qualifies is deleted by key. An empty range gets plain inserts.
pub(super) fn write_activity<B: Backend + ?Sized>(
    b: &mut B,
    from: i64,
    to: i64,
    rows: &[ActivityRow],
) -> Result<()> {
    let t = &table::AGENT_ACTIVITY;
    let is_int = t.int_columns();
    let mut stored: HashMap<(String, i64), Vec<Cell<'static>>> = HashMap::new();
    b.query(
        &format!(
            "SELECT {} FROM agent_activity WHERE report_hour >= ? AND report_hour < ?",
            t.column_list()
        ),
        &[Cell::Int(from), Cell::Int(to)],
        &mut |r| {
            let row = read_cells(r, &is_int)?;
            let key = match (&row[0], &row[1]) {
                (Cell::Text(ext), Cell::Int(hour)) => (ext.to_string(), *hour),
                _ => return Err(Error::db("an agent_activity row without its key")),
            };
            stored.insert(key, row);
            Ok(())
        },
    )?;
    let replace = !stored.is_empty();
    // The changed rows stream to the insert as they are encoded: collected, their cells
    // were the peak of a queue_log load's memory (15 MB of a 36 MB heap for 100 k lines,
    // valgrind massif; issue 27). A stale key is none of `rows`', so deleting the stale
    // rows after the writes meets no written key.
    let mut changed = rows.iter().filter_map(|r| {
        let cells = rows::encode_activity(r);
        // Borrowed lookups would need a second key type; the clone is per written row.
        let same = stored
            .remove(&(r.agent_ext.clone(), r.report_hour))
            .is_some_and(|old| old == cells);
        (!same).then_some(cells)
    });
    b.write_rows(t, replace, &mut changed, &mut |_| {})?;
    let stale: Vec<&(String, i64)> = stored.keys().collect();
    for chunk in stale.chunks(IN_LIST_MAX) {
        let one = "(agent_ext = ? AND report_hour = ?)";
        let sql = format!(
            "DELETE FROM agent_activity WHERE {}",
            vec![one; chunk.len()].join(" OR ")
        );
        let args: Vec<Cell<'_>> = chunk
            .iter()
            .flat_map(|(ext, hour)| [Cell::text(ext), Cell::Int(*hour)])
            .collect();
        b.exec(&sql, &args)?;
    }
    Ok(())
}

/// Replaces `agent_live` whole by `live`, inside the caller's transaction (after the
/// batch's hourly rows are written), each agent with the sums of its day's rows as they
/// stand: summed once per aggregation here rather than on every look at the board.
pub(super) fn write_live<B: Backend + ?Sized>(b: &mut B, live: &[LiveAgent]) -> Result<()> {
    let t = &table::AGENT_LIVE;
    let mut days: HashMap<i64, HashMap<String, DayFigures>> = HashMap::new();
    for day in live.iter().map(|a| a.day_start) {
        if days.contains_key(&day) {
            continue;
        }
        let mut sums = HashMap::new();
        b.query(
            "SELECT agent_ext, SUM(answered_calls), SUM(talk_secs), SUM(hold_secs), \
             SUM(wrap_up_secs), SUM(productive_secs + non_productive_secs), SUM(dnd_secs) \
             FROM agent_activity WHERE report_hour >= ? AND report_hour < ? GROUP BY agent_ext",
            // An agent's rows end at its source's data until, which lies in this day: 25 hours
            // (the longest local day) reach its end without a zone here.
            &[Cell::Int(day), Cell::Int(day + 25 * 3600)],
            &mut |r| {
                sums.insert(
                    r.text(0)?,
                    DayFigures {
                        answered: r.int(1)?,
                        talk_secs: r.int(2)?,
                        hold_secs: r.int(3)?,
                        wrap_up_secs: r.int(4)?,
                        break_secs: r.int(5)?,
                        dnd_secs: r.int(6)?,
                    },
                );
                Ok(())
            },
        )?;
        days.insert(day, sums);
    }
    b.exec("DELETE FROM agent_live", &[])?;
    let head = format!("INSERT INTO agent_live ({})", t.column_list());
    b.insert_rows(
        &head,
        "",
        t.columns.len(),
        &mut live.iter().map(|a| {
            let mut cells = vec![
                Cell::text(&a.ext),
                Cell::text(table::clip(&a.name, 255)),
                Cell::text(&a.source),
                Cell::text(&a.state),
                Cell::text(table::clip(&a.reason, 128)),
                Cell::Int(a.since),
                Cell::Int(a.as_of),
                Cell::Int(a.day_start),
            ];
            let f = days
                .get(&a.day_start)
                .and_then(|d| d.get(&a.ext))
                .copied()
                .unwrap_or_default();
            cells.extend(
                [
                    f.answered,
                    f.talk_secs,
                    f.hold_secs,
                    f.wrap_up_secs,
                    f.break_secs,
                    f.dnd_secs,
                ]
                .map(Cell::Int),
            );
            cells
        }),
        &mut |_| {},
    )
}

/// Every row of `agent_live`, by extension.
pub(super) fn read_live<B: Backend + ?Sized>(b: &mut B) -> Result<Vec<LiveAgent>> {
    let mut out = Vec::new();
    b.query(
        &format!(
            "SELECT {} FROM agent_live ORDER BY agent_ext",
            table::AGENT_LIVE.column_list()
        ),
        &[],
        &mut |r| {
            out.push(LiveAgent {
                ext: r.text(0)?,
                name: r.text(1)?,
                source: r.text(2)?,
                state: r.text(3)?,
                reason: r.text(4)?,
                since: r.int(5)?,
                as_of: r.int(6)?,
                day_start: r.int(7)?,
                today: DayFigures {
                    answered: r.int(8)?,
                    talk_secs: r.int(9)?,
                    hold_secs: r.int(10)?,
                    wrap_up_secs: r.int(11)?,
                    break_secs: r.int(12)?,
                    dnd_secs: r.int(13)?,
                },
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// The report's query: rows of [`table::AGENT_ACTIVITY`] selected by `filter`, in
/// `report_hour` then extension order, with its parameters (never SQL built from input).
pub(crate) fn activity_query(filter: &ActivityFilter, dialect: Dialect) -> (String, Vec<Cell<'_>>) {
    let mut sql = format!(
        "SELECT {} FROM agent_activity WHERE report_hour_local >= ? AND report_hour_local < ?",
        table::AGENT_ACTIVITY.column_list()
    );
    if !filter.exts.is_empty() {
        // The unary `+` keeps SQLite from choosing the primary key on `agent_ext` and then
        // sorting everything it found; `agent_ext` is part of the `agent_activity_local` key,
        // so the filter is checked on the index walk. MySQL reads `+x` as `x`; PostgreSQL
        // has no unary `+` on text (and plans by its statistics).
        let plus = if dialect == Dialect::Postgres {
            ""
        } else {
            "+"
        };
        sql.push_str(&format!(
            " AND {plus}agent_ext IN ({})",
            placeholders(filter.exts.len())
        ));
    }
    // The same order as `report_hour, agent_ext` (an hour start's local label never
    // decreases as time goes on; the two starts of a repeated fall-back hour share one label
    // and are told apart by `report_hour`), but it is the order of the `agent_activity_local`
    // key, so the rows stream from the index instead of being sorted first.
    sql.push_str(" ORDER BY report_hour_local, report_hour, agent_ext");
    let mut cells = vec![Cell::text(&filter.from_local), Cell::text(&filter.to_local)];
    cells.extend(filter.exts.iter().map(|e| Cell::text(e)));
    (sql, cells)
}
