//! Hooking MCP clients up: `client-config` prints or installs the gateway
//! entry for a client, and `import` turns a client's servers into custom
//! connectors — secrets into the secret store, never into settings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{server_everything, Sandbox};
use serde_json::{json, Value};

#[test]
fn client_config_prints_and_installs_the_gateway_entry() {
    let sb = Sandbox::new();
    let snippet: Value =
        serde_json::from_str(&sb.ok(&["client-config", "claude-desktop"])).unwrap();
    let entry = &snippet["mcpServers"]["switchboard"];
    assert_eq!(entry["command"], env!("CARGO_BIN_EXE_switchboard"));
    assert_eq!(
        entry["args"],
        json!([
            "--home",
            sb.home().display().to_string(),
            "--settings",
            sb.settings().display().to_string(),
            "gateway"
        ])
    );

    let file = sb.dir.path().join("mcp.json");
    let original = "{\n  // my servers\n  \"servers\": {\n    \"other\": { \"type\": \"stdio\", \"command\": \"other-server\" },\n  },\n  \"inputs\": [],\n}\n";
    std::fs::write(&file, original).unwrap();
    let out = sb.ok(&[
        "client-config",
        "vscode",
        "--install",
        "--config",
        &file.display().to_string(),
    ]);
    assert!(out.contains("installed"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("{\n  // my servers\n  \"servers\": {\n    \"other\": { \"type\": \"stdio\", \"command\": \"other-server\" },\n"), "{text}");
    let parsed: Value = jsonc_parser::parse_to_serde_value(&text, &Default::default()).unwrap();
    assert_eq!(parsed["servers"]["switchboard"]["type"], "stdio");
    assert_eq!(parsed["servers"]["other"]["command"], "other-server");
    let again = sb.ok(&[
        "client-config",
        "vscode",
        "--install",
        "--config",
        &file.display().to_string(),
    ]);
    assert!(again.contains("already has"), "{again}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn import_turns_a_clients_servers_into_connectors_with_secrets_kept_apart() {
    let sb = Sandbox::new();
    let token = "ghp_imported_secret_51c0";
    let config = sb.dir.path().join("claude_desktop_config.json");
    let body = json!({
        "mcpServers": {
            "Everything Server": {
                "command": "node",
                "args": [server_everything(), "stdio"],
                "env": {"LOG_LEVEL": "debug", "GITHUB_TOKEN": token}
            },
            "switchboard": {"command": env!("CARGO_BIN_EXE_switchboard"), "args": ["gateway"]}
        }
    });
    std::fs::write(&config, serde_json::to_string_pretty(&body).unwrap()).unwrap();
    let out = sb.ok(&[
        "import",
        "claude-desktop",
        "--config",
        &config.display().to_string(),
    ]);
    assert!(
        out.contains("imported Everything Server as everything-server"),
        "{out}"
    );
    assert!(
        out.contains("skipped switchboard"),
        "the gateway itself is not imported: {out}"
    );

    let settings = sb.settings_json();
    let custom = &settings["codebuddy.connectors.custom"]["everything-server"];
    assert_eq!(custom["env"], json!({"LOG_LEVEL": "debug"}));
    assert_eq!(custom["passEnv"], json!(["GITHUB_TOKEN"]));
    assert!(!std::fs::read_to_string(sb.settings())
        .unwrap()
        .contains(token));
    let config_status = sb.json(&["config", "everything-server"]);
    assert_eq!(config_status[0]["name"], "GITHUB_TOKEN");
    assert_eq!(config_status[0]["set"], true);

    // It runs, and the server receives the token from the secret store.
    assert_eq!(sb.ok(&["connect", "everything-server"]).trim(), "connected");
    let env_dump = sb.ok(&["call", "everything-server", "get-env", "{}"]);
    assert!(
        env_dump.contains(token) && env_dump.contains("LOG_LEVEL"),
        "{env_dump}"
    );

    let out = sb.ok(&[
        "import",
        "claude-desktop",
        "--config",
        &config.display().to_string(),
    ]);
    assert!(out.contains("already exists"), "{out}");
}
