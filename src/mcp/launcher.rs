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
use crate::egress::forward::PROXY_PORT;
use crate::egress::{Allowed, EgressProxy, Inside};
use crate::error::{Error, Result};

/// What identifies a launch: the connector and the data dir it belongs to.
pub struct LaunchContext<'a> {
    pub connector: &'a str,
    /// Unique per start, so container names never collide.
    pub generation: u64,
    pub home: &'a Path,
    pub engine: Option<&'a ContainerEngine>,
    /// Where the egress proxy notes what it refused (the server's log).
    pub notes: crate::egress::Notes,
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
    /// The proxy its namespace's one way out leads to, for a policy that
    /// allows only some hosts.
    pub(super) egress: Option<EgressProxy>,
    /// The forwarder whose network namespace a container joins.
    pub(super) helper: Option<tokio::process::Child>,
    /// A program's control groups (a container's engine makes its own).
    pub(super) limits: Option<super::cgroup::Limits>,
}

/// The launcher for `plan`'s kind.
pub(super) async fn launch_command(plan: &LaunchPlan, ctx: &LaunchContext<'_>) -> Result<Launch> {
    match &plan.kind {
        LaunchKind::Native => native(plan, ctx),
        LaunchKind::Container { image, mounts } => container(image, mounts, plan, ctx).await,
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
    let mut egress = egress_proxy(&plan.policy, ctx)?;
    let mut cmd = if plan.policy.sandboxed() {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let private = ctx.home.join("sandbox").join(ctx.connector);
        let homes = home.as_deref().map(|home| (home, private.as_path()));
        let way_out = match egress.as_mut() {
            Some((proxy, inside)) => {
                let hosts = proxy
                    .write_hosts(&inside.hosts_file())
                    .map_err(|e| Error::file("write", proxy.socket().with_extension("hosts"), e))?;
                Some(super::sandbox::Egress {
                    socket: proxy.socket().to_path_buf(),
                    hosts,
                    forwards: inside.forwards.clone(),
                })
            }
            None => None,
        };
        super::sandbox::command(ctx.connector, &program, plan, &cwd, homes, way_out)?
    } else if egress.is_some() {
        // The policy's check refuses this; never run it with the network open.
        return Err(Error::InvalidInput(format!(
            "`{}` may reach only some hosts, which needs the sandbox: run \
             `switchboard policy {} --sandbox on`",
            ctx.connector, ctx.connector
        )));
    } else {
        Command::new(&program)
    };
    cmd.env_clear().envs(super::inherit::inherited_env());
    if egress.is_some() {
        cmd.envs(crate::egress::proxy_env(PROXY_PORT));
    }
    cmd.current_dir(cwd);
    let limits = match super::cgroup::Limits::create(&group_name(ctx.connector), &plan.policy) {
        Ok(limits) => Some(limits),
        Err(why) => {
            (ctx.notes)(&format!(
                "switchboard: its memory, CPU and process limits are not kept: {why}"
            ));
            None
        }
    };
    Ok(Launch {
        cmd,
        container: None,
        program,
        egress: egress.map(|(proxy, _)| proxy),
        helper: None,
        limits,
    })
}

/// A control group's name for one spawn: `CONNECTOR-PID-N`, the service's
/// pid (a later service removes the groups of one that is gone) and a
/// count of spawns, as a start retried in another revision spawns again
/// while the last spawn's group is still being removed.
fn group_name(connector: &str) -> String {
    static SPAWNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SPAWNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{connector}-{}-{n}", std::process::id())
}

/// For a policy that allows only some hosts: the proxy that admits them,
/// listening for this start of the connector, and what the forwarder in
/// the namespace does for them.
fn egress_proxy(policy: &Policy, ctx: &LaunchContext<'_>) -> Result<Option<(EgressProxy, Inside)>> {
    let Network::Hosts(hosts) = policy.network() else {
        return Ok(None);
    };
    let allowed = Allowed::new(hosts);
    let inside = allowed.inside();
    let socket = ctx
        .home
        .join("egress")
        .join(format!("{}-{}.sock", ctx.connector, ctx.generation));
    let proxy = EgressProxy::start(ctx.connector, allowed, socket.clone(), ctx.notes.clone())
        .map_err(|e| Error::file("listen on", &socket, e))?;
    Ok(Some((proxy, inside)))
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
    // A list of hosts: the forwarder's namespace, added by `container`.
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
/// be found; the container sees only the plan's variables, by name. For a
/// policy that allows only some hosts, the container joins the network
/// namespace of a forwarder to the egress proxy (Podman's `ns:` network).
async fn container(
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
    // A parent group of ours, whose memory tells a death at the limit.
    let limits =
        match super::cgroup::Limits::container_parent(&group_name(ctx.connector), &plan.policy) {
            Ok((limits, parent)) => {
                cmd.args(["--cgroup-parent", &parent]);
                Some(limits)
            }
            Err(why) => {
                tracing::debug!(connector = ctx.connector, "no parent group of ours: {why}");
                None
            }
        };
    let egress = egress_proxy(&plan.policy, ctx)?;
    let mut helper = None;
    if let Some((proxy, inside)) = &egress {
        let (child, pid) = namespace_helper(ctx.connector, proxy.socket(), inside).await?;
        helper = Some(child);
        cmd.args(["--network", &format!("ns:/proc/{pid}/ns/net")]);
        for (name, ip) in &inside.names {
            cmd.args(["--add-host", &format!("{name}:{ip}")]);
        }
        for (name, value) in crate::egress::proxy_env(PROXY_PORT) {
            cmd.args(["-e", &format!("{name}={value}")]);
        }
    }
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
        egress: egress.map(|(proxy, _)| proxy),
        helper,
        limits,
    })
}

/// How long the forwarder beside a container may take to listen.
const HELPER_READY: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts a forwarder to `socket` in a network namespace of its own (made
/// by bubblewrap), for a container to join; returns it and its process id
/// once it listens.
async fn namespace_helper(
    connector: &str,
    socket: &Path,
    inside: &Inside,
) -> Result<(tokio::process::Child, u32)> {
    use tokio::io::AsyncBufReadExt;
    let unavailable = |why: String| Error::SandboxUnavailable {
        message: format!(
            "`{connector}` may reach only some hosts, through a network namespace that \
             bubblewrap makes, but {why}: install bubblewrap (Debian: `apt install bubblewrap`), \
             or let it reach everything with `switchboard policy {connector} --network open`"
        ),
    };
    let bwrap = super::find_program("bwrap")
        .ok_or_else(|| unavailable("bubblewrap (`bwrap`) is not installed".into()))?;
    let exe = super::sandbox::own_program()?;
    let mut cmd = Command::new(bwrap);
    // Its one capability: to listen on a listed name's port below 1024.
    cmd.args(["--die-with-parent", "--unshare-net", "--cap-drop", "ALL"])
        .args(["--cap-add", "CAP_NET_BIND_SERVICE"])
        .args(["--dev-bind", "/", "/", "--"])
        .arg(exe)
        .args(["egress-forward", "--socket"])
        .arg(socket);
    for forward in &inside.forwards {
        cmd.arg("--forward").arg(forward);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe; it asks the kernel to kill the
    // forwarder if the service dies (its bubblewrap child dies with it).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| unavailable(format!("it could not start ({e})")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Internal("the forwarder has no output".into()))?;
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(stdout);
    let read = tokio::time::timeout(HELPER_READY, reader.read_line(&mut line)).await;
    let pid = line
        .strip_prefix("ready ")
        .and_then(|pid| pid.trim().parse::<u32>().ok());
    match (read, pid) {
        (Ok(Ok(_)), Some(pid)) => Ok((child, pid)),
        _ => Err(unavailable(
            "its network namespace did not start (are unprivileged namespaces turned off?)".into(),
        )),
    }
}
