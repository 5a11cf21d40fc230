//! One reconcile for every way the wanted state reaches the service: the
//! settings file read at start-up and followed while the service runs
//! (statuses set by hand, definitions and values edited by hand) both
//! compare what the file wants with what runs, and start, stop or restart
//! the difference through the same connect, disconnect and restart paths a
//! person's command takes. A connector with an operation under way is left
//! to it: that operation's own write is what settles it.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::apply::resolve_values;
use super::state::ConnectorState;
use super::{ConnectorService, Entry, SERVERS_KEY, STATES_KEY};
use crate::mcp::{find_program, reap_orphan_processes, FieldValues};
use crate::settings::SettingsSnapshot;
use crate::status::ConnectorStatus;

/// The longest start-up sync waits for the restored connectors before it
/// probes the container engine and removes a crashed service's containers.
const ENGINE_PROBE_DELAY: Duration = Duration::from_secs(2);

/// What the settings file asks of a connector, read from its persisted
/// status: one marked `connected`, `error` or `configuring` was meant to
/// run; one marked `disconnected` was not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    Running,
    Stopped,
}

/// What reconciling does to one connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Start,
    Stop,
    /// It runs with another configuration than the file now gives it.
    Restart,
}

/// The persisted status of `name` as a wish; `None` when the file says
/// nothing (then only a changed configuration matters).
pub(super) fn wanted(snapshot: &SettingsSnapshot, name: &str) -> Option<Want> {
    let persisted = snapshot
        .get(&[STATES_KEY, name])
        .and_then(|v| v.as_str())
        .and_then(ConnectorStatus::parse)?;
    Some(match persisted {
        ConnectorStatus::Disconnected => Want::Stopped,
        _ => Want::Running,
    })
}

/// The step that brings a connector in `status` to `want`. `changed`:
/// it runs, and with another configuration than the file's.
pub(super) fn step(want: Option<Want>, status: ConnectorStatus, changed: bool) -> Option<Step> {
    use ConnectorStatus::*;
    match (want, status) {
        (Some(Want::Running), Disconnected) => Some(Step::Start),
        (Some(Want::Stopped), Connected | Error) => Some(Step::Stop),
        (Some(Want::Running) | None, Connected) if changed => Some(Step::Restart),
        _ => None,
    }
}

impl ConnectorService {
    /// Start-up sync, as the product page describes it: the definitions are
    /// loaded; nothing of ours runs yet in a fresh service, so every
    /// connector whose persisted status says it should run (connected,
    /// error, configuring) is started again, all in parallel, each with its
    /// own deadline; the rest are `disconnected`.
    pub(super) fn sync_at_start(&self, snapshot: &SettingsSnapshot) {
        // We hold the data dir's lock, so anything marked as started by
        // another service of this data dir is an orphan of a crash.
        reap_orphan_processes(&self.inner.paths.home);
        let wanted: Vec<String> = self
            .registry()
            .keys()
            .filter(|name| wanted(snapshot, name) == Some(Want::Running))
            .cloned()
            .collect();
        self.drop_stale_server_configs(snapshot, &wanted);
        let starts = self.reconcile(snapshot);
        if find_program("docker").is_some() || find_program("podman").is_some() {
            // Probing the engine, listing its containers and following its
            // events cost processes and CPU that the restored starts need
            // more; a connector that runs in a container probes at once
            // (the probe is shared), so only the clean-up of a crashed
            // service's containers waits, and never past ENGINE_PROBE_DELAY.
            let service = self.clone();
            tokio::spawn(async move {
                let settled = futures::future::join_all(starts);
                let _ = tokio::time::timeout(ENGINE_PROBE_DELAY, settled).await;
                service.engine().await
            });
        }
    }

    /// Brings what runs in line with what `snapshot` wants: each step runs
    /// in a task of its own (returned, to be awaited or not), through the
    /// paths a person's commands take.
    pub(super) fn reconcile(&self, snapshot: &SettingsSnapshot) -> Vec<JoinHandle<()>> {
        let steps: Vec<(String, Step)> = self
            .registry()
            .iter()
            .filter(|(_, entry)| !busy(entry) && entry.invalid.is_none())
            .filter_map(|(name, entry)| {
                let changed = configuration_changed(snapshot, name, entry);
                step(wanted(snapshot, name), entry.state.status(), changed)
                    .map(|step| (name.clone(), step))
            })
            .collect();
        steps
            .into_iter()
            .map(|(name, step)| {
                tracing::info!(connector = %name, ?step, "reconciling with the settings file");
                let service = self.clone();
                tokio::spawn(async move {
                    let done = match step {
                        Step::Start => service.connect(&name, FieldValues::new(), None).await,
                        Step::Stop => service.disconnect(&name).await,
                        Step::Restart => service.apply_changes(&name).await,
                    };
                    if let Err(err) = done {
                        tracing::warn!(connector = %name, ?step, "could not reconcile: {err}");
                    }
                })
            })
            .collect()
    }
    /// Removes from `codebuddy.mcp.servers` the configs of connectors that
    /// start-up sync will not start: a connect cut short by a crash wrote
    /// one before its server ran, and that list holds only running servers.
    /// Entries that name no connector are someone else's and stay.
    fn drop_stale_server_configs(&self, snapshot: &SettingsSnapshot, wanted: &[String]) {
        let stale: Vec<String> = snapshot
            .get(&[SERVERS_KEY])
            .and_then(|v| v.as_object())
            .map(|servers| {
                let registry = self.registry();
                servers
                    .keys()
                    .filter(|name| registry.contains_key(*name) && !wanted.contains(name))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if stale.is_empty() {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move {
            // Each connector's operation lock is held across the edit, so a
            // connect begun meanwhile (which writes its config first) either
            // finished before — and is no longer `disconnected` — or waits.
            let mut held = Vec::new();
            let mut names = Vec::new();
            for name in &stale {
                let Ok(ops) = service.with_entry(name, |e| e.ops.clone()) else {
                    continue;
                };
                let guard = ops.lock_owned().await;
                let idle = service
                    .with_entry(name, |e| matches!(e.state, ConnectorState::Disconnected))
                    .unwrap_or(false);
                if idle {
                    held.push(guard);
                    names.push(name.clone());
                }
            }
            let removed = service
                .edit_settings(move |ed| {
                    for name in &names {
                        ed.remove(&[SERVERS_KEY, name]);
                    }
                })
                .await;
            drop(held);
            match removed {
                Ok(()) => {
                    tracing::info!(connectors = ?stale, "removed configs of servers that do not run")
                }
                Err(err) => {
                    tracing::warn!("could not remove configs of servers that do not run: {err}")
                }
            }
        });
    }
}

/// Whether an operation is under way that will settle the connector: a
/// connect, disconnect or restart holding its lock, our own stop, or an
/// automatic restart waiting for its backoff.
fn busy(entry: &Entry) -> bool {
    entry.ops.try_lock().is_err()
        || matches!(entry.state, ConnectorState::Stopping { .. })
        || entry.state.restart_pending()
}

/// Whether a running connector's definition or plain values in the file
/// differ from what it started with. Secrets are not in the file, so only
/// the plain digest is compared (a changed secret restarts through
/// `secret set`).
fn configuration_changed(snapshot: &SettingsSnapshot, name: &str, entry: &Entry) -> bool {
    let Some(live) = entry.state.live() else {
        return false;
    };
    let definition = entry.active();
    let stored = super::config::plain_values(snapshot, name, &definition);
    let resolved = resolve_values(&definition, &entry.session_values, &stored);
    !live.applied.same_plain(&definition, &resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectorStatus::*;

    #[test]
    fn each_wish_and_status_gets_exactly_this_step() {
        let wants = [None, Some(Want::Running), Some(Want::Stopped)];
        let statuses = [Connected, Disconnected, Configuring, Error];
        let mut steps = Vec::new();
        for want in wants {
            for status in statuses {
                for changed in [false, true] {
                    if let Some(s) = step(want, status, changed) {
                        steps.push((want, status, changed, s));
                    }
                }
            }
        }
        assert_eq!(
            steps,
            vec![
                (None, Connected, true, Step::Restart),
                (Some(Want::Running), Connected, true, Step::Restart),
                (Some(Want::Running), Disconnected, false, Step::Start),
                (Some(Want::Running), Disconnected, true, Step::Start),
                (Some(Want::Stopped), Connected, false, Step::Stop),
                (Some(Want::Stopped), Connected, true, Step::Stop),
                (Some(Want::Stopped), Error, false, Step::Stop),
                (Some(Want::Stopped), Error, true, Step::Stop),
            ]
        );
    }
}
