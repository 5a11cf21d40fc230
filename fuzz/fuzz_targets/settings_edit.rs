//! Fuzzes the settings editor: arbitrary bytes as the settings file, an
//! edit of the keys Switchboard owns, and the result read back. Whatever
//! the input, nothing panics; a file the editor refuses is left byte for
//! byte; a file it edits still parses, holds exactly the values set, keeps
//! every other key's value, keeps every other top-level property's text
//! byte for byte, and a second identical edit changes nothing.
#![no_main]

use std::sync::OnceLock;

use jsonc_parser::cst::CstRootNode;
use jsonc_parser::ParseOptions;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use switchboard::SettingsStore;

const STATES: &str = "codebuddy.connectors.states";
const SERVERS: &str = "codebuddy.mcp.servers";
const CUSTOM: &str = "codebuddy.connectors.custom";

/// What VS Code accepts and the editor uses: comments and trailing commas.
fn options() -> ParseOptions {
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

/// One directory for the whole run, on tmpfs when there is one.
fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        tempfile::Builder::new()
            .prefix("sb-fuzz-settings-")
            .tempdir_in(base)
            .expect("temp dir")
    })
    .path()
}

fn edit(store: &SettingsStore) -> Result<(), switchboard::settings::SettingsError> {
    store
        .edit(|ed| {
            ed.set(&[STATES, "fz"], json!("connected"));
            ed.set(
                &[SERVERS, "fz"],
                json!({"type": "stdio", "command": "node", "args": ["a b", "\"q\"", "\u{e9}"]}),
            );
            ed.remove(&[CUSTOM, "gone"]);
            Ok::<(), ()>(())
        })
        .map(|_| ())
}

/// The top-level properties not ours, as (name, source text), in order.
fn other_props(text: &str) -> Vec<(String, String)> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Ok(root) = CstRootNode::parse(body, &options()) else {
        return Vec::new();
    };
    let Some(object) = root.object_value() else {
        return Vec::new();
    };
    object
        .properties()
        .into_iter()
        .filter_map(|p| Some((p.decoded_name()?, p.to_string())))
        .filter(|(name, _)| ![STATES, SERVERS, CUSTOM].contains(&name.as_str()))
        .collect()
}

fn parse(text: &str) -> Option<Map<String, Value>> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    match jsonc_parser::parse_to_serde_value::<Value>(body, &options()) {
        Ok(Value::Object(map)) => Some(map),
        Ok(Value::Null) => Some(Map::new()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let path = dir().join("settings.json");
    std::fs::write(&path, data).expect("write input");
    let store = SettingsStore::new(&path);
    let loaded = store.load();
    let result = edit(&store);
    let after = std::fs::read(&path).expect("read back");
    let Ok(()) = result else {
        assert_eq!(after, data, "a refused edit changed the file");
        return;
    };
    // The editor accepted it, so the input was a valid settings file.
    let before_text = std::str::from_utf8(data).expect("accepted input is UTF-8");
    let after_text = std::str::from_utf8(&after).expect("output is UTF-8");
    let body = after_text.strip_prefix('\u{feff}').unwrap_or(after_text);
    assert!(
        CstRootNode::parse(body, &options()).is_ok(),
        "the edited file does not parse:\n{after_text}"
    );
    let Some(before) = parse(before_text) else {
        // Valid JSON that serde_json cannot hold (a number past f64, like
        // 1e400). `load` once refused such a file while `edit` wrote it
        // (found here; regression test in tests/faults_fuzz.rs): both must
        // accept it. The value checks below need serde, so they stop here.
        assert!(loaded.is_ok(), "edit accepted a file load refuses: {loaded:?}");
        return;
    };
    assert!(loaded.is_ok(), "edit accepted what load refused");
    let Some(now) = parse(after_text) else {
        panic!("the edited file does not parse:\n{after_text}");
    };

    // Our values are there.
    assert_eq!(now[STATES]["fz"], json!("connected"), "{after_text}");
    assert_eq!(now[SERVERS]["fz"]["args"][0], json!("a b"), "{after_text}");
    assert!(
        now.get(CUSTOM).and_then(|c| c.get("gone")).is_none(),
        "{after_text}"
    );
    // Every other key keeps its value; our objects keep their other entries.
    for (key, value) in &before {
        match key.as_str() {
            STATES | SERVERS | CUSTOM => {
                if let Value::Object(inner) = value {
                    for (k, v) in inner {
                        if k != "fz" && k != "gone" {
                            assert_eq!(now[key].get(k), Some(v), "{key}.{k} lost:\n{after_text}");
                        }
                    }
                }
            }
            _ => assert_eq!(now.get(key), Some(value), "{key} changed:\n{after_text}"),
        }
    }
    assert_eq!(
        now.keys()
            .filter(|k| ![STATES, SERVERS, CUSTOM].contains(&k.as_str()))
            .count(),
        before
            .keys()
            .filter(|k| ![STATES, SERVERS, CUSTOM].contains(&k.as_str()))
            .count(),
        "keys appeared:\n{after_text}"
    );
    // Every other top-level property's text is kept byte for byte.
    for (name, text) in other_props(before_text) {
        assert!(
            after_text.contains(&text),
            "the text of {name:?} changed:\n{before_text}\n---\n{after_text}"
        );
    }
    // A byte order mark stays.
    assert_eq!(
        before_text.starts_with('\u{feff}'),
        after_text.starts_with('\u{feff}')
    );
    // Doing it again changes nothing.
    edit(&store).expect("second edit");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        after,
        "a repeated edit changed the file"
    );
});
