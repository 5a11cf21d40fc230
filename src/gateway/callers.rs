//! Which client session is calling which connector, so that a server's
//! request of its client — `sampling/createMessage`, `elicitation/create`,
//! `roots/list` — reaches the client whose call it serves, and its answer
//! goes back to the server.
//!
//! Routing: a server asks while serving a call, so the request goes to the
//! session whose call to that connector is in flight (the latest, when
//! several clients call the same connector at once: stdio gives no way to
//! tell which call a request belongs to). A client that did not declare
//! the capability gets nothing and the server a clear error; so does a
//! sampling or elicitation request with no call in flight. `roots/list`
//! with no call in flight answers the union of every session's roots. A
//! URL-mode elicitation's completion notification goes to the session its
//! `elicitation/create` went to (by connector and `elicitationId`).

// Sampling and roots are deprecated by the 2026 revision (SEP-2577); the
// clients and servers of the revisions before it, most today, use them.
#![allow(deprecated)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use rmcp::model::{
    ClientCapabilities, CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult,
    CustomNotification, ElicitRequest, ElicitRequestParams, ElicitResult, InputRequest,
    ListRootsRequest, ListRootsResult, ServerNotification,
};
use rmcp::service::Peer;
use rmcp::{ErrorData as McpError, RoleServer, ServiceError};

use super::rounds::{self, Asks};
use crate::mcp::upstream::{no_client, Upstream};

/// The sessions calling each connector now.
#[derive(Clone, Default)]
pub struct Callers {
    calls: Arc<Mutex<Calls>>,
    /// Every client session (the gateway's list), for roots with no call.
    sessions: Arc<Mutex<Vec<Peer<RoleServer>>>>,
}

/// The client of a call in flight, as its server's requests reach it.
#[derive(Clone)]
pub enum Caller {
    /// A client session of a revision with `initialize`: sent requests.
    Session(Peer<RoleServer>),
    /// A client of 2026-07-28: asked through the call's `input_required`
    /// answer (`gateway/rounds.rs`), with the capabilities its request
    /// declared.
    Rounds {
        asks: Asks,
        capabilities: ClientCapabilities,
    },
}

impl Caller {
    fn offers(&self, offers: &impl Fn(&ClientCapabilities) -> bool) -> bool {
        match self {
            Caller::Session(peer) => peer.peer_info().is_some_and(|i| offers(&i.capabilities)),
            Caller::Rounds { capabilities, .. } => offers(capabilities),
        }
    }
}

#[derive(Default)]
struct Calls {
    next: u64,
    by_connector: BTreeMap<String, Vec<(u64, Caller)>>,
    /// Where each URL elicitation went, by (connector, elicitation id),
    /// until its completion arrives or its session ends.
    url_elicitations: BTreeMap<(String, String), Peer<RoleServer>>,
    /// The tasks clients created, by (connector, the server's task id)
    /// (`gateway/tasks.rs`).
    tasks: BTreeMap<(String, String), TaskRecord>,
}

/// A task created through the gateway.
#[derive(Clone)]
pub struct TaskRecord {
    /// The client that created it: its status notifications go there.
    pub owner: Peer<RoleServer>,
    /// `ttl` and `pollInterval` as the server gave them at creation.
    pub ttl: serde_json::Value,
    pub poll_interval: Option<serde_json::Value>,
}

/// The most tasks remembered; past it the oldest-named go (their clients
/// can still poll; their answers lack what rmcp drops, see `tasks.rs`).
const MAX_TASKS: usize = 4096;

/// A call in flight; dropping it ends it.
pub struct InFlight {
    calls: Arc<Mutex<Calls>>,
    connector: String,
    id: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = calls.by_connector.get_mut(&self.connector) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                calls.by_connector.remove(&self.connector);
            }
        }
    }
}

impl Callers {
    pub fn new(sessions: Arc<Mutex<Vec<Peer<RoleServer>>>>) -> Callers {
        Callers {
            calls: Arc::default(),
            sessions,
        }
    }

    /// Records a task a client created at `connector`'s server.
    pub fn record_task(&self, connector: &str, task_id: &str, task: TaskRecord) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if calls.tasks.len() >= MAX_TASKS {
            calls.tasks.pop_first();
        }
        calls
            .tasks
            .insert((connector.to_string(), task_id.to_string()), task);
    }

    /// What was recorded of `connector`'s task `task_id`.
    pub fn task(&self, connector: &str, task_id: &str) -> Option<TaskRecord> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls
            .tasks
            .get(&(connector.to_string(), task_id.to_string()))
            .cloned()
    }

    /// Records that `client` calls `connector` until the guard drops.
    pub fn enter(&self, connector: &str, client: Caller) -> InFlight {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.next += 1;
        let id = calls.next;
        calls
            .by_connector
            .entry(connector.to_string())
            .or_default()
            .push((id, client));
        InFlight {
            calls: self.calls.clone(),
            connector: connector.to_string(),
            id,
        }
    }

    /// The client whose call to `connector` is the latest in flight.
    fn caller(&self, connector: &str) -> Option<Caller> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls
            .by_connector
            .get(connector)
            .and_then(|list| list.last())
            .map(|(_, caller)| caller.clone())
    }

    /// The caller, when it declared the capability `offers` checks.
    fn capable(
        &self,
        connector: &str,
        what: &str,
        offers: impl Fn(&rmcp::model::ClientCapabilities) -> bool,
    ) -> Result<Caller, McpError> {
        let caller = self.caller(connector).ok_or_else(|| no_client(what))?;
        if !caller.offers(&offers) {
            return Err(McpError::invalid_request(
                format!("{what}: the MCP client calling through Switchboard does not offer it"),
                None,
            ));
        }
        Ok(caller)
    }
}

impl Upstream for Callers {
    fn create_message(
        &self,
        connector: &str,
        params: CreateMessageRequestParams,
    ) -> BoxFuture<'static, Result<CreateMessageResult, McpError>> {
        let caller = self.capable(connector, "sampling/createMessage", |c| {
            c.sampling.is_some()
        });
        Box::pin(async move {
            match caller? {
                Caller::Session(peer) => peer.create_message(params).await.map_err(upstream_error),
                Caller::Rounds { asks, .. } => {
                    let request = InputRequest::CreateMessage(CreateMessageRequest::new(params));
                    answer_as(rounds::ask(&asks, request).await?)
                }
            }
        })
    }

    fn create_elicitation(
        &self,
        connector: &str,
        params: ElicitRequestParams,
    ) -> BoxFuture<'static, Result<ElicitResult, McpError>> {
        let caller = self.capable(connector, "elicitation/create", |c| c.elicitation.is_some());
        if let (
            Ok(Caller::Session(client)),
            ElicitRequestParams::UrlElicitationParams { elicitation_id, .. },
        ) = (&caller, &params)
        {
            if !elicitation_id.is_empty() {
                let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
                calls
                    .url_elicitations
                    .retain(|_, peer| !peer.is_transport_closed());
                calls.url_elicitations.insert(
                    (connector.to_string(), elicitation_id.clone()),
                    client.clone(),
                );
            }
        }
        Box::pin(async move {
            match caller? {
                Caller::Session(peer) => peer
                    .create_elicitation(params)
                    .await
                    .map_err(upstream_error),
                Caller::Rounds { asks, .. } => {
                    let request = InputRequest::Elicitation(ElicitRequest::new(params));
                    answer_as(rounds::ask(&asks, request).await?)
                }
            }
        })
    }

    fn elicitation_complete(&self, connector: &str, notification: CustomNotification) {
        self.complete_elicitation(connector, notification);
    }

    fn task_status(&self, connector: &str, mut notification: CustomNotification) {
        let Some(params) = notification.params.as_mut() else {
            return;
        };
        let id = params["taskId"].as_str().unwrap_or_default().to_string();
        let key = (connector.to_string(), id);
        let owner = {
            let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.tasks.get(&key).map(|task| task.owner.clone())
        };
        let Some(owner) = owner else {
            return;
        };
        super::names::qualify_task(params, connector);
        tokio::spawn(async move {
            let _ = owner
                .send_notification(ServerNotification::CustomNotification(notification))
                .await;
        });
    }

    fn list_roots(&self, connector: &str) -> BoxFuture<'static, Result<ListRootsResult, McpError>> {
        let offers = |peer: &Peer<RoleServer>| {
            peer.peer_info()
                .is_some_and(|info| info.capabilities.roots.is_some())
        };
        let clients: Vec<Peer<RoleServer>> = match self.caller(connector) {
            Some(Caller::Session(caller)) => vec![caller],
            Some(Caller::Rounds { asks, capabilities }) => {
                return Box::pin(async move {
                    if capabilities.roots.is_none() {
                        return Ok(ListRootsResult::default());
                    }
                    let request: ListRootsRequest =
                        serde_json::from_value(serde_json::json!({"method": "roots/list"}))
                            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                    answer_as(rounds::ask(&asks, InputRequest::ListRoots(request)).await?)
                })
            }
            None => {
                let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
                sessions
                    .iter()
                    .filter(|p| !p.is_transport_closed())
                    .cloned()
                    .collect()
            }
        };
        Box::pin(async move {
            let mut roots = Vec::new();
            for client in clients.into_iter().filter(offers) {
                let listed = client.list_roots().await.map_err(upstream_error)?;
                for root in listed.roots {
                    if !roots.iter().any(|r: &rmcp::model::Root| r.uri == root.uri) {
                        roots.push(root);
                    }
                }
            }
            Ok(ListRootsResult::new(roots))
        })
    }
}

impl Callers {
    /// The completion of a URL elicitation, to the session it went to (or,
    /// for an id never seen, the connector's caller, if any).
    fn complete_elicitation(&self, connector: &str, notification: CustomNotification) {
        let id = notification
            .params
            .as_ref()
            .and_then(|p| p.get("elicitationId"))
            .and_then(|id| id.as_str())
            .unwrap_or_default()
            .to_string();
        let client = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.url_elicitations.remove(&(connector.to_string(), id))
        };
        let session = match self.caller(connector) {
            Some(Caller::Session(peer)) => Some(peer),
            _ => None,
        };
        let Some(client) = client.or(session) else {
            tracing::debug!(connector, "an elicitation completed with no client to tell");
            return;
        };
        tokio::spawn(async move {
            let _ = client
                .send_notification(ServerNotification::CustomNotification(notification))
                .await;
        });
    }
}

/// A client's answer (from its retry's `inputResponses`) as the result
/// the server asked for.
fn answer_as<T: serde::de::DeserializeOwned>(answer: serde_json::Value) -> Result<T, McpError> {
    serde_json::from_value(answer).map_err(|e| {
        McpError::invalid_params(format!("the client's inputResponses entry: {e}"), None)
    })
}

/// A client's failure, as the server is told it.
fn upstream_error(err: ServiceError) -> McpError {
    match err {
        ServiceError::McpError(err) => err,
        other => McpError::internal_error(format!("the calling client: {other}"), None),
    }
}
