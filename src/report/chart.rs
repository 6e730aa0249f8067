//! The charts of the HTML report (SPEC §10), drawn as SVG by plotters' SVG backend: calls
//! per hour or period as lines (bars when there is one period), state time per agent as
//! stacked horizontal bars, and the service level per hour or period. Each function returns
//! one `<svg>` element as text, with a `viewBox` and `width="100%"` so that the page scales
//! it to the screen.
//!
//! The legend is drawn below the plot, in a group of its own (`<g class="legend">`), so it
//! can never cover data. Axis ticks are whole steps of 1, 2 or 5 times a power of ten, so
//! no two ticks read the same. Bar labels too long for their margin are shortened at the
//! end with `…`, the full name in a `<title>` the browser shows on hover.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Most agents the state chart shows (those with the most logged time).
pub const MAX_AGENTS: usize = 25;

/// How big a chart is drawn: its width in SVG units and its text size. The page scales the
/// SVG to its column, so a phone gets the narrow frame, whose text stays legible there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub font: u32,
}

/// The frame for a desktop column (and print).
pub const WIDE: Frame = Frame {
    width: 900,
    font: 14,
};
/// The frame for a phone held upright.
pub const NARROW: Frame = Frame {
    width: 400,
    font: 13,
};

impl Frame {
    fn narrow(self) -> bool {
        self.width < 600
    }

    /// Rough width of `text` in SVG units: the backend cannot measure fonts, and a
    /// sans-serif character averages a little over half its size.
    fn text_width(self, text: &str) -> u32 {
        (text.chars().count() as u32 * self.font * 58).div_ceil(100)
    }
}

fn chart_err<E: std::fmt::Debug>(e: E) -> crate::Error {
    crate::Error::io(
        "cannot draw a chart",
        std::io::Error::other(format!("{e:?}")),
    )
}

/// One line of a line chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    pub values: Vec<f64>,
}

/// Colors of the series and bar segments, readable on white and in grey print.
pub const BLUE: RGBColor = RGBColor(31, 100, 180);
pub const GREEN: RGBColor = RGBColor(40, 150, 70);
pub const RED: RGBColor = RGBColor(200, 60, 50);
pub const GREY: RGBColor = RGBColor(170, 170, 170);
pub const ORANGE: RGBColor = RGBColor(230, 140, 30);

/// The ticks of an axis from 0: a step of 1, 2 or 5 times a power of ten (at least
/// `min_step`) giving at most `most` steps up to the top, which is the first tick at or
/// above `max` (so the data never leaves the plot).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ticks {
    step: f64,
    top: f64,
}

impl Ticks {
    fn fit(max: f64, most: u32, min_step: f64) -> Ticks {
        let max = if max.is_finite() && max > 0.0 {
            max
        } else {
            0.0
        };
        let rough = (max / f64::from(most.max(1))).max(min_step);
        if rough <= 0.0 {
            return Ticks {
                step: 1.0,
                top: 1.0,
            };
        }
        let power = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|s| *s >= rough * (1.0 - 1e-9))
            .unwrap_or(10.0 * power)
            .max(min_step);
        let steps = (max / step - 1e-9).ceil().max(1.0);
        Ticks {
            step,
            top: steps * step,
        }
    }

    fn points(self) -> Vec<f64> {
        let n = (self.top / self.step).round() as usize;
        (0..=n).map(|i| i as f64 * self.step).collect()
    }

    /// A tick's text, with as many decimals as the step needs.
    fn label(self, v: f64) -> String {
        let decimals = (-self.step.log10().floor()).max(0.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// What a legend entry's swatch looks like.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Line,
    Block,
}

/// Height of one row of the legend.
const LEGEND_ROW: u32 = 24;

/// The legend's entries laid out left to right from `x0`, wrapping at the frame's width:
/// each entry's position, and the height of the rows.
fn legend_layout(frame: Frame, x0: u32, names: &[&str]) -> (Vec<(u32, u32)>, u32) {
    let (mut x, mut row) = (x0, 0);
    let mut at = Vec::with_capacity(names.len());
    for name in names {
        let w = 22 + frame.text_width(name) + 18;
        if x > x0 && x + w > frame.width - 8 {
            x = x0;
            row += 1;
        }
        at.push((x, row * LEGEND_ROW));
        x += w;
    }
    (at, (row + 1) * LEGEND_ROW + 8)
}

/// The legend as SVG elements, drawn by plotters on a canvas of its own and grouped, to go
/// below the plot at height `y`.
fn legend_group(
    frame: Frame,
    x0: u32,
    y: u32,
    entries: &[(&str, RGBColor, Swatch)],
) -> crate::Result<String> {
    let names: Vec<&str> = entries.iter().map(|e| e.0).collect();
    let (at, height) = legend_layout(frame, x0, &names);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (frame.width, height)).into_drawing_area();
        let font = ("sans-serif", frame.font).into_font().color(&BLACK);
        for (&(name, color, swatch), &(x, y)) in entries.iter().zip(&at) {
            let (x, mid) = (x as i32, y as i32 + 12);
            match swatch {
                Swatch::Line => root.draw(&PathElement::new(
                    vec![(x, mid), (x + 16, mid)],
                    color.stroke_width(3),
                )),
                Swatch::Block => root.draw(&Rectangle::new(
                    [(x, mid - 6), (x + 14, mid + 6)],
                    color.filled(),
                )),
            }
            .map_err(chart_err)?;
            root.draw(&Text::new(
                name.to_string(),
                (x + 22, mid),
                font.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(chart_err)?;
        }
        root.present().map_err(chart_err)?;
    }
    let inner = svg
        .split_once('\n')
        .map_or("", |(_, rest)| rest)
        .trim_end()
        .trim_end_matches("</svg>");
    Ok(format!(
        "<g class=\"legend\" transform=\"translate(0,{y})\">\n{inner}</g>\n"
    ))
}

/// The legend's height for these entries.
fn legend_height(frame: Frame, x0: u32, entries: &[(&str, RGBColor, Swatch)]) -> u32 {
    let names: Vec<&str> = entries.iter().map(|e| e.0).collect();
    legend_layout(frame, x0, &names).1
}

/// Escapes text as the SVG backend does, so that drawn text can be found again.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    out
}

/// Finishes the backend's SVG: an opening tag that scales to its container (`viewBox`,
/// `width="100%"`, no namespace URL: inline SVG in HTML needs none), named by `title`, and
/// the legend group before its end.
fn finish(svg: &str, title: &str, size: (u32, u32), legend: &str) -> String {
    let body = svg.split_once('\n').map_or("", |(_, rest)| rest);
    let body = body.trim_end().trim_end_matches("</svg>");
    format!(
        "<svg viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"{t}\">\n<title>{t}</title>\n{body}{legend}</svg>\n",
        w = size.0,
        h = size.1,
        t = escape(title),
    )
}

/// Where a gridline's tick label goes.
#[derive(Debug, Clone, Copy)]
enum Side {
    Left,
    Below,
}

/// A light gridline from `from` to `to` (pixels) with its tick label at the `from` end
/// (left) or the `to` end (below). Drawn by hand, not by the mesh: plotters' own ticks
/// fall on steps of 2.5 and repeat when rounded.
fn gridline<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    from: (i32, i32),
    to: (i32, i32),
    label: String,
    frame: Frame,
    side: Side,
) -> crate::Result<()> {
    root.draw(&PathElement::new(vec![from, to], RGBColor(225, 225, 228)))
        .map_err(chart_err)?;
    let font = ("sans-serif", frame.font).into_font().color(&BLACK);
    let (at, pos) = match side {
        Side::Left => ((from.0 - 6, from.1), Pos::new(HPos::Right, VPos::Center)),
        Side::Below => ((to.0, to.1 + 6), Pos::new(HPos::Center, VPos::Top)),
    };
    root.draw(&Text::new(label, at, font.pos(pos)))
        .map_err(chart_err)
}

/// A chart's builder on `plot`: its title above, and room for the x and y labels
/// (`label_areas`).
fn builder<'a, 'b, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, plotters::coord::Shift>,
    title: &'b str,
    frame: Frame,
    label_areas: (u32, u32),
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(plot);
    b.caption(title, ("sans-serif", frame.font + 4))
        .margin(12)
        .x_label_area_size(label_areas.0)
        .y_label_area_size(label_areas.1);
    b
}

/// `name` cut to at most `most` characters, ending in `…` when it was longer.
pub fn shorten(name: &str, most: usize) -> Option<String> {
    if name.chars().count() <= most {
        return None;
    }
    let kept: String = name.chars().take(most.saturating_sub(1)).collect();
    Some(format!("{}…", kept.trim_end()))
}

/// The x tick of a period: the start of an `18:00 - 19:00` interval, the label otherwise.
fn period_tick(label: &str) -> &str {
    label.split_once(" - ").map_or(label, |(start, _)| start)
}

/// A line chart of `series` over the periods `labels`; `y_max` fixes the scale (100 for
/// percentages), else it fits the data in whole steps. One period is drawn as bars side by
/// side, since a line needs two points.
pub fn lines(
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    y_max: Option<f64>,
    frame: Frame,
) -> crate::Result<String> {
    let one = labels.len() <= 1;
    let swatch = if one { Swatch::Block } else { Swatch::Line };
    let entries: Vec<(&str, RGBColor, Swatch)> =
        series.iter().map(|s| (s.name, s.color, swatch)).collect();
    let y_area = 8 * frame.font / 2 + 8;
    let legend_h = legend_height(frame, y_area, &entries);
    let plot_h = if frame.narrow() { 250 } else { 300 };
    let size = (frame.width, plot_h + legend_h);
    let ticks = match y_max {
        Some(top) => Ticks::fit(top, 5, 1.0),
        None => {
            let m = series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0.0, f64::max);
            Ticks::fit(m, 5, 1.0)
        }
    };
    let n = labels.len().max(1);
    // Every period's tick when they fit, else every k-th.
    let room = frame.width.saturating_sub(y_area + 24) as usize;
    let widest = labels
        .iter()
        .map(|l| frame.text_width(period_tick(l)) as usize + 12)
        .max()
        .unwrap_or(1);
    let x_ticks = n.min((room / widest).max(1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let (plot, _legend) = root.split_vertically(plot_h);
        let mut chart = builder(&plot, title, frame, (2 * frame.font + 4, y_area - 12))
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..ticks.top)
            .map_err(chart_err)?;
        let label_of = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 {
                labels
                    .get(i as usize)
                    .map(|l| period_tick(l).to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(x_ticks)
            .y_labels(0)
            .x_label_formatter(&label_of)
            .label_style(("sans-serif", frame.font))
            .draw()
            .map_err(chart_err)?;
        for v in ticks.points() {
            let from = chart.backend_coord(&(-0.5, v));
            let to = chart.backend_coord(&(n as f64 - 0.5, v));
            gridline(&root, from, to, ticks.label(v), frame, Side::Left)?;
        }
        let k = series.len().max(1) as f64;
        for (j, s) in series.iter().enumerate() {
            let color = s.color;
            if one {
                let width = 0.5 / k;
                let bars = s.values.first().map(|&v| {
                    let from = -0.25 + j as f64 * width;
                    Rectangle::new([(from, 0.0), (from + width * 0.9, v)], color.filled())
                });
                chart.draw_series(bars).map_err(chart_err)?;
                continue;
            }
            let points: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(chart_err)?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(chart_err)?;
        }
        root.present().map_err(chart_err)?;
    }
    let legend = legend_group(frame, y_area, plot_h, &entries)?;
    Ok(finish(&svg, title, size, &legend))
}

/// One stacked bar: its label and the segments' values, in the order of `parts`.
pub struct Bar {
    pub label: String,
    pub values: Vec<f64>,
}

/// Horizontal stacked bars, one per `bars` entry, segments named and colored by `parts`.
pub fn stacked_bars(
    title: &str,
    unit: &str,
    bars: &[Bar],
    parts: &[(&str, RGBColor)],
    frame: Frame,
) -> crate::Result<String> {
    let n = bars.len().max(1);
    let label_area = if frame.narrow() { 140 } else { 210 };
    let most = ((label_area - 16) / frame.text_width("x").max(1)) as usize;
    let shown: Vec<(String, Option<String>)> = bars
        .iter()
        .map(|b| match shorten(&b.label, most) {
            Some(short) => (short, Some(b.label.clone())),
            None => (b.label.clone(), None),
        })
        .collect();
    let entries: Vec<(&str, RGBColor, Swatch)> = parts
        .iter()
        .map(|&(name, color)| (name, color, Swatch::Block))
        .collect();
    let x0 = label_area + 12;
    let legend_h = legend_height(frame, x0, &entries);
    let plot_h = 60 + 2 * frame.font + 24 * n as u32;
    let size = (frame.width, plot_h + legend_h);
    let top = bars
        .iter()
        .map(|b| b.values.iter().sum::<f64>())
        .fold(0.0, f64::max);
    let ticks = Ticks::fit(top, if frame.narrow() { 4 } else { 8 }, 0.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let (plot, _legend) = root.split_vertically(plot_h);
        let mut chart = builder(&plot, title, frame, (2 * frame.font + 12, label_area))
            .build_cartesian_2d(0f64..ticks.top, -0.5f64..(n as f64 - 0.5))
            .map_err(chart_err)?;
        let label_of = |y: &f64| {
            let i = y.round();
            if (y - i).abs() < 1e-9 && i >= 0.0 {
                shown
                    .get(n.wrapping_sub(1).wrapping_sub(i as usize))
                    .map(|s| s.0.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(n)
            .y_label_formatter(&label_of)
            .label_style(("sans-serif", frame.font))
            .x_desc(unit)
            .draw()
            .map_err(chart_err)?;
        for v in ticks.points() {
            let from = chart.backend_coord(&(v, n as f64 - 0.5));
            let to = chart.backend_coord(&(v, -0.5));
            gridline(&root, from, to, ticks.label(v), frame, Side::Below)?;
        }
        for (p, &(_, color)) in parts.iter().enumerate() {
            let rects: Vec<Rectangle<(f64, f64)>> = bars
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let from: f64 = b.values[..p].iter().sum();
                    let to = from + b.values[p];
                    // The first bar at the top.
                    let y = (n - 1 - i) as f64;
                    Rectangle::new([(from, y - 0.35), (to, y + 0.35)], color.filled())
                })
                .collect();
            chart.draw_series(rects).map_err(chart_err)?;
        }
        root.present().map_err(chart_err)?;
    }
    // Each shortened label gets its full name as a tooltip.
    for (short, full) in &shown {
        if let Some(full) = full {
            let drawn = format!(">\n{}\n</text>", escape(short));
            let titled = format!(
                ">\n<title>{}</title>{}\n</text>",
                escape(full),
                escape(short)
            );
            svg = svg.replacen(&drawn, &titled, 1);
        }
    }
    let legend = legend_group(frame, x0, plot_h, &entries)?;
    Ok(finish(&svg, title, size, &legend))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(values: Vec<f64>) -> Vec<Series<'static>> {
        vec![Series {
            name: "Offered",
            color: BLUE,
            values,
        }]
    }

    /// The texts of the `<text>` elements outside the legend.
    fn axis_texts(svg: &str) -> Vec<String> {
        let plot = svg.split("<g class=\"legend\"").next().unwrap();
        plot.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|(_, rest)| rest))
            .filter_map(|t| {
                t.split_once("</text>")
                    .map(|(text, _)| text.trim().to_string())
            })
            .collect()
    }

    #[test]
    fn ticks_are_distinct_whole_steps_covering_the_data() {
        for (max, most, min_step, step, top) in [
            (0.0, 5, 1.0, 1.0, 1.0),
            (1.0, 5, 1.0, 1.0, 1.0),
            (3.0, 5, 1.0, 1.0, 3.0),
            (8.0, 5, 1.0, 2.0, 8.0),
            (9.0, 5, 1.0, 2.0, 10.0),
            (100.0, 5, 1.0, 20.0, 100.0),
            (137.0, 5, 1.0, 50.0, 150.0),
            (0.4, 8, 0.0, 0.05, 0.4),
            (7.3, 8, 0.0, 1.0, 8.0),
            (f64::NAN, 5, 1.0, 1.0, 1.0),
        ] {
            let t = Ticks::fit(max, most, min_step);
            assert!((t.step - step).abs() < 1e-9, "{max}: {t:?}");
            assert!((t.top - top).abs() < 1e-9, "{max}: {t:?}");
            let labels: Vec<String> = t.points().into_iter().map(|p| t.label(p)).collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(labels, unique, "{max}");
        }
        assert_eq!(Ticks::fit(0.4, 8, 0.0).label(0.15), "0.15");
    }

    #[test]
    fn names_are_shortened_at_the_end() {
        assert_eq!(shorten("3012 Jo", 10), None);
        assert_eq!(
            shorten("03 Local/203@from-queue/n", 12).as_deref(),
            Some("03 Local/20…")
        );
        assert_eq!(shorten("ab cdef", 4).as_deref(), Some("ab…"));
    }

    #[test]
    fn line_chart_scales_names_itself_and_keeps_its_legend_below() {
        let labels = vec!["18:00 - 19:00".to_string(), "19:00 - 20:00".to_string()];
        let svg = lines("Calls", &labels, &offered(vec![3.0, 8.0]), None, WIDE).unwrap();
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(
            svg.starts_with("<svg viewBox=\"0 0 900 ") && svg.contains("width=\"100%\""),
            "{svg}"
        );
        assert!(!svg.contains("http"), "no URL: {svg}");
        assert!(svg.contains("<title>Calls</title>"), "{svg}");
        let texts = axis_texts(&svg);
        assert!(texts.contains(&"19:00".to_string()), "{texts:?}");
        assert!(!texts.contains(&"Offered".to_string()), "{texts:?}");
        let legend = svg.split("<g class=\"legend\"").nth(1).unwrap();
        assert!(legend.contains("Offered"), "{svg}");
    }

    #[test]
    fn an_empty_day_has_no_repeated_ticks() {
        let labels: Vec<String> = (0..24).map(|h| format!("{h:02}:00 - {h:02}:59")).collect();
        let svg = lines("Calls", &labels, &offered(vec![0.0; 24]), None, NARROW).unwrap();
        let numbers: Vec<String> = axis_texts(&svg)
            .into_iter()
            .filter(|t| t.parse::<f64>().is_ok())
            .collect();
        assert_eq!(numbers, ["0", "1"], "{svg}");
    }

    #[test]
    fn one_period_is_drawn_as_bars() {
        let labels = vec!["2025-09-07".to_string()];
        let svg = lines("Calls", &labels, &offered(vec![5.0]), None, WIDE).unwrap();
        let plot = svg.split("<g class=\"legend\"").next().unwrap();
        assert!(!plot.contains("<circle"), "{svg}");
        // The background, and the bar.
        assert!(plot.matches("<rect").count() >= 2, "{svg}");
    }

    #[test]
    fn long_bar_labels_are_shortened_with_their_full_name_on_hover() {
        let long = "03 Local/203@from-queue/n <Jo>";
        let svg = stacked_bars(
            "State time",
            "hours",
            &[
                Bar {
                    label: long.into(),
                    values: vec![1.0, 0.5],
                },
                Bar {
                    label: "3012 Jo".into(),
                    values: vec![0.2, 0.1],
                },
            ],
            &[("Available", GREEN), ("Logoff", GREY)],
            NARROW,
        )
        .unwrap();
        assert_eq!(svg.matches("<svg").count(), 1);
        // Text from the data is escaped by the backend.
        assert!(!svg.contains("<Jo>"), "{svg}");
        assert!(
            svg.contains(">\n<title>03 Local/203@from-queue/n &lt;Jo&gt;</title>03 Local/203@"),
            "{svg}"
        );
        assert!(svg.contains("…\n</text>"), "{svg}");
        assert!(axis_texts(&svg).contains(&"3012 Jo".to_string()), "{svg}");
        let legend = svg.split("<g class=\"legend\"").nth(1).unwrap();
        assert!(
            legend.contains("Available") && legend.contains("<rect"),
            "{svg}"
        );
    }

    #[test]
    fn a_legend_wraps_to_stay_inside_the_frame() {
        let names = ["Available", "Productive", "Non-productive", "Logoff"];
        let (at, height) = legend_layout(NARROW, 130, &names);
        assert!(height > LEGEND_ROW, "{at:?}");
        for (name, (x, _)) in names.iter().zip(&at) {
            assert!(x + 22 + NARROW.text_width(name) <= NARROW.width, "{name}");
        }
        let (_, one_row) = legend_layout(WIDE, 60, &names);
        assert_eq!(one_row, LEGEND_ROW + 8);
    }
}
