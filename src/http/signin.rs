//! `POST /api/v1/connectors/{name}/login` and `…/logout`: the dashboard's
//! "Sign in" and "Sign out", the same flow as `switchboard login` and
//! `logout`. The service never opens a browser for these: the page that
//! asked gets the authorization URL and opens it itself (the person is at
//! that browser, not necessarily at the service's machine); the browser
//! comes back to the service's loopback listener, and the connector's
//! events tell the page when it is connected.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiPath, ApiResult, ErrorBody, OptionalJsonBody};
use super::AppState;
use crate::connector::{ConnectorInfo, LogoutOutcome};

/// The most scopes one sign-in may ask for.
const MAX_SCOPES: usize = 32;
/// The longest scope accepted.
const MAX_SCOPE_CHARS: usize = 256;

/// Options of a sign-in.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Scopes to ask for; empty lets the server's metadata choose.
    #[serde(default)]
    #[schema(example = json!(["mcp", "admin"]))]
    pub scopes: Vec<String>,
}

/// A sign-in under way.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignInStarted {
    /// The authorization page to open in a browser. It comes back to this
    /// service, which finishes the sign-in; the connector's events follow.
    pub url: String,
    /// The connector now: a connector that waited for a sign-in is
    /// `configuring` ("waiting for sign-in at URL") and connects once it is
    /// done; a connected one keeps running on its current sign-in meanwhile.
    pub connector: ConnectorInfo,
}

/// What a sign-out did at the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Revoked {
    /// The server revoked the tokens (RFC 7009).
    Revoked,
    /// The server offers no revocation; its tokens expire on their own.
    Unsupported,
    /// The server did not accept the revocation.
    Failed,
}

/// The result of a sign-out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedOut {
    /// What the server said; absent when no sign-in was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revoked>,
    /// The connector afterwards (a running one waits in `configuring`).
    pub connector: ConnectorInfo,
}

impl From<LogoutOutcome> for SignedOut {
    fn from(outcome: LogoutOutcome) -> SignedOut {
        let revoked = outcome.revoked.as_deref().map(|r| match r {
            "revoked" => Revoked::Revoked,
            "unsupported" => Revoked::Unsupported,
            _ => Revoked::Failed,
        });
        SignedOut {
            revoked,
            connector: outcome.connector,
        }
    }
}

/// Starts a sign-in to a remote connector's server (OAuth) and answers
/// with the page to open. A sign-in already under way for it is replaced.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{name}/login",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    request_body(content = Option<LoginRequest>, description = "Optional: the scopes to ask for"),
    responses(
        (status = 202, description = "Started: open `url`; the connector's events follow the sign-in", body = SignInStarted),
        (status = 400, description = "The body is not the expected JSON", body = ErrorBody),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Not a remote server, or a bad scope (`invalid_input`)", body = ErrorBody),
        (status = 502, description = "The server's sign-in metadata could not be used (`sign_in_failed`)", body = ErrorBody),
        (status = 503, description = "The secret store cannot be used (`secrets`)", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    OptionalJsonBody(request): OptionalJsonBody<LoginRequest>,
) -> ApiResult<(StatusCode, Json<SignInStarted>)> {
    check_scopes(&request.scopes)?;
    let started = state.service.login(&name, request.scopes, false).await?;
    let connector = state.service.info(&name)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignInStarted {
            url: started.url,
            connector,
        }),
    ))
}

/// Signs a connector out: revokes its tokens at the server where it can
/// and deletes them here; a running connector waits for a sign-in.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{name}/logout",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "Signed out (or nothing was stored)", body = SignedOut),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 502, description = "The stored sign-in could not be removed (`sign_in_failed`)", body = ErrorBody),
        (status = 503, description = "The secret store cannot be used (`secrets`)", body = ErrorBody),
    )
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<SignedOut>> {
    Ok(Json(state.service.logout(&name).await?.into()))
}

/// Scopes are RFC 6749 scope-tokens (no spaces, quotes or backslashes), so
/// none can smuggle a second scope or a parameter into the request.
fn check_scopes(scopes: &[String]) -> ApiResult<()> {
    if scopes.len() > MAX_SCOPES {
        return Err(ApiError::invalid(format!(
            "at most {MAX_SCOPES} scopes, not {}",
            scopes.len()
        )));
    }
    for scope in scopes {
        let valid = !scope.is_empty()
            && scope.len() <= MAX_SCOPE_CHARS
            && scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !valid {
            return Err(ApiError::invalid(format!(
                "{scope:?} is not a scope: a scope is 1 to {MAX_SCOPE_CHARS} printable ASCII characters without spaces, `\"` or `\\`"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_single_scope_tokens() {
        assert!(check_scopes(&["mcp".into(), "read:org".into(), "https://x/y".into()]).is_ok());
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\nb"] {
            assert!(check_scopes(&[bad.to_string()]).is_err(), "{bad:?}");
        }
        assert!(check_scopes(&vec!["s".to_string(); MAX_SCOPES + 1]).is_err());
    }
}
