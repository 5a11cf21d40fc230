//! Gateway profiles: a named set of connectors, and optionally of some of
//! their tools, that a gateway session serves instead of everything
//! (`switchboard gateway --profile work`, `/mcp?profile=work`). Stored in
//! settings under `codebuddy.gateway.profiles.NAME` as
//! `{"connectors": [...], "tools": ["github:create_issue", ...]}`; a
//! connector with no entry in `tools` keeps all of its tools.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where profiles live in the settings file.
pub const PROFILES_PATH: [&str; 2] = ["codebuddy.gateway", "profiles"];

/// One profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The connectors it serves.
    pub connectors: Vec<String>,
    /// `connector:tool` entries: for a connector named here, only these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
}

impl Profile {
    /// Whether the profile serves `connector` at all.
    pub fn serves(&self, connector: &str) -> bool {
        self.connectors.iter().any(|c| c == connector)
    }

    /// Whether the profile serves `tool` of `connector`.
    pub fn allows(&self, connector: &str, tool: &str) -> bool {
        if !self.serves(connector) {
            return false;
        }
        let mut chosen = self
            .tools
            .iter()
            .filter_map(|entry| entry.split_once(':'))
            .filter(|(c, _)| *c == connector)
            .peekable();
        chosen.peek().is_none() || chosen.any(|(_, t)| t == tool)
    }

    /// Checks its shape: some connectors, each `tools` entry
    /// `connector:tool` of one of them.
    pub fn check(&self) -> Result<(), String> {
        if self.connectors.is_empty() {
            return Err("a profile needs at least one connector (--connectors a,b)".into());
        }
        for entry in &self.tools {
            match entry.split_once(':') {
                Some((connector, tool)) if !tool.is_empty() && self.serves(connector) => {}
                Some((connector, _)) if !self.serves(connector) => {
                    return Err(format!(
                        "tool `{entry}` is of `{connector}`, which is not among the profile's \
                         connectors: add it to --connectors"
                    ))
                }
                _ => {
                    return Err(format!(
                        "tool `{entry}` is not `connector:tool`, such as github:create_issue"
                    ))
                }
            }
        }
        Ok(())
    }
}

/// Whether `name` may name a profile: letters, digits, `-` and `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The profiles in the settings value at [`PROFILES_PATH`]; a malformed
/// one is left out (and logged).
pub fn parse(value: Option<Value>) -> BTreeMap<String, Profile> {
    let Some(Value::Object(entries)) = value else {
        return BTreeMap::new();
    };
    entries
        .into_iter()
        .filter_map(|(name, value)| match serde_json::from_value(value) {
            Ok(profile) => Some((name, profile)),
            Err(err) => {
                tracing::warn!(profile = name, "a malformed profile is ignored: {err}");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(connectors: &[&str], tools: &[&str]) -> Profile {
        Profile {
            connectors: connectors.iter().map(|s| s.to_string()).collect(),
            tools: tools.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_connector_keeps_all_its_tools_unless_some_are_named() {
        let work = profile(&["github", "postgres"], &["github:create_issue"]);
        assert!(work.allows("github", "create_issue"));
        assert!(!work.allows("github", "delete_repository"));
        assert!(work.allows("postgres", "query"));
        assert!(!work.allows("slack", "post_message"));
    }

    #[test]
    fn shapes_and_names_are_checked() {
        assert!(profile(&[], &[]).check().is_err());
        assert!(profile(&["github"], &["create_issue"]).check().is_err());
        assert!(profile(&["github"], &["slack:post"]).check().is_err());
        assert!(profile(&["github"], &["github:create_issue"])
            .check()
            .is_ok());
        assert!(valid_name("work-2"));
        assert!(!valid_name("a b") && !valid_name("") && !valid_name("x/y"));
    }
}
