//! Following the container engine's event stream (`docker events`, which
//! Podman answers too), so a container stopped or killed from outside is
//! noticed at once rather than at the next ping.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::engine::ContainerEngine;
use super::orphans::HOME_LABEL;

/// A container of ours that died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDeath {
    /// The container's name.
    pub name: String,
    /// Its exit code, when the engine said.
    pub exit_code: Option<i32>,
}

/// Starts `engine events` for this data dir's containers and forwards each
/// `die` to `tx`. The engine process dies with the returned task's owner
/// (kill on drop) and with the service (parent-death signal).
pub fn follow(
    engine: &ContainerEngine,
    home: &Path,
    tx: mpsc::UnboundedSender<ContainerDeath>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let mut cmd = tokio::process::Command::new(&engine.program);
    cmd.args([
        "events",
        "--filter",
        &format!("label={HOME_LABEL}={}", home.display()),
        "--format",
        "{{json .}}",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe; it ties the follower's life to
    // the service's.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout from the events follower"))?;
    Ok(tokio::spawn(async move {
        let _child = child;
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(death) = parse_death(&line) {
                if tx.send(death).is_err() {
                    break;
                }
            }
        }
    }))
}

/// Reads a `die` event in Docker's shape (`Action`, `Actor.Attributes`) or
/// Podman's own (`Status: died`, `Name`).
pub fn parse_death(line: &str) -> Option<ContainerDeath> {
    let event: Value = serde_json::from_str(line).ok()?;
    let action = event
        .get("Action")
        .or_else(|| event.get("Status"))
        .and_then(Value::as_str)?;
    if action != "die" && action != "died" {
        return None;
    }
    let attributes = event.pointer("/Actor/Attributes");
    let name = attributes
        .and_then(|a| a.get("name"))
        .or_else(|| event.get("Name"))
        .and_then(Value::as_str)?
        .to_string();
    let exit_code = attributes
        .and_then(|a| a.get("exitCode"))
        .or_else(|| event.get("ContainerExitCode"))
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|v| i32::try_from(v).ok());
    Some(ContainerDeath { name, exit_code })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_and_podman_shapes_are_read() {
        let docker = r#"{"status":"die","Type":"container","Action":"die","Actor":{"ID":"x","Attributes":{"exitCode":"137","name":"switchboard-a-1-2"}}}"#;
        assert_eq!(
            parse_death(docker),
            Some(ContainerDeath {
                name: "switchboard-a-1-2".into(),
                exit_code: Some(137)
            })
        );
        let podman = r#"{"Name":"switchboard-b-1-3","Status":"died","ContainerExitCode":1,"Type":"container"}"#;
        assert_eq!(
            parse_death(podman),
            Some(ContainerDeath {
                name: "switchboard-b-1-3".into(),
                exit_code: Some(1)
            })
        );
        let start = r#"{"Action":"start","Actor":{"Attributes":{"name":"x"}}}"#;
        assert_eq!(parse_death(start), None);
        assert_eq!(parse_death("not json"), None);
    }
}
