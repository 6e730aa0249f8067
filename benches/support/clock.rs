//! Wall and CPU time since a start, for the benches. CPU time (this process, user + system,
//! from `/proc/self/stat`) is what figures compare on a shared machine, where wall time
//! follows the other processes' load.

use std::time::Instant;

pub struct Clock {
    pub wall: Instant,
    pub cpu: f64,
}

/// This process's CPU seconds so far (0 where `/proc` is not mounted).
pub fn cpu_secs() -> f64 {
    proc_cpu_secs(std::process::id())
}

/// CPU seconds (user + system) of process `pid` so far, from `/proc/PID/stat`.
pub fn proc_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 (utime, stime) in clock ticks of 1/100 s; `after` starts at field 3.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// The local MariaDB server's process, for its CPU over a stage: `APR_BENCH_MYSQLD_PID`,
/// else the first process named `mariadbd` or `mysqld` (local servers only).
#[allow(dead_code)]
pub fn server_pid() -> Option<u32> {
    if let Ok(pid) = std::env::var("APR_BENCH_MYSQLD_PID") {
        return pid.trim().parse().ok();
    }
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        matches!(comm.trim(), "mariadbd" | "mysqld").then_some(pid)
    })
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: cpu_secs(),
        }
    }

    /// (wall seconds, CPU seconds) since the start.
    #[allow(dead_code)]
    pub fn elapsed(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64(), cpu_secs() - self.cpu)
    }
}

/// A stage's wall time, this process's CPU and, where given, a server process's CPU.
#[allow(dead_code)]
pub struct Stage {
    clock: Clock,
    server: Option<(u32, f64)>,
}

#[allow(dead_code)]
impl Stage {
    pub fn start(server: Option<u32>) -> Stage {
        Stage {
            server: server.map(|pid| (pid, proc_cpu_secs(pid))),
            clock: Clock::start(),
        }
    }

    pub fn wall_secs(&self) -> f64 {
        self.clock.wall.elapsed().as_secs_f64()
    }

    /// "CPU: apr 1.20s, server 0.80s" (the server's whole CPU: other clients count too).
    pub fn cpu(&self) -> String {
        let (_, apr) = self.clock.elapsed();
        match self.server {
            Some((pid, before)) => format!(
                "CPU: apr {apr:.2}s, server {:.2}s",
                proc_cpu_secs(pid) - before
            ),
            None => format!("CPU: apr {apr:.2}s"),
        }
    }
}
