//! Connecting to an MCP server that is already running somewhere, by URL:
//! over Streamable HTTP (rmcp's client) or the older HTTP+SSE transport (our
//! [`SseClientTransport`]).
//!
//! [`connect_remote`] does the whole connect (HTTP, transport set-up and the
//! MCP handshake) within one deadline and turns every failure into a
//! [`RemoteError`] a person can act on. The custom headers usually carry a
//! credential, so their values go into the HTTP client as sensitive default
//! headers and appear in no error, log line or `Debug` output.

mod streamable;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rmcp::service::ClientServiceExt;
use rmcp::service::{ClientInitializeError, RunningService};
use rmcp::transport::auth::AuthError;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::transport::StreamableHttpClientTransport;

use super::revision::Revision;
use rmcp::{ClientHandler, RoleClient};
use url::Url;

pub use crate::catalog::RemoteTransport;

use super::auth::{ConnectorAuth, SignedClient};
use super::http_error::{self, causes};
use super::sse::{SseClientTransport, SseTransportError};
use streamable::StatusKeepingClient;

/// Redirects followed for one request, at most.
const MAX_REDIRECTS: usize = 10;
/// Headers the transports set themselves; a user value would break them.
const MANAGED_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    "content-length",
    "host",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

/// Why a remote MCP server could not be connected. Each variant is one
/// situation with its own remedy; `url` is shown without password or query.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL itself is unusable.
    #[error("`{url}` is not a usable MCP server URL: {message}")]
    InvalidUrl { url: String, message: String },

    /// A custom header cannot be sent. Names the header, never its value.
    #[error("header `{name}` cannot be used: {reason}")]
    InvalidHeader { name: String, reason: String },

    /// No HTTP answer at all: DNS failure, refused port, reset connection.
    #[error(
        "cannot reach {url}: {message}; check the host and port, and that the server is running"
    )]
    Unreachable { url: String, message: String },

    /// The TLS handshake failed.
    #[error("TLS with {url} failed: {message}; check that the scheme (https or http) is the one the server speaks and that its certificate is valid for this host")]
    Tls { url: String, message: String },

    /// The server answered with an HTTP error status.
    #[error("{url} answered HTTP {status}: {hint}")]
    Http {
        url: String,
        status: u16,
        hint: String,
    },

    /// The server answered, but not as an MCP server of the chosen transport.
    #[error("{url} answered, but not as an MCP server: {message}; check the URL's path and the transport (`--transport sse|http`)")]
    NotMcp { url: String, message: String },

    /// Nothing complete came back within the deadline.
    #[error("{url} did not complete the MCP handshake within {after:?}; check that it is an MCP server, or raise the deadline with `--timeout`")]
    Timeout { url: String, after: Duration },

    /// The server speaks the transport but the MCP handshake failed.
    #[error("MCP initialize failed: {message}")]
    Handshake { message: String },

    /// The server wants a sign-in (or a wider one) and we have no usable
    /// token: `challenge` is its `WWW-Authenticate`, when it sent one.
    #[error("{url} asks for a sign-in: run `switchboard login NAME`")]
    SignInRequired {
        url: String,
        challenge: Option<String>,
    },

    /// The sign-in's token could not be had for a passing reason.
    #[error("{message}")]
    Token { message: String },
}

/// Connects to the MCP server at `url` over `transport` and completes the MCP
/// handshake, all within `timeout`. `headers` go with every request (for
/// example `Authorization`); their values never appear in errors or logs.
///
/// The returned service owns the connection: `cancel()` or dropping it
/// closes it (for SSE, the event stream; for Streamable HTTP, the session).
pub async fn connect_remote<H: ClientHandler + Clone>(
    url: &str,
    transport: RemoteTransport,
    headers: &BTreeMap<String, String>,
    handler: H,
    timeout: Duration,
) -> Result<RunningService<RoleClient, H>, RemoteError> {
    connect_remote_signed(url, transport, headers, handler, timeout, None).await
}

/// [`connect_remote`] for a connector that signs in: every request carries
/// the token of `auth` (refreshed as needed), and a 401 with no usable
/// token is [`RemoteError::SignInRequired`] with the server's challenge.
pub async fn connect_remote_signed<H: ClientHandler + Clone>(
    url: &str,
    transport: RemoteTransport,
    headers: &BTreeMap<String, String>,
    handler: H,
    timeout: Duration,
    auth: Option<Arc<ConnectorAuth>>,
) -> Result<RunningService<RoleClient, H>, RemoteError> {
    let parsed = parse_url(url)?;
    let ctx = Context {
        url: shown_url(&parsed),
        transport,
        sends_authorization: headers
            .keys()
            .any(|name| name.eq_ignore_ascii_case("authorization")),
        signs_in: auth.is_some(),
        timeout,
    };
    let client = build_client(headers)?;
    let started = Instant::now();
    // A server that refuses `initialize` is connected again in 2026-07-28
    // (`mcp/revision.rs`), on a new connection.
    let connecting = async {
        let mut revision = Revision::Handshake;
        loop {
            let lifecycle = revision.lifecycle();
            let started = match transport {
                RemoteTransport::Sse => {
                    let sse = SseClientTransport::connect(
                        client.clone(),
                        parsed.clone(),
                        timeout,
                        auth.clone(),
                    )
                    .await
                    .map_err(|e| ctx.classify_sse(&e))?;
                    handler.clone().serve_with_lifecycle(sse, lifecycle).await
                }
                RemoteTransport::StreamableHttp => {
                    let config = StreamableHttpClientTransportConfig::with_uri(parsed.as_str());
                    let client = StatusKeepingClient(client.clone());
                    match auth.clone() {
                        Some(auth) => {
                            let signed = SignedClient::new(client, auth);
                            let http = StreamableHttpClientTransport::with_client(signed, config);
                            handler.clone().serve_with_lifecycle(http, lifecycle).await
                        }
                        None => {
                            let http = StreamableHttpClientTransport::with_client(client, config);
                            handler.clone().serve_with_lifecycle(http, lifecycle).await
                        }
                    }
                }
            };
            match started {
                Ok(service) => return Ok(service),
                Err(err) => match revision.next_after(&err) {
                    Some(next) => revision = next,
                    None => return Err(ctx.classify_init(&err)),
                },
            }
        }
    };
    let service = tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| ctx.timed_out())??;
    tracing::debug!(
        url = %ctx.url,
        transport = %transport,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "connected to a remote MCP server"
    );
    Ok(service)
}

fn parse_url(url: &str) -> Result<Url, RemoteError> {
    let parsed = Url::parse(url).map_err(|e| RemoteError::InvalidUrl {
        url: url.to_string(),
        message: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(RemoteError::InvalidUrl {
            url: shown_url(&parsed),
            message: "only http:// and https:// URLs are supported".into(),
        });
    }
    Ok(parsed)
}

/// The URL as we show it: without a password or query, either of which may
/// hold a secret.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// The HTTP client for one connection, with the caller's headers as
/// sensitive defaults (so `Debug` prints them as `Sensitive`) and the same
/// connection and redirect policy as rmcp's own client.
fn build_client(headers: &BTreeMap<String, String>) -> Result<reqwest::Client, RemoteError> {
    let mut defaults = HeaderMap::new();
    for (name, value) in headers {
        let invalid = |reason: &str| RemoteError::InvalidHeader {
            name: name.clone(),
            reason: reason.to_string(),
        };
        let header_name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| invalid("not a valid HTTP header name"))?;
        if MANAGED_HEADERS.contains(&header_name.as_str()) {
            return Err(invalid("the MCP transport sets it itself"));
        }
        let mut header_value = HeaderValue::from_str(value.trim())
            .map_err(|_| invalid("its value has characters HTTP headers cannot carry"))?;
        header_value.set_sensitive(true);
        defaults.insert(header_name, header_value);
    }
    reqwest::Client::builder()
        .default_headers(defaults)
        // As rmcp does: an idle pooled connection whose last body was not
        // read to the end stalls the next request (delayed ACK).
        .pool_max_idle_per_host(0)
        .redirect(same_origin_redirects())
        .build()
        .map_err(|e| RemoteError::Handshake {
            message: format!(
                "could not set up the HTTP client: {}",
                http_error::describe(&e)
            ),
        })
}

/// Follows only same-origin 307/308 redirects: those keep the method and
/// body, and staying on the origin keeps our headers (credentials) from
/// going to a host the user did not name. Other redirects come back as
/// their 3xx status.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let keeps_body = matches!(
            attempt.status(),
            reqwest::StatusCode::TEMPORARY_REDIRECT | reqwest::StatusCode::PERMANENT_REDIRECT
        );
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !keeps_body || !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// What classifying an error needs to know about the connect attempt.
struct Context {
    url: String,
    transport: RemoteTransport,
    sends_authorization: bool,
    /// Whether the connector signs in (then a 401 or 403 with a challenge
    /// is a sign-in to run, not a credential to replace).
    signs_in: bool,
    timeout: Duration,
}

impl Context {
    fn timed_out(&self) -> RemoteError {
        RemoteError::Timeout {
            url: self.url.clone(),
            after: self.timeout,
        }
    }

    fn not_mcp(&self, message: impl Into<String>) -> RemoteError {
        RemoteError::NotMcp {
            url: self.url.clone(),
            message: message.into(),
        }
    }

    fn http(&self, status: u16) -> RemoteError {
        RemoteError::Http {
            url: self.url.clone(),
            status,
            hint: http_hint(status, self.transport, self.sends_authorization),
        }
    }

    fn sign_in(&self, challenge: Option<String>) -> RemoteError {
        RemoteError::SignInRequired {
            url: self.url.clone(),
            challenge,
        }
    }

    fn token(&self, error: &super::auth::TokenError) -> RemoteError {
        match error {
            super::auth::TokenError::SignInAgain { .. } => self.sign_in(None),
            other => RemoteError::Token {
                message: other.to_string(),
            },
        }
    }

    fn classify_sse(&self, error: &SseTransportError) -> RemoteError {
        match error {
            SseTransportError::Request(e) => self.classify_reqwest(e),
            SseTransportError::Status { status } => self.http(*status),
            SseTransportError::NotEventStream { .. }
            | SseTransportError::NoEndpoint { .. }
            | SseTransportError::BadEndpoint { .. } => self.not_mcp(error.to_string()),
            SseTransportError::Timeout { .. } => self.timed_out(),
            SseTransportError::AuthRequired { challenge }
            | SseTransportError::InsufficientScope { challenge } => {
                self.sign_in(Some(challenge.clone()))
            }
            SseTransportError::Token(e) => self.token(e),
        }
    }

    fn classify_streamable(&self, error: &StreamableHttpError<reqwest::Error>) -> RemoteError {
        match error {
            StreamableHttpError::Client(e) => self.classify_reqwest(e),
            StreamableHttpError::HttpStatus(e) => self.http(e.status),
            StreamableHttpError::AuthRequired(e) if self.signs_in => {
                self.sign_in(Some(e.www_authenticate_header.clone()))
            }
            StreamableHttpError::InsufficientScope(e) if self.signs_in => {
                self.sign_in(Some(e.www_authenticate_header.clone()))
            }
            StreamableHttpError::AuthRequired(_) => self.http(401),
            StreamableHttpError::InsufficientScope(_) => self.http(403),
            StreamableHttpError::Auth(AuthError::AuthorizationRequired) => self.sign_in(None),
            StreamableHttpError::Auth(e) => RemoteError::Token {
                message: e.to_string(),
            },
            StreamableHttpError::UnexpectedContentType(content_type) => self.not_mcp(format!(
                "it answered with content type {}, not JSON or an event stream",
                content_type.as_deref().unwrap_or("(none)")
            )),
            StreamableHttpError::Deserialize(e) => {
                self.not_mcp(format!("its answer is not JSON-RPC ({e})"))
            }
            StreamableHttpError::Sse(e) => {
                self.not_mcp(format!("its event stream is malformed ({e})"))
            }
            StreamableHttpError::UnexpectedServerResponse(_)
            | StreamableHttpError::ResponseBodyTooLarge { .. }
            | StreamableHttpError::UnexpectedEndOfStream => self.not_mcp(error.to_string()),
            other => RemoteError::Handshake {
                message: other.to_string(),
            },
        }
    }

    fn classify_reqwest(&self, error: &reqwest::Error) -> RemoteError {
        let message = http_error::describe(error);
        if is_tls(error) {
            RemoteError::Tls {
                url: self.url.clone(),
                message,
            }
        } else if let Some(status) = error.status() {
            self.http(status.as_u16())
        } else if error.is_timeout() {
            self.timed_out()
        } else if is_not_http(error) || error.is_decode() {
            self.not_mcp(format!("it does not speak HTTP ({message})"))
        } else {
            // Refused, DNS, reset, or closed without an answer.
            RemoteError::Unreachable {
                url: self.url.clone(),
                message,
            }
        }
    }

    fn classify_init(&self, error: &ClientInitializeError) -> RemoteError {
        match error {
            ClientInitializeError::TransportError { error, .. } => {
                let inner = error.error.as_ref();
                if let Some(e) = inner.downcast_ref::<SseTransportError>() {
                    self.classify_sse(e)
                } else if let Some(e) = inner.downcast_ref::<StreamableHttpError<reqwest::Error>>()
                {
                    self.classify_streamable(e)
                } else {
                    RemoteError::Handshake {
                        message: error.to_string(),
                    }
                }
            }
            ClientInitializeError::JsonRpcError(data) => RemoteError::Handshake {
                message: format!("the server refused it: {}", data.message),
            },
            ClientInitializeError::ConnectionClosed(_) => RemoteError::Handshake {
                message: "the server closed the connection before it answered".into(),
            },
            other => RemoteError::Handshake {
                message: other.to_string(),
            },
        }
    }
}

/// The `WWW-Authenticate` challenge of a 403 `insufficient_scope` that
/// `error` (a failed call, with its causes) comes from, over either
/// transport; `None` for any other failure. Found by type along the
/// `source()` chain, never by the text.
pub fn scope_challenge(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use rmcp::transport::streamable_http_client::InsufficientScopeError;
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(scope) = err.downcast_ref::<InsufficientScopeError>() {
            return Some(scope.www_authenticate_header.clone());
        }
        if let Some(SseTransportError::InsufficientScope { challenge }) =
            err.downcast_ref::<SseTransportError>()
        {
            return Some(challenge.clone());
        }
        current = err.source();
    }
    None
}

/// What to do about an HTTP error status, for a person.
fn http_hint(status: u16, transport: RemoteTransport, sends_authorization: bool) -> String {
    let other_path = match transport {
        RemoteTransport::Sse => "SSE servers usually serve `/sse`",
        RemoteTransport::StreamableHttp => "Streamable HTTP servers usually serve `/mcp`",
    };
    match status {
        401 | 403 if sends_authorization => "the server refused the credential: check the value given with `--header \"Authorization=Bearer …\"`".into(),
        401 | 403 => "the server wants a credential: pass it with `--header \"Authorization=Bearer …\"`".into(),
        404 => "there is no MCP endpoint at this path: SSE servers usually serve `/sse`, Streamable HTTP servers `/mcp`".into(),
        405 | 406 | 415 => format!("this path does not take {transport} requests: check the transport (`--transport sse|http`) and the path ({other_path})"),
        300..=399 => "the server redirects to another place: use the URL it redirects to".into(),
        429 => "the server is rate limiting: try again later".into(),
        // 501/505: the server does not implement what was asked (a plain web
        // server answering a POST, an HTTP/1.0-only box): retrying cannot help.
        501 | 505 => format!("the server does not implement these requests, so this URL is not an MCP endpoint: check the URL and the transport (`--transport sse|http`; {other_path})"),
        500..=599 => "the server failed: try again later, or check its logs".into(),
        _ => "the server rejected the request: check the URL and the transport (`--transport sse|http`)".into(),
    }
}

/// Whether a TLS failure lies in the error's causes. rustls's errors come
/// wrapped in an `io::Error`, itself wrapped in another by hyper-rustls, and
/// `io::Error::source` skips what it wraps, so wrapped errors are opened by
/// hand.
fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    causes(error).any(|cause| {
        let mut current = Some(cause);
        while let Some(error) = current {
            if error.is::<rustls::Error>() {
                return true;
            }
            current = error
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|inner| inner as &(dyn std::error::Error + 'static));
        }
        false
    })
}

/// Whether the peer answered with something that is not HTTP.
fn is_not_http(error: &(dyn std::error::Error + 'static)) -> bool {
    causes(error).any(|cause| {
        cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_403_insufficient_scope_is_found_by_type_along_the_causes() {
        use rmcp::transport::streamable_http_client::{
            InsufficientScopeError, StreamableHttpError,
        };
        let challenge = r#"Bearer error="insufficient_scope", scope="mcp admin""#;
        let http: StreamableHttpError<std::io::Error> = StreamableHttpError::InsufficientScope(
            InsufficientScopeError::new(challenge.into(), Some("mcp admin".into())),
        );
        let wrapped =
            rmcp::ServiceError::TransportSend(rmcp::transport::DynamicTransportError::from_parts(
                "test",
                std::any::TypeId::of::<()>(),
                Box::new(http),
            ));
        assert_eq!(scope_challenge(&wrapped).as_deref(), Some(challenge));
        let sse = SseTransportError::InsufficientScope {
            challenge: challenge.into(),
        };
        assert_eq!(scope_challenge(&sse).as_deref(), Some(challenge));
        // The same words in a message are not a 403.
        let text = std::io::Error::other(format!("Insufficient scope: {challenge}"));
        assert_eq!(scope_challenge(&text), None);
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn shown_url_drops_password_and_query() {
        assert_eq!(
            shown_url(&url("https://me:pw@example.com/sse?token=t#f")),
            "https://me@example.com/sse"
        );
    }

    #[test]
    fn headers_are_checked_by_name_and_never_echo_values() {
        let mut headers = BTreeMap::new();
        headers.insert("Authorization".to_string(), "Bearer secret\nx".to_string());
        let err = build_client(&headers).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("Authorization"), "{err}");
        assert!(!err.contains("secret"), "{err}");

        let mut headers = BTreeMap::new();
        headers.insert("Accept".to_string(), "x".to_string());
        assert!(matches!(
            build_client(&headers),
            Err(RemoteError::InvalidHeader { .. })
        ));
        let mut headers = BTreeMap::new();
        headers.insert("bad name".to_string(), "x".to_string());
        assert!(matches!(
            build_client(&headers),
            Err(RemoteError::InvalidHeader { .. })
        ));
    }

    #[test]
    fn non_http_urls_are_refused() {
        assert!(matches!(
            parse_url("ftp://example.com/sse"),
            Err(RemoteError::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse_url("not a url"),
            Err(RemoteError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn transport_names_round_trip() {
        for t in [RemoteTransport::Sse, RemoteTransport::StreamableHttp] {
            assert_eq!(t.to_string().parse::<RemoteTransport>(), Ok(t));
        }
        assert_eq!(
            "streamableHttp".parse::<RemoteTransport>(),
            Ok(RemoteTransport::StreamableHttp)
        );
        assert!("ws".parse::<RemoteTransport>().is_err());
    }
}
