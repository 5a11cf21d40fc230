//! Finding what a crashed service left behind, so no process or container
//! of ours outlives the next start-up.
//!
//! Every process we spawn carries `SWITCHBOARD_OWNER=<service pid>@<data
//! dir>` in its environment, which its children inherit (npx's node, a
//! shell's grandchildren); every container carries labels naming the data
//! dir and the service pid. A fresh service that holds the data dir's lock
//! knows any other owner pid is dead, so what carries it is an orphan.

use std::path::Path;
use std::time::Duration;

use super::engine::ContainerEngine;

/// The environment variable that marks our processes.
pub const OWNER_ENV: &str = "SWITCHBOARD_OWNER";
/// Label naming the service process that started a container.
pub const SERVICE_LABEL: &str = "switchboard.service";
/// Label naming the data directory of the service that started a container.
pub const HOME_LABEL: &str = "switchboard.home";

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
/// another (dead) service. Returns the ids of those removed.
pub async fn remove_containers(engine: &ContainerEngine, home: &Path) -> Vec<String> {
    // `ps --format` cannot read one label in a way both the docker CLI
    // (labels as one string) and Podman (a map) accept; `inspect` can
    // (`.Config.Labels` is a map in both). Full ids tie the two answers.
    let home_filter = format!("label={}={}", HOME_LABEL, home.display());
    let listing = [
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        &home_filter,
        "--format",
        "{{.ID}}",
    ];
    let Some(ids) = engine.output(&listing, LIST_TIMEOUT).await else {
        return Vec::new();
    };
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let format = format!("{{{{.Id}}}}\t{{{{index .Config.Labels \"{SERVICE_LABEL}\"}}}}");
    let mut args = vec!["inspect", "--format", format.as_str()];
    args.extend(ids.iter().copied());
    // A container gone between the two calls makes inspect fail for it
    // alone; the others are still printed.
    let owners = engine.output(&args, LIST_TIMEOUT).await.unwrap_or_default();
    let me = std::process::id().to_string();
    let stale: Vec<String> = owners
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, service)| service.trim() != me)
        .map(|(id, _)| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .collect();
    for name in &stale {
        engine.remove(name).await;
    }
    if !stale.is_empty() {
        tracing::warn!(containers = ?stale, "removed containers left behind by an earlier service");
    }
    stale
}
