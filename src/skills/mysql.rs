//! The `mysql` skill: MySQL and MariaDB through a mysql_async pool.
//!
//! Every statement goes through the binary (prepared-statement) protocol,
//! which takes exactly one statement: `query` cannot smuggle a `COMMIT;
//! DELETE ...` past its read-only transaction, and values arrive typed.
//! `query`, `explain` and the catalogue tools run inside
//! `START TRANSACTION READ ONLY` and roll back; without `allow_writes` the
//! session's transactions are read-only by default too. The statement
//! timeout is the server's own, set on each pooled session: `max_statement_time` (seconds,
//! every statement) on MariaDB, `max_execution_time` (milliseconds, SELECT
//! only) on MySQL; which server it is comes from `VERSION()` at open. A
//! client-side deadline backs it up with `KILL QUERY`. The pool resets a
//! session when a call gives it back and sets it up again ([`session`]), so
//! nothing one call sets reaches the next.
//!
//! Sessions use `time_zone = '+00:00'`, so `TIMESTAMP` values are UTC and
//! render as RFC 3339 with `Z`; `DATETIME` has no zone and renders without
//! one. `DECIMAL` is an exact string, binary strings are base64, `JSON`
//! columns are JSON on MySQL (MariaDB stores JSON as text and says so, so
//! there it is a string). `BOOLEAN` is `TINYINT(1)` in both, so it reads as
//! 0 or 1. Rows past `row_limit` are read and discarded, since the protocol
//! has no way to stop the server mid-result on an open connection.
//!
//! Only plain TCP connections are supported (no TLS yet).

use std::sync::Arc;

use futures::future::BoxFuture;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{
    Column, Conn, Opts, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, Value as MyValue,
};
use rmcp::model::CallToolResult;
use serde_json::{json, Value};

use super::sql::{self, Dialect, Engine, ResultSet, SqlCall, SqlDriver, SqlSettings, Statement};
use super::tool::{bytes_json, float32_json, float_json, fraction_text, tool_error};
use super::{scrub_secrets, SkillConfig, SkillError, CONNECT_TIMEOUT};

mod session;

/// Connections kept open at most.
const POOL_SIZE: usize = 4;

/// How long an idle pooled session is kept. Without it the pool keeps
/// none (its lower bound is 0), and every call connected and logged in
/// afresh.
const IDLE_SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The character set number MySQL gives binary strings and blobs.
const BINARY_CHARSET: u16 = 63;

/// Server error codes this skill tells apart.
const ER_ACCESS_DENIED: u16 = 1045;
const ER_ACCESS_DENIED_NO_PASSWORD: u16 = 1698;
const ER_READ_ONLY_TRANSACTION: u16 = 1792;
const ER_STATEMENT_TIMEOUT_MARIADB: u16 = 1969;
const ER_QUERY_TIMEOUT_MYSQL: u16 = 3024;

const DIALECT: Dialect = Dialect {
    name: "MySQL",
    placeholders: "?",
    schema_word: "database",
    engine: Engine::Mysql,
    explain_prefix: "EXPLAIN ",
};

/// Databases other than the server's own.
const LIST_SCHEMAS: &str = "SELECT schema_name AS `schema` FROM information_schema.schemata \
     WHERE schema_name NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys') \
     ORDER BY 1";

/// Tables of one database: the given one, else the URL's, else all.
const LIST_TABLES: &str = "SELECT table_schema AS `schema`, table_name AS name, \
       CASE table_type WHEN 'BASE TABLE' THEN 'table' WHEN 'VIEW' THEN 'view' \
         WHEN 'SYSTEM VERSIONED' THEN 'table' ELSE LOWER(table_type) END AS type \
     FROM information_schema.tables \
     WHERE CASE WHEN COALESCE(?, DATABASE()) IS NULL \
       THEN table_schema NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys') \
       ELSE table_schema = COALESCE(?, DATABASE()) END \
     ORDER BY 1, 2";

const DESCRIBE_TABLE: &str = "SELECT column_name AS `column`, column_type AS type, \
       is_nullable = 'YES' AS nullable, column_default AS `default`, \
       column_key = 'PRI' AS primary_key \
     FROM information_schema.columns \
     WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
     ORDER BY ordinal_position";

/// A connected MySQL or MariaDB skill.
pub(crate) struct MysqlDriver {
    /// The pooled sessions; disconnected by [`Skill::close`].
    pool: Pool,
    settings: SqlSettings,
    /// MariaDB rather than MySQL: decides the timeout variable and how
    /// column defaults read.
    mariadb: bool,
    /// The URL with its password masked, for messages.
    target: String,
    /// The user name, for the authentication-failure message.
    user: String,
    /// What the person should know about the account (FILE, SUPER),
    /// found at open.
    warnings: Vec<String>,
}

/// What the first connection learns about the server.
struct Server {
    version: String,
    global_sql_mode: String,
    warnings: Vec<String>,
}

impl MysqlDriver {
    /// Connects once to learn the server, then builds the pool and checks it.
    pub(crate) async fn open(config: &SkillConfig<'_>) -> Result<Self, SkillError> {
        let url = config.required("url")?;
        let settings = SqlSettings::parse(config)?;
        let target = scrub_secrets(url);
        let opts = Opts::from_url(url).map_err(|e| SkillError::BadConfig {
            field: "url".into(),
            problem: format!(
                "{} (expected mysql://user:password@host:3306/database)",
                scrub_secrets(&e.to_string())
            ),
        })?;
        let user = opts.user().unwrap_or("").to_string();
        let database = opts.db_name().map(str::to_string);
        let base = OptsBuilder::from_opts(opts)
            // Keep to the address the URL names; by default the driver
            // would switch to the server's Unix socket on localhost.
            .prefer_socket(false);
        let allow_writes = settings.allow_writes;
        let first = async {
            let mut conn = Conn::new(base.clone()).await?;
            let found: Option<(String, String)> = conn
                .query_first("SELECT VERSION(), @@GLOBAL.sql_mode")
                .await?;
            let (version, global_sql_mode) = found.unwrap_or_default();
            let warnings = match session::warnings(&mut conn, database.as_deref(), allow_writes).await {
                Ok(warnings) => warnings,
                Err(e) => vec![format!(
                    "could not check whether the account `{user}` has the FILE or SUPER privilege ({})",
                    scrub_secrets(&e.to_string())
                )],
            };
            conn.disconnect().await?;
            Ok::<_, mysql_async::Error>(Server {
                version,
                global_sql_mode,
                warnings,
            })
        };
        let server = match tokio::time::timeout(CONNECT_TIMEOUT, first).await {
            Ok(Ok(server)) => server,
            Ok(Err(e)) => return Err(connect_error(&target, &user, e)),
            Err(_) => {
                return Err(SkillError::Timeout {
                    after: CONNECT_TIMEOUT,
                })
            }
        };
        let mariadb = server.version.contains("MariaDB");
        let ms = settings.statement_timeout.as_millis();
        let timeout = if mariadb {
            format!("max_statement_time = {}.{:03}", ms / 1000, ms % 1000)
        } else {
            format!("max_execution_time = {ms}")
        };
        let constraints =
            PoolConstraints::new(0, POOL_SIZE).ok_or_else(|| SkillError::Backend {
                message: "invalid pool size".into(),
            })?;
        let setup = session::setup(&server.global_sql_mode, &timeout, allow_writes);
        let pool = Pool::new(
            // `setup`, unlike `init`, runs again after the pool resets a
            // session (which it does when each call gives it back).
            base.setup(setup).pool_opts(
                PoolOpts::new()
                    .with_constraints(constraints)
                    .with_inactive_connection_ttl(IDLE_SESSION_TTL)
                    .with_reset_connection(true),
            ),
        );
        let skill = MysqlDriver {
            pool,
            settings,
            mariadb,
            target,
            user,
            warnings: server.warnings,
        };
        skill.ping().await?;
        Ok(skill)
    }

    fn connect_error(&self, e: mysql_async::Error) -> SkillError {
        connect_error(&self.target, &self.user, e)
    }

    async fn connection(&self) -> Result<Conn, SkillError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.pool.get_conn()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.connect_error(e)),
            Err(_) => Err(SkillError::Timeout {
                after: CONNECT_TIMEOUT,
            }),
        }
    }

    async fn ping(&self) -> Result<(), SkillError> {
        let mut conn = self.connection().await?;
        match tokio::time::timeout(CONNECT_TIMEOUT, conn.query_drop("SELECT 1")).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.connect_error(e)),
            Err(_) => Err(SkillError::Timeout {
                after: CONNECT_TIMEOUT,
            }),
        }
    }

    /// Runs one tool call on one session under the client-side deadline.
    async fn run(&self, call: SqlCall) -> Result<CallToolResult, SkillError> {
        let mut conn = self.connection().await?;
        let id = conn.id();
        let deadline = self.settings.client_deadline();
        match tokio::time::timeout(deadline, self.dispatch(&mut conn, call)).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(mysql_async::Error::Server(server))) => Ok(self.statement_error(&server)),
            Ok(Err(e)) => Err(self.connect_error(e)),
            Err(_) => {
                // The server ignored its own limit: stop the statement from
                // another session so this one can be cleaned up.
                let kill = async {
                    let mut other = self.pool.get_conn().await?;
                    other.query_drop(format!("KILL QUERY {id}")).await
                };
                let _ = tokio::time::timeout(CONNECT_TIMEOUT, kill).await;
                Err(SkillError::Timeout { after: deadline })
            }
        }
    }

    async fn dispatch(
        &self,
        conn: &mut Conn,
        call: SqlCall,
    ) -> Result<CallToolResult, mysql_async::Error> {
        let internal = |sql: &str, params: Vec<Value>| Statement {
            sql: sql.to_string(),
            params,
        };
        let set = match call {
            SqlCall::ListSchemas => self.read_only(conn, internal(LIST_SCHEMAS, vec![])).await?,
            SqlCall::ListTables { schema } => {
                self.read_only(
                    conn,
                    internal(LIST_TABLES, vec![json!(schema), json!(schema)]),
                )
                .await?
            }
            SqlCall::DescribeTable { table, schema } => {
                let params = vec![json!(schema), json!(table)];
                return Ok(
                    match self
                        .read_only(conn, internal(DESCRIBE_TABLE, params))
                        .await?
                    {
                        Ok(mut set) => {
                            if self.mariadb {
                                // MariaDB spells "no default" as the text NULL.
                                for row in &mut set.rows {
                                    if row.get(3) == Some(&json!("NULL")) {
                                        row[3] = Value::Null;
                                    }
                                }
                            }
                            sql::describe_result(&table, schema.as_deref(), set)
                        }
                        Err(failed) => failed,
                    },
                );
            }
            // `explain`'s statement already starts with EXPLAIN.
            SqlCall::Query(statement) | SqlCall::Explain(statement) => {
                self.read_only(conn, statement).await?
            }
            SqlCall::Execute(statement) => self.fetch(conn, statement).await?,
        };
        Ok(match set {
            Ok(set) => set.into_result(),
            Err(failed) => failed,
        })
    }

    /// Runs a statement inside a read-only transaction that is rolled back.
    async fn read_only(
        &self,
        conn: &mut Conn,
        statement: Statement,
    ) -> Result<Result<ResultSet, CallToolResult>, mysql_async::Error> {
        conn.query_drop("START TRANSACTION READ ONLY").await?;
        let result = self.fetch(conn, statement).await;
        let rollback = conn.query_drop("ROLLBACK").await;
        let set = result?;
        rollback?;
        Ok(set.map(|mut set| {
            set.rows_affected = None;
            set
        }))
    }

    /// Prepares, binds and runs one statement, keeping `row_limit` rows.
    /// The inner `Err` is a parameter mismatch, reported as a tool error.
    async fn fetch(
        &self,
        conn: &mut Conn,
        statement: Statement,
    ) -> Result<Result<ResultSet, CallToolResult>, mysql_async::Error> {
        let prepared = conn.prep(statement.sql.as_str()).await?;
        let expected = usize::from(prepared.num_params());
        if expected != statement.params.len() {
            return Ok(Err(tool_error(format!(
                "the statement has {expected} placeholder(s) but {} parameter(s) were given",
                statement.params.len()
            ))));
        }
        let params = if statement.params.is_empty() {
            Params::Empty
        } else {
            Params::Positional(statement.params.iter().map(to_mysql).collect())
        };
        let mut result = conn.exec_iter(&prepared, params).await?;
        let columns: Arc<[Column]> = result.columns().unwrap_or_else(|| Arc::from(Vec::new()));
        let mut set = ResultSet {
            columns: columns.iter().map(|c| c.name_str().into_owned()).collect(),
            column_types: columns.iter().map(type_name).collect(),
            ..ResultSet::default()
        };
        while let Some(row) = result.next().await? {
            if set.rows.len() == self.settings.row_limit {
                set.truncated = true;
                break;
            }
            let values = row.unwrap();
            set.rows.push(
                values
                    .into_iter()
                    .zip(columns.iter())
                    .map(|(v, c)| to_json(v, c))
                    .collect(),
            );
        }
        set.rows_affected = Some(result.affected_rows());
        // Read and discard what is left, so the session can run the next command.
        result.drop_result().await?;
        Ok(Ok(set))
    }

    fn statement_error(&self, server: &mysql_async::ServerError) -> CallToolResult {
        let message = match server.code {
            ER_STATEMENT_TIMEOUT_MARIADB | ER_QUERY_TIMEOUT_MYSQL => {
                sql::timeout_message(&self.settings, &server.message)
            }
            ER_READ_ONLY_TRANSACTION => format!(
                "{}: `query` and `explain` run read-only; use `execute` to change data{}",
                server.message,
                if self.settings.allow_writes {
                    ""
                } else {
                    " (and set the connector's `allow_writes` setting to true)"
                }
            ),
            code => format!(
                "{} (error {code}, SQLSTATE {})",
                server.message, server.state
            ),
        };
        tool_error(scrub_secrets(&message))
    }
}

/// Classifies a failure to connect; `target` is the masked URL.
fn connect_error(target: &str, user: &str, e: mysql_async::Error) -> SkillError {
    match e {
            mysql_async::Error::Server(server)
                if server.code == ER_ACCESS_DENIED || server.code == ER_ACCESS_DENIED_NO_PASSWORD =>
            {
                SkillError::AuthFailed {
                    message: format!(
                        "MySQL at {} refused the login of user `{}` ({}): put the right user and password in the connector's `url` setting",
                        target,
                        user,
                        scrub_secrets(&server.message)
                    ),
                }
            }
            mysql_async::Error::Io(io) => SkillError::Unreachable {
                target: target.to_string(),
                message: io.to_string(),
            },
            mysql_async::Error::Driver(mysql_async::DriverError::PoolDisconnected) => SkillError::Backend {
                message: "the skill has been closed".into(),
            },
            other => SkillError::Backend {
                message: scrub_secrets(&other.to_string()),
            },
        }
}

/// A JSON parameter as a MySQL value; arrays and objects are sent as JSON text.
fn to_mysql(value: &Value) -> MyValue {
    match value {
        Value::Null => MyValue::NULL,
        Value::Bool(b) => MyValue::Int(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => MyValue::Int(i),
            (None, Some(u), _) => MyValue::UInt(u),
            (None, None, Some(f)) => MyValue::Double(f),
            _ => MyValue::Bytes(n.to_string().into_bytes()),
        },
        Value::String(s) => MyValue::Bytes(s.clone().into_bytes()),
        other => MyValue::Bytes(other.to_string().into_bytes()),
    }
}

/// One value as JSON, read by the column's type.
fn to_json(value: MyValue, column: &Column) -> Value {
    let kind = column.column_type();
    match value {
        MyValue::NULL => Value::Null,
        MyValue::Int(i) => json!(i),
        MyValue::UInt(u) => json!(u),
        MyValue::Float(f) => float32_json(f),
        MyValue::Double(d) => float_json(d),
        MyValue::Date(y, mo, d, h, mi, s, us) => {
            let date = format!("{y:04}-{mo:02}-{d:02}");
            let time = format!("{h:02}:{mi:02}:{s:02}{}", fraction_text(u64::from(us)));
            match kind {
                ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => json!(date),
                ColumnType::MYSQL_TYPE_TIMESTAMP | ColumnType::MYSQL_TYPE_TIMESTAMP2 => {
                    json!(format!("{date}T{time}Z"))
                }
                _ => json!(format!("{date}T{time}")),
            }
        }
        MyValue::Time(negative, days, h, m, s, us) => {
            let hours = days * 24 + u32::from(h);
            let sign = if negative { "-" } else { "" };
            json!(format!(
                "{sign}{hours:02}:{m:02}:{s:02}{}",
                fraction_text(u64::from(us))
            ))
        }
        MyValue::Bytes(bytes) => bytes_to_json(bytes, column),
    }
}

fn bytes_to_json(bytes: Vec<u8>, column: &Column) -> Value {
    let text = std::str::from_utf8(&bytes).ok();
    match (column.column_type(), text) {
        (ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL, Some(t)) => json!(t),
        (ColumnType::MYSQL_TYPE_JSON, Some(t)) => {
            serde_json::from_str(t).unwrap_or_else(|_| json!(t))
        }
        (ColumnType::MYSQL_TYPE_BIT, _) if bytes.len() <= 8 => {
            json!(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        }
        (_, Some(t)) if column.character_set() != BINARY_CHARSET => json!(t),
        _ => bytes_json(&bytes),
    }
}

/// A short name for a column's type, as MySQL's documentation spells it.
fn type_name(column: &Column) -> String {
    use mysql_async::consts::ColumnFlags;
    use ColumnType::*;
    let binary = column.character_set() == BINARY_CHARSET;
    let flags = column.flags();
    if flags.contains(ColumnFlags::ENUM_FLAG) {
        return "enum".into();
    }
    if flags.contains(ColumnFlags::SET_FLAG) {
        return "set".into();
    }
    let numeric = matches!(
        column.column_type(),
        MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_FLOAT
            | MYSQL_TYPE_DOUBLE
    );
    let unsigned = numeric && flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let name = match column.column_type() {
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => "decimal",
        MYSQL_TYPE_TINY => "tinyint",
        MYSQL_TYPE_SHORT => "smallint",
        MYSQL_TYPE_INT24 => "mediumint",
        MYSQL_TYPE_LONG => "int",
        MYSQL_TYPE_LONGLONG => "bigint",
        MYSQL_TYPE_FLOAT => "float",
        MYSQL_TYPE_DOUBLE => "double",
        MYSQL_TYPE_NULL => "null",
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "timestamp",
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "date",
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => "time",
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "datetime",
        MYSQL_TYPE_YEAR => "year",
        MYSQL_TYPE_BIT => "bit",
        MYSQL_TYPE_JSON => "json",
        MYSQL_TYPE_ENUM => "enum",
        MYSQL_TYPE_SET => "set",
        MYSQL_TYPE_GEOMETRY => "geometry",
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB => {
            if binary {
                "blob"
            } else {
                "text"
            }
        }
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
            if binary {
                "varbinary"
            } else {
                "varchar"
            }
        }
        MYSQL_TYPE_STRING => {
            if binary {
                "binary"
            } else {
                "char"
            }
        }
        _ => "unknown",
    };
    if unsigned {
        format!("{name} unsigned")
    } else {
        name.to_string()
    }
}

impl SqlDriver for MysqlDriver {
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
        Box::pin(MysqlDriver::run(self, call))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), SkillError>> {
        Box::pin(MysqlDriver::ping(self))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // `disconnect` consumes a handle; a clone shares the pool.
            let _ = self.pool.clone().disconnect().await;
        })
    }
}
