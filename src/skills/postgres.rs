//! The `postgres` skill: PostgreSQL through a small pool of tokio-postgres
//! connections.
//!
//! Every tool call takes one pooled connection and runs in a transaction
//! with `SET LOCAL statement_timeout`, so the server stops a slow statement
//! itself; `query`, `explain` and the catalogue tools use `BEGIN READ ONLY`
//! and roll back, so they cannot change data even when the SQL tries to.
//! Rows are read through a portal with a row count, so the server stops
//! sending at `row_limit + 1` rows (the extra one only tells us there were
//! more). A client-side deadline of the statement timeout plus a grace
//! period backs this up: if the server does not answer by then, the
//! statement is cancelled, the connection discarded and the call fails with
//! [`SkillError::Timeout`].
//!
//! Only plain TCP or Unix-socket connections are supported (no TLS yet).

use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};
use futures::future::BoxFuture;
use futures::{pin_mut, StreamExt};
use rmcp::model::CallToolResult;
use serde_json::{json, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement as PgStatement};

use super::sql::{self, Dialect, Engine, ResultSet, SqlCall, SqlDriver, SqlSettings, Statement};
use super::tool::tool_error;
use super::{scrub_secrets, SkillConfig, SkillError, CONNECT_TIMEOUT};

mod decode;
mod encode;
mod role;

use decode::Cell;
use encode::encode_params;

/// Connections kept open at most; tool calls beyond this wait their turn.
const POOL_SIZE: usize = 4;

/// How the tool descriptions name PostgreSQL's concepts.
const DIALECT: Dialect = Dialect {
    name: "PostgreSQL",
    placeholders: "$1, $2, ...",
    schema_word: "schema",
    engine: Engine::Postgres,
    explain_prefix: "EXPLAIN ",
};

/// Lists schemas other than PostgreSQL's own.
const LIST_SCHEMAS: &str = "SELECT nspname AS schema FROM pg_namespace \
     WHERE nspname NOT IN ('pg_catalog', 'information_schema') \
       AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%' \
     ORDER BY 1";

/// Lists relations a person would call tables, in one schema or in all
/// non-system schemas.
const LIST_TABLES: &str = "SELECT n.nspname AS schema, c.relname AS name, \
       CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' \
         WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' \
         WHEN 'f' THEN 'foreign table' END AS type \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
       AND CASE WHEN $1::text IS NULL \
         THEN n.nspname NOT IN ('pg_catalog', 'information_schema') \
              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
         ELSE n.nspname = $1::text END \
     ORDER BY 1, 2";

/// Columns of one relation: the named schema's, or the one on the search
/// path when no schema is given.
const DESCRIBE_TABLE: &str = "SELECT a.attname AS column, \
       format_type(a.atttypid, a.atttypmod) AS type, \
       NOT a.attnotnull AS nullable, \
       pg_get_expr(d.adbin, d.adrelid) AS default, \
       COALESCE(a.attnum = ANY (i.indkey), false) AS primary_key \
     FROM pg_attribute a \
     JOIN pg_class c ON c.oid = a.attrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
     WHERE c.relname = $1::text \
       AND CASE WHEN $2::text IS NULL THEN pg_table_is_visible(c.oid) \
         ELSE n.nspname = $2::text END \
       AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY a.attnum";

/// A connected PostgreSQL skill.
pub(crate) struct PostgresDriver {
    /// The pooled connections; closed by [`Skill::close`].
    pool: Pool,
    /// Write permission, row limit and statement timeout.
    settings: SqlSettings,
    /// The URL with its password masked, for messages.
    target: String,
    /// The user name, for the authentication-failure message.
    user: String,
    /// What the person should know about the role (a superuser), found at
    /// open.
    warnings: Vec<String>,
}

/// Run after a committed `execute`, so nothing it set (a `SET ROLE`, a
/// `SET standard_conforming_strings`, a search path) outlives the call on
/// the pooled connection: the next call sees the session as it started.
const RESET_SESSION: &str = "RESET SESSION AUTHORIZATION; RESET ROLE; RESET ALL";

impl PostgresDriver {
    /// Reads the settings, builds the pool and proves it with `SELECT 1`.
    pub(crate) async fn open(config: &SkillConfig<'_>) -> Result<Self, SkillError> {
        let url = config.required("url")?;
        let settings = SqlSettings::parse(config)?;
        let mut config: tokio_postgres::Config =
            url.parse()
                .map_err(|e: tokio_postgres::Error| SkillError::BadConfig {
                    field: "url".into(),
                    problem: format!(
                        "{} (expected postgres://user:password@host:5432/database)",
                        scrub_secrets(&e.to_string())
                    ),
                })?;
        if config.get_application_name().is_none() {
            config.application_name("switchboard");
        }
        config.options(session_options(config.get_options(), settings.allow_writes));
        let user = config.get_user().unwrap_or("(default user)").to_string();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| SkillError::Backend {
                message: format!("could not set up the connection pool: {e}"),
            })?;
        let mut skill = PostgresDriver {
            pool,
            settings,
            target: scrub_secrets(url),
            user,
            warnings: Vec::new(),
        };
        skill.ping().await?;
        skill.warnings = skill.role_warnings().await;
        Ok(skill)
    }

    /// What the person should know about the role; a failure to find out
    /// is itself a warning, since it leaves the question open.
    async fn role_warnings(&self) -> Vec<String> {
        let checked = async {
            let client = self.connection().await.map_err(|e| e.to_string())?;
            tokio::time::timeout(
                CONNECT_TIMEOUT,
                role::warnings(&client, self.settings.allow_writes),
            )
            .await
            .map_err(|_| "no answer in time".to_string())?
            .map_err(|e| scrub_secrets(&e.to_string()))
        };
        match checked.await {
            Ok(warnings) => warnings,
            Err(why) => vec![format!(
                "could not check whether the role `{}` is a superuser or may read server files ({why})",
                self.user
            )],
        }
    }

    /// Takes a pooled connection, connecting if need be.
    async fn connection(&self) -> Result<Object, SkillError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => self.connect_error(e),
            PoolError::Timeout(_) => SkillError::Timeout {
                after: CONNECT_TIMEOUT,
            },
            PoolError::Closed => closed(),
            other => SkillError::Backend {
                message: scrub_secrets(&other.to_string()),
            },
        })
    }

    /// Classifies a failure to connect by its SQLSTATE or I/O cause.
    fn connect_error(&self, e: tokio_postgres::Error) -> SkillError {
        if let Some(db) = e.as_db_error() {
            if *db.code() == SqlState::INVALID_PASSWORD
                || *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                return SkillError::AuthFailed {
                    message: format!(
                        "PostgreSQL at {} refused the login of user `{}` ({}): put the right user and password in the connector's `url` setting",
                        self.target,
                        self.user,
                        scrub_secrets(db.message())
                    ),
                };
            }
            return SkillError::Backend {
                message: format!(
                    "PostgreSQL refused the connection: {}",
                    scrub_secrets(db.message())
                ),
            };
        }
        match io_cause(&e) {
            Some(io) => SkillError::Unreachable {
                target: self.target.clone(),
                message: io.to_string(),
            },
            None if e.is_closed() => SkillError::Unreachable {
                target: self.target.clone(),
                message: "the server closed the connection".into(),
            },
            None => SkillError::Backend {
                message: scrub_secrets(&e.to_string()),
            },
        }
    }

    /// `SELECT 1` on a pooled connection.
    async fn ping(&self) -> Result<(), SkillError> {
        let client = self.connection().await?;
        match tokio::time::timeout(CONNECT_TIMEOUT, client.simple_query("SELECT 1")).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.connect_error(e)),
            Err(_) => {
                drop(Object::take(client));
                Err(SkillError::Timeout {
                    after: CONNECT_TIMEOUT,
                })
            }
        }
    }

    /// Runs one tool call on one connection under the client-side deadline.
    async fn run(&self, call: SqlCall) -> Result<CallToolResult, SkillError> {
        let mut client = self.connection().await?;
        let cancel = client.cancel_token();
        let deadline = self.settings.client_deadline();
        let outcome = tokio::time::timeout(deadline, self.dispatch(&mut client, call)).await;
        match outcome {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => match e.as_db_error() {
                Some(db) => Ok(self.statement_error(db)),
                None => {
                    drop(Object::take(client));
                    Err(self.connect_error(e))
                }
            },
            Err(_) => {
                // The server ignored its own timeout: stop the statement and
                // drop the connection rather than reuse it mid-statement.
                let _ = tokio::time::timeout(CONNECT_TIMEOUT, cancel.cancel_query(NoTls)).await;
                drop(Object::take(client));
                Err(SkillError::Timeout { after: deadline })
            }
        }
    }

    async fn dispatch(
        &self,
        client: &mut Object,
        call: SqlCall,
    ) -> Result<CallToolResult, tokio_postgres::Error> {
        let read = |sql: &str, params: Vec<Value>| Statement {
            sql: sql.to_string(),
            params,
        };
        match call {
            SqlCall::ListSchemas => self.read(client, read(LIST_SCHEMAS, vec![])).await,
            SqlCall::ListTables { schema } => {
                self.read(client, read(LIST_TABLES, vec![json!(schema)]))
                    .await
            }
            SqlCall::DescribeTable { table, schema } => {
                let params = vec![json!(table), json!(schema)];
                let set = match self.read_set(client, read(DESCRIBE_TABLE, params)).await? {
                    Ok(set) => set,
                    Err(failed) => return Ok(failed),
                };
                Ok(sql::describe_result(&table, schema.as_deref(), set))
            }
            // `explain`'s statement already starts with EXPLAIN.
            SqlCall::Query(statement) | SqlCall::Explain(statement) => {
                self.read(client, statement).await
            }
            SqlCall::Execute(statement) => self.execute(client, statement).await,
        }
    }

    /// Runs a statement read-only and returns its rows as the tool result.
    async fn read(
        &self,
        client: &mut Object,
        statement: Statement,
    ) -> Result<CallToolResult, tokio_postgres::Error> {
        Ok(match self.read_set(client, statement).await? {
            Ok(set) => set.into_result(),
            Err(failed) => failed,
        })
    }

    /// Runs a statement in a READ ONLY transaction, reading at most
    /// `row_limit` rows through a portal. The inner `Err` is a parameter
    /// that could not be encoded.
    async fn read_set(
        &self,
        client: &mut Object,
        statement: Statement,
    ) -> Result<Result<ResultSet, CallToolResult>, tokio_postgres::Error> {
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.batch_execute(&self.timeout_sql()).await?;
        let prepared = tx.prepare(&statement.sql).await?;
        let params = match encode_params(prepared.params(), &statement.params) {
            Ok(params) => params,
            Err(message) => return Ok(Err(tool_error(message))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let portal = tx.bind(&prepared, &refs).await?;
        let limit = self.settings.row_limit;
        // One row more than the limit tells us whether there were more.
        let max_rows = i32::try_from(limit + 1).unwrap_or(i32::MAX);
        let mut rows = tx.query_portal(&portal, max_rows).await?;
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        tx.rollback().await?;
        Ok(Ok(result_set(&prepared, &rows, truncated)))
    }

    /// Runs a statement that may write, and commits it.
    async fn execute(
        &self,
        client: &mut Object,
        statement: Statement,
    ) -> Result<CallToolResult, tokio_postgres::Error> {
        let tx = client.transaction().await?;
        tx.batch_execute(&self.timeout_sql()).await?;
        let prepared = tx.prepare(&statement.sql).await?;
        let params = match encode_params(prepared.params(), &statement.params) {
            Ok(params) => params,
            Err(message) => return Ok(tool_error(message)),
        };
        let stream = tx.query_raw(&prepared, params.iter()).await?;
        pin_mut!(stream);
        let mut rows = Vec::new();
        let mut truncated = false;
        // Every row must be read for the statement to finish; only the first
        // `row_limit` are kept.
        while let Some(row) = stream.next().await {
            let row = row?;
            if rows.len() < self.settings.row_limit {
                rows.push(row);
            } else {
                truncated = true;
            }
        }
        let affected = stream.rows_affected();
        tx.commit().await?;
        client.batch_execute(RESET_SESSION).await?;
        let mut set = result_set(&prepared, &rows, truncated);
        set.rows_affected = affected;
        Ok(set.into_result())
    }

    fn timeout_sql(&self) -> String {
        format!(
            "SET LOCAL statement_timeout = {}",
            self.settings.statement_timeout.as_millis()
        )
    }

    /// A server-side error in a statement, as a tool result.
    fn statement_error(&self, db: &tokio_postgres::error::DbError) -> CallToolResult {
        let code = db.code();
        let mut message = if *code == SqlState::QUERY_CANCELED {
            sql::timeout_message(&self.settings, db.message())
        } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            format!(
                "{}: `query` and `explain` run read-only; use `execute` to change data{}",
                db.message(),
                if self.settings.allow_writes {
                    ""
                } else {
                    " (and set the connector's `allow_writes` setting to true)"
                }
            )
        } else {
            format!("{} (SQLSTATE {})", db.message(), code.code())
        };
        if let Some(detail) = db.detail() {
            message.push_str(&format!("\nDetail: {detail}"));
        }
        if let Some(hint) = db.hint() {
            message.push_str(&format!("\nHint: {hint}"));
        }
        if let Some(tokio_postgres::error::ErrorPosition::Original(at)) = db.position() {
            message.push_str(&format!("\nAt character {at} of the statement."));
        }
        tool_error(scrub_secrets(&message))
    }
}

/// The session's startup options: the user's own, then the settings the
/// statement guard relies on. `standard_conforming_strings` keeps `'\'` a
/// whole string, as the guard's parser reads it, whatever the server's
/// default; without `allow_writes` every transaction of the session is
/// read-only by default, a wall behind the guard and the `READ ONLY`
/// transactions. Later options win, so the user's cannot undo these.
fn session_options(user: Option<&str>, allow_writes: bool) -> String {
    let mut options = user.unwrap_or("").trim().to_string();
    let mut add = |option: &str| {
        if !options.is_empty() {
            options.push(' ');
        }
        options.push_str(option);
    };
    add("-c standard_conforming_strings=on");
    if !allow_writes {
        add("-c default_transaction_read_only=on");
    }
    options
}

/// Rows as a [`ResultSet`], every value decoded by its server type.
fn result_set(prepared: &PgStatement, rows: &[Row], truncated: bool) -> ResultSet {
    let columns = prepared.columns();
    ResultSet {
        columns: columns.iter().map(|c| c.name().to_string()).collect(),
        column_types: columns
            .iter()
            .map(|c| c.type_().name().to_string())
            .collect(),
        rows: rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<_, Cell>(i).map_or(Value::Null, |cell| cell.0))
                    .collect()
            })
            .collect(),
        truncated,
        rows_affected: None,
    }
}

/// The I/O error under a driver error, if the failure was the network's.
fn io_cause(e: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = err.source();
    }
    None
}

fn closed() -> SkillError {
    SkillError::Backend {
        message: "the skill has been closed".into(),
    }
}

impl SqlDriver for PostgresDriver {
    fn dialect(&self) -> &'static Dialect {
        &DIALECT
    }

    fn settings(&self) -> &SqlSettings {
        &self.settings
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn run(&self, call: SqlCall) -> BoxFuture<'_, Result<CallToolResult, SkillError>> {
        Box::pin(PostgresDriver::run(self, call))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), SkillError>> {
        Box::pin(PostgresDriver::ping(self))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move { self.pool.close() })
    }
}
