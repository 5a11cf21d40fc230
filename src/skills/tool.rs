//! Plumbing every skill shares: checked tool arguments, error results,
//! input schemas, and the JSON forms of values JSON has no type for
//! (binary data, non-finite floats).

use std::sync::Arc;

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::{json, Map, Value};

/// Builds a JSON Schema object with the given properties.
pub(crate) fn schema_object(properties: Value, required: &[&str]) -> Arc<JsonObject> {
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), properties);
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    Arc::new(schema)
}

/// The result for a write tool called while `allow_writes` is off.
pub(crate) fn write_refused(tool: &str) -> CallToolResult {
    tool_error(format!(
        "`{tool}` changes data, and this connector is read-only: set its `allow_writes` setting to true to allow writes"
    ))
}

/// A tool-level failure with a message for the person.
pub(crate) fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// Checked access to a call's arguments, with errors that name the tool.
pub(crate) struct Args<'a> {
    tool: &'a str,
    map: JsonObject,
}

impl<'a> Args<'a> {
    /// Wraps a call's arguments.
    pub fn new(tool: &'a str, map: JsonObject) -> Self {
        Args { tool, map }
    }

    /// Fails on any argument not in `allowed`.
    pub fn only(&self, allowed: &[&str]) -> Result<(), CallToolResult> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(unknown) if allowed.is_empty() => Err(tool_error(format!(
                "`{}` takes no arguments, but got `{unknown}`",
                self.tool
            ))),
            Some(unknown) => Err(tool_error(format!(
                "`{}` has no argument `{unknown}`; it takes {}",
                self.tool,
                allowed.join(", ")
            ))),
        }
    }

    /// A required string argument.
    pub fn req_str(&self, name: &str) -> Result<String, CallToolResult> {
        self.opt_str(name)?.ok_or_else(|| {
            tool_error(format!(
                "`{}` needs the argument `{name}` (a string)",
                self.tool
            ))
        })
    }

    /// An optional string argument (`null` counts as absent).
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, CallToolResult> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong_type(name, "a string", other)),
        }
    }

    /// An optional array argument; absent is empty.
    pub fn opt_array(&self, name: &str) -> Result<Vec<Value>, CallToolResult> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(other) => Err(self.wrong_type(name, "an array", other)),
        }
    }

    /// An optional whole number argument.
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, CallToolResult> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(other) => Err(self.wrong_type(name, "a whole number", other)),
        }
    }

    fn wrong_type(&self, name: &str, expected: &str, got: &Value) -> CallToolResult {
        tool_error(format!(
            "`{}`: the argument `{name}` must be {expected}, not {got}",
            self.tool
        ))
    }
}

/// A float as JSON: a number when finite, else its name as a string
/// (`NaN`, `Infinity`, `-Infinity`), since JSON has no such numbers.
pub(crate) fn float_json(f: f64) -> Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => json!("NaN"),
        None if f > 0.0 => json!("Infinity"),
        None => json!("-Infinity"),
    }
}

/// A single-precision float as JSON, by its shortest decimal form, so a
/// stored `0.1` reads as `0.1` rather than `0.10000000149011612`.
pub(crate) fn float32_json(f: f32) -> Value {
    f.to_string()
        .parse::<f64>()
        .map_or_else(|_| float_json(f64::from(f)), float_json)
}

/// Microseconds as a fraction of a second: `.25` for 250000, empty for 0.
pub(crate) fn fraction_text(micros: u64) -> String {
    if micros == 0 {
        return String::new();
    }
    let digits = format!("{micros:06}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// Binary data as JSON: standard base64.
pub(crate) fn bytes_json(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Decodes standard base64 (the form [`bytes_json`] writes).
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}
