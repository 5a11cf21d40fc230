//! SQLite's own wall behind the statement guard: an authorizer, which
//! SQLite asks about every action of a statement as it compiles it
//! (and about the `PRAGMA`s that `pragma_*` table functions run).
//!
//! Read-only calls may only read: `SELECT`, reading columns, recursive
//! CTEs, functions other than the dangerous ones, and the `PRAGMA`s that
//! read. Everything else, `ATTACH` above all (which `query_only` does not
//! stop, and which creates the file it names), is denied. `execute` may do
//! anything but `ATTACH`, the dangerous functions and the file-placing
//! `PRAGMA`s, unless `allow_server_files` is on.

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use crate::skills::sql::{function_refused, pragma_places_files, pragma_reads, Engine};

/// The authorizer for `query`, `explain` and the catalogue tools.
pub(super) fn read_only(context: AuthContext<'_>) -> Authorization {
    let allowed = match context.action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => true,
        AuthAction::Function { function_name } => {
            !function_refused(Engine::Sqlite, function_name, false)
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => pragma_reads(pragma_name, pragma_value.is_some(), false),
        _ => false,
    };
    verdict(allowed)
}

/// The authorizer for `execute` on a connector with `allow_writes`.
pub(super) fn writes(
    allow_server_files: bool,
) -> impl FnMut(AuthContext<'_>) -> Authorization + Send + 'static {
    move |context| {
        if allow_server_files {
            return Authorization::Allow;
        }
        let allowed = match context.action {
            AuthAction::Attach { .. } => false,
            AuthAction::Function { function_name } => {
                !function_refused(Engine::Sqlite, function_name, true)
            }
            AuthAction::Pragma { pragma_name, .. } => !pragma_places_files(pragma_name),
            _ => true,
        };
        verdict(allowed)
    }
}

fn verdict(allowed: bool) -> Authorization {
    if allowed {
        Authorization::Allow
    } else {
        Authorization::Deny
    }
}
