//! What the SQL skills' hostile-input tests share: calling a tool and
//! reading its result, unique names, and a directory the database server's
//! own user may write into (so a statement that should not run leaves a
//! file we can look for, and one that should run leaves one we can remove).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rmcp::model::{CallToolResult, JsonObject};
use serde_json::Value;
use switchboard::skills::Skill;

pub async fn call(skill: &dyn Skill, tool: &str, arguments: Value) -> CallToolResult {
    let arguments: JsonObject = arguments.as_object().cloned().unwrap();
    skill.call(tool, arguments).await.unwrap()
}

pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.clone())
        .collect()
}

pub fn ok(result: &CallToolResult) -> &Value {
    assert_eq!(
        result.is_error,
        Some(false),
        "expected success, got: {}",
        text(result)
    );
    result.structured_content.as_ref().unwrap()
}

pub fn failed(result: &CallToolResult) -> String {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a tool error, got: {}",
        text(result)
    );
    text(result)
}

/// Runs `sql` with `tool` and asserts the skill refused it, returning the
/// message.
pub async fn refused(skill: &dyn Skill, tool: &str, sql: &str) -> String {
    let result = call(skill, tool, serde_json::json!({ "sql": sql })).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "`{tool}` ran {sql:?}: {}",
        text(&result)
    );
    text(&result)
}

/// A short random hex string for names.
pub fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// A temporary directory anyone may write into (the database servers run
/// as their own users on this machine); removed with what they wrote.
pub struct SharedDir {
    dir: tempfile::TempDir,
}

impl SharedDir {
    pub fn new() -> SharedDir {
        let dir = tempfile::Builder::new()
            .prefix("sb-sql-hostile-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        SharedDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file name inside it, as text for SQL.
    pub fn file(&self, name: &str) -> (PathBuf, String) {
        let path = self.dir.path().join(name);
        let text = path.to_string_lossy().into_owned();
        (path, text)
    }
}
