//! `apr serve-once` (SPEC §7.5): answers exactly one HTTP request, then exits.

use std::time::Duration;

use clap::Args as ClapArgs;

use crate::cli::global::GlobalArgs;
use crate::cli::serve::{ServerArgs, block_on};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Exit 1 when no request has come within SECS
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let cfg = args.server.config(global)?;
    // A database that does not exist is an error at start (exit 2), not a 503 per request.
    global.open_read_only()?;
    let timeout = args.timeout.map(Duration::from_secs);
    Ok(block_on(crate::serve::run_once(cfg, timeout))?)
}
