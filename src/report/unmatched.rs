//! Why a report came out empty when its range has data: the filters (`--ext`, `--queue`,
//! `--outcome`) that matched nothing, found by rendering the report again without them into
//! a sink that keeps nothing. Only an empty report pays for this.

use crate::error::Result;
use crate::hours::Zone;
use crate::store::Store;

use super::args::{ArgNames, Field};
use super::cell::{Cell, Column, ReportMeta, RowKind};
use super::request::ReportRequest;
use super::sink::RowSink;

/// Counts rows and keeps nothing.
struct Discard;

impl RowSink for Discard {
    fn header(&mut self, _meta: &ReportMeta, _columns: &[Column]) -> Result<()> {
        Ok(())
    }
    fn row(&mut self, _kind: RowKind, _cells: &[Cell<'_>]) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A filter a request may carry.
#[derive(Clone, Copy)]
enum Filter {
    Ext,
    Queue,
    Outcome,
}

impl Filter {
    const ALL: [Filter; 3] = [Filter::Ext, Filter::Queue, Filter::Outcome];

    fn field(self) -> Field {
        match self {
            Filter::Ext => Field::Ext,
            Filter::Queue => Field::Queue,
            Filter::Outcome => Field::Outcome,
        }
    }

    /// The filter's values as the user could have typed them, or `None` when not given.
    fn given(self, req: &ReportRequest) -> Option<String> {
        let list = match self {
            Filter::Ext => req.exts.join(","),
            Filter::Queue => req.queue_names.join(","),
            Filter::Outcome => {
                let names: Vec<&str> = req.outcomes.iter().map(|o| o.as_str()).collect();
                names.join(",")
            }
        };
        (!list.is_empty()).then_some(list)
    }

    /// Sets this filter of `into` to what it is in `from`.
    fn copy(self, from: &ReportRequest, into: &mut ReportRequest) {
        match self {
            Filter::Ext => into.exts.clone_from(&from.exts),
            Filter::Queue => into.queue_names.clone_from(&from.queue_names),
            Filter::Outcome => into.outcomes.clone_from(&from.outcomes),
        }
    }

    fn clear(self, req: &mut ReportRequest) {
        match self {
            Filter::Ext => req.exts.clear(),
            Filter::Queue => req.queue_names.clear(),
            Filter::Outcome => req.outcomes.clear(),
        }
    }
}

fn rows(store: &mut dyn Store, zone: Zone, req: &ReportRequest) -> Result<u64> {
    Ok(super::render(store, zone, req, &mut Discard)?.rows)
}

/// For a report `req` that had no rows: the filters that matched nothing, as the user named
/// them (`--ext 9999`; `--ext 3012 and --queue sales together` when each alone matches
/// something), or `None` when no filter was given or the range has no data without them.
pub fn unmatched_filters(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    names: ArgNames,
) -> Result<Option<String>> {
    let given: Vec<(Filter, String)> = Filter::ALL
        .into_iter()
        .filter_map(|f| f.given(req).map(|v| (f, v)))
        .collect();
    let mut unfiltered = req.clone();
    for (f, _) in &given {
        f.clear(&mut unfiltered);
    }
    if given.is_empty() || rows(store, zone, &unfiltered)? == 0 {
        return Ok(None);
    }
    let named = |(f, v): &(Filter, String)| format!("{} {v}", names.name(f.field()));
    if let [one] = given.as_slice() {
        return Ok(Some(named(one)));
    }
    for filter in &given {
        let mut alone = unfiltered.clone();
        filter.0.copy(req, &mut alone);
        if rows(store, zone, &alone)? == 0 {
            return Ok(Some(named(filter)));
        }
    }
    let all: Vec<String> = given.iter().map(named).collect();
    Ok(Some(format!("{} together", all.join(" and "))))
}
