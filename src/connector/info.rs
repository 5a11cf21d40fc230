//! The public description of one connector: what `list`, `status`, the
//! API and the dashboard show. Built from the definition and the state;
//! never stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config;
use super::state::ConnectorState;
use crate::catalog::{ConnectorDefinition, ConnectorType};
use crate::status::ConnectorStatus;

/// The largest icon a server may send that the dashboard will show; a
/// bigger one is ignored (a hostile server could send megabytes).
const MAX_SERVER_ICON_BYTES: usize = 64 * 1024;

/// A connector as the faces show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConnectorInfo {
    /// The connector's id, as users type it.
    pub name: String,
    /// Its human name ("GitHub").
    pub display_name: String,
    /// `mcp` or `skill`.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    /// What runs it: `docker mcp/github`, `command npx`.
    pub backend: String,
    /// One line about it.
    pub description: String,
    /// Whether it comes from the built-in catalog.
    pub builtin: bool,
    /// Its current status.
    pub status: ConnectorStatus,
    /// Finer than `status`: `stopped`, `starting` (spawning its server),
    /// `initializing` (the server runs; waiting for its `initialize`
    /// answer), `needs-config`, `needs-sign-in`, `running`, `failed`, or
    /// `restarting` (failed, with an automatic restart planned).
    #[serde(default)]
    pub phase: String,
    /// Why it is in `error` (or what `configuring` waits for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it entered its current status.
    pub since: DateTime<Utc>,
    /// The server's process id, for native servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The container, for container-backed servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// How many tools it offers, when connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<usize>,
    /// Required fields that have no value yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// The names of its config fields (values come from the caller's
    /// environment at connect time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Seconds since it connected, when connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    /// Automatic restarts in a row since it was last healthy.
    #[serde(default)]
    pub restarts: u32,
    /// The most recent error, kept after it recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The last health ping's round trip, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ping_ms: Option<f64>,
    /// The backends it can run on (`mcp`, `skill`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<String>,
    /// Where its documentation lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Its sign-in, for a remote server that signs in (no token ever shows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<crate::mcp::auth::AuthStatus>,
    /// What the person should know about how it is connected, such as a
    /// database role that could read server files (with how to make a
    /// better one). Empty when there is nothing to say.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Set in the answer to a change that restarted the running connector
    /// so it takes effect (or to `restart`): what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted: Option<String>,
    /// Where the catalog view files it (`Databases`, `Code`, `Custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The brand icon's slug in the dashboard's icon set (`github`), for
    /// built-in connectors that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// The icon the running server announced in its `initialize` answer
    /// (`serverInfo.icons`), when it is an inline image (`data:image/…`,
    /// at most 64 KiB); links to elsewhere are not followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_icon: Option<String>,
    /// What its server may reach and use, in words (`switchboard policy`).
    #[serde(default)]
    pub policy: String,
}

impl super::Entry {
    /// The connector as the faces show it, from its definition (on the
    /// chosen backend) and its state.
    pub(super) fn info(&self) -> ConnectorInfo {
        let active = self.active();
        let def = &active;
        let running = self.state.running();
        let server = self.state.server();
        let missing = match &self.state {
            ConnectorState::NeedsConfig { missing, .. } => missing.clone(),
            _ => Vec::new(),
        };
        ConnectorInfo {
            name: def.name.clone(),
            display_name: def.display_name.clone(),
            kind: def.kind.clone(),
            backend: match self.invalid {
                Some(_) => "invalid definition".into(),
                None => backend_label(def),
            },
            description: def.description.clone(),
            builtin: self.builtin,
            status: self.state.status(),
            phase: self.state.phase().into(),
            error: self.state.reason().map(str::to_string),
            since: self.since,
            pid: server
                .filter(|s| s.container().is_none())
                .and_then(|s| s.pid()),
            container: server.and_then(|s| s.container().map(str::to_string)),
            tools: running.map(|_| self.state.tools().len()),
            missing,
            fields: def.fields.iter().map(|f| f.name.clone()).collect(),
            backends: self
                .definition
                .backends()
                .iter()
                .map(config::backend_name)
                .collect(),
            uptime_secs: running
                .map(|_| u64::try_from((Utc::now() - self.since).num_seconds()).unwrap_or(0)),
            restarts: self.restarts,
            last_error: self.last_error.clone(),
            last_ping_ms: server
                .and_then(|s| s.health().last_ping())
                .map(|d| d.as_secs_f64() * 1000.0),
            docs: def.docs.clone(),
            auth: None,
            warnings: {
                let mut warnings = running.map(|r| r.warnings()).unwrap_or_default();
                warnings.extend(unsandboxed(def, &def.name));
                warnings
            },
            restarted: None,
            category: def.category.clone(),
            icon: def.icon.clone(),
            server_icon: server.and_then(server_icon),
            policy: def.policy.clone().unwrap_or_default().describe(),
        }
    }
}

/// The warning a program on this machine gets when a person turned its
/// sandbox off: it runs as them, with their files and network.
fn unsandboxed(def: &ConnectorDefinition, name: &str) -> Option<String> {
    let sandboxed = def.policy.as_ref().is_none_or(|p| p.sandboxed());
    (def.command.is_some() && def.image.is_none() && !sandboxed).then(|| {
        format!(
            "unsandboxed: its program runs as you, with all your files and the network \
             (`switchboard policy {name} --sandbox on` puts it back in the sandbox)"
        )
    })
}

fn backend_label(def: &ConnectorDefinition) -> String {
    match (&def.image, &def.command, &def.url, &def.skill) {
        (Some(image), _, _, _) => format!("docker {image}"),
        (None, Some(command), _, _) => format!("command {command}"),
        // A URL added before credentials were split off may hold one.
        (None, None, Some(url), _) => format!("remote {}", crate::credentials::redact_url(url)),
        (None, None, None, Some(skill)) => format!("skill {}", skill.name),
        (None, None, None, None) => "built-in".into(),
    }
}

/// The first inline image among the icons the server announced.
fn server_icon(server: &crate::mcp::RunningServer) -> Option<String> {
    let info = server.peer().peer_info()?;
    info.server_info
        .as_ref()?
        .icons
        .as_ref()?
        .iter()
        .map(|icon| icon.src.as_str())
        .find(|src| src.starts_with("data:image/") && src.len() <= MAX_SERVER_ICON_BYTES)
        .map(str::to_string)
}
