//! `apr report --mail-to a@x,b@y [--mail-subject S]` (SPEC §12): the options, checked
//! before anything is opened, and the delivery of the rendered bytes through
//! [`crate::mail`]. The server comes from `APR_SMTP_URL` only (it holds a password).

use clap::Args as ClapArgs;
use lettre::message::Mailbox;

use crate::cli::global::GlobalArgs;
use crate::cli::settings::Settings;
use crate::error::Error;
use crate::hours::Zone;
use crate::mail::{ReportMail, SmtpUrl, parse_addresses, send};
use crate::plural::counts;
use crate::report::request::ReportRequest;

/// The environment variable naming the SMTP server.
pub const SMTP_URL_VAR: &str = "APR_SMTP_URL";
/// The environment variable naming the sender (default: the SMTP user when it is an address).
pub const MAIL_FROM_VAR: &str = "APR_MAIL_FROM";

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

/// A checked delivery: where to, through which server, from whom.
#[derive(Debug)]
pub struct Delivery {
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
        let url = settings.get(SMTP_URL_VAR).ok_or_else(|| {
            Error::config(format!(
                "--mail-to needs {SMTP_URL_VAR}; set it in .env or the environment, e.g. \
                     smtps://user:password@mail.example.com:465"
            ))
        })?;
        let server = SmtpUrl::parse(url, SMTP_URL_VAR)?;
        let from = match settings.get(MAIL_FROM_VAR) {
            Some(from) => parse_addresses(from, MAIL_FROM_VAR)?
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
            server,
            from,
            to,
            subject: self.mail_subject.clone(),
        }))
    }
}

/// The SMTP user when it is an address (most providers require that sender), else
/// `apr@HOST` of the server.
fn default_sender(server: &SmtpUrl) -> crate::Result<Mailbox> {
    let candidate = match &server.username {
        Some(user) if user.contains('@') => user.clone(),
        _ => format!("apr@{}", server.host),
    };
    candidate.parse().map_err(|_| {
        Error::config(format!(
            "no sender address: set {MAIL_FROM_VAR}, e.g. reports@example.com"
        ))
    })
}

impl Delivery {
    /// Mails `bytes`, the report `req` rendered, and notes where it went.
    pub fn send(
        self,
        global: &GlobalArgs,
        req: &ReportRequest,
        zone: Zone,
        bytes: Vec<u8>,
        rows: u64,
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
            from: self.from,
            to: self.to,
            subject: self
                .subject
                .unwrap_or_else(|| format!("apr {kind} report {range}")),
            text: format!(
                "The apr {kind} report for {range}, {}, is attached as {file_name}.\n",
                counts(rows, "row")
            ),
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
