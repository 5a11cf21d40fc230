//! The functions and settings the guard treats as dangerous, per database,
//! and the `PRAGMA`s SQLite may read.
//!
//! Functions are matched by their last name part, case-insensitively, so
//! `pg_catalog.PG_READ_FILE` is `pg_read_file`; a user function that
//! happens to share a listed name is refused too (failing closed). Two
//! classes: [`Class::Reach`] leaves the database (server files, programs,
//! other connections, native code, SQL text the guard cannot see, the
//! session's role) and needs `allow_server_files` even in `execute`;
//! [`Class::Admin`] changes the server or the session without touching
//! data (signals, configuration reloads, locks that outlive the statement)
//! and is refused in the read-only tools only.

use super::Engine;

/// How far a function reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Outside the database: refused unless `allow_server_files`.
    Reach,
    /// Server or session state: refused in read-only tools.
    Admin,
}

/// One dangerous function, or a family of them by prefix.
#[derive(Debug)]
pub(super) struct Risky {
    /// The name, lowercase; a prefix when `family`.
    pub name: &'static str,
    pub family: bool,
    pub class: Class,
    /// What it does, after its name: "reads files on the database server".
    pub does: &'static str,
}

const fn one(name: &'static str, class: Class, does: &'static str) -> Risky {
    Risky {
        name,
        family: false,
        class,
        does,
    }
}

const fn family(name: &'static str, class: Class, does: &'static str) -> Risky {
    Risky {
        name,
        family: true,
        class,
        does,
    }
}

use Class::{Admin, Reach};

const SERVER_FILES: &str = "reads or writes files on the database server";
const LIB_MYSQLUDF_SYS: &str =
    "runs programs or changes the environment of the database server (lib_mysqludf_sys)";
const HTTP: &str = "makes HTTP requests from the database server (pgsql-http)";
const SQL_TEXT: &str = "runs SQL text that the statement check cannot see";

/// PostgreSQL: the file, program and network functions of the core and of
/// adminpack, dblink, lo and pgsql-http; the functions that run SQL given
/// as text (core, pg_background); and
/// the administration functions a read-only transaction does not stop.
const POSTGRES: &[Risky] = &[
    family("pg_read_", Reach, SERVER_FILES),
    family("pg_ls_", Reach, "lists directories on the database server"),
    one(
        "pg_stat_file",
        Reach,
        "reads file details on the database server",
    ),
    family("pg_file_", Reach, SERVER_FILES),
    one("pg_logdir_ls", Reach, "lists the server's log directory"),
    one("lo_import", Reach, "reads a file on the database server"),
    one("lo_export", Reach, "writes a file on the database server"),
    family("dblink", Reach, "connects to a database and runs SQL there"),
    family("query_to_xml", Reach, SQL_TEXT),
    family("cursor_to_xml", Reach, SQL_TEXT),
    family("pg_background_", Reach, SQL_TEXT),
    // tablefunc: crosstab runs its SQL text, connectby builds SQL from its
    // arguments; pg_cron runs its command later, as the connecting role.
    family("crosstab", Reach, SQL_TEXT),
    one("connectby", Reach, SQL_TEXT),
    family("cron.schedule", Reach, SQL_TEXT),
    one("cron.alter_job", Reach, SQL_TEXT),
    one("schedule_in_database", Reach, SQL_TEXT),
    one("ts_stat", Reach, SQL_TEXT),
    one("ts_rewrite", Reach, SQL_TEXT),
    one(
        "set_config",
        Reach,
        "changes session settings, the role among them",
    ),
    // pgsql-http: requests from the server, to anywhere it can reach.
    one("http", Reach, HTTP),
    family("http_", Reach, HTTP),
    one(
        "pg_reload_conf",
        Admin,
        "reloads the server's configuration",
    ),
    one("pg_rotate_logfile", Admin, "rotates the server's log file"),
    one("pg_terminate_backend", Admin, "ends another session"),
    one(
        "pg_cancel_backend",
        Admin,
        "cancels another session's query",
    ),
    one("pg_promote", Admin, "promotes a standby server"),
    one("pg_switch_wal", Admin, "forces a WAL switch"),
    family(
        "pg_create_",
        Admin,
        "creates restore points or replication slots",
    ),
    family("pg_drop_replication", Admin, "drops a replication slot"),
    family("pg_copy_", Admin, "copies a replication slot"),
    one(
        "pg_replication_slot_advance",
        Admin,
        "moves a replication slot",
    ),
    family(
        "pg_replication_origin_",
        Admin,
        "changes replication origins",
    ),
    family(
        "pg_logical_",
        Admin,
        "consumes or writes logical replication data",
    ),
    family("pg_backup_", Admin, "starts or stops a backup"),
    one("pg_start_backup", Admin, "starts a backup"),
    one("pg_stop_backup", Admin, "stops a backup"),
    family("pg_wal_replay_", Admin, "pauses or resumes WAL replay"),
    family("pg_stat_reset", Admin, "resets the server's statistics"),
    one(
        "pg_stat_statements_reset",
        Admin,
        "resets the server's statistics",
    ),
    one("pg_import_system_collations", Admin, "adds collations"),
    family(
        "pg_advisory_",
        Admin,
        "takes or releases a lock that outlives the statement",
    ),
    family(
        "pg_try_advisory_",
        Admin,
        "takes a lock that outlives the statement",
    ),
    family("pg_log_", Admin, "writes to the server's log"),
];

/// MySQL and MariaDB: server files, the `lib_mysqludf_sys` functions that
/// run programs, and locks and waits that outlive the statement.
const MYSQL: &[Risky] = &[
    one("load_file", Reach, "reads a file on the database server"),
    one("sys_exec", Reach, LIB_MYSQLUDF_SYS),
    one("sys_eval", Reach, LIB_MYSQLUDF_SYS),
    one("sys_bineval", Reach, LIB_MYSQLUDF_SYS),
    one("sys_get", Reach, LIB_MYSQLUDF_SYS),
    one("sys_set", Reach, LIB_MYSQLUDF_SYS),
    one(
        "get_lock",
        Admin,
        "takes a lock that outlives the statement",
    ),
    one("release_lock", Admin, "releases a named lock"),
    one("release_all_locks", Admin, "releases named locks"),
    one("master_pos_wait", Admin, "waits on replication"),
    one("source_pos_wait", Admin, "waits on replication"),
    one("master_gtid_wait", Admin, "waits on replication"),
    one("wait_for_executed_gtid_set", Admin, "waits on replication"),
    one(
        "wait_until_sql_thread_after_gtids",
        Admin,
        "waits on replication",
    ),
];

/// SQLite: native code and the file functions of the shell's extensions.
const SQLITE: &[Risky] = &[
    one(
        "load_extension",
        Reach,
        "loads native code into the process",
    ),
    one("readfile", Reach, "reads a file"),
    one("writefile", Reach, "writes a file"),
    one("edit", Reach, "runs an editor"),
    one("fsdir", Reach, "lists directories"),
    one("zipfile", Reach, "reads or writes zip files"),
    one("fts3_tokenizer", Reach, "can register native code"),
    one("sqlite_attach", Reach, "attaches another database file"),
    one("sqlite_detach", Reach, "detaches a database"),
];

/// The listed function `name` (dotted, any case), if it is one: matched on
/// its last part, or on its last two for the entries that name a schema
/// (`cron.schedule`, whose last part alone is too common a word).
pub(super) fn function(engine: Engine, name: &str) -> Option<&'static Risky> {
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.rsplit('.');
    let last = parts.next().unwrap_or("");
    let last_two = parts.next().map(|schema| format!("{schema}.{last}"));
    let list = match engine {
        Engine::Postgres => POSTGRES,
        Engine::Mysql => MYSQL,
        Engine::Sqlite => SQLITE,
    };
    list.iter().find(|risky| {
        let subject = if risky.name.contains('.') {
            last_two.as_deref().unwrap_or("")
        } else {
            last
        };
        if risky.family {
            subject.starts_with(risky.name)
        } else {
            subject == risky.name
        }
    })
}

/// SQLite `PRAGMA`s that only read when given a table, index or schema
/// name as their argument (`PRAGMA table_info('t')`).
pub(crate) const PRAGMAS_READING_AN_ARGUMENT: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_info",
    "index_xinfo",
    "index_list",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
];

/// SQLite `PRAGMA`s that only read when given no value (`PRAGMA
/// user_version`; `PRAGMA user_version = 3` sets it).
pub(crate) const PRAGMAS_READING_BARE: &[&str] = &[
    "application_id",
    "auto_vacuum",
    "busy_timeout",
    "cache_size",
    "collation_list",
    "compile_options",
    "data_version",
    "database_list",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "function_list",
    "journal_mode",
    "max_page_count",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "query_only",
    "schema_version",
    "synchronous",
    "temp_store",
    "user_version",
];

/// Whether SQLite's `PRAGMA name [= value | (value)]` only reads.
pub(crate) fn pragma_reads(name: &str, has_value: bool, is_assignment: bool) -> bool {
    let name = name.to_ascii_lowercase();
    if !has_value {
        return PRAGMAS_READING_BARE.contains(&name.as_str())
            || PRAGMAS_READING_AN_ARGUMENT.contains(&name.as_str());
    }
    !is_assignment && PRAGMAS_READING_AN_ARGUMENT.contains(&name.as_str())
}

/// SQLite `PRAGMA`s that choose where files are written.
pub(crate) fn pragma_places_files(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "temp_store_directory" | "data_store_directory"
    )
}
