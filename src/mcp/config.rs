//! Generating a server's config from its connector definition: the entry we
//! write into `codebuddy.mcp.servers` (VS Code's `type`/`command`/`args`/`env`
//! shape) and the launch plan that actually starts it.
//!
//! Secret values never enter the config: it holds `${env:NAME}` references,
//! and the values travel only in the child's environment at spawn time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{ConnectorDefinition, FieldTarget};
use crate::error::{Error, Result};

/// Resolved values of a connector's config fields, by field name.
pub type FieldValues = BTreeMap<String, String>;

/// One entry of `codebuddy.mcp.servers`, in VS Code's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The transport: `stdio` for everything this module launches.
    #[serde(rename = "type")]
    pub transport: String,
    /// The program: the container engine (`docker`) or the native command.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment: plain values, or `${env:NAME}` references for secrets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

/// How a server is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchKind {
    /// A program on this machine.
    Native,
    /// `docker run -i --rm IMAGE` (or Podman's equivalent).
    Container {
        /// The image to run.
        image: String,
    },
}

/// Everything needed to start one server. The environment holds secret
/// values, so this type has no `Debug` that would print them.
#[derive(Clone)]
pub struct LaunchPlan {
    /// What is written to `codebuddy.mcp.servers`.
    pub config: ServerConfig,
    /// Native or container.
    pub kind: LaunchKind,
    /// The program's arguments after substitution.
    pub args: Vec<String>,
    /// The child's environment additions, secrets included.
    pub env: BTreeMap<String, String>,
}

impl std::fmt::Debug for LaunchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchPlan")
            .field("config", &self.config)
            .field("kind", &self.kind)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Builds the launch plan for `def` with the given field values. Missing
/// optional fields are left out; a placeholder naming a missing field drops
/// the argument that holds it.
pub fn plan_launch(def: &ConnectorDefinition, values: &FieldValues) -> Result<LaunchPlan> {
    let declared: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
    let args = substitute_args(&def.args, &declared, values);
    // The config shows secrets as references, in arguments as in env.
    let shown_values: FieldValues = values
        .iter()
        .map(|(name, value)| {
            let secret = def.fields.iter().any(|f| &f.name == name && f.secret);
            let shown = if secret {
                format!("${{env:{name}}}")
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect();
    let config_args = substitute_args(&def.args, &declared, &shown_values);
    let mut config_env = def.env.clone();
    let mut env = def.env.clone();
    for field in &def.fields {
        if field.target != FieldTarget::Env {
            continue;
        }
        let Some(value) = values.get(&field.name) else {
            continue;
        };
        let shown = if field.secret {
            format!("${{env:{}}}", field.name)
        } else {
            value.clone()
        };
        config_env.insert(field.name.clone(), shown);
        env.insert(field.name.clone(), value.clone());
    }
    match (&def.image, &def.command) {
        (Some(image), None) => {
            // `-e NAME` without a value: the engine copies the value from
            // its own environment, so it never appears in `ps` output.
            let mut docker_args = vec!["run".to_string(), "-i".into(), "--rm".into()];
            for name in env.keys() {
                docker_args.push("-e".into());
                docker_args.push(name.clone());
            }
            docker_args.push(image.clone());
            docker_args.extend(config_args.iter().cloned());
            Ok(LaunchPlan {
                config: ServerConfig {
                    transport: "stdio".into(),
                    command: "docker".into(),
                    args: docker_args,
                    env: config_env,
                },
                kind: LaunchKind::Container {
                    image: image.clone(),
                },
                args,
                env,
            })
        }
        (None, Some(command)) => Ok(LaunchPlan {
            config: ServerConfig {
                transport: "stdio".into(),
                command: command.clone(),
                args: config_args,
                env: config_env,
            },
            kind: LaunchKind::Native,
            args,
            env,
        }),
        _ => Err(Error::InvalidInput(format!(
            "connector `{}` has neither an image nor a command to start",
            def.name
        ))),
    }
}

/// Replaces `{FIELD}` placeholders; drops an argument whose placeholder has
/// no value, so an unset optional field leaves no empty argument behind.
fn substitute_args(args: &[String], declared: &[&str], values: &FieldValues) -> Vec<String> {
    args.iter()
        .filter_map(|arg| {
            let mut out = String::with_capacity(arg.len());
            let mut rest = arg.as_str();
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}') else {
                    break;
                };
                let key = &rest[open + 1..open + close];
                out.push_str(&rest[..open]);
                match values.get(key) {
                    Some(value) => out.push_str(value),
                    None if declared.contains(&key) => return None,
                    None => out.push_str(&rest[open..=open + close]),
                }
                rest = &rest[open + close + 1..];
            }
            out.push_str(rest);
            Some(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> FieldValues {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_are_substituted_and_unset_ones_dropped() {
        let args = vec![
            "{POSTGRES_URL}".to_string(),
            "--mode={MODE}".into(),
            "--literal={NOT_DECLARED}".into(),
        ];
        assert_eq!(
            substitute_args(
                &args,
                &["POSTGRES_URL", "MODE"],
                &values(&[("POSTGRES_URL", "postgres://x")])
            ),
            vec![
                "postgres://x".to_string(),
                "--literal={NOT_DECLARED}".to_string()
            ]
        );
    }
}
