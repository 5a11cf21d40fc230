//! Following the settings file while the service runs: an edit by hand
//! (or by an editor saving with temp + rename) is reconciled like any
//! other change — a custom connector added or removed, a status set to
//! `connected` or `disconnected` — through the same connect and
//! disconnect paths. Our own writes reconcile to nothing, because what we
//! write already matches what we hold.

use std::collections::BTreeMap;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::custom_connectors;
use super::{ConnectorService, Entry, STATES_KEY};
use crate::mcp::FieldValues;
use crate::status::ConnectorStatus;

/// Events closer together than this are one edit (an editor's save is
/// several file operations).
const SETTLE: Duration = Duration::from_millis(150);
/// The longest a reconcile waits for a file that keeps changing.
const MAX_SETTLE: Duration = Duration::from_secs(1);

/// Keeps the file watch alive; dropping it stops watching.
pub struct SettingsWatch {
    _watcher: notify::RecommendedWatcher,
}

impl ConnectorService {
    /// Starts watching the settings file's directory (editors replace the
    /// file, so watching the file itself would lose it after one save).
    pub(super) fn watch_settings(&self) -> Option<SettingsWatch> {
        let path = self.inner.paths.settings.clone();
        let dir = path.parent()?.to_path_buf();
        if std::fs::create_dir_all(&dir).is_err() {
            return None;
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        let file_name = path.file_name().map(|n| n.to_os_string());
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    let ours = event
                        .paths
                        .iter()
                        .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name);
                    if ours {
                        let _ = tx.send(());
                    }
                }
            })
            .map_err(|err| tracing::warn!("cannot watch the settings file: {err}"))
            .ok()?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|err| tracing::warn!("cannot watch {}: {err}", dir.display()))
            .ok()?;
        tracing::debug!(dir = %dir.display(), "watching the settings file");
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while rx.recv().await.is_some() {
                tracing::debug!("the settings file changed");
                // Let the rest of this save land before reading, but never
                // wait past MAX_SETTLE for a file that keeps changing.
                let settle_until = tokio::time::Instant::now() + MAX_SETTLE;
                while tokio::time::Instant::now() < settle_until {
                    match tokio::time::timeout(SETTLE, rx.recv()).await {
                        Ok(Some(())) => continue,
                        _ => break,
                    }
                }
                let Some(inner) = weak.upgrade() else { break };
                let service = ConnectorService { inner };
                service.reconcile_settings().await;
            }
        });
        Some(SettingsWatch { _watcher: watcher })
    }

    /// Brings the running state in line with the settings file as it is
    /// now. Connectors with an operation under way are left to it: that
    /// operation's own write is what settles them.
    pub(super) async fn reconcile_settings(&self) {
        let Ok(snapshot) = super::load_blocking(self.inner.settings.clone()).await else {
            tracing::warn!(
                "the settings file changed and does not parse; keeping the running state until it is fixed"
            );
            return;
        };
        // Custom connectors added or removed by hand.
        let customs: BTreeMap<String, _> = custom_connectors(&snapshot).into_iter().collect();
        let removed: Vec<String> = {
            let mut registry = self.registry();
            let added: Vec<String> = customs
                .keys()
                .filter(|name| !registry.contains_key(*name))
                .cloned()
                .collect();
            for name in added {
                if let Some(custom) = customs.get(&name) {
                    tracing::info!(connector = %name, "added in the settings file by hand");
                    registry.insert(name.clone(), Entry::new(custom.to_definition(&name), false));
                }
            }
            registry
                .iter()
                .filter(|(name, e)| {
                    !e.builtin && !customs.contains_key(*name) && e.ops.try_lock().is_ok()
                })
                .map(|(name, _)| name.clone())
                .collect()
        };
        for name in removed {
            tracing::info!(connector = %name, "removed from the settings file by hand");
            let _ = self.disconnect(&name).await;
            self.registry().remove(&name);
        }
        // Definitions and values edited by hand restart what runs.
        self.apply_hand_edits(&snapshot, &customs).await;
        // Statuses set by hand.
        let names: Vec<String> = self.registry().keys().cloned().collect();
        for name in names {
            let wanted = snapshot
                .get(&[STATES_KEY, name.as_str()])
                .and_then(|v| v.as_str())
                .and_then(ConnectorStatus::parse);
            let (current, busy) = match self.with_entry(&name, |e| {
                (
                    e.state.status(),
                    e.ops.try_lock().is_err() || e.stopping || e.pending_restart.is_some(),
                )
            }) {
                Ok(found) => found,
                Err(_) => continue,
            };
            if busy {
                continue;
            }
            match (wanted, current) {
                (Some(ConnectorStatus::Connected), ConnectorStatus::Disconnected) => {
                    tracing::info!(connector = %name, "set to connected in the settings file");
                    let service = self.clone();
                    tokio::spawn(async move {
                        let _ = service.connect(&name, FieldValues::new(), None).await;
                    });
                }
                (
                    Some(ConnectorStatus::Disconnected),
                    ConnectorStatus::Connected | ConnectorStatus::Error,
                ) => {
                    tracing::info!(connector = %name, "set to disconnected in the settings file");
                    let _ = self.disconnect(&name).await;
                }
                _ => {}
            }
        }
    }
}
