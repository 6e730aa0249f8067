//! `apr report --mail-to` (SPEC §12) through the real binary against the SMTP server of
//! `tests/support/smtp.rs` on 127.0.0.1: the envelope's recipients, the subject, an
//! attachment whose bytes are those of `apr report --output` in the same format, the MIME
//! shape (a text part with the headline figures of the report's own rows; for HTML, the
//! report in the mail look as its alternative, without style sheet or SVG, each chart an
//! inline PNG under the Content-ID the HTML names), `Date` and `Message-ID`, the sender rule
//! and its error, the server's refusal as one line with exit 1, and no password anywhere in
//! the output.

mod report_fixture;
mod support;

use std::path::Path;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};
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

/// Mails `apr report ARGS` from apr@example.net to ops@example.com through `server`; the
/// message the server received.
fn mail_through(server: &SmtpServer, db: &Path, args: &[&str]) -> Vec<u8> {
    report(db)
        .env("APR_SMTP_URL", server.url(""))
        .env("APR_MAIL_FROM", "apr@example.net")
        .args(args)
        .args(["--mail-to", "ops@example.com"])
        .assert()
        .success();
    server.received().pop().unwrap().data
}

/// `type/subtype` of a MIME part.
fn mime_type(part: &MessagePart) -> String {
    let ct = part.content_type().expect("a Content-Type");
    format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
}

/// The MIME tree under `part`: `multipart/mixed(text/plain,text/csv)`.
fn shape(msg: &Message, part: &MessagePart) -> String {
    match &part.body {
        PartType::Multipart(children) => {
            let children: Vec<String> = children
                .iter()
                .map(|&i| shape(msg, msg.part(i).unwrap()))
                .collect();
            format!("{}({})", mime_type(part), children.join(","))
        }
        _ => mime_type(part),
    }
}

/// The report attached under its file name (an HTML mail's inline images are parts too).
fn attached<'a>(msg: &'a Message, file_name: &str) -> &'a MessagePart<'a> {
    let named: Vec<&MessagePart> = msg
        .attachments()
        .filter(|a| a.attachment_name() == Some(file_name))
        .collect();
    assert_eq!(named.len(), 1, "one attachment named {file_name}");
    named[0]
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
    // The headline figures come from the report's own rows: the JSON's, summed.
    let json: Vec<serde_json::Value> = serde_json::from_slice(&written(
        &db,
        &["--start-date", "2025-09-07", "--format", "json"],
        "json",
    ))
    .unwrap();
    let sum = |key: &str| -> i64 { json.iter().map(|r| r[key].as_i64().unwrap()).sum() };
    let answered = format!(
        "Calls answered by agents: {} of {}",
        sum("answered_calls"),
        sum("total_calls")
    );
    for (format, content_type) in [
        ("csv", "text/csv"),
        ("json", "application/json"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("html", "text/html"),
        ("pdf", "application/pdf"),
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
        let att = attached(&msg, &format!("report_2025-09-07_to_2025-09-08.{format}"));
        let ct = att.content_type().unwrap();
        assert_eq!(
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()),
            content_type
        );
        assert_eq!(att.contents(), written(&db, &args, format).as_slice());
        let message_id = msg.message_id().expect("a Message-ID");
        assert!(message_id.ends_with("@example.com"), "{message_id}");
        assert!(msg.date().is_some(), "a Date header");
        // multipart/mixed: the body, then the report.
        assert_eq!(mime_type(msg.root_part()), "multipart/mixed");
        let text = msg.body_text(0).unwrap();
        assert!(text.contains("is attached as report_2025-09-07"), "{text}");
        assert!(text.lines().any(|l| l == answered), "{text}");
        if format == "html" {
            // The report for mail clients and its figures in words, as alternatives of one
            // another (the HTML with its two charts: tests below look closer).
            assert_eq!(
                shape(&msg, msg.root_part()),
                "multipart/mixed(multipart/alternative(text/plain,\
                 multipart/related(text/html,image/png,image/png)),text/html)"
            );
            let body = msg.body_html(0).unwrap();
            assert!(
                body.contains("<table") && body.contains("src=\"cid:"),
                "{body}"
            );
        } else {
            assert_eq!(
                shape(&msg, msg.root_part()),
                format!("multipart/mixed(text/plain,{content_type})")
            );
            assert_eq!(msg.attachment_count(), 1);
            assert_eq!(msg.text_body.len(), 1, "one plain body");
            assert!(
                msg.html_body.iter().all(|&i| i == msg.text_body[0]),
                "no HTML body"
            );
        }
    }
    assert_eq!(server.received().len(), 5, "one message per run");
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
        .env("APR_MAIL_FROM", "apr@example.net")
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

#[test]
fn the_sender_is_apr_mail_from_else_an_smtp_user_that_is_an_address() {
    let (_dir, db) = report_fixture::temp_db();
    let server = SmtpServer::start();
    let mail = |url: &str, from: Option<&str>| {
        let mut cmd = report(&db);
        cmd.env("APR_SMTP_URL", url)
            .env_remove("APR_MAIL_FROM")
            .args(["--start-date", "2025-09-07", "--mail-to", "ops@example.com"]);
        if let Some(from) = from {
            cmd.env("APR_MAIL_FROM", from);
        }
        cmd.assert()
    };
    // APR_MAIL_FROM wins over the SMTP user, and names the Message-ID's domain.
    mail(
        &server.url("bot%40relay.example:pw@"),
        Some("Reports <reports@calls.example>"),
    )
    .success();
    let got = server.received().pop().unwrap();
    assert_eq!(got.mail_from, "reports@calls.example");
    let msg = MessageParser::default().parse(&got.data).unwrap();
    assert!(msg.message_id().unwrap().ends_with("@calls.example"));

    // Without it, an SMTP user that is an address sends.
    mail(&server.url("bot%40relay.example:pw@"), None).success();
    assert_eq!(
        server.received().pop().unwrap().mail_from,
        "bot@relay.example"
    );

    // Otherwise there is no sender to guess: one line naming both settings, nothing sent.
    let sent = server.received().len();
    for url in [server.url(""), server.url("bot:pw@")] {
        let a = mail(&url, None).code(2).stdout("");
        let err = texts(&a);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: no sender address: set APR_MAIL_FROM")
                && err.contains("APR_SMTP_URL's user"),
            "{err}"
        );
        assert!(!err.contains("pw@"), "{err}");
    }
    let a = mail(&server.url(""), Some("not an address")).code(2);
    assert!(texts(&a).contains("APR_MAIL_FROM: 'not an address' is not a mail address"));
    assert_eq!(server.received().len(), sent);
}

#[test]
fn a_queue_reports_text_holds_the_queue_totals_of_its_own_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/queue_log");
    apr()
        .env("APR_DATABASE_URL", format!("sqlite://{}", db.display()))
        .args(["-q", "--timezone", "Europe/London", "parse-queue-log"])
        .arg(&example)
        .assert()
        .success();
    let args = ["--kind", "queues", "--start-date", "2025-09-07"];
    let json: Vec<serde_json::Value> = serde_json::from_slice(&written(
        &db,
        &[&args[..], &["--format", "json"]].concat(),
        "json",
    ))
    .unwrap();
    let sum = |key: &str| -> i64 { json.iter().map(|r| r[key].as_i64().unwrap()).sum() };
    assert!(sum("offered") > 0, "the example has queue calls");

    let server = SmtpServer::start();
    let data = mail_through(&server, &db, &args);
    let msg = MessageParser::default().parse(&data).unwrap();
    let text = msg.body_text(0).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        format!("Calls offered to queues: {}", sum("offered")),
        format!("Answered: {}", sum("answered")),
        format!("Abandoned: {}", sum("abandoned")),
    ] {
        assert!(lines.contains(&expected.as_str()), "{expected}: {text}");
    }
    assert!(
        lines.iter().any(
            |l| l.starts_with("Service level (20 s, offered-minus-short): ") && l.ends_with('%')
        ),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Average speed of answer (ASA): 00:00:")),
        "{text}"
    );

    // The HTML mail of the queue report: its two charts as images.
    let html = [&args[..], &["--format", "html"]].concat();
    let data = mail_through(&server, &db, &html);
    let msg = MessageParser::default().parse(&data).unwrap();
    let page = String::from_utf8(written(&db, &html, "html")).unwrap();
    assert_eq!(
        check_mail_html(&msg, &page),
        [
            "Calls offered, answered and abandoned per hour",
            "Service level per hour (%)"
        ]
    );
}

/// The texts of the `th` and of the `td` cells from the table's heading on, entities kept.
fn table_texts(html: &str) -> (Vec<String>, Vec<String>) {
    let from = html.find("<h2").expect("a table heading");
    let dom = tl::parse(&html[from..], tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let texts = |sel: &str| -> Vec<String> {
        dom.query_selector(sel)
            .unwrap()
            .map(|h| h.get(parser).unwrap().inner_text(parser).to_string())
            .collect()
    };
    (texts("th"), texts("td"))
}

/// Checks the HTML part of a mailed HTML report the way mail clients need it, against the
/// attached page `page`: no style sheet, SVG, class, grid or flex; every `cid:` an inline
/// PNG part of the message under that Content-ID, of the size the `<img>` states, not blank;
/// the same table cells as the page. Returns the images' alt texts.
fn check_mail_html(msg: &Message, page: &str) -> Vec<String> {
    let html = msg.body_html(0).unwrap();
    for absent in [
        "<style", "<svg", "class=", "grid", "flex", "<script", "<link",
    ] {
        assert!(!html.contains(absent), "{absent} in {html}");
    }
    assert!(
        page.contains("<style") && page.contains("<svg"),
        "the page is unchanged"
    );
    assert_eq!(table_texts(&html), table_texts(page));
    assert!(!table_texts(&html).1.is_empty(), "the table has rows");

    let images: Vec<&MessagePart> = msg
        .parts
        .iter()
        .filter(|p| p.content_type().is_some() && mime_type(p) == "image/png")
        .collect();
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let mut alts = Vec::new();
    for img in dom.query_selector("img").unwrap() {
        let tag = img.get(parser).unwrap().as_tag().unwrap();
        let attr = |name: &str| -> String {
            let value = tag.attributes().get(name).flatten();
            value.expect(name).as_utf8_str().into_owned()
        };
        let cid = attr("src")
            .strip_prefix("cid:")
            .expect("a cid: image")
            .to_string();
        let part = images
            .iter()
            .find(|p| p.content_id().map(|id| id.trim_matches(['<', '>'])) == Some(cid.as_str()))
            .unwrap_or_else(|| panic!("no image part with Content-ID <{cid}>"));
        let disposition = part.content_disposition().expect("a Content-Disposition");
        assert_eq!(disposition.ctype(), "inline");
        let mut reader = png::Decoder::new(std::io::Cursor::new(part.contents()))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(
            (info.width.to_string(), info.height.to_string()),
            (attr("width"), attr("height")),
            "{cid}"
        );
        let ground = &pixels[..4];
        assert!(
            pixels[..info.buffer_size()].chunks(4).any(|p| p != ground),
            "{cid} is blank"
        );
        let alt = attr("alt");
        assert!(!alt.is_empty(), "{cid} has no alt text");
        alts.push(alt);
    }
    assert_eq!(alts.len(), images.len(), "every image is shown");
    alts
}

#[test]
fn an_html_mail_is_for_mail_clients_with_its_charts_as_inline_pngs() {
    let (_dir, db) = report_fixture::temp_db();
    let server = SmtpServer::start();
    let args = ["--start-date", "2025-09-07", "--format", "html", "--totals"];
    let data = mail_through(&server, &db, &args);
    let msg = MessageParser::default().parse(&data).unwrap();
    let page = written(&db, &args, "html");
    let att = attached(&msg, "report_2025-09-07_to_2025-09-08.html");
    assert_eq!(att.contents(), page.as_slice());
    assert_eq!(
        check_mail_html(&msg, &String::from_utf8(page).unwrap()),
        [
            "Calls offered and answered per hour",
            "State time per agent"
        ]
    );
    // The images' Content-IDs are in the sender's domain, like the Message-ID they share.
    let message_id = msg.message_id().unwrap();
    for part in msg.parts.iter().filter(|p| p.content_id().is_some()) {
        let cid = part.content_id().unwrap().trim_matches(['<', '>']);
        assert!(cid.ends_with(message_id), "{cid} and {message_id}");
    }
    let text = msg.body_text(0).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("Calls answered by agents: ")),
        "{text}"
    );
}
