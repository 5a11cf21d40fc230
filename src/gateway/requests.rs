//! The client→server requests the gateway routes besides tools, prompts
//! and resource reads: `logging/setLevel` (fanned out to every server that
//! logs), `completion/complete` (to the owner of the prompt or resource
//! template), `resources/templates/list` (aggregated; templates keep their
//! own URIs, like resources, with the connector in their title), and
//! `resources/subscribe`/`unsubscribe` (to the owner of the URI, counted
//! per client so one client's unsubscribe never ends another's; updates go
//! back to the subscribers only — sessions that sent `resources/subscribe`
//! and 2026-07-28 listen streams that named the URI).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

// Logging and legacy subscriptions are deprecated by the 2026 revision;
// clients of the older ones (most today) still use them.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, Reference, ResourceUpdatedNotification,
    ResourceUpdatedNotificationParam, ServerNotification, SubscribeRequestParams,
    UnsubscribeRequestParams,
};
use rmcp::service::{Peer, SubscriptionSink};
use rmcp::{ErrorData as McpError, RoleServer};

use super::catalogs::{self, answer, owner_of, peer_of, templates};

use super::catalogs::Peers;

/// `logging/setLevel`: every server that offers logging gets the level;
/// one that refuses is logged and skipped.
#[allow(deprecated)]
pub async fn set_level(peers: &Peers, request: SetLevelRequestParams) {
    futures::future::join_all(peers.iter().map(|(connector, peer)| {
        let request = request.clone();
        async move {
            let logs = peer
                .peer_info()
                .is_some_and(|info| info.capabilities.logging.is_some());
            if logs {
                if let Err(err) = answer(connector, peer.set_level(request)).await {
                    tracing::debug!(connector, "logging/setLevel: {}", err.message);
                }
            }
        }
    }))
    .await;
}

/// `completion/complete`, routed to the owner of the prompt (qualified
/// name) or the resource template (its own URI template).
pub async fn complete(
    peers: &Peers,
    separator: &str,
    mut request: CompleteRequestParams,
) -> Result<CompleteResult, McpError> {
    let connector = match &mut request.r#ref {
        Reference::Prompt(prompt) => {
            let listed = catalogs::prompts(peers, separator).await;
            let Some((_, connector, raw)) =
                listed.into_iter().find(|(p, _, _)| p.name == prompt.name)
            else {
                return Err(McpError::invalid_params(
                    format!("unknown prompt `{}`: list the prompts again", prompt.name),
                    None,
                ));
            };
            prompt.name = raw;
            connector
        }
        Reference::Resource(template) => {
            let owner = templates(peers)
                .await
                .into_iter()
                .find(|(t, _)| t.uri_template == template.uri)
                .map(|(_, connector)| connector);
            let Some(connector) = owner else {
                return Err(McpError::invalid_params(
                    format!(
                        "no connected server lists the resource template `{}`",
                        template.uri
                    ),
                    None,
                ));
            };
            connector
        }
        _ => {
            return Err(McpError::invalid_params(
                "completion/complete: an unknown kind of reference",
                None,
            ))
        }
    };
    let peer = peer_of(peers, &connector)?;
    answer(&connector, peer.complete(request)).await
}

/// Who is told of a resource's updates.
#[derive(Clone)]
pub enum Subscriber {
    /// A session of a revision with `initialize` (`resources/subscribe`).
    Session(Peer<RoleServer>),
    /// A 2026-07-28 client's listen stream that named the URI.
    Stream(SubscriptionSink),
}

impl Subscriber {
    fn is_gone(&self) -> bool {
        match self {
            Subscriber::Session(peer) => peer.is_transport_closed(),
            // Taken out when its stream ends (`Gateway::listen`).
            Subscriber::Stream(_) => false,
        }
    }

    fn is(&self, other: &Subscriber) -> bool {
        match (self, other) {
            (Subscriber::Session(a), Subscriber::Session(b)) => same_session(a, b),
            // A stream's clones share its accepted filter.
            (Subscriber::Stream(a), Subscriber::Stream(b)) => {
                std::ptr::eq(a.accepted(), b.accepted())
            }
            _ => false,
        }
    }

    async fn tell(&self, uri: &str) {
        let params = ResourceUpdatedNotificationParam::new(uri);
        match self {
            Subscriber::Session(peer) => {
                let _ = peer.notify_resource_updated(params).await;
            }
            Subscriber::Stream(sink) => {
                let note = ServerNotification::ResourceUpdatedNotification(
                    ResourceUpdatedNotification::new(params),
                );
                let _ = sink.send(note).await;
            }
        }
    }
}

/// URI → (its owner, who subscribed to it).
type ByUri = BTreeMap<String, (String, Vec<Subscriber>)>;

/// Who subscribed to what.
#[derive(Clone, Default)]
pub struct Subscriptions {
    by_uri: Arc<Mutex<ByUri>>,
}

impl Subscriptions {
    fn lock(&self) -> std::sync::MutexGuard<'_, ByUri> {
        self.by_uri.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `resources/subscribe` from `client` (or a listen stream's URI): the
    /// owner is asked only for the first subscriber of a URI.
    #[allow(deprecated)]
    pub async fn subscribe(
        &self,
        peers: &Peers,
        client: Subscriber,
        request: SubscribeRequestParams,
    ) -> Result<(), McpError> {
        let Some(connector) = owner_of(peers, &request.uri).await else {
            return Err(McpError::invalid_params(
                format!("no connected server serves the resource `{}`", request.uri),
                None,
            ));
        };
        let first = {
            let mut map = self.lock();
            let entry = map
                .entry(request.uri.clone())
                .or_insert_with(|| (connector.clone(), Vec::new()));
            entry.1.retain(|p| !p.is_gone());
            let first = entry.1.is_empty();
            entry.1.push(client);
            first
        };
        if !first {
            return Ok(());
        }
        let peer = peer_of(peers, &connector)?;
        let uri = request.uri.clone();
        let asked = answer(&connector, peer.subscribe(request)).await;
        if asked.is_err() {
            self.lock().remove(&uri);
        }
        asked
    }

    /// `resources/unsubscribe` from `client` (or a listen stream that
    /// ended): the owner is told only when the last subscriber leaves.
    #[allow(deprecated)]
    pub async fn unsubscribe(
        &self,
        peers: &Peers,
        client: &Subscriber,
        request: UnsubscribeRequestParams,
    ) -> Result<(), McpError> {
        let last = {
            let mut map = self.lock();
            let Some((connector, clients)) = map.get_mut(&request.uri) else {
                return Ok(());
            };
            let before = clients.len();
            clients.retain(|p| !p.is_gone() && !p.is(client));
            if clients.len() == before || !clients.is_empty() {
                None
            } else {
                let connector = connector.clone();
                map.remove(&request.uri);
                Some(connector)
            }
        };
        let Some(connector) = last else {
            return Ok(());
        };
        let peer = peer_of(peers, &connector)?;
        answer(&connector, peer.unsubscribe(request)).await
    }

    /// Passes a server's `notifications/resources/updated` to the clients
    /// that subscribed to that URI of that server.
    pub async fn updated(&self, connector: &str, uri: &str) {
        let clients: Vec<Subscriber> = {
            let mut map = self.lock();
            match map.get_mut(uri) {
                Some((owner, clients)) if owner == connector => {
                    clients.retain(|p| !p.is_gone());
                    clients.clone()
                }
                _ => Vec::new(),
            }
        };
        for client in clients {
            client.tell(uri).await;
        }
    }
}

/// Whether two handles are the same client session: each session holds
/// its own `initialize` params, shared by its handles.
fn same_session(a: &Peer<RoleServer>, b: &Peer<RoleServer>) -> bool {
    match (a.peer_info(), b.peer_info()) {
        (Some(a), Some(b)) => Arc::ptr_eq(&a, &b),
        _ => false,
    }
}
