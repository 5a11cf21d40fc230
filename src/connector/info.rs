//! The public description of one connector: what `list`, `status`, the
//! API and the dashboard show. Built from the definition and the state;
//! never stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ConnectorType;
use crate::status::ConnectorStatus;

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
    /// Finer than `status`: `stopped`, `starting`, `needs-config`,
    /// `needs-sign-in`, `running`, `failed`, or `restarting` (failed, with
    /// an automatic restart planned).
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
}
