//! The OS keyring store: the Secret Service over the D-Bus session bus
//! (GNOME Keyring, KWallet) through `keyring-core`, or the kernel's keyutils
//! keyring (`keyutils.rs`), behind one small [`Items`] seam.
//!
//! Each secret is one keyring item named by the data directory and
//! `<connector>/<field>` (Secret Service: service `switchboard:<data dir>`,
//! user `<connector>/<field>`). Putting the data directory in the name keeps
//! two Switchboard homes on one account (a sandbox, a test) apart, as the
//! file store does by living in the data directory.
//!
//! keyutils cannot enumerate items and the Secret Service can only with an
//! unlock, so the *names* of the stored fields are kept in
//! `keyring-index.json` in the data directory (never values). The index
//! also records which keyring holds this home's secrets, so
//! [`super::open_default`] keeps using it even from a session where it
//! would not be the first choice. Writes take the same `secrets.lock` as
//! the file store, so concurrent `set`s never lose an index entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file::LOCK_FILE;
use super::fsutil;
use super::items::Items;
use super::{check_connector, check_entry, check_names, Secret, SecretError, SecretStore};

/// Names of the fields stored in the keyring for this data directory.
pub const INDEX_FILE: &str = "keyring-index.json";

/// Which OS keyring a [`KeyringStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyringBackend {
    /// The freedesktop Secret Service on the D-Bus session bus: encrypted
    /// at rest under the user's login, persistent.
    SecretService,
    /// The Linux kernel's keyutils (the user's persistent keyring): always
    /// there, but held in kernel memory, lost at reboot and after the
    /// kernel's `persistent_keyring_expiry` (3 days by default) unused.
    Keyutils,
}

/// The name index kept beside the keyring items.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    backend: KeyringBackend,
    connectors: BTreeMap<String, BTreeSet<String>>,
}

/// Secrets kept in the OS keyring.
#[derive(Debug)]
pub struct KeyringStore {
    /// Which keyring `items` talks to.
    backend: KeyringBackend,
    /// The keyring itself (for the Secret Service, a live D-Bus connection).
    items: Box<dyn Items>,
    /// The data directory, created 0700 on the first write if missing.
    dir: PathBuf,
    /// `dir/keyring-index.json`.
    index_path: PathBuf,
    /// `dir/secrets.lock`.
    lock_path: PathBuf,
}

impl KeyringStore {
    /// Connects to `backend` for the secrets of `data_dir`. For the Secret
    /// Service this fails when no session bus or no provider answers.
    pub fn open(data_dir: &Path, backend: KeyringBackend) -> Result<KeyringStore, SecretError> {
        let namespace = format!("switchboard:{}", data_dir.display());
        Ok(KeyringStore {
            backend,
            items: connect(backend, namespace)
                .map_err(|message| SecretError::Keyring { message })?,
            dir: data_dir.to_path_buf(),
            index_path: data_dir.join(INDEX_FILE),
            lock_path: data_dir.join(LOCK_FILE),
        })
    }

    /// Which keyring this store uses.
    pub fn backend(&self) -> KeyringBackend {
        self.backend
    }

    /// Adds or removes `connector/field` in the index, under the write lock.
    fn update_index(&self, connector: &str, field: &str, present: bool) -> Result<(), SecretError> {
        let mut index = read_index(&self.index_path)?.unwrap_or(Index {
            backend: self.backend,
            connectors: BTreeMap::new(),
        });
        // The last keyring written to is the one `open_default` returns to.
        index.backend = self.backend;
        if present {
            index
                .connectors
                .entry(connector.to_string())
                .or_default()
                .insert(field.to_string());
        } else if let Some(fields) = index.connectors.get_mut(connector) {
            fields.remove(field);
            if fields.is_empty() {
                index.connectors.remove(connector);
            }
        }
        let bytes = serde_json::to_vec_pretty(&index).map_err(|_| SecretError::Io {
            op: "encode",
            path: self.index_path.clone(),
            source: std::io::Error::other("JSON encoding failed"),
        })?;
        fsutil::write_private_atomic(&self.index_path, &bytes)
    }
}

impl SecretStore for KeyringStore {
    fn describe(&self) -> String {
        match self.backend {
            KeyringBackend::SecretService => "keyring (secret-service)".to_string(),
            KeyringBackend::Keyutils => "keyring (kernel keyutils; cleared at reboot)".to_string(),
        }
    }

    fn get(&self, connector: &str, field: &str) -> Result<Option<Secret>, SecretError> {
        check_names(connector, field)?;
        self.items
            .get(&item(connector, field))
            .map_err(|detail| keyring_error("read", connector, field, detail))
    }

    fn set(&self, connector: &str, field: &str, value: Secret) -> Result<(), SecretError> {
        check_entry(connector, field, &value)?;
        fsutil::ensure_dir(&self.dir)?;
        let _lock = fsutil::lock(&self.lock_path)?;
        self.items
            .set(&item(connector, field), &value)
            .map_err(|detail| keyring_error("store", connector, field, detail))?;
        self.update_index(connector, field, true)
    }

    fn remove(&self, connector: &str, field: &str) -> Result<bool, SecretError> {
        check_names(connector, field)?;
        fsutil::ensure_dir(&self.dir)?;
        let _lock = fsutil::lock(&self.lock_path)?;
        let existed = self
            .items
            .delete(&item(connector, field))
            .map_err(|detail| keyring_error("remove", connector, field, detail))?;
        self.update_index(connector, field, false)?;
        Ok(existed)
    }

    fn list(&self, connector: &str) -> Result<Vec<String>, SecretError> {
        check_connector(connector)?;
        let Some(index) = read_index(&self.index_path)? else {
            return Ok(Vec::new());
        };
        let mut fields = Vec::new();
        for field in index.connectors.get(connector).into_iter().flatten() {
            // The index can outlive its items (keyutils forgets them at
            // reboot; a user may delete one in a keyring manager), so only
            // fields still present are listed.
            let exists = self
                .items
                .exists(&item(connector, field))
                .map_err(|detail| keyring_error("look up", connector, field, detail))?;
            if exists {
                fields.push(field.clone());
            }
        }
        Ok(fields)
    }
}

fn item(connector: &str, field: &str) -> String {
    format!("{connector}/{field}")
}

fn keyring_error(op: &str, connector: &str, field: &str, detail: String) -> SecretError {
    SecretError::Keyring {
        message: format!("could not {op} {connector}/{field}: {detail}"),
    }
}

/// The keyring recorded in `data_dir`'s index, if it holds any secret.
pub(crate) fn recorded_backend(data_dir: &Path) -> Result<Option<KeyringBackend>, SecretError> {
    Ok(read_index(&data_dir.join(INDEX_FILE))?
        .filter(|index| !index.connectors.is_empty())
        .map(|index| index.backend))
}

fn read_index(path: &Path) -> Result<Option<Index>, SecretError> {
    let Some(bytes) = fsutil::read_optional(path)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| SecretError::Corrupt {
            path: path.to_path_buf(),
            reason: "it is not a keyring index (the keyring items themselves are untouched)",
        })
}

/// Whether a D-Bus session bus is configured for this process: the
/// variable D-Bus clients read, or the systemd user bus socket.
pub(crate) fn session_bus_configured() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .is_some_and(|dir| Path::new(&dir).join("bus").exists())
}

#[cfg(target_os = "linux")]
fn connect(backend: KeyringBackend, namespace: String) -> Result<Box<dyn Items>, String> {
    match backend {
        KeyringBackend::SecretService => Ok(Box::new(SecretServiceItems::connect(namespace)?)),
        KeyringBackend::Keyutils => Ok(Box::new(super::keyutils::KeyutilsItems::new(namespace)?)),
    }
}

#[cfg(not(target_os = "linux"))]
fn connect(_backend: KeyringBackend, _namespace: String) -> Result<Box<dyn Items>, String> {
    Err(
        "this build has no OS keyring support for this platform yet: set \
         SWITCHBOARD_SECRET_STORE=file"
            .to_string(),
    )
}

/// Items in the Secret Service, through `keyring-core` and its zbus store.
#[cfg(target_os = "linux")]
#[derive(Debug)]
struct SecretServiceItems {
    /// Holds the D-Bus connection; entries built from it share it.
    store: std::sync::Arc<keyring_core::CredentialStore>,
    /// The items' `service` attribute: `switchboard:<data dir>`.
    service: String,
}

#[cfg(target_os = "linux")]
impl SecretServiceItems {
    fn connect(service: String) -> Result<SecretServiceItems, String> {
        if !session_bus_configured() {
            return Err(
                "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset), so the Secret \
                        Service cannot be reached: run from a desktop session, or set \
                        SWITCHBOARD_SECRET_STORE=file"
                    .to_string(),
            );
        }
        let store = zbus_secret_service_keyring_store::Store::new().map_err(|err| {
            format!(
                "the Secret Service did not answer on the session bus ({}): start a keyring \
                 daemon such as gnome-keyring, or set SWITCHBOARD_SECRET_STORE=file",
                describe_keyring_error(&err)
            )
        })?;
        Ok(SecretServiceItems { store, service })
    }

    fn entry(&self, item: &str) -> Result<keyring_core::Entry, String> {
        keyring_core::Entry::new_in_store(&self.store, &self.service, item)
            .map_err(|err| describe_keyring_error(&err))
    }
}

#[cfg(target_os = "linux")]
impl Items for SecretServiceItems {
    fn get(&self, item: &str) -> Result<Option<Secret>, String> {
        match self.entry(item)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(err) => Err(describe_keyring_error(&err)),
        }
    }

    fn set(&self, item: &str, value: &Secret) -> Result<(), String> {
        self.entry(item)?
            .set_password(value.expose())
            .map_err(|err| describe_keyring_error(&err))
    }

    fn delete(&self, item: &str) -> Result<bool, String> {
        match self.entry(item)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(err) => Err(describe_keyring_error(&err)),
        }
    }

    fn exists(&self, item: &str) -> Result<bool, String> {
        match self.entry(item)?.get_credential() {
            Ok(_) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(err) => Err(describe_keyring_error(&err)),
        }
    }
}

/// A keyring-core error as text: variants that carry stored bytes are
/// described, never printed.
#[cfg(target_os = "linux")]
fn describe_keyring_error(err: &keyring_core::Error) -> String {
    use keyring_core::Error;
    match err {
        Error::BadEncoding(_) => "the stored value is not UTF-8 text".to_string(),
        Error::BadDataFormat(..) => "the stored value is not in the expected format".to_string(),
        Error::Ambiguous(items) => format!(
            "{} keyring items match it; delete the duplicates in your keyring manager",
            items.len()
        ),
        other => other.to_string(),
    }
}
