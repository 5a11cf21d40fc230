//! `switchboard client-config` and `switchboard import`: hooking MCP
//! clients (Claude Desktop, Claude Code, VS Code, Cursor, Codex) up to the
//! gateway, and turning the servers already in their configs into custom
//! connectors. The file formats live in the library's `clients` module;
//! this is the CLI's part.

use std::collections::BTreeMap;
use std::path::PathBuf;

use switchboard::clients::{
    GatewayEndpoint, ImportedServer, McpClient, SecretSource, DEFAULT_SERVER_NAME,
};
use switchboard::{Client, CustomConnector, Error, ErrorCode, Paths};

/// The stdio endpoint: this binary, with the data dir and settings spelled
/// out, because clients start servers with a minimal environment.
pub fn stdio_endpoint(paths: &Paths) -> Result<GatewayEndpoint, Error> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Internal(format!("cannot find our own executable: {e}")))?;
    Ok(GatewayEndpoint::Stdio {
        command: exe.display().to_string(),
        args: vec![
            "--home".into(),
            paths.home.display().to_string(),
            "--settings".into(),
            paths.settings.display().to_string(),
            "gateway".into(),
        ],
    })
}

/// Prints the snippet, or writes it into the client's config file; for a
/// profile, a gateway of that profile as a server of its own name.
pub fn client_config(
    client: McpClient,
    paths: &Paths,
    install: bool,
    config: Option<PathBuf>,
    profile: Option<&str>,
) -> Result<String, Error> {
    let mut endpoint = stdio_endpoint(paths)?;
    let server = match profile {
        Some(name) => {
            if let GatewayEndpoint::Stdio { args, .. } = &mut endpoint {
                args.extend(["--profile".to_string(), name.to_string()]);
            }
            format!("{DEFAULT_SERVER_NAME}-{name}")
        }
        None => DEFAULT_SERVER_NAME.to_string(),
    };
    let server = server.as_str();
    if !install {
        return Ok(client.snippet(server, &endpoint));
    }
    let path = match config {
        Some(path) => path,
        None => client
            .require_default_config_path()
            .map_err(|e| Error::InvalidInput(e.to_string()))?,
    };
    let changed = client
        .install(&path, server, &endpoint)
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
    Ok(if changed {
        format!("installed the `{server}` server in {}", path.display())
    } else {
        format!("{} already has the `{server}` server", path.display())
    })
}

/// Adds the client's servers as custom connectors; returns one line per
/// server saying what happened.
pub async fn import(
    service: &Client,
    client: McpClient,
    config: Option<PathBuf>,
) -> Result<Vec<String>, Error> {
    let path = match config {
        Some(path) => path,
        None => client
            .require_default_config_path()
            .map_err(|e| Error::InvalidInput(e.to_string()))?,
    };
    let servers = client
        .read_servers(&path)
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
    let mut lines = Vec::new();
    for server in servers {
        if let Some(reason) = &server.skipped {
            lines.push(format!("skipped {}: {reason}", server.original_name));
            continue;
        }
        let (connector, secrets) = match to_connector(&server) {
            Ok(found) => found,
            Err(err) => {
                lines.push(format!("skipped {}: {err}", server.original_name));
                continue;
            }
        };
        match service.add(&server.name, connector, secrets).await {
            Ok(_) => lines.push(format!(
                "imported {} as {}",
                server.original_name, server.name
            )),
            Err(Error::Remote {
                code: ErrorCode::AlreadyExists,
                ..
            }) => lines.push(format!(
                "skipped {}: a connector named `{}` already exists",
                server.original_name, server.name
            )),
            Err(err) => return Err(err),
        }
    }
    Ok(lines)
}

/// `add NAME --json '{…}'`: a definition in the shape of a
/// `codebuddy.mcp.servers` entry (VS Code's), read the way `import` reads a
/// client's servers — secrets written in clear go to the secret store,
/// `${env:X}` references become pass-through variables.
pub fn connector_from_json(
    name: &str,
    text: &str,
) -> Result<(CustomConnector, BTreeMap<String, String>), Error> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Error::InvalidInput(format!(
            "the definition is not valid JSON ({e}): give an object such as '{{\"command\":\"npx\",\"args\":[\"-y\",\"pkg\"]}}'"
        ))
    })?;
    if !value.is_object() {
        return Err(Error::InvalidInput(format!(
            "the definition must be a JSON object, not {value}"
        )));
    }
    let server = McpClient::Vscode.interpret_one(name, value);
    if let Some(reason) = &server.skipped {
        return Err(Error::InvalidInput(format!(
            "cannot add `{name}`: {reason}"
        )));
    }
    to_connector(&server)
}

/// One imported server as a custom connector. Plain values are kept;
/// secrets written in clear go to the secret store (returned apart);
/// references to environment variables become pass-through variables.
fn to_connector(
    server: &ImportedServer,
) -> Result<(CustomConnector, BTreeMap<String, String>), Error> {
    let mut secrets = BTreeMap::new();
    let mut custom = match (&server.command, &server.url) {
        (Some(command), _) => CustomConnector {
            command: Some(command.clone()),
            args: server.args.clone(),
            env: server.env.clone(),
            ..CustomConnector::default()
        },
        (None, Some(url)) => CustomConnector {
            url: Some(url.clone()),
            transport: server.transport,
            headers: server.headers.clone(),
            ..CustomConnector::default()
        },
        (None, None) => {
            return Err(Error::InvalidInput(
                "it has neither a command nor a URL".into(),
            ));
        }
    };
    for name in &server.secret_env {
        custom.pass_env.push(name.clone());
        if let Some(SecretSource::Literal(value)) = server.secret_env_sources.get(name) {
            if !value.expose().is_empty() {
                secrets.insert(name.clone(), value.expose().to_string());
            }
        }
    }
    for header in &server.secret_headers {
        custom.secret_headers.push(header.clone());
        if let Some(SecretSource::Literal(value)) = server.secret_header_sources.get(header) {
            if !value.expose().is_empty() {
                secrets.insert(
                    switchboard::connector::header_field(header),
                    value.expose().to_string(),
                );
            }
        }
    }
    for param in &server.secret_query {
        custom.secret_query.push(param.clone());
        if let Some(SecretSource::Literal(value)) = server.secret_query_sources.get(param) {
            if !value.expose().is_empty() {
                secrets.insert(
                    switchboard::connector::query_field(param),
                    value.expose().to_string(),
                );
            }
        }
    }
    Ok((custom, secrets))
}
