//! A connector's private state, which owns what exists in that state (the
//! running server, the cancellation of a start under way), and the public
//! status derived from it. Dropping a state stops whatever it owns.

use tokio_util::sync::CancellationToken;

use super::running::{Backend, Running};
use crate::mcp::{RunningServer, Spawned};
use crate::status::ConnectorStatus;

/// What a connector is doing right now.
#[derive(Debug, Default)]
pub enum ConnectorState {
    /// Nothing runs.
    #[default]
    Disconnected,
    /// A start is under way; cancelling the token abandons it. `spawned`
    /// turns once the server runs and the start waits for `initialize`.
    Starting {
        cancel: CancellationToken,
        spawned: Spawned,
    },
    /// Waiting for required configuration.
    NeedsConfig {
        missing: Vec<String>,
        reason: String,
    },
    /// Running and answering.
    Connected { generation: u64, running: Running },
    /// Started but failed, or died.
    Failed { reason: String },
}

impl ConnectorState {
    /// The public status this state shows as.
    pub fn status(&self) -> ConnectorStatus {
        match self {
            ConnectorState::Disconnected => ConnectorStatus::Disconnected,
            ConnectorState::Starting { .. } | ConnectorState::NeedsConfig { .. } => {
                ConnectorStatus::Configuring
            }
            ConnectorState::Connected { .. } => ConnectorStatus::Connected,
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
            ConnectorState::Connected { .. } => "running",
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

    /// The running backend, when connected.
    pub fn running(&self) -> Option<&dyn Backend> {
        match self {
            ConnectorState::Connected { running, .. } => Some(running.as_ref()),
            _ => None,
        }
    }

    /// The running server, when connected.
    pub fn server(&self) -> Option<&RunningServer> {
        match self {
            ConnectorState::Connected { running, .. } => running.server(),
            _ => None,
        }
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
