//! Keyring items in the Linux kernel's keyutils, kept in the user's
//! persistent keyring (persistent-keyring(7)).
//!
//! Written against `linux-keyutils` directly rather than keyring's
//! keyutils store, which caches each item in the caller's *session*
//! keyring: a process in another session (the CLI in a new SSH login, the
//! service started elsewhere) then replaces the item only in the
//! persistent keyring, and the first process keeps finding its stale copy
//! first. Here every item lives in the persistent keyring alone, so an
//! update (`add_key` on an existing description updates that key in place)
//! is seen by every process of the user at once.
//!
//! Every operation first links the persistent keyring into the calling
//! thread's session keyring (`KEYCTL_GET_PERSISTENT`). That makes its items
//! *possessed*, which is what grants read access (keys are created
//! possessor-only), and it restarts the kernel's expiry timer for the
//! keyring. The keyring lives in kernel memory: it is gone after a reboot,
//! or after `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds
//! (3 days by default) without any use.

use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};
use zeroize::Zeroizing;

use super::items::Items;
use super::Secret;

/// Items named `<namespace>:<connector>/<field>` in the persistent keyring.
#[derive(Debug)]
pub(crate) struct KeyutilsItems {
    /// `switchboard:<data dir>`, so two homes never share an item.
    namespace: String,
}

impl KeyutilsItems {
    /// Checks that the kernel keyring answers, so a machine without it is
    /// reported when the store is opened rather than at the first secret.
    pub(crate) fn new(namespace: String) -> Result<KeyutilsItems, String> {
        persistent_keyring()?;
        Ok(KeyutilsItems { namespace })
    }

    fn description(&self, item: &str) -> String {
        format!("{}:{item}", self.namespace)
    }
}

/// The user's persistent keyring, linked into this thread's session keyring.
fn persistent_keyring() -> Result<KeyRing, String> {
    KeyRing::get_persistent(KeyRingIdentifier::Session)
        .map_err(|err| format!("the kernel's persistent keyring is not available ({err})"))
}

/// Whether a search or read failure means "no such item": never set,
/// removed (invalidated), or expired.
fn is_absent(err: &KeyError) -> bool {
    matches!(
        err,
        KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked
    )
}

impl Items for KeyutilsItems {
    fn get(&self, item: &str) -> Result<Option<Secret>, String> {
        let keyring = persistent_keyring()?;
        let key = match keyring.search(&self.description(item)) {
            Ok(key) => key,
            Err(err) if is_absent(&err) => return Ok(None),
            Err(err) => return Err(format!("search failed ({err})")),
        };
        let mut bytes = match key.read_to_vec() {
            Ok(bytes) => Zeroizing::new(bytes),
            // Removed by another process between the search and the read.
            Err(err) if is_absent(&err) => return Ok(None),
            Err(err) => return Err(format!("read failed ({err})")),
        };
        // Moves the buffer (no copy); on failure the bytes are wrapped again
        // so they are still wiped.
        match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Ok(Some(Secret::from_zeroizing(Zeroizing::new(text)))),
            Err(err) => {
                drop(Zeroizing::new(err.into_bytes()));
                Err("the stored value is not UTF-8 text".to_string())
            }
        }
    }

    fn set(&self, item: &str, value: &Secret) -> Result<(), String> {
        persistent_keyring()?
            .add_key(&self.description(item), value.expose().as_bytes())
            .map(|_| ())
            .map_err(|err| format!("add_key failed ({err})"))
    }

    fn delete(&self, item: &str) -> Result<bool, String> {
        let keyring = persistent_keyring()?;
        match keyring.search(&self.description(item)) {
            // Invalidation takes the key out of every keyring that links it,
            // and out of every search, at once.
            Ok(key) => match key.invalidate() {
                Ok(()) => Ok(true),
                Err(err) if is_absent(&err) => Ok(false),
                Err(err) => Err(format!("invalidate failed ({err})")),
            },
            Err(err) if is_absent(&err) => Ok(false),
            Err(err) => Err(format!("search failed ({err})")),
        }
    }

    fn exists(&self, item: &str) -> Result<bool, String> {
        match persistent_keyring()?.search(&self.description(item)) {
            Ok(_) => Ok(true),
            Err(err) if is_absent(&err) => Ok(false),
            Err(err) => Err(format!("search failed ({err})")),
        }
    }
}
