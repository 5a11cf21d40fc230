//! How the mysql skill sets up each pooled session, and what it tells the
//! person about the account it logs in as.
//!
//! Setup runs on every new session and again after each reset (the pool
//! resets a session when it comes back, so nothing a call set, a
//! `SET sql_mode` or a user variable, reaches the next call). It pins what
//! the statement guard's parser assumes: backslash escapes in strings and
//! `"` as a string quote, so `sql_mode` loses `NO_BACKSLASH_ESCAPES`,
//! `ANSI_QUOTES` and the modes that imply them; otherwise `'\'` could end a
//! string for the server where the parser reads on, and SQL hidden in what
//! the parser took for a string would run.
//!
//! An account with the global `FILE` privilege may read and write files on
//! the server (`LOAD_FILE`, `SELECT … INTO OUTFILE`, `LOAD DATA`), one with
//! `SUPER` may change the server's settings; the guard refuses the
//! statements that do so, but the server would not, so such an account is
//! worth a warning with the SQL that makes a better one.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// Modes whose lexing differs from what the guard's parser reads:
/// `ANSI_QUOTES`, `NO_BACKSLASH_ESCAPES`, and the combinations that set
/// `ANSI_QUOTES` (MySQL's and MariaDB's).
const UNPARSEABLE_MODES: &[&str] = &[
    "ANSI_QUOTES",
    "NO_BACKSLASH_ESCAPES",
    "ANSI",
    "DB2",
    "MAXDB",
    "MSSQL",
    "ORACLE",
    "POSTGRESQL",
];

/// The session setup, in as few round trips as it takes: UTC, the
/// statement timeout (`timeout`, an assignment such as
/// `max_statement_time = 10.000`), `sql_mode` as the guard's parser reads
/// SQL (from the server's global `sql_mode`), and without `allow_writes`
/// read-only transactions by default.
pub(super) fn setup(global_sql_mode: &str, timeout: &str, allow_writes: bool) -> Vec<String> {
    let mode: Vec<&str> = global_sql_mode
        .split(',')
        .map(str::trim)
        .filter(|m| {
            !m.is_empty()
                && !UNPARSEABLE_MODES.contains(&m.to_ascii_uppercase().as_str())
                && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    let mut setup = vec![format!(
        "SET SESSION time_zone = '+00:00', SESSION {timeout}, SESSION sql_mode = '{}'",
        mode.join(",")
    )];
    if !allow_writes {
        setup.push("SET SESSION TRANSACTION READ ONLY".to_string());
    }
    setup
}

/// The account's global privileges that reach outside the database.
const PRIVILEGES: &str = "SELECT CURRENT_USER(), PRIVILEGE_TYPE \
     FROM information_schema.USER_PRIVILEGES \
     WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
                            SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') \
       AND PRIVILEGE_TYPE IN ('FILE', 'SUPER') \
     ORDER BY 2";

/// The warnings for the account `conn` is logged in as (none for one
/// without `FILE` or `SUPER`).
pub(super) async fn warnings(
    conn: &mut Conn,
    database: Option<&str>,
    allow_writes: bool,
) -> Result<Vec<String>, mysql_async::Error> {
    let rows: Vec<(String, String)> = conn.query(PRIVILEGES).await?;
    let Some((account, _)) = rows.first() else {
        return Ok(Vec::new());
    };
    let privileges: Vec<&str> = rows.iter().map(|(_, p)| p.as_str()).collect();
    Ok(vec![warning(account, &privileges, database, allow_writes)])
}

/// The warning for an account with `privileges` (FILE and/or SUPER).
fn warning(
    account: &str,
    privileges: &[&str],
    database: Option<&str>,
    allow_writes: bool,
) -> String {
    let abilities: Vec<&str> = privileges
        .iter()
        .map(|p| match *p {
            "FILE" => "FILE lets it read and write files on the database server (LOAD_FILE, SELECT … INTO OUTFILE, LOAD DATA)",
            _ => "SUPER lets it change the server's settings and write while the server is read-only",
        })
        .collect();
    let (name, grants) = if allow_writes {
        (
            "switchboard_rw",
            "SELECT, SHOW VIEW, INSERT, UPDATE, DELETE",
        )
    } else {
        ("switchboard_ro", "SELECT, SHOW VIEW")
    };
    let scope = database.map_or_else(|| "mydb.*".to_string(), |db| format!("`{db}`.*"));
    format!(
        "the MySQL account `{account}` has the global {} privilege{}: {}; only Switchboard's statement check stands in the way. Connect as an account with least privilege instead: `CREATE USER '{name}'@'%' IDENTIFIED BY '…'; GRANT {grants} ON {scope} TO '{name}'@'%';`, and put it in the connector's `url`.",
        privileges.join(" and "),
        if privileges.len() > 1 { "s" } else { "" },
        abilities.join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_mode_loses_what_the_parser_cannot_read() {
        let setup = setup(
            "STRICT_TRANS_TABLES,ANSI_QUOTES,no_backslash_escapes,ANSI,ONLY_FULL_GROUP_BY,'x",
            "max_statement_time = 1.000",
            false,
        );
        assert_eq!(
            setup,
            vec![
                "SET SESSION time_zone = '+00:00', SESSION max_statement_time = 1.000, SESSION sql_mode = 'STRICT_TRANS_TABLES,ONLY_FULL_GROUP_BY'",
                "SET SESSION TRANSACTION READ ONLY",
            ]
        );
    }

    #[test]
    fn file_and_super_are_warned_about_with_a_better_account() {
        let text = warning("root@localhost", &["FILE", "SUPER"], Some("shop"), false);
        assert!(
            text.contains("`root@localhost` has the global FILE and SUPER privileges"),
            "{text}"
        );
        assert!(
            text.contains("GRANT SELECT, SHOW VIEW ON `shop`.* TO 'switchboard_ro'@'%';"),
            "{text}"
        );
    }
}
