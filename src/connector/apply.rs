//! Changes that must take effect: a running connector remembers the
//! configuration it was started with (as a keyed digest, never the
//! values), and a changed field value, secret, backend or custom
//! definition restarts it — from `connect`, from a stored value, from a
//! hand edit of the settings file — instead of leaving a server that runs
//! the old one while every face shows the new. `restart` is the same
//! step on request. Also what a start is made of that both sides need:
//! who asked ([`Trigger`]) and the values it runs with ([`resolve_values`]).

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash};
use std::sync::OnceLock;

use super::custom::CustomConnector;
use super::state::ConnectorState;
use super::{ConnectorInfo, ConnectorService};
use crate::catalog::ConnectorDefinition;
use crate::error::{Error, Result};
use crate::mcp::FieldValues;
use crate::settings::SettingsSnapshot;

/// What a running connector was started with: a digest of its definition
/// and plain values, and one of its secret values, apart so a settings
/// edit (which holds no secrets) can be compared without the secret store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Applied {
    plain: u64,
    secret: u64,
}

/// Keys the digests with a per-process random key, so a digest says
/// nothing about a secret even to someone who reads the memory's
/// neighbours; only equality matters.
fn keys() -> &'static std::collections::hash_map::RandomState {
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    KEYS.get_or_init(std::collections::hash_map::RandomState::new)
}

impl Applied {
    /// The digest of a start with `definition` and the resolved `values`.
    pub(super) fn of(definition: &ConnectorDefinition, values: &FieldValues) -> Applied {
        let (secret, plain) = split(definition, values);
        Applied {
            plain: plain_digest(definition, &plain),
            secret: digest(&secret),
        }
    }
}

/// Splits resolved values into secret and plain ones by their fields.
fn split(definition: &ConnectorDefinition, values: &FieldValues) -> (FieldValues, FieldValues) {
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(field, _)| definition.field(field).is_some_and(|f| f.secret))
}

fn plain_digest(definition: &ConnectorDefinition, plain: &FieldValues) -> u64 {
    // The definition has no Hash; its JSON form is stable (ordered maps).
    let text = serde_json::to_string(definition).unwrap_or_default();
    digest(&(text, plain))
}

fn digest<T: Hash>(value: &T) -> u64 {
    keys().hash_one(value)
}

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
        let applied = self.with_entry(name, |e| e.state.running().map(|_| e.applied))?;
        let Some(applied) = applied else {
            return Ok(RunningVerdict::NotRunning);
        };
        let note = if trigger == Trigger::Asked {
            format!("restarted {name}")
        } else {
            // A failure to read the stored values must not stop what runs.
            let stored = self.stored_values(name, definition).await?;
            let desired = Applied::of(definition, &resolve_values(definition, given, &stored));
            if applied == Some(desired) {
                return Ok(RunningVerdict::Unchanged);
            }
            format!("restarted {name} to apply the changed configuration")
        };
        self.stop_for_restart(name).await?;
        Ok(RunningVerdict::Stopped(note))
    }

    /// Stops the running server and leaves the connector starting, so its
    /// death is not taken for a crash (the state no longer names its
    /// generation) and the next step of the start follows.
    async fn stop_for_restart(&self, name: &str) -> Result<()> {
        let stopping = self.with_entry(name, |entry| {
            let stopping = entry.state.running().map(|r| r.stopping());
            entry.stopping = stopping.is_some();
            stopping
        })?;
        if let Some(stopping) = stopping {
            stopping.await;
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        let moved = self
            .transition(
                name,
                ConnectorState::Starting {
                    cancel,
                    spawned: Default::default(),
                },
                false,
            )
            .await;
        self.with_entry(name, |entry| {
            entry.stopping = false;
            entry.tools.clear();
        })?;
        moved
    }

    /// `switchboard restart NAME`: stops and starts a connected (or failed)
    /// connector with its current configuration. A disconnected one is
    /// refused: restarting must not connect what the user disconnected.
    pub async fn restart(&self, name: &str) -> Result<ConnectorInfo> {
        let status = self.with_entry(name, |e| {
            if let Some(pending) = e.pending_restart.take() {
                pending.cancel();
            }
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
    /// the ones held, and a connected connector whose definition or plain
    /// values in the file differ from what it runs with is restarted.
    /// Secrets are not in the file, so only the plain digest is compared.
    pub(super) async fn apply_hand_edits(
        &self,
        snapshot: &SettingsSnapshot,
        customs: &BTreeMap<String, CustomConnector>,
    ) {
        let mut changed = Vec::new();
        {
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
            for (name, entry) in registry.iter() {
                let busy = entry.ops.try_lock().is_err()
                    || entry.stopping
                    || entry.pending_restart.is_some();
                let (Some(applied), Some(_), false) = (entry.applied, entry.state.running(), busy)
                else {
                    continue;
                };
                let definition = entry.active();
                let stored = super::config::plain_values(snapshot, name, &definition);
                let resolved = resolve_values(&definition, &entry.session_values, &stored);
                let (_, plain) = split(&definition, &resolved);
                if plain_digest(&definition, &plain) != applied.plain {
                    changed.push(name.clone());
                }
            }
        }
        for name in changed {
            tracing::info!(connector = %name, "configuration edited in the settings file; restarting");
            let service = self.clone();
            tokio::spawn(async move {
                if let Err(err) = service.apply_changes(&name).await {
                    tracing::warn!(connector = %name, "restart after a hand edit failed: {err}");
                }
            });
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
