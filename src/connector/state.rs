//! A connector's private state, which owns what exists in that state (the
//! running backend with its tools and the digest of what it started with,
//! a start under way, a restart waiting for its backoff), and the public
//! status derived from it. Dropping a state stops whatever it owns.

use rmcp::model::Tool;
use tokio_util::sync::CancellationToken;

use super::applied::Applied;
use super::running::{Backend, Running};
use crate::mcp::{RunningServer, Spawned};
use crate::status::ConnectorStatus;

/// What a connector is doing right now.
#[derive(Debug, Default)]
pub enum ConnectorState {
    /// Nothing runs.
    #[default]
    Disconnected,
    /// A start is under way; dropping the state abandons it. `spawned`
    /// turns once the server runs and the start waits for `initialize`.
    Starting { cancel: Abandon, spawned: Spawned },
    /// Waiting for required configuration.
    NeedsConfig {
        missing: Vec<String>,
        reason: String,
    },
    /// Running and answering.
    Connected(Live),
    /// We are stopping the backend ourselves, so its death is expected and
    /// not a crash. Not a status of its own: it shows as the status it is
    /// leaving (`from`) until the stop ends.
    Stopping { from: ConnectorStatus },
    /// Started but failed, or died; `restart` is the automatic restart
    /// waiting for its backoff, cancelled when this state is left.
    Failed {
        reason: String,
        restart: Option<Abandon>,
    },
}

/// A connected backend and what only a running backend has.
#[derive(Debug)]
pub struct Live {
    /// Tells this start's events from an older one's.
    pub generation: u64,
    pub running: Running,
    /// Its tools, refreshed on `list_changed`.
    pub tools: Vec<Tool>,
    /// What it was started with, to tell when its configuration changed.
    pub applied: Applied,
}

/// Work owned by a state (a start, a planned restart): cancelled when the
/// state is dropped, or on request.
#[derive(Debug, Default)]
pub struct Abandon(CancellationToken);

impl Abandon {
    /// The token the work listens to.
    pub fn token(&self) -> CancellationToken {
        self.0.clone()
    }
}

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl ConnectorState {
    /// The public status this state shows as.
    pub fn status(&self) -> ConnectorStatus {
        match self {
            ConnectorState::Disconnected => ConnectorStatus::Disconnected,
            ConnectorState::Starting { .. } | ConnectorState::NeedsConfig { .. } => {
                ConnectorStatus::Configuring
            }
            ConnectorState::Connected(_) => ConnectorStatus::Connected,
            ConnectorState::Stopping { from } => *from,
            ConnectorState::Failed { .. } => ConnectorStatus::Error,
        }
    }

    /// What the connector is doing, finer than its status (`phase` in
    /// JSON): `configuring` is either `starting` or waiting for a person
    /// (`needs-config`, `needs-sign-in`).
    pub fn phase(&self) -> &'static str {
        match self {
            ConnectorState::Disconnected => "stopped",
            ConnectorState::Starting { spawned, .. } if spawned.is_set() => "initializing",
            ConnectorState::Starting { .. } => "starting",
            ConnectorState::NeedsConfig { missing, .. } if missing.is_empty() => "needs-sign-in",
            ConnectorState::NeedsConfig { .. } => "needs-config",
            ConnectorState::Connected(_) => "running",
            ConnectorState::Stopping { .. } => "stopping",
            ConnectorState::Failed {
                restart: Some(_), ..
            } => "restarting",
            ConnectorState::Failed { .. } => "failed",
        }
    }

    /// Why the connector is in `error` or waiting for configuration.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ConnectorState::Failed { reason, .. } | ConnectorState::NeedsConfig { reason, .. } => {
                Some(reason)
            }
            _ => None,
        }
    }

    /// The running backend and its data, when connected.
    pub fn live(&self) -> Option<&Live> {
        match self {
            ConnectorState::Connected(live) => Some(live),
            _ => None,
        }
    }

    /// The running backend, when connected.
    pub fn running(&self) -> Option<&dyn Backend> {
        self.live().map(|live| live.running.as_ref())
    }

    /// The running server, when connected.
    pub fn server(&self) -> Option<&RunningServer> {
        self.running().and_then(|running| running.server())
    }

    /// The connected backend's tools (none when not connected).
    pub fn tools(&self) -> &[Tool] {
        self.live().map(|live| live.tools.as_slice()).unwrap_or(&[])
    }

    /// Whether an automatic restart waits for its backoff.
    pub fn restart_pending(&self) -> bool {
        matches!(
            self,
            ConnectorState::Failed {
                restart: Some(_),
                ..
            }
        )
    }

    /// Cancels an automatic restart waiting for its backoff, if any: a
    /// person's connect, disconnect or restart wins over it.
    pub fn cancel_restart(&mut self) {
        if let ConnectorState::Failed { restart, .. } = self {
            restart.take();
        }
    }

    /// Abandons a start under way, if any (the start resets the state).
    pub fn cancel_start(&self) {
        if let ConnectorState::Starting { cancel, .. } = self {
            cancel.0.cancel();
        }
    }

    /// Begins our own stop of a running backend: the state becomes
    /// `Stopping` (so its death is not taken for a crash) and the returned
    /// future stops it and resolves once it is gone. `None` when nothing runs.
    pub fn begin_stop(&mut self) -> Option<futures::future::BoxFuture<'static, ()>> {
        let ConnectorState::Connected(_) = self else {
            return None;
        };
        let from = self.status();
        let ConnectorState::Connected(live) =
            std::mem::replace(self, ConnectorState::Stopping { from })
        else {
            return None;
        };
        let stopping = live.running.stopping();
        Some(Box::pin(async move {
            stopping.await;
            drop(live);
        }))
    }
}

/// Whether a connector may move from `from` to `to`. Every status change
/// goes through this check, so a bug that would skip a step (say, from
/// `disconnected` straight to `connected` without starting) is caught.
pub fn transition_allowed(from: ConnectorStatus, to: ConnectorStatus) -> bool {
    use ConnectorStatus::*;
    matches!(
        (from, to),
        // connect: every start passes through `configuring`
        (Disconnected | Error | Connected, Configuring)
            // a start ends
            | (Configuring, Connected | Error | Disconnected)
            // a required field arrived, or a start follows the wait
            | (Configuring, Configuring)
            // disconnect, or a running server dies
            | (Connected | Error, Disconnected)
            | (Connected, Error)
            // a start fails before it could begin (no engine, bad config)
            | (Disconnected, Error)
            | (Error, Error)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectorStatus::*;

    #[test]
    fn the_transition_table_is_exactly_this() {
        let all = [Connected, Disconnected, Configuring, Error];
        let allowed: Vec<(ConnectorStatus, ConnectorStatus)> = all
            .iter()
            .flat_map(|&a| all.iter().map(move |&b| (a, b)))
            .filter(|&(a, b)| transition_allowed(a, b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Connected, Disconnected),
                (Connected, Configuring),
                (Connected, Error),
                (Disconnected, Configuring),
                (Disconnected, Error),
                (Configuring, Connected),
                (Configuring, Disconnected),
                (Configuring, Configuring),
                (Configuring, Error),
                (Error, Disconnected),
                (Error, Configuring),
                (Error, Error),
            ]
        );
    }

    #[test]
    fn illegal_moves_are_refused() {
        assert!(!transition_allowed(Disconnected, Connected));
        assert!(!transition_allowed(Error, Connected));
        assert!(!transition_allowed(Connected, Connected));
        assert!(!transition_allowed(Disconnected, Disconnected));
    }
}
