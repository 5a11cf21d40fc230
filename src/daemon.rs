//! The background service (`switchboard serve`): one process per data dir
//! that owns the [`ConnectorService`] and answers the CLI on a Unix socket.
//! It stops every server it started when it exits (shutdown request,
//! SIGTERM or SIGINT). It runs in its data dir, whatever directory it was
//! started from.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::connector::{ConnectorService, ServiceOptions};
use crate::error::{Error, Result};
use crate::gateway::{serve_unix, Gateway, GatewayOptions};
use crate::http::HttpOptions;
use crate::ipc::{Hello, Request, Response, MAX_MESSAGE_BYTES};
use crate::paths::Paths;

/// How long one client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the HTTP server gets to close its connections at shutdown.
const HTTP_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the service until it is told to stop, with the HTTP server on its
/// default options (loopback; `codebuddy.http.port`, else any free port).
/// Fails at once if another service already owns this data dir.
pub async fn serve(paths: Paths, options: ServiceOptions) -> Result<()> {
    serve_with_http(paths, options, HttpOptions::default()).await
}

/// Runs the service until it is told to stop, its HTTP server (API,
/// dashboard, gateway at `/mcp`) listening as `http` says. Fails at once
/// if another service already owns this data dir, or if the HTTP server
/// cannot listen (say, its port is taken).
pub async fn serve_with_http(
    paths: Paths,
    options: ServiceOptions,
    http: HttpOptions,
) -> Result<()> {
    paths
        .ensure_home()
        .map_err(|e| Error::file("create", paths.home.clone(), e))?;
    // The service outlives the shell that started it: it must not keep
    // that shell's directory busy, nor resolve anything against it.
    std::env::set_current_dir(&paths.home)
        .map_err(|e| Error::file("enter", paths.home.clone(), e))?;
    let lock = acquire_lock(&paths)?;
    let socket = paths.socket();
    // We hold the lock, so a socket file left here is from a dead service.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).map_err(|e| Error::ServiceUnavailable {
        socket: socket.clone(),
        reason: format!("cannot listen: {e}"),
    })?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::file("protect", socket.clone(), e))?;

    let service = ConnectorService::start(paths.clone(), options).await?;
    let stop = CancellationToken::new();
    let snapshot = crate::settings::SettingsStore::new(paths.settings.clone()).load()?;
    let gateway = Gateway::new(service.clone(), GatewayOptions::from_snapshot(&snapshot));
    serve_unix(gateway.clone(), &paths.home, stop.clone()).await?;
    // The HTTP face, up before the socket answers, so a client that sees
    // the service also finds its `http.json`.
    let announce = http.announce;
    let http = match crate::http::serve(service.clone(), gateway, http, stop.clone()).await {
        Ok(handle) => handle,
        Err(err) => {
            stop.cancel();
            service.shutdown().await;
            return Err(err);
        }
    };
    if announce {
        crate::outln!("Dashboard: {}", http.dashboard_url());
        if let Some(warning) = http.warning() {
            crate::errln!("warning: {warning}");
        }
    }
    let mut sigterm = signal(SignalKind::terminate())
        .map_err(|e| Error::Internal(format!("cannot watch SIGTERM: {e}")))?;
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| Error::Internal(format!("cannot watch SIGINT: {e}")))?;
    tracing::info!(pid = std::process::id(), socket = %socket.display(), settings = %paths.settings.display(), "service started");
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let service = service.clone();
                    let stop = stop.clone();
                    tokio::spawn(async move { handle(stream, service, stop).await });
                }
                Err(err) => tracing::warn!("accept failed: {err}"),
            },
            _ = stop.cancelled() => break,
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    tracing::info!("service stopping");
    stop.cancel();
    if tokio::time::timeout(HTTP_STOP_TIMEOUT, http.stopped())
        .await
        .is_err()
    {
        tracing::warn!("the HTTP server did not stop in time; going on");
    }
    drop(listener);
    let _ = std::fs::remove_file(&socket);
    service.shutdown().await;
    drop(lock);
    tracing::info!("service stopped");
    Ok(())
}

fn acquire_lock(paths: &Paths) -> Result<File> {
    let path = paths.service_lock();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::file("open", path.clone(), e))?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(file),
        Err(_) => Err(Error::ServiceUnavailable {
            socket: paths.socket(),
            reason: "another switchboard service already runs for this data dir; \
                     use it, or stop it with `switchboard shutdown`"
                .into(),
        }),
    }
}

async fn handle(stream: UnixStream, service: ConnectorService, stop: CancellationToken) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_MESSAGE_BYTES as u64));
    let mut line = String::new();
    let response = match tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut line)).await {
        Ok(Ok(n)) if n > 0 => match serde_json::from_str::<Request>(&line) {
            Ok(request) => dispatch(request, &service, &stop).await,
            Err(err) => Response::Error {
                code: crate::error::ErrorCode::InvalidInput,
                message: format!("bad request: {err}"),
            },
        },
        _ => return,
    };
    let mut bytes = match serde_json::to_vec(&response) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!("cannot encode response: {err}");
            return;
        }
    };
    bytes.push(b'\n');
    let _ = write.write_all(&bytes).await;
    let _ = write.shutdown().await;
}

async fn dispatch(
    request: Request,
    service: &ConnectorService,
    stop: &CancellationToken,
) -> Response {
    let result = match request {
        Request::Hello => to_value(hello(service)),
        Request::List => to_value(service.list()),
        Request::Status { name } => service.info(&name).and_then(to_value),
        Request::Add {
            name,
            connector,
            secrets,
        } => service
            .add(&name, *connector, secrets)
            .await
            .and_then(to_value),
        Request::Remove { name } => service.remove(&name).await.and_then(|()| to_value(name)),
        Request::Connect(request) => service.connect_as_asked(request).await.and_then(to_value),
        request @ (Request::Login { .. }
        | Request::WaitSignIn { .. }
        | Request::Logout { .. }
        | Request::SetOAuthClient { .. }) => sign_in(request, service).await,
        Request::Config { name } => service.config(&name).await.and_then(to_value),
        Request::SetConfig { name, values } => {
            service.set_config(&name, values).await.and_then(to_value)
        }
        Request::UnsetConfig { name, field } => {
            service.unset_config(&name, &field).await.and_then(to_value)
        }
        Request::SetBackend { name, backend } => {
            service.set_backend(&name, backend).await.and_then(to_value)
        }
        Request::SecretStore => to_value(service.secret_store_description()),
        Request::SecretList { name } => service
            .stored_secrets(name.as_deref())
            .await
            .and_then(to_value),
        Request::Disconnect { name } => service.disconnect(&name).await.and_then(to_value),
        Request::Restart { name } => service.restart(&name).await.and_then(to_value),
        Request::Tools { name } => service.tools(&name).and_then(to_value),
        Request::DisabledTools { name } => service.disabled_tools(&name).and_then(to_value),
        Request::SetToolsEnabled {
            name,
            disable,
            enable,
        } => service
            .set_tools_enabled(&name, &disable, &enable)
            .await
            .and_then(to_value),
        Request::Call {
            name,
            tool,
            arguments,
        } => service
            .call(&name, &tool, arguments, crate::audit::CallSource::Cli)
            .await
            .and_then(to_value),
        Request::CheckConfig {
            name,
            backend,
            values,
            on_command_line,
            cwd,
        } => service
            .check_config(
                &name,
                backend.as_ref(),
                values,
                &on_command_line,
                cwd.as_deref(),
            )
            .await
            .and_then(to_value),
        Request::Doctor => to_value(crate::doctor::run_in_service(service).await),
        Request::Policy { name, change } => service.policy(&name, change).await.and_then(to_value),
        Request::Profiles => service.profiles().await.and_then(to_value),
        Request::SetProfile {
            name,
            profile,
            replace,
        } => service
            .set_profile(&name, profile, replace)
            .await
            .and_then(to_value),
        Request::RemoveProfile { name } => service.remove_profile(&name).await.and_then(to_value),
        Request::Shutdown => {
            crate::gateway::note_shutdown_asked();
            stop.cancel();
            to_value("stopping")
        }
    };
    match result {
        Ok(value) => Response::Ok(value),
        Err(err) => Response::Error {
            code: err.code(),
            message: err.to_string(),
        },
    }
}

/// Who this service is, for `Hello`.
fn hello(service: &ConnectorService) -> Hello {
    Hello {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        settings: service.paths().settings.clone(),
        home: service.paths().home.clone(),
        env: crate::ipc::service_env(),
    }
}

/// The sign-in requests of a remote connector.
async fn sign_in(request: Request, service: &ConnectorService) -> Result<serde_json::Value> {
    match request {
        Request::Login {
            name,
            scopes,
            open_browser,
        } => service
            .login(&name, scopes, open_browser)
            .await
            .and_then(to_value),
        Request::WaitSignIn { name, timeout_secs } => {
            let timeout = timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(switchboard_auth_timeout());
            service
                .wait_sign_in(&name, timeout)
                .await
                .and_then(to_value)
        }
        Request::Logout { name } => service.logout(&name).await.and_then(to_value),
        Request::SetOAuthClient {
            name,
            client_id,
            client_secret,
        } => service
            .set_oauth_client(&name, client_id, client_secret)
            .await
            .and_then(to_value),
        other => Err(Error::Internal(format!(
            "`{}` is not a sign-in request",
            other.name()
        ))),
    }
}

/// How long `WaitSignIn` waits when the caller does not say.
fn switchboard_auth_timeout() -> Duration {
    crate::mcp::auth::SIGN_IN_TIMEOUT
}

fn to_value(value: impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("cannot encode reply: {e}")))
}
