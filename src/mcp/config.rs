//! Generating a server's config from its connector definition: the entry we
//! write into `codebuddy.mcp.servers` (VS Code's `type`/`command`/`args`/`env`
//! shape) and the launch plan that actually starts it.
//!
//! Secret values never enter the config: it holds `${env:NAME}` references,
//! and the values travel only in the child's environment at spawn time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::remote::RemoteTransport;
use crate::catalog::{ConnectorDefinition, FieldTarget, Policy, Source};
use crate::error::{Error, Result};

/// Resolved values of a connector's config fields, by field name.
pub type FieldValues = BTreeMap<String, String>;

/// One entry of `codebuddy.mcp.servers`, in VS Code's shape: `stdio`
/// servers have `command`, `args` and `env`; remote ones (`sse`, `http`)
/// have `url` and `headers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The transport: `stdio`, `sse` or `http`.
    #[serde(rename = "type")]
    pub transport: String,
    /// The program: the container engine (`docker`) or the native command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment: plain values, or references for secrets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// A remote server's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A remote server's headers: plain values, or references for secrets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The directory a native command runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
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
        /// `--mount` values: the connector's named volumes and its files.
        mounts: Vec<String>,
    },
    /// A server reached over the network.
    Remote {
        /// Its URL.
        url: String,
        /// SSE or Streamable HTTP.
        transport: RemoteTransport,
        /// Headers to send, secrets included.
        headers: BTreeMap<String, String>,
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
    /// The child's environment additions, secrets included. A native
    /// server gets these on top of the few variables it inherits
    /// (`inherit.rs`); a container only these, as `-e NAME`.
    pub env: BTreeMap<String, String>,
    /// The directory a native server runs in.
    pub cwd: Option<std::path::PathBuf>,
    /// The secret values given to this server, so whatever it prints can
    /// be scrubbed of them before it reaches a log or an error message.
    pub secrets: Vec<String>,
    /// What the server may reach and use (limits a container runs under).
    pub policy: Policy,
}

impl std::fmt::Debug for LaunchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            LaunchKind::Native => "native".to_string(),
            LaunchKind::Container { image, .. } => format!("container {image}"),
            LaunchKind::Remote { url, transport, .. } => format!("{transport} {url}"),
        };
        f.debug_struct("LaunchPlan")
            .field("config", &self.config)
            .field("kind", &kind)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The `--mount` values of a container connector: its named volumes, and
/// each `file` field given a value, bind-mounted read-only at the field's
/// `mount`, whose container path the server gets in the field's variable.
/// A file that does not exist, or whose path `--mount` cannot carry, is
/// refused here rather than by the engine after a start.
fn container_mounts(
    def: &ConnectorDefinition,
    values: &FieldValues,
    env: &mut BTreeMap<String, String>,
    config_env: &mut BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let mut mounts: Vec<String> = def
        .volumes
        .iter()
        .map(|v| format!("type=volume,src={},dst={}", v.name, v.target))
        .collect();
    for field in def.fields.iter().filter(|f| f.target == FieldTarget::File) {
        let (Some(host), Some(mount)) = (values.get(&field.name), &field.mount) else {
            continue;
        };
        let path = std::path::Path::new(host);
        let fix = format!(
            "give the absolute path of an existing file: `switchboard connect {} --set {}=/path/to/file`",
            def.name, field.name
        );
        if !path.is_absolute() || !path.is_file() {
            return Err(Error::InvalidInput(format!(
                "`{}` is {host:?}, which is not an existing file on this machine; {fix}",
                field.name
            )));
        }
        if host.contains([',', '"', '\n', '\r']) {
            return Err(Error::InvalidInput(format!(
                "`{}` is {host:?}: a path with a comma, quote or newline cannot be mounted; \
                 move or link the file elsewhere and {fix}",
                field.name
            )));
        }
        mounts.push(format!("type=bind,src={host},dst={mount},readonly"));
        env.insert(field.name.clone(), mount.clone());
        config_env.insert(field.name.clone(), mount.clone());
    }
    Ok(mounts)
}

/// Builds the launch plan for `def` with the given field values. Missing
/// optional fields are left out; a placeholder naming a missing field drops
/// the argument that holds it.
///
/// `reference` gives the text that stands for a secret field's value in the
/// written config (e.g. `${env:NAME}`), so no secret reaches the settings.
pub fn plan_launch(
    def: &ConnectorDefinition,
    values: &FieldValues,
    reference: &dyn Fn(&str) -> String,
) -> Result<LaunchPlan> {
    let parts = Parts::of(def, values, reference);
    match def.source() {
        Some(Source::Url(url)) => remote_plan(def, url, values, reference, parts.secrets),
        Some(Source::Image(image)) => container_plan(def, image, values, parts),
        Some(Source::Command(command)) => Ok(native_plan(def, command, parts)),
        None => Err(Error::InvalidInput(format!(
            "connector `{}` needs exactly one of an image, a command or a URL",
            def.name
        ))),
    }
}

/// What every plan is made of: the arguments and environment with real
/// values (for the launch) and as the written config shows them (secrets
/// as references), and the secret values to scrub from what it prints.
struct Parts {
    args: Vec<String>,
    config_args: Vec<String>,
    env: BTreeMap<String, String>,
    config_env: BTreeMap<String, String>,
    secrets: Vec<String>,
}

impl Parts {
    fn of(
        def: &ConnectorDefinition,
        values: &FieldValues,
        reference: &dyn Fn(&str) -> String,
    ) -> Parts {
        let declared: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
        let secrets = def
            .fields
            .iter()
            .filter(|f| f.secret)
            .filter_map(|f| values.get(&f.name))
            .filter(|v| !v.is_empty())
            .cloned()
            .collect();
        // The config shows secrets as references, in arguments as in env.
        let shown_values: FieldValues = values
            .iter()
            .map(|(name, value)| {
                let secret = def.fields.iter().any(|f| &f.name == name && f.secret);
                (name.clone(), shown(secret, name, value, reference))
            })
            .collect();
        let mut parts = Parts {
            args: substitute_args(&def.args, &declared, values),
            config_args: substitute_args(&def.args, &declared, &shown_values),
            env: def.env.clone(),
            config_env: def.env.clone(),
            secrets,
        };
        for field in def.fields.iter().filter(|f| f.target == FieldTarget::Env) {
            let Some(value) = values.get(&field.name) else {
                continue;
            };
            let name = &field.name;
            let config_value = shown(field.secret, name, value, reference);
            parts.config_env.insert(name.clone(), config_value);
            parts.env.insert(name.clone(), value.clone());
        }
        parts
    }
}

/// A field's value as the written config shows it: a secret by reference.
fn shown(secret: bool, field: &str, value: &str, reference: &dyn Fn(&str) -> String) -> String {
    if secret {
        reference(field)
    } else {
        value.to_string()
    }
}

/// A server reached at `url`: its transport (given, or told by the path),
/// its headers and query fields.
fn remote_plan(
    def: &ConnectorDefinition,
    url: &str,
    values: &FieldValues,
    reference: &dyn Fn(&str) -> String,
    secrets: Vec<String>,
) -> Result<LaunchPlan> {
    let transport = def
        .transport
        .or_else(|| RemoteTransport::guess(&url::Url::parse(url).ok()?))
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "cannot tell whether `{url}` speaks SSE or Streamable HTTP: set its transport"
            ))
        })?;
    let mut headers = def.headers.clone();
    let mut shown_headers = def.headers.clone();
    for field in def
        .fields
        .iter()
        .filter(|f| f.target == FieldTarget::Header)
    {
        let (Some(header), Some(value)) = (&field.header, values.get(&field.name)) else {
            continue;
        };
        headers.insert(header.clone(), value.clone());
        let config_value = shown(field.secret, &field.name, value, reference);
        shown_headers.insert(header.clone(), config_value);
    }
    let (real_url, shown_url) = with_query_fields(def, url, values, reference)?;
    Ok(LaunchPlan {
        config: ServerConfig {
            transport: transport.as_str().to_string(),
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            url: Some(shown_url),
            headers: shown_headers,
            cwd: None,
        },
        kind: LaunchKind::Remote {
            url: real_url,
            transport,
            headers,
        },
        args: Vec::new(),
        env: BTreeMap::new(),
        cwd: None,
        secrets,
        policy: Policy::default(),
    })
}

/// A server in a container of `image`, with its mounts; the config shows
/// the `docker run` a person would type.
fn container_plan(
    def: &ConnectorDefinition,
    image: &str,
    values: &FieldValues,
    mut parts: Parts,
) -> Result<LaunchPlan> {
    let mounts = container_mounts(def, values, &mut parts.env, &mut parts.config_env)?;
    // `-e NAME` without a value: the engine copies the value from its own
    // environment, so it never appears in `ps` output.
    let mut docker_args = vec!["run".to_string(), "-i".into(), "--rm".into()];
    for mount in &mounts {
        docker_args.push("--mount".into());
        docker_args.push(mount.clone());
    }
    for name in parts.env.keys() {
        docker_args.push("-e".into());
        docker_args.push(name.clone());
    }
    docker_args.push(image.to_string());
    docker_args.extend(parts.config_args);
    Ok(LaunchPlan {
        config: ServerConfig {
            transport: "stdio".into(),
            command: Some("docker".into()),
            args: docker_args,
            env: parts.config_env,
            url: None,
            headers: BTreeMap::new(),
            cwd: None,
        },
        kind: LaunchKind::Container {
            image: image.to_string(),
            mounts,
        },
        args: parts.args,
        env: parts.env,
        cwd: None,
        secrets: parts.secrets,
        policy: policy_of(def, values)?,
    })
}

/// The definition's policy with its `{FIELD}` hosts made from the values
/// (which hold the fields' defaults: `resolve_values`).
fn policy_of(def: &ConnectorDefinition, values: &FieldValues) -> Result<crate::catalog::Policy> {
    let lookup = |name: &str| values.get(name).cloned();
    def.policy
        .clone()
        .unwrap_or_default()
        .with_fields(&lookup)
        .map_err(|e| Error::InvalidInput(format!("`{}`: {e}", def.name)))
}

/// A program on this machine, in its directory.
fn native_plan(def: &ConnectorDefinition, command: &str, parts: Parts) -> LaunchPlan {
    let cwd = def
        .cwd
        .as_ref()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(super::default_cwd);
    LaunchPlan {
        config: ServerConfig {
            transport: "stdio".into(),
            command: Some(command.to_string()),
            args: parts.config_args,
            env: parts.config_env,
            url: None,
            headers: BTreeMap::new(),
            cwd: Some(cwd.display().to_string()),
        },
        kind: LaunchKind::Native,
        args: parts.args,
        env: parts.env,
        cwd: Some(cwd),
        secrets: parts.secrets,
        policy: def.policy.clone().unwrap_or_default(),
    }
}

/// A remote server's URL with its `query` fields added: the real one (for
/// the request) and the one written to the config, where a secret is shown
/// by its reference. The reference is written as it is, not URL-encoded,
/// so a person can read it.
fn with_query_fields(
    def: &ConnectorDefinition,
    url: &str,
    values: &FieldValues,
    reference: &dyn Fn(&str) -> String,
) -> Result<(String, String)> {
    let given = |f: &&crate::catalog::ConfigField| {
        f.target == FieldTarget::Query && values.contains_key(&f.name)
    };
    if !def.fields.iter().any(|f| given(&f)) {
        return Ok((url.to_string(), url.to_string()));
    }
    let mut real = url::Url::parse(url)
        .map_err(|e| Error::InvalidInput(format!("`{url}` is not a URL ({e})")))?;
    let (mut shown, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base.to_string(), format!("#{fragment}")),
        None => (url.to_string(), String::new()),
    };
    for field in def.fields.iter().filter(|f| f.target == FieldTarget::Query) {
        let (Some(param), Some(value)) = (&field.query, values.get(&field.name)) else {
            continue;
        };
        real.query_pairs_mut().append_pair(param, value);
        let value = if field.secret {
            reference(&field.name)
        } else {
            value.clone()
        };
        let separator = if shown.contains('?') { '&' } else { '?' };
        shown = format!("{shown}{separator}{param}={value}");
    }
    Ok((real.to_string(), format!("{shown}{fragment}")))
}

/// Replaces `{FIELD}` placeholders; drops an argument whose placeholder has
/// no value, so an unset optional field leaves no empty argument behind.
fn substitute_args(args: &[String], declared: &[&str], values: &FieldValues) -> Vec<String> {
    use crate::catalog::placeholder::{fill, Fill};
    args.iter()
        .filter_map(|arg| {
            fill(arg, |key| match values.get(key) {
                Some(value) => Fill::Value(value.clone()),
                None if declared.contains(&key) => Fill::Missing,
                None => Fill::Literal,
            })
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

    fn calendar() -> ConnectorDefinition {
        crate::catalog::Catalog::builtin()
            .expect("built-in catalog")
            .get("google-calendar")
            .expect("google-calendar")
            .clone()
    }

    #[test]
    fn a_file_field_is_bind_mounted_read_only_and_named_by_its_container_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let creds = dir.path().join("gcp-oauth.keys.json");
        std::fs::write(&creds, "{}").expect("write");
        let host = creds.to_str().expect("utf-8 path");
        let plan = plan_launch(
            &calendar(),
            &values(&[("GOOGLE_OAUTH_CREDENTIALS", host)]),
            &|name| format!("${{env:{name}}}"),
        )
        .expect("plan");
        let LaunchKind::Container { mounts, .. } = &plan.kind else {
            panic!("not a container: {plan:?}");
        };
        assert_eq!(
            mounts,
            &vec![
                "type=volume,src=mcp-google-calendar,dst=/tokens".to_string(),
                format!("type=bind,src={host},dst=/config/gcp-oauth.keys.json,readonly"),
            ]
        );
        assert_eq!(
            plan.env["GOOGLE_OAUTH_CREDENTIALS"],
            "/config/gcp-oauth.keys.json"
        );
        assert_eq!(
            plan.env["GOOGLE_CALENDAR_MCP_TOKEN_PATH"],
            "/tokens/tokens.json"
        );
        // The written config carries the same mounts, before the image.
        let args = &plan.config.args;
        let image_at = args
            .iter()
            .position(|a| a == "mcp/google-calendar")
            .expect("image");
        let mount_at = args
            .iter()
            .position(|a| a.starts_with("type=bind,"))
            .expect("bind mount");
        assert!(mount_at < image_at, "{args:?}");
        assert_eq!(args[mount_at - 1], "--mount");
    }

    #[test]
    fn a_file_that_is_missing_or_cannot_be_mounted_is_refused_before_a_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let odd = dir.path().join("a,b.json");
        std::fs::write(&odd, "{}").expect("write");
        let cases = [
            ("/no/such/file.json".to_string(), "not an existing file"),
            ("relative.json".to_string(), "not an existing file"),
            (odd.display().to_string(), "cannot be mounted"),
        ];
        for (path, expected) in cases {
            let err = plan_launch(
                &calendar(),
                &values(&[("GOOGLE_OAUTH_CREDENTIALS", &path)]),
                &|name| name.to_string(),
            )
            .expect_err("refused");
            assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
            let message = err.to_string();
            assert!(message.contains(expected), "{path}: {message}");
            assert!(
                message.contains("--set GOOGLE_OAUTH_CREDENTIALS="),
                "{message}"
            );
        }
    }
}
