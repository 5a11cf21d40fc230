//! Where a connector's sign-in is kept: two entries of the secret store, never
//! settings.
//!
//! - `NAME/_oauth` ([`Grant`]): the tokens (access and refresh), the client
//!   they were issued to (with its secret, if registration gave one), the
//!   authorization server's metadata and the resource they are for. Written
//!   whole on every change, so a rotated refresh token is on disk before the
//!   call that got it returns, and the old one is forgotten only by that write.
//! - `NAME/_oauth_client` ([`ClientSettings`]): what the user configured — a
//!   pre-registered client (`--client-id`, `--client-secret-from-env`), a
//!   client metadata document URL — kept across sign-ins and sign-outs.
//!
//! [`GrantStore`] is also rmcp's `CredentialStore` for its refresh, so the
//! refreshed tokens rmcp saves land in the same entry and the same cache.

use std::sync::{Arc, Mutex};

use rmcp::transport::auth::{AuthError, AuthorizationMetadata, StoredCredentials};
use serde::{Deserialize, Serialize};

use crate::secrets::{Secret, SecretStore};

/// The secret-store field holding a connector's [`Grant`].
pub const GRANT_FIELD: &str = "_oauth";
/// The secret-store field holding a connector's [`ClientSettings`].
pub const CLIENT_FIELD: &str = "_oauth_client";

/// One sign-in's result: everything needed to use and refresh its tokens.
#[derive(Clone, Serialize, Deserialize)]
pub struct Grant {
    /// Client id, token response (access and refresh token, lifetime,
    /// scope), granted scopes, when the tokens came, and the issuer.
    pub credentials: StoredCredentials,
    /// The client's secret, when its registration gave one.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The authorization server's metadata, so a refresh needs no discovery.
    pub metadata: AuthorizationMetadata,
    /// The resource (RFC 8707) the tokens are for: the protected resource
    /// metadata's `resource`, or the server's URL.
    pub resource: String,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("credentials", &self.credentials)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("issuer", &self.metadata.issuer)
            .field("resource", &self.resource)
            .finish()
    }
}

/// How the user asked this connector's client to be identified.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    /// A client registered with the authorization server beforehand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// That client's secret, for a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// An https URL where this client's metadata document is published
    /// (a Client ID Metadata Document), used when the server supports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("client_metadata_url", &self.client_metadata_url)
            .finish()
    }
}

/// Why the secret store could not be used for a sign-in.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the secret store failed: {message}")]
pub struct StoreError {
    pub message: String,
}

impl StoreError {
    fn new(message: impl std::fmt::Display) -> Self {
        StoreError {
            message: message.to_string(),
        }
    }
}

/// A connector's [`Grant`] in the secret store, with an in-memory copy so
/// calls read no file. Clones share the copy.
#[derive(Clone)]
pub struct GrantStore {
    secrets: Arc<dyn SecretStore>,
    connector: String,
    /// `None` until first loaded; then the stored grant (or its absence).
    cache: Arc<Mutex<Option<Option<Grant>>>>,
}

impl GrantStore {
    /// The store for `connector`'s grant; nothing is read yet.
    pub fn new(secrets: Arc<dyn SecretStore>, connector: &str) -> Self {
        GrantStore {
            secrets,
            connector: connector.to_string(),
            cache: Arc::new(Mutex::new(None)),
        }
    }

    fn cached(&self) -> Option<Option<Grant>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn remember(&self, grant: Option<Grant>) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(grant);
    }

    /// The grant as last loaded or saved, without touching the store;
    /// `None` when it was never loaded.
    pub fn peek(&self) -> Option<Option<Grant>> {
        self.cached()
    }

    /// The stored grant, read from the secret store the first time.
    pub async fn load(&self) -> Result<Option<Grant>, StoreError> {
        if let Some(cached) = self.cached() {
            return Ok(cached);
        }
        let grant: Option<Grant> = read_json(&self.secrets, &self.connector, GRANT_FIELD).await?;
        self.remember(grant.clone());
        Ok(grant)
    }

    /// Replaces the stored grant; the copy changes only once it is stored.
    pub async fn save(&self, grant: Grant) -> Result<(), StoreError> {
        write_json(&self.secrets, &self.connector, GRANT_FIELD, &grant).await?;
        self.remember(Some(grant));
        Ok(())
    }

    /// Forgets the grant here (the client settings stay).
    pub async fn remove(&self) -> Result<(), StoreError> {
        let secrets = self.secrets.clone();
        let connector = self.connector.clone();
        tokio::task::spawn_blocking(move || secrets.remove(&connector, GRANT_FIELD))
            .await
            .map_err(StoreError::new)?
            .map_err(StoreError::new)?;
        self.remember(None);
        Ok(())
    }

    /// Drops the tokens but keeps the client and metadata, for a grant the
    /// server refused: the next sign-in can reuse nothing else anyway, so
    /// the whole entry goes.
    pub async fn forget_tokens(&self) -> Result<(), StoreError> {
        self.remove().await
    }
}

#[async_trait::async_trait]
impl rmcp::transport::auth::CredentialStore for GrantStore {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        GrantStore::load(self)
            .await
            .map(|grant| grant.map(|g| g.credentials))
            .map_err(|e| AuthError::CredentialStoreError(e.message))
    }

    /// rmcp saves here after a refresh: the new tokens replace the old in
    /// the secret store before the refresh returns.
    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        let current = GrantStore::load(self)
            .await
            .map_err(|e| AuthError::CredentialStoreError(e.message))?;
        let Some(mut grant) = current else {
            return Err(AuthError::CredentialStoreError(
                "the sign-in was removed during a refresh".into(),
            ));
        };
        grant.credentials = credentials;
        GrantStore::save(self, grant)
            .await
            .map_err(|e| AuthError::CredentialStoreError(e.message))
    }

    async fn clear(&self) -> Result<(), AuthError> {
        self.remove()
            .await
            .map_err(|e| AuthError::CredentialStoreError(e.message))
    }
}

/// The client settings of `connector` (empty when none were given).
pub async fn load_client(
    secrets: &Arc<dyn SecretStore>,
    connector: &str,
) -> Result<ClientSettings, StoreError> {
    Ok(read_json(secrets, connector, CLIENT_FIELD)
        .await?
        .unwrap_or_default())
}

/// Stores `connector`'s client settings; empty ones are removed.
pub async fn save_client(
    secrets: &Arc<dyn SecretStore>,
    connector: &str,
    client: &ClientSettings,
) -> Result<(), StoreError> {
    if client == &ClientSettings::default() {
        let secrets = secrets.clone();
        let connector = connector.to_string();
        return tokio::task::spawn_blocking(move || secrets.remove(&connector, CLIENT_FIELD))
            .await
            .map_err(StoreError::new)?
            .map(|_| ())
            .map_err(StoreError::new);
    }
    write_json(secrets, connector, CLIENT_FIELD, client).await
}

async fn read_json<T: serde::de::DeserializeOwned + Send + 'static>(
    secrets: &Arc<dyn SecretStore>,
    connector: &str,
    field: &'static str,
) -> Result<Option<T>, StoreError> {
    let secrets = secrets.clone();
    let connector = connector.to_string();
    tokio::task::spawn_blocking(move || {
        let Some(value) = secrets.get(&connector, field).map_err(StoreError::new)? else {
            return Ok(None);
        };
        // A value we cannot read is reported by its parse error alone: the
        // text itself holds tokens.
        serde_json::from_str(value.expose())
            .map(Some)
            .map_err(|e| StoreError::new(format!("the stored sign-in is unreadable ({e})")))
    })
    .await
    .map_err(StoreError::new)?
}

async fn write_json<T: Serialize>(
    secrets: &Arc<dyn SecretStore>,
    connector: &str,
    field: &'static str,
    value: &T,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(value).map_err(StoreError::new)?;
    let secret = Secret::new(text);
    let secrets = secrets.clone();
    let connector = connector.to_string();
    tokio::task::spawn_blocking(move || secrets.set(&connector, field, secret))
        .await
        .map_err(StoreError::new)?
        .map_err(StoreError::new)
}
