//! The statement guard of the SQL skills: what `query`, `explain` and
//! `execute` let through, decided on the parsed statement, before anything
//! reaches the database.
//!
//! A read-only transaction does not make a statement harmless: PostgreSQL's
//! `COPY … TO PROGRAM` runs a command and `pg_read_file()` reads any file
//! in one, MySQL's `SELECT … INTO OUTFILE` writes a file in one, and SQLite's
//! `ATTACH` creates a file with `query_only` on. So each statement is parsed
//! with [`sqlparser`] in its database's dialect and held to an allowlist:
//!
//! - [`Policy::Read`] (`query`, `explain`): plain queries (`SELECT`,
//!   `WITH … SELECT`, `VALUES`), `SHOW`/`DESCRIBE`, SQLite's reading
//!   `PRAGMA`s, and `EXPLAIN` of those (`EXPLAIN` without `ANALYZE` may also
//!   plan an `INSERT`/`UPDATE`/`DELETE`/`MERGE`, which it does not run). Inside
//!   them, nothing that writes (`SELECT … INTO`, a data-changing CTE), locks
//!   rows, or calls a function that reaches outside the database or changes
//!   the session ([`risky`]).
//! - [`Policy::Write`] (`execute` with `allow_writes`): any statement, except
//!   what reaches the server's files, programs, native code or session
//!   authorization (`COPY … TO/FROM PROGRAM|'file'`, `LOAD DATA`, `ATTACH`,
//!   `load_extension()`, `SET ROLE`, …), which needs `allow_server_files`.
//!
//! Anything that does not parse is refused (fail closed), except under
//! `allow_server_files`, where there is nothing left to refuse; exactly one
//! statement per call. The parser sees exactly the text the server runs
//! (`explain` checks its `EXPLAIN …` text, not the bare statement), and
//! where a dialect's lexer and the server could disagree the server is
//! pinned to the parser's reading (see the skills: `standard_conforming_strings`
//! on PostgreSQL, `sql_mode` on MySQL) or the text is refused (MariaDB's
//! `/*M! … */` comments, which the server runs and the parser skips).
//!
//! The guard is the first wall. The second is each database's own: the
//! read-only transaction (PostgreSQL, MySQL), `default_transaction_read_only`
//! and `SESSION TRANSACTION READ ONLY`, and SQLite's authorizer. Neither can
//! see inside functions, views or procedures that already exist, which is
//! why the skills warn when the connecting role could do these things.

use std::ops::ControlFlow;

use sqlparser::ast::{Statement, Visit};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

mod risky;
#[cfg(test)]
mod tests;
mod walk;

pub(crate) use risky::{pragma_places_files, pragma_reads};

/// Which database's SQL a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Postgres,
    Mysql,
    Sqlite,
}

impl Engine {
    fn dialect(self) -> &'static dyn Dialect {
        static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
        static MYSQL: MySqlDialect = MySqlDialect {};
        static SQLITE: SQLiteDialect = SQLiteDialect {};
        match self {
            Engine::Postgres => &POSTGRES,
            Engine::Mysql => &MYSQL,
            Engine::Sqlite => &SQLITE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Mysql => "MySQL",
            Engine::Sqlite => "SQLite",
        }
    }
}

/// What one call may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// `query` and `explain`: reads only, whatever the connector allows.
    Read,
    /// `execute` on a connector with `allow_writes`: changes to data and
    /// schema; reaching the server's files, programs, native code or
    /// session authorization only with `allow_server_files`.
    Write { allow_server_files: bool },
}

/// Checks one call's SQL, exactly as it will be sent, against `policy`.
/// `Err` is the message for the person: what was refused, why, and what
/// would allow it.
pub(crate) fn check(engine: Engine, tool: &str, sql: &str, policy: Policy) -> Result<(), String> {
    let unchecked_allowed = policy
        == Policy::Write {
            allow_server_files: true,
        };
    let tokens = match Tokenizer::new(engine.dialect(), sql).tokenize_with_location() {
        Ok(tokens) => tokens,
        Err(_) if unchecked_allowed => return Ok(()),
        Err(e) => return Err(unparsed(engine, tool, &e.to_string())),
    };
    if !unchecked_allowed {
        if sql.contains('\0') {
            return Err(format!(
                "the SQL given to `{tool}` holds a NUL character, which the server would cut it at: remove it"
            ));
        }
        if let Some(why) = tokens
            .iter()
            .find_map(|t| lexed_otherwise(engine, &t.token))
        {
            return Err(format!(
                "the statement was not run: {why}, so the statement check cannot be sure what the server would run"
            ));
        }
    }
    let file_clause = (engine == Engine::Mysql)
        .then(|| tokens.iter().find_map(|t| mysql_file_clause(&t.token)))
        .flatten();
    let statements = match Parser::new(engine.dialect())
        .with_tokens_with_locations(tokens)
        .parse_statements()
    {
        Ok(statements) => statements,
        Err(_) if unchecked_allowed => return Ok(()),
        // The parser does not know MySQL's file clauses; say what they are.
        Err(e) => {
            return Err(match file_clause {
                Some(what) => file_refusal(what, tool, policy),
                None => unparsed(engine, tool, &e.to_string()),
            })
        }
    };
    let statement = match statements.as_slice() {
        [one] => one,
        [] => {
            return Err(format!(
                "`{tool}` got no SQL statement: the text is empty or only comments"
            ))
        }
        more => {
            return Err(format!(
                "give `{tool}` one statement per call: this text holds {} (separated by `;`)",
                more.len()
            ))
        }
    };
    // A top-level EXPLAIN is judged by what it explains: without ANALYZE
    // nothing runs, so a write may be planned; with it the statement runs.
    let (root, plan_only) = match statement {
        Statement::Explain {
            analyze,
            options,
            statement,
            ..
        } => (
            statement.as_ref(),
            !(*analyze || walk::analyze_option(options)),
        ),
        other => (other, false),
    };
    let mut walker = walk::Walker::new(engine, tool, policy, plan_only);
    match root.visit(&mut walker) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(refusal) => Err(refusal),
    }
}

/// Whether the guard refuses calls of the function `name` in the
/// read-only tools; with `reaches_out`, only those that also need
/// `allow_server_files` in `execute`. For walls behind the guard that see
/// function calls themselves (SQLite's authorizer).
pub(crate) fn function_refused(engine: Engine, name: &str, reaches_out: bool) -> bool {
    risky::function(engine, name)
        .is_some_and(|risky| !reaches_out || risky.class == risky::Class::Reach)
}

/// MySQL's clauses that name a server file, which the parser does not
/// know: `INTO OUTFILE`, `INTO DUMPFILE`, `LOAD DATA|XML … INFILE`.
fn mysql_file_clause(token: &Token) -> Option<&'static str> {
    let Token::Word(word) = token else {
        return None;
    };
    if word.quote_style.is_some() {
        return None;
    }
    match word.value.to_ascii_uppercase().as_str() {
        "OUTFILE" => Some("`SELECT … INTO OUTFILE`"),
        "DUMPFILE" => Some("`SELECT … INTO DUMPFILE`"),
        "INFILE" => Some("`LOAD … INFILE`"),
        _ => None,
    }
}

/// A token the server would read differently from the parser, which
/// could hide SQL from the check: why, if so.
///
/// - MariaDB runs `/*M! … */` comments as SQL; the parser skips them.
///   (MySQL's own `/*! … */` the parser reads as SQL, so the check sees it.)
/// - MySQL ends a `--` comment's marker only with ASCII whitespace or a
///   control character; the parser also takes Unicode spaces (U+00A0, …),
///   where MySQL reads `- -` and an identifier, and runs the rest of the line.
/// - PostgreSQL's dollar-quote tags cannot start with a digit (`$1$` is a
///   parameter and then an error); the parser takes them as quotes.
fn lexed_otherwise(engine: Engine, token: &Token) -> Option<String> {
    match (engine, token) {
        (Engine::Mysql, Token::Whitespace(Whitespace::MultiLineComment(text)))
            if text.starts_with("M!") || text.starts_with("m!") =>
        {
            Some("it holds a MariaDB executable comment (`/*M!…*/`), which the server runs as SQL: write that SQL outside the comment".into())
        }
        (Engine::Mysql, Token::Whitespace(Whitespace::SingleLineComment { prefix, comment }))
            if prefix == "--" && comment.chars().next().is_some_and(|c| !c.is_ascii()) =>
        {
            Some("a `--` comment is followed by a character MySQL does not take as a space: put an ASCII space after `--`".into())
        }
        (Engine::Postgres, Token::DollarQuotedString(quoted))
            if !quoted.tag.as_deref().is_none_or(postgres_dollar_tag) =>
        {
            Some("a dollar quote's tag is not one PostgreSQL accepts (it cannot start with a digit): use `$$` or a tag such as `$q$`".into())
        }
        _ => None,
    }
}

/// Whether PostgreSQL takes `tag` as a dollar-quote tag: a letter, `_` or
/// a non-ASCII character, then those or digits.
fn postgres_dollar_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || !c.is_ascii())
        && chars.all(|c| c.is_alphanumeric() || c == '_' || !c.is_ascii())
}

/// The refusal of a MySQL file clause.
fn file_refusal(what: &str, tool: &str, policy: Policy) -> String {
    match policy {
        Policy::Read => format!(
            "{what} works on files of the database server, so `{tool}` refuses it: the read-only tools never touch the server's files (`execute` runs it only when the connector has both `allow_writes` and `allow_server_files` set to true)"
        ),
        Policy::Write { .. } => format!(
            "{what} works on files of the database server: set `allow_server_files=true` on this connector to allow it"
        ),
    }
}

/// The refusal of text the parser could not read.
fn unparsed(engine: Engine, tool: &str, error: &str) -> String {
    let error = error.trim_start_matches("sql parser error: ");
    let way_out = if tool == "execute" {
        "`execute` runs a statement it cannot check only when the connector's `allow_server_files` setting is true"
    } else {
        "read-only tools run only statements they can check"
    };
    format!(
        "the statement was not run: it could not be checked as {} SQL ({error}), and {way_out}. Write it in plainer SQL, or one statement at a time",
        engine.name()
    )
}
