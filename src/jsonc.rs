//! Shared helpers for editing JSON-with-comments through jsonc-parser's
//! CST, used by the settings store and by the MCP client config files:
//! the parse options VS Code accepts, finding properties the way JSON
//! parsers do, matching a file's trailing-comma style, and setting a value
//! at a path while leaving every other byte alone.

use std::collections::VecDeque;

use jsonc_parser::cst::{
    CstContainerNode, CstInputValue, CstNode, CstObject, CstObjectProp, CstRootNode,
    TrailingCommaMode,
};
use jsonc_parser::ParseOptions;
use serde_json::Value;

/// What VS Code accepts in settings.json: comments and trailing commas, nothing looser. A file
/// VS Code flags as broken is one we must not rewrite.
pub(crate) fn parse_options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Whether the file ends multi-line objects and arrays with a comma, judged like jsonc-parser
/// does (first multi-line container, outermost first) but on newlines, since one-line
/// containers never get trailing commas anyway.
pub(crate) fn trailing_comma_mode(root: &CstRootNode) -> TrailingCommaMode {
    let mut pending = VecDeque::from([CstContainerNode::Root(root.clone())]);
    while let Some(node) = pending.pop_front() {
        let children = node.children();
        if children.iter().any(CstNode::is_newline) {
            let last_has_comma = match &node {
                CstContainerNode::Object(object) => object
                    .properties()
                    .last()
                    .map(|prop| prop.trailing_comma().is_some()),
                CstContainerNode::Array(array) => array
                    .elements()
                    .last()
                    .map(|elem| elem.trailing_comma().is_some()),
                _ => None,
            };
            match last_has_comma {
                Some(true) => return TrailingCommaMode::IfMultiline,
                Some(false) => return TrailingCommaMode::Never,
                None => {}
            }
        }
        pending.extend(children.into_iter().filter_map(|child| match child {
            CstNode::Container(container) => Some(container),
            CstNode::Leaf(_) => None,
        }));
    }
    TrailingCommaMode::Never
}

/// Sets the value at `path` under `root`, creating missing objects on the
/// way (the missing rest of the path is written as one value, laid out like
/// any other inserted value; a non-object on the way is replaced). Only the
/// addressed property changes; `commas` is the file's trailing-comma habit.
/// An empty path does nothing.
pub(crate) fn set_path(
    root: &CstRootNode,
    path: &[&str],
    value: CstInputValue,
    commas: TrailingCommaMode,
) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut object = root.object_value_or_set();
    for (depth, key) in parents.iter().enumerate() {
        let prop = find_prop(&object, key);
        if let Some(nested) = prop.as_ref().and_then(CstObjectProp::object_value) {
            object = nested;
            continue;
        }
        let branch = path[depth + 1..].iter().rev().fold(value, |inner, key| {
            CstInputValue::Object(vec![(key.to_string(), inner)])
        });
        put(&object, prop, key, branch, commas);
        return;
    }
    put(&object, find_prop(&object, last), last, value, commas);
}

fn put(
    object: &CstObject,
    existing: Option<CstObjectProp>,
    key: &str,
    value: CstInputValue,
    commas: TrailingCommaMode,
) {
    let prop = match existing {
        Some(prop) => {
            prop.set_value(value);
            prop
        }
        None => object.append(key, value),
    };
    // jsonc-parser guesses comma style from the neighbourhood (or from the
    // value being replaced), which is often a scalar that says nothing; use
    // the file-wide habit instead.
    match prop.value() {
        Some(CstNode::Container(CstContainerNode::Object(object))) => {
            object.set_trailing_commas(commas)
        }
        Some(CstNode::Container(CstContainerNode::Array(array))) => {
            array.set_trailing_commas(commas)
        }
        _ => {}
    }
}

/// Follows `keys` down from `object` through nested objects.
pub(crate) fn walk(object: CstObject, keys: &[&str]) -> Option<CstObject> {
    keys.iter().try_fold(object, |object, key| {
        find_prop(&object, key)?.object_value()
    })
}

/// The last property named `name`: with duplicate keys, JSON parsers (VS Code's included) keep
/// the last one.
pub(crate) fn find_prop(object: &CstObject, name: &str) -> Option<CstObjectProp> {
    object
        .properties()
        .into_iter()
        .rev()
        .find(|prop| prop.decoded_name().as_deref() == Some(name))
}

pub(crate) fn node_to_value(node: &CstNode) -> Option<Value> {
    // The node's text is a complete JSONC value, comments included; reparsing it reuses the
    // library's number and escape handling instead of duplicating it here.
    parse_value(&node.to_string()).ok().flatten()
}

/// Parses JSONC text into a value; `None` for a text with no value at all. Unlike
/// `jsonc_parser::parse_to_serde_value`, a number JSON allows but `f64` cannot hold (`1e400`)
/// does not fail the whole file: it is read as the string of its text, since such a value can
/// only be someone else's setting, and the editor keeps its bytes anyway.
pub(crate) fn parse_value(text: &str) -> Result<Option<Value>, jsonc_parser::errors::ParseError> {
    Ok(jsonc_parser::parse_to_value(text, &parse_options())?.map(to_serde))
}

fn to_serde(value: jsonc_parser::JsonValue) -> Value {
    use jsonc_parser::JsonValue;
    match value {
        JsonValue::Null => Value::Null,
        JsonValue::Boolean(b) => Value::Bool(b),
        JsonValue::String(s) => Value::String(s.into_owned()),
        JsonValue::Number(text) => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        JsonValue::Array(items) => Value::Array(items.into_iter().map(to_serde).collect()),
        JsonValue::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(k, v)| (k.into_owned(), to_serde(v)))
                .collect(),
        ),
    }
}
