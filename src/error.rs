//! The library's error type: one variant per situation a user can act on.
//!
//! Every variant carries a stable [`ErrorCode`] so the CLI can pick an exit
//! code and the wire protocol can carry the kind of failure without anyone
//! matching on message text.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::CatalogError;
use crate::settings::SettingsError;

/// Stable machine-readable classes of failure, shared by the CLI's exit
/// codes and the service protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Something we did not expect; a bug or an I/O failure.
    Internal,
    /// No connector has that name.
    UnknownConnector,
    /// `add` with a name that is already in use.
    AlreadyExists,
    /// The user gave input we cannot use (bad name, bad JSON, bad flag value).
    InvalidInput,
    /// The server could not be started or never answered `initialize`.
    StartFailed,
    /// Neither Docker nor Podman is installed or answering.
    NoContainerEngine,
    /// The settings file is malformed, unreadable or unwritable.
    Settings,
    /// The background service could not be reached or started.
    ServiceUnavailable,
    /// The tool ran and reported failure, or the call itself failed.
    ToolFailed,
    /// The connector is not connected, so it has no tools to offer.
    NotConnected,
    /// The connector has no tool of that name.
    UnknownTool,
    /// Required configuration is missing; the connector waits in `configuring`.
    NeedsConfiguration,
    /// The secret store could not be opened, read or written.
    Secrets,
    /// The HTTP port asked for is taken by another program.
    PortInUse,
    /// A sign-in to a remote server failed or was refused.
    SignInFailed,
    /// The remote server wants a sign-in; the connector waits in `configuring`.
    SignInRequired,
    /// A file or directory of ours (the data dir, the socket, a log) could
    /// not be created, read or written.
    Files,
}

impl ErrorCode {
    /// The process exit code the CLI uses for this class of failure.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::Internal => 1,
            ErrorCode::UnknownConnector => 3,
            ErrorCode::AlreadyExists => 4,
            ErrorCode::InvalidInput => 5,
            ErrorCode::StartFailed => 6,
            ErrorCode::NoContainerEngine => 7,
            ErrorCode::Settings => 8,
            ErrorCode::ServiceUnavailable => 9,
            ErrorCode::ToolFailed => 10,
            ErrorCode::NotConnected => 11,
            ErrorCode::UnknownTool => 12,
            ErrorCode::NeedsConfiguration => 13,
            ErrorCode::Secrets => 14,
            ErrorCode::PortInUse => 15,
            ErrorCode::SignInFailed => 16,
            ErrorCode::SignInRequired => 17,
            ErrorCode::Files => 18,
        }
    }
}

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `suggestion` is "; did you mean `x`?" or empty.
    #[error("unknown connector `{name}`{suggestion}: run `switchboard list` to see the connectors, or `switchboard add {name} --command ...` to add one")]
    UnknownConnector { name: String, suggestion: String },

    #[error("a connector named `{name}` already exists: choose another name, or `switchboard remove {name}` first")]
    AlreadyExists { name: String },

    #[error("`{name}` is a built-in connector and cannot be removed; `switchboard disconnect {name}` stops it")]
    BuiltinNotRemovable { name: String },

    /// A custom connector written by hand in the settings file that does
    /// not pass the checks `add` runs; `reason` names the file and line.
    #[error("{reason}")]
    InvalidDefinition { name: String, reason: String },

    #[error("{0}")]
    InvalidInput(String),

    #[error("`{field}` of `{name}` is secret, and a value on the command line stays in the shell's history and in `ps`, so it was not stored: give it on stdin with `switchboard secret set {name} {field}`, or from the environment with `switchboard connect {name} {from_env}`")]
    SecretOnCommandLine {
        name: String,
        field: String,
        /// The `--secret-from-env` flag that reads this field.
        from_env: String,
    },

    #[error("command `{command}` was not found: install it, or give its full path with `switchboard add NAME --command /path/to/{command}`")]
    CommandNotFound { command: String },

    #[error("could not start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("no container engine found: install Docker or Podman (`switchboard doctor` shows what this machine has), or use a connector with a native command")]
    NoContainerEngine,

    #[error("{message}")]
    NoContainerEngineTrySkill { message: String },

    #[error("the container for image `{image}` could not start (exit {code}){stderr}: check the image name, or build or pull it first (`docker pull {image}`)")]
    ImageUnavailable {
        image: String,
        code: i32,
        stderr: String,
    },

    #[error("the server exited {status} before it answered MCP initialize{stderr}")]
    ExitedDuringStart { status: String, stderr: String },

    #[error("the server did not answer MCP initialize within {}s{stderr}: check that it speaks MCP over stdio, or raise the deadline with `--timeout`", after.as_secs())]
    StartTimeout { after: Duration, stderr: String },

    #[error("MCP initialize failed: {message}{stderr}")]
    Handshake { message: String, stderr: String },

    #[error(transparent)]
    RemoteServer(#[from] crate::mcp::RemoteError),

    #[error("the secret store cannot be used: {message}")]
    SecretStoreUnavailable { message: String },

    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),

    #[error("{message}")]
    Skill { message: String },

    #[error("{name}: the credential was refused ({message}); replace it with {hint}")]
    CredentialRefused {
        name: String,
        message: String,
        hint: String,
    },

    #[error("`{name}` is not connected: run `switchboard connect {name}` first")]
    NotConnected { name: String },

    /// `suggestion` is "; did you mean `x`?" or empty.
    #[error(
        "`{name}` has no tool `{tool}`{suggestion}: run `switchboard tools {name}` to list them"
    )]
    UnknownTool {
        name: String,
        tool: String,
        suggestion: String,
    },

    #[error("tool `{tool}` of `{name}` is disabled: enable it with `switchboard tools {name} --enable {tool}`")]
    ToolDisabled { name: String, tool: String },

    #[error("the call was cancelled")]
    Cancelled,

    #[error("the tool did not answer within {}s; the server was told to cancel the call", after.as_secs())]
    CallTimeout { after: Duration },

    #[error("tool call failed: {message}")]
    ToolFailed { message: String },

    /// The server answered the call with a JSON-RPC error. Kept whole, so
    /// the gateway hands its client the server's own code, message and
    /// data instead of flattening them to "internal error".
    #[error("the server refused the call: {} (JSON-RPC error {})", .error.message, .error.code.0)]
    ToolRejected { error: rmcp::model::ErrorData },

    #[error("`{name}` needs {missing} before it can start: {hint}")]
    NeedsConfiguration {
        name: String,
        missing: String,
        hint: String,
    },

    /// The server wants a sign-in and one was started; the connector waits
    /// in `configuring`.
    #[error("{}", if *opened {
        format!("`{name}` needs a sign-in: finish it in the browser that opened ({url})")
    } else {
        format!("`{name}` needs a sign-in: open {url} in a browser; `{name}` waits in `configuring` until then (`switchboard login {name} --no-browser` prints the address and waits)")
    })]
    SignInPending {
        name: String,
        url: String,
        opened: bool,
    },

    /// The server wants a sign-in and nobody is there to start one.
    #[error("`{name}` needs a sign-in: {reason}")]
    SignInNeeded { name: String, reason: String },

    /// A call needs wider scopes than the sign-in granted (403
    /// `insufficient_scope`). `page` is the step-up sign-in under way.
    #[error("{}", scope_needed(name, tool, scopes, page.as_deref()))]
    ScopeNeeded {
        name: String,
        tool: String,
        scopes: Vec<String>,
        page: Option<String>,
    },

    /// A sign-in failed, was refused, or timed out.
    #[error("signing in to `{name}` failed: {message}")]
    SignInFailed { name: String, message: String },

    #[error("the connector catalog is invalid: {0}")]
    Catalog(#[from] CatalogError),

    #[error(transparent)]
    Settings(#[from] SettingsError),

    #[error("the switchboard service is not reachable at {socket}: {reason}")]
    ServiceUnavailable { socket: PathBuf, reason: String },

    #[error("the running service was started with {}, but this command sets {variable}={command}, which the service would not see: run `switchboard shutdown` so that the next command starts the service with this command's environment, or unset {variable} here to use the service as it is", match service { Some(value) => format!("{variable}={value}"), None => format!("{variable} unset") })]
    ServiceEnvironment {
        variable: String,
        /// The service's value; `None` when it is not set there.
        service: Option<String>,
        command: String,
    },

    /// An error the service reported over its socket, already classified.
    #[error("{message}")]
    Remote { code: ErrorCode, message: String },

    /// The connector is to run in the sandbox and it cannot be had here.
    #[error("{message}")]
    SandboxUnavailable { message: String },

    /// A file or directory of ours could not be used; says which and why.
    #[error("cannot {action} {}: {source}; check that it is yours and its disk has room, or use another data dir with --home", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// The service answered with something this command cannot read: a
    /// service of another version still runs.
    #[error("the running service answered `{request}` in a form this command does not know ({message}): it is likely of another version; run `switchboard shutdown` so that the next command starts this version's")]
    UnexpectedAnswer {
        request: &'static str,
        message: String,
    },

    /// The HTTP server's port is taken; the message says how to choose another.
    #[error("{message}")]
    PortInUse { port: u16, message: String },

    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A failed `action` ("create", "open", "write", …) on one of our files.
    pub fn file(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::File {
            action,
            path: path.into(),
            source,
        }
    }

    /// The stable class of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::UnknownConnector { .. } => ErrorCode::UnknownConnector,
            Error::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Error::BuiltinNotRemovable { .. }
            | Error::InvalidInput(_)
            | Error::SecretOnCommandLine { .. } => ErrorCode::InvalidInput,
            Error::CommandNotFound { .. }
            | Error::Spawn { .. }
            | Error::ImageUnavailable { .. }
            | Error::ExitedDuringStart { .. }
            | Error::StartTimeout { .. }
            | Error::Handshake { .. }
            | Error::RemoteServer(_) => ErrorCode::StartFailed,
            Error::NoContainerEngine | Error::NoContainerEngineTrySkill { .. } => {
                ErrorCode::NoContainerEngine
            }
            Error::SecretStoreUnavailable { .. } | Error::Secret(_) => ErrorCode::Secrets,
            Error::Skill { .. } | Error::CredentialRefused { .. } => ErrorCode::StartFailed,
            Error::NotConnected { .. } => ErrorCode::NotConnected,
            Error::UnknownTool { .. } => ErrorCode::UnknownTool,
            Error::ToolFailed { .. }
            | Error::ToolRejected { .. }
            | Error::Cancelled
            | Error::CallTimeout { .. } => ErrorCode::ToolFailed,
            Error::ToolDisabled { .. } => ErrorCode::UnknownTool,
            Error::NeedsConfiguration { .. } => ErrorCode::NeedsConfiguration,
            Error::SignInPending { .. }
            | Error::SignInNeeded { .. }
            | Error::ScopeNeeded { .. } => ErrorCode::SignInRequired,
            Error::SignInFailed { .. } => ErrorCode::SignInFailed,
            Error::Catalog(_) => ErrorCode::Internal,
            Error::Settings(_) | Error::InvalidDefinition { .. } => ErrorCode::Settings,
            Error::ServiceUnavailable { .. }
            | Error::ServiceEnvironment { .. }
            | Error::UnexpectedAnswer { .. } => ErrorCode::ServiceUnavailable,
            Error::Remote { code, .. } => *code,
            Error::PortInUse { .. } => ErrorCode::PortInUse,
            Error::File { .. } => ErrorCode::Files,
            Error::SandboxUnavailable { .. } => ErrorCode::StartFailed,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// Shorthand for the library's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Formats the last lines a server wrote to stderr as a suffix for an error
/// message, so a person sees the server's own explanation.
pub(crate) fn stderr_suffix(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; its last output: {}", lines.join(" | "))
    }
}

/// What to do when a call needs wider scopes: finish the step-up sign-in
/// already under way, or start one with the scopes named.
fn scope_needed(name: &str, tool: &str, scopes: &[String], page: Option<&str>) -> String {
    let login = std::iter::once(format!("switchboard login {name}"))
        .chain(scopes.iter().map(|s| format!("--scope {s}")))
        .collect::<Vec<_>>()
        .join(" ");
    let wanted = if scopes.is_empty() {
        String::new()
    } else {
        format!(" ({})", scopes.join(" "))
    };
    match page {
        Some(page) => format!(
            "`{tool}` needs more access to `{name}` than its sign-in granted: a sign-in for the wider scopes{wanted} is waiting at {page} (the current sign-in keeps working meanwhile); finish it and call again, or run `{login}`"
        ),
        None => format!(
            "`{tool}` needs more access to `{name}` than its sign-in granted: sign in for the wider scopes{wanted} with `{login}`, then call again"
        ),
    }
}
