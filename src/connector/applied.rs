//! What a running connector was started with, as a keyed digest of its
//! definition and values (never the values themselves), so a changed
//! configuration can be told from an unchanged one without keeping a
//! secret in memory longer than the start.

use std::hash::{BuildHasher, Hash};
use std::sync::OnceLock;

use crate::catalog::ConnectorDefinition;
use crate::mcp::FieldValues;

/// What a running connector was started with: a digest of its definition
/// and plain values, and one of its secret values, apart so a settings
/// edit (which holds no secrets) can be compared without the secret store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Applied {
    plain: u64,
    secret: u64,
}

/// Keys the digests with a per-process random key, so a digest says
/// nothing about a secret even to someone who reads the memory's
/// neighbours; only equality matters.
fn keys() -> &'static std::collections::hash_map::RandomState {
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    KEYS.get_or_init(std::collections::hash_map::RandomState::new)
}

impl Applied {
    /// The digest of a start with `definition` and the resolved `values`.
    pub(super) fn of(definition: &ConnectorDefinition, values: &FieldValues) -> Applied {
        let (secret, plain) = split(definition, values);
        Applied {
            plain: plain_digest(definition, &plain),
            secret: digest(&secret),
        }
    }

    /// Whether `definition` and the plain ones of the resolved `values`
    /// are what this start ran with; a settings edit holds no secrets, so
    /// only this half can be compared with it.
    pub(super) fn same_plain(
        &self,
        definition: &ConnectorDefinition,
        values: &FieldValues,
    ) -> bool {
        let (_, plain) = split(definition, values);
        plain_digest(definition, &plain) == self.plain
    }
}

/// Splits resolved values into secret and plain ones by their fields.
fn split(definition: &ConnectorDefinition, values: &FieldValues) -> (FieldValues, FieldValues) {
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(field, _)| definition.field(field).is_some_and(|f| f.secret))
}

fn plain_digest(definition: &ConnectorDefinition, plain: &FieldValues) -> u64 {
    // The definition has no Hash; its JSON form is stable (ordered maps).
    let text = serde_json::to_string(definition).unwrap_or_default();
    digest(&(text, plain))
}

fn digest<T: Hash>(value: &T) -> u64 {
    keys().hash_one(value)
}
