//! The overview of an HTML report (SPEC §10), before its table: the summary's figures and
//! the charts ([`super::chart`]), both from the figures of the report's detail rows, which
//! it sums as they stream by (one point per period, one bar per agent). The page
//! ([`super::html`]) shows the charts as SVG, the mail ([`super::html_mail`]) as PNG.

use std::collections::BTreeMap;

use plotters::style::RGBColor;

use crate::error::Result;
use crate::model::queue::Outcome;

use super::agent_figures::{AgentSums, ext_order};
use super::cell::{ReportMeta, push_duration, push_hundredths};
use super::chart::{self, Bar, Series};
use super::queue_figures::{QueueHour, SlBasis};
use super::sink::Figures;

/// The figures the summary and charts are made of.
#[derive(Default)]
pub struct ChartData {
    /// Periods in report order, and the calls (offered, answered, abandoned) of each.
    periods: Vec<String>,
    calls: Vec<[i64; 3]>,
    /// Queue reports: every queue's figures of each period summed (service level).
    queue_periods: Vec<QueueHour>,
    /// Agent reports: per extension, its name and state sums.
    agents: BTreeMap<String, (String, AgentSums)>,
    agent_total: AgentSums,
    queues: std::collections::BTreeSet<String>,
    queue_total: QueueHour,
    basis: SlBasis,
    /// Call lists: calls, answered, abandoned.
    call_counts: [i64; 3],
    /// The unanswered list: rows, and those called back.
    unanswered: [i64; 2],
}

impl ChartData {
    /// Adds one detail row's figures.
    pub fn add(&mut self, f: &Figures<'_>) {
        let d = self;
        match *f {
            Figures::Agent { period, ext, sums } => {
                let i = d.period(period);
                d.calls[i][0] += sums.figures.total_calls;
                d.calls[i][1] += sums.figures.answered_calls;
                d.agent_total.add_sums(sums);
                let entry = d.agents.entry(ext.to_string()).or_default();
                entry.0.clone_from(&sums.name);
                entry.1.add_sums(sums);
            }
            Figures::Queue {
                period,
                queue,
                figures,
                basis,
            } => {
                let i = d.period(period);
                d.calls[i][0] += figures.offered;
                d.calls[i][1] += figures.answered;
                d.calls[i][2] += figures.abandoned;
                d.queue_periods[i].merge(figures);
                d.queue_total.merge(figures);
                d.basis = basis;
                if !d.queues.contains(queue) {
                    d.queues.insert(queue.to_string());
                }
            }
            Figures::Call { outcome } => {
                d.call_counts[0] += 1;
                match outcome {
                    Some(Outcome::Answered | Outcome::Transfer) => d.call_counts[1] += 1,
                    Some(Outcome::Abandon) => d.call_counts[2] += 1,
                    _ => {}
                }
            }
            Figures::Unanswered { called_back } => {
                d.unanswered[0] += 1;
                d.unanswered[1] += i64::from(called_back);
            }
        }
    }

    fn period(&mut self, label: &str) -> usize {
        if self.periods.last().map(String::as_str) != Some(label) {
            self.periods.push(label.to_string());
            self.calls.push([0; 3]);
            self.queue_periods.push(QueueHour::default());
        }
        self.periods.len() - 1
    }
}

/// A mean duration of the summary; empty, as in the table, with nothing to average.
fn dur(secs: Option<i64>) -> String {
    let mut s = String::new();
    if let Some(secs) = secs {
        push_duration(&mut s, secs);
    }
    s
}

/// A ratio of the summary; empty, as in the table, without a denominator.
fn pct(hundredths: Option<i64>) -> String {
    let mut s = String::new();
    if let Some(h) = hundredths {
        push_hundredths(&mut s, h, '.');
        s.push('%');
    }
    s
}

/// The summary's figures, named.
pub fn summary(meta: &ReportMeta, d: &ChartData) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("Range", meta.range.clone()),
        ("Time zone", meta.zone.clone()),
    ];
    match meta.title {
        "Agents" => {
            let t = &d.agent_total;
            out.extend([
                ("Period", meta.by.to_string()),
                ("Agents", d.agents.len().to_string()),
                ("Calls", t.figures.total_calls.to_string()),
                ("Answered", t.figures.answered_calls.to_string()),
                ("Answer rate", pct(t.answer_rate())),
                ("AHT", dur(t.aht())),
                ("Occupancy", pct(t.occupancy())),
            ]);
        }
        "Queues" => {
            let q = &d.queue_total;
            out.extend([
                ("Period", meta.by.to_string()),
                ("Queues", d.queues.len().to_string()),
                ("Offered", q.offered.to_string()),
                ("Answered", q.answered.to_string()),
                ("Abandoned", q.abandoned.to_string()),
                ("Service level", pct(q.service_level(d.basis))),
                (
                    "Service level target",
                    meta.service_level.clone().unwrap_or_default(),
                ),
                ("ASA", dur(q.asa())),
            ]);
        }
        "Unanswered" => {
            let [n, back] = d.unanswered;
            out.extend([
                ("Unanswered", n.to_string()),
                ("Called back", back.to_string()),
                ("Not called back", (n - back).to_string()),
            ]);
        }
        "Calls" => {
            let [n, answered, abandoned] = d.call_counts;
            out.extend([
                ("Calls", n.to_string()),
                ("Answered", answered.to_string()),
                ("Abandoned", abandoned.to_string()),
                (
                    "Answer rate",
                    pct(super::cell::ratio_hundredths(answered, n)),
                ),
            ]);
        }
        _ => out.push(("Period", meta.by.to_string())),
    }
    out
}

/// The segments of an agent's bar in the state time chart, in the order of its values.
pub const STATE_PARTS: [(&str, RGBColor); 4] = [
    ("Available", chart::GREEN),
    ("Productive", chart::BLUE),
    ("Non-productive", chart::ORANGE),
    ("Logoff", chart::GREY),
];

/// The lines of the calls chart, in the order of [`ChartData::calls`]' columns.
const CALL_LINES: [(&str, RGBColor); 3] = [
    ("Offered", chart::BLUE),
    ("Answered", chart::GREEN),
    ("Abandoned", chart::RED),
];

/// The charts of the report, each its title and one `<svg>`.
pub fn charts(
    meta: &ReportMeta,
    d: &ChartData,
    frame: chart::Frame,
) -> Result<Vec<(String, String)>> {
    let per = meta.by;
    // A line per column of `d.calls`, named and colored by `lines`.
    let calls = |title: String, lines: &[(&str, RGBColor)]| {
        let series: Vec<Series> = lines
            .iter()
            .enumerate()
            .map(|(i, &(name, color))| Series {
                name,
                color,
                values: d.calls.iter().map(|c| c[i] as f64).collect(),
            })
            .collect();
        chart::lines(&title, &d.periods, &series, None, frame).map(|svg| (title, svg))
    };
    let mut out = Vec::new();
    match meta.title {
        "Agents" => {
            out.push(calls(
                format!("Calls offered and answered per {per}"),
                &CALL_LINES[..2],
            )?);
            let mut ranked: Vec<(&String, &(String, AgentSums))> = d.agents.iter().collect();
            let logged = |s: &AgentSums| {
                s.figures.buckets.available()
                    + s.figures.buckets.productive()
                    + s.figures.buckets.non_productive()
            };
            ranked.sort_by(|a, b| {
                logged(&b.1.1)
                    .cmp(&logged(&a.1.1))
                    .then_with(|| ext_order(a.0, b.0))
            });
            ranked.truncate(chart::MAX_AGENTS);
            ranked.sort_by(|a, b| ext_order(a.0, b.0));
            let hours = |s: i64| s as f64 / 3600.0;
            let bars: Vec<Bar> = ranked
                .iter()
                .map(|(ext, (name, s))| Bar {
                    label: format!("{ext} {name}"),
                    values: vec![
                        hours(s.figures.buckets.available()),
                        hours(s.figures.buckets.productive()),
                        hours(s.figures.buckets.non_productive()),
                        hours(s.figures.buckets.logoff),
                    ],
                })
                .collect();
            let title = if d.agents.len() > chart::MAX_AGENTS {
                format!(
                    "State time per agent ({} of {} agents, most logged time)",
                    chart::MAX_AGENTS,
                    d.agents.len()
                )
            } else {
                "State time per agent".to_string()
            };
            let svg = chart::stacked_bars(&title, "hours", &bars, &STATE_PARTS, frame)?;
            out.push((title, svg));
        }
        "Queues" => {
            out.push(calls(
                format!("Calls offered, answered and abandoned per {per}"),
                &CALL_LINES,
            )?);
            let title = format!("Service level per {per} (%)");
            let svg = chart::lines(
                &title,
                &d.periods,
                &[Series {
                    name: "Service level",
                    color: chart::GREEN,
                    values: d
                        .queue_periods
                        .iter()
                        // The chart keeps its line through a period without calls.
                        .map(|q| q.service_level(d.basis).unwrap_or(0) as f64 / 100.0)
                        .collect(),
                }],
                Some(100.0),
                frame,
            )?;
            out.push((title, svg));
        }
        _ => {}
    }
    Ok(out)
}
