//! How a local server's process is made, one function per launcher: a
//! native command (a cleared environment, its working directory) or a
//! container (`docker run` with our labels and limits). A remote server has
//! no process; `start_server` connects to it instead. This is the one place
//! that turns a plan's [`LaunchKind`] into a command to spawn.

use std::path::Path;

use tokio::process::Command;

use super::config::{LaunchKind, LaunchPlan};
use super::engine::ContainerEngine;
use super::orphans::{HOME_LABEL, SERVICE_LABEL};
use crate::catalog::DEFAULT_PIDS;
use crate::catalog::{Network, Policy};
use crate::error::{Error, Result};

/// What identifies a launch: the connector and the data dir it belongs to.
pub struct LaunchContext<'a> {
    pub connector: &'a str,
    /// Unique per start, so container names never collide.
    pub generation: u64,
    pub home: &'a Path,
    pub engine: Option<&'a ContainerEngine>,
}

/// A container we started, so we can remove it.
#[derive(Debug)]
pub(super) struct ContainerRef {
    pub(super) engine: ContainerEngine,
    pub(super) name: String,
}

/// Label on every container we start, naming its connector.
pub const CONNECTOR_LABEL: &str = "switchboard.connector";

/// The command that starts a server, before the plan's arguments and
/// environment are added; and what to clean up after it.
pub(super) struct Launch {
    pub(super) cmd: Command,
    /// The container it runs in, to remove when it ends.
    pub(super) container: Option<ContainerRef>,
    /// The program, as errors name it.
    pub(super) program: String,
}

/// The launcher for `plan`'s kind.
pub(super) fn launch_command(plan: &LaunchPlan, ctx: &LaunchContext<'_>) -> Result<Launch> {
    match &plan.kind {
        LaunchKind::Native => native(plan, ctx),
        LaunchKind::Container { image, mounts } => container(image, mounts, plan, ctx),
        LaunchKind::Remote { .. } => Err(Error::Internal(
            "a remote server has no process to spawn".into(),
        )),
    }
}

/// A program on this machine, with a cleared environment (only the few
/// variables of `inherit.rs`; the plan's are added by the caller) in the
/// plan's working directory.
fn native(plan: &LaunchPlan, ctx: &LaunchContext<'_>) -> Result<Launch> {
    let program = plan
        .config
        .command
        .clone()
        .ok_or_else(|| Error::Internal("a native server has no command to run".into()))?;
    let cwd = plan.cwd.clone().unwrap_or_else(super::default_cwd);
    if !cwd.is_dir() {
        // Else the spawn fails as if the program were missing.
        return Err(Error::InvalidInput(format!(
            "`{}` runs in {}, which is not a directory: create it, or add the \
             connector again with `--cwd DIR`",
            ctx.connector,
            cwd.display()
        )));
    }
    let mut cmd = if plan.policy.sandboxed() {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let private = ctx.home.join("sandbox").join(ctx.connector);
        let homes = home.as_deref().map(|home| (home, private.as_path()));
        super::sandbox::command(ctx.connector, &program, plan, &cwd, homes)?
    } else {
        Command::new(&program)
    };
    cmd.env_clear().envs(super::inherit::inherited_env());
    cmd.current_dir(cwd);
    Ok(Launch {
        cmd,
        container: None,
        program,
    })
}

/// The `docker run` flags of a policy: no capabilities, a read-only root
/// with a private `/tmp`, memory, CPU and process limits, and no network
/// where the policy allows none (a container's loopback is its own).
fn limits(policy: &Policy) -> Vec<String> {
    let mut flags: Vec<String> = [
        "--cap-drop",
        "ALL",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,nosuid,nodev,size=64m",
        "--pids-limit",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    flags.push(DEFAULT_PIDS.to_string());
    flags.extend(["--memory".to_string(), policy.memory().to_string()]);
    flags.extend(["--cpus".to_string(), policy.cpus().to_string()]);
    if matches!(policy.network(), Network::None | Network::Loopback) {
        flags.extend(["--network".to_string(), "none".to_string()]);
    }
    for (path, mode) in policy
        .read
        .iter()
        .map(|p| (p, ",readonly"))
        .chain(policy.write.iter().map(|p| (p, "")))
    {
        flags.push("--mount".into());
        flags.push(format!("type=bind,source={path},target={path}{mode}"));
    }
    flags
}

/// `docker run -i --rm --init IMAGE` (or Podman's), labelled with its
/// connector, data dir and service so a crashed service's containers can
/// be found; the container sees only the plan's variables, by name.
fn container(
    image: &str,
    mounts: &[String],
    plan: &LaunchPlan,
    ctx: &LaunchContext<'_>,
) -> Result<Launch> {
    let engine = ctx.engine.ok_or(Error::NoContainerEngine)?;
    let name = format!(
        "switchboard-{}-{}-{}",
        ctx.connector,
        std::process::id(),
        ctx.generation
    );
    let mut cmd = Command::new(&engine.program);
    cmd.args(["run", "-i", "--rm", "--init"])
        .args(["--name", &name])
        .args(["--label", &format!("{CONNECTOR_LABEL}={}", ctx.connector)])
        .args(["--label", &format!("{HOME_LABEL}={}", ctx.home.display())])
        .args([
            "--label",
            &format!("{SERVICE_LABEL}={}", std::process::id()),
        ])
        .args(["--security-opt", "no-new-privileges"])
        .args(limits(&plan.policy));
    for mount in mounts {
        cmd.args(["--mount", mount]);
    }
    for key in plan.env.keys() {
        cmd.args(["-e", key]);
    }
    // `--` is not accepted by every engine before the image, so the image
    // name itself is validated to not start with '-'.
    cmd.arg(image);
    Ok(Launch {
        cmd,
        container: Some(ContainerRef {
            engine: engine.clone(),
            name,
        }),
        program: engine.program.display().to_string(),
    })
}
