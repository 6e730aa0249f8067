//! The reliability matrix's shared machinery (issue 13): the heavy switch, seeded kill
//! schedules, and a kill that is proven to land mid-run.
//!
//! `APR_TEST_HEAVY=1` (set by `scripts/test.sh`) turns on the heavy schedules: 20 kills per
//! command and backend instead of 3, five overlap waves instead of one. Without it the same
//! tests run with a short schedule, so every one of them still runs (and can fail) in a
//! plain `cargo test`.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::rows::{Db, Poller};

/// Whether the heavy variants run (`APR_TEST_HEAVY=1`).
pub fn heavy() -> bool {
    std::env::var("APR_TEST_HEAVY").is_ok_and(|v| v.trim() == "1")
}

/// Kills per command and backend: 20 in the heavy run, else 3.
pub fn kill_count() -> usize {
    if heavy() { 20 } else { 3 }
}

/// `n` seeded points spread over `[lo, hi]` (sorted, so a failure names a reproducible
/// place in the run: the seed and the point).
pub fn schedule(seed: u64, n: usize, lo: u64, hi: u64) -> Vec<u64> {
    assert!(lo <= hi, "empty kill range {lo}..={hi}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut points: Vec<u64> = (0..n).map(|_| rng.u64(lo..=hi)).collect();
    points.sort_unstable();
    points
}

/// Bytes the process has written so far (`wchar` of `/proc/PID/io`: files, pipes and
/// sockets), `None` once it is gone.
pub fn written(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn apr")
}

/// Runs `cmd` to its end, watching how many bytes it writes; returns the most seen while it
/// ran — the scale of a write-based kill schedule. Panics if the run fails.
pub fn bytes_written_by(cmd: &mut Command) -> u64 {
    let mut child = spawn(cmd);
    let started = Instant::now();
    let mut most = 0;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the uninterrupted run failed: {status:?}");
            return most;
        }
        if let Some(w) = written(child.id()) {
            most = most.max(w);
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the uninterrupted run hangs"
        );
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Starts `cmd`, waits until `progress(pid)` says the run has got somewhere, and SIGKILLs it
/// there. `Ok` when the kill landed mid-run: the process was still running when progress
/// was seen and died of the signal. `Err` with the exit status when the run ended first.
pub fn try_kill_when(
    cmd: &mut Command,
    what: &str,
    mut progress: impl FnMut(u32) -> bool,
) -> Result<(), std::process::ExitStatus> {
    let mut child = spawn(cmd);
    let pid = child.id();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(status);
        }
        if progress(pid) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{what}: no progress"
        );
        std::thread::sleep(Duration::from_micros(500));
    }
    // SIGKILL straight away: no cleanup runs, whatever was committed is what is left.
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    if status.signal() == Some(9) {
        Ok(())
    } else {
        Err(status)
    }
}

/// [`try_kill_when`] that fails the test when the kill did not land mid-run.
pub fn kill_when(cmd: &mut Command, what: &str, progress: impl FnMut(u32) -> bool) {
    if let Err(status) = try_kill_when(cmd, what, progress) {
        panic!("{what}: the run ended ({status:?}) before the kill point");
    }
}

/// Kills the run `cmd()` starts once `progress(pid, point)` holds. A point the run outran
/// (how much a run writes varies with SQLite's WAL and the machine's load) is halved and
/// tried again, at most 4 times, on a fresh run; the test fails if no kill lands. Returns
/// the point where it landed.
pub fn kill_at(
    mut cmd: impl FnMut() -> Command,
    what: &str,
    point: u64,
    mut progress: impl FnMut(u32, u64) -> bool,
) -> u64 {
    let mut point = point;
    for _ in 0..4 {
        match try_kill_when(&mut cmd(), what, |pid| progress(pid, point)) {
            Ok(()) => return point,
            Err(_) => point /= 2,
        }
    }
    panic!("{what}: four runs ended before their kill point");
}

/// Kills `cmd(db)` on a database `fresh()` makes, once `progress(poller of db, point)`
/// holds: for runs whose progress shows in the database and that cannot be repeated on the
/// same one (a second run finds the work done). A point the run outran (it can commit much
/// between two polls) is halved and tried again on another fresh database, at most 4 times;
/// the test fails if no kill lands. Returns the killed database and the point.
pub fn kill_fresh_at(
    mut fresh: impl FnMut() -> Db,
    cmd: impl Fn(&Db) -> Command,
    what: impl Fn(u64) -> String,
    point: u64,
    mut progress: impl FnMut(&mut Poller, u64) -> bool,
) -> (Db, u64) {
    let mut at = point;
    for _ in 0..4 {
        let db = fresh();
        let mut poll = db.poller();
        if try_kill_when(&mut cmd(&db), &what(at), |_| progress(&mut poll, at)).is_ok() {
            return (db, at);
        }
        at /= 2;
    }
    panic!("{}: four runs ended before their kill point", what(at));
}

/// Most kills per command on PostgreSQL (see [`Backend::kills`]).
pub const POSTGRES_KILLS: usize = 6;

/// Where fresh databases come from: files in a temporary directory, or scratch databases
/// on the test MariaDB or PostgreSQL (kept until the test ends).
pub enum Backend {
    Sqlite(tempfile::TempDir, usize),
    Mysql(Vec<super::mysql::ScratchMysql>),
    Postgres(Vec<super::postgres::ScratchPostgres>),
}

impl Backend {
    pub fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().unwrap(), 0)
    }

    /// Scratch databases on the test MariaDB, made as they are needed.
    pub fn mysql() -> Backend {
        Backend::Mysql(Vec::new())
    }

    /// How many kills a schedule on this backend has: [`kill_count`], and at most
    /// [`POSTGRES_KILLS`] on PostgreSQL (the third backend keeps the suite's time bounded;
    /// MariaDB keeps the heavy schedule of the reliability matrix).
    pub fn kills(&self) -> usize {
        match self {
            Backend::Postgres(_) => kill_count().min(POSTGRES_KILLS),
            _ => kill_count(),
        }
    }

    /// Scratch databases on the test PostgreSQL, made as they are needed.
    pub fn postgres() -> Backend {
        Backend::Postgres(Vec::new())
    }

    /// A new database holding what `db` (of this backend) holds, table by table: for a
    /// test that needs the same loaded database again and again, loaded once.
    pub fn copy(&mut self, db: &Db) -> Db {
        if let (Backend::Postgres(scratch), Db::Postgres(from)) = (&mut *self, db) {
            // A database made from another as its template is a copy of it, sequences too.
            let name = from.rsplit('/').next().unwrap_or_default();
            scratch.push(super::postgres::ScratchPostgres::copy_of(name));
            return Db::Postgres(scratch.last().unwrap().url().to_string());
        }
        let copy = self.fresh();
        match (db, &copy) {
            (Db::Sqlite(from), Db::Sqlite(to)) => {
                // apr closes its database checkpointed; a WAL left over would be part of it.
                for suffix in ["", "-wal"] {
                    let from = format!("{}{suffix}", from.display());
                    if std::path::Path::new(&from).exists() {
                        std::fs::copy(&from, format!("{}{suffix}", to.display())).unwrap();
                    }
                }
            }
            (Db::Mysql(from), Db::Mysql(to)) => {
                use mysql::prelude::Queryable;
                let source = mysql::Opts::from_url(from).unwrap();
                let source = source.get_db_name().unwrap().to_string();
                let mut conn = mysql::Conn::new(mysql::Opts::from_url(to).unwrap()).unwrap();
                for table in db.tables() {
                    conn.query_drop(format!("CREATE TABLE `{table}` LIKE `{source}`.`{table}`"))
                        .unwrap();
                    conn.query_drop(format!(
                        "INSERT INTO `{table}` SELECT * FROM `{source}`.`{table}`"
                    ))
                    .unwrap();
                }
            }
            _ => unreachable!("a copy stays on its backend"),
        }
        copy
    }

    pub fn fresh(&mut self) -> Db {
        match self {
            Backend::Sqlite(dir, n) => {
                *n += 1;
                Db::Sqlite(dir.path().join(format!("db{n}.db")))
            }
            Backend::Mysql(scratch) => {
                scratch.push(super::mysql::ScratchMysql::new());
                Db::Mysql(scratch.last().unwrap().url().to_string())
            }
            Backend::Postgres(scratch) => {
                scratch.push(super::postgres::ScratchPostgres::new());
                Db::Postgres(scratch.last().unwrap().url().to_string())
            }
        }
    }
}
