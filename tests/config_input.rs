//! Field values as a hostile or careless user gives them: a value that does
//! not fit its field (`allow_writes=banana`) is refused before anything is
//! stored; a secret field given with `--set` (argv, shell history, `ps`) is
//! refused with the stdin and environment alternatives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Output, Stdio};

use common::{code, stderr, Sandbox};
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
