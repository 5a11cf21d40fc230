//! The MCP gateway: the service itself as one MCP server that offers, as
//! one, the tools of every connected connector — to Claude, VS Code, Cursor
//! or any MCP client.
//!
//! `Gateway` is a thin face over [`ConnectorService`]: it holds no
//! connector state. Tool names are qualified by [`names::qualify_tools`];
//! calls are routed to the backend with progress, cancellation and a
//! per-call deadline; every session is told `tools/list_changed` when a
//! connector connects, disconnects or changes its tools. The transports
//! (the service's gateway socket, which `switchboard gateway` hands its
//! stdio to, and Streamable HTTP) live in `gateway/serve.rs` and
//! `gateway/handoff.rs`.

mod bridge;
mod callers;
mod catalogs;
mod checked_stream;
mod handoff;
pub mod intake;
mod listeners;
pub mod names;
mod requests;
mod rounds;
mod routing;
pub mod search;
mod serve;
pub(crate) mod tasks;

use std::sync::{Arc, Mutex, RwLock};

use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
    CustomRequest, CustomResult, GetPromptRequestParams, GetPromptResponse, Implementation,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig, SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
};
// Deprecated by the 2026 revision; older clients (most today) send it.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::service::{NotificationContext, Peer, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::Deserialize;

pub use bridge::bridge_stdio;
pub use handoff::SessionOptions;
pub use serve::{note_shutdown_asked, serve_unix, GATEWAY_SOCKET};

use crate::connector::ConnectorService;
use crate::error::Error;
use crate::settings::SettingsSnapshot;
use crate::status::{ConnectorEvent, ConnectorStatus};
use names::{name_tools, QualifiedTool};

/// The settings key for the gateway's options.
pub const GATEWAY_KEY: &str = "codebuddy.gateway";

/// Gateway options from settings (`codebuddy.gateway`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayOptions {
    /// Between the connector and the tool name in qualified names.
    pub separator: String,
    /// How long one proxied tool call may take.
    pub call_timeout_seconds: u64,
    /// The largest message a client may send; a longer one is refused
    /// with an error (HTTP 413 on `/mcp`).
    pub max_message_bytes: usize,
    /// When tool names get their connector in front (`always`,
    /// `on-collision`, `never`).
    pub prefix: names::Prefix,
    /// Every tool (`all`), or the tool search's three (`search`), for a
    /// session that does not choose (`gateway --tools`, `/mcp?tools=`).
    pub tools: search::ToolsMode,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            separator: "__".into(),
            call_timeout_seconds: 300,
            max_message_bytes: intake::DEFAULT_MAX_MESSAGE_BYTES,
            prefix: names::Prefix::Always,
            tools: search::ToolsMode::All,
        }
    }
}

impl GatewayOptions {
    /// Reads the options, falling back to defaults when malformed.
    pub fn from_snapshot(snapshot: &SettingsSnapshot) -> GatewayOptions {
        match snapshot.get(&[GATEWAY_KEY]) {
            None => GatewayOptions::default(),
            Some(value) => serde_json::from_value(value.clone()).unwrap_or_else(|err| {
                tracing::warn!("{GATEWAY_KEY} is malformed ({err}); using defaults");
                GatewayOptions::default()
            }),
        }
    }
}

/// The aggregate MCP server. Clones share one session list.
#[derive(Clone)]
pub struct Gateway {
    service: ConnectorService,
    options: GatewayOptions,
    /// Every client session, to tell about tool-list changes.
    sessions: Arc<Mutex<Vec<Peer<RoleServer>>>>,
    /// Resource subscriptions of the client sessions.
    subscriptions: requests::Subscriptions,
    /// Which session calls which connector now, for servers' requests of
    /// their client.
    callers: callers::Callers,
    /// The tools `prefix: never` left out, as last logged.
    refused: Arc<Mutex<Vec<names::Refused>>>,
    /// Calls of 2026-07-28 clients waiting for their input.
    rounds: rounds::Rounds,
    /// The listen streams of 2026-07-28 clients.
    listeners: listeners::Listeners,
    /// What this session's client sees as tools.
    mode: search::ToolsMode,
    /// The profile this session serves, if any (`--profile`, `?profile=`);
    /// shared by the sessions of one `/mcp?profile=` service, which
    /// updates it when the profile changes (`http/mcp_front.rs`).
    profile: Option<Arc<RwLock<crate::profile::Profile>>>,
}

impl Gateway {
    /// A gateway over `service`; starts following its events.
    pub fn new(service: ConnectorService, options: GatewayOptions) -> Gateway {
        let mode = options.tools;
        let sessions: Arc<Mutex<Vec<Peer<RoleServer>>>> = Arc::default();
        let callers = callers::Callers::new(sessions.clone());
        service.set_upstream(Arc::new(callers.clone()));
        let gateway = Gateway {
            service,
            options,
            sessions,
            subscriptions: requests::Subscriptions::default(),
            callers,
            refused: Arc::default(),
            rounds: rounds::Rounds::default(),
            listeners: listeners::Listeners::default(),
            mode,
            profile: None,
        };
        gateway.follow_events();
        gateway.follow_server_logs();
        gateway.follow_resource_updates();
        gateway
    }

    /// Sends `roots/list_changed` to every connected server, in the
    /// background.
    #[allow(deprecated)]
    fn tell_roots_changed(&self) {
        let peers = self.service.mcp_peers();
        tokio::spawn(async move {
            for (_, peer) in peers {
                let _ = peer.notify_roots_list_changed().await;
            }
        });
    }

    /// This gateway for sessions that see `mode` as their tools (the rest
    /// is shared).
    pub fn with_mode(&self, mode: search::ToolsMode) -> Gateway {
        let mut gateway = self.clone();
        gateway.mode = mode;
        gateway
    }

    /// This gateway for sessions that serve the profile `name` only.
    pub async fn with_profile(&self, name: &str) -> Result<Gateway, Error> {
        let profile = self.service.profile(name).await?;
        let mut gateway = self.clone();
        gateway.profile = Some(Arc::new(RwLock::new(profile)));
        Ok(gateway)
    }

    /// The profile `name` as the settings file has it now.
    pub async fn read_profile(&self, name: &str) -> Result<crate::profile::Profile, Error> {
        self.service.profile(name).await
    }

    /// The profile this gateway's sessions serve, if any, as it is now.
    pub fn profile(&self) -> Option<crate::profile::Profile> {
        let cell = self.profile.as_ref()?;
        Some(cell.read().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Puts `profile` in place for every session of this gateway's profile
    /// (nothing without one).
    pub fn update_profile(&self, profile: crate::profile::Profile) {
        if let Some(cell) = &self.profile {
            *cell.write().unwrap_or_else(|p| p.into_inner()) = profile;
        }
    }

    /// The connected servers this session may reach (its profile's).
    fn peers(&self) -> Vec<(String, Peer<rmcp::RoleClient>)> {
        let mut peers = self.service.mcp_peers();
        if let Some(profile) = self.profile() {
            peers.retain(|(connector, _)| profile.serves(connector));
        }
        peers
    }

    /// The mode a session gets when it does not choose.
    pub fn default_mode(&self) -> search::ToolsMode {
        self.options.tools
    }

    /// The largest message a client may send (`maxMessageBytes`).
    pub fn max_message_bytes(&self) -> usize {
        self.options.max_message_bytes
    }

    /// The tools offered now, named as `prefix` says. A tool left out for
    /// its name is logged once (until the set of refusals changes).
    pub fn tools(&self) -> Vec<QualifiedTool> {
        let mut offered = self.service.gateway_tools();
        if let Some(profile) = self.profile() {
            offered.retain(|(connector, tool)| profile.allows(connector, &tool.name));
        }
        let (tools, refused) = name_tools(offered, &self.options.separator, self.options.prefix);
        if let Ok(mut logged) = self.refused.lock() {
            if *logged != refused {
                for refusal in refused.iter().filter(|r| !logged.contains(r)) {
                    tracing::warn!("{refusal}");
                }
                *logged = refused;
            }
        }
        tools
    }

    /// Passes the servers' log messages on to every session, the logger
    /// named after the connector. (Deprecated by the 2026 protocol, still
    /// sent by today's servers; see `mcp::LogMessage`.)
    #[allow(deprecated)]
    fn follow_server_logs(&self) {
        let mut logs = self.service.subscribe_server_logs();
        let sessions = Arc::downgrade(&self.sessions);
        tokio::spawn(async move {
            loop {
                let (connector, mut params) = match logs.recv().await {
                    Ok(message) => message,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let Some(sessions) = sessions.upgrade() else {
                    break;
                };
                params.logger = Some(match params.logger.take() {
                    Some(logger) => format!("{connector}/{logger}"),
                    None => connector,
                });
                let peers: Vec<Peer<RoleServer>> = match sessions.lock() {
                    Ok(list) => list.clone(),
                    Err(_) => Vec::new(),
                };
                for peer in peers {
                    let _ = peer.notify_logging_message(params.clone()).await;
                }
            }
        });
    }

    /// Passes the servers' `notifications/resources/updated` to the
    /// sessions that subscribed.
    fn follow_resource_updates(&self) {
        let mut updates = self.service.subscribe_resource_updates();
        let subscriptions = self.subscriptions.clone();
        tokio::spawn(async move {
            loop {
                match updates.recv().await {
                    Ok((connector, uri)) => subscriptions.updated(&connector, &uri).await,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// Sends `tools/list_changed` to every session when the set of tools
    /// may have changed: a connector entered or left `connected`, or a
    /// backend's tool list (or the user's filter) changed.
    fn follow_events(&self) {
        let mut events = self.service.subscribe();
        let sessions = Arc::downgrade(&self.sessions);
        let listeners = self.listeners.clone();
        tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(event) => Some(event),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => None,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let changed = match event {
                    Some(ConnectorEvent::Status { old, new, .. }) => {
                        (old == ConnectorStatus::Connected) != (new == ConnectorStatus::Connected)
                    }
                    Some(ConnectorEvent::ToolsChanged { .. }) | None => true,
                };
                if !changed {
                    continue;
                }
                let Some(sessions) = sessions.upgrade() else {
                    break;
                };
                let peers: Vec<Peer<RoleServer>> = match sessions.lock() {
                    Ok(mut list) => {
                        list.retain(|p| !p.is_transport_closed());
                        list.clone()
                    }
                    Err(_) => Vec::new(),
                };
                let comes_or_goes = matches!(event, Some(ConnectorEvent::Status { .. }) | None);
                listeners.tell(comes_or_goes).await;
                for peer in peers {
                    let _ = peer.notify_tool_list_changed().await;
                    // A server that comes or goes takes its prompts and
                    // resources with it.
                    if comes_or_goes {
                        let _ = peer.notify_prompt_list_changed().await;
                        let _ = peer.notify_resource_list_changed().await;
                    }
                }
            }
        });
    }
}

// Handlers that await a backend box their work: rmcp runs each request as
// a task whose future is as large as the largest handler's, and copies it
// whole when it spawns the task and again when it finishes. Inline, the
// routed call's state (backend request, deadline, progress forwarding)
// made those copies about half the service's instructions per call
// (callgrind); boxed, they are a pointer.
impl ServerHandler for Gateway {
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_logging()
                .enable_completions()
                .enable_prompts()
                .enable_prompts_list_changed()
                .enable_resources()
                .enable_resources_list_changed()
                .enable_resources_subscribe()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new(
            "switchboard",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(
            "Switchboard: the tools of every connected connector, named <connector>__<tool>.",
        )
    }

    fn on_initialized(
        &self,
        context: NotificationContext<RoleServer>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        // A client with roots changes the union servers see when they ask
        // outside a call: tell them, so they ask again.
        let has_roots = context
            .peer
            .peer_info()
            .is_some_and(|info| info.capabilities.roots.is_some());
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|p| !p.is_transport_closed());
            sessions.push(context.peer);
        }
        if has_roots {
            self.tell_roots_changed();
        }
        std::future::ready(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(listeners::Listeners::accepted(requested))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        Box::pin(async move {
            // The resources it named are subscribed to for the stream's
            // life; one no server serves is never updated.
            let uris = context
                .accepted()
                .resource_subscriptions
                .clone()
                .unwrap_or_default();
            let stream = requests::Subscriber::Stream(context.sink().clone());
            let peers = self.peers();
            for uri in &uris {
                let request = SubscribeRequestParams::new(uri.clone());
                let _ = self
                    .subscriptions
                    .subscribe(&peers, stream.clone(), request)
                    .await;
            }
            let listened = self.listeners.listen(context).await;
            let peers = self.peers();
            for uri in &uris {
                let request = UnsubscribeRequestParams::new(uri.clone());
                let _ = self
                    .subscriptions
                    .unsubscribe(&peers, &stream, request)
                    .await;
            }
            listened
        })
        .await
    }

    /// A client's roots changed: every server may ask again.
    fn on_roots_list_changed(
        &self,
        _context: NotificationContext<RoleServer>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        self.tell_roots_changed();
        std::future::ready(())
    }

    fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl std::future::Future<Output = Result<ListToolsResult, McpError>> + Send + '_ {
        std::future::ready(Ok(self.tool_list(&context).0))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Box::pin(async move {
            let peers = self.peers();
            let prompts = catalogs::prompts(&peers, &self.options.separator).await;
            let mut list =
                ListPromptsResult::with_all_items(prompts.into_iter().map(|(p, _, _)| p).collect());
            (list.ttl_ms, list.cache_scope) = freshness(&context);
            Ok(list)
        })
        .await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        Box::pin(async move {
            let peers = self.peers();
            catalogs::get_prompt(&peers, &self.options.separator, request)
                .await
                .map(Into::into)
        })
        .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Box::pin(async move {
            let peers = self.peers();
            let resources = catalogs::resources(&peers).await;
            let mut list = ListResourcesResult::with_all_items(
                resources.into_iter().map(|(r, _)| r).collect(),
            );
            (list.ttl_ms, list.cache_scope) = freshness(&context);
            Ok(list)
        })
        .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        Box::pin(async move {
            let peers = self.peers();
            catalogs::read_resource(&peers, request)
                .await
                .map(Into::into)
        })
        .await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        Box::pin(self.route_call(request, context)).await
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        Box::pin(async move {
            match tasks::handle(self, &request, &context).await {
                Some(answer) => answer,
                None => Err(McpError::new(
                    rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                    format!("method not found: {}", request.method),
                    None,
                )),
            }
        })
        .await
    }

    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        Box::pin(async move {
            requests::set_level(&self.peers(), request).await;
            Ok(())
        })
        .await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        Box::pin(async move {
            let peers = self.peers();
            requests::complete(&peers, &self.options.separator, request).await
        })
        .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Box::pin(async move {
            let templates = catalogs::templates(&self.peers()).await;
            let mut list = ListResourceTemplatesResult::with_all_items(
                templates.into_iter().map(|(t, _)| t).collect(),
            );
            (list.ttl_ms, list.cache_scope) = freshness(&context);
            Ok(list)
        })
        .await
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        Box::pin(async move {
            let peers = self.peers();
            let client = requests::Subscriber::Session(context.peer);
            self.subscriptions.subscribe(&peers, client, request).await
        })
        .await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        Box::pin(async move {
            let peers = self.peers();
            let client = requests::Subscriber::Session(context.peer);
            self.subscriptions
                .unsubscribe(&peers, &client, request)
                .await
        })
        .await
    }
}

impl Gateway {
    /// The session's `tools/list`, and for each of its tools, in order, the
    /// connector and the name there it routes to (none in search mode,
    /// whose tools are the gateway's own).
    fn tool_list(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> (ListToolsResult, Vec<(String, String)>) {
        let (tools, targets) = if self.mode == search::ToolsMode::Search {
            (search::meta_tools(), Vec::new())
        } else {
            self.tools()
                .into_iter()
                .map(|q| {
                    // Only the name changes: title, description,
                    // annotations, icons, schemas and `_meta` are the
                    // server's, unchanged.
                    let mut tool = q.tool;
                    tool.name = q.name.into();
                    (tool, (q.connector, q.raw_name))
                })
                .unzip()
        };
        let mut list = ListToolsResult::with_all_items(tools);
        (list.ttl_ms, list.cache_scope) = freshness(context);
        (list, targets)
    }
}

/// How long a 2026-07-28 client may keep one of our lists, and who may
/// (SEP-2549; older revisions have neither). Zero: the lists change
/// whenever a connector comes, goes or changes its own, which listen
/// streams are told at once. Private: they are this user's connectors,
/// and a profile's session sees its own.
fn freshness(context: &RequestContext<RoleServer>) -> (Option<u64>, Option<CacheScope>) {
    if rounds::is_stateless(context) {
        (Some(0), Some(CacheScope::Private))
    } else {
        (None, None)
    }
}
