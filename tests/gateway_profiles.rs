//! Gateway profiles (issue "Many connectors, one agent"): `profile
//! create|ls|show|rm|export|import` with `--json`, stored in the settings
//! file beside what the person wrote; `gateway --profile`, `/mcp?profile=`
//! and `client-config --profile` serve only the profile's connectors and
//! tools — to the TypeScript SDK's client and the Python SDK's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{code, stderr, Sandbox};
use serde_json::json;

/// server-everything twice (`ev`, `other`), both connected.
fn two_connectors() -> Sandbox {
    let sb = Sandbox::with_everything();
    sb.add_everything("other");
    sb.ok(&["connect", "other"]);
    sb
}

/// The TypeScript SDK client's tool names through `argv`.
fn typescript_tools(argv: &[String]) -> Vec<String> {
    let mut args = vec!["stdio".to_string()];
    args.extend_from_slice(argv);
    let report = common::typescript_report(args);
    serde_json::from_value(report["tools"].clone()).unwrap()
}

#[test]
fn profiles_are_made_listed_moved_and_removed_from_the_cli() {
    let sb = two_connectors();
    std::fs::write(
        sb.settings(),
        std::fs::read_to_string(sb.settings()).unwrap().replacen(
            '{',
            "{\n  // mine\n  \"editor.fontSize\": 14,",
            1,
        ),
    )
    .unwrap();
    let made = sb.json(&[
        "profile",
        "create",
        "work",
        "--connectors",
        "ev",
        "--tools",
        "ev:echo,ev:get-sum",
    ]);
    assert_eq!(
        made,
        json!({"connectors": ["ev"], "tools": ["ev:echo", "ev:get-sum"]})
    );
    let text = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(
        text.contains("// mine") && text.contains("\"editor.fontSize\": 14"),
        "{text}"
    );
    let listed = sb.json(&["profile", "ls"]);
    assert_eq!(listed["work"]["connectors"], json!(["ev"]));
    assert!(sb.ok(&["profile", "show", "work"]).contains("ev:echo"));

    // Bad input: each its own clear message, nothing stored.
    for (args, says) in [
        (
            vec!["profile", "create", "work", "--connectors", "ev"],
            "exists",
        ),
        (
            vec!["profile", "create", "x", "--connectors", "nosuch"],
            "nosuch",
        ),
        (
            vec![
                "profile",
                "create",
                "y",
                "--connectors",
                "ev",
                "--tools",
                "other:echo",
            ],
            "not among",
        ),
        (
            vec!["profile", "create", "a b", "--connectors", "ev"],
            "profile name",
        ),
        (vec!["profile", "show", "nope"], "no profile `nope`"),
        (vec!["gateway", "--profile", "nope"], "no profile `nope`"),
    ] {
        let out = sb.run(&args);
        assert_ne!(code(&out), 0, "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(sb.json(&["profile", "ls"]).as_object().unwrap().len(), 1);

    // Export, remove, import: the same profile back, under another name too.
    let file = sb.dir.path().join("work.json");
    sb.ok(&["profile", "export", "work", "--out", file.to_str().unwrap()]);
    sb.ok(&["profile", "rm", "work"]);
    assert!(sb.json(&["profile", "ls"]).as_object().unwrap().is_empty());
    sb.ok(&["profile", "import", file.to_str().unwrap()]);
    sb.ok(&[
        "profile",
        "import",
        file.to_str().unwrap(),
        "--name",
        "work2",
    ]);
    let listed = sb.json(&["profile", "ls"]);
    assert_eq!(listed["work"], listed["work2"]);
    assert_eq!(listed["work"]["tools"], json!(["ev:echo", "ev:get-sum"]));
}

#[test]
fn a_profile_session_serves_only_its_connectors_and_tools() {
    let sb = two_connectors();
    sb.ok(&[
        "profile",
        "create",
        "work",
        "--connectors",
        "ev",
        "--tools",
        "ev:echo,ev:get-sum",
    ]);
    sb.ok(&["profile", "create", "others", "--connectors", "other"]);

    let mut argv = sb.gateway_argv();
    argv.extend(["--profile".to_string(), "work".to_string()]);
    let mut tools = typescript_tools(&argv);
    tools.sort();
    assert_eq!(tools, ["ev__echo", "ev__get-sum"]);

    let mut argv = sb.gateway_argv();
    argv.extend(["--profile".to_string(), "others".to_string()]);
    let tools = typescript_tools(&argv);
    assert!(tools.iter().all(|t| t.starts_with("other__")), "{tools:?}");
    assert!(tools.len() > 5, "{tools:?}");
    // Without a profile: both.
    let tools = typescript_tools(&sb.gateway_argv());
    assert!(
        tools.iter().any(|t| t.starts_with("ev__"))
            && tools.iter().any(|t| t.starts_with("other__"))
    );

    // Over HTTP: the Python SDK's client, searching within the profile,
    // finds and calls its tool; another connector's stays out of reach.
    let (url, token) = sb.http_endpoint();
    let target = [
        "--http".to_string(),
        format!("{url}?tools=search&profile=work"),
        token.clone(),
    ];
    let mut args = vec![
        "echo a message".to_string(),
        r#"{"message": "in profile"}"#.to_string(),
    ];
    args.extend(target);
    let report = common::python_report("search_client.py", args.clone());
    assert_eq!(report["found"][0], "ev__echo", "{report}");
    assert_eq!(report["call"], "Echo: in profile", "{report}");
    assert_eq!(
        report["connectors"],
        json!([{"name": "ev", "tools": 2}]),
        "{report}"
    );

    // The profile changed: the next session over HTTP serves it as it is now.
    sb.ok(&["profile", "rm", "work"]);
    sb.ok(&[
        "profile",
        "create",
        "work",
        "--connectors",
        "ev",
        "--tools",
        "ev:echo",
    ]);
    let report = common::python_report("search_client.py", args);
    assert_eq!(
        report["connectors"],
        json!([{"name": "ev", "tools": 1}]),
        "{report}"
    );

    // An unknown profile over HTTP is a 404 that names it.
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{url}?profile=nope"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", "Accept: application/json, text/event-stream"])
        .args(["-d", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");

    // client-config writes the profile's gateway as a server of its own.
    let snippet = sb.ok(&["client-config", "claude-desktop", "--profile", "work"]);
    assert!(snippet.contains("switchboard-work"), "{snippet}");
    assert!(
        snippet.contains("\"--profile\"") && snippet.contains("\"work\""),
        "{snippet}"
    );
}
