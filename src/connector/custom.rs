//! Connectors the user adds (`switchboard add`): how they are stored under
//! `codebuddy.connectors.custom` and turned into definitions that behave
//! exactly like built-in ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{ConfigField, ConnectorDefinition, ConnectorType, FieldTarget};
use crate::error::{Error, Result};

/// A user-added connector, as stored in settings. Only non-secret values
/// are stored; variables named in `pass_env` take their values from the
/// environment at connect time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomConnector {
    /// A native command to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A container image to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Arguments after the command or image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Fixed, non-secret environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Variables passed through from the environment, never stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
}

impl CustomConnector {
    /// Builds a custom connector from `add`'s flags; `env` entries are
    /// `KEY=VALUE` (stored) or `KEY` (passed through from the environment).
    pub fn from_flags(
        command: Option<String>,
        image: Option<String>,
        args: Vec<String>,
        env: &[String],
    ) -> Result<CustomConnector> {
        let mut custom = CustomConnector {
            command,
            image,
            args,
            env: BTreeMap::new(),
            pass_env: Vec::new(),
        };
        for item in env {
            match item.split_once('=') {
                Some((key, value)) => {
                    check_env_name(key)?;
                    if looks_secret(key) {
                        return Err(Error::InvalidInput(format!(
                            "`{key}` looks like a secret and would be written to the settings file in clear: \
                             pass it from the environment instead with `--env {key}` (no value)"
                        )));
                    }
                    custom.env.insert(key.to_string(), value.to_string());
                }
                None => {
                    check_env_name(item)?;
                    custom.pass_env.push(item.to_string());
                }
            }
        }
        Ok(custom)
    }

    /// The definition this connector behaves as.
    pub fn to_definition(&self, name: &str) -> ConnectorDefinition {
        let backend = match (&self.image, &self.command) {
            (Some(image), _) => format!("image {image}"),
            (None, Some(command)) => format!("command {command}"),
            (None, None) => "nothing to run".into(),
        };
        ConnectorDefinition {
            name: name.to_string(),
            display_name: name.to_string(),
            description: format!("Custom connector ({backend})"),
            docs: None,
            kind: ConnectorType::Mcp,
            image: self.image.clone(),
            command: self.command.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
            fields: self
                .pass_env
                .iter()
                .map(|key| ConfigField {
                    name: key.clone(),
                    description: format!("passed through from the environment as {key}"),
                    required: true,
                    secret: true,
                    target: FieldTarget::Env,
                    default: None,
                })
                .collect(),
        }
    }
}

fn check_env_name(key: &str) -> Result<()> {
    let mut chars = key.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "`{key}` is not a valid environment variable name: use letters, digits and `_`, not starting with a digit"
        )))
    }
}

/// Names that by convention hold credentials.
fn looks_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "CREDENTIAL",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|marker| upper.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_values_are_refused_and_pass_through_is_allowed() {
        let err = CustomConnector::from_flags(
            Some("x".into()),
            None,
            vec![],
            &["GITHUB_TOKEN=abc".into()],
        );
        assert!(matches!(err, Err(Error::InvalidInput(m)) if m.contains("--env GITHUB_TOKEN")));
        let ok = CustomConnector::from_flags(
            Some("x".into()),
            None,
            vec![],
            &["GITHUB_TOKEN".into(), "MODE=fast".into()],
        );
        let ok = ok.map_err(|e| e.to_string());
        assert_eq!(
            ok,
            Ok(CustomConnector {
                command: Some("x".into()),
                image: None,
                args: vec![],
                env: BTreeMap::from([("MODE".to_string(), "fast".to_string())]),
                pass_env: vec!["GITHUB_TOKEN".into()],
            })
        );
    }

    #[test]
    fn bad_env_names_are_refused() {
        for bad in ["1ABC=x", "A-B", ""] {
            let result = CustomConnector::from_flags(None, None, vec![], &[bad.to_string()]);
            assert!(result.is_err(), "{bad} was accepted");
        }
    }
}
