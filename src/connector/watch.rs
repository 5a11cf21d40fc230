//! Following the settings file while the service runs: an edit by hand
//! (or by an editor saving with temp + rename) updates the custom
//! connectors held (added, removed, broken, repaired, edited), then goes
//! through the one reconcile (`reconcile.rs`) that start-up sync uses too.
//! Our own writes reconcile to nothing, because what we write already
//! matches what we hold.

use std::collections::BTreeMap;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::{custom_connectors, CustomEntry};
use super::{ConnectorService, Entry};

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
                let Ok(event) = event else { return };
                // Reads of the file (ours included: every reconcile reads
                // it) are access events; following them would reconcile,
                // and log a broken file's problems, several times a second.
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    return;
                }
                let ours = event
                    .paths
                    .iter()
                    .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name);
                if ours {
                    let _ = tx.send(());
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
        // Custom connectors added, removed, broken or repaired by hand.
        let entries: BTreeMap<String, CustomEntry> =
            custom_connectors(&snapshot, &self.inner.settings)
                .into_iter()
                .collect();
        let (removed, broken) = self.take_custom_entries(&entries);
        for name in removed {
            tracing::info!(connector = %name, "removed from the settings file by hand");
            let _ = self.disconnect(&name).await;
            self.registry().remove(&name);
        }
        for (name, reason) in broken {
            // What ran stops; the entry then shows why it cannot start.
            let _ = self.disconnect(&name).await;
            let failed = super::state::ConnectorState::Failed {
                reason: reason.clone(),
                restart: None,
            };
            if self.with_entry(&name, |e| e.invalid = Some(reason)).is_ok() {
                let _ = self.transition(&name, failed, false).await;
            }
        }
        let customs: BTreeMap<String, _> = entries
            .into_iter()
            .filter_map(|(name, entry)| entry.ok().map(|custom| (name, custom)))
            .collect();
        self.take_edited_definitions(&customs);
        self.take_policies(&snapshot);
        // Statuses set by hand, and definitions and values edited by hand.
        self.reconcile(&snapshot);
    }
}

impl ConnectorService {
    /// Brings the registry's custom entries in line with the file: new
    /// ones added (an invalid one as its reason), a repaired one made
    /// usable, a changed reason updated. Returns the connectors to remove
    /// (gone from the file, not busy) and the usable ones that became
    /// invalid (to stop, then mark).
    fn take_custom_entries(
        &self,
        entries: &BTreeMap<String, CustomEntry>,
    ) -> (Vec<String>, Vec<(String, String)>) {
        let mut registry = self.registry();
        let mut broken = Vec::new();
        for (name, entry) in entries {
            match (registry.get_mut(name), entry) {
                (None, _) => {
                    tracing::info!(connector = %name, "added in the settings file by hand");
                    registry.insert(name.clone(), Entry::custom(name, entry.clone()));
                }
                (Some(held), _) if held.builtin => {}
                (Some(held), Ok(_)) if held.invalid.is_some() => {
                    tracing::info!(connector = %name, "repaired in the settings file");
                    *held = Entry::custom(name, entry.clone());
                }
                (Some(held), Err(reason)) if held.invalid.is_some() => {
                    held.invalid = Some(reason.clone());
                    held.state = super::state::ConnectorState::Failed {
                        reason: reason.clone(),
                        restart: None,
                    };
                }
                (Some(_), Err(reason)) => broken.push((name.clone(), reason.clone())),
                (Some(_), Ok(_)) => {}
            }
        }
        let removed = registry
            .iter()
            .filter(|(name, e)| {
                !e.builtin && !entries.contains_key(*name) && e.ops.try_lock().is_ok()
            })
            .map(|(name, _)| name.clone())
            .collect();
        (removed, broken)
    }
}
