//! Shared test harness: a sandbox with its own settings file and data dir
//! (so its service is its own), the CLI binary, the real peers installed
//! by `.ci/install-peers.sh`, and polling with deadlines instead of sleeps.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod probes;

/// A private Switchboard instance; its service is shut down on drop.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("sb-test-")
            .tempdir()
            .expect("temp dir");
        Sandbox {
            dir,
            extra_env: Vec::new(),
        }
    }

    pub fn settings(&self) -> PathBuf {
        self.dir.path().join("settings.json")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A `switchboard` command bound to this sandbox.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.env("SWITCHBOARD_HOME", self.home())
            .env("SWITCHBOARD_SETTINGS", self.settings())
            .env_remove("SWITCHBOARD_CONTAINER_ENGINE")
            // Human output depends on these; tests set them when they mean to.
            .env_remove("COLUMNS")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the CLI and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run switchboard")
    }

    /// Runs the CLI with extra environment.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).output().expect("run switchboard")
    }

    /// Runs the CLI, asserts success and returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "switchboard {args:?} failed ({:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `switchboard secret set NAME KEY` with `value` on its stdin, as a
    /// person pastes it; asserts success.
    pub fn set_secret(&self, name: &str, key: &str, value: &str) {
        use std::io::Write;
        let mut child = self
            .command()
            .args(["secret", "set", name, key])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run switchboard secret set");
        child
            .stdin
            .take()
            .expect("its stdin")
            .write_all(value.as_bytes())
            .expect("write the secret");
        assert!(
            child.wait().expect("wait for it").success(),
            "secret set {name} {key}"
        );
    }

    /// Calls server-everything's `echo` on `ev` with `args` from each face
    /// — the CLI, the TypeScript SDK's client through the stdio gateway and
    /// the HTTP API — and once more from the CLI without its message, which
    /// fails.
    pub fn echo_from_every_face(&self, args: &str) {
        self.ok(&["call", "ev", "echo", args]);
        let mut client_args: Vec<String> = vec!["--call".into(), "ev__echo".into(), args.into()];
        client_args.push("stdio".into());
        client_args.extend(self.gateway_argv());
        typescript_report(client_args);
        let (mcp_url, token) = self.http_endpoint();
        let api = mcp_url.trim_end_matches("/mcp");
        let out = Command::new("curl")
            .args(["-sf", "-X", "POST"])
            .arg(format!("{api}/api/v1/connectors/ev/tools/echo/call"))
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["-H", "Content-Type: application/json"])
            .args(["-d", &format!(r#"{{"arguments": {args}}}"#)])
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(code(&self.run(&["call", "ev", "echo", "{}"])), 0);
    }

    /// Runs the CLI with `--json`, asserts success and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}: {text}"))
    }

    /// The settings file, parsed (comments allowed).
    pub fn settings_json(&self) -> Value {
        let text = std::fs::read_to_string(self.settings()).expect("settings file");
        jsonc_parser::parse_to_serde_value::<Value>(&text, &Default::default())
            .expect("settings parse")
    }

    /// Waits until `status NAME --json` satisfies `pred`.
    pub fn wait_status(
        &self,
        name: &str,
        deadline: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut last = Value::Null;
        let found = poll(deadline, || {
            let out = self.run(&["status", name, "--json"]);
            if !out.status.success() {
                return false;
            }
            last = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            pred(&last)
        });
        assert!(found, "status of {name} never matched; last: {last}");
        last
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.command().arg("shutdown").output();
    }
}

/// Polls `f` until it returns true or the deadline passes.
pub fn poll(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn peer(path: &str) -> String {
    let full = repo().join(path);
    assert!(
        full.exists(),
        "test peer {} is missing: run `bash .ci/install-peers.sh` first",
        full.display()
    );
    full.display().to_string()
}

/// `@modelcontextprotocol/server-everything` (npm), its stdio entry point.
pub fn server_everything() -> String {
    peer("tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

/// `mcp-server-time` (PyPI).
pub fn mcp_server_time() -> String {
    peer("tests/peers/.venv/bin/mcp-server-time")
}

/// Whether a process is alive (and not a zombie).
/// Runs a Python SDK peer script of `tests/peers/` with `args`, asserts
/// it succeeded and returns the one JSON report it prints.
pub fn python_report<I, A>(script: &str, args: I) -> Value
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(repo().join("tests/peers/.venv/bin/python"))
        .arg(repo().join("tests/peers").join(script))
        .args(args)
        .output()
        .expect("run the python peer");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON report")
}

/// Runs a TypeScript SDK peer script of `tests/peers/` with `args`,
/// asserts it succeeded and returns the one JSON report it prints.
pub fn node_report<I, A>(script: &str, args: I) -> Value
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    let out = Command::new("node")
        .arg(repo().join("tests/peers").join(script))
        .args(args)
        .output()
        .expect("run the TypeScript peer");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON report")
}

/// Runs the TypeScript SDK's client (`tests/peers/mcp-client.mjs`) with
/// `args` (its flags, then `stdio CMD…` or `http URL`) and returns its
/// JSON report.
pub fn typescript_report<I, A>(args: I) -> Value
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    node_report("mcp-client.mjs", args)
}

pub fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .map(|rest| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Exit code of an output.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `server-everything` in one of its network modes (`sse`,
/// `streamableHttp`) on a free loopback port; its process group is killed
/// on drop.
pub struct HttpPeer {
    pub child: std::process::Child,
    pub port: u16,
}

impl HttpPeer {
    pub fn start(mode: &str) -> HttpPeer {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("node")
            .arg(server_everything())
            .arg(mode)
            .env("PORT", port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let up = poll(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !up {
            let _ = child.kill();
            panic!("server-everything {mode} did not listen on {port}");
        }
        HttpPeer { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn kill(&mut self) {
        // SAFETY: signals the process group this peer leads.
        unsafe { libc::killpg(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for HttpPeer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Sandbox {
    /// A new sandbox with server-everything added and connected as `ev`.
    pub fn with_everything() -> Sandbox {
        let sb = Sandbox::new();
        sb.add_everything("ev");
        sb.ok(&["connect", "ev"]);
        sb
    }

    /// Adds server-everything (stdio) as `name`.
    pub fn add_everything(&self, name: &str) {
        self.ok(&[
            "add",
            name,
            "--command",
            "node",
            &server_everything(),
            "stdio",
        ]);
    }

    /// The command line of `switchboard gateway` for this sandbox, as an MCP
    /// client's config would have it.
    pub fn gateway_argv(&self) -> Vec<String> {
        vec![
            env!("CARGO_BIN_EXE_switchboard").to_string(),
            "--home".into(),
            self.home().display().to_string(),
            "--settings".into(),
            self.settings().display().to_string(),
            "gateway".into(),
        ]
    }

    /// The running service's Streamable HTTP gateway address and token.
    pub fn http_endpoint(&self) -> (String, String) {
        self.ok(&["list"]);
        let endpoint: Value =
            serde_json::from_str(&std::fs::read_to_string(self.home().join("http.json")).unwrap())
                .unwrap();
        let token = std::fs::read_to_string(self.home().join("http-token")).unwrap();
        (
            endpoint["mcp_url"].as_str().unwrap().to_string(),
            token.trim().to_string(),
        )
    }
}
