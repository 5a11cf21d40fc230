//! Programs on this machine in the sandbox (Debian's bubblewrap), for
//! real: a Python SDK server that tries what a hostile one would cannot
//! read a file in the home directory, cannot write outside its write
//! paths, cannot reach a loopback port without network, and still answers
//! MCP; a policy change lets it reach the port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{repo, Sandbox};

/// The probe server added as `probe`, with no policy of its own.
fn add_probe(sb: &Sandbox) {
    common::probes::add_python_probe(sb);
}

/// The probe server added as `probe`, sandboxed, with `out` writable.
fn probe(sb: &Sandbox, out: &std::path::Path) {
    add_probe(sb);
    let shown = sb.ok(&[
        "policy",
        "probe",
        "--sandbox",
        "on",
        "--network",
        "none",
        "--write",
        out.to_str().unwrap(),
    ]);
    assert!(shown.contains("enforced: in bubblewrap"), "{shown}");
    assert_eq!(sb.ok(&["connect", "probe"]).trim(), "connected");
}

fn call(sb: &Sandbox, tool: &str, arguments: serde_json::Value) -> String {
    sb.ok(&["call", "probe", tool, &arguments.to_string()])
}

#[test]
fn a_sandboxed_program_sees_only_what_it_was_given() {
    let sb = Sandbox::new();
    let out = sb.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    probe(&sb, &out);

    // A file in the home directory, outside anything it was given.
    let home = std::env::var("HOME").expect("HOME");
    let secret = std::path::Path::new(&home)
        .join(format!(".switchboard-sandbox-probe-{}", std::process::id()));
    std::fs::write(&secret, "not for the server").unwrap();
    let read = call(&sb, "read", serde_json::json!({"path": secret}));
    std::fs::remove_file(&secret).unwrap();
    assert!(read.contains("refused"), "read the home directory: {read}");

    // Its write path works, and the file is really there.
    let inside = out.join("allowed.txt");
    let wrote = call(&sb, "write", serde_json::json!({"path": inside}));
    assert_eq!(wrote.trim(), "wrote");
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), "probe");
    // Its own directory is read only, and elsewhere is not there.
    let outside = repo().join(format!("target/sandbox-probe-{}", std::process::id()));
    let refused = call(&sb, "write", serde_json::json!({"path": outside}));
    assert!(refused.contains("refused"), "{refused}");
    assert!(
        !outside.exists(),
        "the sandbox let it write {}",
        outside.display()
    );
    // Beside its write path, under /tmp: the write lands in its private
    // /tmp and never on this machine's.
    let elsewhere = sb.dir.path().join("not-given.txt");
    call(&sb, "write", serde_json::json!({"path": elsewhere}));
    assert!(
        !elsewhere.exists(),
        "the sandbox let it write {}",
        elsewhere.display()
    );

    // No network: a port listening on this machine is out of reach.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let blocked = call(&sb, "connect", serde_json::json!({"port": port}));
    assert!(
        blocked.contains("refused"),
        "reached port {port}: {blocked}"
    );

    // No capability, though the service may run as root.
    let caps = call(&sb, "capabilities", serde_json::json!({}));
    assert_eq!(caps.trim(), "CapEff 0000000000000000");

    // Opening the network restarts it, and then the port answers.
    let out_ = sb.run(&["policy", "probe", "--network", "open"]);
    assert!(out_.status.success(), "{out_:?}");
    let reached = call(&sb, "connect", serde_json::json!({"port": port}));
    assert_eq!(reached.trim(), "connected");
}

#[test]
fn the_sandbox_is_refused_where_it_does_not_apply_and_paths_need_it() {
    let sb = Sandbox::new();
    let python = repo().join("tests/peers/.venv/bin/python");
    sb.ok(&["add", "plain", "--command", python.to_str().unwrap(), "-V"]);
    // Paths for a program that runs as you would be a promise not kept.
    let out = sb.run(&["policy", "plain", "--no-sandbox", "--read", "/srv"]);
    assert_eq!(common::code(&out), 5, "{out:?}");
    assert!(common::stderr(&out).contains("--sandbox on"), "{out:?}");
    // In the sandbox (the default) they are what it may see.
    sb.ok(&["policy", "plain", "--read", "/srv"]);
    // Turned off, it runs as you, and says so.
    let out = sb.run(&["policy", "plain", "--no-sandbox", "--read", "/srv"]);
    assert_eq!(common::code(&out), 5, "{out:?}");
    sb.ok(&["policy", "plain", "--no-sandbox"]);
    let info = sb.json(&["info", "plain"]);
    let warnings = info["warnings"].to_string();
    assert!(warnings.contains("unsandboxed"), "{info}");
    // A skill runs inside the service: no sandbox to turn on.
    let out = sb.run(&["policy", "sqlite", "--sandbox", "on"]);
    assert_eq!(common::code(&out), 5, "{out:?}");
}

/// What a sandboxed program needs comes with it though its directory is
/// elsewhere: a node script's package tree (server-everything) and a
/// virtualenv's console script with its interpreter (mcp-server-time).
#[test]
fn sandboxed_servers_bring_their_package_and_interpreter() {
    let sb = Sandbox::new();
    let dir = sb.dir.path().to_str().unwrap().to_string();
    let everything = common::server_everything();
    sb.ok(&[
        "add",
        "ev",
        "--cwd",
        &dir,
        "--command",
        "node",
        &everything,
        "stdio",
    ]);
    let time = repo().join("tests/peers/.venv/bin/mcp-server-time");
    sb.ok(&[
        "add",
        "tm",
        "--cwd",
        &dir,
        "--command",
        time.to_str().unwrap(),
    ]);
    for name in ["ev", "tm"] {
        sb.ok(&["policy", name, "--sandbox", "on"]);
        assert_eq!(sb.ok(&["connect", name]).trim(), "connected", "{name}");
    }
    assert!(sb
        .ok(&["call", "ev", "echo", r#"{"message":"boxed"}"#])
        .contains("boxed"));
    let now = sb.ok(&["call", "tm", "get_current_time", r#"{"timezone":"UTC"}"#]);
    assert!(now.contains("datetime"), "{now}");
}

/// With no policy at all a program runs sandboxed, and the service's own
/// data dir (settings of its own, tokens, the file secret store, logs)
/// stays hidden even inside a path it was given to read.
#[test]
fn the_sandbox_is_the_default_and_hides_the_services_data() {
    let sb = Sandbox::new();
    add_probe(&sb);
    let dir = sb.dir.path().to_str().unwrap().to_string();
    let shown = sb.ok(&["policy", "probe", "--read", &dir]);
    assert!(shown.contains("enforced: in bubblewrap"), "{shown}");
    assert_eq!(sb.ok(&["connect", "probe"]).trim(), "connected");

    // Given to read: a file in the test's directory is there.
    let given = sb.dir.path().join("given.txt");
    std::fs::write(&given, "for the server").unwrap();
    let read = call(&sb, "read", serde_json::json!({"path": given}));
    assert_eq!(read.trim(), "read 14 bytes");
    // The data dir inside it is not: its log of this very server.
    let log = sb.home().join("logs/probe.log");
    assert!(log.exists(), "{} is missing", log.display());
    let read = call(&sb, "read", serde_json::json!({"path": log}));
    assert!(read.contains("refused"), "read the service's data: {read}");

    // Opting out is explicit, and shown.
    sb.ok(&["policy", "probe", "--no-sandbox"]);
    let status = sb.json(&["status", "probe"]);
    assert!(
        status["warnings"].to_string().contains("unsandboxed"),
        "{status}"
    );
}

/// The memory, CPU and process limits of a program are the kernel's: it
/// runs in control groups of its own, a fork bomb stops at the process
/// limit (and the server still answers), and a program past its memory
/// is killed and reported as out of memory, with the limit.
#[test]
fn a_program_is_held_to_its_memory_cpu_and_process_limits() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.connectors.supervision": { "maxRestarts": 0 } }"#,
    )
    .unwrap();
    add_probe(&sb);
    let shown = sb.ok(&["policy", "probe", "--memory", "256m", "--cpus", "0.5"]);
    assert!(shown.contains("memory 256 MB, 0.5 CPUs"), "{shown}");
    assert_eq!(sb.ok(&["connect", "probe"]).trim(), "connected");

    // Its groups, as the kernel has them for its process.
    let pid = sb.json(&["status", "probe"])["pid"].as_u64().unwrap();
    let groups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let group = |controller: &str| {
        let line = groups
            .lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .unwrap_or("")
                    .split(',')
                    .any(|c| c == controller)
            })
            .unwrap_or_else(|| panic!("no {controller} group: {groups}"));
        let path = line.splitn(3, ':').nth(2).unwrap().trim_start_matches('/');
        assert!(path.contains("switchboard-probe-"), "{groups}");
        std::path::Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(path)
    };
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).unwrap().trim().to_string();
    assert_eq!(
        read(group("memory").join("memory.limit_in_bytes")),
        (256u64 << 20).to_string()
    );
    assert_eq!(read(group("cpu").join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(group("pids").join("pids.max")), "256");

    // A fork bomb stops at the limit; the server lives on.
    let spawned = call(&sb, "spawn", serde_json::json!({"count": 400}));
    common::probes::assert_stopped_below_the_process_limit(&spawned);
    let read_back = call(&sb, "read", serde_json::json!({"path": "/etc/hostname"}));
    assert!(!read_back.is_empty());

    // Past its memory, the kernel kills it, and the reason says so.
    let _ = sb.run(&["call", "probe", "allocate", r#"{"mb": 600}"#]);
    let status = sb.wait_status("probe", std::time::Duration::from_secs(20), |s| {
        s["status"] == "error"
    });
    let reason = status["error"].as_str().unwrap();
    assert!(reason.contains("out of memory (limit 256 MB)"), "{status}");
    assert!(reason.contains("--memory 1g"), "{status}");
}
