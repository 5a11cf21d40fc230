//! The benchmarks' load generator, one Rust MCP client (rmcp) for every
//! contender, so the client side costs the same whoever answers.
//!
//! `bench/run.sh` builds it with `cargo bench --no-run` and runs it once per
//! measurement; each subcommand prints one JSON object on stdout:
//!
//! - `calls`  — `tools/call` latency (p50/p90/p99 of sequential calls after a
//!   warm-up) and throughput at several concurrencies, against a server
//!   over stdio (a command line) or Streamable HTTP (a URL and a token).
//! - `sessions` — many client connections at once (64 `switchboard
//!   gateway` processes, say), each calling in a loop for a fixed time:
//!   calls, rate, p50/p99 and failures under sustained load.
//! - `backend-start` — how long a stdio server takes to start on its own
//!   (spawn, `initialize`, `tools/list`), one at a time and all at once.
//! - `startup` — `switchboard serve` from spawn to its gateway answering
//!   and to every restored connector `connected`.
//!
//! `cargo bench --bench loadgen` with no arguments runs a quick comparison
//! (direct vs `switchboard gateway` on the echo backend) so the target is
//! useful on its own. No timing here is a pass/fail test.

mod calls;
mod client;
mod http_client;
mod quick;
mod sessions;
mod startup;
mod stats;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use client::Target;

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "MCP load generator for Switchboard's benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Latency and throughput of one tool against one server.
    Calls(CallsArgs),
    /// Sustained load from many separate client sessions.
    Sessions(SessionsArgs),
    /// Start-up time of a stdio server on its own.
    BackendStart(BackendStartArgs),
    /// Start-up time of `switchboard serve` restoring its connectors.
    Startup(startup::StartupArgs),
}

/// Where the server is.
#[derive(Args, Clone)]
pub struct TargetArgs {
    /// Streamable HTTP endpoint (`http://127.0.0.1:PORT/mcp`); without it,
    /// the trailing arguments are a stdio server's command line.
    #[arg(long)]
    http: Option<String>,
    /// A legacy HTTP+SSE endpoint (`http://127.0.0.1:PORT/sse`).
    #[arg(long, conflicts_with = "http")]
    sse: Option<String>,
    /// A Unix socket speaking MCP (Switchboard's `gateway.sock`).
    #[arg(long, conflicts_with_all = ["http", "sse"])]
    unix: Option<std::path::PathBuf>,
    /// Over `--http`, open a new TCP connection for every call instead of
    /// keeping one per caller (what a client without a pool does).
    #[arg(long, requires = "http")]
    fresh_connection: bool,
    /// Bearer token for `--http`.
    #[arg(long, requires = "http")]
    token: Option<String>,
    /// A file holding the bearer token (read when connecting).
    #[arg(long, requires = "http", conflicts_with = "token")]
    token_file: Option<std::path::PathBuf>,
    /// The stdio server's command and arguments.
    #[arg(last = true)]
    command: Vec<String>,
}

impl TargetArgs {
    fn target(&self) -> anyhow::Result<Target> {
        if let Some(url) = &self.sse {
            return Ok(Target::Sse { url: url.clone() });
        }
        if let Some(path) = &self.unix {
            return Ok(Target::Unix(path.clone()));
        }
        match &self.http {
            Some(url) => {
                let token = match (&self.token, &self.token_file) {
                    (Some(token), _) => Some(token.clone()),
                    (None, Some(path)) => Some(std::fs::read_to_string(path)?.trim().to_string()),
                    (None, None) => None,
                };
                Ok(Target::Http {
                    url: url.clone(),
                    token,
                    fresh_connection: self.fresh_connection,
                })
            }
            None if self.command.is_empty() => {
                anyhow::bail!("give --http URL or a stdio command after `--`")
            }
            None => Ok(Target::Stdio(self.command.clone())),
        }
    }
}

#[derive(Args)]
pub struct CallsArgs {
    /// A name for the report.
    #[arg(long)]
    label: String,
    /// The tool: its exact name, or the one tool whose name ends with
    /// `__NAME`, `_NAME`, `-NAME` or `.NAME` (proxies qualify names their
    /// own way).
    #[arg(long, default_value = "echo")]
    tool: String,
    /// The arguments, as a JSON object.
    #[arg(long, default_value = r#"{"message":"hi"}"#)]
    arguments: String,
    /// Calls made and thrown away first.
    #[arg(long, default_value_t = 500)]
    warmup: usize,
    /// Sequential calls timed one by one (0: no latency run).
    #[arg(long, default_value_t = 5000)]
    calls: usize,
    /// Concurrencies for the throughput runs (0: none).
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    concurrency: Vec<usize>,
    /// Calls per throughput run.
    #[arg(long, default_value_t = 5000)]
    throughput_calls: usize,
    /// Upper bound on any one phase, in seconds: a slow contender is cut
    /// short (and the report says how many calls it made) rather than
    /// holding up the run.
    #[arg(long, default_value_t = 60)]
    phase_seconds: u64,
    /// How long one call may take before it counts as an error.
    #[arg(long, default_value_t = 10)]
    call_timeout_seconds: u64,
    /// How long to wait for the tool to appear in `tools/list`.
    #[arg(long, default_value_t = 0)]
    wait_tool_seconds: u64,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct SessionsArgs {
    /// A name for the report.
    #[arg(long)]
    label: String,
    /// The tool (matched as for `calls`).
    #[arg(long, default_value = "echo")]
    tool: String,
    /// The arguments, as a JSON object.
    #[arg(long, default_value = r#"{"message":"hi"}"#)]
    arguments: String,
    /// Client sessions, each its own connection (a process for stdio).
    #[arg(long, default_value_t = 64)]
    sessions: usize,
    /// How long the sessions call, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// How long one call may take before it counts as an error.
    #[arg(long, default_value_t = 10)]
    call_timeout_seconds: u64,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
pub struct BackendStartArgs {
    /// How many servers.
    #[arg(long, default_value_t = 15)]
    n: usize,
    /// The stdio server's command and arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One thread: the client should cost the same, and as little, for
    // every contender; on a 2-core machine a second client thread would
    // compete with the proxy and the backend it measures.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async move {
        match cli.command {
            None => quick::run().await,
            Some(Command::Calls(args)) => {
                let target = args.target.target()?;
                calls::run(
                    &args.label,
                    &target,
                    &calls::Plan {
                        tool: args.tool,
                        arguments: serde_json::from_str(&args.arguments)?,
                        warmup: args.warmup,
                        calls: args.calls,
                        concurrency: args.concurrency,
                        throughput_calls: args.throughput_calls,
                        phase: Duration::from_secs(args.phase_seconds),
                        call_timeout: Duration::from_secs(args.call_timeout_seconds),
                        wait_tool: Duration::from_secs(args.wait_tool_seconds),
                    },
                )
                .await
            }
            Some(Command::Sessions(args)) => {
                let target = args.target.target()?;
                sessions::run(
                    &args.label,
                    &target,
                    &sessions::Plan {
                        tool: args.tool,
                        arguments: serde_json::from_str(&args.arguments)?,
                        sessions: args.sessions.max(1),
                        duration: Duration::from_secs(args.seconds),
                        call_timeout: Duration::from_secs(args.call_timeout_seconds),
                    },
                )
                .await
            }
            Some(Command::BackendStart(args)) => calls::backend_start(&args.command, args.n).await,
            Some(Command::Startup(args)) => startup::run(&args).await,
        }
    })?;
    println!("{report}");
    Ok(())
}
