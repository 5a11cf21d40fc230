//! The walk over a parsed statement: every statement, query, `SELECT`,
//! expression and table reference in the tree, nested ones included (a
//! CTE's `DELETE`, a subquery's function call, `FROM pg_ls_dir('/')`), each
//! held to the call's [`Policy`]. The first problem stops the walk with
//! its message.

use std::ops::ControlFlow;

use sqlparser::ast::{
    ContextModifier, CopyTarget, Expr, Ident, ObjectName, Query, Select, Set, Statement,
    TableFactor, UtilityOption, Visitor,
};

use super::risky::{self, Class};
use super::{Engine, Policy};

/// Holds one statement's tree to a policy.
pub(super) struct Walker<'a> {
    engine: Engine,
    /// The tool, for messages.
    tool: &'a str,
    policy: Policy,
    /// The tree is only planned (`EXPLAIN` without `ANALYZE`), so a
    /// data-changing statement in it does not run.
    plan_only: bool,
}

type Step = ControlFlow<String>;

impl<'a> Walker<'a> {
    pub(super) fn new(engine: Engine, tool: &'a str, policy: Policy, plan_only: bool) -> Self {
        Walker {
            engine,
            tool,
            policy,
            plan_only,
        }
    }

    /// A statement anywhere in the tree (the root, or one nested in a CTE).
    fn statement(&self, statement: &Statement) -> Step {
        match self.policy {
            Policy::Read => self.read_statement(statement),
            Policy::Write {
                allow_server_files: false,
            } => match reach_of_statement(self.engine, statement) {
                Some(what) => self.needs_server_files(what),
                None => ControlFlow::Continue(()),
            },
            Policy::Write {
                allow_server_files: true,
            } => ControlFlow::Continue(()),
        }
    }

    /// The read-only allowlist of statement kinds.
    fn read_statement(&self, statement: &Statement) -> Step {
        let reads = match statement {
            Statement::Query(_)
            | Statement::ExplainTable { .. }
            | Statement::ShowFunctions { .. }
            | Statement::ShowVariable { .. }
            | Statement::ShowStatus { .. }
            | Statement::ShowVariables { .. }
            | Statement::ShowCreate { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowCatalogs { .. }
            | Statement::ShowDatabases { .. }
            | Statement::ShowProcessList { .. }
            | Statement::ShowSchemas { .. }
            | Statement::ShowCharset(_)
            | Statement::ShowObjects(_)
            | Statement::ShowTables { .. }
            | Statement::ShowViews { .. }
            | Statement::ShowCollation { .. } => true,
            Statement::Pragma { name, value, is_eq } => {
                self.engine == Engine::Sqlite
                    && risky::pragma_reads(&last_name(name), value.is_some(), *is_eq)
            }
            Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_) => self.plan_only,
            _ => false,
        };
        if reads {
            return ControlFlow::Continue(());
        }
        if let Some(what) = reach_of_statement(self.engine, statement) {
            return self.read_refusal(what, true);
        }
        let kind = statement_kind(statement);
        let hint = match statement {
            Statement::Explain { .. } => "give `EXPLAIN` once, at the start".to_string(),
            Statement::Pragma { .. } => {
                "only PRAGMAs that read run here; settings are the connector's to choose"
                    .to_string()
            }
            _ => "use `execute` for it (it needs the connector's `allow_writes` set to true)"
                .to_string(),
        };
        ControlFlow::Break(format!(
            "`{tool}` is read-only: it runs only statements that read (SELECT, WITH … SELECT, VALUES, SHOW, EXPLAIN of a read){nested}, and this is `{kind}`; {hint}",
            tool = self.tool,
            nested = if self.plan_only { " and plans writes without running them" } else { "" },
        ))
    }

    /// A function called anywhere: in an expression or as a table.
    fn function(&self, name: &ObjectName) -> Step {
        let dotted = name
            .0
            .iter()
            .filter_map(|part| part.as_ident())
            .map(|ident| ident.value.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let Some(risky) = risky::function(self.engine, &dotted) else {
            return ControlFlow::Continue(());
        };
        let name = last_name(name);
        let what = format!("`{name}()` {}", risky.does);
        match (self.policy, risky.class) {
            (Policy::Read, Class::Reach) => self.read_refusal(&what, true),
            (Policy::Read, Class::Admin) => self.read_refusal(&what, false),
            (Policy::Write { allow_server_files }, Class::Reach) if !allow_server_files => {
                self.needs_server_files(&what)
            }
            (Policy::Write { .. }, _) => ControlFlow::Continue(()),
        }
    }

    /// The refusal of something a read-only tool never does.
    fn read_refusal(&self, what: &str, reach: bool) -> Step {
        let elsewhere = if reach {
            "`execute` runs it only when the connector has both `allow_writes` and `allow_server_files` set to true"
        } else {
            "`execute` runs it when the connector's `allow_writes` is true"
        };
        ControlFlow::Break(format!(
            "{what}, so `{}` refuses it: the read-only tools never touch the server's files, programs or settings ({elsewhere})",
            self.tool
        ))
    }

    /// The refusal of something `execute` does only with the opt-in.
    fn needs_server_files(&self, what: &str) -> Step {
        ControlFlow::Break(format!(
            "{what}: set `allow_server_files=true` on this connector to allow it"
        ))
    }
}

impl Visitor for Walker<'_> {
    type Break = String;

    fn pre_visit_statement(&mut self, statement: &Statement) -> Step {
        self.statement(statement)
    }

    fn pre_visit_query(&mut self, query: &Query) -> Step {
        if self.policy == Policy::Read && !query.locks.is_empty() {
            return ControlFlow::Break(format!(
                "`SELECT … FOR UPDATE/SHARE` locks rows, so `{}` refuses it: use `execute` to lock and change rows",
                self.tool
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> Step {
        if self.policy == Policy::Read && select.into.is_some() {
            return ControlFlow::Break(format!(
                "`SELECT … INTO` creates a table or sets variables, so `{}` refuses it: use a plain `SELECT` to read, or `execute` to create a table",
                self.tool
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> Step {
        match expr {
            Expr::Function(function) => self.function(&function.name),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, table: &TableFactor) -> Step {
        match table {
            // `FROM f(args)`: a set-returning function, not a table.
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => self.function(name),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// What a statement reaches outside the database, if anything: the part of
/// the message before "set `allow_server_files=true`".
fn reach_of_statement(engine: Engine, statement: &Statement) -> Option<&'static str> {
    match statement {
        Statement::Copy {
            target: CopyTarget::Program { .. },
            ..
        } => Some("`COPY … PROGRAM` runs a program on the database server"),
        Statement::Copy {
            target: CopyTarget::File { .. },
            to,
            ..
        } => Some(if *to {
            "`COPY … TO 'file'` writes a file on the database server"
        } else {
            "`COPY … FROM 'file'` reads a file on the database server"
        }),
        Statement::Set(set) => reach_of_set(set),
        Statement::AttachDatabase { .. } | Statement::AttachDuckDBDatabase { .. } => {
            Some("`ATTACH` opens, or creates, another database file")
        }
        Statement::Load { .. } | Statement::Install { .. } => {
            Some("`LOAD` loads native code into the database server")
        }
        Statement::LoadData { .. } => Some("`LOAD DATA` reads a file"),
        Statement::CreateExtension(_) => {
            Some("`CREATE EXTENSION` installs code that can reach the server's files and programs")
        }
        Statement::CreateServer(_)
        | Statement::CreateForeignDataWrapper(_)
        | Statement::CreateForeignTable(_)
        | Statement::CreateUserMapping(_) => {
            Some("foreign data wrappers can read server files, run programs and connect to other servers")
        }
        Statement::CreateFunction(function) if untrusted_language(engine, &function.language) => {
            Some("a function in this language runs native code on the database server")
        }
        Statement::CreateProcedure { language, .. } if untrusted_language(engine, language) => {
            Some("a procedure in this language runs native code on the database server")
        }
        Statement::Execute { .. } => Some("`EXECUTE` runs SQL that the statement check cannot see"),
        Statement::Directory { .. }
        | Statement::Unload { .. }
        | Statement::ExportData(_)
        | Statement::Put { .. }
        | Statement::Remove(_)
        | Statement::List(_)
        | Statement::CopyIntoSnowflake { .. } => Some("this statement reads or writes files"),
        Statement::Pragma { name, .. } if risky::pragma_places_files(&last_name(name)) => {
            Some("this PRAGMA chooses where SQLite writes files")
        }
        _ => None,
    }
}

/// `SET ROLE`, `SET SESSION AUTHORIZATION`, `SET role = …` and
/// `SET GLOBAL …` (which changes the whole server's settings).
fn reach_of_set(set: &Set) -> Option<&'static str> {
    const AUTHORIZATION: &str = "changing the session's role or authorization";
    const GLOBAL: &str = "`SET GLOBAL` changes the whole server's settings";
    let assignment = |scope: &Option<ContextModifier>, name: &ObjectName| {
        if matches!(scope, Some(ContextModifier::Global)) {
            return Some(GLOBAL);
        }
        let name = last_name(name).to_ascii_lowercase();
        matches!(name.as_str(), "role" | "session_authorization").then_some(AUTHORIZATION)
    };
    match set {
        Set::SetRole { .. } | Set::SetSessionAuthorization(_) => Some(AUTHORIZATION),
        Set::SingleAssignment {
            scope, variable, ..
        } => assignment(scope, variable),
        Set::MultipleAssignments { assignments } => assignments
            .iter()
            .find_map(|a| assignment(&a.scope, &a.name)),
        Set::ParenthesizedAssignments { variables, .. } => {
            variables.iter().find_map(|v| assignment(&None, v))
        }
        _ => None,
    }
}

/// A PostgreSQL function language other than SQL and PL/pgSQL (C,
/// `internal`, the untrusted PL/Python, PL/Perl, …). MySQL's stored
/// functions are SQL; its native UDFs (`SONAME`) do not parse.
fn untrusted_language(engine: Engine, language: &Option<Ident>) -> bool {
    engine == Engine::Postgres
        && language
            .as_ref()
            .is_some_and(|l| !matches!(l.value.to_ascii_lowercase().as_str(), "sql" | "plpgsql"))
}

/// Whether EXPLAIN's parenthesised options may make it run the statement:
/// any option but the ones known only to shape the plan's output (so
/// `ANALYZE`, `ANALYSE`, whatever their argument, and anything unknown).
pub(super) fn analyze_option(options: &Option<Vec<UtilityOption>>) -> bool {
    const PLAN_ONLY: &[&str] = &[
        "verbose",
        "costs",
        "settings",
        "generic_plan",
        "buffers",
        "wal",
        "timing",
        "summary",
        "memory",
        "format",
    ];
    options.as_ref().is_some_and(|options| {
        options
            .iter()
            .any(|o| !PLAN_ONLY.contains(&o.name.value.to_ascii_lowercase().as_str()))
    })
}

/// The last part of a name (`pg_catalog.pg_read_file` → `pg_read_file`).
fn last_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map_or_else(|| name.to_string(), |ident| ident.value.clone())
}

/// A statement's kind for a message: its first keyword, two for
/// `CREATE`/`DROP`/`ALTER` (`DELETE`, `CREATE TABLE`).
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or("").to_ascii_uppercase();
    match first.as_str() {
        "CREATE" | "DROP" | "ALTER" => {
            let second = words
                .find(|w| {
                    !matches!(
                        w.to_ascii_uppercase().as_str(),
                        "OR" | "REPLACE" | "TEMPORARY" | "TEMP" | "UNIQUE"
                    )
                })
                .unwrap_or("")
                .to_ascii_uppercase();
            format!("{first} {second}")
        }
        _ => first,
    }
}
