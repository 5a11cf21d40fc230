//! Where the connector core meets the sign-in module (`mcp::auth`): which
//! starts sign in, what a connector's status is while it waits for one, and
//! what the hub's reports do to it.
//!
//! - A person's `connect` (CLI, API, dashboard) of a server that answers 401
//!   starts a sign-in: the connector is `configuring` ("waiting for sign-in
//!   at URL"), the page is opened when a browser can be had, and the connect
//!   waits for it only then; without a browser it returns at once and the
//!   connect happens when the sign-in completes.
//! - A start nobody asked for (start-up sync, a restart) never opens a
//!   browser: the connector waits in `configuring` for `switchboard login`.
//! - Tokens refused for good → `configuring` ("sign in again"), server
//!   stopped, no restart. A step-up runs beside the connected server.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::state::ConnectorState;
use super::{ConnectorInfo, ConnectorService, SERVERS_KEY};
use crate::catalog::{ConnectorDefinition, Registration};
use crate::error::{Error, Result};
use crate::mcp::auth::{
    widened_scopes, AuthEvent, AuthHub, ClientSettings, ConnectorAuth, Revocation, SignInRequest,
    Started, SIGN_IN_TIMEOUT,
};
use crate::mcp::{FieldValues, LaunchKind, LaunchPlan};
use crate::status::ConnectorStatus;

/// The service's share of sign-ins: the hub, and which connectors a person
/// is connecting right now (only those may open a browser).
pub(super) struct SignIns {
    pub(super) hub: Arc<AuthHub>,
    interactive: Mutex<HashSet<String>>,
    /// Held while a step-up starts, so two 403s start one sign-in.
    step_up: tokio::sync::Mutex<()>,
}

impl SignIns {
    pub(super) fn new(hub: Arc<AuthHub>) -> Self {
        SignIns {
            hub,
            interactive: Mutex::new(HashSet::new()),
            step_up: tokio::sync::Mutex::new(()),
        }
    }

    fn mark(&self, name: &str, on: bool) {
        let mut set = self.interactive.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            set.insert(name.to_string());
        } else {
            set.remove(name);
        }
    }

    fn is_interactive(&self, name: &str) -> bool {
        self.interactive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
    }
}

/// What `logout` did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LogoutOutcome {
    /// What the server said to the revocation; absent when nothing was stored.
    pub revoked: Option<String>,
    /// The connector afterwards.
    pub connector: ConnectorInfo,
}

impl ConnectorService {
    /// Connect, as a person asks for it: a sign-in the server wants is
    /// started and, if a browser opened on it, waited for (up to the
    /// sign-in timeout) before the connect goes on.
    pub async fn connect_signing_in(
        &self,
        name: &str,
        values: FieldValues,
        timeout: Option<Duration>,
    ) -> Result<ConnectorInfo> {
        self.inner.sign_ins.mark(name, true);
        let result = self.connect(name, values, timeout).await;
        self.inner.sign_ins.mark(name, false);
        match result {
            Err(Error::SignInPending { opened: true, .. }) => {
                self.wait_sign_in(name, SIGN_IN_TIMEOUT).await
            }
            other => other,
        }
    }

    /// The token source for a start of `plan`, when it is a remote server
    /// that does not carry its own `Authorization` header.
    pub(super) fn remote_auth(&self, name: &str, plan: &LaunchPlan) -> Option<Arc<ConnectorAuth>> {
        let LaunchKind::Remote { headers, .. } = &plan.kind else {
            return None;
        };
        if headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("authorization"))
        {
            return None;
        }
        self.inner.sign_ins.hub.connector(name).ok()
    }

    /// A start found that the server wants a sign-in. For a person's
    /// connect, one starts; otherwise the connector waits for `login`.
    pub(super) async fn sign_in_required(
        &self,
        name: &str,
        definition: &ConnectorDefinition,
        challenge: Option<String>,
    ) -> Result<ConnectorInfo> {
        let key = name.to_string();
        self.edit_settings(move |ed| {
            ed.remove(&[SERVERS_KEY, &key]);
        })
        .await?;
        let request = sign_in_request(name, definition, challenge, Vec::new());
        let missing = self.inner.sign_ins.hub.client_missing(&request).await;
        if !self.inner.sign_ins.is_interactive(name) || missing.is_err() {
            let reason = match missing {
                Err(err) => err.to_string(),
                Ok(()) => format!("sign in: `switchboard login {name}`"),
            };
            self.wait_for_sign_in(name, reason.clone()).await?;
            return Err(Error::SignInNeeded {
                name: name.to_string(),
                reason,
            });
        }
        match self.inner.sign_ins.hub.begin(request, true, false).await {
            Ok(started) => {
                self.wait_for_sign_in(name, format!("waiting for sign-in at {}", started.url))
                    .await?;
                Err(Error::SignInPending {
                    name: name.to_string(),
                    url: started.url,
                    opened: started.opened,
                })
            }
            Err(err) => {
                let err = Error::SignInFailed {
                    name: name.to_string(),
                    message: err.to_string(),
                };
                self.record_failure(name, err.to_string(), false).await?;
                Err(err)
            }
        }
    }

    /// A start of a hosted server that registers no clients on the fly,
    /// with no client of the user's stored: `configuring` with what to pass
    /// (`--client-id`), without a request to the server. `None` otherwise.
    pub(super) async fn client_first(
        &self,
        name: &str,
        definition: &ConnectorDefinition,
        plan: &LaunchPlan,
    ) -> Option<Result<ConnectorInfo>> {
        self.remote_auth(name, plan)?;
        let request = sign_in_request(name, definition, None, Vec::new());
        let Err(missing) = self.inner.sign_ins.hub.client_missing(&request).await else {
            return None;
        };
        let reason = missing.to_string();
        if let Err(err) = self.wait_for_sign_in(name, reason.clone()).await {
            return Some(Err(err));
        }
        Some(Err(Error::SignInNeeded {
            name: name.to_string(),
            reason,
        }))
    }

    /// `configuring`, with what it waits for.
    async fn wait_for_sign_in(&self, name: &str, reason: String) -> Result<()> {
        self.transition(
            name,
            ConnectorState::NeedsConfig {
                missing: Vec::new(),
                reason,
            },
            true,
        )
        .await
    }

    /// `switchboard login`: starts a sign-in (cancelling one under way) and
    /// returns its page; `open` asks for a browser to be started on it.
    pub async fn login(&self, name: &str, scopes: Vec<String>, open: bool) -> Result<Started> {
        let definition = self.with_entry(name, |e| e.active())?;
        if definition.url.is_none() {
            return Err(Error::InvalidInput(format!(
                "`{name}` is not a remote server, so there is nothing to sign in to"
            )));
        }
        let request = sign_in_request(name, &definition, None, scopes);
        let started = self
            .inner
            .sign_ins
            .hub
            .begin(request, open, false)
            .await
            .map_err(|e| Error::SignInFailed {
                name: name.to_string(),
                message: e.to_string(),
            })?;
        let waiting = self.with_entry(name, |e| {
            matches!(
                e.state,
                ConnectorState::NeedsConfig { .. } | ConnectorState::Failed { .. }
            )
        })?;
        if waiting {
            self.wait_for_sign_in(name, format!("waiting for sign-in at {}", started.url))
                .await?;
        }
        Ok(started)
    }

    /// Waits for `name`'s sign-in to end, then for the connect it leads to.
    pub async fn wait_sign_in(&self, name: &str, timeout: Duration) -> Result<ConnectorInfo> {
        match self.inner.sign_ins.hub.wait(name, timeout).await {
            Some(Ok(())) => {
                let status = self.with_entry(name, |e| e.state.status())?;
                if matches!(
                    status,
                    ConnectorStatus::Configuring | ConnectorStatus::Error
                ) {
                    return self.connect(name, FieldValues::new(), None).await;
                }
                self.info(name)
            }
            Some(Err(message)) => Err(Error::SignInFailed {
                name: name.to_string(),
                message,
            }),
            None => Err(Error::SignInFailed {
                name: name.to_string(),
                message: "no sign-in is under way, or it did not end in time".into(),
            }),
        }
    }

    /// `switchboard logout`: revokes the tokens at the server where it can,
    /// deletes them here; a running connector then waits for a sign-in.
    pub async fn logout(&self, name: &str) -> Result<LogoutOutcome> {
        self.with_entry(name, |_| ())?;
        let revoked =
            self.inner
                .sign_ins
                .hub
                .logout(name)
                .await
                .map_err(|e| Error::SignInFailed {
                    name: name.to_string(),
                    message: e.to_string(),
                })?;
        self.signed_out(
            name,
            format!("signed out: `switchboard login {name}` to sign in again"),
        )
        .await;
        Ok(LogoutOutcome {
            revoked: revoked.map(|r| {
                match r {
                    Revocation::Revoked => "revoked",
                    Revocation::Unsupported => "unsupported",
                    Revocation::Failed => "failed",
                }
                .to_string()
            }),
            connector: self.info(name)?,
        })
    }

    /// Stores a pre-registered client for `name`'s sign-ins (the secret
    /// goes to the secret store, like every credential).
    pub async fn set_oauth_client(
        &self,
        name: &str,
        client_id: Option<String>,
        client_secret: Option<String>,
    ) -> Result<()> {
        self.with_entry(name, |_| ())?;
        if client_secret.is_some() && client_id.is_none() {
            return Err(Error::InvalidInput(
                "`--client-secret-from-env` needs `--client-id`: a secret belongs to a pre-registered client".into(),
            ));
        }
        let hub = &self.inner.sign_ins.hub;
        let mut client = hub
            .client_settings(name)
            .await
            .map_err(|e| Error::SignInFailed {
                name: name.to_string(),
                message: e.to_string(),
            })?;
        client.client_id = client_id;
        client.client_secret = client_secret;
        hub.set_client_settings(name, &client)
            .await
            .map_err(|e| Error::SignInFailed {
                name: name.to_string(),
                message: e.to_string(),
            })
    }

    /// The running connector's tokens are gone: stop it and wait for a
    /// sign-in (no restart).
    async fn signed_out(&self, name: &str, reason: String) {
        let Ok(ops) = self.with_entry(name, |e| e.ops.clone()) else {
            return;
        };
        let _serial = ops.lock().await;
        let running = self
            .with_entry(name, |e| {
                e.state.cancel_restart();
                matches!(e.state, ConnectorState::Connected(_))
            })
            .unwrap_or(false);
        if !running {
            return;
        }
        let key = name.to_string();
        if let Err(err) = self
            .edit_settings(move |ed| {
                ed.remove(&[SERVERS_KEY, &key]);
            })
            .await
        {
            tracing::warn!(
                connector = name,
                "could not remove the server config: {err}"
            );
        }
        if let Err(err) = self.wait_for_sign_in(name, reason).await {
            tracing::warn!(connector = name, "could not record the sign-out: {err}");
        }
    }

    /// Follows the hub's reports; holds only a weak handle on the service.
    pub(super) fn spawn_auth_loop(&self, mut rx: mpsc::UnboundedReceiver<AuthEvent>) {
        let remote: Vec<String> = self
            .registry()
            .iter()
            .filter(|(_, e)| e.active().url.is_some())
            .map(|(name, _)| name.clone())
            .collect();
        let hub = self.inner.sign_ins.hub.clone();
        tokio::spawn(async move {
            for name in remote {
                hub.load(&name).await;
            }
        });
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                let service = ConnectorService { inner };
                tokio::spawn(async move { service.on_auth_event(event).await });
            }
        });
    }

    async fn on_auth_event(&self, event: AuthEvent) {
        match event {
            AuthEvent::SignedIn {
                connector,
                step_up: false,
            } => {
                let waiting = self
                    .with_entry(&connector, |e| {
                        matches!(
                            e.state,
                            ConnectorState::NeedsConfig { .. } | ConnectorState::Failed { .. }
                        )
                    })
                    .unwrap_or(false);
                if waiting {
                    if let Err(err) = self.connect(&connector, FieldValues::new(), None).await {
                        tracing::warn!(connector, "connect after sign-in failed: {err}");
                    }
                }
            }
            AuthEvent::SignedIn { step_up: true, .. } => {}
            AuthEvent::SignInFailed {
                connector,
                reason,
                step_up,
            } => {
                let waiting = self
                    .with_entry(&connector, |e| {
                        matches!(e.state, ConnectorState::NeedsConfig { .. })
                    })
                    .unwrap_or(false);
                if waiting && !step_up {
                    if let Err(err) = self.record_failure(&connector, reason, false).await {
                        tracing::warn!(connector, "could not record a failed sign-in: {err}");
                    }
                } else {
                    let _ = self.with_entry(&connector, |e| e.last_error = Some(reason));
                }
            }
            AuthEvent::SignInAgain { connector, reason } => {
                self.signed_out(&connector, reason).await;
            }
            AuthEvent::StepUp {
                connector,
                challenge,
            } => {
                self.step_up(&connector, &challenge).await;
            }
        }
    }

    /// A 403 `insufficient_scope`: sign in for the union of the granted
    /// scopes and the ones the challenge names, beside the running server
    /// (its old grant stays in use until the new one is stored).
    async fn step_up(&self, name: &str, challenge: &str) -> Option<String> {
        let hub = &self.inner.sign_ins.hub;
        // One step-up at a time: the call that hit the 403 and the
        // transport's report of it both ask; the second finds the first's.
        let _gate = self.inner.sign_ins.step_up.lock().await;
        if let Some(page) = hub.signing_in(name) {
            return Some(page);
        }
        let definition = self.with_entry(name, |e| e.active()).ok()?;
        let url = definition.url.clone()?;
        let scopes = widened_scopes(hub.granted_scopes(name), &url, challenge);
        let request = sign_in_request(name, &definition, Some(challenge.to_string()), scopes);
        match hub.begin(request, true, true).await {
            Ok(started) => {
                tracing::info!(
                    connector = name,
                    opened = started.opened,
                    "the server wants wider scopes: sign in at {}",
                    started.url
                );
                Some(started.url)
            }
            Err(err) => {
                tracing::warn!(connector = name, "could not start a step-up sign-in: {err}");
                None
            }
        }
    }

    /// The error of a call the server refused for want of scopes (403
    /// `insufficient_scope` with `challenge`): what to do, with the
    /// step-up sign-in it starts (or finds under way).
    pub(super) async fn scope_needed(&self, name: &str, tool: &str, challenge: &str) -> Error {
        let page = self.step_up(name, challenge).await;
        let url = self
            .with_entry(name, |e| e.active().url)
            .ok()
            .flatten()
            .unwrap_or_default();
        let scopes = widened_scopes(
            self.inner.sign_ins.hub.granted_scopes(name),
            &url,
            challenge,
        );
        Error::ScopeNeeded {
            name: name.to_string(),
            tool: tool.to_string(),
            scopes,
            page,
        }
    }
}

/// The sign-in `definition`'s server asks for; a hosted server from the
/// catalog that registers no clients on the fly says so (and where to get
/// one), so the sign-in asks the user for `--client-id` first.
fn sign_in_request(
    name: &str,
    definition: &ConnectorDefinition,
    challenge: Option<String>,
    scopes: Vec<String>,
) -> SignInRequest {
    let needs_client = definition
        .remote
        .as_ref()
        .filter(|r| r.registration == Registration::PreRegistered)
        .map(|r| r.source.clone());
    SignInRequest {
        connector: name.to_string(),
        url: definition.url.clone().unwrap_or_default(),
        challenge,
        client: ClientSettings::default(),
        scopes,
        needs_client,
    }
}
