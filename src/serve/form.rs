//! The form of the supervisors' page (SPEC §11): date presets as links, the report's
//! fields under the query parameter names of `/api/report`, pick-lists of the agents and
//! queues the database holds (checkboxes, so the plain GET form sends them without any
//! script), the service level threshold and basis, and the download links. Markup comes
//! from maud templates, which escape every value.

use chrono::{Datelike, Days, Months, NaiveDate};
use maud::{Markup, html};

/// The flags among the form's fields (checkboxes).
const FLAGS: [(&str, &str); 3] = [
    ("extended", "Extended"),
    ("totals", "Totals"),
    ("pending", "Not called back only"),
];

/// The fields whose repeats (one per ticked checkbox) the page joins into one list.
pub const LISTS: [&str; 2] = ["ext", "queue"];

/// The page's fields as the request gave them (lists joined), for echoing into the form and
/// the links.
pub struct Values<'a> {
    pub pairs: &'a [(String, String)],
    pub token: Option<&'a str>,
}

impl Values<'_> {
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn on(&self, name: &str) -> bool {
        self.pairs
            .iter()
            .any(|(k, v)| k == name && !matches!(v.as_str(), "0" | "false" | "off"))
    }

    /// The items of a comma-separated list field.
    fn items(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// `PATH?...` with the fields as given, `set` replacing (or, empty, dropping) some.
    fn link(&self, path: &str, set: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs {
            if !v.is_empty() && k != "format" && k != "token" && !set.iter().any(|(s, _)| s == k) {
                q.append_pair(k, v);
            }
        }
        if let Some(t) = self.token {
            q.append_pair("token", t);
        }
        for (k, v) in set {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        format!("{path}?{}", q.finish())
    }

    /// `/api/report?...&format=FORMAT` for the same report.
    pub fn download(&self, format: &str) -> String {
        self.link("/api/report", &[("format", format)])
    }
}

/// Joins repeated list fields (`ext=3012&ext=3032`, as ticked checkboxes send them) into
/// one comma-separated value, in place of the first; other fields stay as they are, so a
/// repeated one is still refused by the report's parser.
pub fn join_lists(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let seen = out
            .iter_mut()
            .find(|(seen, _)| LISTS.contains(&k.as_str()) && *seen == k);
        if let Some((_, joined)) = seen {
            if !v.is_empty() {
                if !joined.is_empty() {
                    joined.push(',');
                }
                joined.push_str(&v);
            }
            continue;
        }
        out.push((k, v));
    }
    out
}

/// What the database offers the form: today in the report zone, the latest day with data,
/// and the agents (extension, name) and queues it holds.
#[derive(Debug, Default, Clone)]
pub struct Choices {
    pub today: Option<NaiveDate>,
    pub latest: Option<NaiveDate>,
    pub agents: Vec<(String, String)>,
    pub queues: Vec<String>,
}

impl Choices {
    /// The day the page opens on: today, or the latest day with data when there is none
    /// today.
    pub fn opening_day(&self) -> Option<NaiveDate> {
        match (self.today, self.latest) {
            (Some(today), Some(latest)) if latest < today => Some(latest),
            (today, latest) => today.or(latest),
        }
    }
}

/// One preset: its label, the range `[start, end)` and the period it is best read by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub label: &'static str,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub by: &'static str,
}

/// Today, yesterday, this week, last week (ISO weeks, Monday first) and this month, around
/// `today`.
pub fn presets(today: NaiveDate) -> Vec<Preset> {
    let day = Days::new(1);
    let week = Days::new(7);
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let first = today.with_day(1).unwrap_or(today);
    let preset = |label, start, end, by| Preset {
        label,
        start,
        end,
        by,
    };
    vec![
        preset("Today", today, today + day, "hour"),
        preset("Yesterday", today - day, today, "hour"),
        preset("This week", monday, monday + week, "day"),
        preset("Last week", monday - week, monday, "day"),
        preset("This month", first, first + Months::new(1), "day"),
    ]
}

/// Whether the form's range is `[start, end)` (an empty end date is one day on).
fn shows(v: &Values<'_>, start: NaiveDate, end: NaiveDate) -> bool {
    let given = v.get("endDate");
    v.get("startDate") == start.to_string()
        && v.get("startTime").is_empty()
        && v.get("endTime").is_empty()
        && (given == end.to_string() || (given.is_empty() && end == start + Days::new(1)))
}

fn select(name: &str, current: &str, options: &[(&str, &str)]) -> Markup {
    html! {
        select name=(name) {
            @for (value, label) in options {
                option value=(value) selected[*value == current] { (label) }
            }
        }
    }
}

/// A pick-list: a disclosure holding a checkbox per item, the items given ticked, any given
/// item the database does not list kept (ticked) so that a resubmit keeps it, and a text
/// field for more (the page joins them all into one list).
fn pick(
    title: &str,
    name: &str,
    items: &[(String, String)],
    given: &[&str],
    example: &str,
) -> Markup {
    let extra: Vec<&str> = given
        .iter()
        .copied()
        .filter(|g| !items.iter().any(|(value, _)| value == g))
        .collect();
    let chosen = if given.is_empty() {
        "all".to_string()
    } else {
        format!("{} chosen", given.len())
    };
    html! {
        details.pick {
            summary { (title) ": " span.chosen { (chosen) } }
            div.options {
                label.more {
                    "Others, comma-separated"
                    input type="text" name=(name) placeholder=(example);
                }
                @if items.is_empty() && extra.is_empty() {
                    p.none { "None in the database yet." }
                }
                @for value in &extra {
                    label.opt { input type="checkbox" name=(name) value=(value) checked; (value) }
                }
                @for (value, label) in items {
                    label.opt {
                        input type="checkbox" name=(name) value=(value) checked[given.contains(&value.as_str())];
                        (label)
                    }
                }
            }
        }
    }
}

/// The page's header: title, presets, the form, a message when there is one, and the
/// download links when a report follows.
pub fn header(v: &Values<'_>, choices: &Choices, error: Option<&str>, downloads: bool) -> Markup {
    // A link to `[start, end)`, read by `by` (as it is when empty).
    let range = |label: String, start: NaiveDate, end: NaiveDate, by: &str| {
        let (from, to) = (start.to_string(), end.to_string());
        let set = [
            ("startDate", from.as_str()),
            ("endDate", to.as_str()),
            ("startTime", ""),
            ("endTime", ""),
            ("by", by),
        ];
        let set = if by.is_empty() { &set[..4] } else { &set[..] };
        (label, v.link("/", set), shows(v, start, end))
    };
    let mut ranges: Vec<(String, String, bool)> = Vec::new();
    if let Some(today) = choices.today {
        for p in presets(today) {
            ranges.push(range(p.label.to_string(), p.start, p.end, p.by));
        }
    }
    if let Some(latest) = choices.latest.filter(|l| Some(*l) != choices.today) {
        let label = format!("Latest data ({latest})");
        ranges.push(range(label, latest, latest + Days::new(1), ""));
    }
    let agents: Vec<(String, String)> = choices
        .agents
        .iter()
        .map(|(ext, name)| {
            let label = if name.is_empty() {
                ext.clone()
            } else {
                format!("{ext} {name}")
            };
            (ext.clone(), label)
        })
        .collect();
    let queues: Vec<(String, String)> = choices
        .queues
        .iter()
        .map(|q| (q.clone(), q.clone()))
        .collect();
    html! {
        header {
            h1 { "Agent performance reports" }
            @if !ranges.is_empty() {
                nav.presets aria-label="Date range" {
                    @for (label, href, on) in &ranges {
                        a href=(href) class=[on.then_some("on")] aria-current=[on.then_some("page")] { (label) }
                    }
                }
            }
            form method="get" action="/" {
                label { "Start date" input type="date" name="startDate" value=(v.get("startDate")) required; }
                label { "Start time" input type="time" name="startTime" value=(v.get("startTime")); }
                label { "End date" input type="date" name="endDate" value=(v.get("endDate")); }
                label { "End time" input type="time" name="endTime" value=(v.get("endTime")); }
                label { "Kind" (select("kind", v.get("kind"), &[("agents", "Agents"), ("queues", "Queues"), ("calls", "Calls"), ("unanswered", "Unanswered"), ("waits", "Waits"), ("outcomes", "Outcomes"), ("agent-queues", "Agent Queues"), ("states", "States")])) }
                label { "Period" (select("by", v.get("by"), &[("hour", "Hour"), ("day", "Day"), ("week", "Week"), ("month", "Month"), ("hour-of-day", "Hour of day"), ("weekday", "Weekday")])) }
                (pick("Agents", "ext", &agents, &v.items("ext"), "3012,3032"))
                (pick("Queues", "queue", &queues, &v.items("queue"), "sales,support"))
                label { "SL threshold (s)" input type="number" name="slSecs" min="0" step="1" inputmode="numeric" value=(v.get("slSecs")) placeholder="20"; }
                label { "SL basis" (select("slBasis", v.get("slBasis"), &[
                    ("", "Offered − short abandons"),
                    ("offered", "Offered"),
                    ("answered", "Answered"),
                    ("answered-plus-abandoned", "Answered + abandoned"),
                ])) }
                label { "Sort by" input type="text" name="sort" value=(v.get("sort")) placeholder="answered_calls or aht_secs:asc"; }
                label { "Top" input type="number" name="top" min="1" step="1" inputmode="numeric" value=(v.get("top")) placeholder="all"; }
                label { "Callback window" input type="text" name="callbackWindow" value=(v.get("callbackWindow")) placeholder="24h"; }
                label { "Wait buckets (s)" input type="text" name="buckets" value=(v.get("buckets")) placeholder="10,20,30,45,60,90,120"; }
                @for (flag, label) in FLAGS {
                    label.flag {
                        input type="checkbox" name=(flag) value="1" checked[v.on(flag)];
                        (label)
                    }
                }
                @if let Some(t) = v.token {
                    input type="hidden" name="token" value=(t);
                }
                button type="submit" { "Show report" }
            }
            @if let Some(msg) = error {
                p.error role="alert" { (msg) }
            }
            @if downloads {
                nav.downloads {
                    "Download: "
                    a href=(v.download("csv")) { "CSV" }
                    a href=(v.download("xlsx")) { "XLSX" }
                    a href=(v.download("json")) { "JSON" }
                    a href=(v.download("pdf")) { "PDF" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn form_echoes_values_escaped_and_links_carry_them() {
        let p = pairs(&[
            ("startDate", "2025-09-07"),
            ("ext", "<script>alert(1)</script>"),
            ("by", "day"),
            ("totals", "1"),
            ("format", "csv"),
            ("endDate", ""),
        ]);
        let v = Values {
            pairs: &p,
            token: Some("t&k"),
        };
        let page = header(&v, &Choices::default(), Some("<b>bad</b>"), true).into_string();
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<b>bad"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            page.contains(r#"<option value="day" selected>Day</option>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"name="totals" value="1" checked"#),
            "{page}"
        );
        assert!(
            !page.contains(r#"name="extended" value="1" checked"#),
            "{page}"
        );
        assert_eq!(
            v.download("xlsx"),
            "/api/report?startDate=2025-09-07&ext=%3Cscript%3Ealert%281%29%3C%2Fscript%3E&by=day&totals=1&token=t%26k&format=xlsx"
        );
        assert!(page.contains(r#"name="token" value="t&amp;k""#), "{page}");
        // Every file format has its link, the PDF too.
        for (format, text) in [
            ("csv", "CSV"),
            ("xlsx", "XLSX"),
            ("json", "JSON"),
            ("pdf", "PDF"),
        ] {
            let link = v.download(format).replace('&', "&amp;");
            assert!(
                page.contains(&format!("<a href=\"{link}\">{text}</a>")),
                "{format}: {page}"
            );
        }
    }

    #[test]
    fn the_form_offers_the_new_kinds_periods_and_options() {
        let p = pairs(&[
            ("startDate", "2025-09-07"),
            ("kind", "unanswered"),
            ("by", "weekday"),
            ("callbackWindow", "2h"),
            ("pending", "1"),
            ("sort", "offered:asc"),
            ("top", "5"),
            ("buckets", "10,20"),
        ]);
        let v = Values {
            pairs: &p,
            token: None,
        };
        let page = header(&v, &Choices::default(), None, true).into_string();
        for want in [
            r#"<option value="unanswered" selected>Unanswered</option>"#,
            r#"<option value="waits">Waits</option>"#,
            r#"<option value="outcomes">Outcomes</option>"#,
            r#"<option value="agent-queues">Agent Queues</option>"#,
            r#"<option value="states">States</option>"#,
            r#"<option value="weekday" selected>Weekday</option>"#,
            r#"<option value="hour-of-day">Hour of day</option>"#,
            r#"name="callbackWindow" value="2h""#,
            r#"name="pending" value="1" checked"#,
            r#"name="sort" value="offered:asc""#,
            r#"name="top" min="1" step="1" inputmode="numeric" value="5""#,
            r#"name="buckets" value="10,20""#,
        ] {
            assert!(page.contains(want), "{want}: {page}");
        }
        // Every field the form sends is a parameter of /api/report.
        let raw = crate::report::args::RawReportArgs::from_query(p.clone()).unwrap();
        assert!(raw.pending);
        assert_eq!(raw.callback_window.as_deref(), Some("2h"));
    }

    #[test]
    fn repeated_list_fields_are_joined_and_others_kept() {
        let joined = join_lists(pairs(&[
            ("ext", "3012"),
            ("kind", "agents"),
            ("ext", ""),
            ("ext", "3032"),
            ("queue", ""),
            ("queue", "sales"),
            ("by", "day"),
            ("by", "hour"),
        ]));
        assert_eq!(
            joined,
            pairs(&[
                ("ext", "3012,3032"),
                ("kind", "agents"),
                ("queue", "sales"),
                ("by", "day"),
                ("by", "hour"),
            ])
        );
    }

    #[test]
    fn presets_cover_days_iso_weeks_and_the_month() {
        // A Wednesday.
        let got: Vec<(&str, String, String, &str)> = presets(date("2025-10-01"))
            .into_iter()
            .map(|p| (p.label, p.start.to_string(), p.end.to_string(), p.by))
            .collect();
        let want = [
            ("Today", "2025-10-01", "2025-10-02", "hour"),
            ("Yesterday", "2025-09-30", "2025-10-01", "hour"),
            ("This week", "2025-09-29", "2025-10-06", "day"),
            ("Last week", "2025-09-22", "2025-09-29", "day"),
            ("This month", "2025-10-01", "2025-11-01", "day"),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0, g.1.as_str(), g.2.as_str(), g.3), w);
        }
        // A Monday at a year's end.
        let p = presets(date("2024-12-30"));
        assert_eq!(p[2].start, date("2024-12-30"));
        assert_eq!(p[3].start, date("2024-12-23"));
        assert_eq!(p[4].end, date("2025-01-01"));
    }

    #[test]
    fn the_page_opens_on_today_or_the_latest_day_with_data() {
        let c = |today: Option<&str>, latest: Option<&str>| {
            Choices {
                today: today.map(date),
                latest: latest.map(date),
                ..Choices::default()
            }
            .opening_day()
            .map(|d| d.to_string())
        };
        assert_eq!(
            c(Some("2025-10-01"), Some("2025-08-20")).as_deref(),
            Some("2025-08-20")
        );
        assert_eq!(
            c(Some("2025-10-01"), Some("2025-10-01")).as_deref(),
            Some("2025-10-01")
        );
        // Data stamped after today (a clock behind the platform's): today still.
        assert_eq!(
            c(Some("2025-10-01"), Some("2025-10-02")).as_deref(),
            Some("2025-10-01")
        );
        assert_eq!(c(Some("2025-10-01"), None).as_deref(), Some("2025-10-01"));
    }

    #[test]
    fn presets_link_the_range_keeping_the_rest_and_mark_the_one_shown() {
        let p = pairs(&[
            ("startDate", "2025-09-30"),
            ("kind", "queues"),
            ("queue", "sales,support"),
            ("by", "day"),
        ]);
        let v = Values {
            pairs: &p,
            token: None,
        };
        let choices = Choices {
            today: Some(date("2025-10-01")),
            latest: Some(date("2025-09-30")),
            agents: vec![("3012".into(), "Jo <Doe>".into())],
            queues: vec!["sales".into(), "support".into(), "vip".into()],
        };
        let page = header(&v, &choices, None, true).into_string();
        assert!(
            page.contains(r#"<a href="/?kind=queues&amp;queue=sales%2Csupport&amp;startDate=2025-09-30&amp;endDate=2025-10-01&amp;by=hour" class="on" aria-current="page">Yesterday</a>"#),
            "{page}"
        );
        assert!(page.contains("Latest data (2025-09-30)"), "{page}");
        assert!(
            page.contains(r#"name="queue" value="support" checked>support"#),
            "{page}"
        );
        assert!(page.contains(r#"name="queue" value="vip">vip"#), "{page}");
        assert!(
            page.contains("Queues: <span class=\"chosen\">2 chosen"),
            "{page}"
        );
        assert!(page.contains("3012 Jo &lt;Doe&gt;"), "{page}");
        assert!(
            page.contains("Agents: <span class=\"chosen\">all"),
            "{page}"
        );
    }
}
