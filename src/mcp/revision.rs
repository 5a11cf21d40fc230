//! Which protocol revision a connection to a server speaks.
//!
//! A server that offers the `initialize` handshake is spoken to in the
//! newest revision that has one (2025-11-25, or what it counter-offers):
//! its session carries its notifications (tool list changes, log
//! messages, resource updates) with no `subscriptions/listen` stream to
//! keep open, and `initialize` never proposes a revision that has no
//! handshake, which strict servers of the older revisions refuse. A server
//! that refuses `initialize` ("Method not found", or "unsupported
//! protocol version" from one that speaks only revisions without it) is
//! connected again in 2026-07-28: `server/discover`, then per-request
//! `_meta`, and a `subscriptions/listen` stream for its tool list changes.

use rmcp::model::{ErrorCode, ProtocolVersion, ServerNotification, SubscriptionFilter};
use rmcp::service::{ClientInitializeError, ClientLifecycleMode, Peer};
use rmcp::RoleClient;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::handler::ServerEvent;

/// The two ways a connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// `initialize`, proposing [`ProtocolVersion::LATEST_WITH_INITIALIZE`].
    Handshake,
    /// `server/discover` and per-request metadata (2026-07-28).
    Stateless,
}

impl Revision {
    /// The lifecycle rmcp runs for this revision.
    pub fn lifecycle(self) -> ClientLifecycleMode {
        match self {
            Revision::Handshake => ClientLifecycleMode::Initialize,
            Revision::Stateless => ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        }
    }

    /// What to try after `err` ended a start in this revision, if anything.
    pub fn next_after(self, err: &ClientInitializeError) -> Option<Revision> {
        match (self, err) {
            (Revision::Handshake, ClientInitializeError::JsonRpcError(data))
                if refuses_initialize(data.code) =>
            {
                Some(Revision::Stateless)
            }
            _ => None,
        }
    }
}

/// Whether an error answering `initialize` says the server has no handshake.
fn refuses_initialize(code: ErrorCode) -> bool {
    code == ErrorCode::METHOD_NOT_FOUND || code == ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
}

/// A 2026-07-28 server tells its tool list changes only on a
/// `subscriptions/listen` stream: one is kept open for it until `stop`,
/// and each change becomes the event a session's notification is.
pub fn follow_changes(
    peer: Peer<RoleClient>,
    (connector, generation): (String, u64),
    events: mpsc::UnboundedSender<ServerEvent>,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        let filter = SubscriptionFilter::builder().tools_list_changed().build();
        let mut stream = match peer.listen(filter).await {
            Ok(stream) => stream,
            Err(err) => {
                tracing::debug!(connector, "no listen stream, so no list changes: {err}");
                return;
            }
        };
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => break,
                next = stream.next() => next,
            };
            match next {
                Ok(Some(ServerNotification::ToolListChangedNotification(_))) => {
                    let changed = ServerEvent::ToolsChanged {
                        connector: connector.clone(),
                        generation,
                    };
                    if events.send(changed).is_err() {
                        break;
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ErrorData;

    #[test]
    fn only_a_refused_initialize_leads_to_the_stateless_revision() {
        let refused = |code| ClientInitializeError::JsonRpcError(ErrorData::new(code, "no", None));
        assert_eq!(
            Revision::Handshake.next_after(&refused(ErrorCode::METHOD_NOT_FOUND)),
            Some(Revision::Stateless)
        );
        assert_eq!(
            Revision::Handshake.next_after(&refused(ErrorCode::UNSUPPORTED_PROTOCOL_VERSION)),
            Some(Revision::Stateless)
        );
        assert_eq!(
            Revision::Handshake.next_after(&refused(ErrorCode::INVALID_PARAMS)),
            None
        );
        assert_eq!(
            Revision::Stateless.next_after(&refused(ErrorCode::METHOD_NOT_FOUND)),
            None
        );
    }
}
