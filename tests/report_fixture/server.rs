//! A server process (`apr serve-once` / `apr serve`) on 127.0.0.1 port 0 for HTTP tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

pub const APR: &str = env!("CARGO_BIN_EXE_apr");

/// A running server process; killed on drop if still running.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Starts `apr ARGS --listen 127.0.0.1:0` on the SQLite database `db`.
    pub fn start(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_url(&format!("sqlite://{}", db.display()), args, env)
    }

    /// Starts `apr ARGS --listen 127.0.0.1:0` (unless ARGS has a `--listen`) with
    /// `APR_DATABASE_URL=url` and reads the bound address it prints first.
    pub fn start_url(url: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(APR);
        cmd.env_remove("APR_TIMEZONE")
            .env_remove("APR_SERVE_TOKEN")
            .env_remove("APR_CORS_ORIGINS")
            .env("APR_DATABASE_URL", url)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // ARGS may name their own address (`--listen localhost:0`).
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Waits for the process to exit; returns its status and stderr.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status, err)
    }

    pub fn raw(&self, request: &[u8]) -> String {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.write_all(request).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `apr report ARGS` prints for the SQLite database at `db`, in the zone it records.
pub fn apr_report(db: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(APR)
        .env_remove("APR_TIMEZONE")
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

/// An HTTP client that never goes through a proxy from the environment: only 127.0.0.1 is
/// ever called.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
