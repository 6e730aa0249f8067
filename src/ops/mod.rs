//! The use cases: what a command does, in the library, so that the CLI, `serve`, tests and
//! benches call the same code without importing `cli`. Each takes typed values the CLI
//! validated (no settings, no environment), reports progress through a
//! [`crate::model::Reporter`] and returns a typed summary; printing, prompting and exit codes
//! stay in `cli`.

pub mod aggregate;
pub mod collect;
pub mod follow;
pub mod freshness;
pub mod ingest;
pub mod init_load;
pub mod open;
pub mod parse_queue_log;
pub mod prune;
pub mod status;
pub mod upstream;
pub mod zone;
