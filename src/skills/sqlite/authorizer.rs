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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    /// The authorizer on its own, with no statement guard in front: the
    /// wall must hold by itself.
    #[test]
    fn the_read_only_authorizer_denies_attach_writes_and_setting_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let attached = dir.path().join("new.db");
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        conn.authorizer(Some(read_only));
        let attach = format!("ATTACH '{}' AS x", attached.display());
        assert!(conn.execute_batch(&attach).is_err());
        assert!(!attached.exists(), "ATTACH created {}", attached.display());
        for denied in [
            "INSERT INTO t VALUES (2)",
            "CREATE TEMP TABLE x (a)",
            "PRAGMA query_only = 0",
            "PRAGMA user_version = 3",
            "SELECT load_extension('x')",
            "BEGIN",
        ] {
            assert!(conn.execute_batch(denied).is_err(), "{denied} was allowed");
        }
        let columns: i64 = conn
            .query_row("SELECT count(*) FROM pragma_table_info('t')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(columns, 1);
        let total: i64 = conn
            .query_row(
                "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT sum(a) + (SELECT sum(n) FROM r) FROM t",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(total, 7);
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 0);
    }

    #[test]
    fn the_write_authorizer_needs_allow_server_files_for_attach() {
        let dir = tempfile::tempdir().unwrap();
        let attached = dir.path().join("new.db");
        let attach = format!("ATTACH '{}' AS x", attached.display());
        let conn = Connection::open_in_memory().unwrap();
        conn.authorizer(Some(writes(false)));
        conn.execute_batch("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        assert!(conn.execute_batch(&attach).is_err());
        assert!(conn
            .execute_batch("PRAGMA temp_store_directory = '/tmp'")
            .is_err());
        assert!(!attached.exists());
        conn.authorizer(Some(writes(true)));
        conn.execute_batch(&attach).unwrap();
        assert!(attached.exists());
    }
}
