//! The seam between the secret store's keyring bookkeeping
//! (`keyring.rs`) and the keyrings it can use (the Secret Service there,
//! the kernel keyring in `keyutils.rs`).

use std::fmt;

use super::Secret;

/// The seam between the store's bookkeeping and one keyring. `item` is
/// `<connector>/<field>`, already validated; errors are a description that
/// never contains a value.
pub(crate) trait Items: Send + Sync + fmt::Debug {
    fn get(&self, item: &str) -> Result<Option<Secret>, String>;
    fn set(&self, item: &str, value: &Secret) -> Result<(), String>;
    /// Returns whether the item existed.
    fn delete(&self, item: &str) -> Result<bool, String>;
    /// Whether the item exists, without reading (or unlocking) its value
    /// where the keyring allows.
    fn exists(&self, item: &str) -> Result<bool, String>;
}
