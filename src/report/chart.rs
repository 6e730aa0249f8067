//! The charts of the HTML report (SPEC §10), drawn as SVG by plotters' SVG backend: calls
//! per hour or period as lines, state time per agent as stacked horizontal bars, and the
//! service level per hour or period. Each function returns one `<svg>` element as text.

use plotters::prelude::*;

/// Width and height of a line chart, in SVG units (the page scales it to the screen).
const SIZE: (u32, u32) = (900, 320);
/// Most agents the state chart shows (those with the most logged time).
pub const MAX_AGENTS: usize = 25;

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

/// A line chart of `series` over the periods `labels`; `y_max` fixes the scale (100 for
/// percentages), else it fits the data.
pub fn lines(
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    y_max: Option<f64>,
) -> crate::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let n = labels.len().max(1);
        let top = y_max.unwrap_or_else(|| {
            let m = series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0.0, f64::max);
            (m * 1.1).max(1.0).ceil()
        });
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)
            .map_err(chart_err)?;
        let label_of = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(n.min(12))
            .x_label_formatter(&label_of)
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(chart_err)?;
        for s in series {
            let color = s.color;
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
                .map_err(chart_err)?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(chart_err)?;
        }
        legend_and_present(&mut chart, &root)?;
    }
    Ok(inline(svg))
}

/// Draws the series' legend in the upper right, on a pale ground over the data, and writes
/// the chart out.
fn legend_and_present<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    root: &DrawingArea<DB, plotters::coord::Shift>,
) -> crate::Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(chart_err)?;
    root.present().map_err(chart_err)
}

/// Inline SVG in HTML needs no namespace declaration; without it the page names no URL.
fn inline(svg: String) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
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
) -> crate::Result<String> {
    let mut svg = String::new();
    let height = 90 + 22 * bars.len().max(1) as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let n = bars.len().max(1);
        let top = bars
            .iter()
            .map(|b| b.values.iter().sum::<f64>())
            .fold(0.0, f64::max);
        // Room on the right for the legend.
        let top = (top * 1.3).max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(140)
            .build_cartesian_2d(0f64..top, -0.5f64..(n as f64 - 0.5))
            .map_err(chart_err)?;
        let label_of = |y: &f64| {
            let i = y.round();
            if (y - i).abs() < 1e-9 && i >= 0.0 {
                bars.get(n.wrapping_sub(1).wrapping_sub(i as usize))
                    .map(|b| b.label.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .y_labels(n)
            .y_label_formatter(&label_of)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .label_style(("sans-serif", 14))
            .x_desc(unit)
            .draw()
            .map_err(chart_err)?;
        for (p, &(name, color)) in parts.iter().enumerate() {
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
            chart
                .draw_series(rects)
                .map_err(chart_err)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        legend_and_present(&mut chart, &root)?;
    }
    Ok(inline(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_one_svg_each_with_their_labels() {
        let labels = vec!["18:00 - 19:00".to_string(), "19:00 - 20:00".to_string()];
        let svg = lines(
            "Calls",
            &labels,
            &[Series {
                name: "Offered",
                color: BLUE,
                values: vec![3.0, 8.0],
            }],
            None,
        )
        .unwrap();
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(
            svg.contains("Offered") && svg.contains("19:00 - 20:00"),
            "{svg}"
        );
        let svg = stacked_bars(
            "State time",
            "hours",
            &[Bar {
                label: "3012 Jo <Doe>".into(),
                values: vec![1.0, 0.5],
            }],
            &[("Available", GREEN), ("Logoff", GREY)],
        )
        .unwrap();
        assert_eq!(svg.matches("<svg").count(), 1);
        // Text from the data is escaped by the backend.
        assert!(!svg.contains("<Doe>"), "{svg}");
        assert!(!svg.contains("http"), "no URL: {svg}");
    }
}
