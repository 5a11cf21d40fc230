//! A start that failed or a server that died: the connector goes to
//! `error` with its reason, and — for a death or a failed automatic
//! restart — the next restart is planned after its backoff, owned by the
//! `error` state so that leaving the state cancels it.

use tokio_util::sync::CancellationToken;

use super::apply::Trigger;
use super::state::{Abandon, ConnectorState};
use super::{ConnectorService, SERVERS_KEY};
use crate::error::{Error, Result};
use crate::mcp::FieldValues;

impl ConnectorService {
    /// Records a failure as the connector's `error` and returns it.
    pub(super) async fn fail<T>(&self, name: &str, err: Error, trigger: Trigger) -> Result<T> {
        self.record_failure(name, err.to_string(), trigger == Trigger::Restart)
            .await?;
        Err(err)
    }

    /// Moves a connector to `error`. Its server config leaves
    /// `codebuddy.mcp.servers`, which lists only servers that run; the
    /// persisted `error` status is what start-up sync retries. With
    /// `restart`, a restart is planned and the reason says when.
    pub(super) async fn record_failure(
        &self,
        name: &str,
        reason: String,
        restart: bool,
    ) -> Result<()> {
        let key = name.to_string();
        self.edit_settings(move |ed| {
            ed.remove(&[SERVERS_KEY, &key]);
        })
        .await?;
        let (reason, restart) = if restart {
            self.plan_restart(name, reason)?
        } else {
            (reason, None)
        };
        self.with_entry(name, |entry| entry.last_error = Some(reason.clone()))?;
        self.transition(name, ConnectorState::Failed { reason, restart }, true)
            .await
    }

    /// Schedules the next automatic restart after its backoff, unless the
    /// cap is reached; returns the reason, saying which, and the restart
    /// for the `error` state to own.
    fn plan_restart(&self, name: &str, reason: String) -> Result<(String, Option<Abandon>)> {
        let policy = &self.inner.supervision;
        let max = policy.max_restarts;
        let done = self.with_entry(name, |entry| entry.restarts)?;
        if done >= max {
            let tries = done;
            let reason = format!(
                "{reason}; gave up after {tries} restart{} failed (run `switchboard connect {name}` to try again)",
                if tries == 1 { "" } else { "s" }
            );
            return Ok((reason, None));
        }
        let attempt = done + 1;
        let delay = policy.backoff(attempt, fastrand::f64());
        self.with_entry(name, |entry| entry.restarts = attempt)?;
        let restart = Abandon::default();
        let cancel: CancellationToken = restart.token();
        let service = self.clone();
        let connector = name.to_string();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => return,
            }
            // Due now: no longer waiting (the phase leaves `restarting`).
            let _ = service.with_entry(&connector, |entry| entry.state.cancel_restart());
            // A failure here is recorded (and the next restart planned) inside.
            let _ = service
                .start_connector(&connector, FieldValues::new(), None, Trigger::Restart)
                .await;
        });
        let reason = format!(
            "{reason}; restarting in {:.1}s (restart {attempt} of {max})",
            delay.as_secs_f64()
        );
        Ok((reason, Some(restart)))
    }
}
