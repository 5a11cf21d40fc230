//! The command line's shape: every verb, flag and argument, parsed by
//! clap. `main.rs` carries each one out.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::ArgValueCandidates;

use crate::completion;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Manage the integrations (MCP servers) your AI tools use"
)]
pub(crate) struct Cli {
    /// The settings file (default: $SWITCHBOARD_SETTINGS, else the user's config dir).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) settings: Option<PathBuf>,
    /// The data dir: socket, logs, runtime files (default: $SWITCHBOARD_HOME, else the user's data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum SecretCommand {
    /// Store a secret: `echo "$TOKEN" | switchboard secret set github GITHUB_PERSONAL_ACCESS_TOKEN`.
    Set {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        field: String,
    },
    /// Remove a stored secret.
    Rm {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        field: String,
    },
    /// List which secrets are stored (names only, never values), for one connector or all.
    Ls {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: Option<String>,
        #[command(flatten)]
        out: Output,
    },
}

/// `switchboard profile …`: named sets of connectors for the gateway.
#[derive(Subcommand)]
pub(crate) enum ProfileCommand {
    /// Create a profile: `profile create work --connectors github,linear,postgres`.
    Create {
        name: String,
        /// The connectors it serves, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        connectors: Vec<String>,
        /// Only these tools of their connectors (`connector:tool`, comma-separated).
        #[arg(long, value_delimiter = ',')]
        tools: Vec<String>,
        #[command(flatten)]
        out: Output,
    },
    /// List the profiles.
    Ls {
        #[command(flatten)]
        out: Output,
    },
    /// Show one profile.
    Show {
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// Remove a profile.
    Rm { name: String },
    /// Write a profile as a JSON file (stdout without --out).
    Export {
        name: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Read a profile from a file `export` wrote (`-` for stdin).
    Import {
        file: PathBuf,
        /// Store it under this name instead of the file's.
        #[arg(long)]
        name: Option<String>,
        /// Replace a profile of that name.
        #[arg(long)]
        force: bool,
    },
}

/// Where a connector runs (`connect --backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    /// Its server image (Docker or Podman).
    #[value(alias = "mcp")]
    Docker,
    /// The service's own hosted MCP server.
    Remote,
    /// The built-in skill.
    Skill,
}

impl From<Backend> for switchboard::ConnectorType {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Docker => switchboard::ConnectorType::Mcp,
            Backend::Remote => switchboard::ConnectorType::Remote,
            Backend::Skill => switchboard::ConnectorType::Skill,
        }
    }
}

#[derive(Args, Clone, Copy)]
pub(crate) struct Output {
    /// Print JSON for scripts.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A pre-registered OAuth client for a remote connector's sign-ins.
#[derive(Args, Clone, Default)]
pub(crate) struct OAuthClientFlags {
    /// The client id registered with the server's authorization server (skips registration).
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// Read that client's secret from this environment variable (stored in the secret store).
    #[arg(long, value_name = "VAR", requires = "client_id")]
    pub(crate) client_secret_from_env: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// List every connector with its type, backend and status.
    #[command(visible_alias = "ls")]
    List {
        /// Show error reasons whole instead of cut to the terminal's width.
        #[arg(long)]
        wide: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Add a custom connector backed by a command or an image.
    Add(AddArgs),
    /// Remove a custom connector (disconnecting it first).
    #[command(visible_alias = "rm")]
    Remove {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
    },
    /// Start a connector's server and wait until it answers.
    Connect(ConnectArgs),
    /// Show a connector's fields: which are required, secret, and set (secrets show only "set").
    Config {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// Store or remove a connector's secret (the value is read from stdin, never from arguments).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Stop a connector's server and remove its config.
    Disconnect {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// Stop and start a connected connector with its current configuration.
    Restart {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// List a connected connector's tools, or enable/disable some for the gateway.
    Tools(ToolsArgs),
    /// Call a tool with JSON arguments.
    Call(CallArgs),
    /// Sign in to a remote connector's server (OAuth), again or with other scopes.
    Login {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        /// Print the sign-in address instead of opening a browser, and wait.
        #[arg(long)]
        no_browser: bool,
        /// A scope to ask for (repeatable); by default the server's metadata chooses.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Sign out of a remote connector: revoke its tokens at the server where it can, delete them here.
    Logout {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// Show one connector: status, since when, pid or container, tool count.
    Status {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// Everything about one connector: definition, fields, status, tools, restarts, log file.
    Info {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// Run the service in the foreground (the CLI starts it in the background when needed).
    Serve(ServeArgs),
    /// Open the dashboard in the default browser, with its token.
    Open,
    /// Stop the background service and every server it started.
    Shutdown,
    /// Print the config snippet that hooks an MCP client up to the gateway, or write it into the client's config.
    ClientConfig {
        /// claude-desktop, claude-code, vscode, cursor or codex.
        client: switchboard::clients::McpClient,
        /// Write it into the client's config file, keeping the rest of the file.
        #[arg(long)]
        install: bool,
        /// The client's config file, instead of its default location.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        /// A gateway that serves only this profile (as the server `switchboard-NAME`).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Turn the servers in an MCP client's config into custom connectors.
    Import {
        /// claude-desktop, claude-code, vscode, cursor or codex.
        client: switchboard::clients::McpClient,
        /// The client's config file, instead of its default location.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
    /// Serve the gateway over stdio: every connected connector's tools as one MCP server (what an MCP client's config launches).
    Gateway {
        /// `all` tools, or `search`: find_tools, call_tool and list_connectors
        /// only (default: `codebuddy.gateway.tools`, else all).
        #[arg(long, value_enum, value_name = "all|search")]
        tools: Option<switchboard::gateway::search::ToolsMode>,
        /// Serve only this profile's connectors and tools (`switchboard profile`).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Calls, errors and latency (p50, p99) per connector and tool, from the record of every call.
    Stats {
        #[arg(add = ArgValueCandidates::new(completion::connector_names))]
        name: Option<String>,
        /// Only calls this recent: 30m, 1h, 2d.
        #[arg(long, value_name = "AGE")]
        since: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Gateway profiles: named sets of connectors a session serves.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Check which launchers work here and show where files live.
    Doctor(Output),
    /// Print a shell completion script: `source <(switchboard completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Show a connector's log: its server's stderr and lifecycle events, newest last.
    Logs(LogsArgs),
    /// Show or change what a connector's server may reach and use: network, paths, memory, CPUs.
    Policy(PolicyArgs),
    /// Inside a server's network namespace: carries its connections to
    /// the egress proxy (run by the service, not by people).
    #[command(hide = true)]
    EgressForward(switchboard::egress::forward::ForwardArgs),
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("backend").args(["command", "image", "url"])))]
pub(crate) struct AddArgs {
    /// The new connector's name (lowercase letters, digits, `-`, `_`).
    pub(crate) name: String,
    /// The program to run (its arguments follow).
    #[arg(long, value_name = "CMD")]
    pub(crate) command: Option<String>,
    /// The container image to run with `docker run -i --rm` (its arguments follow).
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,
    /// A remote MCP server's URL (SSE or Streamable HTTP).
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// The remote transport, when the URL does not say (`/sse` or `/mcp`).
    #[arg(long, value_enum, requires = "url")]
    pub(crate) transport: Option<switchboard::catalog::RemoteTransport>,
    /// An HTTP header for a remote server, `NAME=VALUE` (repeatable); secret values are never written to settings.
    #[arg(long = "header", value_name = "NAME=VALUE", requires = "url")]
    pub(crate) headers: Vec<String>,
    /// `KEY=VALUE` to set, or `KEY` to pass through from the environment of `connect` (repeatable; put it before --command).
    #[arg(long = "env", value_name = "KEY[=VALUE]")]
    pub(crate) env: Vec<String>,
    /// The directory the command runs in (default: the directory `add` runs in).
    #[arg(long, value_name = "DIR", requires = "command")]
    pub(crate) cwd: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) oauth: OAuthClientFlags,
    /// Print JSON for scripts; with a value, the whole definition instead of the flags, in the shape of a `codebuddy.mcp.servers` entry: '{"command":"npx","args":["-y","pkg"],"env":{…}}' or '{"type":"http","url":"…","headers":{…}}'.
    #[arg(long, value_name = "DEFINITION", num_args = 0..=1, default_missing_value = "")]
    pub(crate) json: Option<String>,
    /// Arguments for the command or image.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub(crate) args: Vec<String>,
}

#[derive(Args)]
pub(crate) struct ConnectArgs {
    #[arg(add = ArgValueCandidates::new(completion::connector_names))]
    pub(crate) name: String,
    /// Where it runs: `docker` (or `mcp`) for its server image, `remote` for the service's hosted server, `skill` for the built-in skill; the choice is kept.
    #[arg(long, value_enum)]
    pub(crate) backend: Option<Backend>,
    #[command(flatten)]
    pub(crate) oauth: OAuthClientFlags,
    /// Store a field's value, `FIELD=VALUE` (repeatable); secret fields go to the secret store.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub(crate) sets: Vec<String>,
    /// Store a secret from this environment variable, `NAME` or `FIELD=VARIABLE` (repeatable).
    #[arg(long = "secret-from-env", value_name = "NAME")]
    pub(crate) secrets_from_env: Vec<String>,
    /// Seconds the server may take to start and answer MCP initialize.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<u64>,
    #[command(flatten)]
    pub(crate) out: Output,
}

#[derive(Args)]
pub(crate) struct ToolsArgs {
    #[arg(add = ArgValueCandidates::new(completion::connector_names))]
    pub(crate) name: String,
    /// Show this one tool: its description, hints and arguments.
    #[arg(add = ArgValueCandidates::new(completion::tool_names))]
    pub(crate) tool: Option<String>,
    /// Hide these tools from the gateway and refuse calls to them (repeatable).
    #[arg(long, value_name = "TOOL")]
    pub(crate) disable: Vec<String>,
    /// Offer these tools again (repeatable).
    #[arg(long, value_name = "TOOL")]
    pub(crate) enable: Vec<String>,
    #[command(flatten)]
    pub(crate) out: Output,
}

#[derive(Args)]
pub(crate) struct CallArgs {
    #[arg(add = ArgValueCandidates::new(completion::connector_names))]
    pub(crate) name: String,
    #[arg(add = ArgValueCandidates::new(completion::tool_names))]
    pub(crate) tool: String,
    /// The arguments as a JSON object, e.g. '{"message":"hi"}'; `-` reads them from stdin.
    #[arg(conflicts_with = "args_file")]
    pub(crate) arguments: Option<String>,
    /// Read the arguments (a JSON object) from this file, for ones too long for a command line.
    #[arg(long, value_name = "PATH")]
    pub(crate) args_file: Option<std::path::PathBuf>,
    /// Save images, audio and other binary content of the result to files in this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) out: Output,
}

#[derive(Args)]
pub(crate) struct LogsArgs {
    #[arg(add = ArgValueCandidates::new(completion::connector_names))]
    pub(crate) name: String,
    /// How many of the last lines to show.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub(crate) lines: usize,
    /// Keep printing lines as they are written.
    #[arg(short, long)]
    pub(crate) follow: bool,
    /// One JSON object per line: `source` (`switchboard` or `server`), `time` (ours), `text`.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Seconds a server may take to start, unless `connect --timeout` says otherwise.
    #[arg(long, value_name = "SECS")]
    pub(crate) start_timeout: Option<u64>,
    /// The HTTP port (dashboard, API, gateway at /mcp); default `codebuddy.http.port`, else any free port.
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// The address to listen on; anything but loopback needs --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub(crate) bind: std::net::IpAddr,
    /// Allow --bind to a non-loopback address (the token still guards every request).
    #[arg(long)]
    pub(crate) allow_remote: bool,
    /// Started by the CLI in the background: print no dashboard link.
    #[arg(long, hide = true)]
    pub(crate) background: bool,
}

#[derive(Args)]
pub(crate) struct PolicyArgs {
    #[arg(add = ArgValueCandidates::new(completion::connector_names))]
    pub(crate) name: String,
    /// `open`, `none`, `loopback`, or the only hosts it may reach, separated
    /// by commas: `api.github.com`, `db.example.com:5432`, `*.example.com`,
    /// `127.0.0.1:5432` (a port of this machine).
    #[arg(long, value_name = "open|none|loopback|HOST,…")]
    pub(crate) network: Option<String>,
    /// A path it may read (repeatable; a container, or a sandboxed program).
    #[arg(long = "read", value_name = "PATH")]
    pub(crate) read: Vec<PathBuf>,
    /// A path it may read and write (repeatable; a container, or a sandboxed program).
    #[arg(long = "write", value_name = "PATH")]
    pub(crate) write: Vec<PathBuf>,
    /// Its memory limit, such as 512m or 1g.
    #[arg(long, value_name = "SIZE")]
    pub(crate) memory: Option<String>,
    /// How many CPUs it may use, such as 0.5 or 2.
    #[arg(long, value_name = "N")]
    pub(crate) cpus: Option<f64>,
    /// Run a program on this machine inside bubblewrap (`on`), or as you (`off`).
    #[arg(long, value_name = "on|off", value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) sandbox: Option<bool>,
    /// The same as `--sandbox off`: run its program as you, unsandboxed
    /// (for a machine without bubblewrap, or a server that needs more).
    #[arg(long, conflicts_with = "sandbox")]
    pub(crate) no_sandbox: bool,
    #[command(flatten)]
    pub(crate) out: Output,
}
