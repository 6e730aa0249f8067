//! The cost of a mailed HTML report's images (SPEC §12, issue 28): each chart's SVG, as the
//! HTML report draws it, rasterised to PNG by `report::raster::png` (resvg, the built-in
//! font). Times the two charts of an agent report of a day by hour at the largest the
//! report draws them (24 periods; 25 agents' bars), the first call apart (it parses the
//! font once per process), and prints the median of the rest and the PNG's size.
//!
//! `cargo bench --bench chart_png` (`APR_BENCH_ROUNDS`, default 30, sets the repeats).

use std::time::{Duration, Instant};

use apr::report::chart::{self, Bar, Series};
use apr::report::overview::STATE_PARTS;
use apr::report::raster;

fn main() {
    let rounds: usize = std::env::var("APR_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let labels: Vec<String> = (0..24)
        .map(|h| format!("{h:02}:00 - {:02}:00", (h + 1) % 24))
        .collect();
    let wave = |scale: f64| -> Vec<f64> {
        (0..24)
            .map(|h| (scale * (1.0 + (f64::from(h) / 3.0).sin())).round())
            .collect()
    };
    let lines = chart::lines(
        "Calls offered and answered per hour",
        &labels,
        &[
            Series {
                name: "Offered",
                color: chart::BLUE,
                values: wave(120.0),
            },
            Series {
                name: "Answered",
                color: chart::GREEN,
                values: wave(100.0),
            },
        ],
        None,
        chart::WIDE,
    )
    .unwrap();
    let bars: Vec<Bar> = (0..chart::MAX_AGENTS)
        .map(|i| Bar {
            label: format!("{} Agent {i}", 3000 + i),
            values: vec![4.0 + i as f64 / 10.0, 2.0, 1.0, 0.5],
        })
        .collect();
    let bars = chart::stacked_bars(
        "State time per agent",
        "hours",
        &bars,
        &STATE_PARTS,
        chart::WIDE,
    )
    .unwrap();
    for (name, svg) in [
        ("calls per hour (lines)", &lines),
        ("state time, 25 agents (bars)", &bars),
    ] {
        let first = Instant::now();
        let png = raster::png(svg).unwrap();
        let first = first.elapsed();
        let mut times: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                raster::png(svg).unwrap();
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{name}: {}x{} px, SVG {:.1} KiB, PNG {:.1} KiB; first call {:.1} ms, then median {:.1} ms (min {:.1}, max {:.1}, {rounds} rounds)",
            png.width,
            png.height,
            svg.len() as f64 / 1024.0,
            png.bytes.len() as f64 / 1024.0,
            first.as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
        );
    }
}
