//! Sources: where agent events and call statistics come from. `upstream` decodes the
//! platform's JSON; `replay` reads a directory of recorded responses (SPEC §3.5).

pub mod queue_log;
pub mod upstream;
