//! The secret store: where connector tokens live, so that settings only ever
//! hold references such as `${secret:github/GITHUB_PERSONAL_ACCESS_TOKEN}`.
//!
//! Two implementations sit behind [`SecretStore`]:
//!
//! - [`FileStore`]: an encrypted file (`secrets.json.enc`) in the data
//!   directory, with its key in a separate file (`secret.key`), both 0600.
//!   A key kept beside the file protects against *casual* disclosure — a
//!   backup, a `grep` over the home directory, the settings file committed by
//!   accident — not against someone who can already act as the user: they
//!   can read the key as easily as we do.
//! - [`KeyringStore`]: the OS keyring. On Linux that is the Secret Service
//!   (GNOME Keyring, KWallet) over the D-Bus session bus, which keeps secrets
//!   encrypted at rest under the user's login; or, on explicit request, the
//!   kernel's keyutils keyring, which never touches disk but is forgotten at
//!   reboot (and after days unused).
//!
//! [`open_default`] picks one: whatever already holds this data directory's
//! secrets wins (so moving between a desktop session and SSH never hides
//! them); otherwise the Secret Service when a session bus answers, else the
//! encrypted file. `SWITCHBOARD_SECRET_STORE=file|keyring|keyutils`
//! overrides. [`SecretStore::describe`] tells `doctor`/`status` which one is
//! in use. The Secret Service comes first because it is the stronger
//! protection (encrypted under the login password, outside our data dir);
//! keyutils is never picked on its own, because a store that empties at
//! every reboot would look to the user like lost tokens.
//!
//! Secret values never appear in errors, logs or `Debug` output: [`Secret`]
//! prints as `Secret(***)`, and no error carries a value or the text of a
//! parser error about decrypted contents.

mod crypto;
mod file;
mod fsutil;
mod items;
mod keyring;
#[cfg(target_os = "linux")]
mod keyutils;

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

pub use file::{FileStore, KEY_FILE, LOCK_FILE, SECRETS_FILE};
pub use keyring::{KeyringBackend, KeyringStore, INDEX_FILE};

/// Overrides the choice of store: `file`, `keyring` (Secret Service) or
/// `keyutils` (kernel keyring, cleared at reboot).
pub const STORE_ENV: &str = "SWITCHBOARD_SECRET_STORE";

/// Longest connector name accepted, matching the catalog's limit.
const MAX_CONNECTOR_LEN: usize = 64;
/// Longest field name accepted; environment variable names are far shorter.
const MAX_FIELD_LEN: usize = 128;

/// Where secrets are kept.
///
/// Implementations block (file I/O, D-Bus round trips): call them from
/// `tokio::task::spawn_blocking` inside the service.
pub trait SecretStore: Send + Sync {
    /// Short name for doctor/status: "encrypted-file (/path)", "keyring (secret-service)", ...
    fn describe(&self) -> String;
    /// The value stored for `connector`/`field`, or `None` when none is.
    fn get(&self, connector: &str, field: &str) -> Result<Option<Secret>, SecretError>;
    /// Stores `value`, replacing any previous one. Empty values are refused.
    fn set(&self, connector: &str, field: &str, value: Secret) -> Result<(), SecretError>;
    /// Returns whether it existed.
    fn remove(&self, connector: &str, field: &str) -> Result<bool, SecretError>;
    /// Field names set for a connector (never values), sorted.
    fn list(&self, connector: &str) -> Result<Vec<String>, SecretError>;
}

/// A secret value. It never prints (`Debug` shows `Secret(***)`, there is no
/// `Display`) and its memory is zeroed on drop.
///
/// Build it from the final string: a `String` that grew by reallocation may
/// have left copies behind that nobody can zero.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value, taking ownership so no unzeroed copy stays behind.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value itself, for the one place that must hand it on (a child's
    /// environment, an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn from_zeroizing(value: Zeroizing<String>) -> Secret {
        Secret(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which of the two names in a reference was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A connector name: `[a-z0-9_-]`, 1 to 64 characters.
    Connector,
    /// A field name: `[A-Za-z0-9_]`, 1 to 128 characters.
    Field,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Connector => "connector name",
            NameKind::Field => "field name",
        })
    }
}

impl NameKind {
    fn rule(self) -> &'static str {
        match self {
            NameKind::Connector => "use 1 to 64 lowercase letters, digits, `-` or `_`",
            NameKind::Field => "use 1 to 128 letters, digits or `_`, like an environment variable",
        }
    }
}

/// Everything a secret store can fail with. No variant carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A connector or field name that could escape the reference syntax.
    #[error("invalid {kind} `{name}`: {}", kind.rule())]
    BadName { kind: NameKind, name: String },

    /// An empty value: no token is empty, and keyrings refuse to store one.
    #[error("refusing to store an empty value for {connector}/{field}: remove the secret instead")]
    EmptyValue { connector: String, field: String },

    /// The key file does not match the secrets file.
    #[error(
        "{path} cannot be decrypted with the key in {key_path} (the key was replaced, or the file \
         comes from another machine). Nothing was changed and no other secret was touched: restore \
         the original {key_path} from a backup, or remove {path} and set the secrets again"
    )]
    WrongKey { path: PathBuf, key_path: PathBuf },

    /// The secrets file exists but its key does not.
    #[error(
        "{path} exists but its key {key_path} is missing, so the secrets cannot be read. Nothing \
         was changed: restore {key_path} from a backup, or remove {path} and set the secrets again"
    )]
    KeyMissing { path: PathBuf, key_path: PathBuf },

    /// The key file is not a key (not exactly 32 bytes).
    #[error(
        "{key_path} is not a valid secret key ({reason}). Nothing was changed: restore it from a \
         backup; if no secrets were stored with it, remove it and a new key is made on the next set"
    )]
    BadKey {
        key_path: PathBuf,
        reason: &'static str,
    },

    /// The secrets file (or the keyring's name index) is damaged.
    #[error(
        "{path} is damaged ({reason}). It was left as it is and no other secret was touched: \
         restore it from a backup, or remove it and set the secrets again"
    )]
    Corrupt { path: PathBuf, reason: &'static str },

    /// A secrets or key file that other users could read or change.
    #[error(
        "{path} has mode {mode:03o}, so other users can read or change it; refusing to use it. \
         Run `chmod 600 {path}` (and consider whether the secrets in it need rotating)"
    )]
    Permissions { path: PathBuf, mode: u32 },

    /// A file operation failed.
    #[error("could not {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The OS keyring refused or could not be reached.
    #[error("the OS keyring failed: {message}")]
    Keyring { message: String },

    /// `SWITCHBOARD_SECRET_STORE` names no store.
    #[error(
        "{STORE_ENV}=`{value}` names no secret store: use `file`, `keyring` or `keyutils`, or \
         unset it to choose automatically"
    )]
    UnknownStore { value: String },
}

/// Checks what a store is asked to keep: both names, and a value that is
/// not empty (refused by every store alike, so they accept the same values).
pub fn check_entry(connector: &str, field: &str, value: &Secret) -> Result<(), SecretError> {
    check_names(connector, field)?;
    if value.expose().is_empty() {
        return Err(SecretError::EmptyValue {
            connector: connector.to_string(),
            field: field.to_string(),
        });
    }
    Ok(())
}

/// Checks both names of a secret, so they can be stored and referenced.
pub fn check_names(connector: &str, field: &str) -> Result<(), SecretError> {
    if !valid_connector(connector) {
        return Err(SecretError::BadName {
            kind: NameKind::Connector,
            name: connector.to_string(),
        });
    }
    if !valid_field(field) {
        return Err(SecretError::BadName {
            kind: NameKind::Field,
            name: field.to_string(),
        });
    }
    Ok(())
}

/// Checks a connector name alone (for [`SecretStore::list`]).
fn check_connector(connector: &str) -> Result<(), SecretError> {
    if valid_connector(connector) {
        Ok(())
    } else {
        Err(SecretError::BadName {
            kind: NameKind::Connector,
            name: connector.to_string(),
        })
    }
}

fn valid_connector(name: &str) -> bool {
    (1..=MAX_CONNECTOR_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn valid_field(name: &str) -> bool {
    (1..=MAX_FIELD_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Opening of a reference; with [`REFERENCE_SUFFIX`] it brackets `connector/field`.
const REFERENCE_PREFIX: &str = "${secret:";
const REFERENCE_SUFFIX: &str = "}";

/// The reference written into settings in place of a value:
/// `${secret:github/GITHUB_PERSONAL_ACCESS_TOKEN}`.
///
/// The names are not checked here; [`SecretStore::set`] (or [`check_names`])
/// refuses names that would make the reference unparseable.
pub fn reference(connector: &str, field: &str) -> String {
    format!("{REFERENCE_PREFIX}{connector}/{field}{REFERENCE_SUFFIX}")
}

/// Parses a reference back into `(connector, field)`. The whole text must be
/// one reference with valid names; anything else is `None` (a plain value).
pub fn parse_reference(text: &str) -> Option<(String, String)> {
    let inner = text
        .strip_prefix(REFERENCE_PREFIX)?
        .strip_suffix(REFERENCE_SUFFIX)?;
    let (connector, field) = inner.split_once('/')?;
    check_names(connector, field).ok()?;
    Some((connector.to_string(), field.to_string()))
}

/// Picks the store for this machine: env `SWITCHBOARD_SECRET_STORE=file|keyring|keyutils`
/// overrides. Otherwise the store that already holds this data dir's secrets
/// (an existing `secrets.json.enc`, or the keyring recorded in
/// `keyring-index.json`); otherwise the Secret Service when a D-Bus session
/// bus answers; otherwise the encrypted file. `data_dir` is the service's
/// data dir (0700); it is created on the first write if missing.
pub fn open_default(data_dir: &Path) -> Result<Box<dyn SecretStore>, SecretError> {
    let requested = std::env::var(STORE_ENV).ok().filter(|v| !v.is_empty());
    match requested.as_deref() {
        Some("file") => Ok(Box::new(FileStore::open(data_dir)?)),
        Some("keyring") => Ok(Box::new(KeyringStore::open(
            data_dir,
            KeyringBackend::SecretService,
        )?)),
        Some("keyutils") => Ok(Box::new(KeyringStore::open(
            data_dir,
            KeyringBackend::Keyutils,
        )?)),
        Some(other) => Err(SecretError::UnknownStore {
            value: other.to_string(),
        }),
        None => choose(data_dir),
    }
}

/// The automatic choice; see [`open_default`].
fn choose(data_dir: &Path) -> Result<Box<dyn SecretStore>, SecretError> {
    // Stick to whatever holds secrets already: a default that changed with the
    // session (desktop vs SSH) would make stored tokens silently vanish.
    if FileStore::exists_in(data_dir) {
        return Ok(Box::new(FileStore::open(data_dir)?));
    }
    if let Some(backend) = keyring::recorded_backend(data_dir)? {
        return Ok(Box::new(KeyringStore::open(data_dir, backend)?));
    }
    if keyring::session_bus_configured() {
        match KeyringStore::open(data_dir, KeyringBackend::SecretService) {
            Ok(store) => return Ok(Box::new(store)),
            Err(err) => {
                tracing::info!(
                    "no Secret Service on the session bus ({err}); using the encrypted file"
                )
            }
        }
    }
    Ok(Box::new(FileStore::open(data_dir)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_charsets() {
        assert!(valid_connector("github"));
        assert!(valid_connector("google-drive_2"));
        for bad in ["", "GitHub", "a/b", "a}b", "a b", "é", &"x".repeat(65)] {
            assert!(!valid_connector(bad), "{bad:?} accepted");
        }
        assert!(valid_field("GITHUB_PERSONAL_ACCESS_TOKEN"));
        assert!(valid_field("apiKey2"));
        for bad in ["", "A-B", "A/B", "A}", "${X}", "A B", &"X".repeat(129)] {
            assert!(!valid_field(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn reference_round_trips_and_rejects_near_misses() {
        let text = reference("github", "GITHUB_PERSONAL_ACCESS_TOKEN");
        assert_eq!(text, "${secret:github/GITHUB_PERSONAL_ACCESS_TOKEN}");
        assert_eq!(
            parse_reference(&text),
            Some((
                "github".to_string(),
                "GITHUB_PERSONAL_ACCESS_TOKEN".to_string()
            ))
        );
        for text in [
            "ghp_plainvalue",
            "${secret:github}",
            "${secret:github/}",
            "${secret:/TOKEN}",
            "${secret:github/TOKEN} ",
            " ${secret:github/TOKEN}",
            "${secret:github/TO/KEN}",
            "${secret:git}hub/TOKEN}",
            "${secret:GitHub/TOKEN}",
            "${env:github/TOKEN}",
        ] {
            assert_eq!(parse_reference(text), None, "{text:?} parsed");
        }
    }

    #[test]
    fn secret_debug_hides_the_value() {
        let secret = Secret::new("hunter2\nline two");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(Secret(***))");
        assert_eq!(secret.expose(), "hunter2\nline two");
    }
}
