//! `/mcp`: the gateway over Streamable HTTP. The query chooses what a
//! session serves — `?tools=search|all` and `?profile=NAME` — and each
//! kind of session is an rmcp service of its own (its own sessions; the
//! gateway's state shared). A client keeps the URL it was given, so its
//! requests stay with its kind. A profile's service is made at its first
//! request and made again when the profile changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::gateway::search::ToolsMode;
use crate::gateway::Gateway;
use crate::profile::Profile;

type Service = StreamableHttpService<Gateway, LocalSessionManager>;
/// Each profile's service by (mode, name), with the profile it was made for.
type ProfileServices = HashMap<(ToolsMode, String), (Profile, Service)>;

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
            Some(name) => match self.for_profile(mode, name).await {
                Ok(service) => service,
                Err(message) => return (StatusCode::NOT_FOUND, message).into_response(),
            },
        };
        service.handle(request).await.into_response()
    }

    /// The service of profile `name` in `mode`, as the profile is now.
    async fn for_profile(&self, mode: ToolsMode, name: &str) -> Result<Service, String> {
        let gateway = self
            .gateway
            .with_mode(mode)
            .with_profile(name)
            .await
            .map_err(|e| e.to_string())?;
        let profile = gateway.profile().cloned().unwrap_or_default();
        let mut profiles = self.profiles.lock().unwrap_or_else(|p| p.into_inner());
        let key = (mode, name.to_string());
        if let Some((cached, service)) = profiles.get(&key) {
            if *cached == profile {
                return Ok(service.clone());
            }
        }
        let made = service(gateway, &self.config);
        profiles.insert(key, (profile, made.clone()));
        Ok(made)
    }
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
