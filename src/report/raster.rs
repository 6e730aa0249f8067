//! Charts as PNG images for the mailed report (SPEC §12): mail clients show neither inline
//! SVG nor scripts, so each chart's SVG, exactly as [`super::chart`] draws it for the HTML
//! report, is rasterised with resvg at its own size. Text is set in DejaVu Sans, built into
//! the binary (`assets/DejaVuSans.ttf`, its licence beside it): the system's fonts are never
//! loaded, so the image is the same on a server without any font installed.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use crate::error::{Error, Result};

/// The one font the charts are set in: plotters names the generic `sans-serif`.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FONT_FAMILY: &str = "DejaVu Sans";

/// A chart rasterised: its size in pixels (the SVG's, one pixel per SVG unit) and the PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Png {
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

fn raster_err(what: impl std::fmt::Display) -> Error {
    Error::io(
        "cannot draw a chart as an image",
        std::io::Error::other(what.to_string()),
    )
}

/// The font database: the built-in font alone, as every generic family. Parsed once.
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_font_source(fontdb::Source::Binary(Arc::new(DEJAVU_SANS)));
            db.set_sans_serif_family(FONT_FAMILY);
            db.set_serif_family(FONT_FAMILY);
            db.set_monospace_family(FONT_FAMILY);
            Arc::new(db)
        })
        .clone()
}

/// One SVG document resolved by usvg with the built-in font (also what the PDF report
/// draws its charts from).
pub fn tree(svg: &str) -> Result<usvg::Tree> {
    let options = usvg::Options {
        font_family: FONT_FAMILY.to_string(),
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &options).map_err(raster_err)
}

/// Rasterises one SVG document (an `<svg>` element as [`super::chart`] returns it) to a PNG
/// of the SVG's width and height on a white ground.
pub fn png(svg: &str) -> Result<Png> {
    let tree = tree(svg)?;
    let size = tree.size().to_int_size();
    let mut pixmap = Pixmap::new(size.width(), size.height()).ok_or_else(|| {
        raster_err(format!(
            "{}x{} is no image size",
            size.width(),
            size.height()
        ))
    })?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(&tree, Transform::default(), &mut pixmap.as_mut());
    let bytes = pixmap.encode_png().map_err(raster_err)?;
    Ok(Png {
        width: size.width(),
        height: size.height(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::chart::{self, Bar, Series};

    /// The decoded image: (width, height, RGBA pixels).
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = ::png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, ::png::ColorType::Rgba);
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    /// The SVG's size: its root's `viewBox` (the charts scale to their container, so their
    /// `width` is a percentage).
    fn svg_size(svg: &str) -> (u32, u32) {
        let root = &svg[..svg.find('>').unwrap()];
        let start = root
            .find(" viewBox=\"")
            .or(root.find("viewBox=\""))
            .unwrap();
        let value = &root[start..];
        let value = &value[value.find('"').unwrap() + 1..];
        let value = &value[..value.find('"').unwrap()];
        let n: Vec<u32> = value.split(' ').map(|v| v.parse().unwrap()).collect();
        (n[2], n[3])
    }

    /// Pixels that are not the white ground.
    fn inked(pixels: &[u8]) -> usize {
        pixels
            .chunks(4)
            .filter(|p| p[..3] != [255, 255, 255])
            .count()
    }

    #[test]
    fn a_chart_is_a_png_of_the_svgs_size_with_its_lines_and_bars_drawn() {
        let labels: Vec<String> = (0..24).map(|h| format!("{h:02}:00")).collect();
        let lines = chart::lines(
            "Calls",
            &labels,
            &[Series {
                name: "Offered",
                color: chart::BLUE,
                values: (0..24).map(f64::from).collect(),
            }],
            None,
            chart::WIDE,
        )
        .unwrap();
        let bars = chart::stacked_bars(
            "State time",
            "hours",
            &[Bar {
                label: "3012 Jo".into(),
                values: vec![1.0, 0.5],
            }],
            &[("Available", chart::GREEN), ("Logoff", chart::GREY)],
            chart::WIDE,
        )
        .unwrap();
        for svg in [lines, bars] {
            let png = png(&svg).unwrap();
            let (width, height, pixels) = decode(&png.bytes);
            assert_eq!((width, height), svg_size(&svg));
            assert_eq!((png.width, png.height), (width, height));
            // Not blank: axes, labels, lines or bars cover part of the image, not all of it.
            let ink = inked(&pixels);
            let all = (width * height) as usize;
            assert!(ink > all / 100 && ink < all / 2, "{ink} of {all} pixels");
            // The series' own color is drawn.
            let blue_or_green = pixels.chunks(4).any(|p| {
                p[..3] == [chart::BLUE.0, chart::BLUE.1, chart::BLUE.2]
                    || p[..3] == [chart::GREEN.0, chart::GREEN.1, chart::GREEN.2]
            });
            assert!(blue_or_green);
        }
    }

    #[test]
    fn text_is_drawn_in_the_built_in_font() {
        let text = |s: &str| {
            format!(
                "<svg width=\"200\" height=\"40\" viewBox=\"0 0 200 40\">\
                 <text x=\"10\" y=\"30\" font-family=\"sans-serif\" font-size=\"20\">{s}</text></svg>"
            )
        };
        let (_, _, blank) = decode(&png(&text("")).unwrap().bytes);
        assert_eq!(inked(&blank), 0);
        let (_, _, written) = decode(&png(&text("Answered")).unwrap().bytes);
        assert!(inked(&written) > 100, "{} pixels", inked(&written));
        // The same image every time: nothing depends on the machine's fonts.
        assert_eq!(
            png(&text("Answered")).unwrap(),
            png(&text("Answered")).unwrap()
        );
    }

    #[test]
    fn what_is_not_an_svg_is_an_error() {
        let e = png("<p>not a chart</p>").unwrap_err();
        assert!(
            e.to_string().starts_with("cannot draw a chart as an image"),
            "{e}"
        );
    }
}
