//! Integration tests for `switchboard::settings`: edits must touch only the keys addressed and
//! leave every other byte of the user's settings.json alone, even under concurrent editors.

// Test code: a failed unwrap is a failed assertion with a backtrace, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use switchboard::settings::{SettingsEditor, SettingsError, SettingsStore};

const STATES: &str = "codebuddy.connectors.states";
const SERVERS: &str = "codebuddy.mcp.servers";
const CUSTOM: &str = "codebuddy.connectors.custom";

/// Everything in the golden file up to the point where our edits start to appear.
const GOLDEN_HEAD: &str = r#"// Settings synced from my laptop.
/* Do not edit by hand
   on the work machine. */
{
    /* Editor */
    "editor.fontSize": 14,
    "editor.rulers": [80, 120,], // both
      "files.exclude": {
          "**/.git": true, // keep
          "**/node_modules": true,
      },
    "workbench.colorTheme": "Solarized Dark", // theme

    // Connectors (managed by Switchboard)
    "codebuddy.connectors.states": {
        "github":    "enabled", // on by default
"#;
/// Our pre-existing object's closing brace.
const GOLDEN_STATES_END: &str = "    },\n";
/// Everything in the golden file after our keys.
const GOLDEN_TAIL: &str = "}\n// the end\n";

fn golden() -> String {
    format!("{GOLDEN_HEAD}{GOLDEN_STATES_END}{GOLDEN_TAIL}")
}

/// A temp dir holding `settings.json` with `contents` (or no file for `None`).
fn setup(contents: Option<&str>) -> (tempfile::TempDir, PathBuf, SettingsStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    if let Some(contents) = contents {
        fs::write(&path, contents).unwrap();
    }
    let store = SettingsStore::new(&path);
    (dir, path, store)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// Runs one infallible edit.
fn edit(store: &SettingsStore, f: impl FnOnce(&mut SettingsEditor)) {
    store
        .edit(|editor| {
            f(editor);
            Ok::<_, std::convert::Infallible>(())
        })
        .unwrap()
        .unwrap();
}

/// Only the settings file and its lock may be left in the directory: no temp files.
fn assert_no_temp_files(dir: &Path) {
    let names: BTreeSet<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let allowed: BTreeSet<String> = ["settings.json", "settings.json.lock"]
        .map(String::from)
        .into();
    assert!(
        names.is_subset(&allowed),
        "unexpected files left behind: {names:?}"
    );
}

type Step = (&'static str, Box<dyn Fn(&mut SettingsEditor)>);

#[test]
fn golden_edits_keep_everything_else_byte_for_byte() {
    let original = golden();
    let (dir, path, store) = setup(Some(&original));
    let steps: Vec<Step> = vec![
        (
            "add slack",
            Box::new(|e| e.set(&[STATES, "slack"], json!("enabled"))),
        ),
        (
            "add jira",
            Box::new(|e| e.set(&[STATES, "jira"], json!("enabled"))),
        ),
        (
            "flip jira",
            Box::new(|e| e.set(&[STATES, "jira"], json!("disabled"))),
        ),
        (
            "same github",
            Box::new(|e| e.set(&[STATES, "github"], json!("enabled"))),
        ),
        (
            "add fs",
            Box::new(|e| {
                e.set(
                    &[SERVERS, "fs"],
                    json!({"args": ["-y", "fs"], "command": "npx"}),
                )
            }),
        ),
        (
            "add git",
            Box::new(|e| {
                e.set(
                    &[SERVERS, "git"],
                    json!({"args": ["git"], "command": "uvx", "env": {"A": "1"}}),
                )
            }),
        ),
        (
            "fs args",
            Box::new(|e| e.set(&[SERVERS, "fs", "args"], json!(["-y", "fs", "/tmp"]))),
        ),
        (
            "fs disabled",
            Box::new(|e| e.set(&[SERVERS, "fs", "disabled"], json!(true))),
        ),
        (
            "rm env A",
            Box::new(|e| assert!(e.remove(&[SERVERS, "git", "env", "A"]))),
        ),
        (
            "rm absent",
            Box::new(|e| assert!(!e.remove(&[SERVERS, "nope", "x"]))),
        ),
        (
            "add custom",
            Box::new(|e| e.set(&[CUSTOM, "mine", "url"], json!("http://x"))),
        ),
        (
            "custom url",
            Box::new(|e| e.set(&[CUSTOM, "mine", "url"], json!("https://y"))),
        ),
        (
            "git scalar",
            Box::new(|e| e.set(&[SERVERS, "git"], json!("oops"))),
        ),
        (
            "git through scalar",
            Box::new(|e| e.set(&[SERVERS, "git", "command"], json!("uvx"))),
        ),
        (
            "rm fs disabled",
            Box::new(|e| assert!(e.remove(&[SERVERS, "fs", "disabled"]))),
        ),
    ];
    for (name, step) in steps {
        edit(&store, step);
        let text = read(&path);
        assert_eq!(
            &text[..GOLDEN_HEAD.len()],
            GOLDEN_HEAD,
            "head changed after {name}"
        );
        assert_eq!(
            &text[text.len() - GOLDEN_TAIL.len()..],
            GOLDEN_TAIL,
            "tail changed after {name}"
        );
        assert_no_temp_files(dir.path());
    }
    let expected = format!(
        r#"{GOLDEN_HEAD}        "slack": "enabled",
        "jira": "disabled",
    }},
    "codebuddy.mcp.servers": {{
        "fs": {{
            "args": ["-y", "fs", "/tmp"],
            "command": "npx",
        }},
        "git": {{
            "command": "uvx",
        }},
    }},
    "codebuddy.connectors.custom": {{
        "mine": {{
            "url": "https://y",
        }},
    }},
{GOLDEN_TAIL}"#
    );
    assert_eq!(read(&path), expected);

    let snapshot = store.load().unwrap();
    assert_eq!(
        snapshot.get(&[SERVERS, "fs", "args", "2"]),
        None,
        "arrays are not indexed by paths"
    );
    assert_eq!(
        snapshot.get(&[SERVERS, "fs", "args"]),
        Some(&json!(["-y", "fs", "/tmp"]))
    );
    assert_eq!(snapshot.get(&[STATES, "github"]), Some(&json!("enabled")));
    assert_eq!(snapshot.get(&["editor.fontSize"]), Some(&json!(14)));
    assert_eq!(snapshot.get(&[]), None);

    let removals: Vec<Step> = vec![
        ("rm custom", Box::new(|e| assert!(e.remove(&[CUSTOM])))),
        ("rm servers", Box::new(|e| assert!(e.remove(&[SERVERS])))),
        (
            "rm slack",
            Box::new(|e| assert!(e.remove(&[STATES, "slack"]))),
        ),
        (
            "rm jira",
            Box::new(|e| assert!(e.remove(&[STATES, "jira"]))),
        ),
    ];
    for (name, step) in removals {
        edit(&store, step);
        let text = read(&path);
        assert_eq!(
            &text[..GOLDEN_HEAD.len()],
            GOLDEN_HEAD,
            "head changed after {name}"
        );
        assert_eq!(
            &text[text.len() - GOLDEN_TAIL.len()..],
            GOLDEN_TAIL,
            "tail changed after {name}"
        );
        assert_no_temp_files(dir.path());
    }
    assert_eq!(read(&path), original);
}

#[test]
fn editor_reads_what_it_set_within_one_edit() {
    let (_dir, _path, store) = setup(Some(&golden()));
    let seen = store
        .edit(|e| {
            e.set(&[SERVERS, "fs", "command"], json!("npx"));
            Ok::<_, ()>((
                e.get(&[SERVERS, "fs"]),
                e.get(&["editor.rulers"]),
                e.get(&[SERVERS, "x"]),
                e.get(&[]),
            ))
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        seen,
        (
            Some(json!({"command": "npx"})),
            Some(json!([80, 120])),
            None,
            None
        )
    );
}

#[test]
fn malformed_file_is_reported_with_position_and_never_written() {
    for (contents, line, column) in [
        (r#"{ "a": 1,, }"#, 1, 10),
        ("{\n  \"a\": 1,\n  \"b\": [1, 2\n", 3, 8),
        ("{\n  'a': 1\n}\n", 2, 3),
    ] {
        let (dir, path, store) = setup(Some(contents));
        let mut called = false;
        let err = store
            .edit(|e| {
                called = true;
                e.set(&[STATES, "x"], json!("enabled"));
                Ok::<_, ()>(())
            })
            .unwrap_err();
        assert!(!called, "the closure must not run on a malformed file");
        match &err {
            SettingsError::Malformed {
                path: p,
                line: l,
                column: c,
                ..
            } => {
                assert_eq!((p, *l, *c), (&path, line, column), "for {contents:?}");
            }
            other => panic!("expected Malformed for {contents:?}, got {other:?}"),
        }
        let message = err.to_string();
        let expected_position = format!("at line {line}, column {column}");
        for needle in [
            path.display().to_string().as_str(),
            &expected_position,
            "left untouched",
            "fix it by hand",
        ] {
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        assert_eq!(read(&path), contents);
        assert_no_temp_files(dir.path());
        assert!(matches!(store.load(), Err(SettingsError::Malformed { .. })));
    }
}

#[test]
fn non_object_top_level_is_refused() {
    for contents in ["[1, 2]\n", "null", "// hi\n\"text\"\n"] {
        let (dir, path, store) = setup(Some(contents));
        let err = store
            .edit(|e| {
                e.set(&[STATES, "x"], json!(1));
                Ok::<_, ()>(())
            })
            .unwrap_err();
        assert!(
            matches!(&err, SettingsError::NotAnObject { path: p } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("left untouched"));
        assert!(matches!(
            store.load(),
            Err(SettingsError::NotAnObject { .. })
        ));
        assert_eq!(read(&path), contents);
        assert_no_temp_files(dir.path());
    }
}

#[test]
fn missing_file_loads_empty_and_edit_creates_it_with_parent_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("User").join("nested").join("settings.json");
    let store = SettingsStore::new(&path);
    assert_eq!(store.path(), path);
    assert_eq!(store.load().unwrap().get(&[STATES]), None);
    assert!(!path.exists(), "load must not create the file");

    // An edit that changes nothing must not create the file either.
    edit(&store, |e| assert!(!e.remove(&[STATES, "x"])));
    assert!(!path.exists());

    edit(&store, |e| e.set(&[SERVERS, "fs", "command"], json!("npx")));
    assert_eq!(
        read(&path),
        "{\n  \"codebuddy.mcp.servers\": {\n    \"fs\": {\n      \"command\": \"npx\"\n    }\n  }\n}\n"
    );
    assert_eq!(
        store.load().unwrap().get(&[SERVERS, "fs", "command"]),
        Some(&json!("npx"))
    );
    assert_no_temp_files(path.parent().unwrap());
}

#[test]
fn empty_and_comment_only_files_edit_as_empty_objects() {
    for (contents, expected) in [
        ("", "{\n  \"codebuddy.connectors.states\": {\n    \"a\": \"enabled\"\n  }\n}\n"),
        (
            "// my settings\n",
            "// my settings\n{\n  \"codebuddy.connectors.states\": {\n    \"a\": \"enabled\"\n  }\n}\n",
        ),
        (
            "/* nothing yet */",
            "/* nothing yet */\n{\n  \"codebuddy.connectors.states\": {\n    \"a\": \"enabled\"\n  }\n}\n",
        ),
    ] {
        let (dir, path, store) = setup(Some(contents));
        assert_eq!(store.load().unwrap().get(&[STATES]), None);
        edit(&store, |e| e.set(&[STATES, "a"], json!("enabled")));
        assert_eq!(read(&path), expected, "starting from {contents:?}");
        assert_no_temp_files(dir.path());
    }
}

#[test]
fn trailing_commas_bom_and_crlf_are_kept() {
    let original = "\u{feff}{\r\n\t\"editor.tabSize\": 2, // tabs\r\n\t\"codebuddy.connectors.states\": {\r\n\t\t\"a\": \"enabled\",\r\n\t},\r\n}\r\n";
    let (dir, path, store) = setup(Some(original));
    edit(&store, |e| {
        e.set(&[STATES, "b"], json!("disabled"));
        e.set(&[SERVERS, "fs"], json!({"args": ["x"], "env": {"K": "v"}}));
    });
    let expected = "\u{feff}{\r\n\t\"editor.tabSize\": 2, // tabs\r\n\t\"codebuddy.connectors.states\": {\r\n\t\t\"a\": \"enabled\",\r\n\t\t\"b\": \"disabled\",\r\n\t},\r\n\t\"codebuddy.mcp.servers\": {\r\n\t\t\"fs\": {\r\n\t\t\t\"args\": [\"x\"],\r\n\t\t\t\"env\": {\r\n\t\t\t\t\"K\": \"v\",\r\n\t\t\t},\r\n\t\t},\r\n\t},\r\n}\r\n";
    assert_eq!(read(&path), expected);
    assert_eq!(
        store.load().unwrap().get(&[STATES, "a"]),
        Some(&json!("enabled"))
    );

    edit(&store, |e| {
        assert!(e.remove(&[SERVERS]));
        assert!(e.remove(&[STATES, "b"]));
    });
    assert_eq!(read(&path), original);
    assert_no_temp_files(dir.path());
}

#[test]
fn setting_an_equal_value_writes_nothing() {
    let original = "{\n  \"codebuddy.mcp.servers\": { \"fs\": {\"command\":\"npx\", \"args\": [ ] } } // compact\n}\n";
    let (dir, path, store) = setup(Some(original));
    let before = fs::metadata(&path).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    edit(&store, |e| {
        e.set(&[SERVERS], json!({"fs": {"args": [], "command": "npx"}}));
        e.set(&[SERVERS, "fs", "command"], json!("npx"));
    });
    let after = fs::metadata(&path).unwrap();
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            before.ino(),
            after.ino(),
            "the file must not have been replaced"
        );
    }
    assert_eq!(read(&path), original);
    assert_no_temp_files(dir.path());
}

#[test]
fn failing_closure_writes_nothing() {
    let original = golden();
    let (dir, path, store) = setup(Some(&original));
    let result = store
        .edit(|e| {
            e.set(&[STATES, "slack"], json!("enabled"));
            Err::<(), _>("changed my mind")
        })
        .unwrap();
    assert_eq!(result, Err("changed my mind"));
    assert_eq!(read(&path), original);
    assert_no_temp_files(dir.path());
}

#[test]
fn set_through_a_non_object_replaces_it_and_remove_leaves_empty_objects() {
    let original = "{\n    \"codebuddy.mcp.servers\": \"oops\",\n    \"other\": 1\n}\n";
    let (dir, path, store) = setup(Some(original));
    edit(&store, |e| e.set(&[SERVERS, "fs", "command"], json!("npx")));
    assert_eq!(
        read(&path),
        "{\n    \"codebuddy.mcp.servers\": {\n        \"fs\": {\n            \"command\": \"npx\"\n        }\n    },\n    \"other\": 1\n}\n"
    );
    edit(&store, |e| assert!(e.remove(&[SERVERS, "fs", "command"])));
    assert_eq!(
        read(&path),
        "{\n    \"codebuddy.mcp.servers\": {\n        \"fs\": {}\n    },\n    \"other\": 1\n}\n"
    );
    edit(&store, |e| assert!(e.remove(&[SERVERS, "fs"])));
    assert_eq!(
        read(&path),
        "{\n    \"codebuddy.mcp.servers\": {},\n    \"other\": 1\n}\n"
    );
    assert_no_temp_files(dir.path());
}

#[test]
fn duplicate_keys_resolve_to_the_last_and_remove_takes_all() {
    let original = "{\n  \"codebuddy.connectors.states\": {\"a\": \"old\"},\n  \"codebuddy.connectors.states\": {\"a\": \"new\"}\n}\n";
    let (dir, path, store) = setup(Some(original));
    assert_eq!(
        store.load().unwrap().get(&[STATES, "a"]),
        Some(&json!("new"))
    );
    edit(&store, |e| {
        assert_eq!(e.get(&[STATES, "a"]), Some(json!("new")));
        e.set(&[STATES, "a"], json!("newer"));
    });
    assert_eq!(
        store.load().unwrap().get(&[STATES, "a"]),
        Some(&json!("newer"))
    );
    edit(&store, |e| assert!(e.remove(&[STATES])));
    assert_eq!(read(&path), "{}\n");
    assert_no_temp_files(dir.path());
}

#[cfg(unix)]
#[test]
fn permissions_and_symlinks_survive_a_write() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let dotfiles = tempfile::tempdir().unwrap();
    let real = dotfiles.path().join("settings.json");
    fs::write(&real, "{}\n").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("settings.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let store = SettingsStore::new(&link);
    edit(&store, |e| e.set(&[STATES, "a"], json!("enabled")));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(
        read(&real),
        "{\n  \"codebuddy.connectors.states\": {\n    \"a\": \"enabled\"\n  }\n}\n"
    );
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_no_temp_files(dir.path());
    let names: Vec<_> = fs::read_dir(dotfiles.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["settings.json"],
        "temp file left next to the target"
    );
}

const WORKER_ENV: &str = "SWITCHBOARD_SETTINGS_TEST_WORKER";
const EDITS_PER_WORKER: usize = 50;

/// Does one worker's share of edits: one key per edit, so a lost update shows as a missing key.
fn run_worker(path: &Path, worker: &str) {
    let store = SettingsStore::new(path);
    for j in 0..EDITS_PER_WORKER {
        edit(&store, |e| {
            e.set(&[STATES, &format!("{worker}-{j}")], json!("enabled"))
        });
    }
}

/// Child-process side of `concurrent_processes_and_threads_lose_no_edits`; a no-op otherwise.
#[test]
fn settings_worker_process() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        return;
    };
    let (worker, path) = spec.split_once(':').unwrap();
    run_worker(Path::new(path), worker);
}

#[test]
fn concurrent_processes_and_threads_lose_no_edits() {
    let (dir, path, store) = setup(Some(
        "{\n  // shared by everyone\n  \"editor.fontSize\": 14,\n}\n",
    ));
    let exe = std::env::current_exe().unwrap();
    let processes: Vec<String> = (0..4).map(|i| format!("w{i}")).collect();
    let threads: Vec<String> = (0..2).map(|i| format!("t{i}")).collect();
    let children: Vec<_> = processes
        .iter()
        .map(|worker| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "settings_worker_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_ENV, format!("{worker}:{}", path.display()))
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::scope(|scope| {
        for worker in &threads {
            let path = &path;
            scope.spawn(move || run_worker(path, worker));
        }
    });
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a worker process failed");
    }

    let snapshot = store.load().unwrap();
    let Some(Value::Object(states)) = snapshot.get(&[STATES]) else {
        panic!("states missing: {}", read(&path));
    };
    let expected: BTreeSet<String> = processes
        .iter()
        .chain(&threads)
        .flat_map(|worker| (0..EDITS_PER_WORKER).map(move |j| format!("{worker}-{j}")))
        .collect();
    assert_eq!(expected.len(), 300);
    assert_eq!(states.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(snapshot.get(&["editor.fontSize"]), Some(&json!(14)));
    assert!(read(&path).starts_with("{\n  // shared by everyone\n  \"editor.fontSize\": 14,\n"));
    assert_no_temp_files(dir.path());
}
