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
    /// For a container's parent group: the memory group's peak, which
    /// tells a death at the limit where version 1 keeps no count above
    /// the container's own (removed with it).
    peak: Option<PathBuf>,
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
        let mut limits = Limits::empty(policy);
        let limit = limits.limit;
        let quota = (policy.cpus() * PERIOD_US as f64).round().max(1000.0) as u64;
        let own = own_groups()?;
        if unified() {
            let path = own_path(&own, None).ok_or("no version 2 group of its own")?;
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
            let path = own_path(&own, Some(controller))
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

    /// A parent group for a container of `name` (`--cgroup-parent`), whose
    /// engine makes the container's own groups, with `policy`'s limits,
    /// beneath it: returns it and the parent's path. Its memory counts
    /// tell whether the container died at its limit.
    pub fn container_parent(name: &str, policy: &Policy) -> Result<(Limits, String), String> {
        let mut limits = Limits::empty(policy);
        let own = own_groups()?;
        let unified = unified();
        let controller = (!unified).then_some("memory");
        let own_path = own_path(&own, controller).ok_or("no memory group of its own")?;
        let parent =
            format!("/{}/switchboard-{name}", own_path.trim_matches('/')).replace("//", "/");
        let memory_root = if unified {
            PathBuf::from(ROOT)
        } else {
            Path::new(ROOT).join("memory")
        };
        let dir = memory_root.join(parent.trim_start_matches('/'));
        limits.make(&dir)?;
        if unified {
            limits.memory = Some(Counter {
                file: dir.join("memory.events"),
                key: "oom_kill",
            });
        } else {
            limits.peak = Some(dir.join("memory.max_usage_in_bytes"));
            // The engine makes the parent in the other hierarchies: they
            // are removed with it.
            for entry in std::fs::read_dir(ROOT).into_iter().flatten().flatten() {
                let other = entry.path().join(parent.trim_start_matches('/'));
                if other != dir {
                    limits.dirs.push(other);
                }
            }
        }
        Ok((limits, parent))
    }

    /// No group yet, for `policy`'s memory limit.
    fn empty(policy: &Policy) -> Limits {
        Limits {
            dirs: Vec::new(),
            memory: None,
            procs: Vec::new(),
            limit: memory_bytes(policy.memory()).unwrap_or(512 * 1024 * 1024),
            peak: None,
        }
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

    /// Whether the kernel killed a process of the group for memory. For
    /// a container's parent on version 1, whether its memory reached the
    /// limit (the caller knows the container was killed).
    pub fn out_of_memory(&self) -> bool {
        if let Some(peak) = &self.peak {
            let peak: u64 = std::fs::read_to_string(peak)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            return peak >= self.limit / 10 * 9;
        }
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
        // moment after ours has been reaped; a thread waits for it. Groups
        // an engine made beneath (a container's, conmon's) go first.
        let dirs = std::mem::take(&mut self.dirs);
        for dir in &dirs {
            remove_tree(dir);
        }
        if dirs.iter().all(|d| !d.exists()) {
            return;
        }
        std::thread::spawn(move || {
            for _ in 0..100 {
                let left: Vec<&PathBuf> = dirs.iter().filter(|d| d.exists()).collect();
                if left.is_empty() {
                    return;
                }
                for dir in left {
                    remove_tree(dir);
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
    }
}

/// Removes a group and the groups beneath it (their files are the
/// kernel's: only directories are removed).
fn remove_tree(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Whether this machine has the unified hierarchy (version 2).
fn unified() -> bool {
    Path::new(ROOT).join("cgroup.controllers").exists()
}

/// The service's own groups, as `/proc/self/cgroup` lists them.
fn own_groups() -> Result<String, String> {
    std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup ({e})"))
}

/// The service's own group: on version 2 (`None`), the unified one; on
/// version 1, the one of `controller`'s hierarchy.
fn own_path<'a>(own: &'a str, controller: Option<&str>) -> Option<&'a str> {
    match controller {
        None => own.lines().find_map(|l| l.strip_prefix("0::")),
        Some(controller) => own
            .lines()
            .filter_map(|l| l.split_once(':').map(|(_, rest)| rest))
            .filter_map(|rest| rest.split_once(':'))
            .find(|(list, _)| list.split(',').any(|c| c == controller))
            .map(|(_, path)| path),
    }
}

/// Whether a program's limits would be kept here, in words: a group is
/// made with the default limits and removed.
pub fn check() -> String {
    let name = format!("doctor-{}-0", std::process::id());
    match Limits::create(&name, &Policy::default()) {
        Ok(limits) => {
            let version = if unified() { "version 2" } else { "version 1" };
            let dir = limits.dirs.first().map(|d| d.display().to_string());
            format!(
                "kept: a program's memory, CPU and processes are held by control groups \
                 ({version}, beside {})",
                dir.as_deref()
                    .and_then(|d| d.rsplit_once('/'))
                    .map(|(parent, _)| parent)
                    .unwrap_or("?")
            )
        }
        Err(why) => format!(
            "not kept for programs on this machine ({why}): run the service as root, or in \
             a control group delegated to you; containers keep theirs"
        ),
    }
}

/// `ROOT/own/switchboard-NAME`, after the groups a service that is gone
/// left beside it are removed.
fn under(root: &Path, own: &str, name: &str) -> PathBuf {
    let parent = root.join(own.trim_start_matches('/'));
    sweep(&parent);
    parent.join(format!("switchboard-{name}"))
}

/// Removes `switchboard-CONNECTOR-PID-GENERATION` groups whose service
/// (PID) no longer runs, in every hierarchy: a service killed before its
/// groups emptied leaves them behind. Once per service and place: the
/// groups a service leaves are the next service's to remove, not every
/// start's.
fn sweep(parent: &Path) {
    static SWEPT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let Ok(relative) = parent.strip_prefix(ROOT) else {
        return;
    };
    // On version 1, `relative` starts with the controller's directory;
    // the same place in every hierarchy is swept at once.
    let mut parts = relative.components();
    let inner: PathBuf = if unified() {
        relative.to_path_buf()
    } else {
        parts.next();
        parts.as_path().to_path_buf()
    };
    match SWEPT.lock() {
        Ok(mut swept) if !swept.contains(&inner) => swept.push(inner.clone()),
        _ => return,
    }
    let mut roots = vec![PathBuf::from(ROOT)];
    roots.extend(
        std::fs::read_dir(ROOT)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path()),
    );
    for dir in roots.iter().map(|r| r.join(&inner)) {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("switchboard-") else {
                continue;
            };
            let pid = rest.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                remove_tree(&entry.path());
            }
        }
    }
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
