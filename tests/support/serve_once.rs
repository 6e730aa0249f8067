//! One request to `apr serve-once`, as a test of a reading command makes it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

/// Runs `cmd serve-once` on a free port, sends `GET path` and returns the status line and the
/// body; `cmd` is the `apr` binary with its database and settings. serve-once must exit 0.
pub fn get(mut cmd: Command, path: &str) -> (String, String) {
    let mut child = cmd
        .args(["serve-once", "--listen", "127.0.0.1:0", "--timeout", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(addr) = line.trim().strip_prefix("listening on http://") else {
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let _ = child.kill();
        panic!("serve-once did not start: {line:?} {err}");
    };
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    assert!(child.wait().unwrap().success());
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// The body of a chunked HTTP/1.1 response, its chunks joined.
pub fn dechunked(body: &str) -> String {
    let (mut out, mut rest) = (String::new(), body);
    loop {
        let (size, after) = rest.split_once("\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hexadecimal chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}
