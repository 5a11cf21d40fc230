//! The one `Skill` every SQL database is served by: the tools, argument
//! checks and refusals are written once here, over a small [`SqlDriver`]
//! that each database implements (run a parsed call, ping, close).

use futures::future::BoxFuture;
use rmcp::model::{CallToolResult, JsonObject, Tool};

use super::{parse_call, tools, Dialect, SqlCall, SqlSettings};
use crate::skills::{Skill, SkillError};

/// What a SQL skill needs of its database.
pub(crate) trait SqlDriver: Send + Sync + 'static {
    /// How this database is spoken to (its name, placeholders, namespaces).
    fn dialect(&self) -> &'static Dialect;
    /// The settings read when it opened.
    fn settings(&self) -> &SqlSettings;
    /// What the person should know about the role it connected as.
    fn warnings(&self) -> &[String] {
        &[]
    }
    /// Runs one checked tool call under the settings' deadline. A statement
    /// the database refused is a tool error; `Err` is a lost connection.
    fn run(&self, call: SqlCall) -> BoxFuture<'_, Result<CallToolResult, SkillError>>;
    /// A real round trip (`SELECT 1`).
    fn ping(&self) -> BoxFuture<'_, Result<(), SkillError>>;
    /// Closes the pool or the connection.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// A SQL database served as a skill.
pub(crate) struct SqlSkill<D>(pub D);

impl<D: SqlDriver> Skill for SqlSkill<D> {
    fn tools(&self) -> Vec<Tool> {
        tools(self.0.dialect(), self.0.settings(), self.0.warnings())
    }

    fn warnings(&self) -> Vec<String> {
        self.0.warnings().to_vec()
    }

    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
    ) -> BoxFuture<'a, Result<CallToolResult, SkillError>> {
        Box::pin(async move {
            match parse_call(self.0.dialect(), tool, arguments, self.0.settings()) {
                Ok(call) => self.0.run(call).await,
                Err(result) => Ok(result),
            }
        })
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<(), SkillError>> {
        self.0.ping()
    }

    fn close<'a>(&'a self) -> BoxFuture<'a, ()> {
        self.0.close()
    }
}
