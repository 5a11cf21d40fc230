//! Streamable HTTP with a connector's sign-in: every request carries the
//! connector's current access token (never a client's: the gateway's own
//! callers' headers never reach here), a 401 `invalid_token` gets one
//! refresh and one retry, and a 403 `insufficient_scope` asks for a
//! step-up sign-in while the old grant stays in use.
//!
//! Like rmcp's `AuthClient`, but on our [`ConnectorAuth`], whose refresh is
//! single-flight and whose failures end in "sign in again" instead of a loop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::stream::BoxStream;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::auth::AuthError;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

use super::tokens::{ConnectorAuth, TokenError};

/// An HTTP client for rmcp's Streamable HTTP transport that signs requests
/// with a connector's token.
#[derive(Clone, Debug)]
pub struct SignedClient<C> {
    inner: C,
    auth: Arc<ConnectorAuth>,
}

impl<C> SignedClient<C> {
    /// Wraps `inner`, which must not carry an `Authorization` of its own.
    pub fn new(inner: C, auth: Arc<ConnectorAuth>) -> Self {
        SignedClient { inner, auth }
    }
}

/// A token failure as the transport's error: "sign in again" is rmcp's
/// `AuthorizationRequired`, anything else a refresh failure.
pub fn token_error<E: std::error::Error + Send + Sync + 'static>(
    error: TokenError,
) -> StreamableHttpError<E> {
    match error {
        TokenError::SignInAgain { .. } => {
            StreamableHttpError::Auth(AuthError::AuthorizationRequired)
        }
        TokenError::Refresh { message } => {
            StreamableHttpError::Auth(AuthError::TokenRefreshFailed(message))
        }
        TokenError::Store { message } => {
            StreamableHttpError::Auth(AuthError::CredentialStoreError(message))
        }
    }
}

impl<C: StreamableHttpClient + Send + Sync> SignedClient<C> {
    /// Runs `call` with the current token; on 401 refreshes once and
    /// retries; on 403 `insufficient_scope` asks for a step-up.
    async fn signed<T, F, Fut>(&self, call: F) -> Result<T, StreamableHttpError<C::Error>>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<T, StreamableHttpError<C::Error>>>,
    {
        let token = self.auth.access_token().await.map_err(token_error)?;
        match call(token.clone()).await {
            Err(StreamableHttpError::AuthRequired(challenge)) => {
                // No token sent: the 401 is the server asking for a sign-in.
                let Some(sent) = token else {
                    return Err(StreamableHttpError::AuthRequired(challenge));
                };
                let fresh = self
                    .auth
                    .after_unauthorized(&sent)
                    .await
                    .map_err(token_error)?;
                call(Some(fresh)).await
            }
            Err(StreamableHttpError::InsufficientScope(scope)) => {
                self.auth.insufficient_scope(&scope.www_authenticate_header);
                Err(StreamableHttpError::InsufficientScope(scope))
            }
            other => other,
        }
    }
}

impl<C: StreamableHttpClient + Send + Sync> StreamableHttpClient for SignedClient<C> {
    type Error = C::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            None,
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
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            None,
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
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.signed(|token| {
            let (uri, message, session_id, headers) = (
                uri.clone(),
                message.clone(),
                session_id.clone(),
                custom_headers.clone(),
            );
            async move {
                self.inner
                    .post_message_with_response_limits(
                        uri, message, session_id, token, headers, limits,
                    )
                    .await
            }
        })
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.signed(|token| {
            let (uri, session_id, headers) =
                (uri.clone(), session_id.clone(), custom_headers.clone());
            async move {
                self.inner
                    .delete_session(uri, session_id, token, headers)
                    .await
            }
        })
        .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.signed(|token| {
            let (uri, session_id, last_event_id, headers) = (
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                custom_headers.clone(),
            );
            async move {
                self.inner
                    .get_stream(uri, session_id, last_event_id, token, headers)
                    .await
            }
        })
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.signed(|token| {
            let (uri, session_id, last_event_id, headers) = (
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                custom_headers.clone(),
            );
            async move {
                self.inner
                    .get_stream_with_max_sse_event_size(
                        uri,
                        session_id,
                        last_event_id,
                        token,
                        headers,
                        max_sse_event_size,
                    )
                    .await
            }
        })
        .await
    }
}
