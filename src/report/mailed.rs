//! A report rendered for mail (SPEC §12): the attachment's bytes, exactly what
//! [`super::write_report`] writes in the requested format; the headline figures of its rows
//! for the plain-text part; and, for an HTML report, the message's own HTML in the mail look
//! with its charts as PNG images. All from one reading of the store.

use std::io::Write;

use crate::error::Result;
use crate::hours::Zone;
use crate::model::mail_body::MailBody;
use crate::store::Store;

use super::headline::{Headline, HeadlineSink};
use super::html::HtmlSink;
use super::request::{ReportFormat, ReportRequest};
use super::sink::{Both, ReportSummary, RowSink};

/// What [`write_report_for_mail`] made besides the attachment.
#[derive(Debug, Clone)]
pub struct MailedReport {
    pub summary: ReportSummary,
    pub headline: Headline,
    /// The HTML part and its images, for an HTML report; other formats' mails are text.
    pub body: Option<MailBody>,
}

/// Renders the report `req` asks for into `out` and returns its headline figures and, for an
/// HTML report, the mail's HTML, whose charts' Content-IDs are `chart1.{content_id_tag}`...
pub fn write_report_for_mail(
    store: &mut dyn Store,
    zone: Zone,
    req: &ReportRequest,
    out: &mut dyn Write,
    content_id_tag: &str,
) -> Result<MailedReport> {
    let mut attached = super::format_sink(req, out);
    let mut html = Vec::new();
    let mut mail = (req.format == ReportFormat::Html)
        .then(|| HtmlSink::for_mail(&mut html, req.text_style(), content_id_tag));
    let mut both;
    let sink: &mut dyn RowSink = match mail.as_mut() {
        Some(mail) => {
            both = Both(attached.as_mut(), mail);
            &mut both
        }
        None => attached.as_mut(),
    };
    let mut tee = HeadlineSink::new(sink);
    let summary = super::render(store, zone, req, &mut tee)?;
    tee.finish()?;
    let headline = tee.headline;
    let images = mail.map(|mut mail| mail.take_images());
    Ok(MailedReport {
        summary,
        headline,
        body: images.map(|images| MailBody {
            // maud writes UTF-8.
            html: String::from_utf8_lossy(&html).into_owned(),
            images,
        }),
    })
}
