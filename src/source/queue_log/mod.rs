//! Asterisk `queue_log` ingestion (SPEC §6): [`parse`] turns a line into fields,
//! [`rotation`] plans which files to read from each file's cursor (its checkpoint, stored in
//! `etl_state` as [`crate::model::state::Cursor`]),
//! [`reader`] reads the planned segments in chunks of complete lines, `admit` parses a
//! chunk and rejects what cannot be stored, [`derive`](mod@derive) turns lines into stints
//! (`queue_calls`), the agent timeline and per agent-hour call counts (agents named through
//! the [`agent_map`]), and [`load`] runs them over files into a store, one transaction per
//! chunk of lines.

mod admit;
pub mod agent_map;
pub mod derive;
pub mod load;
pub mod parse;
pub mod reader;
mod ring;
pub mod rotation;
