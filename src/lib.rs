//! apr: an ETL toolkit for contact-center agent performance reports.
//!
//! Data flows one way: `source` (platform HTTP, replay directory, Asterisk queue_log)
//! produces normalized records (`model`), `store` loads them idempotently into SQLite or
//! MySQL, `aggregate` turns the event timeline into hourly buckets, and `report` renders
//! them. `ops` holds what each command does (the use cases), callable without the command
//! line; `cli` holds one thin module per subcommand (parse, validate, call `ops`, print) and
//! is the only place that reads settings; the binary is a thin shell around it.

pub mod aggregate;
pub mod bounds;
pub mod cli;
pub mod config;
pub mod error;
pub mod hours;
pub mod mail;
pub mod model;
pub mod names;
pub mod ops;
pub mod plural;
pub mod report;
pub mod serve;
pub mod source;
pub mod store;
pub mod synth;

pub use error::{Error, Result};
