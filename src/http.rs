//! The service's HTTP face: the REST API (`/api/v1`, described by the
//! OpenAPI document at `/api/v1/openapi.json`), live events as
//! Server-Sent Events, the dashboard page, and the MCP gateway over
//! Streamable HTTP at `/mcp`.
//!
//! Like every face it is thin: it holds no connector state and calls
//! [`ConnectorService`] for everything. It listens on 127.0.0.1 (another
//! address only with `allow_remote`), and every request must carry the
//! token and name this server in its Host (see `security.rs`). Where it
//! listens is written to `http.json` in the data dir, for `switchboard
//! open`.
//!
//! - `connectors.rs`, `tools.rs` — the REST routes
//! - `signin.rs` — "Sign in" and "Sign out" (OAuth) of a remote connector
//! - `events.rs` — the event stream and its replay ring
//! - `security.rs` — token, cookie, Host and Origin checks
//! - `error.rs` — the error format and status mapping
//! - `endpoint.rs` — `http.json`, opening a browser
//! - `assets.rs`, `openapi.rs` — the page and the document's frame

mod assets;
mod connectors;
mod endpoint;
mod error;
mod events;
mod mcp_front;
mod mcp_intake;
mod openapi;
mod security;
mod signin;
mod stats;
mod tools;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use axum::Router;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use connectors::{AddRequest, ConfigRequest, ConnectRequest, FieldView};
pub use endpoint::{
    dashboard_url, open_in_browser, read_endpoint, read_endpoint_file, EndpointFile, ENDPOINT_FILE,
};
pub use error::ErrorBody;
pub use events::{HttpEvent, StreamEvent};
pub use security::TOKEN_FILE;
pub use signin::{LoginRequest, Revoked, SignInStarted, SignedOut};
pub use tools::{CallRequest, LogLines, ToolList};

use crate::connector::ConnectorService;
use crate::error::{Error, Result};
use crate::gateway::Gateway;
use crate::settings::SettingsStore;
use events::EventHub;
use security::Guard;

/// The settings key for the port, when `--port` does not say.
pub const PORT_KEY: &str = "codebuddy.http.port";
/// The largest request body the API reads.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Where and how to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// The port (`--port`); `None` reads `codebuddy.http.port`, else 0
    /// (any free port).
    pub port: Option<u16>,
    /// The address to bind (`--bind`); loopback unless `allow_remote`.
    pub bind: IpAddr,
    /// Allows a non-loopback `bind` (`--allow-remote`).
    pub allow_remote: bool,
    /// Makes `daemon::serve_with_http` print `Dashboard: URL?token=…` to
    /// stdout once listening (the foreground `serve`). The service log
    /// always gets the URL, without the token.
    pub announce: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            port: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allow_remote: false,
            announce: false,
        }
    }
}

/// A listening HTTP server. It stops when the `stop` token given to
/// [`serve`] is cancelled.
#[derive(Debug)]
pub struct HttpHandle {
    addr: SocketAddr,
    url: String,
    token: String,
    warning: Option<String>,
    home: PathBuf,
    task: JoinHandle<()>,
}

impl HttpHandle {
    /// The base URL, ending in `/` (`http://127.0.0.1:PORT/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The link that opens the dashboard, token included.
    pub fn dashboard_url(&self) -> String {
        dashboard_url(&self.url, &self.token)
    }

    /// The gateway's Streamable HTTP URL.
    pub fn mcp_url(&self) -> String {
        format!("{}mcp", self.url)
    }

    /// The address actually bound (the port is real even if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The access token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Set when listening beyond loopback: what to tell the user.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// Waits until the server has stopped (after `stop` was cancelled)
    /// and its `http.json` is gone.
    pub async fn stopped(self) {
        let _ = self.task.await;
        endpoint::remove_endpoint(&self.home);
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    service: ConnectorService,
    hub: Arc<EventHub>,
    /// Ends event streams when the server stops.
    stop: CancellationToken,
}

/// Starts the HTTP server: binds, creates or reads the token, writes
/// `http.json`, and serves until `stop` is cancelled. A port in use, or a
/// non-loopback address without `allow_remote`, fails here.
pub async fn serve(
    service: ConnectorService,
    gateway: Gateway,
    options: HttpOptions,
    stop: CancellationToken,
) -> Result<HttpHandle> {
    let home = service.paths().home.clone();
    let port = match options.port {
        Some(port) => port,
        None => port_from_settings(&service).await,
    };
    let bind = options.bind;
    if !bind.is_loopback() && !options.allow_remote {
        return Err(Error::InvalidInput(format!(
            "binding the HTTP server to {bind} would let other machines reach it: \
             add --allow-remote if that is what you want, or bind to 127.0.0.1"
        )));
    }
    let listener = tokio::net::TcpListener::bind((bind, port))
        .await
        .map_err(|e| bind_error(bind, port, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("cannot read the bound address: {e}")))?;
    let token = {
        let home = home.clone();
        tokio::task::spawn_blocking(move || security::load_or_create_token(&home))
            .await
            .map_err(|e| Error::Internal(format!("token task failed: {e}")))??
    };
    let host = if bind.is_unspecified() {
        security::authority(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        security::authority(bind, addr.port())
    };
    let url = format!("http://{host}/");
    let warning = (!bind.is_loopback()).then(|| {
        format!(
            "the HTTP server listens on {addr}, reachable from other machines: anyone with \
             the token can run connectors and call tools, over plain HTTP"
        )
    });

    let hub = Arc::new(EventHub::new());
    events::spawn_feeds(hub.clone(), &service, stop.clone());
    let guard = Arc::new(Guard::new(token.clone(), addr));
    let state = AppState {
        service,
        hub,
        stop: stop.clone(),
    };
    let app = router(state, gateway, guard, &stop)?;

    let task = tokio::spawn(serve_app(listener, app, stop.clone()));
    endpoint::write_endpoint(
        &home,
        &endpoint::EndpointFile {
            url: url.clone(),
            mcp_url: format!("{url}mcp"),
            port: addr.port(),
            pid: std::process::id(),
        },
    )?;
    tracing::info!(
        url = %url,
        token_file = %home.join(TOKEN_FILE).display(),
        "dashboard and API listening (`switchboard open` opens it with the token)"
    );
    if let Some(warning) = &warning {
        tracing::warn!("{warning}");
    }
    Ok(HttpHandle {
        addr,
        url,
        token,
        warning,
        home,
        task,
    })
}

/// Serves `app` on `listener` until `stop`.
async fn serve_app(listener: tokio::net::TcpListener, app: axum::Router, stop: CancellationToken) {
    // A `Router` served as is is rebuilt (`with_state`, every route)
    // for each connection; `into_make_service` shares the built one.
    // rmcp's client opens a connection per call, so this was per call.
    // Without TCP_NODELAY the last small write of a response (the
    // chunk that ends an SSE body) waits for the client's delayed ACK:
    // ~40 ms per call for a client that keeps its connection and reads
    // each response to its end. hyper does not set it; node does.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on an accepted connection: {err}");
        }
    });
    let served = axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(stop.cancelled_owned())
        .await;
    if let Err(err) = served {
        tracing::warn!("HTTP server failed: {err}");
    }
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = api_routes().split_for_parts().1;
    openapi::add_common_responses(&mut document);
    document
}

/// The REST routes, each registered with its OpenAPI operation.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(connectors::list, connectors::add))
        .routes(routes!(connectors::get, connectors::remove))
        .routes(routes!(connectors::connect))
        .routes(routes!(connectors::disconnect))
        .routes(routes!(connectors::restart))
        .routes(routes!(connectors::policy, connectors::set_policy))
        .routes(routes!(connectors::config, connectors::set_config))
        .routes(routes!(connectors::unset_config))
        .routes(routes!(signin::login))
        .routes(routes!(signin::logout))
        .routes(routes!(tools::logs))
        .routes(routes!(tools::tools))
        .routes(routes!(tools::call))
        .routes(routes!(events::events))
        .routes(routes!(stats::stats))
}

fn router(
    state: AppState,
    gateway: Gateway,
    guard: Arc<Guard>,
    stop: &CancellationToken,
) -> Result<Router> {
    let (api, mut document) = api_routes().split_for_parts();
    openapi::add_common_responses(&mut document);
    let document = Arc::new(
        document
            .to_json()
            .map_err(|e| Error::Internal(format!("cannot encode the OpenAPI document: {e}")))?,
    );
    // Our guard checks Host and Origin before rmcp sees a request, with
    // the port and the remote rule rmcp's own lists cannot express.
    let mcp_config = StreamableHttpServerConfig::default()
        .with_cancellation_token(stop.child_token())
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let limit = gateway.max_message_bytes();
    let front = mcp_front::McpFront::new(gateway, mcp_config);
    let mcp = Router::new()
        .route(
            "/mcp",
            any(move |request: axum::extract::Request| front.clone().handle(request)),
        )
        .layer(axum::middleware::from_fn_with_state(
            limit,
            mcp_intake::check,
        ));
    let app = api
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { json_text(document.as_str().to_string()) }
            }),
        )
        .route("/", get(assets::index))
        .route("/assets/{file}", get(assets::asset))
        .route("/assets/icons/{file}", get(assets::icon))
        .merge(mcp)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(guard, security::check))
        .with_state(state);
    Ok(app)
}

fn json_text(text: String) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found() -> Response {
    error::ApiError::http(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route: the API is under /api/v1 (see /api/v1/openapi.json)",
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    error::ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method (see /api/v1/openapi.json)",
    )
    .into_response()
}

/// `codebuddy.http.port` from settings; 0 when absent or unusable.
async fn port_from_settings(service: &ConnectorService) -> u16 {
    let store = SettingsStore::new(service.paths().settings.clone());
    let snapshot = match tokio::task::spawn_blocking(move || store.load()).await {
        Ok(Ok(snapshot)) => snapshot,
        _ => return 0,
    };
    match snapshot.get(&[PORT_KEY]) {
        None => 0,
        Some(value) => match value.as_u64().and_then(|p| u16::try_from(p).ok()) {
            Some(port) => port,
            None => {
                tracing::warn!("{PORT_KEY} is not a port number ({value}); using a free port");
                0
            }
        },
    }
}

fn bind_error(bind: IpAddr, port: u16, err: std::io::Error) -> Error {
    let addr = security::authority(bind, port);
    match err.kind() {
        std::io::ErrorKind::AddrInUse => Error::PortInUse {
            port,
            message: format!(
                "port {port} is already in use ({addr}), perhaps by another switchboard service: \
                 choose another with `switchboard serve --port N` or the `{PORT_KEY}` setting, \
                 or use 0 for any free port"
            ),
        },
        std::io::ErrorKind::AddrNotAvailable => Error::InvalidInput(format!(
            "cannot listen on {addr}: this machine has no such address; check --bind"
        )),
        std::io::ErrorKind::PermissionDenied => Error::InvalidInput(format!(
            "not allowed to listen on {addr}: ports below 1024 need privileges; choose a higher one"
        )),
        _ => Error::Internal(format!("cannot listen on {addr}: {err}")),
    }
}
