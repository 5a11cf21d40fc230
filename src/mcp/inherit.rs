//! What a native server inherits from the service: a minimal environment
//! and a defined working directory, never the whole environment of the
//! shell that happened to start the service.
//!
//! The set follows the MCP SDKs' own stdio clients, which pass only a
//! default environment to a server unless given one: the TypeScript SDK's
//! `getDefaultEnvironment` and the Python SDK's `get_default_environment`
//! both inherit `HOME`, `LOGNAME`, `PATH`, `SHELL`, `TERM` and `USER`, and
//! skip values that start with `()` (exported shell functions). We add the
//! locale (`LANG`, `LC_*`) and `TMPDIR`, which a server needs to print
//! non-ASCII text and to find its temporary directory. Everything else a
//! server gets is named: the connector's fixed `env`, its field values, and
//! the variables a user passes through with `add --env KEY`.

use std::ffi::OsString;
use std::path::PathBuf;

/// Variables a native server inherits from the service, when set.
pub const INHERITED_ENV_VARS: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "TMPDIR",
];
/// Locale variables (`LC_ALL`, `LC_CTYPE`, …) are inherited by this prefix.
const LOCALE_PREFIX: &str = "LC_";

/// Whether a native server inherits the variable `name`.
pub fn is_inherited(name: &str) -> bool {
    INHERITED_ENV_VARS.contains(&name) || name.starts_with(LOCALE_PREFIX)
}

/// The service's values of the inherited variables; shell functions
/// (values starting with `()`) are left out, as the SDKs do.
pub fn inherited_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(name, value)| {
            name.to_str().is_some_and(is_inherited) && !value.as_encoded_bytes().starts_with(b"()")
        })
        .collect()
}

/// Where a native server runs when its connector names no directory: the
/// user's home directory, or `/` when there is none.
pub fn default_cwd() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|home| home.is_absolute() && home.is_dir())
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_minimal_set_is_inherited() {
        for name in [
            "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "USER",
        ] {
            assert!(is_inherited(name), "{name}");
        }
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "SWITCHBOARD_HOME",
            "LD_PRELOAD",
            "NODE_OPTIONS",
            "PYTHONPATH",
            "SSH_AUTH_SOCK",
        ] {
            assert!(!is_inherited(name), "{name}");
        }
    }
}
