//! A connector's policy as the core holds it: the person's override,
//! read from `codebuddy.connectors.policy.NAME` at start and on every hand
//! edit, put over the catalog's in `Entry::active`, so a changed policy
//! changes the running connector's digest and restarts it like any other
//! configuration change. `switchboard policy` shows and changes it.

use serde::{Deserialize, Serialize};

use super::{ConnectorInfo, ConnectorService};
use crate::catalog::{Policy, Source};
use crate::error::{Error, Result};
use crate::settings::SettingsSnapshot;

/// The settings key holding the people's policy overrides, by connector.
pub const POLICY_KEY: &str = "codebuddy.connectors.policy";

/// A connector's policy, as `switchboard policy` and the API show it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyInfo {
    pub connector: String,
    /// The policy in effect (defaults, the catalog's, the override):
    /// `network` (`open`, `none`, `loopback`), `read`, `write`, `memory`,
    /// `cpus`, `sandbox`.
    #[schema(value_type = Object)]
    pub policy: Policy,
    /// The person's override alone, as stored in settings.
    #[schema(value_type = Option<Object>)]
    pub overridden: Option<Policy>,
    /// The policy in words.
    pub described: String,
    /// Where it is enforced, or why it is not.
    pub enforced: String,
    /// Set when the change restarted the connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarted: Option<String>,
}

/// The override stored for `name`; one that does not read is ignored
/// (and the connector runs with the catalog's policy).
pub(super) fn stored(snapshot: &SettingsSnapshot, name: &str) -> Option<Policy> {
    let value = snapshot.get(&[POLICY_KEY, name])?;
    match serde_json::from_value::<Policy>(value.clone()) {
        Ok(policy) => Some(policy),
        Err(err) => {
            tracing::warn!(
                connector = name,
                "its policy in the settings file is ignored: {err}"
            );
            None
        }
    }
}

/// Where the policy of a definition takes effect.
fn enforcement(source: Option<Source<'_>>, policy: &Policy) -> &'static str {
    match source {
        Some(Source::Image(_)) => {
            "in its container: no capabilities, a read-only root with a private /tmp, \
             and these limits"
        }
        Some(Source::Command(_)) if policy.sandboxed() => {
            "in bubblewrap: the system read only, a home of its own, a private /tmp, only \
             the paths it was given (its directory, program and arguments, and these), \
             no network but the hosts it may reach (through switchboard's egress proxy); \
             memory, CPU and processes held by control groups of its own"
        }
        Some(Source::Command(_)) => {
            "nowhere but its control groups (memory, CPU, processes): the sandbox is turned \
             off for it, so it runs as you, with your files and network \
             (`switchboard policy NAME --sandbox on` turns it back on)"
        }
        Some(Source::Url(_)) => "not here: a remote server runs elsewhere",
        None => "not here: a built-in skill runs inside the service",
    }
}

impl ConnectorService {
    /// `switchboard policy NAME`: the policy in effect; with `change`, the
    /// override is changed first (what it sets replaces what was set),
    /// checked, stored, and a connected connector restarted with it.
    pub async fn policy(&self, name: &str, change: Option<Policy>) -> Result<PolicyInfo> {
        let mut restarted = None;
        if let Some(change) = change {
            let (current, base, source) = self.with_entry(name, |e| {
                let active = e.active();
                let source = match active.source() {
                    Some(Source::Image(_)) => "image",
                    Some(Source::Command(_)) => "command",
                    _ => "other",
                };
                // The definition's own policy, without the override.
                let base = e
                    .definition
                    .for_backend(&e.backend)
                    .and_then(|def| def.policy)
                    .unwrap_or_default();
                (e.policy.clone().unwrap_or_default(), base, source)
            })?;
            let merged = current.overlaid(&change);
            let effective = base.overlaid(&merged);
            effective.check().map_err(Error::InvalidInput)?;
            if change.sandbox == Some(true) && source != "command" {
                return Err(Error::InvalidInput(format!(
                    "`{name}` does not run a program on this machine, so the sandbox is not \
                     for it (a container has its own limits)"
                )));
            }
            // Paths given now to a program that runs as you would be a
            // promise not kept (ones given before stay, for when the
            // sandbox is back on).
            let gives_files = !change.read.is_empty() || !change.write.is_empty();
            let files = !effective.read.is_empty() || !effective.write.is_empty();
            if gives_files && source == "command" && !effective.sandboxed() {
                return Err(Error::InvalidInput(format!(
                    "`{name}` runs unsandboxed, as you, and sees all your files: give it paths \
                     together with `--sandbox on`"
                )));
            }
            let hosts = matches!(effective.network(), crate::catalog::Network::Hosts(_));
            if hosts && source == "command" && !effective.sandboxed() {
                return Err(Error::InvalidInput(format!(
                    "`{name}` runs unsandboxed, as you, with your whole network: a list of \
                     hosts is kept only in the sandbox, so give it together with `--sandbox on`"
                )));
            }
            if files && source == "other" {
                return Err(Error::InvalidInput(format!(
                    "`{name}` runs no container or program here, so it cannot be given paths"
                )));
            }
            let value = serde_json::to_value(&merged)
                .map_err(|e| Error::Internal(format!("cannot encode a policy: {e}")))?;
            let key = name.to_string();
            self.edit_settings(move |ed| ed.set(&[POLICY_KEY, &key], value))
                .await?;
            self.with_entry(name, |e| e.policy = Some(merged))?;
            let info: ConnectorInfo = self.apply_changes(name).await?;
            restarted = info.restarted;
        }
        self.with_entry(name, |e| {
            let active = e.active();
            let policy = active.policy.clone().unwrap_or_default();
            PolicyInfo {
                connector: name.to_string(),
                described: policy.describe(),
                enforced: enforcement(active.source(), &policy).to_string(),
                policy,
                overridden: e.policy.clone(),
                restarted,
            }
        })
    }

    /// From the settings watch: overrides edited by hand replace the ones
    /// held; the reconcile that follows restarts what runs with the old one.
    pub(super) fn take_policies(&self, snapshot: &SettingsSnapshot) {
        for (name, entry) in self.registry().iter_mut() {
            entry.policy = stored(snapshot, name);
        }
    }
}
