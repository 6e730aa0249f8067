//! The agent report's figures (SPEC §7.4, §10): the sums of one agent, or of many, over a
//! period, and the KPIs recomputed from them (AHT, occupancy, utilization), never averaged.
//! Below the agent report and the formats that summarize it (HTML). Pure: no I/O.

use std::cmp::Ordering;

use crate::model::{ActivityRow, HourFigures};

use super::cell::ratio_hundredths;

/// The sums of one agent (or of all agents, for a total) over one period.
#[derive(Debug, Clone, Default)]
pub struct AgentSums {
    pub name: String,
    pub figures: HourFigures,
    pub hours: i64,
    /// Hours among them that are not over yet.
    pub incomplete_hours: i64,
}

impl AgentSums {
    /// Adds one hourly row; the name is the latest hour's.
    pub fn add_row(&mut self, r: &ActivityRow) {
        if self.name != r.agent_name {
            self.name.clone_from(&r.agent_name);
        }
        self.figures.add(&r.figures);
        self.hours += 1;
        self.incomplete_hours += i64::from(!r.complete);
    }

    /// Adds another agent's sums (for totals; the name is not kept).
    pub fn add_sums(&mut self, o: &AgentSums) {
        self.figures.add(&o.figures);
        self.hours += o.hours;
        self.incomplete_hours += o.incomplete_hours;
    }

    /// Talk + Hold + Wrap-up.
    pub fn handled(&self) -> i64 {
        let b = &self.figures.buckets;
        b.talk + b.hold + b.wrap_up
    }

    /// `AHT`: handled seconds per answered call; `None` with nothing answered.
    pub fn aht(&self) -> Option<i64> {
        aht(self.handled(), self.figures.answered_calls)
    }

    /// `Answer Rate (%)`: answered over total calls, in hundredths; `None` without calls.
    pub fn answer_rate(&self) -> Option<i64> {
        ratio_hundredths(self.figures.answered_calls, self.figures.total_calls)
    }

    /// `Occupancy (%)`: handled time over available time, in hundredths; `None` without
    /// available time.
    pub fn occupancy(&self) -> Option<i64> {
        ratio_hundredths(self.handled(), self.figures.buckets.available())
    }

    /// `Utilization (%)`: handled and productive time over the logged-in time (covered
    /// minus logoff and unaccounted), in hundredths; `None` without logged-in time.
    pub fn utilization(&self) -> Option<i64> {
        let f = &self.figures;
        ratio_hundredths(
            self.handled() + f.buckets.productive(),
            f.covered_secs - f.buckets.logoff - f.buckets.unaccounted,
        )
    }
}

/// Average handling time in seconds: handled seconds per answered call, floored; `None`
/// when nothing was answered.
pub fn aht(handled_secs: i64, answered: i64) -> Option<i64> {
    (answered > 0).then(|| handled_secs.max(0) / answered)
}

/// A total order on extensions: all-digit extensions first, by numeric value (of any
/// length), then every other extension as text. Ties in value (`012` and `12`) fall back to
/// the text so that the order stays total.
pub fn ext_order(a: &str, b: &str) -> Ordering {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (digits(a), digits(b)) {
        (true, true) => {
            let (na, nb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            na.len()
                .cmp(&nb.len())
                .then_with(|| na.cmp(nb))
                .then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::cell::{Cell, TextStyle, Undefined, push_text};

    fn dur(s: Option<i64>) -> String {
        let mut o = String::new();
        push_text(
            &mut o,
            &Cell::Mean(s),
            &TextStyle::default(),
            Undefined::Zero,
        );
        o
    }

    fn rate(answered: i64, total: i64) -> String {
        let sums = AgentSums {
            figures: HourFigures {
                total_calls: total,
                answered_calls: answered,
                ..HourFigures::default()
            },
            ..AgentSums::default()
        };
        let mut o = String::new();
        push_text(
            &mut o,
            &Cell::Percent(sums.answer_rate()),
            &TextStyle::default(),
            Undefined::Zero,
        );
        o
    }

    #[test]
    fn aht_is_floored_and_undefined_without_answers() {
        assert_eq!(aht(100, 3), Some(33));
        assert_eq!(aht(101, 2), Some(50));
        assert_eq!(aht(500, 0), None);
        assert_eq!(dur(aht(500, 0)), "00:00:00");
        assert_eq!(dur(aht(7_201, 2)), "01:00:00");
    }

    #[test]
    fn answer_rate_rounds_half_up_in_integers() {
        assert_eq!(rate(1, 8), "12.50%");
        assert_eq!(rate(2, 3), "66.67%");
        assert_eq!(rate(1, 6), "16.67%");
        assert_eq!(rate(1, 3), "33.33%");
        // 1/16 = 6.25 exactly; 1/32 = 3.125 → a tie that rounds up.
        assert_eq!(rate(1, 16), "6.25%");
        assert_eq!(rate(1, 32), "3.13%");
        assert_eq!(rate(1, 800), "0.13%");
        assert_eq!(rate(0, 5), "0.00%");
        assert_eq!(rate(5, 5), "100.00%");
        assert_eq!(rate(0, 0), "0.00%");
    }

    #[test]
    fn extensions_order_numerically_then_as_text() {
        let mut v = vec![
            "3032", "agent7", "999", "10000", "0100", "100", "A1", "", "3012",
        ];
        v.sort_by(|a, b| ext_order(a, b));
        assert_eq!(
            v,
            vec![
                "0100", "100", "999", "3012", "3032", "10000", "", "A1", "agent7"
            ]
        );
        // Digits longer than any integer type still order by value.
        assert_eq!(
            ext_order("99999999999999999999999", "100000000000000000000000"),
            Ordering::Less
        );
    }
}
