//! The one step every status change goes through: `transition` checks
//! the move, swaps the state (dropping the old one stops what it owned),
//! persists the status, logs it and publishes it. Starting, stopping,
//! failing and reconciling (`start.rs`, `stop.rs`, `failure.rs`,
//! `reconcile.rs`) all move a connector through it.

use std::time::Duration;

use chrono::Utc;

use super::state::{transition_allowed, ConnectorState};
use super::{ConnectorService, STATES_KEY};
use crate::error::{Error, Result};
use crate::mcp::{remove_orphan_containers, ContainerEngine};
use crate::status::{ConnectorEvent, ConnectorStatus};

/// How long listing a fresh server's tools may take.
pub(super) const LIST_TOOLS_TIMEOUT: Duration = Duration::from_secs(30);

impl ConnectorService {
    /// The one place a connector's state changes: checks the move is legal,
    /// swaps the state, persists the status (when asked) and publishes the
    /// event. A `Starting` state is not persisted: a crash mid-start leaves
    /// the previous status on disk, never a half state.
    pub(super) async fn transition(
        &self,
        name: &str,
        next: ConnectorState,
        persist: bool,
    ) -> Result<()> {
        let new = next.status();
        let phase = next.phase();
        let reason = next.reason().map(str::to_string);
        let (old, previous) = self.with_entry(name, |entry| {
            let old = entry.state.status();
            if !transition_allowed(old, new) {
                return Err(Error::Internal(format!(
                    "illegal status change for `{name}`: {old} -> {new}"
                )));
            }
            let previous = std::mem::replace(&mut entry.state, next);
            if old != new {
                entry.since = Utc::now();
            }
            Ok((old, previous))
        })??;
        // Dropping the previous state stops whatever it owned.
        drop(previous);
        // What runs has changed whether or not the file can record it, so the
        // change is logged and announced first; a failed write is then reported.
        let persisted = if persist {
            self.persist_status(name, new).await
        } else {
            Ok(())
        };
        tracing::info!(connector = name, %old, %new, reason = reason.as_deref().unwrap_or(""), "status");
        append_lifecycle(
            &self.inner.paths.connector_log(name),
            &format!(
                "{old} -> {new} ({phase}){}",
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        );
        let _ = self.inner.events.send(ConnectorEvent::Status {
            connector: name.to_string(),
            old,
            new,
            reason,
            phase: phase.to_string(),
            at: Utc::now(),
        });
        persisted
    }

    pub(super) async fn persist_status(&self, name: &str, status: ConnectorStatus) -> Result<()> {
        let key = name.to_string();
        self.edit_settings(move |ed| {
            ed.set(
                &[STATES_KEY, &key],
                serde_json::Value::from(status.as_str()),
            )
        })
        .await
    }

    /// The container engine, detected once. On first detection this also
    /// removes containers a crashed service left behind and starts
    /// following the engine's events.
    pub(super) async fn engine(&self) -> Option<ContainerEngine> {
        self.inner
            .engine
            .get_or_init(|| async {
                let engine = ContainerEngine::detect().await?;
                let home = self.inner.paths.home.clone();
                remove_orphan_containers(&engine, &home).await;
                self.follow_containers(&engine);
                Some(engine)
            })
            .await
            .clone()
    }
}

/// Appends a lifecycle line to a connector's log, beside its server's
/// stderr (rotated by size like it). A failure to log never fails the
/// transition it records.
fn append_lifecycle(path: &std::path::Path, line: &str) {
    crate::mcp::log::append_line(
        path,
        &format!(
            "[switchboard {}] {line}",
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
        ),
    );
}

/// The longest start a person may ask for (`connect --timeout`, the API's
/// `timeout_secs`); a start past it is a mistake, not patience.
pub const MAX_START_TIMEOUT: Duration = Duration::from_secs(600);

/// Whether an asked-for start timeout is within 1 s and [`MAX_START_TIMEOUT`].
pub(super) fn check_start_timeout(timeout: Option<Duration>) -> Result<()> {
    match timeout {
        Some(t) if t < Duration::from_secs(1) || t > MAX_START_TIMEOUT => {
            Err(Error::InvalidInput(format!(
                "the start timeout must be between 1 and {} seconds, not {}",
                MAX_START_TIMEOUT.as_secs(),
                t.as_secs()
            )))
        }
        _ => Ok(()),
    }
}
