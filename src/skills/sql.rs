//! What the three SQL skills (postgres, mysql, sqlite) share: their
//! settings, their six tools and the JSON Schemas of their inputs, argument
//! checking, the statement guard ([`guard`]: what read-only means), and the
//! shape of a result.
//!
//! Every SQL tool answers with the same structure, so a caller learns it
//! once: `structured_content` is
//! `{"columns": [..], "column_types": [..], "rows": [[..], ..], "row_count": n, "truncated": bool}`
//! (plus `rows_affected` for `execute`), and the text content renders the
//! same rows as a compact table for a person or a model to read.

use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Value};

use super::tool::{schema_object, tool_error, write_refused, Args};
use super::{SkillConfig, SkillError};

mod guard;
mod skill;

use guard::Policy;
pub(crate) use guard::{function_refused, pragma_places_files, pragma_reads, Engine};
pub(crate) use skill::{SqlDriver, SqlSkill};

/// Extra time the client waits beyond `statement_timeout_ms` before it gives
/// up on the server itself (the server's own timeout should fire first).
pub(crate) const CLIENT_GRACE: Duration = Duration::from_secs(2);

/// Widest a cell may be in the text rendering, in characters.
const MAX_CELL_CHARS: usize = 60;

/// The settings every SQL skill reads besides its connection.
#[derive(Debug, Clone)]
pub(crate) struct SqlSettings {
    /// Whether `execute` may run; `query` is read-only whatever this says.
    pub allow_writes: bool,
    /// Whether `execute` may also reach outside the database: server files
    /// and programs (`COPY … PROGRAM`, `INTO OUTFILE`, `LOAD DATA`),
    /// native code (`load_extension`, `CREATE EXTENSION`), other database
    /// files (`ATTACH`) and the session's role (`SET ROLE`).
    pub allow_server_files: bool,
    /// Most rows any tool returns; more are not read and `truncated` is set.
    pub row_limit: usize,
    /// How long one statement may run on the server.
    pub statement_timeout: Duration,
}

impl SqlSettings {
    /// Reads `allow_writes`, `allow_server_files`, `row_limit` and
    /// `statement_timeout_ms`, as the catalog defines them (defaults and
    /// ranges).
    pub fn parse(config: &SkillConfig<'_>) -> Result<Self, SkillError> {
        let allow_writes = config.flag("allow_writes")?;
        let allow_server_files = config.flag("allow_server_files")?;
        let row_limit = config.number("row_limit")?;
        let timeout_ms = config.number("statement_timeout_ms")?;
        Ok(SqlSettings {
            allow_writes,
            allow_server_files,
            // The catalog's range keeps this well inside usize and i32.
            row_limit: usize::try_from(row_limit).unwrap_or(1000),
            statement_timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// The client-side deadline for one tool call.
    pub fn client_deadline(&self) -> Duration {
        self.statement_timeout + CLIENT_GRACE
    }
}

/// How the tool descriptions talk about one database.
pub(crate) struct Dialect {
    /// The product name, e.g. `PostgreSQL`.
    pub name: &'static str,
    /// How parameters are written in SQL, e.g. `$1, $2`.
    pub placeholders: &'static str,
    /// What this database calls a namespace of tables.
    pub schema_word: &'static str,
    /// Whose SQL the statement guard parses.
    pub engine: Engine,
    /// What `explain` puts before the statement (`EXPLAIN `).
    pub explain_prefix: &'static str,
}

/// One parsed call of a SQL tool.
#[derive(Debug)]
pub(crate) enum SqlCall {
    ListSchemas,
    ListTables {
        schema: Option<String>,
    },
    DescribeTable {
        table: String,
        schema: Option<String>,
    },
    Query(Statement),
    Explain(Statement),
    Execute(Statement),
}

/// SQL text and the values bound to its placeholders.
#[derive(Debug)]
pub(crate) struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
}

/// The tool list of a SQL skill. `warnings` (a dangerous role, found at
/// connect) end the descriptions of the tools that run SQL, so whoever
/// reads the tool list through the gateway sees them.
pub(crate) fn tools(dialect: &Dialect, settings: &SqlSettings, warnings: &[String]) -> Vec<Tool> {
    let db = dialect.name;
    let schema = dialect.schema_word;
    let sql_input = |verb: &str| {
        schema_object(
            json!({
                "sql": {"type": "string", "description": format!("One SQL statement to {verb}")},
                "params": {
                    "type": "array",
                    "description": format!("Values for the statement's placeholders ({}), in order; they are bound, never spliced into the SQL", dialect.placeholders),
                    "items": {}
                }
            }),
            &["sql"],
        )
    };
    let read_only = ToolAnnotations::new().read_only(true).open_world(false);
    let writes = match (settings.allow_writes, settings.allow_server_files) {
        (false, _) => "Writes are disabled for this connector: this tool is refused until `allow_writes` is set to true.",
        (true, false) => "Writes are enabled for this connector; statements that reach outside the database (server files and programs such as COPY … PROGRAM or INTO OUTFILE, LOAD DATA, extensions, ATTACH, SET ROLE) are refused unless `allow_server_files` is set to true.",
        (true, true) => "Writes are enabled for this connector, and so are statements that reach outside the database (`allow_server_files`: server files and programs, extensions, ATTACH, SET ROLE).",
    };
    let warned = |description: String| {
        warnings.iter().fold(description, |text, warning| {
            format!("{text}\n\nWarning: {warning}")
        })
    };
    vec![
        Tool::new(
            "list_schemas",
            format!("List the {schema}s of the {db} database."),
            schema_object(json!({}), &[]),
        )
        .annotate(read_only.clone()),
        Tool::new(
            "list_tables",
            format!("List tables and views with their {schema} and kind. Without `schema`, lists every non-system {schema}."),
            schema_object(
                json!({"schema": {"type": "string", "description": format!("Only this {schema}")}}),
                &[],
            ),
        )
        .annotate(read_only.clone()),
        Tool::new(
            "describe_table",
            "Describe a table's columns: name, type, whether it is nullable, its default, and whether it is part of the primary key.",
            schema_object(
                json!({
                    "table": {"type": "string", "description": "The table's name, unquoted"},
                    "schema": {"type": "string", "description": format!("Its {schema}; without it, the table the connection sees by default")}
                }),
                &["table"],
            ),
        )
        .annotate(read_only.clone()),
        Tool::new(
            "query",
            warned(format!(
                "Run one read-only SQL statement on {db} and return its rows (at most {} rows; `truncated` says when there were more). Only reads are accepted: SELECT, WITH … SELECT, VALUES, SHOW and EXPLAIN of those. Statements that change data, lock rows, read or write server files, run programs, load extensions or change session settings are refused before they reach the database, and the rest runs in a read-only transaction with a {} ms statement timeout. Use `execute` to change data.",
                settings.row_limit,
                settings.statement_timeout.as_millis()
            )),
            sql_input("run"),
        )
        .annotate(read_only.clone()),
        Tool::new(
            "explain",
            warned(format!("Show {db}'s plan for one SQL statement without running it (give the statement without `EXPLAIN`). `ANALYZE`, which runs the statement, is accepted for reads only.")),
            sql_input("explain"),
        )
        .annotate(read_only),
        Tool::new(
            "execute",
            warned(format!("Run one SQL statement that changes data or schema (INSERT, UPDATE, DELETE, CREATE, ...) and return the number of rows it affected, plus any rows it returns. {writes}")),
            sql_input("execute"),
        )
        .annotate(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(true)
                .open_world(false),
        ),
    ]
}

/// Parses a SQL tool call and holds its SQL to the statement guard. `Err`
/// is the result to return as is: an unknown tool, bad arguments, a write
/// refused because `allow_writes` is off, or a statement the guard refused.
/// `Explain` carries the whole `EXPLAIN …` text, as checked and as run.
pub(crate) fn parse_call(
    dialect: &Dialect,
    tool: &str,
    arguments: JsonObject,
    settings: &SqlSettings,
) -> Result<SqlCall, CallToolResult> {
    let args = Args::new(tool, arguments);
    let call = match tool {
        "list_schemas" => {
            args.only(&[])?;
            SqlCall::ListSchemas
        }
        "list_tables" => {
            args.only(&["schema"])?;
            SqlCall::ListTables {
                schema: args.opt_str("schema")?,
            }
        }
        "describe_table" => {
            args.only(&["table", "schema"])?;
            SqlCall::DescribeTable {
                table: args.req_str("table")?,
                schema: args.opt_str("schema")?,
            }
        }
        "query" | "explain" | "execute" => {
            args.only(&["sql", "params"])?;
            let mut statement = Statement {
                sql: args.req_str("sql")?,
                params: args.opt_array("params")?,
            };
            let policy = match tool {
                "execute" if !settings.allow_writes => return Err(write_refused(tool)),
                "execute" => Policy::Write {
                    allow_server_files: settings.allow_server_files,
                },
                _ => Policy::Read,
            };
            if tool == "explain" {
                statement.sql = format!("{}{}", dialect.explain_prefix, statement.sql);
            }
            guard::check(dialect.engine, tool, &statement.sql, policy).map_err(tool_error)?;
            match tool {
                "query" => SqlCall::Query(statement),
                "explain" => SqlCall::Explain(statement),
                _ => SqlCall::Execute(statement),
            }
        }
        other => {
            return Err(tool_error(format!(
                "there is no tool named `{other}`; the tools are list_schemas, list_tables, describe_table, query, explain and execute"
            )))
        }
    };
    Ok(call)
}

/// The message for a statement that hit the server's statement timeout.
pub(crate) fn timeout_message(settings: &SqlSettings, detail: &str) -> String {
    format!(
        "the statement was cancelled after statement_timeout_ms = {} ({detail}); simplify it, or raise the connector's `statement_timeout_ms` setting",
        settings.statement_timeout.as_millis()
    )
}

/// Rows read from a statement, ready to become a tool result.
#[derive(Debug, Default)]
pub(crate) struct ResultSet {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// The database's name for each column's type (empty when unknown).
    pub column_types: Vec<String>,
    /// The rows read, at most `row_limit` of them.
    pub rows: Vec<Vec<Value>>,
    /// Whether the statement had more rows than were read.
    pub truncated: bool,
    /// For `execute`: how many rows the statement changed.
    pub rows_affected: Option<u64>,
}

impl ResultSet {
    /// The structured content: columns, rows, count and truncation.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "columns": self.columns,
            "column_types": self.column_types,
            "rows": self.rows,
            "row_count": self.rows.len(),
            "truncated": self.truncated,
        });
        if let (Some(affected), Some(map)) = (self.rows_affected, out.as_object_mut()) {
            map.insert("rows_affected".into(), json!(affected));
        }
        out
    }

    /// The tool result: structured content plus a text table.
    pub fn into_result(self) -> CallToolResult {
        let text = self.render();
        let mut result = CallToolResult::structured(self.to_json());
        result.content = vec![ContentBlock::text(text)];
        result
    }

    /// A compact text table of the rows, with a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.columns.is_empty() {
            let cells: Vec<Vec<String>> = self
                .rows
                .iter()
                .map(|row| row.iter().map(cell_text).collect())
                .collect();
            let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
            for row in &cells {
                for (i, cell) in row.iter().enumerate() {
                    if let Some(w) = widths.get_mut(i) {
                        *w = (*w).max(cell.chars().count());
                    }
                }
            }
            push_row(&mut out, self.columns.iter().map(String::as_str), &widths);
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("-+-"));
            out.push('\n');
            for row in &cells {
                push_row(&mut out, row.iter().map(String::as_str), &widths);
            }
        }
        let n = self.rows.len();
        out.push_str(&format!("({n} row{}", if n == 1 { "" } else { "s" }));
        if self.truncated {
            out.push_str(", truncated at the row limit");
        }
        if let Some(affected) = self.rows_affected {
            out.push_str(&format!(", {affected} affected"));
        }
        out.push(')');
        out
    }
}

fn push_row<'s>(out: &mut String, cells: impl Iterator<Item = &'s str>, widths: &[usize]) {
    let padded: Vec<String> = cells
        .zip(widths)
        .map(|(cell, width)| format!("{cell:<width$}"))
        .collect();
    out.push_str(padded.join(" | ").trim_end());
    out.push('\n');
}

/// One cell as table text: strings bare, NULL as `NULL`, the rest as JSON,
/// on one line and cut to [`MAX_CELL_CHARS`].
fn cell_text(value: &Value) -> String {
    let text = match value {
        Value::Null => "NULL".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let one_line = text.replace('\n', "\\n").replace('\r', "\\r");
    if one_line.chars().count() > MAX_CELL_CHARS {
        let cut: String = one_line.chars().take(MAX_CELL_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// The result of `describe_table`, from rows of
/// `(column, type, nullable, default, primary_key)`; `nullable` and
/// `primary_key` may arrive as 0/1 and are made booleans here.
pub(crate) fn describe_result(
    table: &str,
    schema: Option<&str>,
    mut set: ResultSet,
) -> CallToolResult {
    if set.rows.is_empty() {
        let place = schema.map_or(String::new(), |s| format!(" in `{s}`"));
        return tool_error(format!(
            "no table or view named `{table}`{place}: `list_tables` shows the names"
        ));
    }
    let mut primary_key = Vec::new();
    for row in &mut set.rows {
        for index in [2, 4] {
            if let Some(cell) = row.get_mut(index) {
                *cell = Value::Bool(truthy(cell));
            }
        }
        if row.get(4) == Some(&Value::Bool(true)) {
            primary_key.push(row.first().cloned().unwrap_or(Value::Null));
        }
    }
    set.columns = ["column", "type", "nullable", "default", "primary_key"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = set.render();
    let mut structured = set.to_json();
    if let Some(map) = structured.as_object_mut() {
        map.insert("table".into(), json!(table));
        map.insert("schema".into(), json!(schema));
        map.insert("primary_key".into(), Value::Array(primary_key));
    }
    let mut result = CallToolResult::structured(structured);
    result.content = vec![ContentBlock::text(text)];
    result
}

/// Whether a cell that should be a flag is set (`true`, non-zero, `"YES"`).
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "t"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rendering_pads_cuts_and_summarises() {
        let set = ResultSet {
            columns: vec!["id".into(), "name".into()],
            column_types: vec!["int4".into(), "text".into()],
            rows: vec![vec![json!(1), json!("alice")], vec![json!(22), Value::Null]],
            truncated: true,
            rows_affected: None,
        };
        assert_eq!(
            set.render(),
            "id | name\n---+------\n1  | alice\n22 | NULL\n(2 rows, truncated at the row limit)"
        );
        assert_eq!(
            cell_text(&json!("x".repeat(100))).chars().count(),
            MAX_CELL_CHARS
        );
    }

    #[test]
    fn execute_is_refused_without_allow_writes() {
        let settings = SqlSettings {
            allow_writes: false,
            allow_server_files: false,
            row_limit: 10,
            statement_timeout: Duration::from_secs(1),
        };
        let mut args = JsonObject::new();
        args.insert("sql".into(), json!("DELETE FROM t"));
        let refused = parse_call(&TEST_DIALECT, "execute", args, &settings);
        assert!(matches!(refused, Err(r) if r.is_error == Some(true)));
        let mut bad = JsonObject::new();
        bad.insert("sql".into(), json!(1));
        assert!(parse_call(&TEST_DIALECT, "query", bad, &settings).is_err());
    }

    const TEST_DIALECT: Dialect = Dialect {
        name: "PostgreSQL",
        placeholders: "$1",
        schema_word: "schema",
        engine: Engine::Postgres,
        explain_prefix: "EXPLAIN ",
    };

    #[test]
    fn explain_is_checked_as_the_text_it_runs() {
        let settings = SqlSettings {
            allow_writes: true,
            allow_server_files: false,
            row_limit: 10,
            statement_timeout: Duration::from_secs(1),
        };
        let call = |tool: &str, sql: &str| {
            let mut args = JsonObject::new();
            args.insert("sql".into(), json!(sql));
            parse_call(&TEST_DIALECT, tool, args, &settings)
        };
        assert!(matches!(
            call("explain", "select 1"),
            Ok(SqlCall::Explain(Statement { sql, .. })) if sql == "EXPLAIN select 1"
        ));
        // `ANALYZE DELETE …` alone does not parse; after the prefix it is
        // EXPLAIN ANALYZE of a write, which runs it.
        assert!(call("explain", "ANALYZE DELETE FROM t").is_err());
        assert!(call("explain", "DELETE FROM t").is_ok());
        assert!(call("query", "copy (select 1) to program 'id'").is_err());
        assert!(call("execute", "copy (select 1) to program 'id'").is_err());
        assert!(call("execute", "delete from t").is_ok());
    }
}
