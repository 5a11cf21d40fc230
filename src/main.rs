//! The `switchboard` command: parses arguments, talks to the background
//! service through the library's client, and prints results for people or,
//! with `--json`, for scripts. Exit codes come from [`ErrorCode`].

mod callout;
mod cli;
mod clientcmd;
mod completion;
mod configure;
mod connectcmd;
mod infocmd;
mod logincmd;
mod profilecmd;
mod progress;
mod render;
mod term;
mod toolscmd;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command, LogsArgs, Output, PolicyArgs, SecretCommand, ServeArgs};
use switchboard::{Client, ConnectorInfo, Error, ErrorCode, Paths, ServiceOptions, SettingsStore};

fn main() -> ExitCode {
    // `COMPLETE=bash switchboard -- WORDS…` (what `completions` scripts run
    // at each TAB): print the candidates and exit.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(completion::VAR)
        .complete();
    let cli = Cli::parse();
    if let Command::EgressForward(args) = cli.command {
        // Inside a sandbox: no service, settings or logging of ours.
        let code = switchboard::egress::forward::main(args);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
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
    // Report a broken settings file here, with its line and column,
    // rather than as a service that failed to start.
    let snapshot = match command {
        Command::Shutdown | Command::Doctor(_) => None,
        _ => Some(SettingsStore::new(paths.settings.clone()).load()?),
    };
    match command {
        Command::List { wide, out } => {
            let list = client.list().await?;
            print(out, &list, || {
                render::list(&list, &term::Term::stdout(wide))
            });
        }
        Command::Add(args) => connectcmd::add(&client, args).await?,
        Command::Remove { name } => {
            client.remove(&name).await?;
            switchboard::outln!("removed {name}");
        }
        Command::Connect(args) => {
            let snapshot = snapshot.unwrap_or_default();
            connectcmd::connect(&client, &snapshot, args).await?
        }
        Command::Config { name, out } => config(&client, name, out).await?,
        Command::Secret(command) => secret(&client, command).await?,
        Command::Disconnect { name, out } => {
            let info = client.disconnect(&name).await?;
            print(out, &info, || info.status.to_string());
        }
        Command::Restart { name, out } => {
            let info = client.restart(&name).await?;
            print(out, &info, || info.status.to_string());
            note_restart(&info);
        }
        Command::Tools(args) => toolscmd::tools(&client, args).await?,
        Command::Call(args) => return toolscmd::call(&client, args).await,
        Command::Login {
            name,
            no_browser,
            scopes,
            out,
        } => logincmd::login_command(&client, &name, scopes, no_browser, out).await?,
        Command::Logout { name, out } => {
            let outcome = logincmd::logout(&client, &name).await?;
            print(out, &outcome, || logincmd::describe_logout(&name, &outcome));
        }
        Command::Info { name, out } => {
            let report = infocmd::gather(&client, &paths, &name).await?;
            print(out, &report, || infocmd::render(&report));
        }
        Command::Status { name, out } => {
            let info = client.status(&name).await?;
            print(out, &info, || {
                render::status(&info, &term::Term::stdout(false))
            });
        }
        Command::Serve(args) => serve(paths, args).await?,
        Command::Open => open(&client, &paths).await?,
        Command::Shutdown => {
            let stopped = client.shutdown().await?;
            switchboard::outln!(
                "{}",
                if stopped {
                    "stopped"
                } else {
                    "no service was running"
                }
            );
        }
        Command::Logs(args) => logs(&client, &paths, args).await?,
        Command::Policy(args) => policy(&client, args).await?,
        Command::ClientConfig {
            client: mcp_client,
            install,
            config,
            profile,
        } => {
            if let Some(name) = &profile {
                profilecmd::require(&client, name).await?;
            }
            let written =
                clientcmd::client_config(mcp_client, &paths, install, config, profile.as_deref())?;
            switchboard::outln!("{written}");
        }
        Command::Import {
            client: mcp_client,
            config,
        } => {
            for line in clientcmd::import(&client, mcp_client, config).await? {
                switchboard::outln!("{line}");
            }
        }
        Command::Gateway { tools, profile } => gateway(&client, &paths, tools, profile).await?,
        Command::Profile(command) => profilecmd::run(&client, command).await?,
        Command::Stats { name, since, out } => stats(&paths, name, since, out)?,
        // Answered in `main`, before any service or settings.
        Command::Completions { .. } | Command::EgressForward(_) => {}
        Command::Doctor(out) => {
            let report = doctor(&client, &paths).await?;
            print(out, &report, || render::doctor(&report));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `switchboard config NAME`: the fields, and a connected skill's warnings
/// after them (on stderr with `--json`, which stays the field list).
async fn config(client: &Client, name: String, out: Output) -> Result<(), Error> {
    let fields = client.config(&name).await?;
    let warnings = client
        .status(&name)
        .await
        .map(|info| info.warnings)
        .unwrap_or_default();
    print(out, &fields, || render::config(&fields, &warnings));
    if out.json {
        for warning in &warnings {
            switchboard::errln!("warning: {warning}");
        }
    }
    Ok(())
}

/// `switchboard secret set|ls|rm`.
async fn secret(client: &Client, command: SecretCommand) -> Result<(), Error> {
    match command {
        SecretCommand::Set { name, field } => {
            let value = configure::read_secret_from_stdin()?;
            let values = BTreeMap::from([(field.clone(), value)]);
            let info = client.set_config(&name, values).await?;
            switchboard::outln!("stored {name} {field}");
            note_restart(&info);
        }
        SecretCommand::Ls { name, out } => {
            let stored = client.secret_list(name).await?;
            print(out, &stored, || {
                stored
                    .iter()
                    .map(|s| format!("{:<16} {}", s.connector, s.field))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        SecretCommand::Rm { name, field } => {
            if client.unset_config(&name, &field).await? {
                switchboard::outln!("removed {name} {field}");
            } else {
                switchboard::outln!("{name} {field} was not set");
            }
        }
    }
    Ok(())
}

/// `switchboard stats`: the record of every call, summed up (read from the
/// data dir; no service needed).
fn stats(
    paths: &Paths,
    name: Option<String>,
    since: Option<String>,
    out: Output,
) -> Result<(), Error> {
    use switchboard::audit;
    let since = match since {
        Some(text) => Some(audit::parse_since(&text).ok_or_else(|| {
            Error::InvalidInput(format!(
                "--since `{text}` is not an age: give one such as 30m, 1h or 2d"
            ))
        })?),
        None => None,
    };
    let records = audit::read(&paths.home, since);
    let stats = audit::stats(&records, name.as_deref());
    print(out, &stats, || {
        if stats.is_empty() {
            return "no calls recorded".to_string();
        }
        let mut lines = vec![format!(
            "{:<16} {:<28} {:>6} {:>6} {:>9} {:>9}",
            "CONNECTOR", "TOOL", "CALLS", "ERRORS", "P50 MS", "P99 MS"
        )];
        for s in &stats {
            lines.push(format!(
                "{:<16} {:<28} {:>6} {:>6} {:>9.1} {:>9.1}",
                s.connector, s.tool, s.calls, s.errors, s.p50_ms, s.p99_ms
            ));
        }
        lines.join("\n")
    });
    Ok(())
}

/// `switchboard gateway`: this command's stdio served as an MCP session.
async fn gateway(
    client: &Client,
    paths: &Paths,
    tools: Option<switchboard::gateway::search::ToolsMode>,
    profile: Option<String>,
) -> Result<(), Error> {
    let hello = client.ensure_running().await?;
    // A profile that is not there is refused here, where it can be said.
    if let Some(name) = &profile {
        profilecmd::require(client, name).await?;
    }
    // A service of another version may not take handed-over stdio; bytes
    // copied through the socket work with any.
    let handoff = hello.version == env!("CARGO_PKG_VERSION");
    let options = switchboard::gateway::SessionOptions { tools, profile };
    switchboard::gateway::bridge_stdio(client, &paths.home, handoff, &options).await
}

/// `switchboard serve`: the service in the foreground.
async fn serve(paths: Paths, args: ServeArgs) -> Result<(), Error> {
    let mut options = ServiceOptions::default();
    if let Some(secs) = args.start_timeout {
        options.start_timeout = Duration::from_secs(secs);
    }
    let http = switchboard::http::HttpOptions {
        port: args.port,
        bind: args.bind,
        allow_remote: args.allow_remote,
        announce: !args.background,
    };
    switchboard::daemon::serve_with_http(paths, options, http).await
}

/// `switchboard open`: the dashboard in a browser.
async fn open(client: &Client, paths: &Paths) -> Result<(), Error> {
    client.ensure_running().await?;
    let Some((url, token)) = switchboard::http::read_endpoint(paths) else {
        return Err(Error::ServiceUnavailable {
            socket: paths.socket(),
            reason: "the service runs but has not published its dashboard address (http.json); \
                     see `switchboard logs` or the service log"
                .into(),
        });
    };
    let link = switchboard::http::dashboard_url(&url, &token);
    switchboard::http::open_in_browser(&link)?;
    switchboard::outln!("opened {url}");
    Ok(())
}

/// `switchboard policy NAME [--network …] [--read P]… [--write P]…
/// [--memory SIZE] [--cpus N]`: shows the policy, after changing it when
/// any flag is given (paths are taken from this command's directory).
async fn policy(client: &Client, args: PolicyArgs) -> Result<(), Error> {
    let PolicyArgs {
        name,
        network,
        read,
        write,
        memory,
        cpus,
        sandbox,
        no_sandbox,
        out,
    } = args;
    let sandbox = if no_sandbox { Some(false) } else { sandbox };
    let absolute = |paths: Vec<std::path::PathBuf>| -> Result<Vec<String>, Error> {
        let here = std::env::current_dir().unwrap_or_default();
        paths
            .into_iter()
            .map(|p| {
                let path = here.join(p);
                path.to_str().map(str::to_string).ok_or_else(|| {
                    Error::InvalidInput(format!("{} is not valid UTF-8", path.display()))
                })
            })
            .collect()
    };
    let network = match network {
        Some(text) => Some(text.parse().map_err(Error::InvalidInput)?),
        None => None,
    };
    let change = switchboard::catalog::Policy {
        network,
        read: absolute(read)?,
        write: absolute(write)?,
        memory,
        cpus,
        sandbox,
    };
    let changed = change != switchboard::catalog::Policy::default();
    let info = client.policy(&name, changed.then_some(change)).await?;
    print(out, &info, || {
        format!(
            "{}: {}\nenforced: {}",
            info.connector, info.described, info.enforced
        )
    });
    if let Some(note) = &info.restarted {
        switchboard::errln!("{note}");
    }
    Ok(())
}

/// `switchboard logs NAME [--lines N] [--follow] [--json]`.
async fn logs(client: &Client, paths: &Paths, args: LogsArgs) -> Result<(), Error> {
    let LogsArgs {
        name,
        lines,
        follow,
        json,
    } = args;
    // Asking the service first gives an unknown name its own error.
    client.status(&name).await?;
    let path = paths.connector_log(&name);
    let io = |e: std::io::Error| Error::file("read", path.clone(), e);
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
    Ok(())
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
    let mut report = client.doctor().await?;
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

/// Says on stderr that a change restarted the connector to take effect.
fn note_restart(info: &ConnectorInfo) {
    if let Some(note) = &info.restarted {
        switchboard::errln!("{note}");
    }
}
