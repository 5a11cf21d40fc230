//! McpService's parts: turning a connector definition into a server config,
//! launching the server (native command or container), speaking MCP to it
//! with `rmcp`, and supervising it until it is stopped or dies.
//!
//! The connector core owns every [`RunningServer`]; dropping one stops its
//! server, process group and container.

pub mod auth;
mod call;
mod cgroup;
mod client_tasks;
mod config;
mod container_events;
mod engine;
mod handler;
mod http_error;
mod inherit;
mod launcher;
pub(crate) mod log;
mod orphans;
mod process;
mod remote;
mod revision;
mod sandbox;
mod server;
mod sse;
mod supervisor;
mod tasks;
pub mod upstream;

pub use call::{bounded, CallError, ProgressSender};
pub use config::{plan_launch, FieldValues, LaunchKind, LaunchPlan, ServerConfig};
pub use container_events::{follow as follow_container_events, ContainerDeath};
pub use engine::{find_program, ContainerEngine, ENGINE_ENV};
pub use inherit::{default_cwd, INHERITED_ENV_VARS};
pub use orphans::{
    reap_processes as reap_orphan_processes, remove_containers as remove_orphan_containers,
};

/// Names the container engine that would be used, if one works.
pub async fn engine_probe() -> Option<String> {
    ContainerEngine::detect()
        .await
        .map(|e| e.program.display().to_string())
}
pub use handler::{LogMessage, ServerEvent};
pub use log::ServerLog;
pub use remote::{
    connect_remote, connect_remote_signed, scope_challenge, RemoteError, RemoteTransport,
};
pub use server::{start_server, RunningServer, Spawned, StartOptions, ToolCaller};
/// Whether a program's memory, CPU and process limits are kept here
/// (`doctor`), in words.
pub fn program_limits() -> String {
    cgroup::check()
}

pub use supervisor::{out_of_memory as out_of_memory_reason, Health, HealthPolicy};
pub use tasks::{request as task_request, RELATED_TASK};
