//! `ConnectorService`: the one owner of connector state. Every face (CLI,
//! service socket, later the HTTP API and gateway) calls into it; nothing
//! else changes a connector's status.
//!
//! It holds the registry of connectors (built-in catalog plus the user's
//! custom ones), each with its private [`state::ConnectorState`]; persists
//! statuses to `codebuddy.connectors.states` and server configs to
//! `codebuddy.mcp.servers`; and publishes a [`ConnectorEvent`] for every
//! change. Connect, disconnect and start-up sync live in `lifecycle`.

mod applied;
mod apply;
mod calls;
mod config;
mod custom;
mod events;
mod failure;
mod hints;
mod info;
mod lifecycle;
mod policy;
mod profiles;
mod reconcile;
mod running;
mod signin;
mod start;
mod state;
mod stop;
mod supervision;
mod watch;
mod writer;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rmcp::model::Tool;
use tokio::sync::{broadcast, mpsc, OnceCell};

pub use config::{backend_name, field_names, FieldStatus, StoredSecret, BACKEND_KEY, CONFIG_KEY};
pub use custom::{header_field, query_field, CustomConnector};
pub use info::ConnectorInfo;
pub use policy::{PolicyInfo, POLICY_KEY};
pub use signin::LogoutOutcome;
pub use start::ConnectRequest;
pub use state::transition_allowed;
pub use supervision::{Supervision, SUPERVISION_KEY};

use crate::catalog::{validate_name, Catalog, ConnectorDefinition};
use crate::error::{Error, Result};
use crate::mcp::{ContainerEngine, FieldValues, ServerEvent};
use crate::paths::Paths;
use crate::settings::{SettingsEditor, SettingsSnapshot, SettingsStore};
use crate::status::ConnectorEvent;
use state::ConnectorState;

/// Persisted status per connector (the product page's setting).
pub const STATES_KEY: &str = "codebuddy.connectors.states";
/// Server configs of the connectors that should run (VS Code's shape).
pub const SERVERS_KEY: &str = "codebuddy.mcp.servers";
/// The user's custom connector definitions.
pub const CUSTOM_KEY: &str = "codebuddy.connectors.custom";
/// Tools the user disabled, per connector.
pub const DISABLED_TOOLS_KEY: &str = "codebuddy.connectors.disabledTools";

/// How long a server gets to start and answer `initialize`, unless the
/// caller says otherwise.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one tool call may run.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(300);
/// Events kept for slow subscribers before they start missing some.
const EVENT_BUFFER: usize = 256;

/// Tunables for a service instance.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Default deadline for a server's start.
    pub start_timeout: Duration,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            start_timeout: DEFAULT_START_TIMEOUT,
        }
    }
}

/// The connector core. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct ConnectorService {
    inner: Arc<Inner>,
}

struct Inner {
    paths: Paths,
    /// The record of every routed call (`audit.rs`).
    audit: crate::audit::AuditLog,
    /// The same record as OpenTelemetry, when it is on (`telemetry.rs`).
    telemetry: crate::telemetry::Telemetry,
    settings: SettingsStore,
    /// Every settings edit of ours, group-committed (see `writer`).
    writer: writer::SettingsWriter,
    options: ServiceOptions,
    /// Connectors by name. Locked only for short, non-async sections.
    registry: Mutex<BTreeMap<String, Entry>>,
    /// Status and tool-list changes, for every face that subscribes.
    events: broadcast::Sender<ConnectorEvent>,
    /// Log messages servers send (`notifications/message`), by connector,
    /// for the gateway to pass on to its clients.
    server_logs: broadcast::Sender<(String, crate::mcp::LogMessage)>,
    /// Resources the servers say changed: (connector, URI).
    resource_updates: broadcast::Sender<(String, String)>,
    /// Where servers' requests of their client go (set by the gateway).
    upstream: crate::mcp::upstream::SharedUpstream,
    /// Handed to each server's supervisor; drained by the event loop.
    server_events: mpsc::UnboundedSender<ServerEvent>,
    /// Numbers each start, so events from an older start are ignored.
    generation: AtomicU64,
    /// The container engine, detected on first need.
    engine: OnceCell<Option<ContainerEngine>>,
    /// Ping and restart policy, read from settings at start.
    supervision: Supervision,
    /// The settings file watch; dropping it stops watching.
    watch: Mutex<Option<watch::SettingsWatch>>,
    /// Where secret field values live; the error says why it cannot open.
    secrets: std::result::Result<Arc<dyn crate::secrets::SecretStore>, String>,
    /// Sign-ins to remote servers (`mcp::auth`) and who may open a browser.
    sign_ins: signin::SignIns,
}

/// One connector in the registry.
struct Entry {
    definition: ConnectorDefinition,
    builtin: bool,
    state: ConnectorState,
    /// When `state` last changed status.
    since: DateTime<Utc>,
    /// Field values given with `connect` (secrets included); memory only.
    session_values: FieldValues,
    /// Serialises connect/disconnect/remove of this connector.
    ops: Arc<tokio::sync::Mutex<()>>,
    /// Automatic restarts in a row since the server was last healthy.
    restarts: u32,
    /// The most recent error, kept after recovery for `status`.
    last_error: Option<String>,
    /// Tools the user disabled (persisted).
    disabled_tools: std::collections::BTreeSet<String>,
    /// The backend it runs on (`mcp` or `skill`), when it offers both.
    backend: crate::catalog::ConnectorType,
    /// Why a hand-written custom definition cannot be used; it then shows
    /// as `error` with this reason and refuses to start.
    invalid: Option<String>,
    /// The person's policy override (`codebuddy.connectors.policy`).
    policy: Option<crate::catalog::Policy>,
}

impl Entry {
    /// A custom connector's entry; an invalid definition is a placeholder
    /// in `error` that says why, and refuses to start.
    fn custom(name: &str, custom: CustomEntry) -> Entry {
        match custom {
            Ok(custom) => Entry::new(custom.to_definition(name), false),
            Err(reason) => {
                let mut definition = CustomConnector::default().to_definition(name);
                definition.description = "Custom connector (invalid definition)".into();
                let mut entry = Entry::new(definition, false);
                entry.state = ConnectorState::Failed {
                    reason: reason.clone(),
                    restart: None,
                };
                entry.invalid = Some(reason);
                entry
            }
        }
    }

    fn new(definition: ConnectorDefinition, builtin: bool) -> Entry {
        Entry {
            builtin,
            state: ConnectorState::Disconnected,
            since: Utc::now(),
            session_values: FieldValues::new(),
            ops: Arc::new(tokio::sync::Mutex::new(())),
            restarts: 0,
            last_error: None,
            disabled_tools: Default::default(),
            invalid: None,
            policy: None,
            backend: definition
                .backends()
                .first()
                .cloned()
                .unwrap_or(crate::catalog::ConnectorType::Mcp),
            definition,
        }
    }

    /// The error for a tool name this connector does not offer, with the
    /// closest names it does.
    fn unknown_tool(&self, name: &str, tool: &str) -> Error {
        Error::UnknownTool {
            name: name.to_string(),
            tool: tool.to_string(),
            suggestion: crate::suggest::did_you_mean(
                tool,
                self.state.tools().iter().map(|t| t.name.as_ref()),
            ),
        }
    }

    /// The definition as it runs on the chosen backend.
    fn active(&self) -> ConnectorDefinition {
        let mut active = self
            .definition
            .for_backend(&self.backend)
            .unwrap_or_else(|| self.definition.clone());
        if let Some(over) = &self.policy {
            active.policy = Some(active.policy.unwrap_or_default().overlaid(over));
        }
        active
    }
}

impl ConnectorService {
    /// Opens the service: loads the catalog and the user's settings,
    /// restores what was connected (in the background) and starts
    /// following server events. A malformed settings file is an error
    /// here, and the file is left as it is.
    pub async fn start(paths: Paths, options: ServiceOptions) -> Result<ConnectorService> {
        paths
            .ensure_home()
            .map_err(|e| Error::file("create", paths.home.clone(), e))?;
        let catalog = Catalog::builtin()?;
        let settings = SettingsStore::new(paths.settings.clone());
        let paths_home = paths.home.clone();
        let snapshot = load_blocking(settings.clone()).await?;
        let mut registry = BTreeMap::new();
        for def in catalog.iter() {
            registry.insert(def.name.clone(), Entry::new(def.clone(), true));
        }
        for (name, custom) in custom_connectors(&snapshot, &settings) {
            if registry.contains_key(&name) {
                tracing::warn!(connector = %name, "custom connector shadows a built-in one; ignored");
                continue;
            }
            registry.insert(name.clone(), Entry::custom(&name, custom));
        }
        for (name, entry) in registry.iter_mut() {
            let chosen = snapshot.get(&[BACKEND_KEY, name]).and_then(|v| v.as_str());
            let chosen = match chosen {
                Some("skill") => Some(crate::catalog::ConnectorType::Skill),
                Some("mcp") => Some(crate::catalog::ConnectorType::Mcp),
                Some("remote") => Some(crate::catalog::ConnectorType::Remote),
                _ => None,
            };
            if let Some(backend) = chosen.filter(|b| entry.definition.backends().contains(b)) {
                entry.backend = backend;
            }
            entry.policy = policy::stored(&snapshot, name);
            if let Some(serde_json::Value::Array(tools)) = snapshot.get(&[DISABLED_TOOLS_KEY, name])
            {
                entry.disabled_tools = tools
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect();
            }
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (server_logs, _) = broadcast::channel(EVENT_BUFFER);
        let (resource_updates, _) = broadcast::channel(EVENT_BUFFER);
        let (server_tx, server_rx) = mpsc::unbounded_channel();
        let secrets = open_secret_store(&paths_home).await;
        let (auth_hub, auth_rx) = crate::mcp::auth::AuthHub::new(secrets.as_ref().ok().cloned());
        let service = ConnectorService {
            inner: Arc::new(Inner {
                audit: crate::audit::AuditLog::open(&paths.home),
                telemetry: crate::telemetry::Telemetry::from_env(),
                paths,
                writer: writer::SettingsWriter::start(settings.clone()),
                settings,
                options,
                registry: Mutex::new(registry),
                events,
                server_logs,
                resource_updates,
                upstream: Default::default(),
                server_events: server_tx,
                generation: AtomicU64::new(1),
                engine: OnceCell::new(),
                supervision: Supervision::from_snapshot(&snapshot),
                secrets,
                watch: Mutex::new(None),
                sign_ins: signin::SignIns::new(auth_hub),
            }),
        };
        service.spawn_event_loop(server_rx);
        service.spawn_auth_loop(auth_rx);
        service.sync_at_start(&snapshot);
        let watch = service.watch_settings();
        if let Ok(mut slot) = service.inner.watch.lock() {
            *slot = watch;
        }
        Ok(service)
    }

    /// The paths this service uses.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// Subscribes to status and tool-list events.
    pub fn subscribe(&self) -> broadcast::Receiver<ConnectorEvent> {
        self.inner.events.subscribe()
    }

    /// Sends servers' requests of their client (sampling, elicitation,
    /// roots) to `upstream` from now on; the first one set stays.
    pub fn set_upstream(&self, upstream: Arc<dyn crate::mcp::upstream::Upstream>) {
        let _ = self.inner.upstream.set(upstream);
    }

    /// Resources the servers say changed: (connector, URI).
    pub fn subscribe_resource_updates(&self) -> broadcast::Receiver<(String, String)> {
        self.inner.resource_updates.subscribe()
    }

    /// Subscribes to the log messages servers send.
    pub fn subscribe_server_logs(&self) -> broadcast::Receiver<(String, crate::mcp::LogMessage)> {
        self.inner.server_logs.subscribe()
    }

    /// Every connector, built-in first in catalog order, then custom ones.
    pub fn list(&self) -> Vec<ConnectorInfo> {
        let registry = self.registry();
        let mut infos: Vec<ConnectorInfo> = registry.values().map(Entry::info).collect();
        for info in &mut infos {
            info.auth = self.inner.sign_ins.hub.status(&info.name);
        }
        let order = |name: &str| registry.get(name).map(|e| !e.builtin).unwrap_or(true);
        infos.sort_by_key(|i| order(&i.name));
        // Keep built-ins in catalog order rather than alphabetical.
        if let Ok(catalog) = Catalog::builtin() {
            let rank = |name: &str| {
                catalog
                    .iter()
                    .position(|d| d.name == name)
                    .unwrap_or(usize::MAX)
            };
            infos.sort_by(|a, b| rank(&a.name).cmp(&rank(&b.name)).then(a.name.cmp(&b.name)));
        }
        infos
    }

    /// One connector.
    pub fn info(&self, name: &str) -> Result<ConnectorInfo> {
        let mut info = self.with_entry(name, |entry| entry.info())?;
        info.auth = self.inner.sign_ins.hub.status(name);
        Ok(info)
    }

    /// The tools of a connected connector.
    pub fn tools(&self, name: &str) -> Result<Vec<Tool>> {
        self.with_entry(name, |entry| match entry.state.running() {
            Some(_) => Ok(entry.state.tools().to_vec()),
            None => Err(Error::NotConnected {
                name: name.to_string(),
            }),
        })?
    }

    /// The tools every connected connector offers to the gateway (disabled
    /// ones left out), connectors in name order.
    pub fn gateway_tools(&self) -> Vec<(String, Tool)> {
        self.registry()
            .iter()
            .flat_map(|(name, e)| {
                e.state
                    .tools()
                    .iter()
                    .filter(|t| !e.disabled_tools.contains(t.name.as_ref()))
                    .map(move |t| (name.clone(), t.clone()))
            })
            .collect()
    }

    /// The `execution` (`taskSupport`) of the connected servers' tools, by
    /// (connector, tool), where their servers gave one (rmcp keeps none;
    /// `mcp/client_tasks.rs` notes them).
    pub fn gateway_tool_executions(
        &self,
    ) -> std::collections::HashMap<(String, String), serde_json::Value> {
        self.registry()
            .iter()
            .filter_map(|(name, e)| e.state.server().map(|s| (name, s.executions())))
            .flat_map(|(name, executions)| {
                executions
                    .into_iter()
                    .map(move |(tool, execution)| ((name.clone(), tool), execution))
            })
            .collect()
    }

    /// The first tool offered through the gateway (in the order of
    /// [`Self::gateway_tools`]) for which `matches(connector, tool)` holds:
    /// its connector and raw name. Finds a call's target without copying
    /// the tool list.
    pub fn find_gateway_tool(
        &self,
        matches: impl Fn(&str, &str) -> bool,
    ) -> Option<(String, String)> {
        self.registry().iter().find_map(|(name, e)| {
            e.state
                .tools()
                .iter()
                .filter(|t| !e.disabled_tools.contains(t.name.as_ref()))
                .find(|t| matches(name, &t.name))
                .map(|t| (name.clone(), t.name.to_string()))
        })
    }

    /// Enables or disables one tool of a connector, persisted under
    /// `codebuddy.connectors.disabledTools`. Returns the disabled set.
    pub async fn set_tool_enabled(
        &self,
        name: &str,
        tool: &str,
        enabled: bool,
    ) -> Result<Vec<String>> {
        let tool = [tool.to_string()];
        let (disable, enable) = if enabled {
            (&[][..], &tool[..])
        } else {
            (&tool[..], &[][..])
        };
        self.set_tools_enabled(name, disable, enable).await
    }

    /// Disables and enables tools in one change. While the connector's
    /// tools are known (it is connected), a name it does not offer is
    /// refused with the closest ones it does, and nothing is stored: a
    /// typo must not leave the dangerous tool enabled. Enabling a name
    /// that is disabled is always allowed (it may be gone from the server).
    pub async fn set_tools_enabled(
        &self,
        name: &str,
        disable: &[String],
        enable: &[String],
    ) -> Result<Vec<String>> {
        let mut disabled = self.with_entry(name, |e| {
            if e.state.running().is_some() {
                let offered = |t: &String| e.state.tools().iter().any(|known| known.name == *t);
                let unknown = disable.iter().find(|t| !offered(t)).or_else(|| {
                    enable
                        .iter()
                        .find(|t| !offered(t) && !e.disabled_tools.contains(*t))
                });
                if let Some(tool) = unknown {
                    return Err(e.unknown_tool(name, tool));
                }
            }
            Ok(e.disabled_tools.clone())
        })??;
        for tool in disable {
            disabled.insert(tool.clone());
        }
        for tool in enable {
            disabled.remove(tool);
        }
        let list: Vec<String> = disabled.iter().cloned().collect();
        let key = name.to_string();
        let value = serde_json::Value::from(list.clone());
        let empty = list.is_empty();
        self.edit_settings(move |ed| {
            if empty {
                ed.remove(&[DISABLED_TOOLS_KEY, &key]);
            } else {
                ed.set(&[DISABLED_TOOLS_KEY, &key], value);
            }
        })
        .await?;
        self.with_entry(name, |e| e.disabled_tools = disabled)?;
        let _ = self.inner.events.send(ConnectorEvent::ToolsChanged {
            connector: name.to_string(),
            count: self.tools(name).map(|t| t.len()).unwrap_or(0),
            at: Utc::now(),
        });
        Ok(list)
    }

    /// The MCP sessions of every connected server (skills have none), for
    /// what the gateway aggregates besides tools: resources and prompts.
    pub fn mcp_peers(&self) -> Vec<(String, rmcp::service::Peer<rmcp::RoleClient>)> {
        self.registry()
            .iter()
            .filter_map(|(name, e)| e.state.server().map(|s| (name.clone(), s.peer().clone())))
            .collect()
    }

    /// The tools of a connector that are disabled.
    pub fn disabled_tools(&self, name: &str) -> Result<Vec<String>> {
        self.with_entry(name, |e| e.disabled_tools.iter().cloned().collect())
    }

    /// Adds a custom connector and saves its definition. `secrets` are the
    /// values of its secret fields (e.g. an `Authorization` header), kept
    /// out of settings.
    pub async fn add(
        &self,
        name: &str,
        custom: CustomConnector,
        secrets: FieldValues,
    ) -> Result<ConnectorInfo> {
        // A definition the user wrote is bad input, not a broken catalog.
        let invalid = |e: crate::catalog::CatalogError| Error::InvalidInput(e.to_string());
        validate_name(name).map_err(invalid)?;
        let definition = custom.to_definition(name);
        definition.validate().map_err(invalid)?;
        // Reserve the name first, so neither a concurrent add nor the
        // settings watch (which sees the write below) can take it.
        let _adding = {
            let mut registry = self.registry();
            if registry.contains_key(name) {
                return Err(Error::AlreadyExists {
                    name: name.to_string(),
                });
            }
            let entry = Entry::new(definition, false);
            // Held until the definition is on disk: the watch leaves busy
            // connectors alone.
            let guard = entry.ops.clone().try_lock_owned().ok();
            registry.insert(name.to_string(), entry);
            guard
        };
        let value = serde_json::to_value(&custom)
            .map_err(|e| Error::Internal(format!("cannot encode connector: {e}")));
        let key = name.to_string();
        let written = match value {
            Ok(value) => {
                self.edit_settings(move |ed| ed.set(&[CUSTOM_KEY, &key], value))
                    .await
            }
            Err(err) => Err(err),
        };
        if let Err(err) = written {
            self.registry().remove(name);
            return Err(err);
        }
        if secrets.is_empty() {
            self.info(name)
        } else {
            // Secret values (a header, an imported token) go straight to
            // the secret store, so they survive restarts and never touch
            // settings.
            self.set_config(name, secrets).await
        }
    }

    /// Removes a custom connector: disconnects it and deletes its
    /// definition, status and server config from settings.
    pub async fn remove(&self, name: &str) -> Result<()> {
        let builtin = self.with_entry(name, |entry| entry.builtin)?;
        if builtin {
            return Err(Error::BuiltinNotRemovable {
                name: name.to_string(),
            });
        }
        self.disconnect(name).await?;
        // Its sign-in goes with it: revoked where the server can, deleted here.
        self.inner.sign_ins.hub.forget(name).await;
        let key = name.to_string();
        self.edit_settings(move |ed| {
            ed.remove(&[CUSTOM_KEY, &key]);
            ed.remove(&[STATES_KEY, &key]);
            ed.remove(&[SERVERS_KEY, &key]);
        })
        .await?;
        self.registry().remove(name);
        Ok(())
    }

    fn registry(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic while holding the lock leaves the map itself intact.
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn with_entry<T>(&self, name: &str, f: impl FnOnce(&mut Entry) -> T) -> Result<T> {
        let mut registry = self.registry();
        match registry.get_mut(name) {
            Some(entry) => Ok(f(entry)),
            None => Err(Error::UnknownConnector {
                name: name.to_string(),
                suggestion: crate::suggest::did_you_mean(name, registry.keys().map(String::as_str)),
            }),
        }
    }

    /// Runs a settings edit off the async threads (it takes a file lock),
    /// batched with any edits made meanwhile; returns once it is on disk.
    async fn edit_settings<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SettingsEditor) -> T + Send + 'static,
    ) -> Result<T> {
        self.inner.writer.edit(f).await
    }
}

/// Opens this data dir's secret store off the async threads (it may talk
/// to D-Bus or read files); a failure is kept to be reported when a
/// secret is needed, rather than stopping the service.
async fn open_secret_store(
    home: &std::path::Path,
) -> std::result::Result<Arc<dyn crate::secrets::SecretStore>, String> {
    let home = home.to_path_buf();
    match tokio::task::spawn_blocking(move || crate::secrets::open_default(&home)).await {
        Ok(Ok(store)) => Ok(Arc::from(store)),
        Ok(Err(err)) => Err(err.to_string()),
        Err(err) => Err(format!("secret store task failed: {err}")),
    }
}

async fn load_blocking(store: SettingsStore) -> Result<SettingsSnapshot> {
    tokio::task::spawn_blocking(move || store.load())
        .await
        .map_err(|e| Error::Internal(format!("settings task failed: {e}")))?
        .map_err(Error::from)
}

/// A custom connector as the settings file holds it: usable, or why not
/// (naming the file and line), to be shown as `error` rather than dropped.
type CustomEntry = std::result::Result<CustomConnector, String>;

/// The custom connectors saved in settings. An entry that fails the checks
/// `add` runs is kept as its reason; each reason is logged once, not on
/// every read of a file that stays broken.
fn custom_connectors(
    snapshot: &SettingsSnapshot,
    store: &SettingsStore,
) -> Vec<(String, CustomEntry)> {
    let Some(serde_json::Value::Object(map)) = snapshot.get(&[CUSTOM_KEY]) else {
        log_definition_problems(&BTreeMap::new());
        return Vec::new();
    };
    let mut problems = BTreeMap::new();
    let entries = map
        .iter()
        .map(|(name, value)| {
            // Checked like `add` checks it: a hand-edited entry must not
            // smuggle, say, `--privileged` in as an image.
            let checked = serde_json::from_value::<CustomConnector>(value.clone())
                .map_err(|e| e.to_string())
                .and_then(|custom| {
                    let valid = custom.to_definition(name).validate();
                    valid.map(|()| custom).map_err(|e| e.to_string())
                });
            let checked = checked.map_err(|problem| {
                let reason = invalid_reason(store, name, &problem);
                problems.insert(name.clone(), reason.clone());
                reason
            });
            (name.clone(), checked)
        })
        .collect();
    log_definition_problems(&problems);
    entries
}

/// What an invalid hand-written definition shows as: where it is, what is
/// wrong, and the two ways out.
fn invalid_reason(store: &SettingsStore, name: &str, problem: &str) -> String {
    let place = match store.line_of(&[CUSTOM_KEY, name]) {
        Some(line) => format!("{}, line {line}", store.path().display()),
        None => store.path().display().to_string(),
    };
    format!(
        "the definition of `{name}` in {place} is invalid: {problem}; fix it there, \
         or remove it with `switchboard remove {name}`"
    )
}

/// Logs each definition problem once per change: a file that stays broken
/// is read again on every change of the file (our own status writes too).
fn log_definition_problems(problems: &BTreeMap<String, String>) {
    static LOGGED: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let mut logged = LOGGED.lock().unwrap_or_else(|p| p.into_inner());
    for (name, reason) in problems {
        if logged.get(name) != Some(reason) {
            tracing::warn!(connector = %name, "{reason}");
        }
    }
    *logged = problems.clone();
}
