//! Signing out at the server: RFC 7009 token revocation, where the
//! authorization server offers it (`revocation_endpoint` in its metadata).
//! The refresh token goes first (revoking it ends the grant at most
//! servers), then the access token; the outcome is the first one's. Best effort: a server without the
//! endpoint, or one that fails, leaves the tokens to expire there; they are
//! deleted here either way.

use std::time::Duration;

use oauth2::TokenResponse;

use super::store::Grant;

/// How long one revocation request may take.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened at the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    /// Every token was revoked.
    Revoked,
    /// The server has no revocation endpoint.
    Unsupported,
    /// The server did not accept it (or could not be reached).
    Failed,
}

/// Revokes the grant's tokens at its authorization server.
pub async fn revoke(grant: &Grant) -> Revocation {
    let Some(endpoint) = grant
        .metadata
        .additional_fields
        .get("revocation_endpoint")
        .and_then(|v| v.as_str())
        .and_then(|s| url::Url::parse(s).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http"))
    else {
        return Revocation::Unsupported;
    };
    let Some(tokens) = grant.credentials.token_response.as_ref() else {
        return Revocation::Revoked;
    };
    let client = match reqwest::Client::builder()
        .timeout(REVOKE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(_) => return Revocation::Failed,
    };
    let mut pending: Vec<(&str, String)> = Vec::new();
    if let Some(refresh) = tokens.refresh_token() {
        pending.push(("refresh_token", refresh.secret().to_string()));
    }
    pending.push(("access_token", tokens.access_token().secret().to_string()));
    // The first token is the one that matters: revoking the refresh token
    // ends the grant. The access token is revoked as well where the server
    // can (many cannot revoke self-contained JWTs; they expire on their own).
    let mut outcomes = Vec::new();
    for (hint, token) in pending {
        let mut form = vec![("token", token), ("token_type_hint", hint.to_string())];
        let mut request = client.post(endpoint.clone());
        match &grant.client_secret {
            Some(secret) => {
                request = request.basic_auth(&grant.credentials.client_id, Some(secret));
            }
            None => form.push(("client_id", grant.credentials.client_id.clone())),
        }
        let ok = request
            .form(&form)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        outcomes.push(ok);
    }
    if outcomes.first().copied().unwrap_or(false) {
        Revocation::Revoked
    } else {
        Revocation::Failed
    }
}
