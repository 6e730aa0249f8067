//! Asterisk `queue_log` ingestion (SPEC §6): [`parse`] turns a line into fields, [`reader`]
//! reads files incrementally behind a per-file cursor, [`derive`] turns lines into stints
//! (`queue_calls`), the agent timeline and per agent-hour call counts, and [`load`] runs
//! the three over files into a store, one transaction per chunk of lines.

pub mod derive;
pub mod load;
pub mod parse;
pub mod reader;

pub use derive::{AgentMap, DeriveConfig, Deriver, DeriverState, Outcome, Stint};
pub use parse::{EventKind, LineError, QueueLogLine, parse_line};
