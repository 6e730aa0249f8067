//! A small SMTP server on 127.0.0.1 (port 0) for mail tests: EHLO, AUTH PLAIN, MAIL,
//! RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT. It records each accepted message
//! with its envelope, and can be told to refuse recipients the way a real server does
//! (`550 5.1.1`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One message the server accepted.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The decoded `AUTH PLAIN` credentials: (user, password).
    pub auth: Option<(String, String)>,
    /// The message as sent after DATA, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
}

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    /// Starts a server that accepts every message.
    pub fn start() -> SmtpServer {
        SmtpServer::with_refusal(false)
    }

    /// Starts a server that refuses every recipient when `refuse` is set.
    pub fn with_refusal(refuse: bool) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, refuse, &sink);
                });
            }
        });
        SmtpServer { port, received }
    }

    pub fn url(&self, userinfo: &str) -> String {
        format!("smtp://{userinfo}127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn session(stream: TcpStream, refuse: bool, sink: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let mut reply = |line: &str| out.write_all(format!("{line}\r\n").as_bytes());
    reply("220 test.smtp ESMTP ready")?;
    let mut current = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            reply("250-test.smtp")?;
            reply("250-AUTH PLAIN")?;
            reply("250 8BITMIME")?;
        } else if upper.starts_with("HELO") {
            reply("250 test.smtp")?;
        } else if let Some(payload) = upper.strip_prefix("AUTH PLAIN ") {
            let payload = &cmd[cmd.len() - payload.len()..];
            let decoded = base64_decode(payload.trim());
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            if parts.len() == 3 {
                current.auth = Some((
                    String::from_utf8_lossy(parts[1]).into_owned(),
                    String::from_utf8_lossy(parts[2]).into_owned(),
                ));
                reply("235 2.7.0 authenticated")?;
            } else {
                reply("501 5.5.2 malformed AUTH PLAIN")?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            current.mail_from = address(cmd);
            reply("250 2.1.0 ok")?;
        } else if upper.starts_with("RCPT TO:") {
            if refuse {
                reply("550 5.1.1 mailbox unavailable")?;
            } else {
                current.rcpt_to.push(address(cmd));
                reply("250 2.1.5 ok")?;
            }
        } else if upper == "DATA" {
            reply("354 end with <CRLF>.<CRLF>")?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if input.read_until(b'\n', &mut l)? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                // Dot-unstuffing (RFC 5321 §4.5.2).
                let l = if l.starts_with(b"..") {
                    &l[1..]
                } else {
                    &l[..]
                };
                data.extend_from_slice(l);
            }
            current.data = data;
            sink.lock().unwrap().push(std::mem::take(&mut current));
            reply("250 2.0.0 queued")?;
        } else if upper == "RSET" {
            current = Received::default();
            reply("250 2.0.0 ok")?;
        } else if upper == "NOOP" {
            reply("250 2.0.0 ok")?;
        } else if upper == "QUIT" {
            reply("221 2.0.0 bye")?;
            return Ok(());
        } else {
            reply("502 5.5.1 command not implemented")?;
        }
    }
}

/// The address inside `<...>` of a MAIL/RCPT command.
fn address(cmd: &str) -> String {
    let start = cmd.find('<').map_or(0, |i| i + 1);
    let end = cmd[start..].find('>').map_or(cmd.len(), |i| start + i);
    cmd[start..end].to_string()
}

/// Standard base64 (with padding), enough for AUTH PLAIN.
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
