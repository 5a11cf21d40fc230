//! The `sqlite` skill: one SQLite database file (or `:memory:`) through
//! rusqlite, with SQLite built in.
//!
//! SQLite's API blocks, so the one connection lives behind a mutex and each
//! tool call runs on tokio's blocking pool. `query`, `explain` and the
//! catalogue tools set `PRAGMA query_only = 1` first, on every call, so even
//! a previous `PRAGMA query_only = 0` sent through `query` cannot open the
//! way to a write; without `allow_writes` the connection stays query-only
//! for good and a missing file is not created. Behind the statement guard,
//! every call runs under an authorizer ([`authorizer`]): read-only calls may
//! only read, and no call may `ATTACH` a file or call `load_extension()`
//! without `allow_server_files`, which also keeps `SQLITE_LIMIT_ATTACHED`
//! at 0 until it is on. The statement timeout is a
//! progress handler that interrupts the statement once its time is up
//! (counted from when the call gets the connection, so a queued call does
//! not eat into another's time), plus a busy timeout of the same length for
//! locks held by other processes.
//!
//! SQLite values carry a storage class, not a type: integers and reals are
//! numbers, text is a string, blobs are base64. The declared column type
//! refines two cases: a column declared `BOOLEAN`/`BOOL` reads as true or
//! false, and one declared `JSON` reads as JSON when its text parses.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::BoxFuture;
use rmcp::model::CallToolResult;
use rusqlite::hooks::{AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde_json::{json, Value};

use super::sql::{self, Dialect, Engine, ResultSet, SqlCall, SqlDriver, SqlSettings, Statement};
use super::tool::{bytes_json, float_json, tool_error};
use super::{SkillConfig, SkillError};

mod authorizer;

/// SQLite virtual-machine steps between two looks at the clock.
const PROGRESS_STEPS: i32 = 1000;

const DIALECT: Dialect = Dialect {
    name: "SQLite",
    placeholders: "? or ?1, ?2, ...",
    schema_word: "schema (attached database)",
    engine: Engine::Sqlite,
    explain_prefix: "EXPLAIN QUERY PLAN ",
};

const LIST_SCHEMAS: &str = "SELECT name AS schema FROM pragma_database_list ORDER BY seq";

const LIST_TABLES: &str = "SELECT schema, name, type FROM pragma_table_list \
     WHERE (?1 IS NULL OR schema = ?1) AND substr(name, 1, 7) <> 'sqlite_' \
     ORDER BY 1, 2";

const DESCRIBE_TABLE: &str = "SELECT name AS \"column\", type, NOT \"notnull\" AS nullable, \
       dflt_value AS \"default\", pk > 0 AS primary_key \
     FROM pragma_table_info(?1, ?2) ORDER BY cid";

/// The connection, taken out (and so closed) by [`Skill::close`].
type Shared = Arc<Mutex<Option<Connection>>>;

/// An open SQLite database.
pub(crate) struct SqliteDriver {
    conn: Shared,
    settings: SqlSettings,
}

/// What a blocking call produced: a result set, or a ready tool result.
type Outcome = Result<Result<ResultSet, CallToolResult>, rusqlite::Error>;

impl SqliteDriver {
    /// Opens the file and checks that it is a database. A missing file is
    /// created empty, so `connect sqlite --set path=./notes.db` works on any
    /// machine; without `allow_writes` it then stays read-only.
    pub(crate) async fn open(config: &SkillConfig<'_>) -> Result<Self, SkillError> {
        let path = config.required("path")?.to_string();
        let settings = SqlSettings::parse(config)?;
        let allow_writes = settings.allow_writes;
        let allow_server_files = settings.allow_server_files;
        let timeout = settings.statement_timeout;
        let opened = tokio::task::spawn_blocking(move || {
            let conn = if path == ":memory:" {
                Connection::open_in_memory()?
            } else {
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                Connection::open_with_flags(&path, flags)?
            };
            conn.busy_timeout(timeout)?;
            conn.pragma_update(None, "query_only", !allow_writes)?;
            if !allow_server_files {
                conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
            }
            Ok::<_, rusqlite::Error>(conn)
        })
        .await
        .map_err(worker_failed)?;
        let conn = opened.map_err(|e| SkillError::BadConfig {
            field: "path".into(),
            problem: format!("cannot open the database: {e}"),
        })?;
        let skill = SqliteDriver {
            conn: Arc::new(Mutex::new(Some(conn))),
            settings,
        };
        skill.ping().await?;
        Ok(skill)
    }

    /// Runs `work` on the connection on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> T + Send + 'static,
    ) -> Result<T, SkillError> {
        let conn = Arc::clone(&self.conn);
        let task = tokio::task::spawn_blocking(move || {
            let guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            guard.as_ref().map(work)
        });
        // The progress handler stops statements; this only guards against
        // a wait that handler cannot see.
        let deadline = self.settings.client_deadline() * 2;
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(Some(value))) => Ok(value),
            Ok(Ok(None)) => Err(SkillError::Backend {
                message: "the skill has been closed".into(),
            }),
            Ok(Err(e)) => Err(worker_failed(e)),
            Err(_) => Err(SkillError::Timeout { after: deadline }),
        }
    }

    /// Reads the schema table: proves the file is a database.
    async fn ping(&self) -> Result<(), SkillError> {
        let counted = self
            .blocking(|conn| conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())))
            .await?;
        counted.map_err(|e| SkillError::Backend {
            message: format!("the database cannot be read: {e}"),
        })
    }

    async fn run(&self, call: SqlCall) -> Result<CallToolResult, SkillError> {
        let settings = self.settings.clone();
        let (outcome, describe) = match call {
            SqlCall::ListSchemas => (self.read(internal(LIST_SCHEMAS, vec![])).await?, None),
            SqlCall::ListTables { schema } => (
                self.read(internal(LIST_TABLES, vec![json!(schema)]))
                    .await?,
                None,
            ),
            SqlCall::DescribeTable { table, schema } => {
                let params = vec![json!(table), json!(schema.as_deref().unwrap_or("main"))];
                (
                    self.read(internal(DESCRIBE_TABLE, params)).await?,
                    Some((table, schema)),
                )
            }
            SqlCall::Query(statement) => (self.read(statement).await?, None),
            // The statement already starts with EXPLAIN QUERY PLAN.
            SqlCall::Explain(statement) => (self.plan(statement).await?, None),
            SqlCall::Execute(statement) => {
                let limit = settings.row_limit;
                let timeout = settings.statement_timeout;
                let allow_server_files = settings.allow_server_files;
                let outcome = self
                    .blocking(move |conn| {
                        with_deadline(conn, timeout, |conn| {
                            conn.pragma_update(None, "query_only", false)?;
                            let hook = authorizer::writes(allow_server_files);
                            authorized(conn, hook, |conn| fetch(conn, &statement, limit, true))
                        })
                    })
                    .await?;
                (outcome, None)
            }
        };
        match outcome {
            Ok(Ok(set)) => Ok(match describe {
                Some((table, schema)) => sql::describe_result(&table, schema.as_deref(), set),
                None => set.into_result(),
            }),
            Ok(Err(failed)) => Ok(failed),
            Err(e) => statement_error(&settings, e),
        }
    }

    /// Runs a statement with the connection query-only, under the
    /// read-only authorizer.
    async fn read(&self, statement: Statement) -> Result<Outcome, SkillError> {
        self.query_only(statement, authorizer::read_only).await
    }

    /// Runs an `EXPLAIN QUERY PLAN`. SQLite compiles the statement it
    /// explains (so the authorizer sees an explained `UPDATE` as an update)
    /// but never runs it: the planning authorizer lets writes be planned,
    /// and still denies `ATTACH` and the dangerous functions.
    async fn plan(&self, statement: Statement) -> Result<Outcome, SkillError> {
        self.query_only(statement, authorizer::writes(false)).await
    }

    async fn query_only(
        &self,
        statement: Statement,
        hook: impl FnMut(AuthContext<'_>) -> Authorization + Send + 'static,
    ) -> Result<Outcome, SkillError> {
        let limit = self.settings.row_limit;
        let timeout = self.settings.statement_timeout;
        self.blocking(move |conn| {
            with_deadline(conn, timeout, |conn| {
                // `execute` turns this off again for itself when allowed.
                conn.pragma_update(None, "query_only", true)?;
                authorized(conn, hook, |conn| fetch(conn, &statement, limit, false))
            })
        })
        .await
    }
}

fn internal(sql: &str, params: Vec<Value>) -> Statement {
    Statement {
        sql: sql.to_string(),
        params,
    }
}

/// Runs `work` with a progress handler that interrupts it after `timeout`.
fn with_deadline(
    conn: &Connection,
    timeout: std::time::Duration,
    work: impl FnOnce(&Connection) -> Outcome,
) -> Outcome {
    let deadline = Instant::now() + timeout;
    conn.progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline));
    let result = work(conn);
    conn.progress_handler(0, None::<fn() -> bool>);
    result
}

/// Runs `work` with `hook` as the connection's authorizer, and none after
/// (so the `PRAGMA query_only` of the next call is not judged by it).
fn authorized(
    conn: &Connection,
    hook: impl FnMut(AuthContext<'_>) -> Authorization + Send + 'static,
    work: impl FnOnce(&Connection) -> Outcome,
) -> Outcome {
    conn.authorizer(Some(hook));
    let result = work(conn);
    conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    result
}

/// Prepares and runs one statement, keeping at most `limit` rows.
fn fetch(conn: &Connection, statement: &Statement, limit: usize, count_changes: bool) -> Outcome {
    let mut prepared = conn.prepare(&statement.sql)?;
    let expected = prepared.parameter_count();
    if expected != statement.params.len() {
        return Ok(Err(tool_error(format!(
            "the statement has {expected} placeholder(s) but {} parameter(s) were given",
            statement.params.len()
        ))));
    }
    let declared: Vec<String> = prepared
        .columns()
        .iter()
        .map(|c| c.decl_type().unwrap_or("").to_string())
        .collect();
    let mut set = ResultSet {
        columns: prepared
            .column_names()
            .iter()
            .map(|c| c.to_string())
            .collect(),
        column_types: declared.clone(),
        ..ResultSet::default()
    };
    let params = rusqlite::params_from_iter(statement.params.iter().map(to_sqlite));
    let mut rows = prepared.query(params)?;
    while let Some(row) = rows.next()? {
        if set.rows.len() == limit {
            set.truncated = true;
            // A write's rows must all be stepped through for it to finish.
            if count_changes {
                continue;
            }
            break;
        }
        let mut values = Vec::with_capacity(declared.len());
        for (index, decl) in declared.iter().enumerate() {
            values.push(to_json(row.get_ref(index)?, decl));
        }
        set.rows.push(values);
    }
    drop(rows);
    if count_changes {
        set.rows_affected = Some(conn.changes());
    }
    Ok(Ok(set))
}

/// A failed statement: a tool error, unless the database itself is broken.
fn statement_error(
    settings: &SqlSettings,
    e: rusqlite::Error,
) -> Result<CallToolResult, SkillError> {
    let code = e.sqlite_error_code();
    let message = match code {
        Some(ErrorCode::OperationInterrupted) => sql::timeout_message(settings, "interrupted"),
        Some(ErrorCode::ReadOnly) => format!(
            "{e}: `query` and `explain` run read-only; use `execute` to change data{}",
            if settings.allow_writes {
                ""
            } else {
                " (and set the connector's `allow_writes` setting to true)"
            }
        ),
        Some(ErrorCode::AuthorizationForStatementDenied) => format!(
            "{e}: SQLite's authorizer stopped it: `query` and `explain` may only read, and `ATTACH`, `load_extension()` and the file functions need the connector's `allow_server_files` set to true"
        ),
        Some(
            ErrorCode::SystemIoFailure
            | ErrorCode::DatabaseCorrupt
            | ErrorCode::NotADatabase
            | ErrorCode::CannotOpen,
        ) => {
            return Err(SkillError::Backend {
                message: format!("the database cannot be used: {e}"),
            })
        }
        _ if matches!(e, rusqlite::Error::MultipleStatement) => {
            "give one statement at a time: this text holds more than one".to_string()
        }
        _ => e.to_string(),
    };
    Ok(tool_error(message))
}

/// A JSON parameter as an SQLite value.
fn to_sqlite(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => SqlValue::Integer(i),
            (None, Some(f)) => SqlValue::Real(f),
            _ => SqlValue::Text(n.to_string()),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

/// One value as JSON, by storage class refined by the declared type.
fn to_json(value: ValueRef<'_>, declared: &str) -> Value {
    let declared = declared.to_ascii_uppercase();
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if declared == "BOOLEAN" || declared == "BOOL" => json!(i != 0),
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => float_json(f),
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if declared == "JSON" => {
                serde_json::from_str(text).unwrap_or_else(|_| json!(text))
            }
            Ok(text) => json!(text),
            Err(_) => bytes_json(bytes),
        },
        ValueRef::Blob(bytes) => bytes_json(bytes),
    }
}

fn worker_failed(e: tokio::task::JoinError) -> SkillError {
    SkillError::Backend {
        message: format!("the SQLite worker failed: {e}"),
    }
}

impl SqlDriver for SqliteDriver {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    fn settings(&self) -> &SqlSettings {
        &self.settings
    }

    fn run(&self, call: SqlCall) -> BoxFuture<'_, Result<CallToolResult, SkillError>> {
        Box::pin(SqliteDriver::run(self, call))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), SkillError>> {
        Box::pin(SqliteDriver::ping(self))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let conn = Arc::clone(&self.conn);
            // Closing may flush to disk, so it too runs off the async threads.
            let _ = tokio::task::spawn_blocking(move || {
                let taken = conn.lock().unwrap_or_else(|p| p.into_inner()).take();
                drop(taken);
            })
            .await;
        })
    }
}
