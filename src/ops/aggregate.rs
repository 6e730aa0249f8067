//! Aggregation as a use case: `apr aggregate` over a validated scope, and the aggregation
//! the loading commands run after they commit.

use crate::aggregate::categories::StateMap;
use crate::aggregate::{AggregateOptions, AggregateSummary, DEFAULT_MAX_CARRY, Scope, aggregate};
use crate::error::Result;
use crate::hours::Zone;
use crate::store::Store;

/// Aggregates `scope` with the configured state map.
pub fn run(
    store: &mut dyn Store,
    zone: Zone,
    scope: Scope,
    max_carry: i64,
    state_map: &StateMap,
) -> Result<AggregateSummary> {
    let opts = AggregateOptions {
        scope,
        max_carry,
        state_map: state_map.clone(),
    };
    aggregate(store, zone, &opts)
}

/// Aggregates what a load just touched, with the default carry (used by the loading
/// commands after they commit).
pub fn after_load(
    store: &mut dyn Store,
    zone: Zone,
    state_map: &StateMap,
) -> Result<AggregateSummary> {
    run(store, zone, Scope::Dirty, DEFAULT_MAX_CARRY, state_map)
}
