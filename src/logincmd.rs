//! `switchboard login` and `logout`, and the OAuth client secret flag of
//! `add` and `connect`: the CLI's part of signing in to remote servers. The
//! sign-in itself runs in the service (its loopback listener receives the
//! browser's return); this side shows the page or lets the service open it,
//! and waits.

use std::io::IsTerminal;

use switchboard::connector::LogoutOutcome;
use switchboard::mcp::auth::Started;
use switchboard::{Client, ConnectorInfo, Error};

/// `--client-secret-from-env VAR`: the pre-registered client's secret,
/// read from this process's environment; it travels to the service's
/// secret store over its socket, never argv.
pub fn client_secret(secret_env: Option<String>) -> Result<Option<String>, Error> {
    let Some(var) = secret_env else {
        return Ok(None);
    };
    std::env::var(&var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Some)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "`--client-secret-from-env {var}`: the variable `{var}` is not set (or empty)"
            ))
        })
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
    let started: Started = client.login(name, scopes, !no_browser).await?;
    if started.opened {
        switchboard::errln!("Sign in to {name} in the browser that opened; waiting…");
    } else {
        // stdout, so a script can take the address; the wait follows.
        switchboard::outln!("Open this address to sign in to {name}:\n  {}", started.url);
        if std::io::stderr().is_terminal() {
            switchboard::errln!("waiting for the sign-in…");
        }
    }
    client.wait_sign_in(name).await
}

/// `switchboard login NAME` as a command: the sign-in, then its outcome.
pub async fn login_command(
    client: &Client,
    name: &str,
    scopes: Vec<String>,
    no_browser: bool,
    out: crate::cli::Output,
) -> Result<(), Error> {
    let info = login(client, name, scopes, no_browser).await?;
    crate::print(out, &info, || {
        format!("signed in; {} is {}", info.name, info.status)
    });
    Ok(())
}

/// `switchboard logout NAME`.
pub async fn logout(client: &Client, name: &str) -> Result<LogoutOutcome, Error> {
    client.logout(name).await
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
