//! `switchboard doctor`: which launchers work on this machine and where
//! Switchboard keeps its files — as the running service sees them, since
//! it is the service that starts servers (its `PATH`, its container engine,
//! its secret store). With no service running, this command's view is the
//! one a service started by the next command would have.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connector::ConnectorService;
use crate::mcp::engine_probe;
use crate::paths::Paths;

/// How long one `--version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// One launcher and whether it works here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LauncherCheck {
    /// The program's name (`docker`, `podman`, `node`, `npx`, `uvx`).
    pub name: String,
    /// What it is used for.
    pub purpose: String,
    /// Where it was found.
    pub path: Option<String>,
    /// Its version line, when it answered.
    pub version: Option<String>,
    /// Whether it can be used.
    pub ok: bool,
    /// What to do when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoctorReport {
    /// Who looked: `service` (the running service, pid `service_pid`) or
    /// `command` (no service runs; what the next one would use).
    pub checked_by: String,
    /// The running service's pid, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_pid: Option<u32>,
    /// The values of the variables the service reads for itself
    /// (`SWITCHBOARD_CONTAINER_ENGINE`, `SWITCHBOARD_SECRET_STORE`,
    /// `DOCKER_HOST`, …) where it runs, those that are set.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Where this command and the service disagree, each with its fix.
    #[serde(default)]
    pub problems: Vec<String>,
    pub launchers: Vec<LauncherCheck>,
    /// The container engine connectors with an image will use, if any.
    pub container_engine: Option<String>,
    /// Where secrets are kept (or why they cannot be).
    pub secret_store: String,
    /// Whether a program's memory, CPU and process limits are kept (the
    /// control groups it would run in), or why not.
    #[serde(default)]
    pub program_limits: String,
    pub settings: String,
    pub data_dir: String,
    pub logs: String,
    pub socket: String,
}

/// Checks the launchers from this process and reports the paths: what a
/// service started by the next command would use.
pub async fn run(paths: &Paths) -> DoctorReport {
    let home = paths.home.clone();
    let secret_store =
        tokio::task::spawn_blocking(move || match crate::secrets::open_default(&home) {
            Ok(store) => store.describe(),
            Err(err) => format!("unavailable: {err}"),
        })
        .await
        .unwrap_or_else(|e| format!("unavailable: {e}"));
    DoctorReport {
        checked_by: "command".into(),
        service_pid: None,
        environment: crate::ipc::service_env(),
        problems: Vec::new(),
        launchers: launchers().await,
        container_engine: engine_probe().await,
        secret_store,
        program_limits: crate::mcp::program_limits(),
        settings: paths.settings.display().to_string(),
        data_dir: paths.home.display().to_string(),
        logs: paths.log_dir().display().to_string(),
        socket: paths.socket().display().to_string(),
    }
}

/// The report as the running service sees it: the launchers on its
/// `PATH`, the engine and secret store it uses.
pub async fn run_in_service(service: &ConnectorService) -> DoctorReport {
    let paths = service.paths();
    DoctorReport {
        checked_by: "service".into(),
        service_pid: Some(std::process::id()),
        environment: crate::ipc::service_env(),
        problems: Vec::new(),
        launchers: launchers().await,
        container_engine: service.container_engine().await,
        secret_store: service.secret_store_description(),
        program_limits: crate::mcp::program_limits(),
        settings: paths.settings.display().to_string(),
        data_dir: paths.home.display().to_string(),
        logs: paths.log_dir().display().to_string(),
        socket: paths.socket().display().to_string(),
    }
}

/// Which launchers answer on this process's `PATH`.
async fn launchers() -> Vec<LauncherCheck> {
    let specs = [
        (
            "docker",
            "container connectors (docker run -i --rm IMAGE)",
            "install Docker, or Podman with its docker shim",
        ),
        (
            "podman",
            "container connectors, when Docker is absent",
            "install Podman (apt-get install podman)",
        ),
        ("node", "npm-based MCP servers", "install Node.js"),
        (
            "npx",
            "npm-based MCP servers (npx -y PACKAGE)",
            "install Node.js, which brings npx",
        ),
        (
            "uvx",
            "PyPI-based MCP servers (uvx PACKAGE)",
            "pip install uv",
        ),
        (
            "bwrap",
            "the sandbox every program on this machine runs in",
            "install bubblewrap (apt-get install bubblewrap); where it is installed but \
             unprivileged user namespaces are off (sysctl kernel.unprivileged_userns_clone=1), \
             a program can run only unsandboxed: `switchboard policy NAME --no-sandbox`",
        ),
    ];
    let mut launchers = Vec::new();
    for (name, purpose, hint) in specs {
        let path = crate::mcp::find_program(name);
        let version = match &path {
            Some(path) => version_of(path, name).await,
            None => None,
        };
        let ok = version.is_some();
        launchers.push(LauncherCheck {
            name: name.to_string(),
            purpose: purpose.to_string(),
            path: path.map(|p| p.display().to_string()),
            version,
            ok,
            hint: (!ok).then(|| hint.to_string()),
        });
    }
    launchers
}

async fn version_of(path: &std::path::Path, name: &str) -> Option<String> {
    // Container engines answer `version` only when their daemon does.
    // bubblewrap is there but useless where user namespaces are off: its
    // check runs `true` in a namespace of its own, as the sandbox does.
    let args: &[&str] = match name {
        "docker" | "podman" => &["version", "--format", "{{.Server.Version}}"],
        "bwrap" => {
            let works = tokio::process::Command::new(path)
                .args([
                    "--ro-bind",
                    "/",
                    "/",
                    "--unshare-pid",
                    "--unshare-ipc",
                    "true",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .status();
            match tokio::time::timeout(VERSION_TIMEOUT, works).await {
                Ok(Ok(status)) if status.success() => {}
                _ => return None,
            }
            &["--version"]
        }
        _ => &["--version"],
    };
    let output = tokio::process::Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(VERSION_TIMEOUT, output).await {
        Ok(Ok(out)) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            Some(text.lines().next().unwrap_or("").trim().to_string())
        }
        _ => None,
    }
}
