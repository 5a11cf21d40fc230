//! The access token of one connector, for its transports: read from the
//! stored grant, refreshed before it expires and once when the server says
//! `invalid_token`, with at most one refresh in flight.
//!
//! Single flight: a refresh holds [`ConnectorAuth::refresh`]; whoever waited
//! for it first looks again at the stored token and uses the fresh one if it
//! changed, so sixteen calls that find the token expired make one refresh.
//! The refresh itself is rmcp's (`AuthorizationManager::refresh_token`, with
//! the RFC 8707 `resource`), saving through [`GrantStore`], so a rotated
//! refresh token is stored before it is used or the old one forgotten.
//!
//! A refresh the server refuses for good (`invalid_grant`, or no refresh
//! token) drops the tokens and reports [`AuthEvent::SignInAgain`] once;
//! the connector then waits for a person (`switchboard login NAME`) instead
//! of retrying. A refresh that fails for a passing reason (network, 5xx) is
//! an error for that call only.

use std::time::{SystemTime, UNIX_EPOCH};

use oauth2::TokenResponse;
use rmcp::transport::auth::{AuthError, AuthorizationManager, OAuthClientConfig};
use tokio::sync::mpsc;

use super::store::{Grant, GrantStore};
use super::AuthEvent;

/// Longest time before expiry at which a token is refreshed; a token that
/// lives less than twice this is refreshed at half its life.
const REFRESH_BUFFER_SECS: u64 = 30;
/// The redirect URI a refresh-only client is configured with; refreshes
/// never send it, but rmcp's client needs one.
const UNUSED_REDIRECT: &str = "http://127.0.0.1/callback";

/// Why no token could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The tokens are gone or were refused for good: someone must sign in.
    #[error("{reason}")]
    SignInAgain { reason: String },
    /// The refresh failed for now (network, server error); a later call
    /// tries again.
    #[error("refreshing the access token failed: {message}")]
    Refresh { message: String },
    /// The secret store failed.
    #[error("{message}")]
    Store { message: String },
}

/// The token source of one connector; shared by its transports.
pub struct ConnectorAuth {
    name: String,
    store: GrantStore,
    /// Held while a refresh runs: the single flight.
    refresh: tokio::sync::Mutex<()>,
    /// Where sign-in-again and step-up requests go (to the [`super::AuthHub`]).
    events: mpsc::UnboundedSender<AuthEvent>,
}

impl std::fmt::Debug for ConnectorAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorAuth")
            .field("name", &self.name)
            .finish()
    }
}

impl ConnectorAuth {
    pub(super) fn new(
        name: &str,
        store: GrantStore,
        events: mpsc::UnboundedSender<AuthEvent>,
    ) -> Self {
        ConnectorAuth {
            name: name.to_string(),
            store,
            refresh: tokio::sync::Mutex::new(()),
            events,
        }
    }

    /// The connector's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store of its grant.
    pub(super) fn store(&self) -> &GrantStore {
        &self.store
    }

    /// Stores a new grant (a sign-in's), waiting for a refresh under way so
    /// that refresh cannot overwrite it with the old grant's tokens.
    pub(super) async fn replace_grant(&self, grant: Grant) -> Result<(), super::StoreError> {
        let _flight = self.refresh.lock().await;
        self.store.save(grant).await
    }

    /// The token to send, refreshed first if it is about to expire; `None`
    /// when there is no sign-in yet (the request then goes without, and the
    /// server's 401 starts one).
    pub async fn access_token(&self) -> Result<Option<String>, TokenError> {
        let grant = self.load().await?;
        let Some(grant) = grant else { return Ok(None) };
        if is_fresh(&grant, now_secs()) {
            return Ok(access_of(&grant));
        }
        let _flight = self.refresh.lock().await;
        // Whoever held the lock before us may have refreshed already.
        let Some(grant) = self.load().await? else {
            return Ok(None);
        };
        if is_fresh(&grant, now_secs()) {
            return Ok(access_of(&grant));
        }
        self.refresh_locked(grant).await.map(Some)
    }

    /// The server refused `sent` (401 `invalid_token`): refresh once, unless
    /// another call already replaced that token, and return the new one.
    pub async fn after_unauthorized(&self, sent: &str) -> Result<String, TokenError> {
        let _flight = self.refresh.lock().await;
        let Some(grant) = self.load().await? else {
            return Err(self.sign_in_again("the sign-in was removed"));
        };
        match access_of(&grant) {
            Some(current) if current != sent => Ok(current),
            _ => self.refresh_locked(grant).await,
        }
    }

    /// The server wants wider scopes than the grant has (403
    /// `insufficient_scope`): ask the hub for a step-up sign-in. The old
    /// grant stays in use until the new one arrives.
    pub fn insufficient_scope(&self, challenge: &str) {
        let _ = self.events.send(AuthEvent::StepUp {
            connector: self.name.clone(),
            challenge: challenge.to_string(),
        });
    }

    async fn load(&self) -> Result<Option<Grant>, TokenError> {
        self.store.load().await.map_err(|e| TokenError::Store {
            message: e.to_string(),
        })
    }

    /// Refreshes with the lock held: rmcp's refresh request, whose response
    /// rmcp saves through our store before returning.
    async fn refresh_locked(&self, grant: Grant) -> Result<String, TokenError> {
        let has_refresh_token = grant
            .credentials
            .token_response
            .as_ref()
            .is_some_and(|t| t.refresh_token().is_some());
        if !has_refresh_token {
            self.drop_grant().await;
            return Err(
                self.sign_in_again("the access token expired and the server gave no refresh token")
            );
        }
        let manager = self
            .refresh_manager(&grant)
            .await
            .map_err(|e| TokenError::Refresh {
                message: e.to_string(),
            })?;
        match manager.refresh_token().await {
            Ok(response) => {
                tracing::info!(connector = %self.name, "refreshed the access token");
                Ok(response.access_token().secret().to_string())
            }
            Err(AuthError::TokenRefreshRejected(_) | AuthError::AuthorizationRequired) => {
                self.drop_grant().await;
                Err(self.sign_in_again("the server refused the refresh token"))
            }
            Err(AuthError::CredentialStoreError(message)) => Err(TokenError::Store { message }),
            Err(other) => Err(TokenError::Refresh {
                message: other.to_string(),
            }),
        }
    }

    async fn refresh_manager(&self, grant: &Grant) -> Result<AuthorizationManager, AuthError> {
        // The base URL is the resource, so rmcp sends it as `resource`.
        let mut manager = AuthorizationManager::new(grant.resource.as_str()).await?;
        manager.set_metadata(grant.metadata.clone());
        let mut config =
            OAuthClientConfig::new(grant.credentials.client_id.clone(), UNUSED_REDIRECT);
        if let Some(secret) = &grant.client_secret {
            config = config.with_client_secret(secret.clone());
        }
        manager.configure_client(config)?;
        manager.set_credential_store(self.store.clone());
        Ok(manager)
    }

    async fn drop_grant(&self) {
        if let Err(err) = self.store.forget_tokens().await {
            tracing::warn!(connector = %self.name, "could not remove a refused sign-in: {err}");
        }
    }

    fn sign_in_again(&self, why: &str) -> TokenError {
        let reason = format!("{why}: sign in again: `switchboard login {}`", self.name);
        let _ = self.events.send(AuthEvent::SignInAgain {
            connector: self.name.clone(),
            reason: reason.clone(),
        });
        TokenError::SignInAgain { reason }
    }
}

pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn access_of(grant: &Grant) -> Option<String> {
    grant
        .credentials
        .token_response
        .as_ref()
        .map(|t| t.access_token().secret().to_string())
}

/// Seconds the access token has left, when the server said how long it lives.
pub(super) fn remaining_secs(grant: &Grant, now: u64) -> Option<u64> {
    let lifetime = grant.credentials.token_response.as_ref()?.expires_in()?;
    let received = grant.credentials.token_received_at?;
    Some(
        lifetime
            .as_secs()
            .saturating_sub(now.saturating_sub(received)),
    )
}

/// Whether the access token is good for a while yet: more than
/// `min(REFRESH_BUFFER_SECS, lifetime / 2)` seconds left (at least one).
/// A token whose lifetime is unknown counts as fresh; the server's 401
/// says otherwise.
fn is_fresh(grant: &Grant, now: u64) -> bool {
    let Some(token) = grant.credentials.token_response.as_ref() else {
        return false;
    };
    let (Some(remaining), Some(lifetime)) = (remaining_secs(grant, now), token.expires_in()) else {
        return true;
    };
    let buffer = REFRESH_BUFFER_SECS.min(lifetime.as_secs() / 2).max(1);
    remaining >= buffer
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::transport::auth::{AuthorizationMetadata, OAuthTokenResponse, StoredCredentials};

    fn grant(expires_in: Option<u64>, received: u64) -> Grant {
        let mut json =
            serde_json::json!({"access_token": "a", "token_type": "Bearer", "refresh_token": "r"});
        if let Some(secs) = expires_in {
            json["expires_in"] = secs.into();
        }
        let token: OAuthTokenResponse = serde_json::from_value(json).unwrap();
        Grant {
            credentials: StoredCredentials::new("c".into(), Some(token), vec![], Some(received)),
            client_secret: None,
            metadata: AuthorizationMetadata::default(),
            resource: "http://127.0.0.1/mcp".into(),
        }
    }

    #[test]
    fn a_token_is_refreshed_before_it_expires() {
        // An hour-long token: refreshed in its last 30 s.
        let g = grant(Some(3600), 1000);
        assert!(is_fresh(&g, 1000 + 3569));
        assert!(!is_fresh(&g, 1000 + 3571));
        // A 10 s token: refreshed at half its life.
        let g = grant(Some(10), 1000);
        assert!(is_fresh(&g, 1004));
        assert!(!is_fresh(&g, 1006));
        // Expired long ago.
        assert!(!is_fresh(&g, 99_999));
        // Unknown lifetime: used until the server refuses it.
        assert!(is_fresh(&grant(None, 0), 99_999));
        assert_eq!(remaining_secs(&grant(Some(60), 100), 130), Some(30));
    }
}
