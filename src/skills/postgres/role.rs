//! Whether the role the skill logs in as can reach outside the database,
//! and what to tell the person when it can.
//!
//! A superuser, or a member of `pg_execute_server_program`,
//! `pg_read_server_files` or `pg_write_server_files`, may run programs and
//! read or write files as the server's operating-system user. The statement
//! guard refuses the statements that do so, but the database itself would
//! not, and the guard cannot see inside functions and views that already
//! exist: such a role is worth a warning, with the SQL that makes a better
//! one.

use tokio_postgres::Client;

/// The role, whether it is a superuser, and which of the three server
/// roles it belongs to (directly or through other roles).
const ROLE: &str = "SELECT current_user::text, r.rolsuper, \
       ARRAY(SELECT b.rolname::text FROM pg_roles b \
             WHERE b.rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files') \
               AND pg_has_role(current_user, b.oid, 'MEMBER') \
             ORDER BY 1) \
     FROM pg_roles r WHERE r.rolname = current_user";

/// The warnings for the role `client` is logged in as (none for a role
/// that can do none of these things).
pub(super) async fn warnings(
    client: &Client,
    allow_writes: bool,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let Some(row) = client.query_opt(ROLE, &[]).await? else {
        return Ok(Vec::new());
    };
    let role: String = row.try_get(0)?;
    let superuser: bool = row.try_get(1)?;
    let server_roles: Vec<String> = row.try_get(2)?;
    Ok(warning(&role, superuser, &server_roles, allow_writes)
        .into_iter()
        .collect())
}

/// The warning for a role, if it needs one.
fn warning(
    role: &str,
    superuser: bool,
    server_roles: &[String],
    allow_writes: bool,
) -> Option<String> {
    let better = least_privilege(allow_writes);
    if superuser {
        return Some(format!(
            "the database role `{role}` is a PostgreSQL superuser, so the database itself lets it read and write any file and run programs as the server's operating-system user; only Switchboard's statement check stands in the way. {better}"
        ));
    }
    if server_roles.is_empty() {
        return None;
    }
    let abilities: Vec<&str> = server_roles
        .iter()
        .map(|r| match r.as_str() {
            "pg_execute_server_program" => "run programs on the server",
            "pg_read_server_files" => "read files on the server",
            _ => "write files on the server",
        })
        .collect();
    let roles = server_roles.join(", ");
    Some(format!(
        "the database role `{role}` is a member of {roles}, so the database itself lets it {}; only Switchboard's statement check stands in the way. Take that away with `REVOKE {roles} FROM {role};`, or: {better}",
        abilities.join(" and ")
    ))
}

/// How to make a role that can do what the connector needs and no more.
fn least_privilege(allow_writes: bool) -> String {
    let (name, grants) = if allow_writes {
        (
            "switchboard_rw",
            "GRANT pg_read_all_data, pg_write_all_data TO switchboard_rw;",
        )
    } else {
        (
            "switchboard_ro",
            "GRANT pg_read_all_data TO switchboard_ro;",
        )
    };
    format!(
        "Connect as a role with least privilege instead: `CREATE ROLE {name} LOGIN PASSWORD '…'; {grants}` (PostgreSQL 14 and later; before 14, grant USAGE on the schemas and SELECT on their tables), and put that role in the connector's `url`."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superusers_and_server_file_roles_are_warned_about() {
        let su = warning("postgres", true, &[], false).unwrap_or_default();
        assert!(su.contains("`postgres` is a PostgreSQL superuser"), "{su}");
        assert!(
            su.contains("GRANT pg_read_all_data TO switchboard_ro;"),
            "{su}"
        );
        let member = warning(
            "app",
            false,
            &["pg_execute_server_program".to_string()],
            true,
        )
        .unwrap_or_default();
        assert!(member.contains("run programs on the server"), "{member}");
        assert!(
            member.contains("REVOKE pg_execute_server_program FROM app;"),
            "{member}"
        );
        assert!(member.contains("pg_write_all_data"), "{member}");
        assert_eq!(warning("reader", false, &[], false), None);
    }
}
