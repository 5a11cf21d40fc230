//! A program on this machine run inside bubblewrap (`bwrap`) unless its
//! policy turns the sandbox off (`policy NAME --no-sandbox`): the system's
//! programs and libraries read only, a home of its own, a private `/tmp`, its own process and IPC
//! namespaces, no network unless the policy allows it, and only the paths
//! it was given — its directory and command, the absolute paths among its
//! arguments, and the policy's read and write paths.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::config::LaunchPlan;
use crate::catalog::{Network, Policy};
use crate::error::{Error, Result};

/// Where the forwarder and the egress proxy's socket appear inside.
const FORWARDER: &str = "/run/switchboard/switchboard";
const EGRESS_SOCKET: &str = "/run/switchboard/egress.sock";

/// The way out of a sandbox whose policy allows only some hosts: the
/// egress proxy's socket, the namespace's `/etc/hosts`, and what the
/// forwarder listens on (`Inside::forwards`).
pub(super) struct Egress {
    pub(super) socket: PathBuf,
    pub(super) hosts: PathBuf,
    pub(super) forwards: Vec<String>,
}

/// System directories a program may need, read only (missing ones skipped).
const SYSTEM: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc", "/opt",
];

/// The `bwrap` command that runs `program` of `plan` in `cwd` under
/// `policy`. `homes` is the user's home and the connector's own private
/// one (in the data dir), which is mounted over it: what the program keeps
/// at `~` (npm's and uv's caches) stays between starts, and the user's
/// files are not there.
pub(super) fn command(
    connector: &str,
    program: &str,
    plan: &LaunchPlan,
    cwd: &Path,
    homes: Option<(&Path, &Path)>,
    egress: Option<Egress>,
) -> Result<Command> {
    let home = homes.map(|(home, _)| home);
    let bwrap = super::find_program("bwrap").ok_or_else(|| Error::SandboxUnavailable {
        message: format!(
            "`{connector}` is to run in the sandbox, but bubblewrap (`bwrap`) is not installed: \
             install it (Debian: `apt install bubblewrap`), or run it unsandboxed, as you, \
             with `switchboard policy {connector} --no-sandbox`"
        ),
    })?;
    // A missing program gets the message it gets unsandboxed, not
    // bubblewrap's `execvp` failure.
    let found = if program.contains('/') {
        cwd.join(program).exists()
    } else {
        super::find_program(program).is_some()
    };
    if !found {
        return Err(Error::CommandNotFound {
            command: program.to_string(),
        });
    }
    let policy = &plan.policy;
    let mut cmd = Command::new(bwrap);
    cmd.args([
        "--die-with-parent",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
    ]);
    cmd.args(["--unshare-cgroup-try"]);
    // A service run as root would otherwise hand the program all of
    // root's capabilities (modules, mounts, raw devices). The forwarder
    // alone keeps the right to listen below port 1024 (inside its own
    // network namespace), and does not pass it on, unless the program runs
    // as root.
    cmd.args(["--cap-drop", "ALL"]);
    if egress.is_some() {
        cmd.args(["--cap-add", "CAP_NET_BIND_SERVICE"]);
    }
    if !matches!(policy.network(), Network::Open) {
        // A network namespace of its own: only its own loopback (and, for
        // a list of hosts, the forwarder to the egress proxy on it).
        cmd.arg("--unshare-net");
    }
    for dir in SYSTEM.iter().filter(|d| Path::new(d).exists()) {
        cmd.args(["--ro-bind", dir, dir]);
    }
    cmd.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
    if let Some((home, private)) = homes.filter(|(h, _)| h.is_absolute()) {
        std::fs::create_dir_all(private).map_err(|e| Error::file("create", private, e))?;
        cmd.arg("--bind").arg(private).arg(home);
    }
    // Never the home itself (or `/`) by way of its directory: that would
    // show what its own home hides.
    let shows_home = |p: &PathBuf| home.is_some_and(|h| h.starts_with(p));
    for path in given(program, plan, cwd, home)
        .into_iter()
        .filter(|p| !shows_home(p))
    {
        cmd.arg("--ro-bind").arg(&path).arg(&path);
    }
    for path in &policy.read {
        cmd.args(["--ro-bind-try", path, path]);
    }
    for path in writable(policy) {
        cmd.arg("--bind").arg(&path).arg(&path);
    }
    // The service's own data dir (its secret store, tokens, logs) stays
    // unseen even when a bound tree holds it (`~/.local` for a program in
    // `~/.local/bin`).
    if let Some(data) = homes.and_then(|(_, private)| private.parent()?.parent()) {
        if data.is_absolute() {
            cmd.arg("--tmpfs").arg(data);
        }
    }
    cmd.arg("--chdir").arg(cwd);
    // bubblewrap also sets PWD, to this directory (no secret: getcwd()).
    cmd.args(["--setenv", "TMPDIR", "/tmp"]);
    if let Some(egress) = egress {
        // The forwarder runs the program, after listening on loopback.
        cmd.arg("--ro-bind").arg(own_program()?).arg(FORWARDER);
        cmd.arg("--bind").arg(&egress.socket).arg(EGRESS_SOCKET);
        cmd.arg("--ro-bind").arg(&egress.hosts).arg("/etc/hosts");
        cmd.args(["--", FORWARDER, "egress-forward", "--socket", EGRESS_SOCKET]);
        for forward in &egress.forwards {
            cmd.arg("--forward").arg(forward);
        }
    }
    cmd.arg("--").arg(program);
    Ok(cmd)
}

/// Switchboard's own program, which runs the egress forwarder.
pub(super) fn own_program() -> Result<PathBuf> {
    std::env::current_exe()
        .map_err(|e| Error::Internal(format!("cannot find switchboard's own program: {e}")))
}

/// What it was given to read: its directory, its program (and, for one
/// that lives in an installation of its own such as a virtualenv's
/// interpreter, that installation; for one installed in the home, such as
/// a pyenv or nvm shim, the home's directory it lives in), and the
/// absolute paths among its arguments that exist.
fn given(program: &str, plan: &LaunchPlan, cwd: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let mut paths = vec![cwd.to_path_buf()];
    let mut programs = vec![program.to_string()];
    // A script's interpreter too (`#!…/.venv/bin/python`, `#!/usr/bin/env node`).
    if let Some(interpreter) = super::find_program(program).and_then(|p| interpreter_of(&p)) {
        programs.push(interpreter);
    }
    for program in programs {
        let Some(found) = super::find_program(&program) else {
            continue;
        };
        let real = std::fs::canonicalize(&found).unwrap_or_else(|_| found.clone());
        // A program in `…/bin/` brings its installation: a virtualenv's
        // `pyvenv.cfg` and site-packages, a Python's or node's libraries.
        paths.push(installation(&found));
        paths.push(installation(&real));
        paths.extend(home.and_then(|home| tool_root(home, &found)));
        paths.extend(home.and_then(|home| tool_root(home, &real)));
    }
    for arg in plan.args.iter().map(Path::new).filter(|p| p.is_absolute()) {
        if arg.is_file() {
            paths.push(package_of(arg));
        } else if arg.exists() {
            paths.push(arg.to_path_buf());
        }
    }
    paths
}

/// A script's package: the outermost directory above it that holds a
/// `node_modules` (its imports resolve there), else its own directory.
fn package_of(script: &Path) -> PathBuf {
    let root = script
        .ancestors()
        .skip(1)
        .filter(|dir| dir.components().count() > 2)
        .filter(|dir| dir.join("node_modules").is_dir())
        .last();
    root.or_else(|| script.parent())
        .unwrap_or(script)
        .to_path_buf()
}

/// For a program installed under the home (`~/.pyenv/shims/python3`,
/// `~/.nvm/versions/…/bin/node`), the home's directory it lives in
/// (`~/.pyenv`): a shim runs more of its tool than the one file.
fn tool_root(home: &Path, program: &Path) -> Option<PathBuf> {
    let inside = program.strip_prefix(home).ok()?;
    let first = inside.components().next()?;
    // Only a directory: a program straight in the home brings itself.
    let root = home.join(first);
    root.is_dir().then_some(root)
}

/// `…/bin/prog` → `…` (when that is not the system itself); else the
/// program alone.
fn installation(program: &Path) -> PathBuf {
    let in_bin = program
        .parent()
        .filter(|dir| dir.file_name().is_some_and(|n| n == "bin"));
    match in_bin.and_then(Path::parent) {
        Some(root) if root.components().count() > 2 => root.to_path_buf(),
        _ => program.to_path_buf(),
    }
}

/// The interpreter a script names on its `#!` line (what `env` is asked
/// to find, for `#!/usr/bin/env NAME`).
fn interpreter_of(script: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let read = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = head[..read].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let mut words = std::str::from_utf8(line).ok()?.split_whitespace();
    let first = words.next()?;
    match first.rsplit('/').next() {
        Some("env") => words.find(|w| !w.starts_with('-')).map(str::to_string),
        _ => Some(first.to_string()),
    }
}

/// What it may write: the policy's write paths that exist.
fn writable(policy: &Policy) -> Vec<PathBuf> {
    policy
        .write
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect()
}
