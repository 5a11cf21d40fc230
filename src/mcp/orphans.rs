//! Finding what a crashed service left behind, so no process or container
//! of ours outlives the next start-up.
//!
//! Every process we spawn carries `SWITCHBOARD_OWNER=<service pid>@<data
//! dir>` in its environment, which its children inherit (npx's node, a
//! shell's grandchildren); every container carries labels naming the data
//! dir and the service pid. A fresh service that holds the data dir's lock
//! knows any other owner pid is dead, so what carries it is an orphan.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::engine::ContainerEngine;

/// The environment variable that marks our processes.
pub const OWNER_ENV: &str = "SWITCHBOARD_OWNER";
/// Label naming the service process that started a container.
pub const SERVICE_LABEL: &str = "switchboard.service";

/// How long listing containers may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(15);

/// The owner tag for processes this service starts.
pub fn owner_tag(home: &Path) -> String {
    format!("{}@{}", std::process::id(), home.display())
}

/// Kills every process marked as started by an earlier service of this
/// data dir. Returns how many were killed.
pub fn reap_processes(home: &Path) -> usize {
    let suffix = format!("@{}", home.display());
    let ours = owner_tag(home);
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let tag = environ
            .split(|b| *b == 0)
            .filter_map(|var| std::str::from_utf8(var).ok())
            .find_map(|var| {
                var.strip_prefix(OWNER_ENV)
                    .and_then(|r| r.strip_prefix('='))
            });
        if let Some(tag) = tag {
            if tag.ends_with(&suffix) && tag != ours {
                // SAFETY: kill only sends a signal to a process we verified
                // carries our data dir's owner mark.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                killed += 1;
            }
        }
    }
    if killed > 0 {
        tracing::warn!(killed, "killed processes left behind by an earlier service");
    }
    killed
}

/// Removes every container labelled with this data dir but started by
/// another (dead) service. Returns the names removed.
pub async fn remove_containers(engine: &ContainerEngine, home: &Path) -> Vec<String> {
    let listing = tokio::process::Command::new(&engine.program)
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label={}={}", super::process::HOME_LABEL, home.display()),
            "--format",
            &format!("{{{{.Names}}}}\t{{{{index .Labels \"{SERVICE_LABEL}\"}}}}"),
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let Ok(Ok(output)) = tokio::time::timeout(LIST_TIMEOUT, listing).await else {
        return Vec::new();
    };
    let me = std::process::id().to_string();
    let stale: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, service)| service.trim() != me)
        .map(|(name, _)| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect();
    for name in &stale {
        engine.remove(name).await;
    }
    if !stale.is_empty() {
        tracing::warn!(containers = ?stale, "removed containers left behind by an earlier service");
    }
    stale
}
