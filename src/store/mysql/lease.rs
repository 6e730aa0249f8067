//! The write lease: a row of `apr_meta` every node of a Galera cluster sees (`GET_LOCK` is
//! node-local there, so two collectors on two nodes would both run). Its value is
//! `HOLDER NODE EXPIRES_MS`: who holds it (host/pid/random, unique per process), on which
//! server (`@@hostname:@@port`) and until when (the server's clock, milliseconds).
//!
//! Taken in a transaction that writes the row, so two takers on two nodes conflict at
//! certification and one of them loses; renewed by a thread of the holder's own (a
//! connection beside the store's) and by every write transaction of the holder just before
//! its `COMMIT` (see [`RENEW`]), which therefore fails when another process has taken the
//! lease over: a holder that lost its lease stops before its next write lands. Released on
//! exit; a killed holder's lease is taken over once it expires, or at once from the same
//! server, where the node-local `GET_LOCK` the taker already holds proves the old holder gone
//! (so a single server behaves as with `GET_LOCK` alone).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, Value};

use crate::error::Error;

/// A taker of the write lease that failed at `COMMIT` with one of these lost to another
/// taker: a deadlock or a certification conflict (1213), a lock wait (1205), a duplicate
/// first insert (1062).
const LEASE_RACE_LOST: [u16; 3] = [1213, 1205, 1062];

/// The refusal of a writer whose lease another process holds.
pub(super) fn lease_busy() -> Error {
    Error::Locked(
        "another apr collect is running (or another command writing to this database, on \
         this server or another of its cluster); try again when it finishes"
            .into(),
    )
}

/// The `apr_meta` key of the lease for the lock `name`, capped as the column's width.
pub(super) fn lease_key(name: &str) -> String {
    super::lock::capped(format!("lease.{name}"))
}

/// The server's clock in milliseconds, and this server's name among the cluster's nodes.
const NOW_AND_NODE: &str =
    "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED), CONCAT(@@hostname, ':', @@port)";

/// Renews the lease held by `HOLDER NODE` (the 1st and 4th parameters) for the period (2nd,
/// milliseconds) under its key (3rd). The new expiry is always later than the stored one, so
/// the row always changes: the affected count is 1 exactly when the caller still holds it,
/// and the row is in the transaction's write set (certified against a concurrent takeover).
const RENEW: &str = "UPDATE apr_meta SET meta_value = CONCAT(?, ' ', GREATEST(\
     CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) + ?, \
     CAST(SUBSTRING_INDEX(meta_value, ' ', -1) AS SIGNED) + 1)) \
     WHERE meta_key = ? AND SUBSTRING_INDEX(meta_value, ' ', 2) = ?";

/// Removes the lease if the caller (`HOLDER NODE`, 2nd parameter) still holds it.
pub(super) const RELEASE: &str =
    "DELETE FROM apr_meta WHERE meta_key = ? AND SUBSTRING_INDEX(meta_value, ' ', 2) = ?";

/// A stored lease value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    pub holder: String,
    pub node: String,
    pub expires_ms: i64,
}

impl Stored {
    pub fn parse(value: &str) -> Option<Stored> {
        let mut parts = value.split(' ');
        let (holder, node, expires) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || holder.is_empty() || node.is_empty() {
            return None;
        }
        Some(Stored {
            holder: holder.to_string(),
            node: node.to_string(),
            expires_ms: expires.parse().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        format!("{} {} {}", self.holder, self.node, self.expires_ms)
    }
}

/// Whether a process on `node`, at the server time `now_ms`, holding `node`'s `GET_LOCK` of
/// the same name, may take the lease stored as `stored`: when none is stored (or it is not a
/// lease apr wrote), when it has expired, or when its holder was on the same server (that
/// holder would still hold the node-local lock if it were alive).
fn may_take(stored: Option<&str>, node: &str, now_ms: i64) -> bool {
    match stored.map(Stored::parse) {
        None | Some(None) => true,
        Some(Some(s)) => s.node == node || s.expires_ms <= now_ms,
    }
}

/// This process's name as a lease holder: host, pid and a random part (a pid is reused, and
/// two machines may run the same pid), without spaces.
fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().replace(' ', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!("{host}/{}/{:016x}", std::process::id(), fastrand::u64(..))
}

/// The lease this connection holds, renewed in the background while it lives.
pub(super) struct Held {
    pub key: String,
    /// `HOLDER NODE`, the stored value's first two fields.
    pub ident: String,
    pub period: Duration,
    /// Dropping it stops the renewal thread.
    _renewer: Sender<()>,
}

impl Held {
    /// Starts renewing the lease on `conn` (a connection of its own) every third of the
    /// period, until the returned [`Held`] is dropped or the lease is found lost.
    pub fn start(conn: Conn, key: String, ident: String, period: Duration) -> Held {
        let (tx, rx) = channel();
        let (k, i) = (key.clone(), ident.clone());
        std::thread::spawn(move || renew_until_dropped(conn, &rx, &k, &i, period));
        Held {
            key,
            ident,
            period,
            _renewer: tx,
        }
    }

    /// The parameters of [`RENEW`].
    pub fn renew_params(&self) -> Vec<Value> {
        renew_params(&self.key, &self.ident, self.period)
    }
}

/// The parameters of [`RENEW`] for the lease under `key` held by `ident`.
fn renew_params(key: &str, ident: &str, period: Duration) -> Vec<Value> {
    vec![
        Value::from(ident),
        Value::from(period_ms(period)),
        Value::from(key),
        Value::from(ident),
    ]
}

fn period_ms(period: Duration) -> i64 {
    i64::try_from(period.as_millis()).unwrap_or(i64::MAX / 2)
}

/// The renewal thread: a failed renewal (the server unreachable a moment) is tried again at
/// the next beat; a lease found taken over ends it (the holder's next write fails on
/// [`RENEW`]).
fn renew_until_dropped(
    mut conn: Conn,
    stop: &Receiver<()>,
    key: &str,
    ident: &str,
    period: Duration,
) {
    let beat = (period / 3).max(Duration::from_millis(100));
    loop {
        match stop.recv_timeout(beat) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if let Ok(false) = renew(&mut conn, renew_params(key, ident, period)) {
            return;
        }
    }
}

/// Takes the write lease under `key` for `period` in a transaction of its own on `conn`:
/// this process's `HOLDER NODE` when it took it; `None` when another process holds it, or
/// won it in the same instant (the loser of a certification conflict, or of a duplicate
/// first insert, fails at `COMMIT`).
pub(super) fn take(conn: &mut Conn, key: &str, period: Duration) -> mysql::Result<Option<String>> {
    conn.query_drop("START TRANSACTION")?;
    let written = write(conn, key, period);
    let ident = match written {
        Ok(Some(ident)) => ident,
        Ok(None) => {
            conn.query_drop("ROLLBACK")?;
            return Ok(None);
        }
        Err(e) => {
            let _ = conn.query_drop("ROLLBACK");
            return Err(e);
        }
    };
    match conn.query_drop("COMMIT") {
        Ok(()) => Ok(Some(ident)),
        Err(mysql::Error::MySqlError(m)) if LEASE_RACE_LOST.contains(&m.code) => {
            let _ = conn.query_drop("ROLLBACK");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Inside [`take`]'s transaction: writes this process as the holder when it may take the
/// lease ([`may_take`]), and returns its `HOLDER NODE`; else `None`.
fn write(conn: &mut Conn, key: &str, period: Duration) -> mysql::Result<Option<String>> {
    let stored: Option<String> = conn.exec_first(
        "SELECT meta_value FROM apr_meta WHERE meta_key = ? FOR UPDATE",
        (key,),
    )?;
    let Some((now_ms, node)) = conn.query_first::<(i64, String), _>(NOW_AND_NODE)? else {
        return Ok(None);
    };
    // The stored value's fields are separated by spaces.
    let node = node.replace(' ', "_");
    if !may_take(stored.as_deref(), &node, now_ms) {
        return Ok(None);
    }
    let lease = Stored {
        holder: holder_name(),
        node,
        expires_ms: now_ms + period_ms(period),
    };
    conn.exec_drop(
        "INSERT INTO apr_meta (meta_key, meta_value) VALUES (?, ?) \
         ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value)",
        (key, lease.encode()),
    )?;
    Ok(Some(format!("{} {}", lease.holder, lease.node)))
}

/// Inside a write transaction of the holder, just before its `COMMIT`: renews the lease
/// ([`RENEW`] with `params`, [`Held::renew_params`]); `false` when it was taken over.
pub(super) fn renew(conn: &mut Conn, params: Vec<Value>) -> mysql::Result<bool> {
    conn.exec_drop(RENEW, params)?;
    Ok(conn.affected_rows() > 0)
}

/// The error of a holder that found its lease taken over at a commit.
pub(super) fn lease_lost(shown: &str) -> Error {
    Error::Locked(format!(
        "MySQL database {shown}: this run's write lease expired and another apr command took \
         it over; nothing more was written; run again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_taken_when_free_expired_or_left_on_the_same_server() {
        let held = "h/1/ab n1:3306 5000";
        assert!(may_take(None, "n1:3306", 1000));
        assert!(may_take(Some("garbage"), "n1:3306", 1000));
        assert!(!may_take(Some(held), "n2:3306", 4999));
        assert!(may_take(Some(held), "n2:3306", 5000));
        assert!(may_take(Some(held), "n1:3306", 1000));
    }

    #[test]
    fn stored_values_read_back_and_refuse_other_shapes() {
        let s = Stored::parse("host/42/00ff db1:3306 1700000000123").unwrap();
        assert_eq!(s.holder, "host/42/00ff");
        assert_eq!(s.node, "db1:3306");
        assert_eq!(s.expires_ms, 1_700_000_000_123);
        assert_eq!(Stored::parse(&s.encode()), Some(s));
        assert_eq!(Stored::parse("a b"), None);
        assert_eq!(Stored::parse("a b c d"), None);
        assert_eq!(Stored::parse("a b x"), None);
        assert_eq!(Stored::parse(" b 1"), None);
    }

    #[test]
    fn holder_names_are_unique_per_call_and_have_no_spaces() {
        let (a, b) = (holder_name(), holder_name());
        assert_ne!(a, b);
        assert!(!a.contains(' '), "{a}");
        assert!(a.contains(&format!("/{}/", std::process::id())), "{a}");
    }

    #[test]
    fn lease_keys_fit_apr_meta_and_stay_distinct() {
        assert_eq!(lease_key("write"), "lease.write");
        let (a, b) = (lease_key(&"x".repeat(100)), lease_key(&"y".repeat(100)));
        assert_eq!(a.chars().count(), 64);
        assert!(a.starts_with("lease.xxx"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, lease_key(&"x".repeat(100)));
    }
}
