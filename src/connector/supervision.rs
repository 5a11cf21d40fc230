//! Supervision settings (`codebuddy.connectors.supervision`): how often
//! servers are pinged, and how dead servers are restarted — exponential
//! backoff with jitter, up to a cap.

use std::time::Duration;

use serde::Deserialize;

use crate::mcp::HealthPolicy;
use crate::settings::SettingsSnapshot;

/// The settings key holding these values.
pub const SUPERVISION_KEY: &str = "codebuddy.connectors.supervision";

/// Supervision settings; every field is optional in the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Supervision {
    /// Time between two health pings.
    pub ping_interval_ms: u64,
    /// How long a ping may take.
    pub ping_timeout_ms: u64,
    /// Delay before the first restart; doubles with each further one.
    pub restart_backoff_ms: u64,
    /// The longest delay between two restarts.
    pub restart_backoff_max_ms: u64,
    /// Restarts in a row before the connector is left in `error`.
    pub max_restarts: u32,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision {
            ping_interval_ms: 15_000,
            ping_timeout_ms: 5_000,
            restart_backoff_ms: 500,
            restart_backoff_max_ms: 30_000,
            max_restarts: 5,
        }
    }
}

impl Supervision {
    /// Reads the settings, falling back to defaults (with a warning) when
    /// the value is malformed.
    pub fn from_snapshot(snapshot: &SettingsSnapshot) -> Supervision {
        match snapshot.get(&[SUPERVISION_KEY]) {
            None => Supervision::default(),
            Some(value) => serde_json::from_value(value.clone()).unwrap_or_else(|err| {
                tracing::warn!("{SUPERVISION_KEY} is malformed ({err}); using defaults");
                Supervision::default()
            }),
        }
    }

    /// The ping policy for supervisors.
    pub fn health(&self) -> HealthPolicy {
        HealthPolicy {
            ping_interval: Duration::from_millis(self.ping_interval_ms.max(10)),
            ping_timeout: Duration::from_millis(self.ping_timeout_ms.max(10)),
        }
    }

    /// The delay before restart number `attempt` (1-based): the backoff
    /// doubled per attempt, capped, with ±20% jitter so that many servers
    /// failing together do not restart in lockstep.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        let base = self
            .restart_backoff_ms
            .saturating_mul(1u64 << doublings)
            .min(self.restart_backoff_max_ms);
        let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
        Duration::from_millis((base as f64 * factor) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let s = Supervision {
            restart_backoff_ms: 100,
            restart_backoff_max_ms: 1000,
            ..Supervision::default()
        };
        let mid: Vec<u64> = (1..=6)
            .map(|a| s.backoff(a, 0.5).as_millis() as u64)
            .collect();
        assert_eq!(mid, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(s.backoff(1, 0.0), Duration::from_millis(80));
        assert_eq!(s.backoff(1, 1.0), Duration::from_millis(120));
        assert_eq!(s.backoff(u32::MAX, 0.5), Duration::from_millis(1000));
    }

    #[test]
    fn partial_settings_keep_the_other_defaults() {
        let s: Supervision = serde_json::from_value(serde_json::json!({"maxRestarts": 2})).unwrap();
        assert_eq!(s.max_restarts, 2);
        assert_eq!(s.ping_interval_ms, Supervision::default().ping_interval_ms);
    }
}
