//! The encrypted-file store: every secret of a data directory in one AEAD
//! file (`secrets.json.enc`), its key in another (`secret.key`), both 0600.
//!
//! Reads take no lock (writers replace the file by rename). A write takes
//! the cross-process lock on `secrets.lock`, reads and decrypts the current
//! file, changes one entry and writes the whole file anew. If the current
//! file cannot be read — wrong key, missing key, damaged bytes — the write
//! is refused and the file left byte for byte as it was: starting a fresh
//! store would silently drop every other secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::crypto::{self, OpenError, KEY_LEN};
use super::fsutil;
use super::{check_connector, check_entry, check_names, Secret, SecretError, SecretStore};

/// The encrypted secrets, in the data directory.
pub const SECRETS_FILE: &str = "secrets.json.enc";
/// The 32 random bytes that encrypt [`SECRETS_FILE`], in the data directory.
pub const KEY_FILE: &str = "secret.key";
/// Held exclusively while a writer reads, changes and replaces the secrets
/// (shared with the keyring store's name index).
pub const LOCK_FILE: &str = "secrets.lock";

/// Version of the decrypted JSON document, independent of the byte format.
const DOCUMENT_VERSION: u32 = 1;

/// connector → field → value, as stored inside the encrypted file.
type Contents = BTreeMap<String, BTreeMap<String, Zeroizing<String>>>;

/// The decrypted document. Values are `Zeroizing` so a dropped copy is wiped.
#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    secrets: Contents,
}

/// Secrets kept in an encrypted file in the data directory.
///
/// Holds only paths; every call reads the file afresh, so several
/// instances and processes see each other's writes.
#[derive(Debug, Clone)]
pub struct FileStore {
    /// The data directory, created 0700 on the first write if missing.
    dir: PathBuf,
    /// `dir/secrets.json.enc`.
    path: PathBuf,
    /// `dir/secret.key`.
    key_path: PathBuf,
    /// `dir/secrets.lock`.
    lock_path: PathBuf,
}

impl FileStore {
    /// Opens the store in `data_dir`. Nothing is created until the first
    /// `set`; existing key and secrets files must be private (0600), so a
    /// bad mode is reported at start-up (in `doctor`) rather than later.
    pub fn open(data_dir: &Path) -> Result<FileStore, SecretError> {
        let store = FileStore {
            dir: data_dir.to_path_buf(),
            path: data_dir.join(SECRETS_FILE),
            key_path: data_dir.join(KEY_FILE),
            lock_path: data_dir.join(LOCK_FILE),
        };
        fsutil::check_private_if_exists(&store.key_path)?;
        fsutil::check_private_if_exists(&store.path)?;
        Ok(store)
    }

    /// Whether `data_dir` holds an encrypted secrets file.
    pub fn exists_in(data_dir: &Path) -> bool {
        data_dir.join(SECRETS_FILE).exists()
    }

    /// The encrypted secrets file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key file.
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// Reads the key; `None` when there is no key file.
    fn read_key(&self) -> Result<Option<crypto::Key>, SecretError> {
        let Some(bytes) = fsutil::read_private(&self.key_path)? else {
            return Ok(None);
        };
        if bytes.len() != KEY_LEN {
            return Err(SecretError::BadKey {
                key_path: self.key_path.clone(),
                reason: "a key is exactly 32 bytes",
            });
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&bytes);
        Ok(Some(key))
    }

    /// Reads and decrypts the whole store; empty when no file exists yet.
    fn load(&self) -> Result<Contents, SecretError> {
        let Some(sealed) = fsutil::read_private(&self.path)? else {
            return Ok(Contents::new());
        };
        let key = self.read_key()?.ok_or_else(|| SecretError::KeyMissing {
            path: self.path.clone(),
            key_path: self.key_path.clone(),
        })?;
        let plain = crypto::open(&key, &sealed).map_err(|err| match err {
            OpenError::WrongKey => SecretError::WrongKey {
                path: self.path.clone(),
                key_path: self.key_path.clone(),
            },
            OpenError::Malformed(reason) => self.corrupt(reason),
            OpenError::Tampered => {
                self.corrupt("its contents fail the integrity check: bytes were changed or cut off")
            }
        })?;
        // The parser's own message could quote decrypted text, so only a fixed
        // reason is reported.
        let document: Document = serde_json::from_slice(&plain)
            .map_err(|_| self.corrupt("the decrypted contents are not a secrets document"))?;
        if document.version != DOCUMENT_VERSION {
            return Err(self.corrupt("the decrypted document has an unknown version"));
        }
        Ok(document.secrets)
    }

    fn corrupt(&self, reason: &'static str) -> SecretError {
        SecretError::Corrupt {
            path: self.path.clone(),
            reason,
        }
    }

    /// The write cycle: lock, load (refusing on any read failure), change,
    /// seal under the existing key (or a new one), replace, unlock.
    fn update<R>(&self, change: impl FnOnce(&mut Contents) -> R) -> Result<R, SecretError> {
        fsutil::ensure_dir(&self.dir)?;
        let _lock = fsutil::lock(&self.lock_path)?;
        let mut contents = self.load()?;
        let result = change(&mut contents);
        let key = match self.read_key()? {
            Some(key) => key,
            // `load` succeeded without a key only because no secrets file
            // exists, so a new key cannot orphan any secret.
            None => self.create_key()?,
        };
        let document = Document {
            version: DOCUMENT_VERSION,
            secrets: contents,
        };
        let plain = Zeroizing::new(serde_json::to_vec(&document).map_err(|_| SecretError::Io {
            op: "encode the secrets for",
            path: self.path.clone(),
            source: std::io::Error::other("JSON encoding failed"),
        })?);
        let sealed = crypto::seal(&key, &plain).map_err(|source| SecretError::Io {
            op: "encrypt the secrets for",
            path: self.path.clone(),
            source,
        })?;
        fsutil::write_private_atomic(&self.path, &sealed)?;
        Ok(result)
    }

    fn create_key(&self) -> Result<crypto::Key, SecretError> {
        let key = crypto::generate_key().map_err(|source| SecretError::Io {
            op: "generate a key for",
            path: self.key_path.clone(),
            source,
        })?;
        // Under the write lock no other writer can race us; `create_new`
        // still guarantees an existing key is never overwritten.
        fsutil::write_new_file(&self.key_path, key.as_slice())?;
        Ok(key)
    }
}

impl SecretStore for FileStore {
    fn describe(&self) -> String {
        format!("encrypted-file ({})", self.path.display())
    }

    fn get(&self, connector: &str, field: &str) -> Result<Option<Secret>, SecretError> {
        check_names(connector, field)?;
        let mut contents = self.load()?;
        Ok(contents
            .get_mut(connector)
            .and_then(|fields| fields.remove(field))
            .map(Secret::from_zeroizing))
    }

    fn set(&self, connector: &str, field: &str, value: Secret) -> Result<(), SecretError> {
        check_entry(connector, field, &value)?;
        self.update(|contents| {
            contents
                .entry(connector.to_string())
                .or_default()
                .insert(field.to_string(), value.0);
        })
    }

    fn remove(&self, connector: &str, field: &str) -> Result<bool, SecretError> {
        check_names(connector, field)?;
        // Nothing to remove leaves the file (and its absence) untouched.
        let present = self
            .load()?
            .get(connector)
            .is_some_and(|fields| fields.contains_key(field));
        if !present {
            return Ok(false);
        }
        self.update(|contents| {
            let Some(fields) = contents.get_mut(connector) else {
                return false;
            };
            let existed = fields.remove(field).is_some();
            if fields.is_empty() {
                contents.remove(connector);
            }
            existed
        })
    }

    fn list(&self, connector: &str) -> Result<Vec<String>, SecretError> {
        check_connector(connector)?;
        Ok(self
            .load()?
            .get(connector)
            .map(|fields| fields.keys().cloned().collect())
            .unwrap_or_default())
    }
}
