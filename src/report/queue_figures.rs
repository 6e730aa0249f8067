//! The queue report's figures (SPEC §6): the counts, waits and service level of one queue
//! over an hour or a period, summed from stints and merged over queues and periods, with
//! every mean and rate recomputed from the sums. Below the queue report and the formats
//! that summarize it (HTML). Pure: no I/O.

use crate::error::{Error, Result};
use crate::model::queue::{Outcome, Stint};
use crate::store::{QueueStore, Store};

use super::cell::ratio_hundredths;

/// The denominator of the service level (`--sl-basis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlBasis {
    /// Offered minus short abandons.
    #[default]
    OfferedMinusShort,
    Offered,
    Answered,
    AnsweredPlusAbandoned,
}

impl SlBasis {
    /// The name `--sl-basis` takes.
    pub fn name(self) -> &'static str {
        match self {
            SlBasis::OfferedMinusShort => "offered-minus-short",
            SlBasis::Offered => "offered",
            SlBasis::Answered => "answered",
            SlBasis::AnsweredPlusAbandoned => "answered-plus-abandoned",
        }
    }

    pub fn parse(s: &str, arg: &str) -> Result<SlBasis> {
        match s.trim() {
            "offered-minus-short" => Ok(SlBasis::OfferedMinusShort),
            "offered" => Ok(SlBasis::Offered),
            "answered" => Ok(SlBasis::Answered),
            "answered-plus-abandoned" => Ok(SlBasis::AnsweredPlusAbandoned),
            _ => Err(Error::usage(format!(
                "{arg} '{s}' is not a service level basis; expected offered-minus-short, offered, answered or answered-plus-abandoned"
            ))),
        }
    }
}

/// Settings of the queue report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// Abandons with a wait up to this many seconds are short (`--short-abandon-secs`).
    pub short_abandon_secs: i64,
    /// Answered within this many seconds counts for the service level (`--sl-secs`).
    pub sl_secs: i64,
    pub sl_basis: SlBasis,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            short_abandon_secs: 5,
            sl_secs: 20,
            sl_basis: SlBasis::OfferedMinusShort,
        }
    }
}

/// Sum and count of known values, for a floored mean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mean {
    sum: i64,
    n: i64,
}

impl Mean {
    fn add(&mut self, v: Option<i64>) {
        if let Some(v) = v {
            self.sum += v;
            self.n += 1;
        }
    }

    fn merge(&mut self, o: &Mean) {
        self.sum += o.sum;
        self.n += o.n;
    }

    /// The floored mean; `None` with nothing to average.
    fn floor(&self) -> Option<i64> {
        (self.n > 0).then(|| self.sum / self.n)
    }
}

/// The figures of one queue in one hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueHour {
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    pub short_abandons: i64,
    pub timeouts: i64,
    pub exit_key: i64,
    pub exit_empty: i64,
    pub transferred: i64,
    pub incomplete: i64,
    /// Answered with a known wait within the service level.
    pub within_sl: i64,
    asa: Mean,
    abandon_wait: Mean,
    talk: Mean,
    pub max_wait: i64,
}

impl QueueHour {
    /// Counts one stint.
    pub fn add(&mut self, s: &Stint, opts: &QueueOptions) {
        self.offered += 1;
        if let Some(w) = s.wait_secs {
            self.max_wait = self.max_wait.max(w);
        }
        match s.outcome {
            Some(Outcome::Answered | Outcome::Transfer) => {
                self.answered += 1;
                if s.outcome == Some(Outcome::Transfer) {
                    self.transferred += 1;
                }
                if s.wait_secs.is_some_and(|w| w <= opts.sl_secs) {
                    self.within_sl += 1;
                }
                self.asa.add(s.wait_secs);
                self.talk.add(s.talk_secs);
            }
            Some(Outcome::Abandon) => {
                self.abandoned += 1;
                if s.wait_secs.is_some_and(|w| w <= opts.short_abandon_secs) {
                    self.short_abandons += 1;
                }
                self.abandon_wait.add(s.wait_secs);
            }
            Some(Outcome::Timeout) => self.timeouts += 1,
            Some(Outcome::ExitWithKey) => self.exit_key += 1,
            Some(Outcome::ExitEmpty) => self.exit_empty += 1,
            Some(Outcome::Incomplete) => self.incomplete += 1,
            Some(Outcome::Withdraw) | None => {}
        }
    }

    /// Adds another hour's (or queue's) figures: counts and numerators add up, so every
    /// mean and rate of the sum is recomputed from them, never averaged.
    pub fn merge(&mut self, o: &QueueHour) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.abandoned += o.abandoned;
        self.short_abandons += o.short_abandons;
        self.timeouts += o.timeouts;
        self.exit_key += o.exit_key;
        self.exit_empty += o.exit_empty;
        self.transferred += o.transferred;
        self.incomplete += o.incomplete;
        self.within_sl += o.within_sl;
        self.asa.merge(&o.asa);
        self.abandon_wait.merge(&o.abandon_wait);
        self.talk.merge(&o.talk);
        self.max_wait = self.max_wait.max(o.max_wait);
    }

    /// Service level in hundredths of a percent; `None` with nothing in its denominator.
    pub fn service_level(&self, basis: SlBasis) -> Option<i64> {
        ratio_hundredths(self.within_sl, self.sl_denominator(basis))
    }

    /// Abandon rate (short abandons left out of both sides) in hundredths of a percent;
    /// `None` with nothing offered but short abandons.
    pub fn abandon_rate(&self) -> Option<i64> {
        ratio_hundredths(
            self.abandoned - self.short_abandons,
            self.offered - self.short_abandons,
        )
    }

    /// The service level's denominator under `basis`.
    pub fn sl_denominator(&self, basis: SlBasis) -> i64 {
        match basis {
            SlBasis::OfferedMinusShort => self.offered - self.short_abandons,
            SlBasis::Offered => self.offered,
            SlBasis::Answered => self.answered,
            SlBasis::AnsweredPlusAbandoned => self.answered + self.abandoned,
        }
    }

    pub fn asa(&self) -> Option<i64> {
        self.asa.floor()
    }

    pub fn avg_abandon_wait(&self) -> Option<i64> {
        self.abandon_wait.floor()
    }

    pub fn avg_talk(&self) -> Option<i64> {
        self.talk.floor()
    }
}

/// The queue_log tables of `store`, which the kinds read from queue_log (`what`: "the queue
/// report") need; one place for the refusal of a store without them.
pub(super) fn queue_tables<'a>(
    store: &'a mut dyn Store,
    what: &str,
) -> Result<&'a mut dyn QueueStore> {
    let backend = store.backend();
    store.queue_store().ok_or_else(|| {
        Error::config(format!(
            "the {backend} backend has no queue_log tables; {what} needs a database that holds them"
        ))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::cell::{Cell, TextStyle, Undefined, push_text};

    /// A stint of queue `q` entered at 0 with `outcome`, `wait` and `talk`.
    pub(crate) fn stint(outcome: Outcome, wait: Option<i64>, talk: Option<i64>) -> Stint {
        Stint {
            callid: "c".into(),
            queue: "q".into(),
            enter_time: 0,
            enter_hour: 0,
            enter_hour_local: String::new(),
            caller_number: String::new(),
            caller_name: String::new(),
            entry_position: None,
            outcome: Some(outcome),
            agent: String::new(),
            wait_secs: wait,
            talk_secs: talk,
            ring_attempts: 0,
            end_time: None,
            hangup_by: None,
            did: String::new(),
            rings: Vec::new(),
            pending: false,
        }
    }

    fn hour(stints: &[Stint], opts: &QueueOptions) -> QueueHour {
        let mut q = QueueHour::default();
        for s in stints {
            q.add(s, opts);
        }
        q
    }

    #[test]
    fn counts_and_means() {
        let opts = QueueOptions::default();
        let q = hour(
            &[
                stint(Outcome::Answered, Some(10), Some(100)),
                stint(Outcome::Answered, Some(25), None),
                stint(Outcome::Transfer, Some(20), Some(51)),
                stint(Outcome::Abandon, Some(3), None),
                stint(Outcome::Abandon, Some(40), None),
                stint(Outcome::Timeout, Some(300), None),
                stint(Outcome::ExitWithKey, Some(7), None),
                stint(Outcome::ExitEmpty, Some(1), None),
                stint(Outcome::Incomplete, None, None),
                stint(Outcome::Withdraw, Some(2), None),
            ],
            &opts,
        );
        assert_eq!(
            (
                q.offered,
                q.answered,
                q.transferred,
                q.abandoned,
                q.short_abandons
            ),
            (10, 3, 1, 2, 1)
        );
        assert_eq!(
            (q.timeouts, q.exit_key, q.exit_empty, q.incomplete),
            (1, 1, 1, 1)
        );
        assert_eq!(q.within_sl, 2, "10 s and 20 s are within 20 s; 25 s is not");
        assert_eq!(q.asa(), Some(18), "(10 + 25 + 20) / 3 floored");
        assert_eq!(
            q.avg_talk(),
            Some(75),
            "(100 + 51) / 2 floored; unknown talk left out"
        );
        assert_eq!(q.avg_abandon_wait(), Some(21));
        assert_eq!(q.max_wait, 300);
        assert_eq!(q.sl_denominator(SlBasis::OfferedMinusShort), 9);
        assert_eq!(q.sl_denominator(SlBasis::Offered), 10);
        assert_eq!(q.sl_denominator(SlBasis::Answered), 3);
        assert_eq!(q.sl_denominator(SlBasis::AnsweredPlusAbandoned), 5);
    }

    #[test]
    fn thresholds_are_inclusive_and_configurable() {
        let opts = QueueOptions {
            short_abandon_secs: 10,
            sl_secs: 5,
            sl_basis: SlBasis::Answered,
        };
        let q = hour(
            &[
                stint(Outcome::Abandon, Some(10), None),
                stint(Outcome::Abandon, Some(11), None),
                stint(Outcome::Abandon, None, None),
                stint(Outcome::Answered, Some(5), Some(1)),
                stint(Outcome::Answered, Some(6), Some(1)),
            ],
            &opts,
        );
        assert_eq!((q.short_abandons, q.within_sl), (1, 1));
    }

    #[test]
    fn basis_names() {
        assert_eq!(
            SlBasis::parse("answered-plus-abandoned", "--sl-basis").unwrap(),
            SlBasis::AnsweredPlusAbandoned
        );
        let e = SlBasis::parse("all", "--sl-basis").unwrap_err().to_string();
        assert!(e.starts_with("--sl-basis 'all'"), "{e}");
    }

    #[test]
    fn empty_hour_figures_are_undefined_and_zero_in_csv() {
        let q = QueueHour::default();
        assert_eq!(
            (q.asa(), q.avg_talk(), q.avg_abandon_wait()),
            (None, None, None)
        );
        assert_eq!(
            (q.service_level(SlBasis::Offered), q.abandon_rate()),
            (None, None)
        );
        let mut t = String::new();
        let style = TextStyle::default();
        push_text(
            &mut t,
            &Cell::Percent(q.service_level(SlBasis::Offered)),
            &style,
            Undefined::Zero,
        );
        push_text(&mut t, &Cell::Mean(q.asa()), &style, Undefined::Zero);
        assert_eq!(t, "0.00%00:00:00");
    }
}
