//! The use cases: what a command does, callable by the CLI, `serve`, tests and benches
//! without importing `cli`. Each takes typed, validated values and returns a typed summary;
//! printing, prompting and exit codes stay in `cli`.

pub mod aggregate;
pub mod prune;
pub mod status;
