//! `subscriptions/listen` of 2026-07-28 clients: the list changes a client
//! of the older revisions is told on its session (`tools/list_changed`,
//! and `prompts/list_changed` and `resources/list_changed` when a
//! connector comes or goes), such a client is told on its listen stream,
//! and the updates of the resources it names there (subscribed at their
//! servers for the stream's life by `Gateway::listen`, passed on by
//! `gateway/requests.rs`).

use std::sync::{Arc, Mutex};

use rmcp::model::{
    PromptListChangedNotification, ResourceListChangedNotification, ServerNotification,
    SubscriptionFilter, ToolListChangedNotification,
};
use rmcp::service::{SubscriptionContext, SubscriptionSendError, SubscriptionSink};
use rmcp::ErrorData as McpError;

/// The most resources one listen stream may follow.
pub const MAX_STREAM_RESOURCES: usize = 256;

/// The open listen streams of every client.
#[derive(Clone, Default)]
pub struct Listeners {
    sinks: Arc<Mutex<Vec<SubscriptionSink>>>,
}

impl Listeners {
    /// What of a client's filter the gateway serves: the list changes, and
    /// updates of up to [`MAX_STREAM_RESOURCES`] resources.
    pub fn accepted(requested: &SubscriptionFilter) -> SubscriptionFilter {
        let mut accepted = requested.clone();
        if let Some(uris) = accepted.resource_subscriptions.as_mut() {
            uris.truncate(MAX_STREAM_RESOURCES);
        }
        accepted
    }

    /// Keeps a stream open until its client ends it.
    pub async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        if let Ok(mut sinks) = self.sinks.lock() {
            sinks.push(context.sink().clone());
        }
        context.cancelled().await;
        Ok(())
    }

    /// Tells every stream its tools changed, and with `lists` its prompts
    /// and resources too; streams found closed are dropped.
    pub async fn tell(&self, lists: bool) {
        let sinks = match self.sinks.lock() {
            Ok(mut sinks) => std::mem::take(&mut *sinks),
            Err(_) => return,
        };
        let mut open = Vec::with_capacity(sinks.len());
        for sink in sinks {
            let mut notes = vec![ServerNotification::ToolListChangedNotification(
                ToolListChangedNotification::default(),
            )];
            if lists {
                notes.push(ServerNotification::PromptListChangedNotification(
                    PromptListChangedNotification::default(),
                ));
                notes.push(ServerNotification::ResourceListChangedNotification(
                    ResourceListChangedNotification::default(),
                ));
            }
            let mut closed = false;
            for note in notes {
                // A kind the client did not ask for is refused by the sink.
                if let Err(SubscriptionSendError::SubscriptionClosed) = sink.send(note).await {
                    closed = true;
                    break;
                }
            }
            if !closed {
                open.push(sink);
            }
        }
        if let Ok(mut sinks) = self.sinks.lock() {
            sinks.extend(open);
        }
    }
}
