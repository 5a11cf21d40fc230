//! Configuring connectors and built-in skills through the CLI: `--backend
//! skill`, `--set`, `--secret-from-env`, the `configuring` state, `config`,
//! and secrets kept out of settings — against the local PostgreSQL,
//! MariaDB and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{code, stderr, Sandbox};
use serde_json::{json, Value};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[test]
fn postgres_runs_as_a_skill_with_its_url_kept_secret() {
    let sb = Sandbox::new();
    // A secret field comes from the environment (or stdin), never argv.
    let out = sb.run_env(
        &[
            "connect",
            "postgres",
            "--backend",
            "skill",
            "--secret-from-env",
            "url=DB_URL",
        ],
        &[("DB_URL", PG_URL)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "connected");
    let tools: Vec<Value> = serde_json::from_value(sb.json(&["tools", "postgres"])).unwrap();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for tool in [
        "list_schemas",
        "list_tables",
        "describe_table",
        "query",
        "explain",
    ] {
        assert!(names.contains(&tool), "{tool} missing from {names:?}");
    }
    let result = sb.json(&["call", "postgres", "query", r#"{"sql":"select 1 as x"}"#]);
    assert_eq!(result["structuredContent"]["rows"], json!([[1]]));
    let status = sb.json(&["status", "postgres"]);
    assert_eq!(status["type"], "skill");
    assert_eq!(status["backend"], "skill postgres");
    assert_eq!(status["backends"], json!(["mcp", "skill"]));
    assert!(status.get("pid").is_none());

    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.connectors.backend"]["postgres"],
        "skill"
    );
    assert_eq!(
        settings["codebuddy.connectors.states"]["postgres"],
        "connected"
    );
    assert!(
        settings["codebuddy.mcp.servers"].get("postgres").is_none(),
        "a skill has no server config"
    );
    assert!(!std::fs::read_to_string(sb.settings())
        .unwrap()
        .contains("postgres://"));
    let config = sb.json(&["config", "postgres"]);
    assert_eq!(config[0]["name"], "url");
    assert_eq!(config[0]["set"], true);
    assert!(config[0].get("value").is_none(), "a secret is never shown");

    // The read-only guard reaches the CLI as a tool error.
    let out = sb.run(&[
        "call",
        "postgres",
        "query",
        r#"{"sql":"create table sb_cli_guard(x int)"}"#,
    ]);
    assert_eq!(code(&out), 10, "{}", stderr(&out));

    // The chosen backend and the secret survive a restart of the service.
    sb.ok(&["shutdown"]);
    let status = sb.wait_status("postgres", std::time::Duration::from_secs(30), |s| {
        s["status"] == "connected"
    });
    assert_eq!(status["type"], "skill");
    sb.ok(&["disconnect", "postgres"]);
}

#[test]
fn mysql_redis_and_sqlite_skills_answer() {
    let sb = Sandbox::new();
    let out = sb.run_env(
        &[
            "connect",
            "mysql",
            "--backend",
            "skill",
            "--secret-from-env",
            "url=DB_URL",
        ],
        &[("DB_URL", "mysql://root@127.0.0.1:3306/test")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let result = sb.json(&[
        "call",
        "mysql",
        "query",
        r#"{"sql":"select 41 + 1 as answer"}"#,
    ]);
    assert_eq!(result["structuredContent"]["rows"], json!([[42]]));

    let out = sb.run_env(
        &[
            "connect",
            "redis",
            "--backend",
            "skill",
            "--secret-from-env",
            "url=DB_URL",
        ],
        &[("DB_URL", "redis://127.0.0.1:6379")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let info = sb.json(&["call", "redis", "info", r#"{"section":"server"}"#]);
    assert!(info["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("redis_version"));

    sb.ok(&["connect", "sqlite", "--set", "path=:memory:"]);
    let result = sb.json(&["call", "sqlite", "query", r#"{"sql":"select 2 * 21 as n"}"#]);
    assert_eq!(result["structuredContent"]["rows"], json!([[42]]));
    assert_eq!(
        sb.settings_json()["codebuddy.connectors.config"]["sqlite"]["path"],
        ":memory:"
    );
}

#[test]
fn a_wrong_password_is_an_error_that_says_the_credential_was_refused() {
    let sb = Sandbox::new();
    let out = sb.run_env(
        &[
            "connect",
            "redis",
            "--backend",
            "skill",
            "--secret-from-env",
            "url=DB_URL",
        ],
        &[("DB_URL", "redis://nobody-sb:wrong-pw-7731@127.0.0.1:6379")],
    );
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("credential was refused"), "{message}");
    assert!(
        message.contains("switchboard secret set redis url"),
        "{message}"
    );
    assert!(
        !message.contains("wrong-pw-7731"),
        "the password leaked: {message}"
    );
    assert_eq!(sb.json(&["status", "redis"])["status"], "error");
}

#[test]
fn a_connector_without_its_required_fields_waits_in_configuring() {
    let sb = Sandbox::new();
    let out = sb.run_env(&["connect", "slack"], &[("CI", "true")]);
    assert_eq!(code(&out), 13, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains("SLACK_BOT_TOKEN") && message.contains("SLACK_TEAM_ID"),
        "{message}"
    );
    let status = sb.json(&["status", "slack"]);
    assert_eq!(status["status"], "configuring");
    assert_eq!(
        status["missing"],
        json!(["SLACK_BOT_TOKEN", "SLACK_TEAM_ID"])
    );
    let listed = sb.json(&["list"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "slack")
        .unwrap();
    assert_eq!(row["status"], "configuring");

    // --set for the plain field, --secret-from-env for the token.
    let out = sb.run_env(
        &[
            "connect",
            "slack",
            "--set",
            "SLACK_TEAM_ID=T123",
            "--secret-from-env",
            "SLACK_BOT_TOKEN",
        ],
        &[("SLACK_BOT_TOKEN", "xoxb-secret-9931")],
    );
    // No mcp/slack image exists here: the start fails, but the values are kept.
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let config = sb.json(&["config", "slack"]);
    let field = |n: &str| {
        config
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(field("SLACK_TEAM_ID")["value"], "T123");
    assert_eq!(field("SLACK_BOT_TOKEN")["set"], true);
    let text = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(
        text.contains("T123") && !text.contains("xoxb-secret-9931"),
        "{text}"
    );

    let out = sb.run(&[
        "connect",
        "slack",
        "--secret-from-env",
        "NOT_EXPORTED_ANYWHERE",
    ]);
    assert_eq!(code(&out), 5);
    assert!(stderr(&out).contains("NOT_EXPORTED_ANYWHERE"));
    let out = sb.run(&["connect", "slack", "--set", "NO_SUCH_FIELD=1"]);
    assert_eq!(code(&out), 5);
    assert!(
        stderr(&out).contains("SLACK_TEAM_ID"),
        "names the fields: {}",
        stderr(&out)
    );
    let out = sb.run(&["connect", "github", "--backend", "skill"]);
    assert_eq!(code(&out), 5);
    assert!(stderr(&out).contains("offers mcp"), "{}", stderr(&out));
}

#[test]
fn on_a_terminal_connect_asks_for_the_missing_secret() {
    // `script` gives the CLI a real pseudo-terminal; the answer is typed on it.
    let sb = Sandbox::new();
    let cli = env!("CARGO_BIN_EXE_switchboard");
    let command = format!("{cli} connect redis --backend skill",);
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("SWITCHBOARD_HOME", sb.home())
        .env("SWITCHBOARD_SETTINGS", sb.settings())
        .env_remove("CI")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Answer only once the prompt is on screen, as a person would: typed
    // earlier, the terminal would echo it before the prompt hides input.
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0
                || tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    let mut shown = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !shown.contains("redis needs url") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        shown.push_str(
            &rx.recv_timeout(left)
                .expect("the prompt within the deadline"),
        );
    }
    // ...and once the terminal has stopped echoing (the prompt comes just
    // before that), which is what "input hidden" means.
    let script_pid = child.id().to_string();
    let echo_off = common::poll(std::time::Duration::from_secs(10), || {
        let out = std::process::Command::new("pgrep")
            .args(["-P", &script_pid])
            .output()
            .unwrap();
        let Some(cli) = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(str::to_string)
        else {
            return false;
        };
        let Ok(tty) = std::fs::read_link(format!("/proc/{cli}/fd/0")) else {
            return false;
        };
        let stty = std::process::Command::new("stty")
            .arg("-F")
            .arg(&tty)
            .arg("-a")
            .output()
            .unwrap();
        String::from_utf8_lossy(&stty.stdout)
            .split_whitespace()
            .any(|flag| flag == "-echo")
    });
    assert!(echo_off, "the terminal never stopped echoing: {shown}");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"redis://localhost:6379/0\n").unwrap();
    }
    let status = child.wait().unwrap();
    while let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_secs(5)) {
        shown.push_str(&chunk);
    }
    assert!(status.success(), "{shown}");
    assert!(shown.contains("connected"), "{shown}");
    assert!(
        !shown.contains("redis://localhost:6379/0"),
        "hidden input was echoed: {shown}"
    );
    assert_eq!(sb.json(&["status", "redis"])["status"], "connected");
}

#[test]
fn a_server_that_prints_its_secret_does_not_leak_it_into_errors_or_logs() {
    let sb = Sandbox::new();
    let secret = "tok-leaky-8e21f0";
    sb.ok(&[
        "add",
        "leaky",
        "--env",
        "LEAKY_TOKEN",
        "--command",
        "sh",
        "-c",
        "echo \"my token is $LEAKY_TOKEN\" >&2; exit 1",
    ]);
    let mut child = sb
        .command()
        .args(["secret", "set", "leaky", "LEAKY_TOKEN"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(secret.as_bytes())
            .unwrap();
    }
    assert!(child.wait().unwrap().success());
    let out = sb.run(&["connect", "leaky"]);
    assert_eq!(code(&out), 6);
    let message = stderr(&out);
    assert!(message.contains("my token is ***"), "{message}");
    assert!(!message.contains(secret), "{message}");
    let log = sb.ok(&["logs", "leaky"]);
    assert!(
        log.contains("my token is ***") && !log.contains(secret),
        "{log}"
    );
    let status = sb.ok(&["status", "leaky", "--json"]);
    assert!(!status.contains(secret));
}

#[test]
fn without_a_container_engine_a_database_connector_offers_its_skill() {
    let sb = Sandbox::new();
    let out = sb.run_env(
        &["connect", "postgres"],
        &[
            ("POSTGRES_URL", PG_URL),
            ("SWITCHBOARD_CONTAINER_ENGINE", "/nonexistent/docker"),
        ],
    );
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("no container engine"), "{message}");
    assert!(
        message.contains("switchboard connect postgres --backend skill"),
        "{message}"
    );
}
