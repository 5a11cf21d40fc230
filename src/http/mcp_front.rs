//! `/mcp`: the gateway over Streamable HTTP. The query chooses what a
//! session serves — `?tools=search|all` and `?profile=NAME` — and each
//! kind of session is an rmcp service of its own (its own sessions; the
//! gateway's state shared). A client keeps the URL it was given, so its
//! requests stay with its kind. A profile's service is made at its first
//! request; a request that opens a session (no `Mcp-Session-Id`) reads the
//! profile again and puts a changed one in place for all of that
//! service's sessions, so no session is lost to a change and requests
//! within a session read nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::gateway::search::ToolsMode;
use crate::gateway::Gateway;

type Service = StreamableHttpService<Gateway, LocalSessionManager>;
/// Each profile's service by (mode, name), with the gateway whose profile
/// its sessions share.
type ProfileServices = HashMap<(ToolsMode, String), (Gateway, Service)>;

/// The services behind `/mcp`.
#[derive(Clone)]
pub struct McpFront {
    gateway: Gateway,
    config: StreamableHttpServerConfig,
    all: Service,
    search: Service,
    profiles: Arc<Mutex<ProfileServices>>,
}

fn service(gateway: Gateway, config: &StreamableHttpServerConfig) -> Service {
    StreamableHttpService::new(
        move || Ok(gateway.clone()),
        Arc::new(LocalSessionManager::default()),
        config.clone(),
    )
}

/// The value of `key=` in a query.
fn param<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        pair.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

impl McpFront {
    pub fn new(gateway: Gateway, config: StreamableHttpServerConfig) -> McpFront {
        McpFront {
            all: service(gateway.with_mode(ToolsMode::All), &config),
            search: service(gateway.with_mode(ToolsMode::Search), &config),
            gateway,
            config,
            profiles: Arc::default(),
        }
    }

    /// Serves one request with the service its query chooses.
    pub async fn handle(self, request: axum::extract::Request) -> Response {
        let query = request.uri().query().unwrap_or("").to_string();
        let mode = param(&query, "tools")
            .and_then(|mode| mode.parse().ok())
            .unwrap_or_else(|| self.gateway.default_mode());
        let service = match param(&query, "profile") {
            None => match mode {
                ToolsMode::All => self.all.clone(),
                ToolsMode::Search => self.search.clone(),
            },
            Some(name) => match self.for_profile(mode, name, opens_session(&request)).await {
                Ok(service) => service,
                Err(message) => return (StatusCode::NOT_FOUND, message).into_response(),
            },
        };
        service.handle(request).await.into_response()
    }

    /// The service of profile `name` in `mode`; when the request `opens`
    /// a session, with the profile as the settings file has it now.
    async fn for_profile(
        &self,
        mode: ToolsMode,
        name: &str,
        opens: bool,
    ) -> Result<Service, String> {
        let key = (mode, name.to_string());
        let cached = self.lock().get(&key).cloned();
        match cached {
            Some((_, service)) if !opens => Ok(service),
            Some((gateway, service)) => {
                let profile = gateway
                    .read_profile(name)
                    .await
                    .map_err(|e| e.to_string())?;
                gateway.update_profile(profile);
                Ok(service)
            }
            None => {
                let gateway = self
                    .gateway
                    .with_mode(mode)
                    .with_profile(name)
                    .await
                    .map_err(|e| e.to_string())?;
                let made = service(gateway.clone(), &self.config);
                // Two first requests at once: the first one stored wins.
                let mut profiles = self.lock();
                let (_, service) = profiles.entry(key).or_insert((gateway, made));
                Ok(service.clone())
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProfileServices> {
        self.profiles.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether a request starts a session rather than belonging to one.
fn opens_session(request: &axum::extract::Request) -> bool {
    !request.headers().contains_key("mcp-session-id")
}

#[cfg(test)]
mod tests {
    use super::param;

    #[test]
    fn query_parameters_are_read_by_name() {
        assert_eq!(param("tools=search&profile=work", "profile"), Some("work"));
        assert_eq!(param("tools=search", "tools"), Some("search"));
        assert_eq!(param("toolsx=1", "tools"), None);
        assert_eq!(param("", "profile"), None);
    }
}
