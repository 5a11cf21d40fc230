//! Memory, CPU and process limits for a program on this machine, kept by
//! the kernel's control groups as Podman keeps a container's: a group of
//! its own per start, under the service's own, that the program joins
//! before it runs (so nothing it starts escapes), removed when it ends.
//! Version 1 hierarchies (one per controller) and the unified version 2
//! are both read; where neither can be written, the limits are not kept
//! and the connector says so.
//!
//! The group also tells how the program ended: the kernel counts the
//! processes it killed for memory (`oom_kill`), so a death by the limit is
//! reported as one.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::catalog::{memory_bytes, Policy, DEFAULT_PIDS};

const ROOT: &str = "/sys/fs/cgroup";
/// The CPU bandwidth period, in microseconds (the kernel's default).
const PERIOD_US: u64 = 100_000;

/// A start's control groups: one per hierarchy on version 1, one on 2.
#[derive(Debug)]
pub struct Limits {
    /// Every directory made, to remove at the end.
    dirs: Vec<PathBuf>,
    /// Where the memory controller counts its kills.
    memory: Option<Counter>,
    /// Each group's `cgroup.procs`, opened for the child to join.
    procs: Vec<std::fs::File>,
    /// The memory limit, in bytes.
    limit: u64,
}

#[derive(Debug)]
struct Counter {
    file: PathBuf,
    /// `memory.oom_control` (version 1) or `memory.events` (version 2).
    key: &'static str,
}

impl Limits {
    /// Makes the groups of `name` with `policy`'s limits. `Err` says why
    /// the limits cannot be kept here.
    pub fn create(name: &str, policy: &Policy) -> Result<Limits, String> {
        let limit = memory_bytes(policy.memory()).unwrap_or(512 * 1024 * 1024);
        let quota = (policy.cpus() * PERIOD_US as f64).round().max(1000.0) as u64;
        let mut limits = Limits {
            dirs: Vec::new(),
            memory: None,
            procs: Vec::new(),
            limit,
        };
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup ({e})"))?;
        if Path::new(ROOT).join("cgroup.controllers").exists() {
            let path = own
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .ok_or("no version 2 group of its own")?;
            let dir = under(Path::new(ROOT), path, name);
            limits.make(&dir)?;
            let cpu = format!("{quota} {PERIOD_US}");
            for (file, value) in [
                ("memory.max", limit.to_string()),
                ("memory.swap.max", "0".to_string()),
                ("cpu.max", cpu),
                ("pids.max", DEFAULT_PIDS.to_string()),
            ] {
                // memory.swap.max is missing without swap accounting.
                if file != "memory.swap.max" || dir.join(file).exists() {
                    write(&dir, file, &value)?;
                }
            }
            limits.memory = Some(Counter {
                file: dir.join("memory.events"),
                key: "oom_kill",
            });
            return limits.join(&dir).map(|()| limits);
        }
        let groups = [
            (
                "memory",
                &[("memory.limit_in_bytes", limit.to_string())][..],
            ),
            (
                "cpu",
                &[
                    ("cpu.cfs_period_us", PERIOD_US.to_string()),
                    ("cpu.cfs_quota_us", quota.to_string()),
                ][..],
            ),
            ("pids", &[("pids.max", DEFAULT_PIDS.to_string())][..]),
        ];
        for (controller, settings) in groups {
            let path = own
                .lines()
                .filter_map(|l| l.split_once(':').map(|(_, rest)| rest))
                .filter_map(|rest| rest.split_once(':'))
                .find(|(list, _)| list.split(',').any(|c| c == controller))
                .map(|(_, path)| path)
                .ok_or_else(|| format!("no {controller} controller"))?;
            let dir = under(&Path::new(ROOT).join(controller), path, name);
            limits.make(&dir)?;
            for (file, value) in settings {
                write(&dir, file, value)?;
            }
            if controller == "memory" {
                // Without this, swap would stretch the limit.
                let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), limit.to_string());
                limits.memory = Some(Counter {
                    file: dir.join("memory.oom_control"),
                    key: "oom_kill",
                });
            }
            limits.join(&dir)?;
        }
        Ok(limits)
    }

    fn make(&mut self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {} ({e})", dir.display()))?;
        self.dirs.push(dir.to_path_buf());
        Ok(())
    }

    fn join(&mut self, dir: &Path) -> Result<(), String> {
        let procs = dir.join("cgroup.procs");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&procs)
            .map_err(|e| format!("cannot open {} ({e})", procs.display()))?;
        self.procs.push(file);
        Ok(())
    }

    /// The open `cgroup.procs` files, for the child to write itself into
    /// between fork and exec.
    pub fn procs_fds(&self) -> Vec<i32> {
        self.procs.iter().map(|f| f.as_raw_fd()).collect()
    }

    /// Closes the files the child needed (they must not linger).
    pub fn joined(&mut self) {
        self.procs.clear();
    }

    /// Whether the kernel killed a process of the group for memory.
    pub fn out_of_memory(&self) -> bool {
        let Some(counter) = &self.memory else {
            return false;
        };
        let text = std::fs::read_to_string(&counter.file).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.strip_prefix(counter.key))
            .any(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0))
    }

    /// The memory limit in words ("512 MB").
    pub fn memory_words(&self) -> String {
        format!("{} MB", self.limit / (1024 * 1024))
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        // The group empties as its killed processes exit, which may take a
        // moment after ours has been reaped; a thread waits for it.
        let dirs = std::mem::take(&mut self.dirs);
        std::thread::spawn(move || {
            for _ in 0..100 {
                let left: Vec<&PathBuf> = dirs.iter().filter(|d| d.exists()).collect();
                if left.is_empty() {
                    return;
                }
                for dir in left {
                    let _ = std::fs::remove_dir(dir);
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
    }
}

/// `ROOT/own/switchboard-NAME`.
fn under(root: &Path, own: &str, name: &str) -> PathBuf {
    root.join(own.trim_start_matches('/'))
        .join(format!("switchboard-{name}"))
}

fn write(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    std::fs::write(dir.join(file), value)
        .map_err(|e| format!("cannot set {} ({e})", dir.join(file).display()))
}

/// Between fork and exec: moves the child into each group.
///
/// # Safety
/// Only `write(2)` on descriptors opened before the fork: no allocation.
pub unsafe fn join_now(fds: &[i32]) -> std::io::Result<()> {
    for fd in fds {
        if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
