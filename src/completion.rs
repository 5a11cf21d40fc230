//! Shell completion that knows the user's connectors and their tools
//! (clap_complete's dynamic completion). `switchboard completions SHELL`
//! prints a small script that asks `switchboard` itself at each TAB
//! (`COMPLETE=SHELL switchboard -- WORDS…`), so new connectors complete
//! without regenerating anything.
//!
//! Connector names come from the running service (custom ones included)
//! or, when none runs, the built-in catalog; completing never starts a
//! service. Tool names come from the running service, for the connector
//! named on the command line being completed.

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};
use clap_complete::Shell;
use switchboard::ipc::Request;
use switchboard::{Catalog, Client, ConnectorInfo, Paths};

/// The variable the printed scripts set when they ask for completions.
pub const VAR: &str = "COMPLETE";
/// A completion must not hang the shell.
const ASK_WITHIN: Duration = Duration::from_millis(800);

/// The registration script for `shell`.
pub fn script(shell: Shell) -> std::io::Result<String> {
    let completer = completer_path();
    let mut out = Vec::new();
    let writer: &dyn EnvCompleter = match shell {
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        _ => &Bash,
    };
    writer.write_registration(VAR, "switchboard", "switchboard", &completer, &mut out)?;
    out.flush()?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The program the script runs: this one, by the path it was run as when
/// that was a path, else `switchboard` from PATH.
fn completer_path() -> String {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if std::path::Path::new(&argv0).components().count() > 1 {
        if let Ok(path) = std::env::current_exe() {
            return path.display().to_string();
        }
    }
    "switchboard".to_string()
}

/// Candidates for a connector name.
pub fn connector_names() -> Vec<CompletionCandidate> {
    let from_service =
        ask(Request::List).and_then(|v| serde_json::from_value::<Vec<ConnectorInfo>>(v).ok());
    match from_service {
        Some(list) => list
            .into_iter()
            .map(|info| {
                CompletionCandidate::new(info.name).help(Some(
                    format!("{} ({})", info.display_name, info.status).into(),
                ))
            })
            .collect(),
        None => Catalog::builtin()
            .map(|catalog| {
                catalog
                    .iter()
                    .map(|d| CompletionCandidate::new(d.name.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Candidates for a tool of the connector named on the line being
/// completed (the word after `call` or `tools`).
pub fn tool_names() -> Vec<CompletionCandidate> {
    let words: Vec<OsString> = std::env::args_os().collect();
    let Some(name) = words
        .iter()
        .position(|w| w == "call" || w == "tools")
        .and_then(|i| words.get(i + 1))
        .and_then(|w| w.to_str())
    else {
        return Vec::new();
    };
    let Some(tools) = ask(Request::Tools {
        name: name.to_string(),
    }) else {
        return Vec::new();
    };
    tools
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let name = tool["name"].as_str()?;
            let help = tool["description"]
                .as_str()
                .and_then(|d| d.lines().next())
                .map(|d| d.to_string().into());
            Some(CompletionCandidate::new(name).help(help))
        })
        .collect()
}

/// One request to the running service, if one runs and answers quickly.
fn ask(request: Request) -> Option<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let paths = Paths::resolve(None, None);
    runtime.block_on(async move {
        let client = Client::new(paths);
        tokio::time::timeout(ASK_WITHIN, client.ask(&request))
            .await
            .ok()?
            .ok()
    })
}
