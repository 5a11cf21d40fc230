//! rmcp's reqwest client for Streamable HTTP, with one change: the
//! `initialize` POST keeps its HTTP status.
//!
//! rmcp 3.11 reports most 4xx answers (a 401 without `WWW-Authenticate`, a
//! 404, a 405) only as text (`UnexpectedServerResponse("HTTP 404 …")`), and
//! we never classify an error by its text. So this client sends the
//! `initialize` request itself and returns any non-2xx answer as
//! [`HttpStatusError`], which carries the status as a number. Every other
//! request goes to rmcp's own client unchanged, so sessions, resumption and
//! limits behave as rmcp made them.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::BoxStream;
use futures::StreamExt;
use reqwest::header::{
    HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, SseError, StreamableHttpClient,
    StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use sse_stream::{Sse, SseStream};

use crate::mcp::sse::is_event_stream;

/// The header that carries a Streamable HTTP session's id.
const SESSION_ID: &str = "mcp-session-id";
/// What a Streamable HTTP client accepts, per the spec.
const ACCEPTED: &str = "application/json, text/event-stream";

type Error = StreamableHttpError<reqwest::Error>;

/// A [`reqwest::Client`] (carrying the caller's headers as defaults) whose
/// `initialize` answers keep their status; see the module docs.
#[derive(Clone, Debug)]
pub struct StatusKeepingClient(pub reqwest::Client);

impl StreamableHttpClient for StatusKeepingClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Error> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            limits,
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, Error> {
        if is_initialize(&message) {
            return post_initialize(&self.0, &uri, &message, auth_header, custom_headers, limits)
                .await;
        }
        self.0
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Error> {
        self.0
            .delete_session(uri, session_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, Error> {
        self.0
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, Error> {
        self.0
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}

fn is_initialize(message: &ClientJsonRpcMessage) -> bool {
    matches!(
        message,
        JsonRpcMessage::Request(request)
            if matches!(request.request, ClientRequest::InitializeRequest(_))
    )
}

/// Posts `initialize` as rmcp's client would, but answers a non-2xx status
/// with [`HttpStatusError`] (unless the body is a JSON-RPC error, which the
/// handshake reports better than a status).
async fn post_initialize(
    client: &reqwest::Client,
    uri: &str,
    message: &ClientJsonRpcMessage,
    auth_header: Option<String>,
    custom_headers: HashMap<HeaderName, HeaderValue>,
    limits: StreamableHttpResponseLimits,
) -> Result<StreamableHttpPostResponse, Error> {
    let mut request = client.post(uri).header(ACCEPT, ACCEPTED).json(message);
    if let Some(token) = auth_header {
        request = request.bearer_auth(token);
    }
    for (name, value) in custom_headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(StreamableHttpError::Client)?;
    let status = response.status();
    let session_id = response
        .headers()
        .get(SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let is_json = content_type.as_deref().is_some_and(is_json);

    // A challenge is kept as rmcp's own client keeps it, so a sign-in can
    // start from it.
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match (status, challenge) {
        (reqwest::StatusCode::UNAUTHORIZED, Some(header)) => {
            return Err(StreamableHttpError::AuthRequired(AuthRequiredError::new(
                header,
            )))
        }
        (reqwest::StatusCode::FORBIDDEN, Some(header)) => {
            let url = url::Url::parse(uri).ok();
            let params = url.map(|u| rmcp::transport::WWWAuthenticateParams::parse(&header, &u));
            if params.as_ref().is_some_and(|p| p.is_insufficient_scope()) {
                let scope = params.and_then(|p| p.scope);
                return Err(StreamableHttpError::InsufficientScope(
                    InsufficientScopeError::new(header, scope),
                ));
            }
        }
        _ => {}
    }
    if !status.is_success() {
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if is_json {
            let body = read_bounded(response, limits.max_error_response_size).await?;
            if let Ok(error @ JsonRpcMessage::Error(_)) =
                serde_json::from_slice::<ServerJsonRpcMessage>(&body)
            {
                return Ok(StreamableHttpPostResponse::Json(error, session_id));
            }
        }
        return Err(HttpStatusError::new(status.as_u16(), retry_after).into());
    }
    match content_type.as_deref() {
        Some(ct) if is_event_stream(ct) => {
            let max = limits.max_sse_event_size;
            let stream = SseStream::from_bytes_stream(capped(response, max)).boxed();
            Ok(StreamableHttpPostResponse::Sse(stream, session_id))
        }
        Some(_) if is_json => {
            let body = read_bounded(response, limits.max_json_response_size).await?;
            match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                Ok(reply) => Ok(StreamableHttpPostResponse::Json(reply, session_id)),
                Err(error) => Err(StreamableHttpError::Deserialize(error)),
            }
        }
        _ => Err(StreamableHttpError::UnexpectedContentType(content_type)),
    }
}

fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads a whole body, refusing one longer than `max` bytes so a hostile
/// server cannot make us buffer without end.
async fn read_bounded(response: reqwest::Response, max: usize) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(StreamableHttpError::Client)?;
        if body.len() + chunk.len() > max {
            return Err(StreamableHttpError::ResponseBodyTooLarge { max_size: max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The response's bytes, ending in an error once more than `max` have come.
/// The `initialize` stream carries one reply (and perhaps a notification or
/// two before it), so one event's limit bounds the whole of it.
fn capped(
    response: reqwest::Response,
    max: usize,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    let mut seen = 0usize;
    response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen += chunk.len();
        if seen > max {
            Err(std::io::Error::other(format!(
                "the initialize stream exceeded {max} bytes"
            )))
        } else {
            Ok(chunk)
        }
    })
}
