//! Commands run as cron runs them.

use std::process::Command;
use std::time::Duration;

/// Runs `cmd` as cron would: again a little later while another writer holds the write lock
/// (exit 75, SPEC §7.2; on a Galera cluster, its lease), until it succeeds; panics on any
/// other failure, or when the lock is still held after 600 tries.
pub fn run_as_cron(cmd: &mut Command) {
    for _ in 0..600 {
        let out = cmd.output().unwrap();
        match out.status.code() {
            Some(0) => return,
            Some(75) => std::thread::sleep(Duration::from_millis(50)),
            _ => panic!(
                "{:?}: {}",
                cmd.get_args().collect::<Vec<_>>(),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    panic!(
        "{:?}: the write lock was never free",
        cmd.get_args().collect::<Vec<_>>()
    );
}
