//! Starting a connector, step by step: the values it runs with (or the
//! fields it still waits for), then its backend — a built-in skill, or an
//! MCP server launched from a plan (native, container, remote) — and its
//! tools, ending in `connected` or in `error` with a reason.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::applied::Applied;
use super::apply::{noted, resolve_values, RunningVerdict, Trigger};
use super::hints::{configure_hint, refused_credential, secret_hint};
use super::lifecycle::{check_start_timeout, LIST_TOOLS_TIMEOUT};
use super::running::{Running, RunningSkill};
use super::state::{Abandon, ConnectorState, Live};
use super::{ConnectorInfo, ConnectorService, SERVERS_KEY};
use crate::catalog::{ConnectorDefinition, ConnectorType};
use crate::error::{Error, Result};
use crate::mcp::{
    plan_launch, start_server, ContainerEngine, FieldValues, LaunchKind, LaunchPlan, RunningServer,
    Spawned, StartOptions,
};

/// Everything one `switchboard connect` asks, as one request: the service
/// checks and stores what is given, switches the backend, then starts.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ConnectRequest {
    pub name: String,
    /// Field values from the caller's environment (kept in memory only).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The backend to switch to first (`--backend`).
    #[serde(default)]
    pub backend: Option<crate::catalog::ConnectorType>,
    /// Values to check and store before the start (`--set`,
    /// `--secret-from-env`); secrets go to the secret store.
    #[serde(default)]
    pub store: BTreeMap<String, String>,
    /// Which of `store` were given on the command line, where a secret
    /// must not be.
    #[serde(default)]
    pub on_command_line: Vec<String>,
    /// The caller's directory, against which relative paths are read.
    #[serde(default)]
    pub cwd: Option<std::path::PathBuf>,
    /// A pre-registered OAuth client (`--client-id`), and its secret.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// One start of a connector: what every step of it needs to know.
struct Start<'a> {
    name: &'a str,
    /// Tells this start's server events from an older start's.
    generation: u64,
    /// What it starts with, kept by the running state.
    applied: Applied,
    timeout: Option<Duration>,
    trigger: Trigger,
}

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
            entry.state.cancel_restart();
            entry.restarts = 0;
        })?;
        self.start_connector(name, values, timeout, Trigger::User)
            .await
    }

    /// A connect as a person asks it, in one request: the values to store
    /// are checked (all of them, for the backend asked for) before
    /// anything is stored, then the backend, the OAuth client and the
    /// values are set, and the connector starts, waiting for a sign-in
    /// when one opens. The answer says when a running connector restarted.
    pub async fn connect_as_asked(&self, asked: ConnectRequest) -> Result<ConnectorInfo> {
        let name = asked.name.as_str();
        let timeout = asked.timeout_secs.map(Duration::from_secs);
        check_start_timeout(timeout)?;
        let store = if asked.store.is_empty() {
            FieldValues::new()
        } else {
            let (backend, cwd) = (asked.backend.as_ref(), asked.cwd.as_deref());
            let on_command_line = &asked.on_command_line;
            self.check_config(name, backend, asked.store, on_command_line, cwd)
                .await?
        };
        let mut restarted = None;
        if let Some(backend) = asked.backend {
            restarted = self.set_backend(name, backend).await?.restarted;
        }
        if asked.client_id.is_some() || asked.client_secret.is_some() {
            self.set_oauth_client(name, asked.client_id, asked.client_secret)
                .await?;
        }
        if !store.is_empty() {
            restarted = self.set_config(name, store).await?.restarted.or(restarted);
        }
        let mut info = self.connect_signing_in(name, asked.values, timeout).await?;
        info.restarted = info.restarted.or(restarted);
        Ok(info)
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
        let (definition, merged, overtaken) = self.with_entry(name, |entry| {
            entry.session_values.extend(values);
            // An automatic restart that a disconnect or a connect overtook
            // while it waited for the lock has nothing left to do.
            let overtaken = trigger == Trigger::Restart
                && !matches!(entry.state, ConnectorState::Failed { .. });
            (entry.active(), entry.session_values.clone(), overtaken)
        })?;
        if overtaken {
            return self.info(name);
        }
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
        if let Err(err) = &started {
            // A start that failed before its first step (the settings could
            // not be written) must not leave a stopped server `Stopping`.
            let stuck =
                self.with_entry(name, |e| matches!(e.state, ConnectorState::Stopping { .. }))?;
            if stuck {
                self.record_failure(name, err.to_string(), false).await?;
            }
        }
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
        self.wait_for_missing(name, &definition, &resolved).await?;
        let start = Start {
            name,
            generation: self.inner.generation.fetch_add(1, Ordering::Relaxed),
            applied: Applied::of(&definition, &resolved),
            timeout,
            trigger,
        };
        if definition.kind == ConnectorType::Skill {
            return self.start_skill(start, &definition, &resolved).await;
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
        match plan_launch(&definition, &resolved, &reference) {
            Ok(plan) => self.start_mcp(start, &definition, plan).await,
            Err(err) => self.fail(name, err, trigger).await,
        }
    }

    /// Moves a connector whose required fields are not all set to wait for
    /// them (`configuring`), and says which and how to give them.
    async fn wait_for_missing(
        &self,
        name: &str,
        definition: &ConnectorDefinition,
        resolved: &FieldValues,
    ) -> Result<()> {
        let missing: Vec<String> = definition
            .required_fields()
            .filter(|f| !resolved.contains_key(&f.name))
            .map(|f| f.name.clone())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let err = Error::NeedsConfiguration {
            name: name.to_string(),
            missing: missing.join(", "),
            hint: configure_hint(name, definition, &missing),
        };
        let reason = err.to_string();
        self.transition(name, ConnectorState::NeedsConfig { missing, reason }, true)
            .await?;
        Err(err)
    }

    /// Starts (or connects to) an MCP server: its config written to
    /// `codebuddy.mcp.servers`, the launch within the start's deadline,
    /// then its tools.
    async fn start_mcp(
        &self,
        start: Start<'_>,
        definition: &ConnectorDefinition,
        plan: LaunchPlan,
    ) -> Result<ConnectorInfo> {
        let (name, trigger) = (start.name, start.trigger);
        let engine = match self.engine_for(name, &plan).await {
            Ok(engine) => engine,
            Err(err) => return self.fail(name, err, trigger).await,
        };
        // A hosted server that needs the user's own OAuth client, before any request.
        if let Some(waiting) = self.client_first(name, definition, &plan).await {
            return waiting;
        }
        let config = serde_json::to_value(&plan.config)
            .map_err(|e| Error::Internal(format!("cannot encode server config: {e}")))?;
        let key = name.to_string();
        self.edit_settings(move |ed| ed.set(&[SERVERS_KEY, &key], config))
            .await?;

        let (abandon, spawned) = (Abandon::default(), Spawned::default());
        let cancel = abandon.token();
        let starting = ConnectorState::Starting {
            cancel: abandon,
            spawned: spawned.clone(),
        };
        self.transition(name, starting, false).await?;
        let options = StartOptions {
            connector: name,
            generation: start.generation,
            home: &self.inner.paths.home,
            log_file: Some(self.inner.paths.connector_log(name)),
            engine: engine.as_ref(),
            timeout: start.timeout.unwrap_or(self.inner.options.start_timeout),
            health: self.inner.supervision.health(),
            events: self.inner.server_events.clone(),
            auth: self.remote_auth(name, &plan),
            upstream: self.inner.upstream.clone(),
            spawned,
        };
        let started = tokio::select! {
            started = start_server(&plan, options) => started,
            // A disconnect overtook this start; it resets the state.
            _ = cancel.cancelled() => return self.info(name),
        };
        let server = match started {
            Ok(server) => server,
            Err(Error::RemoteServer(crate::mcp::RemoteError::SignInRequired {
                challenge, ..
            })) => {
                return self.sign_in_required(name, definition, challenge).await;
            }
            Err(err) => {
                let err = refused_credential(name, definition, err);
                return self.fail(name, err, trigger).await;
            }
        };
        match list_tools(&server).await {
            Ok(tools) => self.settle_connected(start, Box::new(server), tools).await,
            Err(err) => {
                server.stop().await;
                self.fail(name, err, trigger).await
            }
        }
    }

    /// The container engine a container plan needs; its absence is an
    /// error that points at the skill when the connector has one.
    async fn engine_for(&self, name: &str, plan: &LaunchPlan) -> Result<Option<ContainerEngine>> {
        let LaunchKind::Container { .. } = plan.kind else {
            return Ok(None);
        };
        if let Some(engine) = self.engine().await {
            return Ok(Some(engine));
        }
        let has_skill = self.with_entry(name, |e| e.definition.skill.is_some())?;
        Err(if has_skill {
            Error::NoContainerEngineTrySkill {
                message: format!(
                    "{}; `{name}` also has a built-in skill that needs no container: \
                     `switchboard connect {name} --backend skill`",
                    Error::NoContainerEngine
                ),
            }
        } else {
            Error::NoContainerEngine
        })
    }

    /// The last step of every successful start: `connected`, owning the
    /// backend, its tools and what it started with.
    async fn settle_connected(
        &self,
        start: Start<'_>,
        running: Running,
        tools: Vec<rmcp::model::Tool>,
    ) -> Result<ConnectorInfo> {
        let live = Live {
            generation: start.generation,
            running,
            tools,
            applied: start.applied,
        };
        self.transition(start.name, ConnectorState::Connected(live), true)
            .await?;
        self.info(start.name)
    }

    /// Opens a built-in skill: a real round trip to its service before
    /// `connected`, then health checks on the ping interval.
    async fn start_skill(
        &self,
        start: Start<'_>,
        definition: &ConnectorDefinition,
        values: &FieldValues,
    ) -> Result<ConnectorInfo> {
        let (name, trigger) = (start.name, start.trigger);
        let Some(skill_name) = definition.skill.as_ref().map(|s| s.name) else {
            let err = Error::Internal(format!("`{name}` has no skill"));
            return self.fail(name, err, trigger).await;
        };
        let abandon = Abandon::default();
        let cancel = abandon.token();
        let starting = ConnectorState::Starting {
            cancel: abandon,
            spawned: Spawned::default(),
        };
        self.transition(name, starting, false).await?;
        let deadline = start.timeout.unwrap_or(self.inner.options.start_timeout);
        let opened = tokio::select! {
            opened = tokio::time::timeout(deadline, crate::skills::open(skill_name, values)) => opened,
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
                let message = err.to_string();
                return self.fail(name, Error::Skill { message }, trigger).await;
            }
            Err(_) => {
                let message = format!(
                    "no answer from the service within {}s; check the address",
                    deadline.as_secs()
                );
                return self.fail(name, Error::Skill { message }, trigger).await;
            }
        };
        let running = RunningSkill::start(
            skill,
            self.inner.supervision.health(),
            (name.to_string(), start.generation),
            self.inner.server_events.clone(),
        );
        let tools = running.tools();
        self.settle_connected(start, Box::new(running), tools).await
    }
}

/// A fresh server's tools, within [`LIST_TOOLS_TIMEOUT`].
async fn list_tools(server: &RunningServer) -> Result<Vec<rmcp::model::Tool>> {
    let message =
        match tokio::time::timeout(LIST_TOOLS_TIMEOUT, server.peer().list_all_tools()).await {
            Ok(Ok(tools)) => return Ok(tools),
            Ok(Err(err)) => format!("tools/list failed: {err}"),
            Err(_) => "tools/list did not answer".into(),
        };
    Err(Error::Handshake {
        message,
        stderr: String::new(),
    })
}
