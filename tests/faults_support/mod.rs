//! Shared helpers of the fault suite (`tests/faults_*.rs`, `tests/security.rs`):
//! finding a sandbox's service and everything it owns (processes by their
//! `SWITCHBOARD_OWNER` mark, containers by their `switchboard.home` label),
//! killing it at a chosen file-system event, reading memory use, checking
//! that the settings file agrees with what runs, and mounts that are undone
//! even when a test fails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{alive, poll, repo, Sandbox};

/// The venv's Python (a real binary, not a version-manager shim, so a
/// hand-written server starts in milliseconds).
pub fn python() -> String {
    let path = repo().join("tests/peers/.venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run `bash .ci/install-peers.sh` first",
        path.display()
    );
    path.display().to_string()
}

/// A hand-written server from `tests/peers/bad_servers/`.
pub fn bad_server(file: &str) -> String {
    let path = repo().join("tests/peers/bad_servers").join(file);
    assert!(path.exists(), "{} is missing", path.display());
    path.display().to_string()
}

/// Adds a custom connector running `bad_servers/<file>` with `args`. Its
/// sandbox lets it write in the test's directory, where these servers
/// leave the markers the tests wait for.
pub fn add_bad(sb: &Sandbox, name: &str, file: &str, args: &[&str]) {
    let server = bad_server(file);
    let python = python();
    let mut all = vec!["add", name, "--command", python.as_str(), server.as_str()];
    all.extend_from_slice(args);
    sb.ok(&all);
    let dir = sb.dir.path().display().to_string();
    sb.ok(&["policy", name, "--write", &dir]);
}

/// Whether `pid` is `ancestor` or one of its descendants.
pub fn descends_from(pid: i32, ancestor: i32) -> bool {
    let mut current = pid;
    for _ in 0..64 {
        if current == ancestor {
            return true;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{current}/stat")) else {
            return false;
        };
        // `pid (comm) state ppid …`; comm may hold spaces, so from its end.
        let Some(parent) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            return false;
        };
        if parent <= 1 {
            return false;
        }
        current = parent;
    }
    false
}

/// Whether `pid` is bubblewrap (the sandbox's own processes around a server).
pub fn is_bwrap(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "bwrap")
}

/// The pid of the sandbox's background service, if one runs.
pub fn service_pid(sb: &Sandbox) -> Option<i32> {
    let settings = settings_path(sb).display().to_string();
    pids_where(|args| {
        args.iter().any(|a| a == "serve")
            && args
                .windows(2)
                .any(|w| w[0] == "--settings" && w[1] == settings)
    })
    .into_iter()
    .next()
}

/// The settings file the sandbox's commands use (an `extra_env` override
/// of `SWITCHBOARD_SETTINGS` wins over the sandbox's default).
pub fn settings_path(sb: &Sandbox) -> PathBuf {
    sb.extra_env
        .iter()
        .rev()
        .find(|(k, _)| k == "SWITCHBOARD_SETTINGS")
        .map(|(_, v)| PathBuf::from(v))
        .unwrap_or_else(|| sb.settings())
}

/// Pids of live processes whose argv satisfies `pred`.
pub fn pids_where(pred: impl Fn(&[String]) -> bool) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.is_empty() && pred(&args) && alive(pid as u64) {
            found.push(pid);
        }
    }
    found
}

/// Live processes carrying this data dir's owner mark, with the mark's
/// service pid: `SWITCHBOARD_OWNER=<service pid>@<home>`.
pub fn owned_processes(home: &Path) -> Vec<(i32, i32)> {
    let suffix = format!("@{}", home.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
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
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find_map(|v| v.strip_prefix("SWITCHBOARD_OWNER="))
            .map(str::to_string);
        if let Some(tag) = tag {
            if let Some(owner) = tag.strip_suffix(&suffix) {
                if alive(pid as u64) {
                    found.push((pid, owner.parse().unwrap_or(-1)));
                }
            }
        }
    }
    found
}

/// `docker` with `args`; stdout, whatever the exit code.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Containers (running or not) labelled with this data dir, each with the
/// `switchboard.service` pid that started it. (`ps --format` cannot read
/// one label the same way in the docker CLI and in podman's, so the label
/// comes from `inspect`, which both spell alike.)
pub fn owned_containers(home: &Path) -> Vec<(String, String)> {
    docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=switchboard.home={}", home.display()),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::trim)
    .filter(|n| !n.is_empty())
    .map(|name| {
        let service = docker(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"switchboard.service\"}}",
            name,
        ]);
        (name.to_string(), service.trim().to_string())
    })
    .collect()
}

/// Removes every container of this data dir; for Drop guards.
pub fn remove_owned_containers(home: &Path) {
    for (name, _) in owned_containers(home) {
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    }
}

pub fn require_image(image: &str) {
    let out = docker(&["image", "inspect", "--format", "{{.Id}}", image]);
    assert!(
        !out.trim().is_empty(),
        "the local test image {image} is missing: run `bash .ci/install-peers.sh`"
    );
}

/// SIGKILL, no questions.
pub fn kill9(pid: i32) {
    // SAFETY: kill only sends a signal.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Kills the sandbox's service with SIGKILL and waits until it is gone.
pub fn kill_service(sb: &Sandbox) -> i32 {
    let pid = service_pid(sb).expect("a service runs");
    kill9(pid);
    assert!(
        poll(Duration::from_secs(10), || !alive(pid as u64)),
        "service {pid} survived SIGKILL"
    );
    pid
}

/// Resident memory of a process in KiB, from /proc.
pub fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// How long `f` took, with its value.
pub fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let value = f();
    (start.elapsed(), value)
}

/// Parses a settings file (comments and trailing commas allowed).
pub fn parse_settings(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonc_parser::parse_to_serde_value::<Value>(&text, &Default::default())
        .unwrap_or_else(|e| panic!("settings do not parse: {e}\n{text}"))
}

/// Temp files a settings write may leave next to the file.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// What one connector looks like from every side.
#[derive(Debug)]
pub struct Seen {
    pub live: String,
    pub persisted: Option<String>,
    pub has_config: bool,
    pub pid: Option<i32>,
}

/// Checks, for each of `names`, that the service's status, the persisted
/// status, the server config in `codebuddy.mcp.servers` and the running
/// processes agree; and that every process marked with this data dir
/// belongs to the running service and to a connected connector. Returns
/// what it saw.
pub fn assert_consistent(sb: &Sandbox, names: &[&str]) -> BTreeMap<String, Seen> {
    let list = sb.json(&["list"]);
    let settings = parse_settings(&settings_path(sb));
    let service = service_pid(sb).expect("a service runs");
    let mut seen = BTreeMap::new();
    for name in names {
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == *name)
            .unwrap_or_else(|| panic!("{name} is not listed"));
        let live = row["status"].as_str().unwrap().to_string();
        let persisted = settings["codebuddy.connectors.states"][name]
            .as_str()
            .map(str::to_string);
        let has_config = settings["codebuddy.mcp.servers"].get(name).is_some();
        let status = sb.json(&["status", name]);
        let pid = status["pid"].as_i64().map(|p| p as i32);
        seen.insert(
            name.to_string(),
            Seen {
                live,
                persisted,
                has_config,
                pid,
            },
        );
    }
    for (name, s) in &seen {
        // A connector never touched may have no persisted status at all.
        let persisted = s.persisted.clone().unwrap_or_else(|| "disconnected".into());
        assert_eq!(
            s.live, persisted,
            "{name}: the service says {} but the file says {persisted}",
            s.live
        );
        assert_eq!(
            s.has_config,
            s.live == "connected",
            "{name} is {} but its server config is {}in codebuddy.mcp.servers",
            s.live,
            if s.has_config { "" } else { "not " }
        );
        match (s.live.as_str(), s.pid) {
            ("connected", Some(pid)) => assert!(alive(pid as u64), "{name}: pid {pid} is dead"),
            ("connected", None) => panic!("{name} is connected without a pid"),
            (_, Some(pid)) => panic!("{name} is {} with a pid {pid}", s.live),
            _ => {}
        }
    }
    let owned = owned_processes(&sb.home());
    let foreign: Vec<_> = owned.iter().filter(|(_, o)| *o != service).collect();
    assert!(
        foreign.is_empty(),
        "processes of an earlier service are left: {foreign:?} (service is {service})"
    );
    let leaders: Vec<i32> = seen.values().filter_map(|s| s.pid).collect();
    for (pid, _) in &owned {
        // Every owned process is a connected server or one of its children.
        let pgid = unsafe { libc::getpgid(*pid) };
        assert!(
            leaders.contains(&pgid) || leaders.contains(pid),
            "process {pid} (group {pgid}) runs for no connected connector"
        );
    }
    seen
}

/// A tmpfs mounted for one test; unmounted on drop, even after a panic.
pub struct TmpfsMount {
    pub path: PathBuf,
}

impl TmpfsMount {
    /// Mounts a tmpfs of `size` (e.g. "64k") at `path` (created if needed).
    pub fn new(path: &Path, size: &str) -> TmpfsMount {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (these tests run as root in CI): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TmpfsMount {
            path: path.to_path_buf(),
        }
    }

    /// Remounts read-only (`ro = true`) or read-write.
    pub fn remount(&self, ro: bool) {
        let opt = if ro { "remount,ro" } else { "remount,rw" };
        let out = Command::new("mount")
            .args(["-o", opt])
            .arg(&self.path)
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "remount {opt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        // Lazy, so a file still open (a lock, a log) cannot keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
    }
}

/// Kills every process of this data dir's mark; for Drop guards.
pub fn kill_owned(home: &Path) {
    for (pid, _) in owned_processes(home) {
        kill9(pid);
    }
}

/// A sandbox that, when dropped (even after a failed assertion), stops its
/// service and then kills whatever of its processes and containers is
/// still around.
pub struct Guarded {
    pub sb: Sandbox,
    pub containers: bool,
}

impl Guarded {
    pub fn new() -> Guarded {
        Guarded {
            sb: Sandbox::new(),
            containers: false,
        }
    }

    pub fn with_containers() -> Guarded {
        Guarded {
            sb: Sandbox::new(),
            containers: true,
        }
    }
}

impl std::ops::Deref for Guarded {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

impl std::ops::DerefMut for Guarded {
    fn deref_mut(&mut self) -> &mut Sandbox {
        &mut self.sb
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.sb.command().arg("shutdown").output();
        if let Some(pid) = service_pid(&self.sb) {
            kill9(pid);
        }
        kill_owned(&self.sb.home());
        if self.containers {
            remove_owned_containers(&self.sb.home());
        }
    }
}

/// Which file-system step of a settings write to kill the service at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStage {
    /// The temp file was just created (nothing written yet).
    TempCreated,
    /// The temp file was written, synced and closed (not renamed yet).
    TempClosed,
    /// The temp file was just renamed over the settings file.
    Renamed,
}

/// Watches `dir` with inotify and SIGKILLs the service of `pid` the moment
/// a settings write reaches `stage`. Returns the handle of the watching
/// thread, which says whether it fired (within `deadline`).
pub fn kill_at_write_stage(
    dir: &Path,
    settings_name: &str,
    pid: i32,
    stage: WriteStage,
    deadline: Duration,
) -> std::thread::JoinHandle<bool> {
    use std::os::unix::ffi::OsStrExt;
    let dir_c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    // SAFETY: plain inotify calls on a descriptor we own.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    assert!(fd >= 0, "inotify_init1");
    let mask = match stage {
        WriteStage::TempCreated => libc::IN_CREATE,
        WriteStage::TempClosed => libc::IN_CLOSE_WRITE,
        WriteStage::Renamed => libc::IN_MOVED_TO,
    };
    let wd = unsafe { libc::inotify_add_watch(fd, dir_c.as_ptr(), mask) };
    assert!(wd >= 0, "inotify_add_watch");
    let temp_prefix = format!(".{settings_name}.");
    let settings_name = settings_name.to_string();
    std::thread::spawn(move || {
        let end = Instant::now() + deadline;
        let mut buf = [0u8; 4096];
        let mut fired = false;
        while !fired && Instant::now() < end {
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd we own.
            let ready = unsafe { libc::poll(&mut pfd, 1, 50) };
            if ready <= 0 {
                continue;
            }
            // SAFETY: reads into our buffer.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                continue;
            }
            let mut off = 0usize;
            while off + 16 <= n as usize {
                let len = u32::from_ne_bytes(buf[off + 12..off + 16].try_into().unwrap()) as usize;
                let name_bytes = &buf[off + 16..off + 16 + len];
                let name = String::from_utf8_lossy(name_bytes)
                    .trim_end_matches('\0')
                    .to_string();
                let hit = match stage {
                    WriteStage::TempCreated | WriteStage::TempClosed => {
                        name.starts_with(&temp_prefix) && name.ends_with(".tmp")
                    }
                    WriteStage::Renamed => name == settings_name,
                };
                if hit {
                    kill9(pid);
                    fired = true;
                    break;
                }
                off += 16 + len;
            }
        }
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(fd) };
        fired
    })
}
