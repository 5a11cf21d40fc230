//! `switchboard login` and `logout`, and the OAuth client flags of `add`
//! and `connect`: the CLI's part of signing in to remote servers. The
//! sign-in itself runs in the service (its loopback listener receives the
//! browser's return); this side shows the page or lets the service open it,
//! and waits.

use std::io::IsTerminal;

use switchboard::connector::LogoutOutcome;
use switchboard::ipc::Request;
use switchboard::mcp::auth::Started;
use switchboard::{Client, ConnectorInfo, Error};

/// `--client-id` / `--client-secret-from-env`: a pre-registered client for
/// `name`'s sign-ins. The secret is read from this process's environment
/// and travels to the service's secret store over its socket, never argv.
pub async fn set_client(
    client: &Client,
    name: &str,
    client_id: Option<String>,
    secret_env: Option<String>,
) -> Result<(), Error> {
    if client_id.is_none() && secret_env.is_none() {
        return Ok(());
    }
    let client_secret = match secret_env {
        Some(var) => Some(
            std::env::var(&var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "`--client-secret-from-env {var}`: the variable `{var}` is not set (or empty)"
                    ))
                })?,
        ),
        None => None,
    };
    client
        .call(&Request::SetOAuthClient {
            name: name.to_string(),
            client_id,
            client_secret,
        })
        .await?;
    Ok(())
}

/// `switchboard login NAME`: starts a sign-in and waits for it. With
/// `no_browser` (or no browser to be had) the page's address is printed
/// for the person to open anywhere.
pub async fn login(
    client: &Client,
    name: &str,
    scopes: Vec<String>,
    no_browser: bool,
) -> Result<ConnectorInfo, Error> {
    let started: Started = decode(
        client
            .call(&Request::Login {
                name: name.to_string(),
                scopes,
                open_browser: !no_browser,
            })
            .await?,
    )?;
    if started.opened {
        switchboard::errln!("Sign in to {name} in the browser that opened; waiting…");
    } else {
        // stdout, so a script can take the address; the wait follows.
        switchboard::outln!("Open this address to sign in to {name}:\n  {}", started.url);
        if std::io::stderr().is_terminal() {
            switchboard::errln!("waiting for the sign-in…");
        }
    }
    decode(
        client
            .call(&Request::WaitSignIn {
                name: name.to_string(),
                timeout_secs: None,
            })
            .await?,
    )
}

/// `switchboard logout NAME`.
pub async fn logout(client: &Client, name: &str) -> Result<LogoutOutcome, Error> {
    decode(
        client
            .call(&Request::Logout {
                name: name.to_string(),
            })
            .await?,
    )
}

/// What `logout` says to a person.
pub fn describe_logout(name: &str, outcome: &LogoutOutcome) -> String {
    match outcome.revoked.as_deref() {
        None => format!("{name}: no sign-in was stored"),
        Some("revoked") => format!("{name}: signed out (tokens revoked at the server, deleted here)"),
        Some("unsupported") => format!(
            "{name}: signed out (deleted here; the server offers no revocation, so its tokens expire on their own)"
        ),
        Some(_) => format!(
            "{name}: signed out (deleted here; the server did not accept the revocation)"
        ),
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|e| Error::Internal(format!("unexpected answer from the service: {e}")))
}
