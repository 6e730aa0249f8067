//! Mailing a rendered report (SPEC §12): one message to the recipients through an SMTP
//! server (lettre), with the report's bytes attached unchanged (base64, so not even line
//! ends are touched) and, for an HTML report, the report in the mail look as the message
//! body, its charts as inline PNG images.
//!
//! Transport security follows the URL: `smtps://` is TLS from the first byte, `smtp://` to
//! any host but a loopback one must upgrade with STARTTLS (lettre refuses to send anything,
//! credentials included, when the server does not offer it), and only `smtp://` to loopback
//! (a local relay, the tests' server) may stay plain. The password never appears in a
//! message or a `Debug` dump.

use std::net::IpAddr;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::error::{Error, Result};
use crate::model::mail_body::MailBody;

/// How long one SMTP command may take before the delivery fails.
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the start (port 465 by default).
    Tls,
    /// `smtp://` to a non-loopback host: STARTTLS required (port 587 by default).
    StartTls,
    /// `smtp://` to a loopback host: no encryption (port 25 by default).
    Plain,
}

/// An SMTP server from `APR_SMTP_URL`: `smtps://user:pass@host:465` or `smtp://host:587`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl SmtpUrl {
    /// Parses the URL; `name` is what to call it in errors (`APR_SMTP_URL`).
    pub fn parse(s: &str, name: &str) -> Result<SmtpUrl> {
        let expected = "expected smtps://user:password@host:465 or smtp://user:password@host:587";
        let url = url::Url::parse(s.trim()).map_err(|_| {
            Error::config(format!(
                "{name} '{}' is not a URL; {expected}",
                crate::error::redact_url(s.trim())
            ))
        })?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => {
                return Err(Error::config(format!("{name} has no host; {expected}")));
            }
        };
        let security = match url.scheme() {
            "smtps" => Security::Tls,
            "smtp" if is_loopback(&host) => Security::Plain,
            "smtp" => Security::StartTls,
            other => {
                return Err(Error::config(format!(
                    "{name} scheme '{other}' is not smtp or smtps; {expected}"
                )));
            }
        };
        if url.path().len() > 1 || url.query().is_some() {
            return Err(Error::config(format!(
                "{name} has a path or query, which apr does not use; {expected}"
            )));
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| {
                Error::config(format!(
                    "{name}: the user or password is not valid percent-encoded UTF-8; {expected}"
                ))
            })
        };
        let username = (!url.username().is_empty())
            .then(|| decode(url.username()))
            .transpose()?;
        let password = url.password().map(decode).transpose()?;
        if password.is_some() && username.is_none() {
            return Err(Error::config(format!(
                "{name} has a password but no user; {expected}"
            )));
        }
        let port = url.port().unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::Plain => 25,
        });
        Ok(SmtpUrl {
            security,
            host,
            port,
            username,
            password,
        })
    }

    /// The URL for messages: scheme, user, host and port, never the password.
    pub fn redacted(&self) -> String {
        let scheme = match self.security {
            Security::Tls => "smtps",
            Security::StartTls | Security::Plain => "smtp",
        };
        let user = match (&self.username, &self.password) {
            (Some(u), Some(_)) => format!("{u}:***@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{user}{host}:{}", self.port)
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `%XX` sequences decoded; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Mail addresses from a comma-separated list (`--mail-to a@x,b@y`).
pub fn parse_addresses(s: &str, arg: &str) -> Result<Vec<Mailbox>> {
    let list: Vec<&str> = s
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    if list.is_empty() {
        return Err(Error::usage(format!(
            "{arg} is empty; expected addresses such as ops@example.com,lead@example.com"
        )));
    }
    list.into_iter()
        .map(|a| {
            a.parse::<Mailbox>().map_err(|_| {
                Error::usage(format!(
                    "{arg}: '{a}' is not a mail address; expected addresses such as ops@example.com"
                ))
            })
        })
        .collect()
}

/// A report ready to mail.
#[derive(Debug, Clone)]
pub struct ReportMail {
    /// Unique to this message ([`unique_id`]): its `Message-ID`, and what the Content-IDs of
    /// its images end in.
    pub id: String,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub subject: String,
    /// The plain-text body: what the report is and its headline figures. Beside an HTML
    /// body it is the `text/plain` alternative.
    pub text: String,
    /// The HTML body and its images (an HTML report); without it the body is `text` alone.
    pub html: Option<MailBody>,
    pub file_name: String,
    /// `Content-Type` of the report (`text/csv; charset=utf-8`, `text/html; charset=utf-8`, ...).
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl ReportMail {
    /// The MIME message, `multipart/mixed`: the body, then the report attached. The body is
    /// `text` alone or, with an HTML body, `multipart/alternative` of `text` and
    /// `multipart/related` (the HTML, then each image inline under its Content-ID), so a
    /// client that shows no HTML still shows the figures.
    pub fn message(&self) -> Result<Message> {
        let content_type = ContentType::parse(&self.content_type).map_err(|_| {
            Error::usage(format!(
                "the report's content type '{}' is not a MIME type",
                self.content_type
            ))
        })?;
        // Base64 keeps the attachment's bytes exact (a text encoding would rewrite line ends).
        let attached = Attachment::new(self.file_name.clone()).body(
            Body::new_with_encoding(self.bytes.clone(), ContentTransferEncoding::Base64)
                .map_err(|_| Error::usage("the report cannot be encoded for mail"))?,
            content_type,
        );
        let text = SinglePart::plain(self.text.clone());
        let body = match &self.html {
            Some(html) => {
                let png = ContentType::parse("image/png").expect("a MIME type");
                let related = html.images.iter().fold(
                    MultiPart::related().singlepart(SinglePart::html(html.html.clone())),
                    |related, image| {
                        related.singlepart(
                            Attachment::new_inline_with_name(
                                image.content_id.clone(),
                                image.file_name.clone(),
                            )
                            .body(image.png.clone(), png.clone()),
                        )
                    },
                );
                MultiPart::mixed()
                    .multipart(MultiPart::alternative().singlepart(text).multipart(related))
            }
            None => MultiPart::mixed().singlepart(text),
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(self.subject.clone())
            .message_id(Some(format!("<{}>", self.id)))
            .date_now();
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(body.singlepart(attached))
            .map_err(|e| Error::usage(format!("the mail cannot be built: {e}")))
    }
}

/// An identifier for one message in the sender's domain, `{time}.{random}.apr@{domain}`:
/// its `Message-ID` (lettre's own would name this machine's host name, often a
/// container's) and the end of its images' Content-IDs, unique by the time and a random
/// number.
pub fn unique_id(from: &Mailbox) -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // RandomState is seeded from the operating system's randomness.
    let mut random = std::collections::hash_map::RandomState::new().build_hasher();
    random.write_u128(nanos);
    format!(
        "{nanos:x}.{:016x}.apr@{}",
        random.finish(),
        from.email.domain()
    )
}

/// Sends `mail` through `server`. A refusal or an unreachable server is one line naming the
/// server (without password) and what it answered.
pub fn send(server: &SmtpUrl, mail: &ReportMail) -> Result<()> {
    let message = mail.message()?;
    let tls = |host: &str| {
        TlsParameters::new(host.to_string())
            .map_err(|e| Error::Mail(format!("cannot set up TLS for {}: {e}", server.redacted())))
    };
    let mut builder = SmtpTransport::builder_dangerous(server.host.as_str())
        .port(server.port)
        .timeout(Some(SMTP_TIMEOUT))
        .tls(match server.security {
            Security::Tls => Tls::Wrapper(tls(&server.host)?),
            Security::StartTls => Tls::Required(tls(&server.host)?),
            Security::Plain => Tls::None,
        });
    if let Some(user) = &server.username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            server.password.clone().unwrap_or_default(),
        ));
    }
    let recipients: Vec<String> = mail.to.iter().map(|m| m.email.to_string()).collect();
    builder.build().send(&message).map_err(|e| {
        Error::Mail(crate::error::one_line(&format!(
            "mailing the report to {} through {} failed: {e}",
            recipients.join(", "),
            server.redacted()
        )))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_pick_their_security_and_port() {
        let u = SmtpUrl::parse("smtps://bot%40x.com:p%40ss@mail.example.com", "U").unwrap();
        assert_eq!(u.security, Security::Tls);
        assert_eq!((u.host.as_str(), u.port), ("mail.example.com", 465));
        assert_eq!(u.username.as_deref(), Some("bot@x.com"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        let u = SmtpUrl::parse("smtp://mail.example.com", "U").unwrap();
        assert_eq!((u.security, u.port), (Security::StartTls, 587));
        for local in [
            "smtp://127.0.0.1:2525",
            "smtp://localhost",
            "smtp://[::1]:25",
        ] {
            assert_eq!(
                SmtpUrl::parse(local, "U").unwrap().security,
                Security::Plain,
                "{local}"
            );
        }
        // A remote plain-text URL is upgraded, never sent in clear.
        assert_eq!(
            SmtpUrl::parse("smtp://10.0.0.5:25", "U").unwrap().security,
            Security::StartTls
        );
    }

    #[test]
    fn bad_smtp_urls_are_named_without_the_password() {
        for bad in [
            "mail.example.com",
            "http://u:hunter2@mail.example.com",
            "smtps://u:hunter2@mail.example.com/x",
            "smtps://:hunter2@mail.example.com",
        ] {
            let e = SmtpUrl::parse(bad, "APR_SMTP_URL").unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.exit_code(), 2, "{msg}");
            assert!(msg.starts_with("APR_SMTP_URL"), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
    }

    #[test]
    fn the_password_never_shows() {
        let u = SmtpUrl::parse("smtps://bot:hunter2@mail.example.com:2465", "U").unwrap();
        assert_eq!(u.redacted(), "smtps://bot:***@mail.example.com:2465");
        assert!(!format!("{u:?}").contains("hunter2"));
    }

    #[test]
    fn addresses_are_checked() {
        let a = parse_addresses(" a@x.example , b@y.example,", "--mail-to").unwrap();
        assert_eq!(a.len(), 2);
        let e = parse_addresses("a@x.example,not-an-address", "--mail-to").unwrap_err();
        assert!(e.to_string().contains("'not-an-address'"), "{e}");
        assert_eq!(
            parse_addresses(" , ", "--mail-to").unwrap_err().exit_code(),
            2
        );
    }

    fn report_mail(content_type: &str, bytes: &str) -> ReportMail {
        let from: Mailbox = "Reports <reports@calls.example>".parse().unwrap();
        ReportMail {
            id: unique_id(&from),
            from,
            to: vec!["ops@example.com".parse().unwrap()],
            subject: "apr agents report".to_string(),
            text: "Calls answered by agents: 3 of 4\n".to_string(),
            file_name: "report.x".to_string(),
            content_type: content_type.to_string(),
            bytes: bytes.as_bytes().to_vec(),
            html: None,
        }
    }

    /// The `Content-Type` lines of a formatted message, in order.
    fn content_types(message: &Message) -> Vec<String> {
        String::from_utf8(message.formatted())
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("Content-Type: "))
            .map(|t| t.split(';').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn an_html_body_is_the_alternative_to_the_text_with_its_images_related_to_it() {
        let mut mail = report_mail("text/html; charset=utf-8", "<p>page</p>");
        mail.html = Some(MailBody {
            html: "<p><img src=\"cid:chart1.x@calls.example\"></p>".to_string(),
            images: ["chart1", "chart2"]
                .map(|name| crate::model::mail_body::InlineImage {
                    content_id: format!("{name}.x@calls.example"),
                    file_name: format!("{name}.png"),
                    png: b"\x89PNG\r\n\x1a\n".to_vec(),
                })
                .to_vec(),
        });
        let m = mail.message().unwrap();
        assert_eq!(
            content_types(&m),
            [
                "multipart/mixed",
                "multipart/alternative",
                "text/plain",
                "multipart/related",
                "text/html",
                "image/png",
                "image/png",
                "text/html",
            ]
        );
        let formatted = String::from_utf8(m.formatted()).unwrap();
        for name in ["chart1", "chart2"] {
            assert!(
                formatted.contains(&format!("\r\nContent-ID: <{name}.x@calls.example>\r\n")),
                "{formatted}"
            );
        }
        // Without an HTML body, an HTML report is the text and the attachment alone.
        let m = report_mail("text/html; charset=utf-8", "<p>page</p>")
            .message()
            .unwrap();
        assert_eq!(
            content_types(&m),
            ["multipart/mixed", "text/plain", "text/html"]
        );
        let m = report_mail("text/csv; charset=utf-8", "a,b\r\n")
            .message()
            .unwrap();
        assert_eq!(
            content_types(&m),
            ["multipart/mixed", "text/plain", "text/csv"]
        );
    }

    #[test]
    fn message_ids_are_in_the_senders_domain_and_differ() {
        let mail = report_mail("text/csv", "x");
        let ids: Vec<String> = (0..2).map(|_| unique_id(&mail.from)).collect();
        for id in &ids {
            assert!(id.ends_with(".apr@calls.example"), "{id}");
        }
        assert_ne!(ids[0], ids[1]);
        let formatted = String::from_utf8(mail.message().unwrap().formatted()).unwrap();
        assert!(
            formatted.contains(&format!("\r\nMessage-ID: <{}>\r\n", mail.id)),
            "{formatted}"
        );
        assert!(formatted.contains("\r\nDate: "), "{formatted}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2").as_deref(), Some("a b%2"));
        assert_eq!(percent_decode("%ff"), None);
    }
}
