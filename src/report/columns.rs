//! The column tables of the agent and queue reports, below the request that ranks by them
//! (`--sort`) and the kinds that write them; and the wait buckets' defaults and parser.

use crate::error::{Error, Result};

use super::cell::{Column, col};

/// The columns of every agent report, in order.
pub const AGENT_COLUMNS: [Column; 27] = [
    col("Interval", "interval"),
    col("Date", "date"),
    col("Start Time", "start"),
    col("End Time", "end"),
    col("Ext", "ext"),
    col("Name", "name"),
    col("Available Time", "available_secs"),
    col("Productive Break", "productive_secs"),
    col("Non-Prod. Break", "non_productive_secs"),
    col("Login Time", "login_secs"),
    col("Logoff Time", "logoff_secs"),
    col("Idle Time", "idle_secs"),
    col("Total Calls", "total_calls"),
    col("Answered Calls", "answered_calls"),
    col("Failed Calls", "failed_calls"),
    col("AHT", "aht_secs"),
    col("Answer Rate (%)", "answer_rate_pct"),
    col("Lunch Time", "lunch_secs"),
    col("Tea/Coffee Break", "tea_coffee_secs"),
    col("Bio Break", "bio_break_secs"),
    col("Short Break", "short_break_secs"),
    col("Other NPT", "other_npt_secs"),
    col("Meeting Time", "meeting_secs"),
    col("Training Time", "training_secs"),
    col("Chat Time", "chat_secs"),
    col("Tickets Time", "tickets_secs"),
    col("Outbound Time", "outbound_secs"),
];

/// The columns `--extended` appends: the §7.4 ones, then the KPIs of §10.
pub const AGENT_EXTENDED_COLUMNS: [Column; 10] = [
    col("Talk Time", "talk_secs"),
    col("Hold Time", "hold_secs"),
    col("Wrap Up Time", "wrap_up_secs"),
    col("DND Time", "dnd_secs"),
    col("Unaccounted Time", "unaccounted_secs"),
    col("Idle Count", "idle_count"),
    col("Not Available Count", "not_available_count"),
    col("Complete", "complete"),
    col("Occupancy (%)", "occupancy_pct"),
    col("Utilization (%)", "utilization_pct"),
];

/// The columns of the queue report, in order; JSON adds the queue report's machine columns.
pub const QUEUE_COLUMNS: [Column; 18] = [
    col("Interval", "interval"),
    col("Date", "date"),
    col("Queue", "queue"),
    col("Offered", "offered"),
    col("Answered", "answered"),
    col("Abandoned", "abandoned"),
    col("Short Abandons", "short_abandons"),
    col("Timeouts", "timeouts"),
    col("Exit Key", "exit_key"),
    col("Exit Empty", "exit_empty"),
    col("Transferred", "transferred"),
    col("Incomplete", "incomplete"),
    col("Service Level (%)", "service_level_pct"),
    col("ASA", "asa_secs"),
    col("Avg Abandon Wait", "avg_abandon_wait_secs"),
    col("Max Wait", "max_wait_secs"),
    col("Avg Talk", "avg_talk_secs"),
    col("Abandon Rate (%)", "abandon_rate_pct"),
];

/// The buckets when `--buckets` is not given.
pub const DEFAULT_BUCKETS: [i64; 7] = [10, 20, 30, 45, 60, 90, 120];
/// Most limits `--buckets` takes.
pub const MAX_BUCKETS: usize = 24;

/// Parses `--buckets`: increasing whole seconds, comma-separated, at most [`MAX_BUCKETS`].
pub fn parse_buckets(s: &str, arg: &str) -> Result<Vec<i64>> {
    let bad = || {
        Error::usage(format!(
            "{arg} '{s}' is not a list of wait limits; expected up to {MAX_BUCKETS} increasing whole seconds, comma-separated, such as 10,20,30,45,60,90,120"
        ))
    };
    let mut out: Vec<i64> = Vec::new();
    for part in s.split(',') {
        let n: i64 = part.trim().parse::<u32>().map_err(|_| bad())?.into();
        if out.last().is_some_and(|&l| n <= l) || n > 86_400 {
            return Err(bad());
        }
        out.push(n);
    }
    if out.len() > MAX_BUCKETS {
        return Err(bad());
    }
    Ok(out)
}
