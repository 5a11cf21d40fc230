//! Following what happens to running servers: supervisors' reports (a
//! death, a first healthy ping, a changed tool list, a log message) and the
//! container engine's `die` events, each turned into the connector's new
//! state through the lifecycle's own steps.

use chrono::Utc;
use tokio::sync::mpsc;

use super::lifecycle::LIST_TOOLS_TIMEOUT;
use super::state::ConnectorState;
use super::ConnectorService;
use crate::mcp::{follow_container_events, ContainerDeath, ContainerEngine, ServerEvent};
use crate::status::ConnectorEvent;

impl ConnectorService {
    /// Turns each `die` event of one of our containers into the death of
    /// the connector that runs it; the generation check makes the later
    /// report from the `docker run` client's exit a no-op.
    pub(super) fn follow_containers(&self, engine: &ContainerEngine) {
        let (tx, mut rx) = mpsc::unbounded_channel::<ContainerDeath>();
        if let Err(err) = follow_container_events(engine, &self.inner.paths.home, tx) {
            tracing::warn!(
                "cannot follow container events ({err}); deaths are noticed when the client exits"
            );
            return;
        }
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(death) = rx.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                let service = ConnectorService { inner };
                let owner =
                    service
                        .registry()
                        .iter()
                        .find_map(|(name, entry)| match entry.state.live() {
                            Some(live)
                                if entry.state.server().and_then(|s| s.container())
                                    == Some(death.name.as_str()) =>
                            {
                                let memory = entry
                                    .state
                                    .server()
                                    .and_then(|s| s.out_of_memory(death.exit_code));
                                Some((name.clone(), live.generation, memory))
                            }
                            _ => None,
                        });
                if let Some((connector, generation, memory)) = owner {
                    let code = death
                        .exit_code
                        .map(|c| format!(" with code {c}"))
                        .unwrap_or_default();
                    let reason = match memory {
                        Some(limit) => crate::mcp::out_of_memory_reason(&connector, &limit, ""),
                        None => format!(
                            "its container {} was stopped from outside{code}",
                            death.name
                        ),
                    };
                    let _ = service.inner.server_events.send(ServerEvent::Exited {
                        connector,
                        generation,
                        reason,
                    });
                }
            }
        });
    }

    /// Follows what supervisors report: a server that died moves to
    /// `error`; a changed tool list is read again.
    pub(super) fn spawn_event_loop(&self, mut rx: mpsc::UnboundedReceiver<ServerEvent>) {
        // The loop holds only a weak handle, so it ends with the service.
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                let service = ConnectorService { inner };
                match event {
                    ServerEvent::Exited {
                        connector,
                        generation,
                        reason,
                    } => {
                        let current = service
                            .with_entry(&connector, |e| {
                                e.state
                                    .live()
                                    .is_some_and(|live| live.generation == generation)
                            })
                            .unwrap_or(false);
                        if current {
                            if let Err(err) = service.record_failure(&connector, reason, true).await
                            {
                                tracing::warn!(connector, "could not record a dead server: {err}");
                            }
                        }
                    }
                    ServerEvent::Logging { connector, params } => {
                        let _ = service.inner.server_logs.send((connector, params));
                    }
                    ServerEvent::ResourceUpdated { connector, uri } => {
                        let _ = service.inner.resource_updates.send((connector, uri));
                    }
                    ServerEvent::Healthy {
                        connector,
                        generation,
                    } => {
                        // Up for real: the next death starts a fresh series of restarts.
                        let _ = service.with_entry(&connector, |e| {
                            if e.state
                                .live()
                                .is_some_and(|live| live.generation == generation)
                            {
                                e.restarts = 0;
                            }
                        });
                    }
                    ServerEvent::ToolsChanged {
                        connector,
                        generation,
                    } => {
                        tokio::spawn(
                            async move { service.refresh_tools(&connector, generation).await },
                        );
                    }
                }
            }
        });
    }

    async fn refresh_tools(&self, name: &str, generation: u64) {
        let peer = self
            .with_entry(name, |e| match e.state.live() {
                Some(live) if live.generation == generation => {
                    e.state.server().map(|s| s.peer().clone())
                }
                _ => None,
            })
            .ok()
            .flatten();
        let Some(peer) = peer else { return };
        let Ok(Ok(tools)) = tokio::time::timeout(LIST_TOOLS_TIMEOUT, peer.list_all_tools()).await
        else {
            return;
        };
        let count = tools.len();
        let kept = self.with_entry(name, |e| match &mut e.state {
            ConnectorState::Connected(live) if live.generation == generation => {
                live.tools = tools;
                true
            }
            _ => false,
        });
        if !matches!(kept, Ok(true)) {
            return;
        }
        let _ = self.inner.events.send(ConnectorEvent::ToolsChanged {
            connector: name.to_string(),
            count,
            at: Utc::now(),
        });
    }
}
