//! Security checks: a secret given any way we accept one (passed through
//! from the environment, stored from stdin, a secret HTTP header) reaches
//! the server and nothing else — not `ps`, not a log (even at trace level),
//! not an event, an error message or the settings file; the data dir and
//! the secret files are private; no connector name, image or argument can
//! smuggle in a shell command or a Docker flag; and containers run with no
//! extra privileges. OAuth tokens (access and refresh, from the real
//! `oidc-provider` peer) reach the MCP server and the secret store only:
//! not the event stream, the connector log, the service log, the API or
//! `ps`. (The HTTP API's token, Origin and Host checks are in
//! tests/http_*.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod faults_support;
mod oauth_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{code, server_everything, stderr, HttpPeer, Sandbox};
use faults_support::{
    add_bad, bad_server, docker, owned_containers, python, require_image, Guarded,
};
use serde_json::Value;

const IMAGE: &str = "localhost/switchboard-test/everything";

/// Runs the CLI with `input` on stdin.
fn run_with_stdin(sb: &Sandbox, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = sb
        .command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Every regular file under `dir`, recursively, as (path, bytes).
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                found.push((
                    entry.path().display().to_string(),
                    std::fs::read(entry.path()).unwrap_or_default(),
                ));
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn environ_of(pid: u64) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/environ")).unwrap()
}

#[test]
fn secrets_reach_the_server_and_no_argv_log_error_or_settings() {
    const FROM_ENV: &str = "sbsecret-env-7c1f9e0a";
    const FROM_STDIN: &str = "sbsecret-stdin-4b2d11c3";
    const HEADER: &str = "sbsecret-header-93aa52f7";
    const REFUSED: &str = "sbsecret-refused-0e6b2d98";
    let mut sb = Guarded::new();
    // As verbose as the service gets: nothing may show a value even so.
    sb.extra_env
        .push(("SWITCHBOARD_LOG".into(), "trace".into()));
    sb.extra_env
        .push(("SWITCHBOARD_SECRET_STORE".into(), "file".into()));
    let peer = HttpPeer::start("streamableHttp");
    let mut outputs: Vec<Output> = Vec::new();

    // Passed through from the environment of `connect`.
    sb.ok(&[
        "add",
        "envy",
        "--env",
        "API_TOKEN",
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
    let out = sb.run_env(&["connect", "envy"], &[("API_TOKEN", FROM_ENV)]);
    assert!(out.status.success(), "{}", stderr(&out));
    outputs.push(out);
    // Stored from stdin, then used.
    sb.ok(&[
        "add",
        "stored",
        "--env",
        "API_KEY",
        "--command",
        "node",
        &server_everything(),
        "stdio",
    ]);
    let out = run_with_stdin(
        &sb,
        &["secret", "set", "stored", "API_KEY"],
        &format!("{FROM_STDIN}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    outputs.push(out);
    outputs.push(sb.run(&["connect", "stored"]));
    // A secret header of a remote server.
    let header = format!("Authorization=Bearer {HEADER}");
    outputs.push(sb.run(&[
        "add",
        "remote",
        "--url",
        &peer.url("/mcp"),
        "--header",
        &header,
    ]));
    let out = sb.run(&["connect", "remote"]);
    assert!(out.status.success(), "{}", stderr(&out));
    outputs.push(out);
    // A secret the server refuses (it exits at start): the error must not quote it.
    sb.ok(&[
        "add",
        "refuser",
        "--env",
        "API_TOKEN",
        "--command",
        "sh",
        "-c",
        "echo 'bad credentials' >&2; exit 1",
    ]);
    let out = sb.run_env(&["connect", "refuser"], &[("API_TOKEN", REFUSED)]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(stderr(&out).contains("bad credentials"), "{}", stderr(&out));
    outputs.push(out);
    // A secret header sent to nobody: the connection error must not quote it.
    let dead = format!("http://127.0.0.1:{}/mcp", {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    sb.ok(&[
        "add",
        "nowhere",
        "--url",
        &dead,
        "--header",
        &format!("X-Api-Key={HEADER}"),
    ]);
    let out = sb.run(&["connect", "nowhere", "--timeout", "5"]);
    assert!(!out.status.success());
    outputs.push(out);

    // The values did reach the servers, in their environment only.
    let envy = sb.json(&["status", "envy"])["pid"].as_u64().unwrap();
    assert!(contains(
        &environ_of(envy),
        &format!("API_TOKEN={FROM_ENV}")
    ));
    let stored = sb.json(&["status", "stored"])["pid"].as_u64().unwrap();
    assert!(contains(
        &environ_of(stored),
        &format!("API_KEY={FROM_STDIN}")
    ));
    assert_eq!(sb.json(&["status", "remote"])["status"], "connected");

    // Everything a person or another program can see.
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    places.push((
        "ps -eo args".into(),
        Command::new("ps")
            .args(["-eo", "args"])
            .output()
            .unwrap()
            .stdout,
    ));
    places.push(("settings".into(), std::fs::read(sb.settings()).unwrap()));
    places.extend(files_under(&sb.home()));
    for name in ["envy", "stored", "remote", "refuser", "nowhere"] {
        for args in [
            vec!["status", name, "--json"],
            vec!["config", name, "--json"],
            vec!["logs", name, "-n", "1000"],
        ] {
            let out = sb.run(&args);
            places.push((format!("{args:?} stdout"), out.stdout));
            places.push((format!("{args:?} stderr"), out.stderr));
        }
    }
    places.push(("list --json".into(), sb.run(&["list", "--json"]).stdout));
    for (i, out) in outputs.iter().enumerate() {
        places.push((format!("command {i} stdout"), out.stdout.clone()));
        places.push((format!("command {i} stderr"), out.stderr.clone()));
    }
    let service_log = places
        .iter()
        .any(|(p, b)| p.ends_with("service.log") && !b.is_empty());
    assert!(service_log, "the service log was not written");
    for (place, bytes) in &places {
        for secret in [FROM_ENV, FROM_STDIN, HEADER, REFUSED] {
            assert!(!contains(bytes, secret), "{secret} leaked into {place}");
        }
    }
    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.mcp.servers"]["envy"]["env"]["API_TOKEN"],
        "${env:API_TOKEN}"
    );
    assert_eq!(
        settings["codebuddy.mcp.servers"]["stored"]["env"]["API_KEY"],
        "${secret:stored/API_KEY}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_errors_never_carry_a_secret() {
    use switchboard::{ConnectorService, CustomConnector, Paths, ServiceOptions};
    const SECRET: &str = "sbsecret-event-5f0c7a21";
    let dir = tempfile::tempdir().unwrap();
    let service = ConnectorService::start(Paths::in_dir(dir.path()), ServiceOptions::default())
        .await
        .unwrap();
    let mut rx = service.subscribe();
    let tiny = CustomConnector::from_flags(
        Some(python()),
        None,
        vec![bad_server("tiny.py")],
        &["API_TOKEN".to_string()],
    )
    .unwrap();
    service.add("ok", tiny, Default::default()).await.unwrap();
    let failing = CustomConnector::from_flags(
        Some("sh".into()),
        None,
        vec!["-c".into(), "exit 3".into()],
        &["API_TOKEN".to_string()],
    )
    .unwrap();
    service
        .add("fails", failing, Default::default())
        .await
        .unwrap();
    let values = || {
        let mut v = switchboard::mcp::FieldValues::new();
        v.insert("API_TOKEN".into(), SECRET.into());
        v
    };
    let info = service.connect("ok", values(), None).await.unwrap();
    let err = service.connect("fails", values(), None).await.unwrap_err();
    service.disconnect("ok").await.unwrap();

    let mut seen = vec![format!("{err}"), format!("{err:?}"), format!("{info:?}")];
    seen.push(serde_json::to_string(&service.list()).unwrap());
    seen.push(format!("{:?}", service.info("fails").unwrap()));
    let mut events = 0;
    while let Ok(event) = rx.try_recv() {
        seen.push(serde_json::to_string(&event).unwrap());
        seen.push(format!("{event:?}"));
        events += 1;
    }
    assert!(events >= 5, "connect, fail and disconnect events: {events}");
    seen.push(std::fs::read_to_string(dir.path().join("settings.json")).unwrap());
    for text in &seen {
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
    }
    service.shutdown().await;
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_data_dir_and_secret_files_are_private() {
    let mut sb = Guarded::new();
    sb.extra_env
        .push(("SWITCHBOARD_SECRET_STORE".into(), "file".into()));
    add_bad(&sb, "calm", "tiny.py", &[]);
    let out = run_with_stdin(
        &sb,
        &["secret", "set", "github", "GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_private_test\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");

    let home = sb.home();
    for dir in [home.clone(), home.join("logs"), home.join("run")] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    for file in ["secret.key", "secrets.json.enc"] {
        assert_eq!(mode(&home.join(file)), 0o600, "{file}");
    }
    for socket in ["switchboard.sock", "gateway.sock"] {
        let path = home.join(socket);
        assert!(path.exists(), "{socket}");
        assert_eq!(mode(&path), 0o600, "{socket}");
    }
    // Nothing under the data dir is writable by anyone else, and nothing
    // with a secret or token in its name is readable by anyone else.
    let mut pending = vec![home.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            if m.is_dir() {
                pending.push(path.clone());
            }
            let bits = m.permissions().mode() & 0o777;
            assert_eq!(bits & 0o022, 0, "{} is {bits:o}", path.display());
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if name.contains("secret") || name.contains("token") || name.contains("key") {
                assert_eq!(bits & 0o077, 0, "{} is {bits:o}", path.display());
            }
        }
    }
}

#[test]
fn names_images_and_arguments_cannot_inject_commands_or_flags() {
    let sb = Guarded::new();
    let marker = sb.dir.path().join("pwned");
    let before = std::fs::read(sb.settings()).unwrap_or_default();
    let touch = format!("$(touch {})", marker.display());
    for name in [
        "x; rm -rf /",
        "x && touch /tmp/sb-pwned",
        touch.as_str(),
        "../../etc",
        "a b",
        "UPPER",
        "-rf",
        "x\ny",
    ] {
        let out = sb.run(&["add", "--command", "node", "--", name]);
        assert!(
            matches!(code(&out), 2 | 5),
            "name {name:?} accepted: {}",
            stderr(&out)
        );
        let out = sb.run(&["add", name, "--command", "node"]);
        assert!(
            matches!(code(&out), 2 | 5),
            "name {name:?} accepted: {}",
            stderr(&out)
        );
    }
    for image in [
        "--privileged",
        "-v/:/host",
        "alpine --privileged",
        "alpine;id",
        "$(id)",
        "",
    ] {
        let flag = format!("--image={image}");
        let out = sb.run(&["add", "boxed", &flag]);
        assert!(
            matches!(code(&out), 2 | 5),
            "image {image:?} accepted: {}",
            stderr(&out)
        );
    }
    let out = sb.run(&["add", "boxed", "--image=--privileged"]);
    assert_eq!(code(&out), 5);
    assert!(stderr(&out).contains("starts with '-'"), "{}", stderr(&out));
    let out = sb.run(&["add", "dash", "--command=--version"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(
        std::fs::read(sb.settings()).unwrap_or_default(),
        before,
        "a refused add wrote"
    );
    assert!(!marker.exists() && !Path::new("/tmp/sb-pwned").exists());

    // Arguments go to the program as they are, through no shell.
    let hostile_args = [
        format!("; touch {}", marker.display()),
        format!("$(touch {})", marker.display()),
        format!("`touch {}`", marker.display()),
        "--privileged".to_string(),
        "a b\tc\nd".to_string(),
    ];
    let (python, tiny) = (python(), bad_server("tiny.py"));
    let mut args = vec![
        "add",
        "literal",
        "--command",
        python.as_str(),
        tiny.as_str(),
    ];
    args.extend(hostile_args.iter().map(String::as_str));
    sb.ok(&args);
    assert_eq!(sb.ok(&["connect", "literal"]).trim(), "connected");
    let pid = sb.json(&["status", "literal"])["pid"].as_u64().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    // In the sandbox (the default) the pid is bubblewrap's: the program's
    // own argv follows its `--`, where no argument can be a flag of its.
    let argv = match argv.iter().position(|a| a == "--") {
        Some(end) if argv[0].ends_with("bwrap") => argv[end + 1..].to_vec(),
        _ => argv,
    };
    assert_eq!(
        argv[1..],
        [vec![tiny.clone()], hostile_args.to_vec()].concat()[..]
    );
    assert!(!marker.exists(), "an argument ran through a shell");
}

#[test]
fn an_image_from_a_hand_edited_settings_file_cannot_be_a_flag() {
    require_image(IMAGE);
    let sb = Guarded::with_containers();
    // Not through `add`, which validates: straight into the file.
    std::fs::write(
        sb.settings(),
        format!(
            r#"{{ "codebuddy.connectors.custom": {{ "evil": {{ "image": "--privileged", "args": ["{IMAGE}", "stdio"] }} }} }}"#
        ),
    )
    .unwrap();
    let out = sb.run(&["connect", "evil", "--timeout", "30"]);
    let privileged: Vec<String> = owned_containers(&sb.home())
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| {
            docker(&["inspect", "--format", "{{.HostConfig.Privileged}}", name]).trim() == "true"
        })
        .collect();
    assert!(
        privileged.is_empty(),
        "a privileged container runs: {privileged:?}"
    );
    // Refused: the hand-written definition is invalid (exit 8, settings),
    // and says where.
    assert_eq!(
        code(&out),
        8,
        "an image that is a flag was not refused: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("`evil`"), "{}", stderr(&out));
}

#[test]
fn containers_run_without_extra_privileges() {
    require_image(IMAGE);
    let sb = Guarded::with_containers();
    sb.ok(&["add", "boxed", "--image", IMAGE, "stdio"]);
    assert_eq!(sb.ok(&["connect", "boxed"]).trim(), "connected");
    let container = sb.json(&["status", "boxed"])["container"]
        .as_str()
        .unwrap()
        .to_string();
    let inspect: Value = serde_json::from_str(&docker(&["inspect", &container])).unwrap();
    let host = &inspect[0]["HostConfig"];
    assert_eq!(host["Privileged"], false, "{host}");
    let added = host["CapAdd"].as_array().cloned().unwrap_or_default();
    assert!(added.is_empty(), "capabilities added: {added:?}");
    let opts: Vec<&str> = host["SecurityOpt"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        opts.iter().any(|o| o.starts_with("no-new-privileges")),
        "no no-new-privileges: {opts:?}"
    );
    assert_ne!(host["NetworkMode"], "host", "{host}");
    assert_ne!(host["PidMode"], "host", "{host}");
    assert_ne!(host["IpcMode"], "host", "{host}");
    let mounts = inspect[0]["Mounts"].as_array().cloned().unwrap_or_default();
    assert!(mounts.is_empty(), "host paths mounted: {mounts:?}");
    assert_eq!(
        inspect[0]["Config"]["Labels"]["switchboard.home"],
        sb.home().display().to_string()
    );
    sb.ok(&["disconnect", "boxed"]);
    assert!(common::poll(Duration::from_secs(20), || owned_containers(
        &sb.home()
    )
    .is_empty()));
}

/// Signs in, refreshes (a rotated refresh token), steps up and signs out
/// against the real OAuth peer while a real client reads the service's
/// event stream; then looks for every token the peer issued or was shown
/// in everything a person or another program can see. Trace-level logs.
#[test]
fn oauth_tokens_never_reach_events_logs_the_api_or_ps() {
    let peer = oauth_support::OAuthPeer::start(4, "");
    let mut sb = oauth_support::signing_sandbox();
    sb.extra_env
        .push(("SWITCHBOARD_LOG".into(), "trace".into()));
    sb.ok(&["add", "tracker", "--url", &peer.mcp]);
    let endpoint: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.home().join("http.json")).unwrap())
            .unwrap();
    let base = endpoint["url"].as_str().unwrap().to_string();
    // The API token goes to curl in a file, not in its arguments.
    let header = sb.dir.path().join("auth-header");
    std::fs::write(
        &header,
        format!(
            "Authorization: Bearer {}\n",
            std::fs::read_to_string(sb.home().join("http-token"))
                .unwrap()
                .trim()
        ),
    )
    .unwrap();
    let curl = |path: &str| -> Vec<u8> {
        Command::new("curl")
            .args(["-s", "-H"])
            .arg(format!("@{}", header.display()))
            .arg(format!("{base}{}", path.trim_start_matches('/')))
            .output()
            .unwrap()
            .stdout
    };
    let events_file = sb.dir.path().join("events.txt");
    let mut events = KillOnDrop(
        Command::new("curl")
            .args(["-sN", "-H"])
            .arg(format!("@{}", header.display()))
            .arg(format!("{base}api/v1/events"))
            .stdout(std::fs::File::create(&events_file).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    let ps = || -> Vec<u8> {
        Command::new("ps")
            .args(["-eo", "args"])
            .output()
            .unwrap()
            .stdout
    };

    // Sign in (the browser follower), call, let the token expire, call
    // (refresh; the refresh token rotates), step up, call, sign out.
    assert_eq!(sb.ok(&["connect", "tracker"]).trim(), "connected");
    places.push(("ps after sign-in".into(), ps()));
    sb.ok(&["call", "tracker", "whoami"]);
    let expired = common::poll(Duration::from_secs(60), || {
        sb.json(&["status", "tracker"])["auth"]["expires_in_secs"].as_u64() == Some(0)
    });
    assert!(expired, "the access token never expired");
    sb.ok(&["call", "tracker", "echo", r#"{"text":"after refresh"}"#]);
    places.push(("ps after refresh".into(), ps()));
    let refused = sb.run(&["call", "tracker", "admin-op"]);
    assert_eq!(code(&refused), 17, "{}", stderr(&refused));
    places.push(("admin-op stdout".into(), refused.stdout));
    places.push(("admin-op stderr".into(), refused.stderr));
    sb.wait_status("tracker", Duration::from_secs(60), |s| {
        s["auth"]["scopes"].to_string().contains("admin")
    });
    sb.ok(&["call", "tracker", "admin-op"]);
    for path in [
        "/api/v1/connectors",
        "/api/v1/connectors/tracker",
        "/api/v1/connectors/tracker/config",
        "/api/v1/connectors/tracker/tools",
        "/api/v1/connectors/tracker/logs?lines=1000",
    ] {
        places.push((format!("GET {path}"), curl(path)));
    }
    for args in [
        vec!["status", "tracker", "--json"],
        vec!["list", "--json"],
        vec!["config", "tracker", "--json"],
        vec!["logs", "tracker", "-n", "1000"],
    ] {
        let out = sb.run(&args);
        places.push((format!("{args:?} stdout"), out.stdout));
        places.push((format!("{args:?} stderr"), out.stderr));
    }
    let logout = sb.run(&["logout", "tracker", "--json"]);
    assert!(logout.status.success(), "{}", stderr(&logout));
    places.push(("logout".into(), logout.stdout));
    sb.wait_status("tracker", Duration::from_secs(60), |s| {
        s["status"] == "configuring"
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let stream = loop {
        let text = std::fs::read(&events_file).unwrap();
        if contains(&text, "signed out") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = events.0.kill();
    assert!(
        contains(&stream, "\"new\":\"connected\""),
        "the event stream saw no connect: {}",
        String::from_utf8_lossy(&stream)
    );
    places.push(("/api/v1/events".into(), stream));
    places.push(("settings".into(), std::fs::read(sb.settings()).unwrap()));
    // The data dir: the service log (at trace level) and the connector's;
    // the secret store holds the tokens encrypted.
    places.extend(files_under(&sb.home()));
    let service_log = places
        .iter()
        .any(|(p, b)| p.ends_with("service.log") && !b.is_empty());
    assert!(service_log, "the service log was not written");

    let tokens = peer.all_tokens();
    assert!(
        peer.refresh_tokens().len() >= 3,
        "sign-in, rotation and step-up each issue a refresh token: {}",
        peer.stats()
    );
    assert!(!peer.tokens_seen().is_empty());
    for (place, bytes) in &places {
        for token in &tokens {
            assert!(
                !contains(bytes, token),
                "an OAuth token leaked into {place}"
            );
        }
    }
}

/// A child process of the test, killed when the test ends however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
