//! The mail look of the HTML report (SPEC §12): the same summary, charts and table as the
//! page of [`super::html`], marked up the way mail clients render it. Clients drop or
//! rewrite `<style>` blocks, know neither CSS grid nor flex, and show no inline SVG, so
//! every style is inline on its element, layout is tables, and each chart is an
//! `<img src="cid:...">` of the PNG [`super::raster`] makes from the chart's SVG, with its
//! size and its title as alt text. Markup comes from maud templates, which escape every
//! value. Pure: no I/O.

use maud::{Markup, PreEscaped, html};

/// The `body` tag of the message: the document's start, head and all, is the page's own
/// without its style sheet.
pub const BODY: &str = "<body style=\"margin:0;padding:0;background:#ffffff\">";

/// The text of the whole message (Outlook and Gmail ignore `font` on `<body>`).
const TEXT: &str = "font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;\
color:#1d1d1f";
const H1: &str = "font-size:20px;line-height:1.3;margin:4px 0 10px 0;font-weight:bold";
const H2: &str = "font-size:16px;line-height:1.3;margin:16px 0 6px 0;font-weight:bold";
/// One figure of the summary: a box of its name above its value.
const SUMMARY_CELL: &str = "border:1px solid #d8d8dc;padding:4px 8px;vertical-align:top";
const SUMMARY_NAME: &str = "font-size:11px;color:#555555";
const SUMMARY_VALUE: &str = "font-size:14px;font-weight:bold";
/// A chart scales down on a narrow screen and never up past its own size.
const IMAGE: &str = "display:block;width:100%;height:auto;border:0;margin:12px 0";
const TABLE: &str = "border-collapse:collapse;font-size:12px";
const HEADER_CELL: &str = "border:1px solid #d8d8dc;padding:3px 6px;text-align:left;\
white-space:nowrap;background:#eef0f3;font-weight:bold";
/// The table's cells: text or number, detail or total row.
const CELL: &str = "border:1px solid #d8d8dc;padding:3px 6px;text-align:left;white-space:nowrap";
const NUMBER_CELL: &str =
    "border:1px solid #d8d8dc;padding:3px 6px;text-align:right;white-space:nowrap";
const TOTAL_CELL: &str = "border:1px solid #d8d8dc;padding:3px 6px;text-align:left;\
white-space:nowrap;font-weight:bold;background:#f5f6f8";
const TOTAL_NUMBER_CELL: &str = "border:1px solid #d8d8dc;padding:3px 6px;text-align:right;\
white-space:nowrap;font-weight:bold;background:#f5f6f8";
/// Figures of the summary in one row of boxes.
const SUMMARY_COLUMNS: usize = 4;

/// A chart as the mail shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartImage {
    pub content_id: String,
    pub width: u32,
    pub height: u32,
    /// The chart's title.
    pub alt: String,
}

/// Everything of the message's HTML above the table's rows: `start` (the document's head,
/// without a style sheet, and [`BODY`]), the report's heading, its summary, its charts and
/// the table's header row.
pub fn open(
    start: Markup,
    heading: &str,
    summary: &[(&str, String)],
    charts: &[ChartImage],
    headers: &[String],
) -> String {
    let markup = html! {
        (start)
        (PreEscaped(format!(
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
             border=\"0\" style=\"border-collapse:collapse\"><tr><td style=\"padding:12px;{TEXT}\">"
        )))
        h1 style=(H1) { (heading) }
        table role="presentation" cellpadding="0" cellspacing="4" border="0" width="100%" {
            @for figures in summary.chunks(SUMMARY_COLUMNS) {
                tr {
                    @for (name, value) in figures {
                        td style=(SUMMARY_CELL) width="25%" {
                            div style=(SUMMARY_NAME) { (name) }
                            div style=(SUMMARY_VALUE) { (value) }
                        }
                    }
                }
            }
        }
        @for chart in charts {
            img src={ "cid:" (chart.content_id) } width=(chart.width) height=(chart.height)
                alt=(chart.alt) style={ (IMAGE) ";max-width:" (chart.width) "px" };
        }
        h2 style=(H2) { "Table" }
        (PreEscaped(format!(
            "<table cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"{TABLE}\">"
        )))
        thead { tr { @for h in headers { th scope="col" style=(HEADER_CELL) { (h) } } } }
        (PreEscaped("<tbody>\n"))
    };
    markup.into_string()
}

/// What closes the elements [`open`] leaves open, after the table's rows.
pub const CLOSE: &str = "</tbody></table></td></tr></table></body></html>\n";

/// One row of the table: each cell's text and whether it is a number.
pub fn row(total: bool, cells: &[(String, bool)]) -> Markup {
    html! {
        tr {
            @for (text, number) in cells {
                td style=(cell_style(total, *number)) { (text) }
            }
        }
    }
}

fn cell_style(total: bool, number: bool) -> &'static str {
    match (total, number) {
        (false, false) => CELL,
        (false, true) => NUMBER_CELL,
        (true, false) => TOTAL_CELL,
        (true, true) => TOTAL_NUMBER_CELL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> String {
        let summary = [
            ("Range", "2025-09-07 00:00 to 2025-09-08 00:00".to_string()),
            ("Time zone", "Europe/London".to_string()),
            ("Calls", "12".to_string()),
            ("Answered", "10".to_string()),
            ("Answer rate", "83.33%".to_string()),
        ];
        let charts = [ChartImage {
            content_id: "chart1.x@example.com".to_string(),
            width: 900,
            height: 320,
            alt: "Calls <per> hour".to_string(),
        }];
        let start = PreEscaped(format!("<!DOCTYPE html><html lang=\"en\">{BODY}"));
        let mut html = open(
            start,
            "Agents report",
            &summary,
            &charts,
            &["Ext".to_string(), "Calls".to_string()],
        );
        html.push_str(
            &row(false, &[("3012 <Jo>".into(), false), ("7".into(), true)]).into_string(),
        );
        html.push_str(&row(true, &[("TOTAL".into(), false), ("12".into(), true)]).into_string());
        html.push_str(CLOSE);
        html
    }

    #[test]
    fn every_style_is_inline_and_the_layout_is_tables() {
        let html = document();
        for absent in [
            "<style", "<svg", "class=", "grid", "flex", "<link", "<script",
        ] {
            assert!(!html.contains(absent), "{absent}: {html}");
        }
        // Every element of the table carries its own style.
        assert_eq!(
            html.matches("<td ").count(),
            html.matches("<td style=").count()
        );
        assert_eq!(
            html.matches("<th ").count(),
            html.matches("<th scope=\"col\" style=").count()
        );
        // Balanced: what `open` leaves open, `CLOSE` closes.
        for tag in ["table", "tr", "td", "tbody", "body", "html"] {
            assert_eq!(
                html.matches(&format!("<{tag}>")).count()
                    + html.matches(&format!("<{tag} ")).count(),
                html.matches(&format!("</{tag}>")).count(),
                "{tag}: {html}"
            );
        }
        // Five figures, four to a row.
        assert_eq!(
            html.matches(&format!("<td style=\"{SUMMARY_CELL}\""))
                .count(),
            5
        );
    }

    #[test]
    fn charts_are_cid_images_with_size_and_alt_text_and_values_are_escaped() {
        let html = document();
        assert!(
            html.contains(
                "<img src=\"cid:chart1.x@example.com\" width=\"900\" height=\"320\" \
                 alt=\"Calls &lt;per&gt; hour\""
            ),
            "{html}"
        );
        assert!(html.contains("max-width:900px"), "{html}");
        assert!(html.contains(">3012 &lt;Jo&gt;</td>"), "{html}");
        assert!(
            html.contains(&format!("<td style=\"{TOTAL_NUMBER_CELL}\">12</td>")),
            "{html}"
        );
        assert!(
            html.contains(&format!("<td style=\"{NUMBER_CELL}\">7</td>")),
            "{html}"
        );
    }
}
