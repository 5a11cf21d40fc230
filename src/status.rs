//! The public face of a connector's state: the four statuses of the product
//! page, and the event published on every change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One of the four states every connector is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorStatus {
    /// Running and answering requests.
    Connected,
    /// Not configured or not started.
    Disconnected,
    /// Setup under way: starting, or waiting for required configuration.
    Configuring,
    /// Started but failed; the connector's `error` says why.
    Error,
}

impl ConnectorStatus {
    /// The lowercase name used in settings, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorStatus::Connected => "connected",
            ConnectorStatus::Disconnected => "disconnected",
            ConnectorStatus::Configuring => "configuring",
            ConnectorStatus::Error => "error",
        }
    }

    /// Parses a persisted status; unknown text is treated as absent.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "connected" => Some(ConnectorStatus::Connected),
            "disconnected" => Some(ConnectorStatus::Disconnected),
            "configuring" => Some(ConnectorStatus::Configuring),
            "error" => Some(ConnectorStatus::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for ConnectorStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Published on the service's event channel whenever something about a
/// connector changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectorEvent {
    /// The connector moved from one status to another.
    Status {
        connector: String,
        old: ConnectorStatus,
        new: ConnectorStatus,
        /// Why, when the new status is `error` or `configuring`.
        reason: Option<String>,
        /// The new phase (see `ConnectorInfo::phase`).
        #[serde(default)]
        phase: String,
        at: DateTime<Utc>,
    },
    /// The server announced that its tool list changed, and we re-read it.
    ToolsChanged {
        connector: String,
        count: usize,
        at: DateTime<Utc>,
    },
}
