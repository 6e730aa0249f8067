//! `apr report --mail-to` (SPEC §12) through the real binary against the SMTP server of
//! `tests/support/smtp.rs` on 127.0.0.1: the envelope's recipients, the subject, an
//! attachment whose bytes are those of `apr report --output` in the same format, the
//! server's refusal as one line with exit 1, and no password anywhere in the output.

mod report_fixture;
mod support;

use std::path::Path;

use mail_parser::{MessageParser, MimeHeaders};
use support::rows::apr;
use support::smtp::SmtpServer;

const PASSWORD: &str = "hunter2-secret";

fn report(db: &Path) -> assert_cmd::Command {
    let mut cmd = apr();
    cmd.env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .arg("report");
    cmd
}

/// The bytes `apr report ARGS --output FILE` writes.
fn written(db: &Path, args: &[&str], ext: &str) -> Vec<u8> {
    let out = db.with_extension(format!("out.{ext}"));
    report(db)
        .args(args)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    std::fs::read(&out).unwrap()
}

fn texts(a: &assert_cmd::assert::Assert) -> String {
    let o = a.get_output();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_report_is_mailed_as_an_attachment_to_every_recipient() {
    let (_dir, db) = report_fixture::temp_db();
    let server = SmtpServer::start();
    let url = server.url(&format!("reports%40example.com:{PASSWORD}@"));
    for (format, content_type) in [
        ("csv", "text/csv"),
        ("json", "application/json"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("html", "text/html"),
    ] {
        let args = ["--start-date", "2025-09-07", "--format", format];
        let a = report(&db)
            .env("APR_SMTP_URL", &url)
            .args(args)
            .args(["--mail-to", "ops@example.com, lead@example.org"])
            .args(["--mail-subject", "Morning report"])
            .assert()
            .success()
            .stdout("");
        let out = texts(&a);
        assert!(
            out.starts_with(&format!(
                "note: mailed report_2025-09-07_to_2025-09-08.{format} to ops@example.com, lead@example.org"
            )),
            "{out}"
        );
        assert!(!out.contains(PASSWORD), "{out}");

        let got = server.received().last().cloned().expect("a message");
        assert_eq!(got.rcpt_to, ["ops@example.com", "lead@example.org"]);
        assert_eq!(got.mail_from, "reports@example.com");
        assert_eq!(
            got.auth,
            Some(("reports@example.com".to_string(), PASSWORD.to_string()))
        );
        let msg = MessageParser::default().parse(&got.data).unwrap();
        assert_eq!(msg.subject(), Some("Morning report"));
        let to: Vec<&str> = msg
            .to()
            .unwrap()
            .iter()
            .filter_map(|a| a.address())
            .collect();
        assert_eq!(to, ["ops@example.com", "lead@example.org"]);
        assert_eq!(msg.attachment_count(), 1);
        let att = msg.attachment(0).unwrap();
        assert_eq!(
            att.attachment_name(),
            Some(format!("report_2025-09-07_to_2025-09-08.{format}").as_str())
        );
        let ct = att.content_type().unwrap();
        assert_eq!(
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()),
            content_type
        );
        assert_eq!(att.contents(), written(&db, &args, format).as_slice());
        if format == "html" {
            // The HTML report is the message's body as well as its attachment.
            let body = msg.body_html(0).unwrap();
            assert!(body.contains("<table") && body.contains("<svg"), "{body}");
        } else {
            assert!(
                msg.body_text(0)
                    .unwrap()
                    .contains("is attached as report_2025-09-07"),
                "{:?}",
                msg.body_text(0)
            );
        }
    }
    assert_eq!(server.received().len(), 4, "one message per run");
}

#[test]
fn the_default_subject_names_the_kind_and_range_and_quiet_prints_nothing() {
    let (_dir, db) = report_fixture::temp_db();
    let server = SmtpServer::start();
    report(&db)
        .env("APR_SMTP_URL", server.url(""))
        .env("APR_MAIL_FROM", "apr@example.net")
        .args(["-q", "--start-date", "2025-09-07"])
        .args(["--mail-to", "ops@example.com"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let got = server.received().pop().unwrap();
    assert_eq!(got.mail_from, "apr@example.net");
    assert_eq!(got.auth, None);
    let msg = MessageParser::default().parse(&got.data).unwrap();
    assert_eq!(
        msg.subject(),
        Some("apr agents report 2025-09-07 00:00 to 2025-09-08 00:00 (Europe/London)")
    );
}

#[test]
fn a_refusing_server_is_one_line_and_exit_1_without_the_password() {
    let (_dir, db) = report_fixture::temp_db();
    let server = SmtpServer::with_refusal(true);
    let a = report(&db)
        .env("APR_SMTP_URL", server.url(&format!("bot:{PASSWORD}@")))
        .env("APR_MAIL_FROM", "apr@example.net")
        .args(["--start-date", "2025-09-07", "--mail-to", "ops@example.com"])
        .assert()
        .code(1)
        .stdout("");
    let err = texts(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "error: mailing the report to ops@example.com through smtp://bot:***@127.0.0.1:"
        ),
        "{err}"
    );
    assert!(err.contains("550"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
    assert!(server.received().is_empty());

    // Nobody listening: exit 1 too.
    let refused = support::refused::RefusedPort::new();
    let a = report(&db)
        .env(
            "APR_SMTP_URL",
            format!("smtp://bot:{PASSWORD}@127.0.0.1:{}", refused.port()),
        )
        .args(["--start-date", "2025-09-07", "--mail-to", "ops@example.com"])
        .assert()
        .code(1);
    let err = texts(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
}

#[test]
fn mail_options_are_checked_before_the_database_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    // A database that does not exist is never created by these refusals.
    let db = dir.path().join("none.db");
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 4] = [
        (
            &[],
            &["--mail-to", "ops@example.com"],
            "--mail-to needs APR_SMTP_URL",
        ),
        (
            &[("APR_SMTP_URL", "smtp://127.0.0.1:25")],
            &["--mail-to", "ops@example.com,nobody"],
            "--mail-to: 'nobody' is not a mail address",
        ),
        (
            &[("APR_SMTP_URL", "http://u:hunter2-secret@mail.example.com")],
            &["--mail-to", "ops@example.com"],
            "APR_SMTP_URL scheme 'http'",
        ),
        (
            &[("APR_SMTP_URL", "smtp://127.0.0.1:25")],
            &["--mail-to", "ops@example.com", "--output", "x.csv"],
            "--output",
        ),
    ];
    for (env, args, expected) in cases {
        let mut cmd = report(&db);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let a = cmd
            .args(["--start-date", "2025-09-07"])
            .args(args)
            .assert()
            .code(2);
        let err = texts(&a);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains(PASSWORD), "{err}");
    }
    assert!(!db.exists());
}
