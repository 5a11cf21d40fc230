//! Connect, disconnect, start-up sync and shutdown: every path that moves
//! a connector between statuses, all through one `transition` step that
//! checks the move, persists it and publishes it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;

use tokio_util::sync::CancellationToken;

use super::apply::{noted, resolve_values, Applied, RunningVerdict, Trigger};
use super::hints::{configure_hint, refused_credential, secret_hint};
use super::running::{Running, RunningSkill};
use super::state::{transition_allowed, ConnectorState};
use super::{ConnectorInfo, ConnectorService, SERVERS_KEY, STATES_KEY};
use crate::catalog::{ConnectorDefinition, ConnectorType};
use crate::error::{Error, Result};
use crate::mcp::{
    find_program, plan_launch, reap_orphan_processes, remove_orphan_containers, start_server,
    ContainerEngine, FieldValues, LaunchKind, StartOptions,
};
use crate::settings::SettingsSnapshot;
use crate::status::{ConnectorEvent, ConnectorStatus};

/// How long listing a fresh server's tools may take.
pub(super) const LIST_TOOLS_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest start-up sync waits for the restored connectors before it
/// probes the container engine and removes a crashed service's containers.
const ENGINE_PROBE_DELAY: Duration = Duration::from_secs(2);

impl ConnectorService {
    /// Connects a connector: generates its server config, writes it to
    /// `codebuddy.mcp.servers`, starts the server and waits for MCP
    /// `initialize`. `values` are field values given by the caller (kept in
    /// memory only). Already connected is not an error.
    pub async fn connect(
        &self,
        name: &str,
        values: FieldValues,
        timeout: Option<Duration>,
    ) -> Result<ConnectorInfo> {
        check_start_timeout(timeout)?;
        // A person asking wins over any restart waiting for its backoff.
        self.with_entry(name, |entry| {
            if let Some(pending) = entry.pending_restart.take() {
                pending.cancel();
            }
            entry.restarts = 0;
        })?;
        self.start_connector(name, values, timeout, Trigger::User)
            .await
    }

    /// Connect's body, shared by a user's connect, a restart and an
    /// automatic restart; a failed automatic restart plans the next one. A
    /// connector that runs with another configuration than the one it
    /// would start with now is restarted, and the answer says so.
    pub(super) async fn start_connector(
        &self,
        name: &str,
        values: FieldValues,
        timeout: Option<Duration>,
        trigger: Trigger,
    ) -> Result<ConnectorInfo> {
        let (ops, invalid) = self.with_entry(name, |e| (e.ops.clone(), e.invalid.clone()))?;
        if let Some(reason) = invalid {
            let name = name.to_string();
            return Err(Error::InvalidDefinition { name, reason });
        }
        let _serial = ops.lock().await;
        let (definition, merged) = self.with_entry(name, |entry| {
            entry.session_values.extend(values);
            (entry.active(), entry.session_values.clone())
        })?;
        let note = match self
            .check_running(name, &definition, &merged, trigger)
            .await?
        {
            RunningVerdict::Unchanged => return self.info(name),
            RunningVerdict::NotRunning => None,
            RunningVerdict::Stopped(note) => Some(note),
        };
        let started = self
            .start_stopped(name, definition, merged, timeout, trigger)
            .await;
        noted(started, note)
    }

    /// A start of a connector that does not run, under its operation lock.
    async fn start_stopped(
        &self,
        name: &str,
        definition: ConnectorDefinition,
        merged: FieldValues,
        timeout: Option<Duration>,
        trigger: Trigger,
    ) -> Result<ConnectorInfo> {
        let stored = match self.stored_values(name, &definition).await {
            Ok(stored) => stored,
            Err(err) => return self.fail(name, err, trigger).await,
        };
        let resolved = resolve_values(&definition, &merged, &stored);
        let missing: Vec<String> = definition
            .required_fields()
            .filter(|f| !resolved.contains_key(&f.name))
            .map(|f| f.name.clone())
            .collect();
        if !missing.is_empty() {
            let err = Error::NeedsConfiguration {
                name: name.to_string(),
                missing: missing.join(", "),
                hint: configure_hint(name, &definition, &missing),
            };
            let reason = err.to_string();
            self.transition(name, ConnectorState::NeedsConfig { missing, reason }, true)
                .await?;
            return Err(err);
        }
        let applied = Applied::of(&definition, &resolved);
        self.with_entry(name, |entry| entry.applied = Some(applied))?;

        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed);
        let cancel = CancellationToken::new();
        if definition.kind == ConnectorType::Skill {
            return self
                .start_skill(
                    name,
                    &definition,
                    &resolved,
                    generation,
                    cancel,
                    timeout,
                    trigger,
                )
                .await;
        }

        // Secrets that live in the store are named by reference in the
        // written config; ones from the environment by `${env:NAME}`.
        let reference = |field: &str| {
            if stored.contains_key(field) && !merged.contains_key(field) {
                crate::secrets::reference(name, field)
            } else {
                format!("${{env:{field}}}")
            }
        };
        let plan = match plan_launch(&definition, &resolved, &reference) {
            Ok(plan) => plan,
            Err(err) => return self.fail(name, err, trigger).await,
        };
        let engine = match plan.kind {
            LaunchKind::Container { .. } => match self.engine().await {
                Some(engine) => Some(engine),
                None => {
                    let has_skill = self.with_entry(name, |e| e.definition.skill.is_some())?;
                    let err = if has_skill {
                        Error::NoContainerEngineTrySkill {
                            message: format!(
                                "{}; `{name}` also has a built-in skill that needs no container: \
                                 `switchboard connect {name} --backend skill`",
                                Error::NoContainerEngine
                            ),
                        }
                    } else {
                        Error::NoContainerEngine
                    };
                    return self.fail(name, err, trigger).await;
                }
            },
            LaunchKind::Native | LaunchKind::Remote { .. } => None,
        };
        // A hosted server that needs the user's own OAuth client, before any request.
        if let Some(waiting) = self.client_first(name, &definition, &plan).await {
            return waiting;
        }
        let config = serde_json::to_value(&plan.config)
            .map_err(|e| Error::Internal(format!("cannot encode server config: {e}")))?;
        let key = name.to_string();
        self.edit_settings(move |ed| ed.set(&[SERVERS_KEY, &key], config))
            .await?;

        let spawned = crate::mcp::Spawned::default();
        self.transition(
            name,
            ConnectorState::Starting {
                cancel: cancel.clone(),
                spawned: spawned.clone(),
            },
            false,
        )
        .await?;
        let log_file = Some(self.inner.paths.connector_log(name));
        let options = StartOptions {
            connector: name,
            generation,
            home: &self.inner.paths.home,
            log_file,
            engine: engine.as_ref(),
            timeout: timeout.unwrap_or(self.inner.options.start_timeout),
            health: self.inner.supervision.health(),
            events: self.inner.server_events.clone(),
            auth: self.remote_auth(name, &plan),
            upstream: self.inner.upstream.clone(),
            spawned,
        };
        let started = tokio::select! {
            started = start_server(&plan, options) => started,
            _ = cancel.cancelled() => {
                // A disconnect overtook this start; it has already reset the state.
                return self.info(name);
            }
        };
        let server = match started {
            Ok(server) => server,
            Err(Error::RemoteServer(crate::mcp::RemoteError::SignInRequired {
                challenge, ..
            })) => {
                return self.sign_in_required(name, &definition, challenge).await;
            }
            Err(err) => {
                let err = refused_credential(name, &definition, err);
                return self.fail(name, err, trigger).await;
            }
        };
        let tools =
            match tokio::time::timeout(LIST_TOOLS_TIMEOUT, server.peer().list_all_tools()).await {
                Ok(Ok(tools)) => tools,
                Ok(Err(err)) => {
                    server.stop().await;
                    let err = Error::Handshake {
                        message: format!("tools/list failed: {err}"),
                        stderr: String::new(),
                    };
                    return self.fail(name, err, trigger).await;
                }
                Err(_) => {
                    server.stop().await;
                    let err = Error::Handshake {
                        message: "tools/list did not answer".into(),
                        stderr: String::new(),
                    };
                    return self.fail(name, err, trigger).await;
                }
            };
        self.settle_connected(name, generation, Box::new(server), tools)
            .await
    }

    /// The last step of every successful start: the tools, then `connected`.
    async fn settle_connected(
        &self,
        name: &str,
        generation: u64,
        running: Running,
        tools: Vec<rmcp::model::Tool>,
    ) -> Result<ConnectorInfo> {
        self.with_entry(name, |entry| entry.tools = tools)?;
        self.transition(
            name,
            ConnectorState::Connected {
                generation,
                running,
            },
            true,
        )
        .await?;
        self.info(name)
    }

    /// Opens a built-in skill: a real round trip to its service before
    /// `connected`, then health checks on the ping interval.
    #[allow(clippy::too_many_arguments)]
    async fn start_skill(
        &self,
        name: &str,
        definition: &ConnectorDefinition,
        values: &FieldValues,
        generation: u64,
        cancel: CancellationToken,
        timeout: Option<Duration>,
        trigger: Trigger,
    ) -> Result<ConnectorInfo> {
        let Some(skill_name) = self.with_entry(name, |e| {
            e.definition.skill.as_ref().map(|s| s.name.clone())
        })?
        else {
            return self
                .fail(
                    name,
                    Error::Internal(format!("`{name}` has no skill")),
                    trigger,
                )
                .await;
        };
        self.transition(
            name,
            ConnectorState::Starting {
                cancel: cancel.clone(),
                spawned: Default::default(),
            },
            false,
        )
        .await?;
        let deadline = timeout.unwrap_or(self.inner.options.start_timeout);
        let opened = tokio::select! {
            opened = tokio::time::timeout(deadline, crate::skills::open(&skill_name, values)) => opened,
            _ = cancel.cancelled() => return self.info(name),
        };
        let skill = match opened {
            Ok(Ok(skill)) => skill,
            Ok(Err(crate::skills::SkillError::AuthFailed { message })) => {
                let err = Error::CredentialRefused {
                    name: name.to_string(),
                    message,
                    hint: secret_hint(name, definition),
                };
                return self.fail(name, err, trigger).await;
            }
            Ok(Err(err)) => {
                let err = Error::Skill {
                    message: err.to_string(),
                };
                return self.fail(name, err, trigger).await;
            }
            Err(_) => {
                let err = Error::Skill {
                    message: format!(
                        "no answer from the service within {}s; check the address",
                        deadline.as_secs()
                    ),
                };
                return self.fail(name, err, trigger).await;
            }
        };
        let running = RunningSkill::start(
            skill,
            self.inner.supervision.health(),
            (name.to_string(), generation),
            self.inner.server_events.clone(),
        );
        let tools = running.tools();
        self.settle_connected(name, generation, Box::new(running), tools)
            .await
    }

    /// Disconnects a connector: stops its server (waiting until the process
    /// and container are gone), removes its config from
    /// `codebuddy.mcp.servers`, and marks it `disconnected`.
    pub async fn disconnect(&self, name: &str) -> Result<ConnectorInfo> {
        // A start in progress, or a restart waiting for its backoff, is
        // abandoned at once rather than waited for: a disconnect always wins.
        self.with_entry(name, |entry| {
            if let ConnectorState::Starting { cancel, .. } = &entry.state {
                cancel.cancel();
            }
            if let Some(pending) = entry.pending_restart.take() {
                pending.cancel();
            }
            entry.restarts = 0;
        })?;
        let ops = self.with_entry(name, |entry| entry.ops.clone())?;
        let _serial = ops.lock().await;
        let stopping = self.with_entry(name, |entry| {
            let stopping = entry.state.running().map(|r| r.stopping());
            entry.stopping = stopping.is_some();
            stopping
        })?;
        if let Some(stopping) = stopping {
            stopping.await;
        }
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
        self.with_entry(name, |entry| {
            entry.tools.clear();
            entry.stopping = false;
        })?;
        removed?;
        recorded?;
        self.info(name)
    }

    /// Stops every server this service started, leaving the persisted
    /// statuses alone so the next start restores them.
    pub async fn shutdown(&self) {
        let stops: Vec<_> = {
            let mut registry = self.registry();
            registry
                .values_mut()
                .filter_map(|entry| {
                    if let ConnectorState::Starting { cancel, .. } = &entry.state {
                        cancel.cancel();
                    }
                    if let Some(pending) = entry.pending_restart.take() {
                        pending.cancel();
                    }
                    entry.stopping = true;
                    entry.state.running().map(|r| r.stopping())
                })
                .collect()
        };
        futures::future::join_all(stops).await;
    }

    /// Records a failure as the connector's `error` and returns it.
    async fn fail<T>(&self, name: &str, err: Error, trigger: Trigger) -> Result<T> {
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
        let reason = if restart {
            self.plan_restart(name, reason)?
        } else {
            reason
        };
        self.with_entry(name, |entry| entry.last_error = Some(reason.clone()))?;
        self.transition(name, ConnectorState::Failed { reason }, true)
            .await
    }

    /// Schedules the next automatic restart after its backoff, unless the
    /// cap is reached; returns the reason, saying which.
    fn plan_restart(&self, name: &str, reason: String) -> Result<String> {
        let policy = &self.inner.supervision;
        let max = policy.max_restarts;
        let done = self.with_entry(name, |entry| entry.restarts)?;
        if done >= max {
            let tries = done;
            return Ok(format!(
                "{reason}; gave up after {tries} restart{} failed (run `switchboard connect {name}` to try again)",
                if tries == 1 { "" } else { "s" }
            ));
        }
        let attempt = done + 1;
        let delay = policy.backoff(attempt, fastrand::f64());
        let cancel = CancellationToken::new();
        self.with_entry(name, |entry| {
            entry.restarts = attempt;
            if let Some(old) = entry.pending_restart.replace(cancel.clone()) {
                old.cancel();
            }
        })?;
        let service = self.clone();
        let connector = name.to_string();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => return,
            }
            let _ = service.with_entry(&connector, |entry| entry.pending_restart = None);
            // A failure here is recorded (and the next restart planned) inside.
            let _ = service
                .start_connector(&connector, FieldValues::new(), None, Trigger::Restart)
                .await;
        });
        Ok(format!(
            "{reason}; restarting in {:.1}s (restart {attempt} of {max})",
            delay.as_secs_f64()
        ))
    }

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

    async fn persist_status(&self, name: &str, status: ConnectorStatus) -> Result<()> {
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
            .filter(|name| {
                let persisted = snapshot
                    .get(&[STATES_KEY, name.as_str()])
                    .and_then(|v| v.as_str())
                    .and_then(ConnectorStatus::parse);
                matches!(
                    persisted,
                    Some(
                        ConnectorStatus::Connected
                            | ConnectorStatus::Error
                            | ConnectorStatus::Configuring
                    )
                )
            })
            .cloned()
            .collect();
        self.drop_stale_server_configs(snapshot, &wanted);
        let starts: Vec<_> = wanted
            .into_iter()
            .map(|name| {
                let service = self.clone();
                tokio::spawn(async move {
                    if let Err(err) = service.connect(&name, FieldValues::new(), None).await {
                        tracing::warn!(connector = %name, "could not restore: {err}");
                    }
                })
            })
            .collect();
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
}

impl ConnectorService {
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
fn check_start_timeout(timeout: Option<Duration>) -> Result<()> {
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
