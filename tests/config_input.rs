//! Field values and credentials as a hostile or careless user gives them:
//! a value that does not fit its field (`allow_writes=banana`) is refused
//! before anything is stored; a secret field given with `--set` (argv, shell
//! history, `ps`) is refused with the stdin and environment alternatives;
//! and a remote URL carrying a password or an API key — added by hand or
//! imported from an MCP client's config — keeps working while its
//! credentials live only in the secret store and show up nowhere else:
//! not in settings, `list`, `status`, the HTTP API, the service log or `ps`.
//! The remote peer is a Python SDK server that reports what it received.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod faults_support;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::{code, poll, stderr, Sandbox};
use faults_support::python;
use serde_json::Value;

/// The settings file's bytes (empty when there is none).
fn settings_bytes(sb: &Sandbox) -> Vec<u8> {
    std::fs::read(sb.settings()).unwrap_or_default()
}

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

fn field<'a>(config: &'a Value, name: &str) -> &'a Value {
    config
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {config}"))
}

#[test]
fn a_value_that_does_not_fit_its_field_is_refused_before_anything_is_stored() {
    let sb = Sandbox::new();
    sb.ok(&["list"]);
    let before = settings_bytes(&sb);
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "connect",
                "sqlite",
                "--set",
                "path=:memory:",
                "--set",
                "allow_writes=banana",
            ],
            "`allow_writes` of `sqlite` was not stored: expected true or false, got `banana`",
        ),
        (
            &[
                "connect",
                "sqlite",
                "--set",
                "path=:memory:",
                "--set",
                "row_limit=0",
            ],
            "expected a whole number from 1 to 1000000, got `0`",
        ),
        // With a backend switch, checked against that backend's fields,
        // and the switch itself is not kept.
        (
            &[
                "connect",
                "redis",
                "--backend",
                "skill",
                "--set",
                "scan_limit=lots",
            ],
            "`scan_limit` of `redis` was not stored",
        ),
        (
            &["connect", "mysql", "--set", "MYSQL_PORT=99999"],
            "expected a whole number from 1 to 65535",
        ),
    ];
    for (args, expected) in cases {
        let out = sb.run(args);
        assert_eq!(code(&out), 5, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(settings_bytes(&sb), before, "{args:?} stored something");
    }
    let config = sb.json(&["config", "sqlite"]);
    assert_eq!(field(&config, "allow_writes")["set"], false);
    assert_eq!(sb.json(&["status", "redis"])["backend"], "docker mcp/redis");

    // The same check guards the secret store: a URL of the wrong kind
    // given on stdin is refused, and the message does not quote it.
    let out = sb.run(&["connect", "postgres", "--backend", "skill"]);
    assert_eq!(code(&out), 13, "{}", stderr(&out));
    let out = run_with_stdin(
        &sb,
        &["secret", "set", "postgres", "url"],
        "mysql://root:hunter2@127.0.0.1/x\n",
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("expected a postgres or postgresql URL"));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    let config = sb.json(&["config", "postgres"]);
    assert_eq!(field(&config, "url")["set"], false);

    // A value that fits is stored in one spelling, a relative path taken
    // from the command's directory, and the connector then works.
    let dir = tempfile::tempdir().unwrap();
    let out = sb
        .command()
        .current_dir(dir.path())
        .args([
            "connect",
            "sqlite",
            "--set",
            "path=notes.db",
            "--set",
            "allow_writes=YES",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stored = &sb.settings_json()["codebuddy.connectors.config"]["sqlite"];
    assert_eq!(stored["allow_writes"], "true");
    assert_eq!(
        stored["path"],
        dir.path().join("notes.db").display().to_string()
    );
    assert!(dir.path().join("notes.db").exists());
}

#[test]
fn a_secret_field_given_with_set_is_refused_with_the_alternatives() {
    const PASSWORD: &str = "sbsecret-argv-5d1e7a";
    let sb = Sandbox::new();
    sb.ok(&["list"]);
    let before = settings_bytes(&sb);
    let url = format!("url=postgres://postgres:{PASSWORD}@127.0.0.1:5432/test");
    let out = sb.run(&["connect", "postgres", "--backend", "skill", "--set", &url]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let message = stderr(&out);
    for part in [
        "`url` of `postgres` is secret",
        "switchboard secret set postgres url",
        "--secret-from-env url=VARIABLE",
    ] {
        assert!(message.contains(part), "{part} missing: {message}");
    }
    assert!(!message.contains(PASSWORD), "{message}");
    // Nothing stored: not the value, not even the backend switch.
    assert_eq!(settings_bytes(&sb), before);
    assert_eq!(
        sb.json(&["status", "postgres"])["backend"],
        "docker mcp/postgres"
    );
    let out = sb.run(&[
        "connect",
        "github",
        "--set",
        "GITHUB_PERSONAL_ACCESS_TOKEN=x",
    ]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("--secret-from-env GITHUB_PERSONAL_ACCESS_TOKEN"));

    // The alternative it names works.
    let out = sb.run_env(
        &[
            "connect",
            "postgres",
            "--backend",
            "skill",
            "--secret-from-env",
            "url=DB_URL",
        ],
        &[("DB_URL", "postgres://postgres@127.0.0.1:5432/test")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "connected");
}

/// `tests/peers/whoami_http.py` on a free port; killed on drop.
struct Whoami {
    child: Child,
    port: u16,
    /// Where it writes what each request carried.
    seen: tempfile::NamedTempFile,
}

impl Whoami {
    fn start() -> Whoami {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = common::repo().join("tests/peers/whoami_http.py");
        let seen = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(seen.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = poll(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "the whoami server did not listen on {port}");
        Whoami { child, port, seen }
    }

    /// What the latest request carried: its Authorization header and
    /// query string.
    fn last(&self) -> Value {
        let text = std::fs::read_to_string(self.seen.path()).unwrap();
        serde_json::from_str(text.lines().last().expect("a request")).unwrap()
    }
}

impl Drop for Whoami {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The HTTP API's connector list, with the service's token.
fn api_connectors(sb: &Sandbox) -> String {
    let paths = switchboard::Paths {
        settings: sb.settings(),
        home: sb.home(),
    };
    let (url, token) = switchboard::http::read_endpoint(&paths).expect("http.json");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/api/v1/connectors", url.trim_end_matches('/')))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
}

#[test]
fn credentials_in_a_url_go_to_the_secret_store_and_show_nowhere() {
    const PASSWORD: &str = "sbsecret-urlpw-81c2f0";
    const API_KEY: &str = "sbsecret-apikey-4e90b7";
    const IMPORTED: &str = "sbsecret-imported-c33a19";
    let mut sb = Sandbox::new();
    // As verbose as the service gets: nothing may show a value even so.
    sb.extra_env
        .push(("SWITCHBOARD_LOG".into(), "trace".into()));
    sb.extra_env
        .push(("SWITCHBOARD_SECRET_STORE".into(), "file".into()));
    let peer = Whoami::start();
    let base = format!("127.0.0.1:{}/mcp", peer.port);

    // Added by hand, with a password and an API key in the URL.
    let url = format!("http://alice:{PASSWORD}@{base}?api_key={API_KEY}&tenant=acme");
    let added = sb.ok(&["add", "remote", "--url", &url]);
    assert!(
        !added.contains(PASSWORD) && !added.contains(API_KEY),
        "{added}"
    );
    assert!(sb.ok(&["connect", "remote"]).contains("connected"));
    // The server got both, as the URL would have sent them.
    assert_eq!(sb.ok(&["call", "remote", "ping", "{}"]).trim(), "pong");
    let seen = peer.last();
    let basic = format!("Basic {}", base64_of(&format!("alice:{PASSWORD}")));
    assert_eq!(seen["authorization"], basic.as_str());
    assert_eq!(seen["query"], format!("tenant=acme&api_key={API_KEY}"));

    // Imported from an MCP client's config, the same.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcp.json");
    let entry = serde_json::json!({"mcpServers": {"Imported": {
        "type": "http",
        "url": format!("http://{base}?token={IMPORTED}"),
    }}});
    std::fs::write(&config, entry.to_string()).unwrap();
    let out = sb.ok(&["import", "cursor", "--config", config.to_str().unwrap()]);
    assert!(out.contains("imported Imported as imported"), "{out}");
    assert!(sb.ok(&["connect", "imported"]).contains("connected"));
    assert_eq!(sb.ok(&["call", "imported", "ping", "{}"]).trim(), "pong");
    assert_eq!(peer.last()["query"], format!("token={IMPORTED}"));

    // The stored URL holds none of them; the written server config names
    // the secrets by reference.
    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.connectors.custom"]["remote"]["url"],
        format!("http://{base}?tenant=acme")
    );
    assert_eq!(
        settings["codebuddy.mcp.servers"]["remote"]["url"],
        format!("http://{base}?tenant=acme&api_key=${{secret:remote/QUERY_API_KEY}}")
    );
    let secrets = [
        PASSWORD,
        API_KEY,
        IMPORTED,
        &base64_of(&format!("alice:{PASSWORD}")),
    ];
    let mut shown: Vec<(String, String)> = vec![
        (
            "settings".into(),
            std::fs::read_to_string(sb.settings()).unwrap(),
        ),
        ("list".into(), sb.ok(&["list", "--json"])),
        ("list (text)".into(), sb.ok(&["list"])),
        ("status".into(), sb.ok(&["status", "remote", "--json"])),
        ("config".into(), sb.ok(&["config", "remote", "--json"])),
        ("api".into(), api_connectors(&sb)),
    ];
    for entry in std::fs::read_dir(sb.home().join("logs")).unwrap() {
        let path = entry.unwrap().path();
        shown.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap_or_default(),
        ));
    }
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    shown.push((
        "ps".into(),
        String::from_utf8_lossy(&ps.stdout).into_owned(),
    ));
    for (place, text) in &shown {
        for secret in secrets {
            assert!(!text.contains(secret), "a credential shows in {place}");
        }
    }
    assert!(shown[1]
        .1
        .contains(&format!("remote http://{base}?tenant=acme")));

    // A URL with a password and an Authorization header besides is
    // ambiguous: refused, nothing stored.
    let before = settings_bytes(&sb);
    let out = sb.run(&[
        "add",
        "twice",
        "--url",
        &format!("http://bob:pw@{base}"),
        "--header",
        "Authorization=Bearer x",
    ]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(settings_bytes(&sb), before);
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
