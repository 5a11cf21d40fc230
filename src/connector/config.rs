//! A connector's configuration: the values of its fields and its chosen
//! backend. Non-secret values live in settings
//! (`codebuddy.connectors.config`); secret ones only in the secret store,
//! which the settings name by reference. Nothing here starts or stops a
//! server.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ConnectorService;
use crate::catalog::{ConnectorDefinition, ConnectorType};
use crate::error::{Error, Result};
use crate::mcp::FieldValues;
use crate::secrets::{Secret, SecretStore};

/// Non-secret field values per connector.
pub const CONFIG_KEY: &str = "codebuddy.connectors.config";
/// The chosen backend per connector (`mcp` or `skill`), when not the default.
pub const BACKEND_KEY: &str = "codebuddy.connectors.backend";

/// One field as faces show it: whether it is set, and its value only when
/// it is not secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldStatus {
    pub name: String,
    pub description: String,
    pub required: bool,
    pub secret: bool,
    /// Whether a value is stored (or given for this session).
    pub set: bool,
    /// The stored value, for non-secret fields only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The default used when no value is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// One stored secret, by name: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecret {
    pub connector: String,
    pub field: String,
}

impl ConnectorService {
    /// The fields of a connector's current backend and which are set.
    pub async fn config(&self, name: &str) -> Result<Vec<FieldStatus>> {
        let (def, session) = self.with_entry(name, |e| (e.active(), e.session_values.clone()))?;
        let stored = self.stored_values(name, &def).await?;
        Ok(def
            .fields
            .iter()
            .map(|f| FieldStatus {
                name: f.name.clone(),
                description: f.description.clone(),
                required: f.required,
                secret: f.secret,
                set: stored.contains_key(&f.name) || session.contains_key(&f.name),
                value: if f.secret {
                    None
                } else {
                    stored.get(&f.name).cloned()
                },
                default: f.default.clone(),
            })
            .collect())
    }

    /// Stores field values: secret ones in the secret store, the others in
    /// settings. Unknown fields are refused, naming the known ones, and so
    /// is a value that does not fit its field's kind (a relative path
    /// among them: here there is no command directory to resolve it
    /// against); nothing is stored then.
    pub async fn set_config(
        &self,
        name: &str,
        values: FieldValues,
    ) -> Result<super::ConnectorInfo> {
        let def = self.with_entry(name, |e| e.active())?;
        let values = normalize_values(name, &def, values, None)?;
        // The newest value wins: one given earlier for the session (from a
        // `connect`'s environment) no longer shadows the stored one.
        self.with_entry(name, |e| {
            for field in values.keys() {
                e.session_values.remove(field);
            }
        })?;
        let store = self.secret_store()?;
        let mut plain = Vec::new();
        for (field, value) in values {
            let secret = def.field(&field).is_some_and(|f| f.secret);
            if secret {
                let store = store.clone();
                let connector = name.to_string();
                tokio::task::spawn_blocking(move || {
                    store.set(&connector, &field, Secret::new(value))
                })
                .await
                .map_err(|e| Error::Internal(format!("secret store task failed: {e}")))??;
            } else {
                plain.push((field, value));
            }
        }
        if !plain.is_empty() {
            let key = name.to_string();
            self.edit_settings(move |ed| {
                for (field, value) in plain {
                    ed.set(&[CONFIG_KEY, &key, &field], serde_json::Value::from(value));
                }
            })
            .await?;
        }
        self.apply_changes(name).await
    }

    /// Checks values a command is about to store for `backend` (default:
    /// the current one) without storing anything: each field exists and
    /// its value fits the field's kind, and no secret field is among
    /// `on_command_line` (the fields given as `--set FIELD=VALUE`, which
    /// leave the value in the shell's history and in `ps`). Returns the
    /// values as they would be stored, relative paths joined to `cwd`.
    pub async fn check_config(
        &self,
        name: &str,
        backend: Option<&ConnectorType>,
        values: FieldValues,
        on_command_line: &[String],
        cwd: Option<&std::path::Path>,
    ) -> Result<FieldValues> {
        let (definition, current) =
            self.with_entry(name, |e| (e.definition.clone(), e.backend.clone()))?;
        let backend = backend.unwrap_or(&current);
        let def = definition.for_backend(backend).ok_or_else(|| {
            let offered: Vec<String> = definition.backends().iter().map(backend_name).collect();
            Error::InvalidInput(format!(
                "`{name}` cannot run as {}: it offers {}",
                backend_name(backend),
                offered.join(" and ")
            ))
        })?;
        for field in on_command_line {
            check_field(name, &def, field)?;
            if def.field(field).is_some_and(|f| f.secret) {
                return Err(Error::SecretOnCommandLine {
                    name: name.to_string(),
                    field: field.clone(),
                    from_env: secret_from_env_hint(field),
                });
            }
        }
        normalize_values(name, &def, values, cwd)
    }

    /// The container engine this service uses (found on first need, from
    /// the service's own environment), for `doctor`.
    pub async fn container_engine(&self) -> Option<String> {
        self.engine()
            .await
            .map(|engine| engine.program.display().to_string())
    }

    /// Forgets one stored value (secret or not). Returns whether one existed.
    pub async fn unset_config(&self, name: &str, field: &str) -> Result<bool> {
        let def = self.with_entry(name, |e| {
            e.session_values.remove(field);
            e.active()
        })?;
        check_field(name, &def, field)?;
        let store = self.secret_store()?;
        let (connector, key) = (name.to_string(), field.to_string());
        let removed_secret = tokio::task::spawn_blocking(move || store.remove(&connector, &key))
            .await
            .map_err(|e| Error::Internal(format!("secret store task failed: {e}")))??;
        let (connector, key) = (name.to_string(), field.to_string());
        let removed_plain = self
            .edit_settings(move |ed| ed.remove(&[CONFIG_KEY, &connector, &key]))
            .await?;
        // What runs follows; a restart that fails (a required value gone)
        // shows in the connector's status, not as a failed removal.
        if let Err(err) = self.apply_changes(name).await {
            tracing::info!(connector = name, "after removing {field}: {err}");
        }
        Ok(removed_secret || removed_plain)
    }

    /// Chooses the backend a connector runs on; a connected one restarts on it.
    pub async fn set_backend(
        &self,
        name: &str,
        backend: ConnectorType,
    ) -> Result<super::ConnectorInfo> {
        let (offered, running) = self.with_entry(name, |e| {
            (e.definition.backends(), e.state.running().is_some())
        })?;
        if !offered.contains(&backend) {
            let names: Vec<String> = offered.iter().map(backend_name).collect();
            return Err(Error::InvalidInput(format!(
                "`{name}` cannot run as {}: it offers {}",
                backend_name(&backend),
                names.join(" and ")
            )));
        }
        let current = self.with_entry(name, |e| e.backend.clone())?;
        if current == backend {
            return self.info(name);
        }
        let key = name.to_string();
        let value = serde_json::Value::from(backend_name(&backend));
        self.edit_settings(move |ed| ed.set(&[BACKEND_KEY, &key], value))
            .await?;
        self.with_entry(name, |e| e.backend = backend)?;
        // A connected connector moves to the new backend at once.
        if running {
            return self.apply_changes(name).await;
        }
        self.info(name)
    }

    /// The stored values of `def`'s fields: secrets from the store, the
    /// rest from settings.
    pub(super) async fn stored_values(
        &self,
        name: &str,
        def: &ConnectorDefinition,
    ) -> Result<FieldValues> {
        let secret_fields: BTreeSet<String> = def
            .fields
            .iter()
            .filter(|f| f.secret)
            .map(|f| f.name.clone())
            .collect();
        let mut values = FieldValues::new();
        if !secret_fields.is_empty() {
            let store = self.secret_store()?;
            let connector = name.to_string();
            let found = tokio::task::spawn_blocking(move || {
                let mut found = FieldValues::new();
                for field in secret_fields {
                    if let Some(secret) = store.get(&connector, &field)? {
                        found.insert(field, secret.expose().to_string());
                    }
                }
                Ok::<_, crate::secrets::SecretError>(found)
            })
            .await
            .map_err(|e| Error::Internal(format!("secret store task failed: {e}")))??;
            values.extend(found);
        }
        // Reading settings costs a parse of the whole file; a connector
        // with no plain fields (most custom commands) has nothing there.
        if def.fields.iter().all(|f| f.secret) {
            return Ok(values);
        }
        let snapshot = super::load_blocking(self.inner.settings.clone()).await?;
        values.extend(plain_values(&snapshot, name, def));
        Ok(values)
    }

    pub(super) fn secret_store(&self) -> Result<Arc<dyn SecretStore>> {
        match &self.inner.secrets {
            Ok(store) => Ok(store.clone()),
            Err(message) => Err(Error::SecretStoreUnavailable {
                message: message.clone(),
            }),
        }
    }

    /// The secrets stored for `name` (or every connector), by name only.
    pub async fn stored_secrets(&self, name: Option<&str>) -> Result<Vec<StoredSecret>> {
        let connectors: Vec<String> = match name {
            Some(name) => {
                self.with_entry(name, |_| ())?;
                vec![name.to_string()]
            }
            None => self.registry().keys().cloned().collect(),
        };
        let store = self.secret_store()?;
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for connector in connectors {
                for field in store.list(&connector)? {
                    found.push(StoredSecret {
                        connector: connector.clone(),
                        field,
                    });
                }
            }
            Ok::<_, crate::secrets::SecretError>(found)
        })
        .await
        .map_err(|e| Error::Internal(format!("secret store task failed: {e}")))?
        .map_err(Error::from)
    }

    /// Which secret store this service uses, for `doctor` and `status`.
    pub fn secret_store_description(&self) -> String {
        match &self.inner.secrets {
            Ok(store) => store.describe(),
            Err(message) => format!("unavailable: {message}"),
        }
    }
}

/// Checks every value against its field (which must exist) and returns
/// them as they are to be stored; the first that does not fit is refused,
/// so nothing is stored.
fn normalize_values(
    name: &str,
    def: &ConnectorDefinition,
    values: FieldValues,
    cwd: Option<&std::path::Path>,
) -> Result<FieldValues> {
    values
        .into_iter()
        .map(|(field, value)| {
            check_field(name, def, &field)?;
            let Some(declared) = def.field(&field) else {
                return Ok((field, value));
            };
            match declared.normalize(&value, cwd) {
                Ok(value) => Ok((field, value)),
                Err(problem) => Err(Error::InvalidInput(format!(
                    "`{field}` of `{name}` was not stored: {problem}"
                ))),
            }
        })
        .collect()
}

/// `--secret-from-env FIELD` when the field is named like a variable, else
/// `--secret-from-env FIELD=VARIABLE`.
fn secret_from_env_hint(field: &str) -> String {
    let env_style = field
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if env_style {
        format!("--secret-from-env {field}")
    } else {
        format!("--secret-from-env {field}=VARIABLE")
    }
}

/// Refuses a field the connector does not have, naming the ones it has.
fn check_field(name: &str, def: &ConnectorDefinition, field: &str) -> Result<()> {
    if def.field(field).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = def.fields.iter().map(|f| f.name.as_str()).collect();
    Err(Error::InvalidInput(format!(
        "`{name}` has no field `{field}`; its fields are: {}",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )))
}

/// `mcp` or `skill`.
pub fn backend_name(backend: &ConnectorType) -> String {
    match backend {
        ConnectorType::Mcp => "mcp".into(),
        ConnectorType::Skill => "skill".into(),
        ConnectorType::Remote => "remote".into(),
    }
}

/// The non-secret field values stored in settings for a connector.
pub(super) fn plain_values(
    snapshot: &crate::settings::SettingsSnapshot,
    name: &str,
    def: &ConnectorDefinition,
) -> FieldValues {
    let mut values = FieldValues::new();
    if let Some(serde_json::Value::Object(map)) = snapshot.get(&[CONFIG_KEY, name]) {
        for field in def.fields.iter().filter(|f| !f.secret) {
            if let Some(value) = map.get(&field.name) {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                values.insert(field.name.clone(), text);
            }
        }
    }
    values
}

/// The fields `connect NAME` may take from the caller's environment, read
/// without the service: a custom connector's from the settings file, a
/// built-in one's on every backend it has (the backend may change in the
/// same command). Unknown names have none; the service reports them.
pub fn field_names(snapshot: &crate::settings::SettingsSnapshot, name: &str) -> Vec<String> {
    let custom = snapshot
        .get(&[super::CUSTOM_KEY, name])
        .and_then(|v| serde_json::from_value::<super::CustomConnector>(v.clone()).ok());
    let definitions: Vec<ConnectorDefinition> = match custom {
        Some(custom) => vec![custom.to_definition(name)],
        None => crate::catalog::Catalog::builtin()
            .ok()
            .and_then(|catalog| catalog.get(name).cloned())
            .map(|def| {
                def.backends()
                    .iter()
                    .filter_map(|backend| def.for_backend(backend))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let names: BTreeSet<String> = definitions
        .into_iter()
        .flat_map(|def| def.fields.into_iter().map(|field| field.name))
        .collect();
    names.into_iter().collect()
}
