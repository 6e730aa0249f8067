//! Not-available reasons → report categories (SPEC §5.3). The rules are data: the built-in
//! set is `examples/state-map.toml`, compiled in; `APR_STATE_MAP` names a TOML file of the
//! same shape that replaces it. A rule's `contains` phrases match whole words (runs of
//! letters and digits) with a plural `s` allowed, so `tea` is `Tea Break` but never
//! `Team Huddle`.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Where a not-available reason's time is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Login,
    Logoff,
    Dnd,
    Meeting,
    Training,
    Chat,
    Tickets,
    Outbound,
    Lunch,
    Tea,
    Bio,
    Short,
    Other,
}

impl Category {
    /// The name rules and `status` use (`tea`, `other`).
    pub fn name(self) -> &'static str {
        match self {
            Category::Login => "login",
            Category::Logoff => "logoff",
            Category::Dnd => "dnd",
            Category::Meeting => "meeting",
            Category::Training => "training",
            Category::Chat => "chat",
            Category::Tickets => "tickets",
            Category::Outbound => "outbound",
            Category::Lunch => "lunch",
            Category::Tea => "tea",
            Category::Bio => "bio",
            Category::Short => "short",
            Category::Other => "other",
        }
    }
}

/// The built-in rules, shown to users as `examples/state-map.toml`.
pub const BUILT_IN_RULES: &str = include_str!("../../examples/state-map.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    category: Category,
    #[serde(default)]
    exact: Vec<String>,
    #[serde(default)]
    contains: Vec<String>,
}

/// A rule ready to match: exact reasons folded, `contains` phrases split into words.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    category: Category,
    exact: Vec<String>,
    contains: Vec<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleText>,
}

/// An ordered rule list; the first matching rule wins, no match is [`Category::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMap {
    rules: Vec<Rule>,
}

impl Default for StateMap {
    fn default() -> Self {
        StateMap::parse(BUILT_IN_RULES, "built-in rules")
            .expect("examples/state-map.toml is valid; a unit test parses it")
    }
}

impl StateMap {
    /// Parses rules from TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<StateMap> {
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            Error::config(format!(
                "{origin}: {}; expected [[rule]] tables with category = \"lunch\" and exact = [...] or contains = [...] (see examples/state-map.toml)",
                crate::error::one_line(e.message())
            ))
        })?;
        let rules = file
            .rule
            .into_iter()
            .map(|r| Rule {
                category: r.category,
                exact: r.exact.iter().map(|s| fold(s)).collect(),
                contains: r.contains.iter().map(|s| words(s)).collect(),
            })
            .collect();
        Ok(StateMap { rules })
    }

    /// Reads the rules from a TOML file; `label` is what errors call it (the setting that
    /// names it).
    pub fn load(path: &Path, label: &str) -> Result<StateMap> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "{label} file '{}' cannot be read ({e}); expected a TOML file like examples/state-map.toml",
                path.display()
            ))
        })?;
        StateMap::parse(&text, &format!("{label} {}", path.display()))
    }

    /// The category of a not-available reason.
    pub fn classify(&self, reason: &str) -> Category {
        let r = fold(reason);
        let said = words(&r);
        self.rules
            .iter()
            .find(|rule| {
                rule.exact.contains(&r)
                    || rule
                        .contains
                        .iter()
                        .any(|phrase| holds_phrase(&said, phrase))
            })
            .map_or(Category::Other, |rule| rule.category)
    }
}

fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The case-folded words of `s`: its runs of letters and digits (`tea-break` and
/// `ticket_b2c` are two words each).
fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `said` holds the words of `phrase` one after another, each as said or with a
/// plural `s` (`ticket` is `Tickets`). An empty phrase matches nothing.
fn holds_phrase(said: &[String], phrase: &[String]) -> bool {
    let same = |w: &String, p: &String| w == p || w.strip_suffix('s') == Some(p.as_str());
    !phrase.is_empty()
        && said
            .windows(phrase.len())
            .any(|run| run.iter().zip(phrase).all(|(w, p)| same(w, p)))
}

#[cfg(test)]
mod tests {
    use super::Category::*;
    use super::*;

    #[test]
    fn built_in_rules_follow_the_spec() {
        let m = StateMap::default();
        let cases = [
            ("Login", Login),
            (" login ", Login),
            ("Logoff", Logoff),
            ("LOGOUT", Logoff),
            ("dnd", Dnd),
            ("Team Meeting", Meeting),
            ("training", Training),
            ("Chat support", Chat),
            ("ON Tickets", Tickets),
            ("Outbound ", Outbound),
            ("lunch", Lunch),
            ("Tea Break", Tea),
            ("coffee", Tea),
            ("Bio break", Bio),
            ("Short Break", Short),
            ("Not Available", Other),
            ("", Other),
            ("none", Other),
        ];
        for (reason, want) in cases {
            assert_eq!(m.classify(reason), want, "{reason:?}");
        }
    }

    /// Substring matching once counted these as breaks (issue 28).
    #[test]
    fn rules_match_whole_words_only() {
        let m = StateMap::default();
        let cases = [
            ("Team Huddle", Other),
            ("Teams call", Other),
            ("Biometric check", Other),
            ("Steam room", Other),
            ("tea", Tea),
            ("TEA-break", Tea),
            ("Teas", Tea),
            ("ticket_b2c", Tickets),
            ("Tickets", Tickets),
            ("chats", Chat),
            ("Chatting", Other),
            ("break short", Other),
            ("Short  Break!", Short),
            ("Short Breaks", Short),
        ];
        for (reason, want) in cases {
            assert_eq!(m.classify(reason), want, "{reason:?}");
        }
    }

    #[test]
    fn category_names_are_the_rule_names() {
        let all = [
            Login, Logoff, Dnd, Meeting, Training, Chat, Tickets, Outbound, Lunch, Tea, Bio, Short,
            Other,
        ];
        for c in all {
            let rule = format!("[[rule]]\ncategory = \"{}\"\nexact = [\"x\"]\n", c.name());
            assert_eq!(StateMap::parse(&rule, "t").unwrap().classify("x"), c);
        }
    }

    #[test]
    fn login_is_exact_not_contains() {
        let m = StateMap::default();
        assert_eq!(m.classify("Login Delay"), Other);
        assert_eq!(m.classify("dnd mode"), Other);
    }

    #[test]
    fn first_rule_wins() {
        // "Meeting over lunch" contains both; meeting comes first.
        assert_eq!(StateMap::default().classify("Meeting over lunch"), Meeting);
    }

    #[test]
    fn a_custom_map_replaces_the_rules() {
        let m = StateMap::parse(
            "[[rule]]\ncategory = \"lunch\"\ncontains = [\"break\"]\n",
            "test",
        )
        .unwrap();
        assert_eq!(m.classify("Tea Break"), Lunch);
        assert_eq!(m.classify("login"), Other);
    }

    #[test]
    fn a_bad_map_is_one_line_naming_the_file() {
        let e = StateMap::parse("[[rule]]\ncategory = \"nap\"\n", "APR_STATE_MAP x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("APR_STATE_MAP x.toml:"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
