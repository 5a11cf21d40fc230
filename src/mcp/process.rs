//! Launching a server's process — a native command or `docker run` — in its
//! own process group, and making sure it never outlives its owner.
//!
//! [`ServerProcess`] owns the child. Dropping it kills the whole process
//! group (so `npx`'s grandchildren go too) and removes the container.
//!
//! A native server starts with a cleared environment: only the few
//! variables of `inherit.rs`, plus the plan's own, in the plan's working
//! directory. The container engine keeps the service's environment (it may
//! need `DOCKER_HOST` and the like), but the container gets only the plan's
//! variables, each named with `-e NAME`.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

use super::config::LaunchPlan;
use super::launcher::{launch_command, ContainerRef, Launch, LaunchContext};
use crate::error::{Error, Result};

/// A running server process; the pipes are handed out at spawn.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// The process group we made the child lead; signalled as a whole.
    pgid: Option<i32>,
    container: Option<ContainerRef>,
    exited: bool,
    /// The egress proxy and the forwarder beside a container, for a policy
    /// that allows only some hosts; they go when the server goes.
    egress: Option<crate::egress::EgressProxy>,
    helper: Option<tokio::process::Child>,
    /// A program's control groups, or a container's parent group; they
    /// also tell a death by memory.
    limits: Option<std::sync::Arc<super::cgroup::Limits>>,
}

/// Tells whether a server died of its memory limit, after it died.
#[derive(Debug, Clone, Default)]
pub struct MemoryWatch {
    limits: Option<std::sync::Arc<super::cgroup::Limits>>,
    container: bool,
}

impl MemoryWatch {
    /// When the kernel killed it for memory: its limit in words ("512
    /// MB"). `code` is how it ended: a container killed at its limit ends
    /// with 137, and its memory reached the limit.
    pub fn out_of_memory(&self, code: Option<i32>) -> Option<String> {
        let limits = self.limits.as_ref()?;
        let killed = !self.container || code == Some(137);
        (killed && limits.out_of_memory()).then(|| limits.memory_words())
    }
}

/// The pipes of a freshly spawned server.
pub struct Pipes {
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
}

impl ServerProcess {
    /// Starts the process described by `plan`.
    pub async fn spawn(
        plan: &LaunchPlan,
        ctx: &LaunchContext<'_>,
    ) -> Result<(ServerProcess, Pipes)> {
        let Launch {
            mut cmd,
            container,
            program,
            egress,
            helper,
            mut limits,
        } = launch_command(plan, ctx).await?;
        cmd.args(&plan.args)
            .envs(&plan.env)
            .env(
                super::orphans::OWNER_ENV,
                super::orphans::owner_tag(ctx.home),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours;
        // it asks the kernel to kill the child if the service dies, so a
        // crashed service leaves no server behind.
        // The control groups are joined before the program runs, so
        // nothing it starts is outside them.
        let groups = limits
            .as_ref()
            .map(super::cgroup::Limits::procs_fds)
            .unwrap_or_default();
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                super::cgroup::join_now(&groups)
            });
        }
        let spawned = cmd.spawn();
        if let Some(limits) = limits.as_mut() {
            limits.joined();
        }
        let mut child = spawned.map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                if container.is_some() {
                    Error::NoContainerEngine
                } else {
                    Error::CommandNotFound { command: program }
                }
            } else {
                Error::Spawn {
                    command: program,
                    source,
                }
            }
        })?;
        let pipes = match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
            (Some(stdin), Some(stdout), Some(stderr)) => Pipes {
                stdin,
                stdout,
                stderr,
            },
            _ => return Err(Error::Internal("child pipes were not created".into())),
        };
        let pgid = child.id().and_then(|pid| i32::try_from(pid).ok());
        Ok((
            ServerProcess {
                child,
                pgid,
                container,
                exited: false,
                egress,
                helper,
                limits: limits.map(std::sync::Arc::new),
            },
            pipes,
        ))
    }

    /// The process id of the server (or of the `docker run` client).
    pub fn pid(&self) -> Option<u32> {
        self.pgid.and_then(|p| u32::try_from(p).ok())
    }

    /// Its control groups, which tell whether it died of its memory limit
    /// (`MemoryWatch::out_of_memory`).
    pub fn memory_watch(&self) -> MemoryWatch {
        MemoryWatch {
            limits: self.limits.clone(),
            container: self.container.is_some(),
        }
    }

    /// The container's name, for container-backed servers.
    pub fn container(&self) -> Option<&str> {
        self.container.as_ref().map(|c| c.name.as_str())
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await;
        if status.is_ok() {
            self.exited = true;
        }
        status
    }

    /// Stops the server: waits `grace` for it to exit on its own (its stdin
    /// is already closed), then SIGTERM to the group, then SIGKILL; removes
    /// the container.
    pub async fn stop(&mut self, grace: Duration) {
        if !self.exited && tokio::time::timeout(grace, self.wait()).await.is_err() {
            self.signal_group(libc::SIGTERM);
            if tokio::time::timeout(grace, self.wait()).await.is_err() {
                self.signal_group(libc::SIGKILL);
                let _ = self.wait().await;
            }
        }
        // The group may hold grandchildren that outlived their parent.
        self.signal_group(libc::SIGKILL);
        if let Some(container) = self.container.take() {
            container.engine.remove(&container.name).await;
        }
        if let Some(mut helper) = self.helper.take() {
            let _ = helper.kill().await;
        }
        self.egress = None;
    }

    fn signal_group(&self, signal: i32) {
        if let Some(pgid) = self.pgid {
            // SAFETY: killpg only sends a signal; a stale group id fails with
            // ESRCH, which we ignore.
            unsafe {
                libc::killpg(pgid, signal);
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.signal_group(libc::SIGKILL);
        if let Some(container) = self.container.take() {
            container.engine.remove_detached(&container.name);
        }
    }
}

/// How a process ended, for a person ("with code 3", "after signal 9 (SIGKILL: …)").
pub(super) fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("with code {code}"),
        (None, Some(signal)) => format!("after signal {signal}{}", signal_name(signal)),
        _ => "for an unknown reason".into(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => " (SIGKILL: killed from outside or out of memory)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGSEGV => " (SIGSEGV: the server crashed)",
        libc::SIGINT => " (SIGINT)",
        _ => "",
    }
}
