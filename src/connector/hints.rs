//! What a failed or waiting start tells the person: how to give the
//! fields a connector waits for, and how to replace a credential its
//! server refused.

use crate::catalog::ConnectorDefinition;
use crate::error::Error;

/// How to give a connector the fields it waits for.
pub(super) fn configure_hint(name: &str, def: &ConnectorDefinition, missing: &[String]) -> String {
    let parts: Vec<String> = missing
        .iter()
        .map(|field| {
            let secret = def.field(field).is_some_and(|f| f.secret);
            if secret {
                format!("`echo \"$VALUE\" | switchboard secret set {name} {field}` (or `--secret-from-env {field}` on connect)")
            } else {
                format!("`switchboard connect {name} --set {field}=VALUE`")
            }
        })
        .collect();
    format!("set {}", parts.join(" and "))
}

/// The command that replaces a connector's secret(s).
pub(super) fn secret_hint(name: &str, def: &ConnectorDefinition) -> String {
    let secrets: Vec<&str> = def
        .fields
        .iter()
        .filter(|f| f.secret)
        .map(|f| f.name.as_str())
        .collect();
    match secrets.as_slice() {
        [] => format!("`switchboard connect {name}` once the server accepts it"),
        [one] => format!("`switchboard secret set {name} {one}` (value on stdin)"),
        many => format!(
            "`switchboard secret set {name} FIELD` (value on stdin) for the right one of {}",
            many.join(", ")
        ),
    }
}

/// A start that failed in a way that means the server refused the
/// credential says so, and how to replace it: an HTTP 401/403, or a
/// server that exits at start while it was given a secret.
pub(super) fn refused_credential(name: &str, def: &ConnectorDefinition, err: Error) -> Error {
    let has_secret = def.fields.iter().any(|f| f.secret);
    match err {
        Error::RemoteServer(crate::mcp::RemoteError::Http { status, hint, .. })
            if has_secret && (status == 401 || status == 403) =>
        {
            Error::CredentialRefused {
                name: name.to_string(),
                message: format!("HTTP {status}: {hint}"),
                hint: secret_hint(name, def),
            }
        }
        Error::ExitedDuringStart { status, stderr } if has_secret => Error::ExitedDuringStart {
            status,
            stderr: format!(
                "{stderr}; if the credential was refused, replace it with {}",
                secret_hint(name, def)
            ),
        },
        other => other,
    }
}
