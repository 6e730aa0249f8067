//! One queue_log line of arbitrary bytes through `parse_line`, with the oracle the normal
//! suite's proptest uses (tests/support/hostile.rs): no panic, and a parsed line's fields
//! give the line back. `cargo +nightly fuzz run queue_log_line` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Shared with the normal suite; each target uses its own part of it.
#[allow(dead_code)]
#[path = "../../tests/support/hostile.rs"]
mod hostile;

fuzz_target!(|data: &[u8]| {
    let zone = apr::hours::Zone::parse("Asia/Dubai").unwrap();
    hostile::check_queue_log_line(data, zone);
});
