//! The local protocol between the CLI and the background service: one JSON
//! request and one JSON response per connection, over the Unix socket in
//! the data dir (mode 0600, in a 0700 directory).
//!
//! The wire types live here; the server side is in `daemon`, the client
//! side (including starting the service when none runs) in `client`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::connector::ConnectRequest;
use crate::connector::CustomConnector;
use crate::error::ErrorCode;

/// Largest request or response we accept, so a bad peer cannot grow memory.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// What a face asks of the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Who are you: version, pid and paths.
    Hello,
    /// Every connector.
    List,
    /// One connector.
    Status { name: String },
    /// Add a custom connector.
    Add {
        name: String,
        /// Boxed: it is by far the largest request.
        connector: Box<CustomConnector>,
        /// Secret values (secret headers), by field: never written to settings.
        #[serde(default)]
        secrets: BTreeMap<String, String>,
    },
    /// Remove a custom connector.
    Remove { name: String },
    /// Connect, with everything the command gave (backend, values to
    /// store, an OAuth client) in the same request.
    Connect(ConnectRequest),
    /// A connector's fields and which are set (secrets never shown).
    Config { name: String },
    /// Store field values (secrets go to the secret store).
    SetConfig {
        name: String,
        values: BTreeMap<String, String>,
    },
    /// Forget a stored field value.
    UnsetConfig { name: String, field: String },
    /// Choose the backend (`mcp` or `skill`) for the next connect.
    SetBackend {
        name: String,
        backend: crate::catalog::ConnectorType,
    },
    /// Which secret store the service uses.
    SecretStore,
    /// Which secrets are stored (names only), for one connector or all.
    SecretList { name: Option<String> },
    /// Disconnect.
    Disconnect { name: String },
    /// Stop and start a connected connector with its current configuration.
    Restart { name: String },
    /// A connected connector's tools.
    Tools { name: String },
    /// The tools of a connector that the user disabled.
    DisabledTools { name: String },
    /// Enable or disable one tool (persisted; the gateway honours it).
    SetToolsEnabled {
        name: String,
        disable: Vec<String>,
        enable: Vec<String>,
    },
    /// Call a tool.
    Call {
        name: String,
        tool: String,
        #[serde(default)]
        arguments: Option<serde_json::Value>,
    },
    /// Start a sign-in to a remote server (cancelling one under way);
    /// answers with the page to open (`mcp::auth::Started`).
    Login {
        name: String,
        /// Scopes to ask for; empty lets the server's metadata choose.
        #[serde(default)]
        scopes: Vec<String>,
        /// Whether the service should start a browser on the page.
        #[serde(default)]
        open_browser: bool,
    },
    /// Wait for a connector's sign-in to end (and the connect it leads to).
    WaitSignIn {
        name: String,
        #[serde(default)]
        timeout_secs: Option<u64>,
    },
    /// Revoke and delete a connector's tokens.
    Logout { name: String },
    /// Use a pre-registered OAuth client for a connector's sign-ins; the
    /// secret goes to the secret store.
    SetOAuthClient {
        name: String,
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        client_secret: Option<String>,
    },
    /// Stop every server and the service itself.
    Shutdown,
    /// Check the field values a `connect` is about to store, for the
    /// backend it asks for, before anything is stored: every value fits
    /// its field's kind, and no secret field was given on the command line
    /// (`on_command_line` names the fields that were). Answers the values
    /// as they would be stored (paths made absolute against `cwd`, the
    /// directory of the command).
    CheckConfig {
        name: String,
        #[serde(default)]
        backend: Option<crate::catalog::ConnectorType>,
        values: BTreeMap<String, String>,
        #[serde(default)]
        on_command_line: Vec<String>,
        #[serde(default)]
        cwd: Option<std::path::PathBuf>,
    },
    /// What `switchboard doctor` reports, as the service sees it.
    Doctor,
    /// A connector's policy; with `change`, the override is changed first.
    Policy {
        name: String,
        #[serde(default)]
        change: Option<crate::catalog::Policy>,
    },
    /// Every gateway profile.
    Profiles,
    /// Stores a gateway profile (`replace`: over one of that name).
    SetProfile {
        name: String,
        profile: crate::profile::Profile,
        #[serde(default)]
        replace: bool,
    },
    /// Removes a gateway profile.
    RemoveProfile { name: String },
}

impl Request {
    /// The request's name on the wire (`op`), for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello => "hello",
            Request::List => "list",
            Request::Status { .. } => "status",
            Request::Add { .. } => "add",
            Request::Remove { .. } => "remove",
            Request::Connect(_) => "connect",
            Request::Config { .. } => "config",
            Request::SetConfig { .. } => "set_config",
            Request::UnsetConfig { .. } => "unset_config",
            Request::SetBackend { .. } => "set_backend",
            Request::SecretStore => "secret_store",
            Request::SecretList { .. } => "secret_list",
            Request::Disconnect { .. } => "disconnect",
            Request::Restart { .. } => "restart",
            Request::Tools { .. } => "tools",
            Request::DisabledTools { .. } => "disabled_tools",
            Request::SetToolsEnabled { .. } => "set_tools_enabled",
            Request::Call { .. } => "call",
            Request::Login { .. } => "login",
            Request::WaitSignIn { .. } => "wait_sign_in",
            Request::Logout { .. } => "logout",
            Request::SetOAuthClient { .. } => "set_o_auth_client",
            Request::Shutdown => "shutdown",
            Request::CheckConfig { .. } => "check_config",
            Request::Doctor => "doctor",
            Request::Policy { .. } => "policy",
            Request::Profiles => "profiles",
            Request::SetProfile { .. } => "set_profile",
            Request::RemoveProfile { .. } => "remove_profile",
        }
    }
}

/// The service's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Success, with the request's result.
    Ok(serde_json::Value),
    /// Failure, classified.
    Error { code: ErrorCode, message: String },
}

/// The answer to [`Request::Hello`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hello {
    pub version: String,
    pub pid: u32,
    pub settings: std::path::PathBuf,
    pub home: std::path::PathBuf,
    /// The service's values of [`SERVICE_ENV`] (those that are set), so a
    /// command whose own differ can say so instead of being ignored.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Environment variables the service reads for itself, once, when it
/// starts: which container engine and secret store it uses, and where the
/// engine's daemon is. A later command cannot change them for a running
/// service; `switchboard shutdown` and the next command can.
pub const SERVICE_ENV: &[&str] = &[
    crate::mcp::ENGINE_ENV,
    crate::secrets::STORE_ENV,
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "CONTAINER_HOST",
];

/// This process's values of [`SERVICE_ENV`] that are set and not empty.
pub fn service_env() -> BTreeMap<String, String> {
    SERVICE_ENV
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.is_empty())
                .map(|value| (name.to_string(), value))
        })
        .collect()
}
