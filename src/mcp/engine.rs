//! Finding the container engine: Docker, or Podman (directly or through its
//! `docker` shim), and the few engine commands we run besides `run`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// Names the engine to use instead of detecting one (`docker`, `podman`, or a path).
pub const ENGINE_ENV: &str = "SWITCHBOARD_CONTAINER_ENGINE";

/// How long `engine version` may take before we call the engine unusable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A container engine that answered `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEngine {
    /// The engine's program.
    pub program: PathBuf,
}

impl ContainerEngine {
    /// Finds a working engine: the one named by `SWITCHBOARD_CONTAINER_ENGINE`,
    /// else `docker` if it answers, else `podman`.
    pub async fn detect() -> Option<ContainerEngine> {
        let candidates: Vec<String> = match std::env::var(ENGINE_ENV) {
            Ok(name) if !name.is_empty() => vec![name],
            _ => vec!["docker".into(), "podman".into()],
        };
        for name in candidates {
            let Some(program) = find_program(&name) else {
                continue;
            };
            if probe(&program).await {
                return Some(ContainerEngine { program });
            }
        }
        None
    }

    /// `rm` arguments that remove a container at once. The docker CLI's
    /// `rm -f` kills at once but has no `-t`; Podman's waits for the stop
    /// timeout unless given `-t 0`.
    fn remove_args<'a>(&self, container: &'a str) -> Vec<&'a str> {
        let podman = self
            .program
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("podman"));
        if podman {
            vec!["rm", "-f", "-t", "0", container]
        } else {
            vec!["rm", "-f", container]
        }
    }

    /// Removes a container by name, whatever state it is in. Used when a
    /// server stops: killing the `docker run` client alone can leave the
    /// container running.
    pub fn remove_detached(&self, container: &str) {
        let spawned = std::process::Command::new(&self.program)
            .args(self.remove_args(container))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = spawned {
            // Reap it off the caller's thread so no zombie is left behind.
            std::thread::spawn(move || child.wait());
        }
    }

    /// What `ENGINE ARGS` printed, if it ran within `deadline` (its exit
    /// status aside: `inspect` fails when one of several containers is gone
    /// but still prints the others).
    pub async fn output(&self, args: &[&str], deadline: Duration) -> Option<String> {
        let run = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(deadline, run).await {
            Ok(Ok(output)) => Some(String::from_utf8_lossy(&output.stdout).into_owned()),
            _ => None,
        }
    }

    /// Removes a container and waits for the engine to confirm.
    pub async fn remove(&self, container: &str) {
        let status = Command::new(&self.program)
            .args(self.remove_args(container))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if tokio::time::timeout(PROBE_TIMEOUT, status).await.is_err() {
            tracing::warn!(
                container,
                "container engine did not remove the container in time"
            );
        }
    }
}

async fn probe(program: &Path) -> bool {
    let status = Command::new(program)
        .args(["version", "--format", "{{.Client.Version}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, status).await,
        Ok(Ok(s)) if s.success()
    )
}

/// Looks a program up on `PATH` (or checks a path given with a slash).
pub fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if name.contains('/') {
        let path = PathBuf::from(name);
        return is_exec(&path).then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_exec(candidate))
}
