//! The `switchboard` command: parses arguments, talks to the background
//! service through the library's client, and prints results for people or,
//! with `--json`, for scripts. Exit codes come from [`ErrorCode`].

mod callout;
mod cli;
mod clientcmd;
mod completion;
mod configure;
mod infocmd;
mod logincmd;
mod progress;
mod render;
mod term;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command, Output, SecretCommand};
use rmcp::model::{CallToolResult, Tool};
use switchboard::ipc::Request;
use switchboard::{
    Client, ConnectorInfo, CustomConnector, Error, ErrorCode, Paths, ServiceOptions, SettingsStore,
};

fn main() -> ExitCode {
    // `COMPLETE=bash switchboard -- WORDS…` (what `completions` scripts run
    // at each TAB): print the candidates and exit.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(completion::VAR)
        .complete();
    let cli = Cli::parse();
    let paths = Paths::resolve(cli.settings.clone(), cli.home.clone());
    if let Command::Completions { shell } = cli.command {
        // No service and no settings needed: the script only calls back.
        return match completion::script(shell) {
            Ok(script) => {
                switchboard::outln!("{}", script.trim_end());
                ExitCode::SUCCESS
            }
            Err(err) => {
                switchboard::errln!("error: cannot write the completion script: {err}");
                ExitCode::from(1)
            }
        };
    }
    let serving = matches!(cli.command, Command::Serve { .. });
    init_tracing(serving);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            switchboard::errln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command, paths)) {
        Ok(code) => code,
        Err(err) => {
            switchboard::errln!("error: {err}");
            ExitCode::from(u8::try_from(err.code().exit_code()).unwrap_or(1))
        }
    }
}

fn init_tracing(serving: bool) {
    // rmcp logs every session's start and end and every notification
    // (progress included) at info, and its per-session span is entered on
    // every poll of every request task: noise in the service log, and a
    // cost on every gateway call. Its warnings still show.
    let default = if serving { "info,rmcp=warn" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

async fn run(command: Command, paths: Paths) -> Result<ExitCode, Error> {
    let client = Client::new(paths.clone());
    if !matches!(command, Command::Shutdown | Command::Doctor(_)) {
        // Report a broken settings file here, with its line and column,
        // rather than as a service that failed to start.
        SettingsStore::new(paths.settings.clone()).load()?;
    }
    match command {
        Command::List { wide, out } => {
            let list: Vec<ConnectorInfo> = decode(client.call(&Request::List).await?)?;
            print(out, &list, || {
                render::list(&list, &term::Term::stdout(wide))
            });
        }
        Command::Add {
            name,
            command,
            image,
            url,
            transport,
            headers,
            env,
            oauth,
            cwd,
            json,
            args,
        } => {
            let out = Output {
                json: json.is_some(),
            };
            let definition = json.filter(|text| !text.is_empty());
            let remote = url.is_some()
                || definition
                    .as_deref()
                    .is_some_and(|text| text.contains("\"url\""));
            let (connector, secrets) = match (definition, url) {
                (Some(text), None) if command.is_none() && image.is_none() && args.is_empty() => {
                    clientcmd::connector_from_json(&name, &text)?
                }
                (Some(_), _) => {
                    return Err(Error::InvalidInput(
                        "give the definition either as `--json '{…}'` or with --command/--image/--url, not both".into(),
                    ))
                }
                (None, None) if command.is_none() && image.is_none() => {
                    // A usage error (exit 2), as clap's own would be.
                    Cli::command()
                        .error(
                            clap::error::ErrorKind::MissingRequiredArgument,
                            "say what runs it: --command CMD, --image IMAGE, --url URL, or the whole definition with --json '{…}'",
                        )
                        .exit()
                }
                (None, url) => match url {
                Some(url) => CustomConnector::remote(url, transport, &headers)?,
                None => {
                    let mut connector = CustomConnector::from_flags(command, image, args, &env)?;
                    if connector.command.is_some() {
                        connector.cwd = Some(configure::working_dir(cwd)?);
                    }
                    (connector, BTreeMap::new())
                }
                },
            };
            if !remote && oauth.client_id.is_some() {
                return Err(Error::InvalidInput(
                    "`--client-id` is for remote servers (`--url`)".into(),
                ));
            }
            let request = Request::Add {
                name: name.clone(),
                connector: Box::new(connector),
                secrets,
            };
            let info: ConnectorInfo = decode(client.call(&request).await?)?;
            logincmd::set_client(
                &client,
                &name,
                oauth.client_id,
                oauth.client_secret_from_env,
            )
            .await?;
            print(out, &info, || {
                format!("added {} ({})", info.name, info.backend)
            });
        }
        Command::Remove { name } => {
            client.call(&Request::Remove { name: name.clone() }).await?;
            switchboard::outln!("removed {name}");
        }
        Command::Connect {
            name,
            backend,
            oauth,
            sets,
            secrets_from_env,
            timeout,
            out,
        } => {
            let backend = backend.map(switchboard::ConnectorType::from);
            let mut stored = configure::parse_sets(&sets)?;
            let on_command_line: Vec<String> = stored.keys().cloned().collect();
            stored.extend(configure::secrets_from_env(&secrets_from_env)?);
            // Checked, every value, before anything (the backend included)
            // is stored.
            if !stored.is_empty() {
                stored = configure::check(&client, &name, backend.clone(), stored, on_command_line)
                    .await?;
            }
            if let Some(backend) = backend {
                let request = Request::SetBackend {
                    name: name.clone(),
                    backend,
                };
                note_restart(&decode(client.call(&request).await?)?);
            }
            logincmd::set_client(
                &client,
                &name,
                oauth.client_id,
                oauth.client_secret_from_env,
            )
            .await?;
            if !stored.is_empty() {
                let request = Request::SetConfig {
                    name: name.clone(),
                    values: stored,
                };
                note_restart(&decode(client.call(&request).await?)?);
            }
            let request = Request::Connect {
                name: name.clone(),
                values: values_from_env(&client, &name).await?,
                timeout_secs: timeout,
            };
            let connect = || progress::connecting(&client, &name, out.json, client.call(&request));
            let answer = match connect().await {
                Err(Error::Remote {
                    code: ErrorCode::NeedsConfiguration,
                    message,
                }) if configure::interactive() => {
                    switchboard::errln!("configuring: {message}");
                    configure::prompt_missing(&client, &name).await?;
                    connect().await?
                }
                other => other?,
            };
            let info: ConnectorInfo = decode(answer)?;
            print(out, &info, || info.status.to_string());
            // On stderr, so `connect`'s output stays the one status word.
            note_restart(&info);
            for warning in &info.warnings {
                switchboard::errln!("warning: {warning}");
            }
        }
        Command::Config { name, out } => {
            let fields: Vec<switchboard::connector::FieldStatus> =
                decode(client.call(&Request::Config { name: name.clone() }).await?)?;
            // `config --json` stays the field list; a connected skill's
            // warnings follow the human form, and go to stderr with --json.
            let warnings = client
                .call(&Request::Status { name })
                .await
                .ok()
                .and_then(|info| serde_json::from_value::<ConnectorInfo>(info).ok())
                .map(|info| info.warnings)
                .unwrap_or_default();
            print(out, &fields, || render::config(&fields, &warnings));
            if out.json {
                for warning in &warnings {
                    switchboard::errln!("warning: {warning}");
                }
            }
        }
        Command::Secret(SecretCommand::Set { name, field }) => {
            let value = configure::read_secret_from_stdin()?;
            let request = Request::SetConfig {
                name: name.clone(),
                values: BTreeMap::from([(field.clone(), value)]),
            };
            let info: ConnectorInfo = decode(client.call(&request).await?)?;
            switchboard::outln!("stored {name} {field}");
            note_restart(&info);
        }
        Command::Secret(SecretCommand::Ls { name, out }) => {
            let stored: Vec<switchboard::connector::StoredSecret> =
                decode(client.call(&Request::SecretList { name }).await?)?;
            print(out, &stored, || {
                stored
                    .iter()
                    .map(|s| format!("{:<16} {}", s.connector, s.field))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Secret(SecretCommand::Rm { name, field }) => {
            let request = Request::UnsetConfig {
                name: name.clone(),
                field: field.clone(),
            };
            let removed: bool = decode(client.call(&request).await?)?;
            if removed {
                switchboard::outln!("removed {name} {field}");
            } else {
                switchboard::outln!("{name} {field} was not set");
            }
        }
        Command::Disconnect { name, out } => {
            let info: ConnectorInfo = decode(client.call(&Request::Disconnect { name }).await?)?;
            print(out, &info, || info.status.to_string());
        }
        Command::Restart { name, out } => {
            let info: ConnectorInfo = decode(client.call(&Request::Restart { name }).await?)?;
            print(out, &info, || info.status.to_string());
            note_restart(&info);
        }
        Command::Tools {
            name,
            tool,
            disable,
            enable,
            out,
        } => {
            if !disable.is_empty() || !enable.is_empty() {
                let request = Request::SetToolsEnabled {
                    name: name.clone(),
                    disable,
                    enable,
                };
                client.call(&request).await?;
            }
            let tools: Vec<Tool> =
                decode(client.call(&Request::Tools { name: name.clone() }).await?)?;
            let disabled: Vec<String> = decode(
                client
                    .call(&Request::DisabledTools { name: name.clone() })
                    .await?,
            )?;
            match tool {
                Some(wanted) => {
                    let Some(found) = tools.iter().find(|t| t.name == wanted.as_str()) else {
                        let suggestion = switchboard::suggest::did_you_mean(
                            &wanted,
                            tools.iter().map(|t| t.name.as_ref()),
                        );
                        return Err(Error::UnknownTool {
                            name,
                            tool: wanted,
                            suggestion,
                        });
                    };
                    let off = disabled.contains(&wanted);
                    print(out, found, || render::tool(found, off));
                }
                None => print(out, &tools, || render::tools(&tools, &disabled)),
            }
        }
        Command::Call {
            name,
            tool,
            arguments,
            args_file,
            out_dir,
            out,
        } => {
            let text = arguments_text(arguments, args_file)?;
            let arguments = parse_arguments(text.as_deref())?;
            let request = Request::Call {
                name,
                tool: tool.clone(),
                arguments,
            };
            let result: CallToolResult = decode(client.call(&request).await?)?;
            let failed = result.is_error == Some(true);
            if out.json {
                print(out, &result, String::new);
            } else if failed {
                switchboard::errln!(
                    "the tool reported an error: {}",
                    callout::render(&result, &tool, None)?
                );
            } else {
                let text = callout::render(&result, &tool, out_dir.as_deref())?;
                switchboard::outln!("{text}");
            }
            if failed {
                return Ok(exit(ErrorCode::ToolFailed));
            }
        }
        Command::Login {
            name,
            no_browser,
            scopes,
            out,
        } => {
            let info = logincmd::login(&client, &name, scopes, no_browser).await?;
            print(out, &info, || {
                format!("signed in; {} is {}", info.name, info.status)
            });
        }
        Command::Logout { name, out } => {
            let outcome = logincmd::logout(&client, &name).await?;
            print(out, &outcome, || logincmd::describe_logout(&name, &outcome));
        }
        Command::Info { name, out } => {
            let report = infocmd::gather(&client, &paths, &name).await?;
            print(out, &report, || infocmd::render(&report));
        }
        Command::Status { name, out } => {
            let info: ConnectorInfo = decode(client.call(&Request::Status { name }).await?)?;
            print(out, &info, || {
                render::status(&info, &term::Term::stdout(false))
            });
        }
        Command::Serve {
            start_timeout,
            port,
            bind,
            allow_remote,
            background,
        } => {
            let mut options = ServiceOptions::default();
            if let Some(secs) = start_timeout {
                options.start_timeout = Duration::from_secs(secs);
            }
            let http = switchboard::http::HttpOptions {
                port,
                bind,
                allow_remote,
                announce: !background,
            };
            switchboard::daemon::serve_with_http(paths, options, http).await?;
        }
        Command::Open => {
            client.ensure_running().await?;
            let Some((url, token)) = switchboard::http::read_endpoint(&paths) else {
                return Err(Error::ServiceUnavailable {
                    socket: paths.socket(),
                    reason:
                        "the service runs but has not published its dashboard address (http.json); \
                             see `switchboard logs` or the service log"
                            .into(),
                });
            };
            let link = switchboard::http::dashboard_url(&url, &token);
            switchboard::http::open_in_browser(&link)?;
            switchboard::outln!("opened {url}");
        }
        Command::Shutdown => {
            if client.shutdown().await? {
                switchboard::outln!("stopped");
            } else {
                switchboard::outln!("no service was running");
            }
        }
        Command::Logs {
            name,
            lines,
            follow,
            json,
        } => {
            // Asking the service first gives an unknown name its own error.
            client.call(&Request::Status { name: name.clone() }).await?;
            let path = paths.connector_log(&name);
            let io =
                |e: std::io::Error| Error::Internal(format!("cannot read {}: {e}", path.display()));
            let show = |line: &str| {
                if json {
                    switchboard::outln!("{}", switchboard::logview::as_json(line));
                } else {
                    switchboard::outln!("{line}");
                }
            };
            let (tail, offset) = switchboard::logview::tail(&path, lines).map_err(io)?;
            for line in tail {
                show(&line);
            }
            if follow {
                switchboard::logview::follow(&path, offset, |line| show(line))
                    .await
                    .map_err(io)?;
            }
        }
        Command::ClientConfig {
            client: mcp_client,
            install,
            config,
        } => {
            switchboard::outln!(
                "{}",
                clientcmd::client_config(mcp_client, &paths, install, config)?
            );
        }
        Command::Import {
            client: mcp_client,
            config,
        } => {
            for line in clientcmd::import(&client, mcp_client, config).await? {
                switchboard::outln!("{line}");
            }
        }
        Command::Gateway => {
            let hello = client.ensure_running().await?;
            // A service of another version may not take handed-over
            // stdio; bytes copied through the socket work with any.
            let handoff = hello.version == env!("CARGO_PKG_VERSION");
            switchboard::gateway::bridge_stdio(&client, &paths.home, handoff).await?;
        }
        // Answered in `main`, before any service or settings.
        Command::Completions { .. } => {}
        Command::Doctor(out) => {
            let report = doctor(&client, &paths).await?;
            print(out, &report, || render::doctor(&report));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The running service's report (it is what starts servers), with where
/// this command's environment or settings differ from it; this command's
/// own when no service runs.
async fn doctor(
    client: &Client,
    paths: &Paths,
) -> Result<switchboard::doctor::DoctorReport, Error> {
    let Ok(hello) = client.hello().await else {
        return Ok(switchboard::doctor::run(paths).await);
    };
    let mut report: switchboard::doctor::DoctorReport =
        decode(client.ask(&Request::Doctor).await?)?;
    report.problems = switchboard::client::environment_mismatches(&hello)
        .iter()
        .map(ToString::to_string)
        .collect();
    if hello.settings != paths.settings {
        report.problems.push(format!(
            "the running service uses settings {} but this command uses {}: run `switchboard shutdown` first, or use the same settings file",
            hello.settings.display(),
            paths.settings.display()
        ));
    }
    Ok(report)
}

fn exit(code: ErrorCode) -> ExitCode {
    ExitCode::from(u8::try_from(code.exit_code()).unwrap_or(1))
}

fn print<T: serde::Serialize>(out: Output, value: &T, human: impl FnOnce() -> String) {
    if out.json {
        match serde_json::to_string_pretty(value) {
            Ok(text) => switchboard::outln!("{text}"),
            Err(err) => switchboard::errln!("error: cannot encode output: {err}"),
        }
    } else {
        let text = human();
        if !text.is_empty() {
            switchboard::outln!("{text}");
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|e| Error::Internal(format!("unexpected answer from the service: {e}")))
}

/// Values for the connector's config fields found in this command's
/// environment; they travel to the service in memory only.
/// Says on stderr that a change restarted the connector to take effect.
fn note_restart(info: &ConnectorInfo) {
    if let Some(note) = &info.restarted {
        switchboard::errln!("{note}");
    }
}

async fn values_from_env(client: &Client, name: &str) -> Result<BTreeMap<String, String>, Error> {
    let info: ConnectorInfo = decode(
        client
            .call(&Request::Status {
                name: name.to_string(),
            })
            .await?,
    )?;
    Ok(info
        .fields
        .iter()
        .filter_map(|field| {
            std::env::var(field)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (field.clone(), v))
        })
        .collect())
}

/// The arguments' text: given, `-` for stdin, or `--args-file PATH`.
fn arguments_text(
    given: Option<String>,
    file: Option<std::path::PathBuf>,
) -> Result<Option<String>, Error> {
    if let Some(path) = file {
        return std::fs::read_to_string(&path).map(Some).map_err(|e| {
            Error::InvalidInput(format!(
                "cannot read the arguments from {}: {e}",
                path.display()
            ))
        });
    }
    if given.as_deref() != Some("-") {
        return Ok(given);
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .map_err(|e| Error::InvalidInput(format!("cannot read the arguments from stdin: {e}")))?;
    Ok(Some(text))
}

fn parse_arguments(text: Option<&str>) -> Result<Option<serde_json::Value>, Error> {
    let Some(text) = text else { return Ok(None) };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(Some(value)),
        Ok(other) => Err(Error::InvalidInput(format!(
            "tool arguments must be a JSON object such as '{{\"message\":\"hi\"}}', not {other}"
        ))),
        Err(err) => Err(Error::InvalidInput(format!(
            "tool arguments are not valid JSON ({err}): give an object such as '{{\"message\":\"hi\"}}', quoted for the shell"
        ))),
    }
}
