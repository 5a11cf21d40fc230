//! What the service's connection to one server hears from it: its
//! notifications (tools changed, log messages, resource updates, progress,
//! an elicitation's completion) become [`ServerEvent`]s or are routed, and
//! its requests of its client (sampling, elicitation, roots) go up to the
//! calling client through the [`Upstream`](super::upstream::Upstream). Also
//! what the connection declares to servers.

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProgressNotificationParam};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};
use tokio::sync::mpsc;

use super::call::ProgressRoutes;
use super::upstream::SharedUpstream;

/// A server's log message (`notifications/message`). The 2026 protocol
/// deprecates it (SEP-2577), but the servers people run today still send
/// it, and the gateway passes it on, so the allowance is confined here.
#[allow(deprecated)]
pub type LogMessage = rmcp::model::LoggingMessageNotificationParam;

/// What a server's supervisor reports to the connector core.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The server died, or stopped answering pings and was killed;
    /// `reason` says how, for a person.
    Exited {
        connector: String,
        generation: u64,
        reason: String,
    },
    /// The server sent `notifications/tools/list_changed`.
    ToolsChanged { connector: String, generation: u64 },
    /// The server answered its first health ping: it is up for real.
    Healthy { connector: String, generation: u64 },
    /// The server sent a log message (`notifications/message`).
    Logging {
        connector: String,
        params: LogMessage,
    },
    /// The server says a resource changed
    /// (`notifications/resources/updated`), for its subscribers.
    ResourceUpdated { connector: String, uri: String },
}

/// Receives server notifications for one connection.
#[derive(Clone)]
pub(super) struct Handler {
    connector: String,
    generation: u64,
    events: mpsc::UnboundedSender<ServerEvent>,
    /// Where progress notifications of in-flight calls go.
    progress: ProgressRoutes,
    /// Where the server's requests of its client go.
    upstream: SharedUpstream,
}

impl Handler {
    pub(super) fn new(
        connector: &str,
        generation: u64,
        events: mpsc::UnboundedSender<ServerEvent>,
        progress: ProgressRoutes,
        upstream: SharedUpstream,
    ) -> Handler {
        Handler {
            connector: connector.to_string(),
            generation,
            events,
            progress,
            upstream,
        }
    }
}

impl ClientHandler for Handler {
    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        let _ = self.events.send(ServerEvent::ToolsChanged {
            connector: self.connector.clone(),
            generation: self.generation,
        });
        std::future::ready(())
    }

    #[allow(deprecated)]
    fn on_logging_message(
        &self,
        params: LogMessage,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        let _ = self.events.send(ServerEvent::Logging {
            connector: self.connector.clone(),
            params,
        });
        std::future::ready(())
    }

    fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        let _ = self.events.send(ServerEvent::ResourceUpdated {
            connector: self.connector.clone(),
            uri: params.uri,
        });
        std::future::ready(())
    }

    fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        self.progress.route(params);
        std::future::ready(())
    }

    fn on_custom_notification(
        &self,
        notification: rmcp::model::CustomNotification,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        if let Some(upstream) = self.upstream.get() {
            match notification.method.as_str() {
                super::upstream::ELICITATION_COMPLETE => {
                    upstream.elicitation_complete(&self.connector, notification)
                }
                super::upstream::TASK_STATUS => upstream.task_status(&self.connector, notification),
                _ => {}
            }
        }
        std::future::ready(())
    }

    #[allow(deprecated)]
    fn create_message(
        &self,
        params: rmcp::model::CreateMessageRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> impl std::future::Future<Output = Result<rmcp::model::CreateMessageResult, rmcp::ErrorData>>
           + Send
           + '_ {
        let forwarded = self
            .upstream
            .get()
            .map(|up| up.create_message(&self.connector, params));
        async move {
            match forwarded {
                Some(answer) => answer.await,
                None => Err(super::upstream::no_client("sampling/createMessage")),
            }
        }
    }

    fn create_elicitation(
        &self,
        params: rmcp::model::ElicitRequestParams,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> impl std::future::Future<Output = Result<rmcp::model::ElicitResult, rmcp::ErrorData>> + Send + '_
    {
        let forwarded = self
            .upstream
            .get()
            .map(|up| up.create_elicitation(&self.connector, params));
        async move {
            match forwarded {
                Some(answer) => answer.await,
                None => Err(super::upstream::no_client("elicitation/create")),
            }
        }
    }

    #[allow(deprecated)]
    fn list_roots(
        &self,
        _context: rmcp::service::RequestContext<RoleClient>,
    ) -> impl std::future::Future<Output = Result<rmcp::model::ListRootsResult, rmcp::ErrorData>>
           + Send
           + '_ {
        let forwarded = self.upstream.get().map(|up| up.list_roots(&self.connector));
        async move {
            match forwarded {
                Some(answer) => answer.await,
                None => Ok(rmcp::model::ListRootsResult::default()),
            }
        }
    }

    fn get_info(&self) -> ClientConfig {
        // `initialize` proposes the newest revision that has it; the one
        // without it starts with `server/discover` (`mcp/revision.rs`).
        ClientConfig::new(
            client_capabilities(),
            Implementation::new("switchboard", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(rmcp::model::ProtocolVersion::LATEST_WITH_INITIALIZE)
    }
}

/// What the service's connections declare to servers: sampling,
/// elicitation (form and URL) and roots, all passed on to the client that
/// is calling (`mcp/upstream.rs`), so a server offers what it would to
/// that client directly.
#[allow(deprecated)]
fn client_capabilities() -> ClientCapabilities {
    let mut capabilities = ClientCapabilities::default();
    capabilities.sampling = Some(Default::default());
    let mut elicitation = rmcp::model::ElicitationCapability::default();
    elicitation.form = Some(Default::default());
    elicitation.url = Some(Default::default());
    capabilities.elicitation = Some(elicitation);
    let mut roots = rmcp::model::RootsCapabilities::default();
    roots.list_changed = Some(true);
    capabilities.roots = Some(roots);
    capabilities
}
