//! A chart's SVG, exactly as [`crate::report::chart`] draws it for the HTML report, drawn
//! into a PDF page as vector paths: usvg (already built for the mailed PNG charts, with the
//! same bundled font) resolves the SVG into filled and stroked paths, its text into glyph
//! outlines, and each becomes the path operators of the page's content stream.

use std::collections::BTreeSet;

use pdf_writer::Content;
use pdf_writer::types::{LineCapStyle, LineJoinStyle};
use resvg::usvg::tiny_skia_path::PathSegment;
use resvg::usvg::{self, FillRule, Group, Node, Paint, Transform};

use crate::error::Result;

/// A chart resolved into paths, with its size in SVG units.
pub struct Chart {
    tree: usvg::Tree,
}

impl Chart {
    pub fn parse(svg: &str) -> Result<Chart> {
        Ok(Chart {
            tree: crate::report::raster::tree(svg)?,
        })
    }

    /// Width and height in SVG units.
    pub fn size(&self) -> (f32, f32) {
        let s = self.tree.size();
        (s.width(), s.height())
    }

    /// Draws the chart with its top left corner at (`x`, `top`) in page space, `scale`
    /// points per SVG unit. The opacities used are added to `alphas` (in hundredths), each
    /// a graphics state `/A{n}` the page's resources must define.
    pub fn draw(&self, c: &mut Content, x: f32, top: f32, scale: f32, alphas: &mut BTreeSet<u8>) {
        c.save_state();
        // SVG's y axis points down.
        c.transform([scale, 0.0, 0.0, -scale, x, top]);
        group(c, self.tree.root(), alphas);
        c.restore_state();
    }
}

fn group(c: &mut Content, g: &Group, alphas: &mut BTreeSet<u8>) {
    for node in g.children() {
        match node {
            Node::Group(g) => group(c, g, alphas),
            Node::Path(p) if p.is_visible() => path(c, p, alphas),
            Node::Text(t) => group(c, t.flattened(), alphas),
            // The charts hold no images; an invisible path draws nothing.
            _ => {}
        }
    }
}

/// The graphics state name of an opacity in hundredths.
pub fn alpha_name(alpha: u8) -> String {
    format!("A{alpha}")
}

fn set_alpha(c: &mut Content, opacity: f32, alphas: &mut BTreeSet<u8>) {
    let a = (opacity.clamp(0.0, 1.0) * 100.0).round() as u8;
    if a < 100 {
        alphas.insert(a);
        c.set_parameters(pdf_writer::Name(alpha_name(a).as_bytes()));
    }
}

fn rgb(paint: &Paint) -> Option<[f32; 3]> {
    match paint {
        Paint::Color(k) => Some([k.red, k.green, k.blue].map(|v| f32::from(v) / 255.0)),
        // Plotters draws in plain colors.
        _ => None,
    }
}

fn path(c: &mut Content, p: &usvg::Path, alphas: &mut BTreeSet<u8>) {
    let fill = p.fill().and_then(|f| Some((f, rgb(f.paint())?)));
    let stroke = p.stroke().and_then(|s| Some((s, rgb(s.paint())?)));
    if fill.is_none() && stroke.is_none() {
        return;
    }
    let t: Transform = p.abs_transform();
    for (fill, stroke) in [(fill, None), (None, stroke)] {
        if fill.is_none() && stroke.is_none() {
            continue;
        }
        c.save_state();
        c.transform([t.sx, t.ky, t.kx, t.sy, t.tx, t.ty]);
        if let Some((f, [r, g, b])) = fill {
            c.set_fill_rgb(r, g, b);
            set_alpha(c, f.opacity().get(), alphas);
        }
        if let Some((s, [r, g, b])) = stroke {
            c.set_stroke_rgb(r, g, b);
            c.set_line_width(s.width().get());
            c.set_line_cap(match s.linecap() {
                usvg::LineCap::Butt => LineCapStyle::ButtCap,
                usvg::LineCap::Round => LineCapStyle::RoundCap,
                usvg::LineCap::Square => LineCapStyle::ProjectingSquareCap,
            });
            c.set_line_join(match s.linejoin() {
                usvg::LineJoin::Round => LineJoinStyle::RoundJoin,
                usvg::LineJoin::Bevel => LineJoinStyle::BevelJoin,
                _ => LineJoinStyle::MiterJoin,
            });
            if let Some(dash) = s.dasharray() {
                c.set_dash_pattern(dash.iter().copied(), s.dashoffset());
            }
            set_alpha(c, s.opacity().get(), alphas);
        }
        segments(c, p.data());
        match (fill, stroke) {
            (Some((f, _)), _) if f.rule() == FillRule::EvenOdd => c.fill_even_odd(),
            (Some(_), _) => c.fill_nonzero(),
            _ => c.stroke(),
        };
        c.restore_state();
    }
}

fn segments(c: &mut Content, data: &usvg::tiny_skia_path::Path) {
    let mut last = (0.0f32, 0.0f32);
    for seg in data.segments() {
        match seg {
            PathSegment::MoveTo(p) => {
                c.move_to(p.x, p.y);
                last = (p.x, p.y);
            }
            PathSegment::LineTo(p) => {
                c.line_to(p.x, p.y);
                last = (p.x, p.y);
            }
            PathSegment::QuadTo(q, p) => {
                // A quadratic curve as the cubic PDF draws.
                let c1 = (
                    last.0 + 2.0 / 3.0 * (q.x - last.0),
                    last.1 + 2.0 / 3.0 * (q.y - last.1),
                );
                let c2 = (p.x + 2.0 / 3.0 * (q.x - p.x), p.y + 2.0 / 3.0 * (q.y - p.y));
                c.cubic_to(c1.0, c1.1, c2.0, c2.1, p.x, p.y);
                last = (p.x, p.y);
            }
            PathSegment::CubicTo(a, b, p) => {
                c.cubic_to(a.x, a.y, b.x, b.y, p.x, p.y);
                last = (p.x, p.y);
            }
            PathSegment::Close => {
                c.close_path();
            }
        }
    }
}
