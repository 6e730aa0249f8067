//! The agent field of a queue_log line → the agent's extension (SPEC §6). Pure: no I/O.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::names::{agent_field_ext, channel_ext};

/// Agent field → extension: an alias table for member names (`[agents]` in the
/// TOML given by `--agents` / `APR_QUEUE_AGENTS`), then channel forms (`PJSIP/201`,
/// `SIP/201`, `Local/201@from-queue/n`, `Agent/201` → `201`), else the name itself; and
/// extension → the display name reports show for it, when the file gives one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMap {
    aliases: HashMap<String, String>,
    /// By extension: every agent field of that extension shows this name.
    names: HashMap<String, String>,
}

#[derive(Deserialize)]
struct AgentsFile {
    #[serde(default)]
    agents: BTreeMap<String, toml::Value>,
}

/// The forms an `[agents]` entry takes, for errors.
const FORMS: &str =
    "\"Member Name\" = \"201\" or \"PJSIP/201\" = { ext = \"201\", name = \"Reception 1\" }";

/// A value as an error shows it, on one line (a string's escapes spelled out).
fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => crate::error::one_line(&other.to_string()),
    }
}

/// An extension written as a string or a number.
fn ext_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.trim().to_string()),
        toml::Value::Integer(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The extension a key names by itself: a channel's or an extension's own (`201`); a
/// member name names none.
fn own_ext(key: &str) -> Option<&str> {
    channel_ext(key)
        .or_else(|| (!key.is_empty() && key.bytes().all(|b| b.is_ascii_digit())).then_some(key))
}

/// A `{ ext = "201", name = "Reception 1" }` entry under `key`: its extension (from the key
/// when `ext` is left out) and display name, or why not, in words.
fn member_entry(key: &str, table: &toml::Table) -> std::result::Result<(String, String), String> {
    let mut ext = None;
    let mut name = None;
    for (field, v) in table {
        match field.as_str() {
            "ext" => {
                ext = Some(
                    ext_text(v)
                        .filter(|e| !e.is_empty())
                        .ok_or_else(|| format!("ext = {} is not an extension", shown(v)))?,
                )
            }
            "name" => {
                let text = v.as_str().map(str::trim).unwrap_or("");
                if text.is_empty() || text.chars().any(char::is_control) {
                    return Err(format!("name = {} is not a display name", shown(v)));
                }
                name = Some(text.to_string());
            }
            other => return Err(format!("`{other}` is not a field (ext, name)")),
        }
    }
    let name = name.ok_or("the display name is missing")?;
    let ext = match ext {
        Some(ext) => ext,
        None => own_ext(key)
            .ok_or("a member name needs its ext")?
            .to_string(),
    };
    Ok((ext, name))
}

impl AgentMap {
    pub fn new(aliases: HashMap<String, String>) -> AgentMap {
        AgentMap {
            aliases: aliases
                .into_iter()
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
            names: HashMap::new(),
        }
    }

    /// Reads `[agents]` from TOML text; `origin` names the file in errors. An entry maps a
    /// member name to its extension (`"John Doe" = "201"`), or gives an agent field its
    /// extension and display name (`"PJSIP/201" = { ext = "201", name = "Reception 1" }`;
    /// `ext` may be left out when the key is a channel or an extension). The display name
    /// is the extension's, so one extension has at most one.
    pub fn from_toml(text: &str, origin: &str) -> Result<AgentMap> {
        let file: AgentsFile = toml::from_str(text).map_err(|e| {
            Error::config(format!(
                "{origin}: {}; expected an [agents] table of {FORMS}",
                crate::error::one_line(&e.to_string())
            ))
        })?;
        let mut aliases = HashMap::new();
        // By extension: the display name and the key that gave it.
        let mut names: HashMap<String, (String, String)> = HashMap::new();
        for (key, v) in file.agents {
            let bad = |why: &str| {
                Error::config(format!(
                    "{origin}: [agents] {key:?}: {why}; expected {FORMS}"
                ))
            };
            let ext = match &v {
                toml::Value::Table(table) => {
                    let (ext, name) = member_entry(key.trim(), table).map_err(|why| bad(&why))?;
                    if let Some((other, by)) = names.get(&ext)
                        && *other != name
                    {
                        return Err(bad(&format!(
                            "extension {ext} is already {other:?} (by {by:?}), one name per extension"
                        )));
                    }
                    names.insert(ext.clone(), (name, key.clone()));
                    ext
                }
                other => ext_text(other)
                    .ok_or_else(|| bad(&format!("{} is not an extension", shown(other))))?,
            };
            aliases.insert(key, ext);
        }
        let mut map = AgentMap::new(aliases);
        map.names = names
            .into_iter()
            .map(|(ext, (name, _))| (ext, name))
            .collect();
        Ok(map)
    }

    /// The name reports show for an agent field: its extension's display name from the
    /// agents file, else the field itself (sanitized as every upstream name is).
    pub fn display_name(&self, agent: &str) -> String {
        match self.ext_of(agent).and_then(|ext| self.names.get(ext)) {
            Some(name) => name.clone(),
            None => crate::names::sanitize(agent),
        }
    }

    /// Whether an agent field is a member display name apr cannot map: not a channel
    /// (`SIP/1001`), not an extension (`1001`), not `NONE`, and not in the alias table.
    pub fn is_unmapped_name(&self, agent: &str) -> bool {
        let agent = agent.trim();
        !agent.is_empty()
            && agent != "NONE"
            && !agent.contains('/')
            && !agent.bytes().all(|b| b.is_ascii_digit())
            && !self.aliases.contains_key(agent)
    }

    /// The extension of an agent field; `None` for `NONE` or empty.
    pub fn ext_of<'a>(&'a self, agent: &'a str) -> Option<&'a str> {
        let own = agent_field_ext(agent)?;
        if let Some(ext) = self.aliases.get(agent.trim()) {
            return Some(ext);
        }
        Some(own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_to_extensions() {
        let mut aliases = HashMap::new();
        aliases.insert("John Doe".to_string(), "201".to_string());
        let m = AgentMap::new(aliases);
        for (agent, ext) in [
            ("PJSIP/201", Some("201")),
            ("SIP/202", Some("202")),
            ("IAX2/203", Some("203")),
            ("Local/204@from-queue/n", Some("204")),
            ("Agent/205", Some("205")),
            ("John Doe", Some("201")),
            (" John Doe ", Some("201")),
            ("Jane Roe", Some("Jane Roe")),
            ("NONE", None),
            ("", None),
        ] {
            assert_eq!(m.ext_of(agent), ext, "{agent}");
        }
    }

    #[test]
    fn agents_toml() {
        let m = AgentMap::from_toml("[agents]\n\"John Doe\" = \"201\"\nMary = 202\n", "a.toml")
            .unwrap();
        assert_eq!(m.ext_of("John Doe"), Some("201"));
        assert_eq!(m.ext_of("Mary"), Some("202"));
        // The alias form gives no display name: the field shows as it is.
        assert_eq!(m.display_name("John Doe"), "John Doe");
        assert_eq!(m.display_name("PJSIP/201"), "PJSIP/201");
        let err = AgentMap::from_toml("[agents]\nx = [1]\n", "a.toml").unwrap_err();
        assert!(err.to_string().contains("a.toml"), "{err}");
        assert!(AgentMap::from_toml("[agents\n", "a.toml").is_err());
    }

    #[test]
    fn display_names_are_the_extensions() {
        let m = AgentMap::from_toml(
            concat!(
                "[agents]\n",
                "\"PJSIP/201\" = { ext = \"201\", name = \"Reception 1\" }\n",
                "\"Local/203@from-queue/n\" = { name = \" Sales  3 \" }\n",
                "\"204\" = { name = \"Night desk\" }\n",
                "\"Sathish\" = { ext = 205, name = \"Sathish K.\" }\n",
                "\"John Doe\" = \"206\"\n",
            ),
            "a.toml",
        )
        .unwrap();
        for (agent, ext, name) in [
            ("PJSIP/201", Some("201"), "Reception 1"),
            // Every field of a named extension shows its name.
            ("Local/201@from-queue/n", Some("201"), "Reception 1"),
            ("Local/203@from-queue/n", Some("203"), "Sales  3"),
            ("SIP/203", Some("203"), "Sales  3"),
            ("PJSIP/204", Some("204"), "Night desk"),
            ("Sathish", Some("205"), "Sathish K."),
            ("Agent/205", Some("205"), "Sathish K."),
            ("John Doe", Some("206"), "John Doe"),
            ("SIP/207", Some("207"), "SIP/207"),
            ("Jos%C3%A9", Some("Jos%C3%A9"), "José"),
        ] {
            assert_eq!(
                (m.ext_of(agent), m.display_name(agent).as_str()),
                (ext, name),
                "{agent}"
            );
        }
        // A member name with its ext in the file is mapped, not reported as unmapped.
        assert!(!m.is_unmapped_name("Sathish"));
        // The same name given twice to one extension is one name.
        let twice = "[agents]\n\"PJSIP/201\" = { name = \"R\" }\n\"SIP/201\" = { name = \"R\" }\n";
        assert_eq!(
            AgentMap::from_toml(twice, "a.toml")
                .unwrap()
                .display_name("IAX2/201"),
            "R"
        );
    }

    #[test]
    fn a_bad_entry_is_one_line_naming_the_file_the_key_and_the_forms() {
        for (entry, why) in [
            (
                "\"PJSIP/201\" = { ext = \"201\" }",
                "the display name is missing",
            ),
            (
                "\"PJSIP/201\" = { name = \"\" }",
                "name = \"\" is not a display name",
            ),
            (
                "\"PJSIP/201\" = { name = \"a\\nb\" }",
                "is not a display name",
            ),
            (
                "\"PJSIP/201\" = { name = 7 }",
                "name = 7 is not a display name",
            ),
            (
                "\"PJSIP/201\" = { ext = [1], name = \"R\" }",
                "ext = [1] is not an extension",
            ),
            (
                "\"PJSIP/201\" = { ext = \"\", name = \"R\" }",
                "is not an extension",
            ),
            (
                "\"PJSIP/201\" = { nmae = \"R\" }",
                "`nmae` is not a field (ext, name)",
            ),
            (
                "\"Sathish\" = { name = \"S\" }",
                "a member name needs its ext",
            ),
            ("\"PJSIP/201\" = true", "true is not an extension"),
        ] {
            let text = format!("[agents]\n{entry}\n");
            let err = AgentMap::from_toml(&text, "/etc/apr/agents.toml")
                .unwrap_err()
                .to_string();
            let key = entry.split(" = ").next().unwrap();
            assert!(
                err.starts_with(&format!("/etc/apr/agents.toml: [agents] {key}: ")),
                "{entry}: {err}"
            );
            assert!(err.contains(why), "{entry}: {err}");
            assert!(
                err.ends_with(&format!("; expected {FORMS}")),
                "{entry}: {err}"
            );
            assert!(!err.contains('\n'), "{entry}: {err}");
        }
        let clash = "[agents]\n\"PJSIP/201\" = { name = \"A\" }\n\"SIP/201\" = { name = \"B\" }\n";
        let err = AgentMap::from_toml(clash, "a.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "a.toml: [agents] \"SIP/201\": extension 201 is already \"A\" (by \"PJSIP/201\")"
            ),
            "{err}"
        );
    }
}
