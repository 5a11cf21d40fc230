//! Built-in skills: connectors whose tools are Rust code in this crate that
//! talks to the service directly, instead of an MCP server.
//!
//! A [`Skill`] answers the same questions an MCP connector does (its tools,
//! and a call to one of them) with MCP's own types from [`rmcp::model`], so
//! the connector service and the gateway never care which backend they hold.
//! [`open`] turns a skill name and its configuration field values into a
//! live skill: it connects and makes one real round trip before it returns,
//! so a skill that opened is a skill that works.
//!
//! | skill | driver | why this driver |
//! | --- | --- | --- |
//! | `postgres` | `tokio-postgres` + `deadpool-postgres` | the reference async driver; it exposes each column's full type (arrays, enums, domains, composites) and portals, so a row limit stops the server sending rows instead of dropping them on our side |
//! | `mysql` | `mysql_async` | the maintained async MySQL/MariaDB driver; its [`Value`](mysql_async::Value) plus column metadata map every type without guessing, and it has its own pool |
//! | `sqlite` | `rusqlite` (bundled SQLite) | the standard binding; a progress handler gives a real statement timeout and the bundled library needs nothing installed |
//! | `redis` | `redis` with its connection manager | the standard client; the manager reconnects by itself after the server restarts |
//!
//! `sqlx` was the alternative for the three SQL databases; it was not chosen
//! because it decodes by Rust type rather than by server type, and binds
//! parameters with types it picks itself, so `WHERE id = $1` with a string
//! fails on PostgreSQL where a prepared statement's inferred types work.
//!
//! Errors come in two kinds. A tool that ran and failed (bad SQL, a refused
//! write, a statement timeout) is a [`CallToolResult`] with `is_error` set and
//! a message for the person; a [`SkillError`] means the skill itself cannot
//! reach or use its service. Neither ever carries a password: every message
//! that could contain the connection URL goes through [`scrub_secrets`].

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::{CallToolResult, JsonObject, Tool};

mod config;
mod mysql;
mod postgres;
mod redis;
mod sql;
mod sqlite;
mod tool;

use sql::SqlSkill;

/// A built-in implementation of a connector's tools.
pub trait Skill: Send + Sync {
    /// The tools, with JSON Schemas for their inputs (rmcp::model::Tool).
    fn tools(&self) -> Vec<Tool>;
    /// Runs one tool. Tool-level failures (bad SQL, a refused write) are a
    /// CallToolResult with is_error = Some(true) and a clear text; SkillError
    /// is for connection-level failure.
    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
    ) -> BoxFuture<'a, Result<CallToolResult, SkillError>>;
    /// A real round trip (SELECT 1 / PING); used before `connected` and by health checks.
    fn check<'a>(&'a self) -> BoxFuture<'a, Result<(), SkillError>>;
    /// Closes pools/connections.
    fn close<'a>(&'a self) -> BoxFuture<'a, ()>;
    /// What the person should know about how this skill is connected, found
    /// when it opened: a database role that could read server files or run
    /// programs, with how to make a better one. Shown by `status`, `config`,
    /// the dashboard, and in the tools' descriptions.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The skills this build has.
pub use crate::catalog::SkillKind;
pub(crate) use config::SkillConfig;

/// Opens a skill by name with its config field values (field name -> value),
/// read through the catalog's definition of the skill's fields (defaults,
/// kinds, ranges). Connects and performs check() before returning.
pub async fn open(
    skill: SkillKind,
    values: &BTreeMap<String, String>,
) -> Result<Box<dyn Skill>, SkillError> {
    let config = SkillConfig::for_skill(skill, values)?;
    Ok(match skill {
        SkillKind::Postgres => Box::new(SqlSkill(postgres::PostgresDriver::open(&config).await?)),
        SkillKind::Mysql => Box::new(SqlSkill(mysql::MysqlDriver::open(&config).await?)),
        SkillKind::Redis => Box::new(redis::RedisSkill::open(&config).await?),
        SkillKind::Sqlite => Box::new(SqlSkill(sqlite::SqliteDriver::open(&config).await?)),
    })
}

/// Why a skill could not open, or could not reach its service.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// No skill has that name.
    #[error("there is no built-in skill named `{name}`; the skills are postgres, mysql, redis and sqlite")]
    UnknownSkill { name: String },
    /// A required configuration field has no value.
    #[error("the `{field}` setting is required")]
    MissingField { field: String },
    /// A configuration field has a value the skill cannot use.
    #[error("the `{field}` setting is invalid: {problem}")]
    BadConfig { field: String, problem: String },
    /// The service refused the credentials; the message says which and how
    /// to replace them.
    #[error("{message}")]
    AuthFailed { message: String },
    /// The host refused the connection or could not be reached. `target` is
    /// the address with any password masked.
    #[error("could not reach {target}: {message}")]
    Unreachable { target: String, message: String },
    /// The service did not answer in time.
    #[error("no answer within {} ms", after.as_millis())]
    Timeout { after: Duration },
    /// Anything else the driver reported, with secrets removed.
    #[error("{message}")]
    Backend { message: String },
}

/// How long connecting (TCP, TLS-less handshake, authentication) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Masks credentials in text that may quote a connection string: the
/// password of `scheme://user:password@host` becomes `***`, as does the value
/// of any `password=` parameter (URL query or libpq `key=value` form).
pub fn scrub_secrets(text: &str) -> String {
    let masked = mask_userinfo_passwords(text);
    mask_password_params(&masked)
}

/// `scheme://user:pass@host` → `scheme://user:***@host`, for every URL in `text`.
fn mask_userinfo_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let authority_start = at + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        // The authority ends at the first `/`, `?`, `#` or whitespace; its
        // userinfo ends at the last `@` inside it (a password may hold `@`).
        let end = after
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at_sign) => {
                let userinfo = &authority[..at_sign];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at_sign..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `password=secret` → `password=***` (case-insensitive; the value ends at
/// `&`, whitespace, or its closing quote when quoted).
fn mask_password_params(text: &str) -> String {
    const KEY: &str = "password=";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find(KEY) {
        let value_start = pos + found + KEY.len();
        out.push_str(&text[pos..value_start]);
        let value = &text[value_start..];
        let len = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |close| close + 2)
        } else {
            value
                .find(|c: char| c == '&' || c.is_whitespace())
                .unwrap_or(value.len())
        };
        out.push_str("***");
        pos = value_start + len;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_masks_url_passwords_and_keeps_the_rest() {
        assert_eq!(
            scrub_secrets(
                "could not connect to postgres://alice:s3cr@t@db:5432/app?sslmode=disable"
            ),
            "could not connect to postgres://alice:***@db:5432/app?sslmode=disable"
        );
        assert_eq!(
            scrub_secrets("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            scrub_secrets("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(
            scrub_secrets("host=db user=bob password='a b' dbname=x"),
            "host=db user=bob password=*** dbname=x"
        );
        assert_eq!(
            scrub_secrets("postgres://db/app?user=bob&Password=pw&x=1"),
            "postgres://db/app?user=bob&Password=***&x=1"
        );
    }
}
