//! The MCP clients Switchboard plugs into — Claude Desktop, Claude Code, VS Code, Cursor and
//! Codex — and their own config files: the snippet that points one of them at the gateway
//! ([`McpClient::snippet`]), writing that entry into the client's file without disturbing the
//! rest of it ([`McpClient::install`]), and reading the servers a client already has so they can
//! become custom connectors ([`McpClient::read_servers`]).
//!
//! Those files belong to the user and to the client, which rewrites some of them itself
//! (`~/.claude.json` on every start): edits go through a concrete syntax tree (jsonc-parser for
//! JSON, toml_edit for Codex's TOML) so that only the one entry changes, comments and all, and
//! the new text replaces the file by an atomic rename. A file that does not parse is reported
//! and never written.
//!
//! Where each file lives and what shape it has, with the source checked (2026):
//!
//! | client | file | servers under | entry |
//! | --- | --- | --- | --- |
//! | Claude Desktop | `claude_desktop_config.json` in `~/Library/Application Support/Claude` (macOS), `%APPDATA%\Claude` (Windows), `$XDG_CONFIG_HOME/Claude` (Linux builds) | `mcpServers` | `{command, args, env}` — stdio only |
//! | Claude Code | `~/.claude.json` (`$CLAUDE_CONFIG_DIR/.claude.json` when set), user scope; project scope `.mcp.json` has the same shape | `mcpServers` | `{type: "stdio", command, args, env}` or `{type: "http" \| "sse", url, headers}` |
//! | VS Code | user `mcp.json` in `~/.config/Code/User` (Linux, honouring `$XDG_CONFIG_HOME`), `~/Library/Application Support/Code/User` (macOS), `%APPDATA%\Code\User` (Windows); workspace `.vscode/mcp.json` | `servers` (plus `inputs`) | `{type: "stdio", command, args, env, envFile}` or `{type: "http" \| "sse", url, headers}` |
//! | Cursor | `~/.cursor/mcp.json`; project `.cursor/mcp.json` | `mcpServers` | `{command, args, env}` or `{url, headers}` |
//! | Codex | `~/.codex/config.toml` (`$CODEX_HOME/config.toml` when set) | `[mcp_servers.NAME]` | `command, args, env, env_vars, cwd` or `url, bearer_token_env_var, http_headers, env_http_headers` |
//!
//! Sources: Claude Desktop — the MCP quickstart for users (modelcontextprotocol.io) and
//! installers that write the file (e.g. `@sigyl-dev/cli`'s `claude-config.ts`, which uses
//! `$XDG_CONFIG_HOME/Claude` on Linux); Claude Code — code.claude.com/docs/en/mcp (scopes,
//! `type`, `${VAR}` / `${VAR:-default}` expansion in command, args, env, url and headers) and
//! tools that honour `$CLAUDE_CONFIG_DIR`; VS Code — code.visualstudio.com "MCP configuration
//! reference" (`servers`, `inputs`, `type`, `envFile`, `${input:…}`, predefined variables such as
//! `${env:NAME}` and `${workspaceFolder}`); Cursor — cursor.com/docs/mcp (global and project
//! files, `command`/`url`, `${env:NAME}`, `${userHome}`, `${workspaceFolder}` interpolation);
//! Codex — `codex-rs/core/src/config/types.rs` in openai/codex (`RawMcpServerConfig`: a `url`
//! entry is Streamable HTTP, inline `bearer_token` is refused) and developers.openai.com/codex/mcp.

mod codex;
mod entry;
mod import;
mod json;
mod write;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::secrets::Secret;
use entry::Node;

pub use import::sanitize_name;

/// The name the gateway's entry gets in a client's config unless the user picks another.
pub const DEFAULT_SERVER_NAME: &str = "switchboard";

/// An MCP client whose config Switchboard can write and import from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum McpClient {
    /// Anthropic's desktop app (`claude-desktop`).
    ClaudeDesktop,
    /// Anthropic's command-line agent (`claude-code`).
    ClaudeCode,
    /// Visual Studio Code with Copilot's agent mode (`vscode`).
    Vscode,
    /// The Cursor editor (`cursor`).
    Cursor,
    /// OpenAI's Codex CLI and IDE extension (`codex`).
    Codex,
}

/// How the client should reach the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEndpoint {
    /// The client starts the gateway itself and speaks MCP over its stdin/stdout
    /// (`switchboard gateway`).
    Stdio {
        /// The program, ideally an absolute path: clients start servers with a minimal `PATH`.
        command: String,
        /// Its arguments, e.g. `["gateway"]`.
        args: Vec<String>,
    },
    /// The client connects to a running `switchboard serve` over Streamable HTTP.
    Http {
        /// E.g. `http://127.0.0.1:8931/mcp`.
        url: String,
        /// The environment variable that holds the bearer token, if the gateway wants one. Only
        /// its name goes into the client's file; the client reads the value at launch.
        bearer_token_env_var: Option<String>,
    },
}

/// A server found in a client's config, turned into what a custom connector needs.
///
/// Secret values never land in [`env`](Self::env) or [`headers`](Self::headers): their names go
/// to `secret_env` / `secret_headers`, and where the value came from to the matching
/// `*_sources` map, so the caller can make them pass-through variables or secret-store entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedServer {
    /// A valid connector name: `original_name` lowercased, other characters turned into `-`
    /// (see [`sanitize_name`]).
    pub name: String,
    /// The key the client's file uses for this server.
    pub original_name: String,
    /// The program of a stdio server.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Vec<String>,
    /// The address of a remote server.
    pub url: Option<String>,
    /// For a remote server, `"http"` (Streamable HTTP) or `"sse"` when the client's file says
    /// which; `None` leaves it to the URL.
    pub transport: Option<crate::catalog::RemoteTransport>,
    /// Non-secret environment values, to store as they are.
    pub env: BTreeMap<String, String>,
    /// Environment variables whose values are secrets (judged by the variable's name or the
    /// value's shape: TOKEN, SECRET, PASSWORD, KEY, AUTH, CREDENTIAL, `ghp_…`, …) or references
    /// (`${env:X}`, `${X}`, `${input:X}`, Codex `env_vars`): never to be stored in clear.
    pub secret_env: Vec<String>,
    /// Where each of `secret_env` gets its value.
    pub secret_env_sources: BTreeMap<String, SecretSource>,
    /// Non-secret HTTP headers of a remote server.
    pub headers: BTreeMap<String, String>,
    /// Headers that carry credentials or references, as for `secret_env`.
    pub secret_headers: Vec<String>,
    /// Where each of `secret_headers` gets its value. A password in the
    /// URL comes here as the `Authorization` header it would have sent.
    pub secret_header_sources: BTreeMap<String, SecretSource>,
    /// Query parameters of the URL that carry credentials (`api_key`,
    /// `token`, …), taken out of [`url`](Self::url).
    pub secret_query: Vec<String>,
    /// Where each of `secret_query` gets its value.
    pub secret_query_sources: BTreeMap<String, SecretSource>,
    /// Why this entry cannot be imported as it is (an unsupported type, a variable only the
    /// client can fill in, a credential in the arguments, Switchboard's own gateway, a name
    /// taken by an earlier entry). `None` means it can.
    pub skipped: Option<String>,
}

impl ImportedServer {
    /// Whether the entry can become a connector ([`skipped`](Self::skipped) is `None`).
    pub fn is_importable(&self) -> bool {
        self.skipped.is_none()
    }
}

/// Where the value of a secret environment variable or header comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Written in the client's file in clear: move it into the secret store, never into
    /// settings. May be empty (a placeholder the user never filled in).
    Literal(Secret),
    /// Filled in by the client at launch. `template` is the text as written (`"Bearer
    /// ${env:TOKEN}"`; for Codex's `env_vars` and `bearer_token_env_var`, the equivalent in
    /// `${env:NAME}` form); `env_vars` the environment variables it names, `inputs` the VS Code
    /// `${input:ID}` prompts, whose answers only VS Code knows.
    Reference {
        /// The value as written, or its `${env:NAME}` equivalent.
        template: String,
        /// Environment variables it reads, in order of appearance.
        env_vars: Vec<String>,
        /// VS Code input ids it reads, in order of appearance.
        inputs: Vec<String>,
    },
}

// `Secret` deliberately has no `PartialEq`; comparing whole imported servers (in tests, and
// to spot an unchanged re-import) needs one here, and timing does not matter for that.
impl PartialEq for SecretSource {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SecretSource::Literal(a), SecretSource::Literal(b)) => a.expose() == b.expose(),
            (
                SecretSource::Reference {
                    template: t1,
                    env_vars: e1,
                    inputs: i1,
                },
                SecretSource::Reference {
                    template: t2,
                    env_vars: e2,
                    inputs: i2,
                },
            ) => t1 == t2 && e1 == e2 && i1 == i2,
            _ => false,
        }
    }
}
impl Eq for SecretSource {}

/// Why reading or writing a client's config failed. Every message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    /// The file does not parse; `line` and `column` are 1-based. It was not written.
    #[error(
        "{path} is not valid {format}: {message} at line {line}, column {column}. \
         The file was left untouched; fix it by hand (or pass another file with --config) and try again"
    )]
    Malformed {
        path: PathBuf,
        /// `JSON` or `TOML`.
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file parses but a value Switchboard must edit or read has the wrong type.
    #[error("{path} does not have the expected shape: {message}. The file was left untouched; fix it by hand and try again")]
    WrongShape { path: PathBuf, message: String },
    /// There is no config file to read servers from.
    #[error("there is no config file at {path}: check that the client is installed and has been configured, or pass the file with --config")]
    NotFound { path: PathBuf },
    /// Reading, writing or renaming failed; on a write failure the old file is still in place.
    #[error("could not {action} {path}: {source}")]
    Io {
        path: PathBuf,
        /// `read`, `write`, ...
        action: &'static str,
        source: io::Error,
    },
    /// Something else (usually the client itself) kept rewriting the file while it was edited.
    #[error("{path} kept changing while Switchboard was editing it, so it was left as the other program wrote it; quit the client and try again")]
    ChangedDuringEdit { path: PathBuf },
    /// No default location is known (no home directory, or no such location on this OS).
    #[error("no default config location for {client} is known here (is HOME set?); pass the file with --config")]
    NoDefaultPath { client: McpClient },
    /// The server name cannot be used as a key in the client's config.
    #[error("`{name}` cannot be used as a server name: use letters, digits, `-`, `_` and `.`, starting with a letter or digit")]
    InvalidServerName { name: String },
}

impl fmt::Display for McpClient {
    /// The CLI name (`claude-desktop`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

impl McpClient {
    /// Every supported client, in CLI order.
    pub const ALL: [McpClient; 5] = [
        McpClient::ClaudeDesktop,
        McpClient::ClaudeCode,
        McpClient::Vscode,
        McpClient::Cursor,
        McpClient::Codex,
    ];

    /// The name used on the command line.
    pub fn cli_name(self) -> &'static str {
        match self {
            McpClient::ClaudeDesktop => "claude-desktop",
            McpClient::ClaudeCode => "claude-code",
            McpClient::Vscode => "vscode",
            McpClient::Cursor => "cursor",
            McpClient::Codex => "codex",
        }
    }

    /// The product name, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            McpClient::ClaudeDesktop => "Claude Desktop",
            McpClient::ClaudeCode => "Claude Code",
            McpClient::Vscode => "VS Code",
            McpClient::Cursor => "Cursor",
            McpClient::Codex => "Codex",
        }
    }

    /// Whether the client's config file can name a remote (HTTP) server directly. Claude
    /// Desktop's cannot (remote servers are added in its Connectors settings), so
    /// [`snippet`](Self::snippet) bridges through `npx mcp-remote` there and the stdio endpoint
    /// is the better choice.
    pub fn supports_remote(self) -> bool {
        self != McpClient::ClaudeDesktop
    }

    /// The user-level config file, from `HOME` and the client's own variables
    /// (`XDG_CONFIG_HOME`, `CLAUDE_CONFIG_DIR`, `CODEX_HOME`, `APPDATA`) as they are now.
    /// `None` when no home directory is known.
    pub fn default_config_path(self) -> Option<PathBuf> {
        self.config_path_from(&|name| std::env::var_os(name).filter(|v| !v.is_empty()))
    }

    fn config_path_from(self, var: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
        // A relative value of these variables would resolve against whatever directory we run
        // in; the clients' own lookups ignore such values too.
        let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let home = absolute("HOME")
            .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()));
        // Where desktop apps keep per-user data: the Electron `appData` directory.
        let app_data = || -> Option<PathBuf> {
            if cfg!(target_os = "macos") {
                Some(home.clone()?.join("Library/Application Support"))
            } else if cfg!(windows) {
                absolute("APPDATA")
            } else {
                absolute("XDG_CONFIG_HOME").or_else(|| Some(home.clone()?.join(".config")))
            }
        };
        match self {
            McpClient::ClaudeDesktop => Some(app_data()?.join("Claude/claude_desktop_config.json")),
            McpClient::ClaudeCode => absolute("CLAUDE_CONFIG_DIR")
                .or_else(|| home.clone())
                .map(|dir| dir.join(".claude.json")),
            McpClient::Vscode => Some(app_data()?.join("Code/User/mcp.json")),
            McpClient::Cursor => Some(home?.join(".cursor/mcp.json")),
            McpClient::Codex => absolute("CODEX_HOME")
                .or_else(|| Some(home?.join(".codex")))
                .map(|dir| dir.join("config.toml")),
        }
    }

    /// [`default_config_path`](Self::default_config_path) or the error to show when there is none.
    pub fn require_default_config_path(self) -> Result<PathBuf, ClientConfigError> {
        self.default_config_path()
            .ok_or(ClientConfigError::NoDefaultPath { client: self })
    }

    /// The text to paste into the client's config: for the JSON clients a whole JSON object
    /// (`{ "mcpServers": { "switchboard": {...} } }`, `servers` for VS Code), for Codex a
    /// `[mcp_servers.switchboard]` TOML table. `server_name` is usually
    /// [`DEFAULT_SERVER_NAME`].
    pub fn snippet(self, server_name: &str, endpoint: &GatewayEndpoint) -> String {
        let entry = self.entry(endpoint);
        match self {
            McpClient::Codex => codex::snippet(server_name, &entry),
            _ => json::snippet(self.servers_key(), server_name, &entry),
        }
    }

    /// Writes or updates the `server_name` entry in the client's config file at `path`,
    /// keeping every other byte: comments, order, indentation, other servers. The file and its
    /// parent directories are created if missing. Within an existing entry only the keys that
    /// say how to reach the server are replaced (so e.g. `disabled` or Codex's
    /// `tool_timeout_sec` stay). Returns whether the file changed; installing the same endpoint
    /// again changes nothing.
    ///
    /// The new text replaces the file by rename (a symlinked file's target is replaced, with its
    /// permissions kept). A file that does not parse, or whose servers key holds something other
    /// than a table, is an error and stays untouched.
    pub fn install(
        self,
        path: &Path,
        server_name: &str,
        endpoint: &GatewayEndpoint,
    ) -> Result<bool, ClientConfigError> {
        check_server_name(server_name)?;
        let entry = self.entry(endpoint);
        let managed = self.transport_keys();
        write::update(path, |text| match self {
            McpClient::Codex => codex::install(path, text, server_name, &entry, managed),
            _ => json::install(path, text, self.servers_key(), server_name, &entry, managed),
        })
    }

    /// One server entry in this client's shape, read as `import` reads it.
    pub fn interpret_one(self, name: &str, entry: serde_json::Value) -> ImportedServer {
        let mut found = import::interpret_all(self, vec![(name.to_string(), entry)]);
        found.pop().unwrap_or_else(|| ImportedServer {
            name: name.to_string(),
            original_name: name.to_string(),
            skipped: Some("nothing to read in it".into()),
            ..ImportedServer::default()
        })
    }

    /// Reads the servers the client's file at `path` defines, in file order, for import.
    /// Every entry comes back; those that cannot be imported say why in
    /// [`ImportedServer::skipped`] — Switchboard's own gateway among them, so that a client
    /// never ends up calling itself through us.
    pub fn read_servers(self, path: &Path) -> Result<Vec<ImportedServer>, ClientConfigError> {
        let text = write::read(path)?.ok_or_else(|| ClientConfigError::NotFound {
            path: path.to_path_buf(),
        })?;
        let raw = match self {
            McpClient::Codex => codex::servers(path, &text)?,
            _ => json::servers(path, &text, self.servers_key())?,
        };
        Ok(import::interpret_all(self, raw))
    }
}

/// Names every client accepts as a key: VS Code's schema wants `[a-zA-Z][a-zA-Z0-9_-]*`-like
/// names, and TOML needs no quoting for these.
fn check_server_name(name: &str) -> Result<(), ClientConfigError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ClientConfigError::InvalidServerName {
            name: name.to_string(),
        })
    }
}

/// Line and column (1-based, columns in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_follow_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        let home_only = env(&[("HOME", "/home/u")]);
        let path = |client: McpClient, var: &dyn Fn(&str) -> Option<OsString>| {
            client.config_path_from(var)
        };
        if cfg!(target_os = "linux") {
            assert_eq!(
                path(McpClient::ClaudeDesktop, &home_only),
                Some("/home/u/.config/Claude/claude_desktop_config.json".into())
            );
            assert_eq!(
                path(McpClient::Vscode, &home_only),
                Some("/home/u/.config/Code/User/mcp.json".into())
            );
            let xdg = env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/x")]);
            assert_eq!(
                path(McpClient::Vscode, &xdg),
                Some("/x/Code/User/mcp.json".into())
            );
            let relative = env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "rel")]);
            assert_eq!(
                path(McpClient::Vscode, &relative),
                Some("/home/u/.config/Code/User/mcp.json".into())
            );
        }
        assert_eq!(
            path(McpClient::ClaudeCode, &home_only),
            Some("/home/u/.claude.json".into())
        );
        assert_eq!(
            path(McpClient::Cursor, &home_only),
            Some("/home/u/.cursor/mcp.json".into())
        );
        assert_eq!(
            path(McpClient::Codex, &home_only),
            Some("/home/u/.codex/config.toml".into())
        );
        let own = env(&[
            ("HOME", "/home/u"),
            ("CLAUDE_CONFIG_DIR", "/c"),
            ("CODEX_HOME", "/d"),
        ]);
        assert_eq!(
            path(McpClient::ClaudeCode, &own),
            Some("/c/.claude.json".into())
        );
        assert_eq!(path(McpClient::Codex, &own), Some("/d/config.toml".into()));
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
    }

    #[test]
    fn server_names_are_checked() {
        assert!(check_server_name("switchboard").is_ok());
        assert!(check_server_name("sb.2_x-y").is_ok());
        for bad in ["", "-x", "a b", "a\"b", "é"] {
            assert!(check_server_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
