//! MCP client configs: the gateway snippet for each client, installing it into real-shaped
//! config files (created, updated, left byte-identical elsewhere, refused when malformed), and
//! reading servers back for import with secrets kept out of the stored values.
//!
//! The fixtures in `tests/fixtures/clients/` follow the shapes the clients document; the
//! `*.installed.*` files are the exact expected results of installing the stdio gateway
//! (regenerate them with `SWITCHBOARD_BLESS=1` after checking the diff by eye).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use switchboard::clients::{
    ClientConfigError, GatewayEndpoint, ImportedServer, McpClient, SecretSource,
};
use switchboard::secrets::Secret;
use tempfile::TempDir;

fn stdio() -> GatewayEndpoint {
    GatewayEndpoint::Stdio {
        command: "/usr/local/bin/switchboard".into(),
        args: vec!["gateway".into()],
    }
}

fn http() -> GatewayEndpoint {
    GatewayEndpoint::Http {
        url: "http://127.0.0.1:8931/mcp".into(),
        bearer_token_env_var: Some("SWITCHBOARD_TOKEN".into()),
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/clients")
        .join(name)
}

/// A copy of fixture `name` in a fresh temp dir.
fn copy_fixture(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(name);
    fs::copy(fixture(name), &path).unwrap();
    (dir, path)
}

/// Parses a JSON client's file (comments allowed) or Codex's TOML into one JSON value.
fn parse(client: McpClient, text: &str) -> Value {
    match client {
        McpClient::Codex => toml::from_str(text).unwrap(),
        _ => jsonc_parser::parse_to_serde_value(text, &Default::default()).unwrap(),
    }
}

/// Asserts that `after` is `before` with one contiguous run of text inserted, and returns it.
fn inserted(before: &str, after: &str) -> String {
    let prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before[prefix..]
        .bytes()
        .rev()
        .zip(after[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "more than one insertion:\n--- before\n{before}\n--- after\n{after}"
    );
    after[prefix..after.len() - suffix].to_string()
}

/// Compares `actual` with the golden file `name`, or rewrites it under `SWITCHBOARD_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var_os("SWITCHBOARD_BLESS").is_some() {
        fs::write(&path, actual).unwrap();
    }
    let expected = fs::read_to_string(&path).unwrap();
    assert_eq!(actual, expected, "golden file {name} differs");
}

#[test]
fn snippets_parse_and_have_each_clients_shape() {
    let want: Value =
        serde_json::from_str(&fs::read_to_string(fixture("snippets.json")).unwrap()).unwrap();
    for client in McpClient::ALL {
        for (kind, endpoint) in [("stdio", stdio()), ("http", http())] {
            let got = parse(client, &client.snippet("switchboard", &endpoint));
            assert_eq!(got, want[client.cli_name()][kind], "{client} {kind}");
        }
    }
    // Without a token there is no header at all.
    let plain = GatewayEndpoint::Http {
        url: "http://127.0.0.1:1/mcp".into(),
        bearer_token_env_var: None,
    };
    assert_eq!(
        parse(McpClient::Vscode, &McpClient::Vscode.snippet("sb", &plain)),
        json!({"servers": {"sb": {"type": "http", "url": "http://127.0.0.1:1/mcp"}}})
    );
    // The exact text, keys in the order the clients' docs show them.
    golden(
        "snippet.vscode.json",
        &McpClient::Vscode.snippet("switchboard", &stdio()),
    );
    golden(
        "snippet.codex.toml",
        &McpClient::Codex.snippet("switchboard", &http()),
    );
}

#[test]
fn install_creates_a_missing_file_and_its_directories() {
    for client in McpClient::ALL {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("nested/deeper/config");
        assert!(client.install(&path, "switchboard", &stdio()).unwrap());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            parse(client, &text),
            parse(client, &client.snippet("switchboard", &stdio())),
            "{client}"
        );
        // Installing again is a no-op; so is installing into what the snippet would paste.
        assert!(!client.install(&path, "switchboard", &stdio()).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        // No temp files are left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["config"], "{client}");
        let pasted = dir.path().join("pasted");
        fs::write(&pasted, client.snippet("switchboard", &stdio())).unwrap();
        assert!(!client.install(&pasted, "switchboard", &stdio()).unwrap());
    }
}

#[test]
fn install_into_existing_files_touches_only_the_new_entry() {
    let cases = [
        (McpClient::Vscode, "vscode-mcp.json"),
        (McpClient::ClaudeDesktop, "claude_desktop_config.json"),
        (McpClient::ClaudeCode, "claude.json"),
        (McpClient::Cursor, "cursor-mcp.json"),
        (McpClient::Codex, "codex-config.toml"),
    ];
    for (client, name) in cases {
        let (_dir, path) = copy_fixture(name);
        let installed = name
            .replace(".json", ".installed.json")
            .replace(".toml", ".installed.toml");
        let before = fs::read_to_string(&path).unwrap();
        assert!(
            client.install(&path, "switchboard", &stdio()).unwrap(),
            "{client}"
        );
        let after = fs::read_to_string(&path).unwrap();
        let added = inserted(&before, &after);
        assert!(added.contains("switchboard"), "{client}: {added}");
        golden(&installed, &after);
        // The new entry parses and holds exactly the snippet's value.
        let key = match client {
            McpClient::Vscode => "servers",
            McpClient::Codex => "mcp_servers",
            _ => "mcpServers",
        };
        let snippet = parse(client, &client.snippet("switchboard", &stdio()));
        assert_eq!(
            parse(client, &after)[key]["switchboard"],
            snippet[key]["switchboard"],
            "{client}"
        );
        // Twice is a no-op.
        assert!(
            !client.install(&path, "switchboard", &stdio()).unwrap(),
            "{client}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), after, "{client}");
    }
}

#[test]
fn reinstalling_another_endpoint_keeps_the_users_additions_to_the_entry() {
    // Only the keys saying how to reach the server change; a comment, `tool_timeout_sec` or
    // VS Code's `dev` stay where they were.
    for (client, name, installed) in [
        (
            McpClient::Codex,
            "codex-own-entry.toml",
            "codex-own-entry.installed.toml",
        ),
        (
            McpClient::Vscode,
            "vscode-own-entry.json",
            "vscode-own-entry.installed.json",
        ),
    ] {
        let (_dir, path) = copy_fixture(name);
        assert!(client.install(&path, "switchboard", &http()).unwrap());
        golden(installed, &fs::read_to_string(&path).unwrap());
        assert!(!client.install(&path, "switchboard", &http()).unwrap());
    }
}

#[test]
fn malformed_or_misshapen_files_are_refused_and_left_untouched() {
    let dir = TempDir::new().unwrap();
    // (client, file, text, where the parse error is, if it is one)
    type Case = (
        McpClient,
        &'static str,
        &'static str,
        Option<(usize, usize)>,
    );
    let cases: [Case; 6] = [
        (
            McpClient::Vscode,
            "a.json",
            "{\n  \"servers\": {\n    \"x\": ,\n  }\n}\n",
            Some((3, 10)),
        ),
        (McpClient::Cursor, "b.json", "{ \"mcpServers\": { ", None),
        (
            McpClient::ClaudeCode,
            "c.json",
            "{ \"mcpServers\": [] }\n",
            None,
        ),
        (McpClient::ClaudeDesktop, "d.json", "[1, 2]\n", None),
        (
            McpClient::Codex,
            "e.toml",
            "model = \"x\"\n[mcp_servers.a\ncommand = \"y\"\n",
            Some((2, 15)),
        ),
        (McpClient::Codex, "f.toml", "mcp_servers = 3\n", None),
    ];
    for (client, name, text, position) in cases {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        let err = client.install(&path, "switchboard", &stdio()).unwrap_err();
        match (&err, position) {
            (
                ClientConfigError::Malformed {
                    line,
                    column,
                    path: p,
                    ..
                },
                Some(want),
            ) => {
                assert_eq!((*line, *column), want, "{client}: {err}");
                assert_eq!(p, &path);
            }
            (ClientConfigError::Malformed { .. }, None) => {}
            (ClientConfigError::WrongShape { path: p, .. }, None) => assert_eq!(p, &path),
            _ => panic!("{client}: unexpected {err:?}"),
        }
        assert!(err.to_string().contains(name), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "{client}");
        assert!(client.read_servers(&path).is_err(), "{client}");
    }
    let missing = dir.path().join("none.json");
    assert!(matches!(
        McpClient::Cursor.read_servers(&missing),
        Err(ClientConfigError::NotFound { .. })
    ));
    assert!(matches!(
        McpClient::Cursor.install(&missing, "bad name", &stdio()),
        Err(ClientConfigError::InvalidServerName { .. })
    ));
    assert!(!missing.exists());
}

/// Builds the expected [`ImportedServer`]s tersely.
struct Expect(ImportedServer);

impl Expect {
    fn new(name: &str, original: &str) -> Self {
        Expect(ImportedServer {
            name: name.into(),
            original_name: original.into(),
            command: None,
            args: vec![],
            url: None,
            transport: None,
            env: BTreeMap::new(),
            secret_env: vec![],
            secret_env_sources: BTreeMap::new(),
            headers: BTreeMap::new(),
            secret_headers: vec![],
            secret_header_sources: BTreeMap::new(),
            secret_query: vec![],
            secret_query_sources: BTreeMap::new(),
            skipped: None,
        })
    }
    fn stdio(name: &str, original: &str, command: &str, args: &[&str]) -> Self {
        let mut e = Self::new(name, original);
        e.0.command = Some(command.into());
        e.0.args = args.iter().map(|s| s.to_string()).collect();
        e
    }
    fn remote(name: &str, original: &str, url: &str, transport: Option<&str>) -> Self {
        let mut e = Self::new(name, original);
        e.0.url = Some(url.into());
        e.0.transport = transport.map(|t| t.parse().expect("a transport name"));
        e
    }
    fn env(mut self, key: &str, value: &str) -> Self {
        self.0.env.insert(key.into(), value.into());
        self
    }
    fn secret_env(mut self, key: &str, source: SecretSource) -> Self {
        self.0.secret_env.push(key.into());
        self.0.secret_env_sources.insert(key.into(), source);
        self
    }
    fn header(mut self, key: &str, value: &str) -> Self {
        self.0.headers.insert(key.into(), value.into());
        self
    }
    fn secret_header(mut self, key: &str, source: SecretSource) -> Self {
        self.0.secret_headers.push(key.into());
        self.0.secret_header_sources.insert(key.into(), source);
        self
    }
    fn skipped(mut self, reason: &str) -> ImportedServer {
        self.0.skipped = Some(reason.into());
        self.0
    }
    fn ok(self) -> ImportedServer {
        self.0
    }
}

fn reference(template: &str, env_vars: &[&str], inputs: &[&str]) -> SecretSource {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    SecretSource::Reference {
        template: template.into(),
        env_vars: strings(env_vars),
        inputs: strings(inputs),
    }
}

fn literal(value: &str) -> SecretSource {
    SecretSource::Literal(Secret::new(value))
}

const GATEWAY_SKIPPED: &str =
    "it is Switchboard's own gateway; importing it would make the gateway call itself";
const GH_TOKEN: &str = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";

#[test]
fn claude_desktop_round_trip_skips_the_gateway_and_keeps_secrets_out() {
    let (_dir, path) = copy_fixture("claude_desktop_config.json");
    let client = McpClient::ClaudeDesktop;
    client.install(&path, "switchboard", &stdio()).unwrap();
    // Under another name the gateway is recognised by its command.
    client.install(&path, "sb-again", &stdio()).unwrap();
    let servers = client.read_servers(&path).unwrap();

    let gateway = ("/usr/local/bin/switchboard", ["gateway"]);
    let expected = vec![
        Expect::stdio(
            "github",
            "github",
            "npx",
            &["-y", "@modelcontextprotocol/server-github"],
        )
        .env("LOG_LEVEL", "debug")
        .secret_env("GITHUB_TOKEN", literal(GH_TOKEN))
        .ok(),
        Expect::stdio(
            "brave-search",
            "Brave Search",
            "npx",
            &["-y", "@modelcontextprotocol/server-brave-search"],
        )
        .secret_env("BRAVE_API_KEY", literal("BSA-example"))
        .ok(),
        Expect::stdio("switchboard", "switchboard", gateway.0, &gateway.1).skipped(GATEWAY_SKIPPED),
        Expect::stdio("sb-again", "sb-again", gateway.0, &gateway.1).skipped(GATEWAY_SKIPPED),
    ];
    assert_eq!(servers, expected);
    // Debug output never shows a secret value.
    assert!(!format!("{servers:?}").contains("ghp_"));
}

#[test]
fn vscode_round_trip_classifies_inputs_env_references_and_predefined_variables() {
    let (_dir, path) = copy_fixture("vscode-mcp.json");
    McpClient::Vscode
        .install(&path, "switchboard", &http())
        .unwrap();
    let servers = McpClient::Vscode.read_servers(&path).unwrap();

    let docker_args = [
        "run",
        "-i",
        "--rm",
        "-e",
        "GITHUB_PERSONAL_ACCESS_TOKEN",
        "ghcr.io/github/github-mcp-server",
    ];
    let files_args = [
        "-y",
        "@modelcontextprotocol/server-filesystem",
        "${workspaceFolder}",
    ];
    let expected = vec![
        Expect::stdio("github-server", "GitHub Server", "docker", &docker_args)
            .env("LOG_LEVEL", "debug")
            .secret_env("GITHUB_PERSONAL_ACCESS_TOKEN", reference("${input:token}", &[], &["token"]))
            .ok(),
        Expect::remote("perplexity", "perplexity", "https://api.perplexity.ai/mcp", Some("http"))
            .secret_header("Authorization", reference("Bearer ${env:PPLX_API_KEY}", &["PPLX_API_KEY"], &[]))
            .ok(),
        Expect::stdio("files", "files", "npx", &files_args).skipped(
            "its arguments use `${workspaceFolder}`, which only VS Code fills in; replace it in the \
             client's config (or add the server by hand with `switchboard add`) and import again",
        ),
        Expect::remote("switchboard", "switchboard", "http://127.0.0.1:8931/mcp", Some("http"))
            .skipped(GATEWAY_SKIPPED),
    ];
    assert_eq!(servers, expected);
}

#[test]
fn claude_code_and_cursor_read_their_remote_servers() {
    let servers = McpClient::ClaudeCode
        .read_servers(&fixture("claude.json"))
        .unwrap();
    let expected = vec![
        Expect::remote(
            "sentry",
            "sentry",
            "https://mcp.sentry.dev/mcp",
            Some("http"),
        )
        .ok(),
        Expect::remote("asana", "asana", "https://mcp.asana.com/sse", Some("sse"))
            .header("X-Workspace", "acme")
            .secret_header(
                "Authorization",
                reference("Bearer ${ASANA_TOKEN}", &["ASANA_TOKEN"], &[]),
            )
            .ok(),
        Expect::stdio(
            "airtable",
            "airtable",
            "npx",
            &["-y", "airtable-mcp-server"],
        )
        .env("NODE_ENV", "production")
        .secret_env(
            "AIRTABLE_API_KEY",
            reference("${AIRTABLE_API_KEY:-}", &["AIRTABLE_API_KEY"], &[]),
        )
        .ok(),
    ];
    // Only the user scope: the project-local `local-only` server is not read.
    assert_eq!(servers, expected);

    let servers = McpClient::Cursor
        .read_servers(&fixture("cursor-mcp.json"))
        .unwrap();
    let expected = vec![
        Expect::stdio(
            "playwright",
            "playwright",
            "npx",
            &["@playwright/mcp@latest"],
        )
        .ok(),
        Expect::remote("linear", "linear", "https://mcp.linear.app/mcp", None)
            .secret_header(
                "Authorization",
                reference("Bearer ${env:LINEAR_TOKEN}", &["LINEAR_TOKEN"], &[]),
            )
            .ok(),
    ];
    assert_eq!(servers, expected);
}

#[test]
fn codex_round_trip_reads_tables_and_env_var_names() {
    let (_dir, path) = copy_fixture("codex-config.toml");
    McpClient::Codex
        .install(&path, "switchboard", &stdio())
        .unwrap();
    let servers = McpClient::Codex.read_servers(&path).unwrap();

    let figma_token = reference(
        "Bearer ${env:FIGMA_OAUTH_TOKEN}",
        &["FIGMA_OAUTH_TOKEN"],
        &[],
    );
    let expected = vec![
        Expect::stdio(
            "context7",
            "context7",
            "npx",
            &["-y", "@upstash/context7-mcp"],
        )
        .env("LOG_LEVEL", "debug")
        .secret_env("GITHUB_TOKEN", literal(GH_TOKEN))
        .ok(),
        Expect::remote("figma", "figma", "https://mcp.figma.com/mcp", Some("http"))
            .header("X-Figma-Region", "us-east-1")
            .secret_header("Authorization", figma_token)
            .ok(),
        Expect::stdio(
            "switchboard",
            "switchboard",
            "/usr/local/bin/switchboard",
            &["gateway"],
        )
        .skipped(GATEWAY_SKIPPED),
    ];
    assert_eq!(servers, expected);

    // `env_vars` and `env_http_headers` name variables: references, never values.
    fs::copy(fixture("codex-env-vars.toml"), &path).unwrap();
    let env_ref = |name: &str| reference(&format!("${{env:{name}}}"), &[name], &[]);
    let expected = vec![
        Expect::stdio("db", "db", "db-mcp", &[])
            .secret_env("PGHOST", env_ref("PGHOST"))
            .secret_env("PGPASSWORD", env_ref("PGPASSWORD"))
            .ok(),
        Expect::remote("api", "api", "https://api.example.com/mcp", Some("http"))
            .secret_header("X-Key", env_ref("API_KEY"))
            .ok(),
    ];
    assert_eq!(McpClient::Codex.read_servers(&path).unwrap(), expected);
}

#[test]
fn import_refuses_entries_it_cannot_carry_over_safely() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("mcp.json");
    fs::copy(fixture("cursor-unimportable.json"), &path).unwrap();
    let servers = McpClient::Cursor.read_servers(&path).unwrap();
    // No secret value shows in any message or in Debug output.
    assert!(!format!("{servers:?}").contains("abc123"));
    let reasons: Vec<(&str, Option<&str>)> = servers
        .iter()
        .map(|s| (s.name.as_str(), s.skipped.as_deref()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("my-tool", Some("argument 1 looks like a credential (`api-key`); pass it through an environment variable instead and import again")),
            ("my-tool", None),
            ("ws", Some("its type `websocket` is not supported")),
            ("creds", None),
            ("cwd", Some("it sets `cwd` (\"/srv\"), which a connector cannot: add the server by hand with `switchboard add`")),
            ("nothing", Some("it has neither a `command` nor a `url`")),
            ("my_tool", None),
        ]
    );
    // A URL's credentials are split off, to go to the secret store: its
    // user info as the Authorization header it would have sent.
    let creds = servers.iter().find(|s| s.name == "creds").unwrap();
    assert_eq!(creds.url.as_deref(), Some("https://example.com/mcp"));
    assert_eq!(creds.secret_headers, vec!["Authorization".to_string()]);
    assert!(matches!(
        &creds.secret_header_sources["Authorization"],
        SecretSource::Literal(value) if value.expose() == "Basic dXNlcjpwdw=="
    ));
    // Two entries that sanitize to one name: the second is not silently renamed.
    let text = r#"{"mcpServers": {"A b": {"command": "x"}, "a-b": {"command": "y"}}}"#;
    fs::write(&path, text).unwrap();
    let servers = McpClient::Cursor.read_servers(&path).unwrap();
    assert!(servers[0].is_importable());
    assert_eq!(
        servers[1].skipped.as_deref(),
        Some("its name becomes `a-b`, like `A b` before it; rename one of them in the client's config and import again")
    );
}

#[test]
fn default_paths_come_from_home_at_run_time() {
    let home = TempDir::new().unwrap();
    // This is the only test here that reads the environment, so setting it is safe.
    std::env::set_var("HOME", home.path());
    for var in ["XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "CODEX_HOME"] {
        std::env::remove_var(var);
    }
    let h = home.path();
    assert_eq!(
        McpClient::Cursor.default_config_path(),
        Some(h.join(".cursor/mcp.json"))
    );
    assert_eq!(
        McpClient::ClaudeCode.default_config_path(),
        Some(h.join(".claude.json"))
    );
    assert_eq!(
        McpClient::Codex.default_config_path(),
        Some(h.join(".codex/config.toml"))
    );
    if cfg!(target_os = "linux") {
        assert_eq!(
            McpClient::Vscode.default_config_path(),
            Some(h.join(".config/Code/User/mcp.json"))
        );
        assert_eq!(
            McpClient::ClaudeDesktop.default_config_path(),
            Some(h.join(".config/Claude/claude_desktop_config.json"))
        );
    }
    std::env::set_var("CODEX_HOME", h.join("codex-elsewhere"));
    assert_eq!(
        McpClient::Codex.default_config_path(),
        Some(h.join("codex-elsewhere/config.toml"))
    );
}
