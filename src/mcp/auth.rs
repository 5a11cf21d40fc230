//! Signing in to remote MCP servers (MCP authorization, OAuth 2.1), on
//! rmcp's `auth` feature.
//!
//! [`AuthHub`] is the one object the rest of Switchboard talks to: it hands
//! each remote connector its [`ConnectorAuth`] (the token source its
//! transports sign requests with), runs sign-ins (one per connector at a
//! time: a second cancels the first), signs out, and reports what happened
//! as [`AuthEvent`]s for the connector core to act on. Tokens, refresh
//! tokens and registered client secrets live only in the secret store
//! (`store.rs`); the hub and its parts never log, print or return them.
//!
//! - `flow.rs` — one sign-in: discovery, client registration, PKCE, the
//!   authorization URL, the code exchange;
//! - `redirect.rs` — the loopback listener the browser comes back to;
//! - `browser.rs` — opening the page (`$BROWSER`, xdg-open, or nothing);
//! - `tokens.rs` — the access token, refreshed with a single flight;
//! - `http.rs` — Streamable HTTP requests signed with it;
//! - `revoke.rs` — RFC 7009 revocation at sign-out;
//! - `store.rs` — the grant and client settings in the secret store.

mod browser;
mod flow;
mod http;
mod redirect;
mod revoke;
mod store;
mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use flow::{SignInError, SignInRequest};
pub use http::{token_error, SignedClient};
pub use revoke::Revocation;
pub use store::{ClientSettings, StoreError, CLIENT_FIELD, GRANT_FIELD};
pub use tokens::{ConnectorAuth, TokenError};

use crate::secrets::SecretStore;

/// How long discovery and registration may take before the URL is shown.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a sign-in waits for the browser to come back.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(600);

/// What the hub reports to the connector core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthEvent {
    /// A sign-in finished and its grant is stored.
    SignedIn { connector: String, step_up: bool },
    /// A sign-in failed; `reason` says what to do.
    SignInFailed {
        connector: String,
        reason: String,
        step_up: bool,
    },
    /// The tokens are gone for good (refused refresh): someone must sign in.
    SignInAgain { connector: String, reason: String },
    /// The server wants wider scopes (403 `insufficient_scope`).
    StepUp {
        connector: String,
        challenge: String,
    },
}

/// The `auth` object of a connector's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthStatus {
    /// Whether tokens are stored.
    pub signed_in: bool,
    /// Seconds the access token has left, when the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// The scopes granted.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The authorization server that issued them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Whether a sign-in is waiting for the browser.
    #[serde(default)]
    pub signing_in: bool,
}

/// A sign-in under way.
struct Flow {
    /// Cancels it (a newer sign-in, a logout).
    cancel: CancellationToken,
    /// The page to open.
    url: String,
    /// `None` while it runs; then its outcome (`Err` holds the reason).
    outcome: watch::Receiver<Option<Result<(), String>>>,
}

/// What [`AuthHub::begin`] started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    /// The authorization page.
    pub url: String,
    /// Whether a browser was started on it.
    pub opened: bool,
}

/// Sign-ins and tokens of every remote connector of one service.
pub struct AuthHub {
    secrets: Option<Arc<dyn SecretStore>>,
    connectors: Mutex<HashMap<String, Arc<ConnectorAuth>>>,
    flows: Mutex<HashMap<String, Flow>>,
    events: mpsc::UnboundedSender<AuthEvent>,
}

impl AuthHub {
    /// A hub over `secrets` (`None` when the store cannot open: then every
    /// sign-in fails with the store's error). Events go to the receiver.
    pub fn new(
        secrets: Option<Arc<dyn SecretStore>>,
    ) -> (Arc<AuthHub>, mpsc::UnboundedReceiver<AuthEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let hub = AuthHub {
            secrets,
            connectors: Mutex::new(HashMap::new()),
            flows: Mutex::new(HashMap::new()),
            events,
        };
        (Arc::new(hub), rx)
    }

    fn secrets(&self) -> Result<&Arc<dyn SecretStore>, StoreError> {
        self.secrets.as_ref().ok_or_else(|| StoreError {
            message: "the secret store is not available (see `switchboard doctor`)".into(),
        })
    }

    /// The token source of `connector`, made on first use.
    pub fn connector(&self, connector: &str) -> Result<Arc<ConnectorAuth>, StoreError> {
        let secrets = self.secrets()?.clone();
        let mut map = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .entry(connector.to_string())
            .or_insert_with(|| {
                Arc::new(ConnectorAuth::new(
                    connector,
                    store::GrantStore::new(secrets, connector),
                    self.events.clone(),
                ))
            })
            .clone())
    }

    /// Reads `connector`'s grant into memory, so its status can show it.
    pub async fn load(&self, connector: &str) {
        if let Ok(auth) = self.connector(connector) {
            if let Err(err) = auth.store().load().await {
                tracing::warn!(connector, "cannot read the stored sign-in: {err}");
            }
        }
    }

    /// The `auth` object for `connector`, from memory; `None` when it was
    /// never loaded and no sign-in runs.
    pub fn status(&self, connector: &str) -> Option<AuthStatus> {
        let signing_in = self.signing_in(connector).is_some();
        let grant = {
            let map = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
            map.get(connector).and_then(|a| a.store().peek())
        };
        let grant = match grant {
            Some(grant) => grant,
            None if signing_in => None,
            None => return None,
        };
        let now = tokens::now_secs();
        Some(match grant {
            Some(grant) => AuthStatus {
                signed_in: grant.credentials.token_response.is_some(),
                expires_in_secs: tokens::remaining_secs(&grant, now),
                scopes: grant.credentials.granted_scopes.clone(),
                issuer: grant
                    .credentials
                    .issuer
                    .clone()
                    .or_else(|| grant.metadata.issuer.clone()),
                signing_in,
            },
            None => AuthStatus {
                signed_in: false,
                expires_in_secs: None,
                scopes: Vec::new(),
                issuer: None,
                signing_in,
            },
        })
    }

    /// The scopes granted now, for a step-up's union.
    pub fn granted_scopes(&self, connector: &str) -> Vec<String> {
        self.status(connector).map(|s| s.scopes).unwrap_or_default()
    }

    /// The page of the sign-in under way for `connector`, if one is.
    pub fn signing_in(&self, connector: &str) -> Option<String> {
        let flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
        flows
            .get(connector)
            .filter(|f| f.outcome.borrow().is_none())
            .map(|f| f.url.clone())
    }

    /// The user's client settings for `connector`.
    pub async fn client_settings(&self, connector: &str) -> Result<ClientSettings, StoreError> {
        store::load_client(self.secrets()?, connector).await
    }

    /// Stores the user's client settings for `connector`.
    pub async fn set_client_settings(
        &self,
        connector: &str,
        client: &ClientSettings,
    ) -> Result<(), StoreError> {
        store::save_client(self.secrets()?, connector, client).await
    }

    /// Starts a sign-in: discovery and registration now, then the page is
    /// opened (when `open` and a browser can be had) and the browser's
    /// return awaited in the background, ending in an [`AuthEvent`]. A
    /// sign-in already under way for the connector is cancelled.
    pub async fn begin(
        self: &Arc<Self>,
        mut request: SignInRequest,
        open: bool,
        step_up: bool,
    ) -> Result<Started, SignInError> {
        let connector = request.connector.clone();
        if let Some(previous) = self
            .flows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&connector)
        {
            previous.cancel.cancel();
        }
        let auth = self.connector(&connector).map_err(|e| SignInError::Store {
            message: e.to_string(),
        })?;
        if request.client == ClientSettings::default() {
            request.client =
                self.client_settings(&connector)
                    .await
                    .map_err(|e| SignInError::Store {
                        message: e.to_string(),
                    })?;
        }
        check_client(&request)?;
        let pending = tokio::time::timeout(DISCOVERY_TIMEOUT, flow::begin(request))
            .await
            .map_err(|_| SignInError::Discovery {
                message: format!("no answer within {}s", DISCOVERY_TIMEOUT.as_secs()),
            })??;
        let url = pending.auth_url.clone();
        let opened = open
            && match browser::opener() {
                Some(opener) => match browser::open(&opener, &url) {
                    Ok(()) => true,
                    Err(err) => {
                        tracing::warn!(connector, "could not start the browser: {err}");
                        false
                    }
                },
                None => false,
            };
        let cancel = CancellationToken::new();
        let (done, outcome) = watch::channel(None);
        self.flows.lock().unwrap_or_else(|p| p.into_inner()).insert(
            connector.clone(),
            Flow {
                cancel: cancel.clone(),
                url: url.clone(),
                outcome,
            },
        );
        let events = self.events.clone();
        tokio::spawn(async move {
            let result = tokio::select! {
                result = flow::finish(pending, SIGN_IN_TIMEOUT) => result,
                _ = cancel.cancelled() => Err(SignInError::Cancelled),
            };
            let result = match result {
                Ok(grant) => auth
                    .replace_grant(grant)
                    .await
                    .map_err(|e| SignInError::Store {
                        message: e.to_string(),
                    }),
                Err(err) => Err(err),
            };
            match &result {
                Ok(()) => {
                    tracing::info!(connector, "signed in");
                    let _ = events.send(AuthEvent::SignedIn {
                        connector: connector.clone(),
                        step_up,
                    });
                }
                Err(SignInError::Cancelled) => {}
                Err(err) => {
                    tracing::warn!(connector, "sign-in failed: {err}");
                    let _ = events.send(AuthEvent::SignInFailed {
                        connector: connector.clone(),
                        reason: err.to_string(),
                        step_up,
                    });
                }
            }
            let _ = done.send(Some(result.map_err(|e| e.to_string())));
        });
        Ok(Started { url, opened })
    }

    /// Why a sign-in for `request` could not start for want of a client
    /// the user must register; `Ok` when it can (or a store error).
    pub async fn client_missing(&self, request: &SignInRequest) -> Result<(), SignInError> {
        if request.needs_client.is_none() || request.client.client_id.is_some() {
            return Ok(());
        }
        let client = self
            .client_settings(&request.connector)
            .await
            .map_err(|e| SignInError::Store {
                message: e.to_string(),
            })?;
        match client.client_id {
            Some(_) => Ok(()),
            None => check_client(request),
        }
    }

    /// Waits for `connector`'s sign-in to end (at most `timeout`): `None`
    /// when none runs or it did not end in time, else its outcome.
    pub async fn wait(&self, connector: &str, timeout: Duration) -> Option<Result<(), String>> {
        let mut outcome = {
            let flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
            flows.get(connector)?.outcome.clone()
        };
        let ended = tokio::time::timeout(timeout, outcome.wait_for(Option::is_some)).await;
        match ended {
            Ok(Ok(value)) => value.clone(),
            _ => None,
        }
    }

    /// Signs `connector` out: cancels a sign-in under way, revokes the
    /// tokens at the server where it can (RFC 7009), deletes them here.
    pub async fn logout(&self, connector: &str) -> Result<Option<Revocation>, StoreError> {
        if let Some(flow) = self
            .flows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(connector)
        {
            flow.cancel.cancel();
        }
        let auth = self.connector(connector)?;
        let grant = auth.store().load().await?;
        let revoked = match &grant {
            Some(grant) => Some(revoke::revoke(grant).await),
            None => None,
        };
        auth.store().remove().await?;
        Ok(revoked)
    }

    /// Forgets everything about `connector` (it was removed).
    pub async fn forget(&self, connector: &str) {
        let _ = self.logout(connector).await;
        if let Ok(secrets) = self.secrets() {
            let _ = store::save_client(secrets, connector, &ClientSettings::default()).await;
        }
        self.connectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(connector);
    }
}

/// The scopes a step-up asks for: those granted, and those `challenge`
/// (for the server at `url`) says are missing.
pub fn widened_scopes(granted: Vec<String>, url: &str, challenge: &str) -> Vec<String> {
    let required = url::Url::parse(url)
        .ok()
        .and_then(|u| rmcp::transport::WWWAuthenticateParams::parse(challenge, &u).scope)
        .unwrap_or_default();
    let mut scopes = granted;
    for scope in required.split_whitespace() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    scopes
}

/// A server that registers no clients on the fly needs the user's.
fn check_client(request: &SignInRequest) -> Result<(), SignInError> {
    match (&request.needs_client, &request.client.client_id) {
        (Some(page), None) => Err(SignInError::ClientNeeded {
            connector: request.connector.clone(),
            source_page: page.clone(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(needs_client: Option<&str>, client_id: Option<&str>) -> SignInRequest {
        SignInRequest {
            connector: "github".into(),
            url: "https://api.example/mcp".into(),
            challenge: None,
            client: ClientSettings {
                client_id: client_id.map(String::from),
                ..ClientSettings::default()
            },
            scopes: Vec::new(),
            needs_client: needs_client.map(String::from),
        }
    }

    #[test]
    fn a_step_up_asks_for_the_granted_and_the_missing_scopes() {
        let challenge = r#"Bearer error="insufficient_scope", scope="mcp admin""#;
        assert_eq!(
            widened_scopes(vec!["mcp".into()], "http://127.0.0.1/mcp", challenge),
            vec!["mcp", "admin"]
        );
    }

    #[test]
    fn a_server_without_registration_needs_the_users_client() {
        let err = check_client(&request(Some("https://vendor.example/mcp"), None))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("switchboard connect github --client-id ID"),
            "{err}"
        );
        assert!(err.contains("https://vendor.example/mcp"), "{err}");
        assert!(check_client(&request(Some("https://vendor.example/mcp"), Some("abc"))).is_ok());
        assert!(check_client(&request(None, None)).is_ok());
    }
}
