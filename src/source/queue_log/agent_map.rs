//! The agent field of a queue_log line → the agent's extension (SPEC §6). Pure: no I/O.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Agent field → extension: an alias table for member display names (`[agents]` in the
/// TOML given by `--agents` / `APR_QUEUE_AGENTS`), then channel forms (`PJSIP/201`,
/// `SIP/201`, `Local/201@from-queue/n`, `Agent/201` → `201`), else the name itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentMap {
    aliases: HashMap<String, String>,
}

#[derive(Deserialize)]
struct AgentsFile {
    #[serde(default)]
    agents: HashMap<String, toml::Value>,
}

impl AgentMap {
    pub fn new(aliases: HashMap<String, String>) -> AgentMap {
        AgentMap {
            aliases: aliases
                .into_iter()
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        }
    }

    /// Reads `[agents]` (`"John Doe" = "201"`) from TOML text; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<AgentMap> {
        let file: AgentsFile = toml::from_str(text).map_err(|e| {
            Error::config(format!(
                "{origin}: {}; expected an [agents] table of \"Member Name\" = \"201\"",
                crate::error::one_line(&e.to_string())
            ))
        })?;
        let mut aliases = HashMap::new();
        for (name, v) in file.agents {
            let ext = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                other => {
                    return Err(Error::config(format!(
                        "{origin}: [agents] \"{name}\" = {other} is not an extension; expected \"{name}\" = \"201\""
                    )));
                }
            };
            aliases.insert(name, ext);
        }
        Ok(AgentMap::new(aliases))
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
        let agent = agent.trim();
        if agent.is_empty() || agent == "NONE" {
            return None;
        }
        if let Some(ext) = self.aliases.get(agent) {
            return Some(ext);
        }
        if let Some((_, after)) = agent.split_once('/') {
            let ext = after.split(['@', '/']).next().unwrap_or("");
            if !ext.is_empty() {
                return Some(ext);
            }
        }
        Some(agent)
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
        let err = AgentMap::from_toml("[agents]\nx = [1]\n", "a.toml").unwrap_err();
        assert!(err.to_string().contains("a.toml"), "{err}");
        assert!(AgentMap::from_toml("[agents\n", "a.toml").is_err());
    }
}
