//! A program on this machine run inside bubblewrap (`bwrap`), when its
//! policy asks for the sandbox: the system's programs and libraries read
//! only, an empty home, a private `/tmp`, its own process and IPC
//! namespaces, no network unless the policy allows it, and only the paths
//! it was given — its directory and command, the absolute paths among its
//! arguments, and the policy's read and write paths.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::config::LaunchPlan;
use crate::catalog::{Network, Policy};
use crate::error::{Error, Result};

/// System directories a program may need, read only (missing ones skipped).
const SYSTEM: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc", "/opt",
];

/// The `bwrap` command that runs `program` of `plan` in `cwd` under
/// `policy`. `home` is hidden behind an empty directory.
pub(super) fn command(
    connector: &str,
    program: &str,
    plan: &LaunchPlan,
    cwd: &Path,
    home: Option<&Path>,
) -> Result<Command> {
    let bwrap = super::find_program("bwrap").ok_or_else(|| Error::SandboxUnavailable {
        message: format!(
            "`{connector}` is to run in the sandbox, but bubblewrap (`bwrap`) is not installed: \
             install it (Debian: `apt install bubblewrap`), or run it unsandboxed with \
             `switchboard policy {connector} --sandbox off`"
        ),
    })?;
    let policy = &plan.policy;
    let mut cmd = Command::new(bwrap);
    cmd.args([
        "--die-with-parent",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
    ]);
    cmd.args(["--unshare-cgroup-try"]);
    if matches!(policy.network(), Network::None | Network::Loopback) {
        // A network namespace of its own: only its own loopback.
        cmd.arg("--unshare-net");
    }
    for dir in SYSTEM.iter().filter(|d| Path::new(d).exists()) {
        cmd.args(["--ro-bind", dir, dir]);
    }
    cmd.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
    if let Some(home) = home.filter(|h| h.is_absolute()) {
        cmd.arg("--tmpfs").arg(home);
    }
    // Never the home itself (or `/`) by way of its directory: that would
    // show what the empty home hides.
    let shows_home = |p: &PathBuf| home.is_some_and(|h| h.starts_with(p));
    for path in given(program, plan, cwd)
        .into_iter()
        .filter(|p| !shows_home(p))
    {
        cmd.arg("--ro-bind").arg(&path).arg(&path);
    }
    for path in &policy.read {
        cmd.args(["--ro-bind-try", path, path]);
    }
    for path in writable(plan, policy) {
        cmd.arg("--bind").arg(&path).arg(&path);
    }
    cmd.arg("--chdir").arg(cwd);
    cmd.args(["--setenv", "TMPDIR", "/tmp", "--"]);
    cmd.arg(program);
    Ok(cmd)
}

/// What it was given to read: its directory, its program (and, for one
/// that lives in an installation of its own such as a virtualenv's
/// interpreter, that installation), and the absolute paths among its
/// arguments that exist.
fn given(program: &str, plan: &LaunchPlan, cwd: &Path) -> Vec<PathBuf> {
    let mut paths = vec![cwd.to_path_buf()];
    let resolved = super::find_program(program).and_then(|p| std::fs::canonicalize(p).ok());
    if let Some(real) = resolved {
        // `…/bin/python3.11` → `…` (its libraries sit beside its bin).
        let install = real.parent().and_then(Path::parent).map(Path::to_path_buf);
        paths.extend(install.filter(|p| p.components().count() > 2));
        paths.push(real);
    }
    paths.extend(
        plan.args
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.exists()),
    );
    paths
}

/// What it may write: the policy's write paths that exist.
fn writable(_plan: &LaunchPlan, policy: &Policy) -> Vec<PathBuf> {
    policy
        .write
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect()
}
