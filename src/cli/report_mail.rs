//! `apr report --mail-to a@x,b@y [--mail-subject S]` (SPEC §12): the options, checked
//! before anything is opened, and the delivery of the rendered bytes through
//! [`crate::mail`]. The server comes from `APR_SMTP_URL` only (it holds a password).

use clap::Args as ClapArgs;
use lettre::message::Mailbox;

use crate::cli::global::GlobalArgs;
use crate::cli::settings::{MAIL_FROM, SMTP_URL, Settings};
use crate::error::Error;
use crate::hours::Zone;
use crate::mail::{ReportMail, SmtpUrl, parse_addresses, send, unique_id};
use crate::plural::counts;
use crate::report::headline::Headline;
use crate::report::mailed::MailedReport;
use crate::report::request::ReportRequest;

#[derive(Debug, Clone, ClapArgs)]
pub struct MailArgs {
    /// Mail the report to these addresses (comma-separated) instead of printing it, through
    /// the SMTP server of APR_SMTP_URL
    #[arg(long, value_name = "ADDRS", conflicts_with = "output")]
    pub mail_to: Option<String>,
    /// Subject of the mail [default: apr KIND report START to END (ZONE)]
    #[arg(long, value_name = "TEXT", requires = "mail_to")]
    pub mail_subject: Option<String>,
}

/// A checked delivery: where to, through which server, from whom, and the message's own
/// identifier.
#[derive(Debug)]
pub struct Delivery {
    id: String,
    server: SmtpUrl,
    from: Mailbox,
    to: Vec<Mailbox>,
    subject: Option<String>,
}

impl MailArgs {
    /// `None` without `--mail-to`; otherwise the recipients, the server and the sender, all
    /// checked (exit 2 naming what is wrong) before the database is opened.
    pub fn delivery(&self, settings: &Settings) -> crate::Result<Option<Delivery>> {
        let Some(to) = &self.mail_to else {
            return Ok(None);
        };
        let to = parse_addresses(to, "--mail-to")?;
        let url = settings.get(SMTP_URL).ok_or_else(|| {
            Error::config(format!(
                "--mail-to needs {SMTP_URL}; set it in .env or the environment, e.g. \
                     smtps://user:password@mail.example.com:465"
            ))
        })?;
        let server = SmtpUrl::parse(url, SMTP_URL)?;
        let from = match settings.get(MAIL_FROM) {
            Some(from) => parse_addresses(from, MAIL_FROM)?
                .into_iter()
                .next()
                .expect("a non-empty list"),
            None => default_sender(&server)?,
        };
        if let Some(subject) = &self.mail_subject
            && subject.contains(['\r', '\n'])
        {
            return Err(Error::usage(
                "--mail-subject holds a line break; expected one line",
            ));
        }
        Ok(Some(Delivery {
            id: unique_id(&from),
            server,
            from,
            to,
            subject: self.mail_subject.clone(),
        }))
    }
}

/// The SMTP user when it is an address (most providers require that sender); a server
/// without one gives no sender to guess, so the error names both settings.
fn default_sender(server: &SmtpUrl) -> crate::Result<Mailbox> {
    server
        .username
        .as_deref()
        .filter(|user| user.contains('@'))
        .and_then(|user| user.parse().ok())
        .ok_or_else(|| {
            Error::config(format!(
                "no sender address: set {MAIL_FROM}, e.g. reports@example.com, or make \
                 {SMTP_URL}'s user an address, e.g. smtps://reports%40example.com:password@mail.example.com:465"
            ))
        })
}

impl Delivery {
    /// What makes the Content-IDs of the message's images unique: its own identifier.
    pub fn content_id_tag(&self) -> &str {
        &self.id
    }

    /// Mails `bytes`, the report `req` rendered as `mailed` tells (its rows, their headline
    /// figures, the HTML body), and notes where it went.
    pub fn send(
        self,
        global: &GlobalArgs,
        req: &ReportRequest,
        zone: Zone,
        bytes: Vec<u8>,
        mailed: MailedReport,
    ) -> crate::Result<()> {
        let range = format!(
            "{} to {} ({})",
            req.start.format("%Y-%m-%d %H:%M"),
            req.end.format("%Y-%m-%d %H:%M"),
            zone.name()
        );
        // The kind's name as the user typed it (agents, queues, ...), whatever kinds exist.
        let kind = format!("{:?}", req.kind).to_lowercase();
        let file_name = req.file_name();
        let mail = ReportMail {
            id: self.id,
            from: self.from,
            to: self.to,
            subject: self
                .subject
                .unwrap_or_else(|| format!("apr {kind} report {range}")),
            text: mail_text(
                &kind,
                &range,
                &file_name,
                mailed.summary.rows,
                &mailed.headline,
            ),
            html: mailed.body,
            file_name: file_name.clone(),
            content_type: req.format.content_type().to_string(),
            bytes,
        };
        send(&self.server, &mail)?;
        let to: Vec<String> = mail.to.iter().map(|m| m.email.to_string()).collect();
        global.note(format_args!("mailed {file_name} to {}", to.join(", ")));
        Ok(())
    }
}

/// The plain-text body: what the report is, then its headline figures, one to a line.
fn mail_text(kind: &str, range: &str, file_name: &str, rows: u64, headline: &Headline) -> String {
    let mut text = format!(
        "The apr {kind} report for {range}, {}, is attached as {file_name}.\n\n",
        counts(rows, "row")
    );
    let lines = headline.lines();
    if lines.is_empty() {
        text.push_str("The report has no rows.\n");
    }
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_only_guessed_from_a_user_that_is_an_address() {
        let server = |url: &str| SmtpUrl::parse(url, SMTP_URL).unwrap();
        let from = default_sender(&server("smtps://bot%40calls.example:pw@mail.example"));
        assert_eq!(from.unwrap().email.to_string(), "bot@calls.example");
        for url in ["smtps://bot:pw@mail.example", "smtp://127.0.0.1:25"] {
            let e = default_sender(&server(url)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
            let msg = e.to_string();
            assert!(msg.contains(MAIL_FROM) && msg.contains(SMTP_URL), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn a_report_without_rows_says_so_in_the_text() {
        let text = mail_text("queues", "R", "f.csv", 0, &Headline::default());
        assert_eq!(
            text,
            "The apr queues report for R, 0 rows, is attached as f.csv.\n\nThe report has no rows.\n"
        );
    }
}
