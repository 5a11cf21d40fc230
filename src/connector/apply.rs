//! Changes that must take effect: a running connector remembers the
//! configuration it was started with (as a keyed digest, never the
//! values), and a changed field value, secret, backend or custom
//! definition restarts it — from `connect`, from a stored value, from a
//! hand edit of the settings file — instead of leaving a server that runs
//! the old one while every face shows the new. `restart` is the same
//! step on request. Also what a start is made of that both sides need:
//! who asked ([`Trigger`]) and the values it runs with ([`resolve_values`]).

use std::collections::BTreeMap;

use super::applied::Applied;
use super::custom::CustomConnector;
use super::{ConnectorInfo, ConnectorService};
use crate::catalog::ConnectorDefinition;
use crate::error::{Error, Result};
use crate::mcp::FieldValues;

/// What `start_connector` should do about a connector that may be running.
pub(super) enum RunningVerdict {
    /// Nothing runs: start it.
    NotRunning,
    /// It runs with exactly this configuration: nothing to do.
    Unchanged,
    /// It ran with another configuration (or a restart was asked for) and
    /// has been stopped; start it again, and say so.
    Stopped(String),
}

impl ConnectorService {
    /// Called under the connector's operation lock before a start: stops a
    /// running server whose configuration differs from `definition` and
    /// `given` + stored values (or any running server, for a restart).
    pub(super) async fn check_running(
        &self,
        name: &str,
        definition: &ConnectorDefinition,
        given: &FieldValues,
        trigger: Trigger,
    ) -> Result<RunningVerdict> {
        let applied = self.with_entry(name, |e| e.state.live().map(|live| live.applied))?;
        let Some(applied) = applied else {
            return Ok(RunningVerdict::NotRunning);
        };
        let note = if trigger == Trigger::Asked {
            format!("restarted {name}")
        } else {
            // A failure to read the stored values must not stop what runs.
            let stored = self.stored_values(name, definition).await?;
            let desired = Applied::of(definition, &resolve_values(definition, given, &stored));
            if applied == desired {
                return Ok(RunningVerdict::Unchanged);
            }
            format!("restarted {name} to apply the changed configuration")
        };
        // The state stays `Stopping` (its death is not a crash) until the
        // start that follows moves it on, so a restart reads as one
        // `connected -> configuring -> connected`.
        self.stop_running(name).await?;
        Ok(RunningVerdict::Stopped(note))
    }

    /// `switchboard restart NAME`: stops and starts a connected (or failed)
    /// connector with its current configuration. A disconnected one is
    /// refused: restarting must not connect what the user disconnected.
    pub async fn restart(&self, name: &str) -> Result<ConnectorInfo> {
        let status = self.with_entry(name, |e| {
            e.state.cancel_restart();
            e.restarts = 0;
            e.state.status()
        })?;
        if status == crate::status::ConnectorStatus::Disconnected {
            return Err(Error::NotConnected {
                name: name.to_string(),
            });
        }
        self.start_connector(name, FieldValues::new(), None, Trigger::Asked)
            .await
    }

    /// After a stored value or the backend changed: a running connector is
    /// restarted when what it runs with differs (the answer says so); any
    /// other is left for its next connect.
    pub(super) async fn apply_changes(&self, name: &str) -> Result<ConnectorInfo> {
        let running = self.with_entry(name, |e| e.state.running().is_some())?;
        if !running {
            return self.info(name);
        }
        self.start_connector(name, FieldValues::new(), None, Trigger::User)
            .await
    }

    /// From the settings watch: custom definitions edited by hand replace
    /// the ones held; the reconcile that follows restarts what runs with
    /// the old one.
    pub(super) fn take_edited_definitions(&self, customs: &BTreeMap<String, CustomConnector>) {
        let mut registry = self.registry();
        for (name, custom) in customs {
            let Some(entry) = registry.get_mut(name) else {
                continue;
            };
            let definition = custom.to_definition(name);
            if !entry.builtin && entry.definition != definition {
                tracing::info!(connector = %name, "definition edited in the settings file by hand");
                entry.definition = definition;
            }
        }
    }
}

/// Adds the restart note to a start's answer.
pub(super) fn noted(result: Result<ConnectorInfo>, note: Option<String>) -> Result<ConnectorInfo> {
    match note {
        Some(note) => result.map(|mut info| {
            info.restarted = Some(note);
            info
        }),
        None => result,
    }
}

/// Who asked for a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trigger {
    /// A person or a face: failures are reported, not retried; a running
    /// connector restarts only when its configuration changed.
    User,
    /// `restart`: like `User`, and a running connector always restarts.
    Asked,
    /// An automatic restart after a death: failures plan the next restart.
    Restart,
}

/// Field values for a start: given with `connect` (from the environment of
/// the command that asked, kept in memory), else stored (secret store or
/// settings), else the field's default. Never the service's own
/// environment: that is whatever shell happened to start the service.
pub(super) fn resolve_values(
    def: &ConnectorDefinition,
    given: &FieldValues,
    stored: &FieldValues,
) -> FieldValues {
    def.fields
        .iter()
        .filter_map(|field| {
            given
                .get(&field.name)
                .or_else(|| stored.get(&field.name))
                .cloned()
                .or_else(|| field.default.clone())
                .map(|value| (field.name.clone(), value))
        })
        .collect()
}
