//! Stopping: a person's disconnect, the service's shutdown, and the stop
//! every restart begins with. A running backend is taken out of its state
//! (which becomes `Stopping`, so its death is expected, not a crash) and
//! waited for until its process and container are gone.

use super::state::ConnectorState;
use super::{ConnectorInfo, ConnectorService, SERVERS_KEY};
use crate::error::Result;
use crate::status::ConnectorStatus;

impl ConnectorService {
    /// Disconnects a connector: stops its server (waiting until the process
    /// and container are gone), removes its config from
    /// `codebuddy.mcp.servers`, and marks it `disconnected`.
    pub async fn disconnect(&self, name: &str) -> Result<ConnectorInfo> {
        // A start in progress, or a restart waiting for its backoff, is
        // abandoned at once rather than waited for: a disconnect always wins.
        self.with_entry(name, |entry| {
            entry.state.cancel_start();
            entry.state.cancel_restart();
            entry.restarts = 0;
        })?;
        let ops = self.with_entry(name, |entry| entry.ops.clone())?;
        let _serial = ops.lock().await;
        self.stop_running(name).await?;
        let key = name.to_string();
        let removed = self
            .edit_settings(move |ed| {
                ed.remove(&[SERVERS_KEY, &key]);
            })
            .await;
        let already =
            self.with_entry(name, |e| e.state.status() == ConnectorStatus::Disconnected)?;
        // The server is stopped whatever the file says: the status follows
        // what runs even when the settings cannot be written (disk full, a
        // read-only directory), and that failure is what the caller sees.
        let recorded = match (&removed, already) {
            (Ok(()), true) => {
                // Still record it, so a stale persisted status is corrected.
                self.persist_status(name, ConnectorStatus::Disconnected)
                    .await
            }
            (Ok(()), false) => {
                self.transition(name, ConnectorState::Disconnected, true)
                    .await
            }
            (Err(_), true) => Ok(()),
            (Err(_), false) => {
                self.transition(name, ConnectorState::Disconnected, false)
                    .await
            }
        };
        removed?;
        recorded?;
        self.info(name)
    }

    /// Stops the connector's running backend, if any, and waits until it
    /// is gone; the state is `Stopping` meanwhile and after, until the
    /// caller moves it on.
    pub(super) async fn stop_running(&self, name: &str) -> Result<()> {
        let stopping = self.with_entry(name, |entry| entry.state.begin_stop())?;
        if let Some(stopping) = stopping {
            stopping.await;
        }
        Ok(())
    }

    /// Stops every server this service started, leaving the persisted
    /// statuses alone so the next start restores them.
    pub async fn shutdown(&self) {
        let stops: Vec<_> = {
            let mut registry = self.registry();
            registry
                .values_mut()
                .filter_map(|entry| {
                    entry.state.cancel_start();
                    entry.state.cancel_restart();
                    entry.state.begin_stop()
                })
                .collect()
        };
        futures::future::join_all(stops).await;
        // The last spans and metric points go out before the service ends.
        let telemetry = self.inner.telemetry.clone();
        if let Err(err) = tokio::task::spawn_blocking(move || telemetry.shutdown()).await {
            tracing::debug!("OpenTelemetry shutdown: {err}");
        }
    }
}
