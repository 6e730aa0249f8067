//! The HTML body of a mailed report (SPEC §12) as the report renders it and the mail sends
//! it: the page, whose charts are `<img src="cid:...">`, and the PNG image of each chart
//! under the Content-ID the page names.

/// The HTML part of a mail and the inline images it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailBody {
    pub html: String,
    pub images: Vec<InlineImage>,
}

/// One image the HTML shows as `cid:{content_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// Without angle brackets: `chart1.{unique}@{domain}`.
    pub content_id: String,
    /// The name a client gives the image saved on its own (`chart1.png`).
    pub file_name: String,
    pub png: Vec<u8>,
}
