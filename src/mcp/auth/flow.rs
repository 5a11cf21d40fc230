//! One sign-in, as the MCP authorization spec orders it, on rmcp's parts:
//!
//! 1. discovery: the 401's `WWW-Authenticate` → protected resource metadata
//!    (RFC 9728) → authorization server metadata (RFC 8414, then OpenID
//!    discovery) — rmcp's `resolve_metadata_from_challenge`, which keeps
//!    discovered hosts to the resource's class of address (a loopback
//!    server's metadata may not send us elsewhere);
//! 2. refuse a server that does not list PKCE `S256`, or that published no
//!    metadata at all (no guessed endpoints);
//! 3. the client, in the spec's order: a pre-registered one, a Client ID
//!    Metadata Document, then Dynamic Client Registration (RFC 7591) — done
//!    here through rmcp's `register_client`, so a secret it returns is kept;
//! 4. the authorization URL (code + PKCE S256 + `state` + RFC 8707
//!    `resource`) from rmcp's `AuthorizationSession`;
//! 5. the browser's return on our loopback listener: `state` compared with
//!    ours, `iss` with the issuer (RFC 9207, by rmcp), and the code
//!    exchanged (with `resource` again) for tokens.
//!
//! Nothing is stored here: [`finish`] returns the [`Grant`], and the caller
//! replaces the old one only then, so a step-up keeps the old grant in use
//! until the new one has arrived.

use std::time::Duration;

use rmcp::transport::auth::{
    AuthError, AuthorizationManager, AuthorizationMetadataSource, AuthorizationRequest,
    AuthorizationSession, InMemoryCredentialStore, StoredCredentials,
};
use rmcp::transport::CredentialStore;

use super::redirect::{Callback, RedirectListener};
use super::store::{ClientSettings, Grant};
use super::tokens::now_secs;

/// The name we register under.
const CLIENT_NAME: &str = "Switchboard";

/// Why a sign-in failed. Each is a clear `error` for the connector; none
/// stores anything.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignInError {
    /// Discovery could not read the metadata it was pointed to.
    #[error("could not read the server's sign-in metadata: {message}; check that the server and its authorization server are up")]
    Discovery { message: String },
    /// The server asks for a sign-in but publishes no OAuth metadata.
    #[error("the server asks for a sign-in but publishes no OAuth metadata (RFC 9728 or RFC 8414), so there is nowhere to sign in; give a token with `--header \"Authorization=Bearer …\"` instead")]
    NoMetadata,
    /// The metadata was refused (another origin, a non-loopback host from
    /// a loopback server, a resource that is not this server).
    #[error("the server's sign-in metadata is not acceptable: {message}")]
    BadMetadata { message: String },
    /// The authorization server lists no PKCE `S256`.
    #[error("the authorization server does not support PKCE with S256, which a safe sign-in needs; it cannot be used")]
    PkceUnsupported,
    /// No client identity could be had.
    #[error("could not register with the authorization server: {message}; register a client there and pass it with `--client-id` (and `--client-secret-from-env`)")]
    Registration { message: String },
    /// The browser came back with another `state` than we sent.
    #[error("the sign-in answer carried a `state` we did not send; it was ignored and nothing was stored: sign in again with `switchboard login {connector}`")]
    StateMismatch { connector: String },
    /// The answer came from another issuer (RFC 9207).
    #[error("the sign-in answer came from `{received}`, not from the authorization server `{expected}`; nothing was stored")]
    IssuerMismatch { expected: String, received: String },
    /// The user or the server refused access.
    #[error("the authorization server refused the sign-in ({error}{}): try again with `switchboard login {connector}`", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        connector: String,
        error: String,
        description: Option<String>,
    },
    /// The code could not be exchanged for tokens.
    #[error("the authorization server did not give tokens for the sign-in: {message}")]
    Exchange { message: String },
    /// Nobody finished the sign-in in time.
    #[error("the sign-in was not completed within {}s: run `switchboard login {connector}` to try again", after.as_secs())]
    TimedOut { connector: String, after: Duration },
    /// A newer sign-in (or a logout) replaced this one.
    #[error("the sign-in was cancelled")]
    Cancelled,
    /// The server's authorization server registers no clients on the fly
    /// and none was given.
    #[error("`{connector}`'s server does not register clients by itself: register an OAuth app with the service ({source_page}), then pass it with `switchboard connect {connector} --client-id ID` (and `--client-secret-from-env VAR` if it has a secret)")]
    ClientNeeded {
        connector: String,
        source_page: String,
    },
    /// Our loopback listener could not be opened.
    #[error("could not listen for the sign-in answer on 127.0.0.1: {message}")]
    Listener { message: String },
    /// The secret store failed.
    #[error("{message}")]
    Store { message: String },
    /// Something else went wrong inside the OAuth client.
    #[error("the sign-in failed: {message}")]
    Other { message: String },
}

/// What a sign-in needs.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    /// The connector's name (for messages).
    pub connector: String,
    /// The MCP server's URL.
    pub url: String,
    /// The `WWW-Authenticate` of the 401 or 403 that asked for it, if any.
    pub challenge: Option<String>,
    /// How the user wants the client identified.
    pub client: ClientSettings,
    /// Scopes to ask for; empty lets discovery choose (the challenge's,
    /// then the resource's).
    pub scopes: Vec<String>,
    /// Whether the server needs a pre-registered client, and the page that
    /// says how to get one (from the catalog; `None` for a custom URL).
    pub needs_client: Option<String>,
}

/// A sign-in waiting for the browser.
pub struct PendingSignIn {
    /// The page the person opens.
    pub auth_url: String,
    connector: String,
    listener: RedirectListener,
    session: AuthorizationSession,
    state: String,
    client_secret: Option<String>,
    metadata: rmcp::transport::auth::AuthorizationMetadata,
    resource: String,
    store: InMemoryCredentialStore,
}

/// Discovers, registers, and builds the authorization URL; the listener is
/// up when this returns.
pub async fn begin(request: SignInRequest) -> Result<PendingSignIn, SignInError> {
    let pre_registered = request.client.client_id.is_some();
    let listener =
        RedirectListener::bind(!pre_registered)
            .await
            .map_err(|e| SignInError::Listener {
                message: e.to_string(),
            })?;
    let redirect_uri = listener.redirect_uri().to_string();
    let mut manager = AuthorizationManager::new(request.url.as_str())
        .await
        .map_err(classify)?;
    let resolution = manager
        .resolve_metadata_from_challenge(request.challenge.as_deref())
        .await
        .map_err(classify)?;
    if resolution.source == AuthorizationMetadataSource::LegacyEndpointFallback {
        return Err(SignInError::NoMetadata);
    }
    let metadata = resolution.metadata;
    // rmcp tolerates a server that omits the field; the spec does not.
    let s256 = metadata
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|methods| methods.iter().any(|m| m == "S256"));
    if !s256 {
        return Err(SignInError::PkceUnsupported);
    }
    manager.set_metadata(metadata.clone());
    let store = InMemoryCredentialStore::new();
    manager.set_credential_store(store.clone());

    let scopes = if request.scopes.is_empty() {
        manager.select_scopes(None, &[])
    } else {
        request.scopes.clone()
    };
    let cimd = request.client.client_metadata_url.as_deref().filter(|_| {
        metadata
            .additional_fields
            .get("client_id_metadata_document_supported")
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    });
    // The spec's order: pre-registered, metadata document, registration.
    let (client_id, client_secret) = match (&request.client.client_id, cimd) {
        (Some(id), _) => (id.clone(), request.client.client_secret.clone()),
        (None, Some(url)) => (url.to_string(), None),
        (None, None) => {
            let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let registered = manager
                .register_client(CLIENT_NAME, &redirect_uri, &refs)
                .await
                .map_err(|e| match e {
                    AuthError::PkceUnsupported => SignInError::PkceUnsupported,
                    other => SignInError::Registration {
                        message: other.to_string(),
                    },
                })?;
            (registered.client_id, registered.client_secret)
        }
    };
    let mut auth_request = AuthorizationRequest::new(redirect_uri.clone())
        .with_scopes(scopes)
        .with_preregistered_client(client_id);
    if let Some(secret) = &client_secret {
        auth_request = auth_request.with_client_secret(secret.clone());
    }
    let session = AuthorizationSession::new(manager, auth_request)
        .await
        .map_err(|(_, e)| classify(e))?;
    let auth_url = session.get_authorization_url().to_string();
    let state = url::Url::parse(&auth_url)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        })
        .ok_or_else(|| SignInError::Other {
            message: "the authorization URL has no state".into(),
        })?;
    let resource = resource_of(&auth_url).unwrap_or_else(|| request.url.clone());
    Ok(PendingSignIn {
        auth_url,
        connector: request.connector,
        listener,
        session,
        state,
        client_secret,
        metadata,
        resource,
        store,
    })
}

/// Waits for the browser (up to `timeout`), checks its answer and exchanges
/// the code; the grant is returned, not stored.
pub async fn finish(mut pending: PendingSignIn, timeout: Duration) -> Result<Grant, SignInError> {
    let callback = match tokio::time::timeout(timeout, pending.listener.wait()).await {
        Ok(Some(callback)) => callback,
        Ok(None) => return Err(SignInError::Cancelled),
        Err(_) => {
            return Err(SignInError::TimedOut {
                connector: pending.connector.clone(),
                after: timeout,
            })
        }
    };
    let (code, state, iss) = match callback {
        Callback::Code { code, state, iss } => (code, state, iss),
        Callback::Refused { error, description } => {
            return Err(SignInError::Refused {
                connector: pending.connector.clone(),
                error,
                description,
            })
        }
    };
    if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
        return Err(SignInError::StateMismatch {
            connector: pending.connector.clone(),
        });
    }
    pending
        .session
        .handle_callback_with_issuer(&code, &state, iss.as_deref())
        .await
        .map_err(classify)?;
    let credentials: StoredCredentials =
        pending
            .store
            .load()
            .await
            .ok()
            .flatten()
            .ok_or_else(|| SignInError::Exchange {
                message: "no tokens came back".into(),
            })?;
    let credentials = if credentials.token_received_at.is_none() {
        StoredCredentials::new(
            credentials.client_id.clone(),
            credentials.token_response.clone(),
            credentials.granted_scopes.clone(),
            Some(now_secs()),
        )
        .with_issuer(credentials.issuer.clone())
    } else {
        credentials
    };
    Ok(Grant {
        credentials,
        client_secret: pending.client_secret,
        metadata: pending.metadata,
        resource: pending.resource,
    })
}

/// The `resource` parameter rmcp put on the authorization URL: the one
/// refreshes must send too.
fn resource_of(auth_url: &str) -> Option<String> {
    url::Url::parse(auth_url).ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "resource")
            .map(|(_, v)| v.into_owned())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// rmcp's errors, by variant, as the situations a person can act on.
fn classify(error: AuthError) -> SignInError {
    match error {
        AuthError::PkceUnsupported => SignInError::PkceUnsupported,
        AuthError::AuthorizationServerMismatch {
            expected_issuer,
            received_issuer,
        } => SignInError::IssuerMismatch {
            expected: expected_issuer,
            received: received_issuer,
        },
        AuthError::AuthorizationServerMissingIssuer { expected_issuer } => {
            SignInError::IssuerMismatch {
                expected: expected_issuer,
                received: "(none)".into(),
            }
        }
        AuthError::DiscoveryRequestFailed { url, source } => SignInError::Discovery {
            message: format!("{url}: {}", chain(source.as_ref())),
        },
        e @ AuthError::AuthorizationServersUnavailable { .. } => SignInError::Discovery {
            message: e.to_string(),
        },
        e @ AuthError::ProtectedResourceMetadataInvalid { .. } => SignInError::BadMetadata {
            message: e.to_string(),
        },
        AuthError::MetadataError(message) => SignInError::BadMetadata { message },
        AuthError::NoAuthorizationSupport => SignInError::NoMetadata,
        AuthError::RegistrationFailed(message) => SignInError::Registration { message },
        AuthError::TokenExchangeFailed(message) => SignInError::Exchange { message },
        AuthError::CredentialStoreError(message) => SignInError::Store { message },
        other => SignInError::Other {
            message: other.to_string(),
        },
    }
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
