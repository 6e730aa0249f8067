//! `apr status [--format text|json] [--max-age SPAN]` (SPEC §12): where apr stands, read
//! only. With `--max-age` it is a monitoring check: one line, exit 1 when the last
//! successful collect or queue_log load is older than the span.

use std::io::Write;

use clap::Args as ClapArgs;

use crate::cli::global::GlobalArgs;
use crate::error::Error;
use crate::hours::{Zone, parse_span};
use crate::status::{check_fresh, gather, render_json, render_text};
use crate::store::maintenance::Conn;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// text, or json for programs
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub format: String,
    /// Check only: exit 1 with one line when the last successful collect or queue_log load
    /// is older than this (30m, 2h)
    #[arg(long, value_name = "SPAN")]
    pub max_age: Option<String>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let json = match args.format.trim().to_ascii_lowercase().as_str() {
        "text" => false,
        "json" => true,
        _ => {
            return Err(Error::usage(format!(
                "--format '{}' is not a status format; expected text or json",
                args.format
            ))
            .into());
        }
    };
    let max_age = args
        .max_age
        .as_deref()
        .map(|s| parse_span(s, "--max-age").map(|secs| (secs, s.trim())))
        .transpose()?;
    let state_map = global.settings.state_map()?;
    let zone = global.zone_choice().parse()?.unwrap_or_else(Zone::system);
    let mut store = global.open_read_only()?;
    let mut conn = Conn::new(store.sql());
    let now = chrono::Utc::now().timestamp();
    let status = gather(&mut conn, zone, &state_map, now)?;
    if let Some((secs, text)) = max_age {
        return match check_fresh(&status, secs, text) {
            Ok(line) if json => print(&format!(
                "{}\n",
                serde_json::json!({"status": "ok", "message": line})
            )),
            Ok(line) => {
                global.summary(line);
                Ok(())
            }
            Err(stale) => Err(anyhow::anyhow!(stale)),
        };
    }
    let text = if json {
        format!("{:#}\n", render_json(&status))
    } else {
        render_text(&status)
    };
    print(&text)
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))?;
    Ok(())
}
