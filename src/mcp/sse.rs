//! Our client for MCP's HTTP+SSE transport (protocol 2024-11-05), which rmcp
//! no longer ships.
//!
//! The transport is two HTTP exchanges: one long `GET` whose response is an
//! event stream, and one `POST` per outgoing message. The server's first
//! event, `endpoint`, names the URL to `POST` to; every later `message` event
//! carries one JSON-RPC message for us. [`SseClientTransport`] owns the event
//! stream: dropping or closing it closes the `GET`, which is how the server
//! learns the session is over.
//!
//! With a sign-in ([`ConnectorAuth`]), the `GET` and every `POST` carry the
//! connector's current access token; a 401 gets one refresh and one retry,
//! a 403 `insufficient_scope` asks for a step-up.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use rmcp::model::ServerJsonRpcMessage;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::RoleClient;
use sse_stream::{Sse, SseStream};
use url::Url;

use super::auth::{ConnectorAuth, TokenError};

/// The media type of an event stream.
const EVENT_STREAM: &str = "text/event-stream";
/// The event whose data is the URL to post messages to.
const ENDPOINT_EVENT: &str = "endpoint";
/// The event that carries one JSON-RPC message. An event with no `event:`
/// field has this type too (the SSE spec's default).
const MESSAGE_EVENT: &str = "message";

type EventStream = BoxStream<'static, Result<Sse, sse_stream::Error>>;

/// Why the SSE transport failed. Structured, so that callers can tell a
/// refused connection from a wrong status from a server that is not MCP.
#[derive(Debug, thiserror::Error)]
pub enum SseTransportError {
    /// The request did not get an HTTP answer (refused, DNS, TLS, reset).
    #[error("{}", super::http_error::describe(.0))]
    Request(#[source] reqwest::Error),
    /// The server answered with a status other than 2xx.
    #[error("the server answered HTTP {status}")]
    Status { status: u16 },
    /// The `GET` was answered, but not with an event stream.
    #[error("it answered with content type {}, not an event stream", content_type.as_deref().unwrap_or("(none)"))]
    NotEventStream { content_type: Option<String> },
    /// The event stream broke or ended before it named the endpoint.
    #[error("the event stream ended before its `endpoint` event{}", cause.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    NoEndpoint { cause: Option<sse_stream::Error> },
    /// The `endpoint` event did not name a URL we may post to.
    #[error("the `endpoint` event is unusable: {reason}")]
    BadEndpoint { reason: Cow<'static, str> },
    /// No `endpoint` event arrived within the deadline.
    #[error("no `endpoint` event within {after:?}")]
    Timeout { after: Duration },
    /// The server wants a sign-in (401 with `WWW-Authenticate`).
    #[error("the server asks for a sign-in")]
    AuthRequired { challenge: String },
    /// The server wants wider scopes (403 `insufficient_scope`).
    #[error("the server needs wider scopes than the sign-in has")]
    InsufficientScope { challenge: String },
    /// No token could be had for the request.
    #[error("{0}")]
    Token(TokenError),
}

/// The client side of one HTTP+SSE session.
pub struct SseClientTransport {
    /// The server's event stream: the body of our `GET`. `None` once closed;
    /// dropping it closes the connection, which ends the session.
    events: Option<EventStream>,
    /// Where each outgoing message is posted: the `endpoint` event's URL,
    /// resolved against the SSE URL.
    endpoint: Url,
    /// Carries the caller's headers as defaults, so the `GET` and every
    /// `POST` send them without this type ever seeing their values.
    client: reqwest::Client,
    /// The connector's sign-in, when it has one: the token source.
    auth: Option<Arc<ConnectorAuth>>,
}

impl std::fmt::Debug for SseClientTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseClientTransport")
            .field("endpoint", &self.endpoint.path())
            .field("open", &self.events.is_some())
            .finish()
    }
}

impl SseClientTransport {
    /// Opens the event stream at `sse_url` and waits for the server's
    /// `endpoint` event, all within `deadline`.
    ///
    /// `client` should carry the caller's custom headers as default headers.
    pub async fn connect(
        client: reqwest::Client,
        sse_url: Url,
        deadline: Duration,
        auth: Option<Arc<ConnectorAuth>>,
    ) -> Result<Self, SseTransportError> {
        let opening = Self::open(client, sse_url, auth);
        tokio::time::timeout(deadline, opening)
            .await
            .map_err(|_| SseTransportError::Timeout { after: deadline })?
    }

    async fn open(
        client: reqwest::Client,
        sse_url: Url,
        auth: Option<Arc<ConnectorAuth>>,
    ) -> Result<Self, SseTransportError> {
        let get = client.get(sse_url.clone()).header(ACCEPT, EVENT_STREAM);
        let response = signed_send(get, auth.as_deref()).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(SseTransportError::Status {
                status: status.as_u16(),
            });
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        if !content_type.as_deref().is_some_and(is_event_stream) {
            return Err(SseTransportError::NotEventStream { content_type });
        }
        let mut events: EventStream = SseStream::from_bytes_stream(response.bytes_stream()).boxed();
        let endpoint = loop {
            match events.try_next().await {
                Ok(Some(event)) if event.event.as_deref() == Some(ENDPOINT_EVENT) => {
                    break resolve_endpoint(&sse_url, event.data.as_deref().unwrap_or(""))?;
                }
                // The spec puts `endpoint` first; anything earlier has no
                // session to belong to.
                Ok(Some(event)) => {
                    tracing::debug!(event = ?event.event, "ignoring an SSE event before `endpoint`");
                }
                Ok(None) => return Err(SseTransportError::NoEndpoint { cause: None }),
                Err(cause) => {
                    return Err(SseTransportError::NoEndpoint { cause: Some(cause) });
                }
            }
        };
        Ok(Self {
            events: Some(events),
            endpoint,
            client,
            auth,
        })
    }
}

impl Transport<RoleClient> for SseClientTransport {
    type Error = SseTransportError;

    fn name() -> Cow<'static, str> {
        "sse".into()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        // The builder serialises now, so the future owns everything it needs
        // and sends may run concurrently, as rmcp expects.
        let request = self.client.post(self.endpoint.clone()).json(&item);
        let auth = self.auth.clone();
        async move {
            let response = signed_send(request, auth.as_deref()).await?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(SseTransportError::Status {
                    status: status.as_u16(),
                })
            }
        }
    }

    /// Yields the next `message` event's JSON-RPC message. Only the stream
    /// is awaited, so rmcp may drop this future (it races it in a `select!`)
    /// without losing an event.
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let next = self.events.as_mut()?.next().await;
            let event = match next {
                Some(Ok(event)) => event,
                Some(Err(error)) => {
                    tracing::warn!("the SSE stream broke: {error}");
                    self.events = None;
                    return None;
                }
                None => {
                    self.events = None;
                    return None;
                }
            };
            if let Some(message) = parse_message(&event) {
                return Some(message);
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // Dropping the body closes the GET; the server ends the session.
        self.events = None;
        Ok(())
    }
}

/// Sends `request` with the connector's token (if it has a sign-in): a 401
/// gets one refresh and one retry; a 401 without a token sent, or a 403
/// `insufficient_scope`, comes back as the error that names it.
async fn signed_send(
    request: reqwest::RequestBuilder,
    auth: Option<&ConnectorAuth>,
) -> Result<reqwest::Response, SseTransportError> {
    let Some(auth) = auth else {
        return request.send().await.map_err(SseTransportError::Request);
    };
    let token = auth
        .access_token()
        .await
        .map_err(SseTransportError::Token)?;
    // Kept for the one retry; a request with a streaming body cannot be
    // cloned, and ours never has one.
    let retry = request.try_clone();
    let first = match &token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = first.send().await.map_err(SseTransportError::Request)?;
    let challenge = || {
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    match response.status() {
        reqwest::StatusCode::UNAUTHORIZED => {
            let (Some(sent), Some(retry)) = (token, retry) else {
                return match challenge() {
                    Some(challenge) => Err(SseTransportError::AuthRequired { challenge }),
                    None => Ok(response),
                };
            };
            let fresh = auth
                .after_unauthorized(&sent)
                .await
                .map_err(SseTransportError::Token)?;
            retry
                .bearer_auth(fresh)
                .send()
                .await
                .map_err(SseTransportError::Request)
        }
        reqwest::StatusCode::FORBIDDEN => match challenge() {
            Some(challenge)
                if rmcp::transport::WWWAuthenticateParams::parse(&challenge, response.url())
                    .is_insufficient_scope() =>
            {
                auth.insufficient_scope(&challenge);
                Err(SseTransportError::InsufficientScope { challenge })
            }
            _ => Ok(response),
        },
        _ => Ok(response),
    }
}

/// The JSON-RPC message in a `message` event, if it holds one. Other events
/// (and keep-alives) are skipped; a message we cannot parse is logged by
/// its parse error only, since its text might hold the server's data.
fn parse_message(event: &Sse) -> Option<ServerJsonRpcMessage> {
    let kind = event.event.as_deref().unwrap_or(MESSAGE_EVENT);
    if kind != MESSAGE_EVENT {
        tracing::debug!(event = kind, "ignoring an SSE event");
        return None;
    }
    let data = event.data.as_deref().filter(|d| !d.trim().is_empty())?;
    match serde_json::from_str(data) {
        Ok(message) => Some(message),
        Err(error) => {
            tracing::warn!("skipping an SSE message that is not JSON-RPC: {error}");
            None
        }
    }
}

/// Resolves the `endpoint` event's data against the SSE URL. The endpoint
/// must stay on the SSE URL's origin: our custom headers (credentials,
/// often) go with every post, and must not be sent to a host the user did
/// not name.
pub fn resolve_endpoint(sse_url: &Url, data: &str) -> Result<Url, SseTransportError> {
    let data = data.trim();
    if data.is_empty() {
        return Err(SseTransportError::BadEndpoint {
            reason: "it has no data".into(),
        });
    }
    let endpoint = sse_url
        .join(data)
        .map_err(|error| SseTransportError::BadEndpoint {
            reason: format!("not a URL ({error})").into(),
        })?;
    if endpoint.origin() != sse_url.origin() {
        return Err(SseTransportError::BadEndpoint {
            reason: "it points to another origin than the SSE URL".into(),
        });
    }
    Ok(endpoint)
}

/// Whether a `Content-Type` value names an event stream (parameters such as
/// `charset` aside).
pub fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(EVENT_STREAM))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn endpoint_resolves_against_the_sse_url() {
        let sse = url("http://127.0.0.1:3001/api/sse?x=1");
        let got = resolve_endpoint(&sse, "/message?sessionId=abc");
        assert_eq!(
            got.ok(),
            Some(url("http://127.0.0.1:3001/message?sessionId=abc"))
        );
        let got = resolve_endpoint(&sse, "message?sessionId=abc");
        assert_eq!(
            got.ok(),
            Some(url("http://127.0.0.1:3001/api/message?sessionId=abc"))
        );
    }

    #[test]
    fn endpoint_on_another_origin_is_refused() {
        let sse = url("http://127.0.0.1:3001/sse");
        for data in [
            "http://evil.example/message",
            "https://127.0.0.1:3001/m",
            "",
        ] {
            assert!(
                matches!(
                    resolve_endpoint(&sse, data),
                    Err(SseTransportError::BadEndpoint { .. })
                ),
                "{data}"
            );
        }
    }

    #[test]
    fn event_stream_content_types() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("Text/Event-Stream; charset=utf-8"));
        assert!(!is_event_stream("text/html"));
        assert!(!is_event_stream("application/json"));
    }

    #[test]
    fn message_events_are_parsed_and_others_skipped() {
        let json = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        let plain = Sse::default().data(json);
        assert!(parse_message(&plain).is_some());
        assert!(parse_message(&Sse::default().event("message").data(json)).is_some());
        assert!(parse_message(&Sse::default().event("endpoint").data("/m")).is_none());
        assert!(parse_message(&Sse::default().data("not json")).is_none());
        assert!(parse_message(&Sse::default().event("message")).is_none());
    }
}
