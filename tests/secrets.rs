//! The secret store against the real thing: files, modes and several
//! processes for the encrypted file; the kernel's keyutils keyring and,
//! where one can be had, a real Secret Service for the keyring store
//! (`secrets/keyring.rs`).
//!
//! Child processes are this test binary run again with `--exact worker`
//! and `SECRETS_TEST_WORKER` set, so they exercise the library as a second
//! Switchboard process would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard::secrets::{
    self, FileStore, KeyringBackend, KeyringStore, Secret, SecretError, SecretStore, KEY_FILE,
    LOCK_FILE, SECRETS_FILE,
};

/// A value with everything that could trip an encoder: unicode, newlines,
/// quotes, backslashes. Its distinctive core is grepped for in outputs.
const VALUE: &str = "ghp_Sup3rS3cret-Ωμέγα-漢字\nsecond line\t\"quoted\" \\ end";
const VALUE_MARKER: &str = "Sup3rS3cret";
/// Selects what a re-invoked test binary does; see [`worker`].
const WORKER_ENV: &str = "SECRETS_TEST_WORKER";
const WORKER_DIR_ENV: &str = "SECRETS_TEST_DIR";
const WORKER_ID_ENV: &str = "SECRETS_TEST_ID";
const WORKERS: usize = 4;
const FIELDS_PER_WORKER: usize = 8;

#[path = "secrets/keyring.rs"]
mod keyring;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn set(store: &dyn SecretStore, connector: &str, field: &str, value: &str) {
    store.set(connector, field, Secret::new(value)).unwrap();
}

fn get(store: &dyn SecretStore, connector: &str, field: &str) -> Option<String> {
    store
        .get(connector, field)
        .unwrap()
        .map(|s| s.expose().to_string())
}

/// Asserts an error's message, debug form and sources never show a value.
fn assert_no_secret(err: &SecretError) {
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        texts.push(inner.to_string());
        source = inner.source();
    }
    for text in texts {
        assert!(!text.contains(VALUE_MARKER), "secret leaked into: {text}");
        assert!(!text.contains("other-value"), "secret leaked into: {text}");
    }
}

/// A store holding two secrets, for the failure tests.
fn filled_store(dir: &Path) -> FileStore {
    let store = FileStore::open(dir).unwrap();
    set(&store, "github", "GITHUB_PERSONAL_ACCESS_TOKEN", VALUE);
    set(&store, "slack", "SLACK_BOT_TOKEN", "other-value");
    store
}

#[test]
fn file_store_round_trips_across_instances() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let first = FileStore::open(&home).unwrap();
    assert_eq!(first.get("github", "TOKEN").unwrap().map(|_| ()), None);
    assert_eq!(first.list("github").unwrap(), Vec::<String>::new());
    assert!(!home.exists(), "reads must not create anything");

    set(&first, "github", "GITHUB_PERSONAL_ACCESS_TOKEN", VALUE);
    set(&first, "github", "GITHUB_HOST", "github.example.com");
    set(&first, "slack", "SLACK_BOT_TOKEN", "xoxb-1");
    set(&first, "slack", "SLACK_BOT_TOKEN", "xoxb-2\r\n");

    let second = FileStore::open(&home).unwrap();
    assert_eq!(
        get(&second, "github", "GITHUB_PERSONAL_ACCESS_TOKEN").as_deref(),
        Some(VALUE)
    );
    assert_eq!(
        get(&second, "slack", "SLACK_BOT_TOKEN").as_deref(),
        Some("xoxb-2\r\n")
    );
    assert_eq!(
        second.list("github").unwrap(),
        ["GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
    assert_eq!(second.list("notion").unwrap(), Vec::<String>::new());

    assert!(second.remove("github", "GITHUB_HOST").unwrap());
    assert!(!second.remove("github", "GITHUB_HOST").unwrap());
    assert!(!second.remove("jira", "JIRA_TOKEN").unwrap());
    assert_eq!(
        first.list("github").unwrap(),
        ["GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
    assert_eq!(get(&first, "github", "GITHUB_HOST"), None);
    assert!(second.remove("slack", "SLACK_BOT_TOKEN").unwrap());
    assert_eq!(first.list("slack").unwrap(), Vec::<String>::new());
    assert_eq!(
        first.describe(),
        format!("encrypted-file ({})", home.join(SECRETS_FILE).display())
    );

    let empty = first.set("github", "EMPTY", Secret::new("")).unwrap_err();
    assert!(matches!(empty, SecretError::EmptyValue { .. }), "{empty}");
}

#[test]
fn files_are_private_and_nothing_else_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    // A data dir the store did not create keeps its own mode.
    let home = tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    fs::set_permissions(&home, fs::Permissions::from_mode(0o750)).unwrap();
    fs::write(home.join("unrelated.txt"), "keep me").unwrap();
    filled_store(&home);

    assert_eq!(
        names_in(&home),
        [KEY_FILE, LOCK_FILE, SECRETS_FILE, "unrelated.txt"]
            .map(String::from)
            .into()
    );
    for name in [KEY_FILE, LOCK_FILE, SECRETS_FILE] {
        assert_eq!(mode(&home.join(name)), 0o600, "{name}");
    }
    assert_eq!(mode(&home), 0o750);
    assert_eq!(fs::read(home.join(KEY_FILE)).unwrap().len(), 32);
    let sealed = fs::read(home.join(SECRETS_FILE)).unwrap();
    for needle in [VALUE_MARKER.as_bytes(), b"other-value", b"GITHUB_PERSONAL"] {
        assert!(
            !sealed.windows(needle.len()).any(|w| w == needle),
            "plaintext in the encrypted file"
        );
    }

    // A data dir the store creates is 0700.
    let fresh = tmp.path().join("a/b/fresh");
    filled_store(&fresh);
    assert_eq!(mode(&fresh), 0o700);
}

#[test]
fn refuses_files_other_users_can_read() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(tmp.path());
    let key = tmp.path().join(KEY_FILE);
    let file = tmp.path().join(SECRETS_FILE);

    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let err = FileStore::open(tmp.path()).unwrap_err();
    assert!(
        matches!(&err, SecretError::Permissions { path, mode: 0o644 } if *path == key),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("chmod 600 {}", key.display())),
        "{message}"
    );
    // An open store checks again on every read.
    let err = store
        .get("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
        .unwrap_err();
    assert!(matches!(err, SecretError::Permissions { .. }), "{err:?}");
    assert_no_secret(&err);
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();

    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let err = store.set("github", "X", Secret::new("y")).unwrap_err();
    assert!(
        matches!(&err, SecretError::Permissions { path, mode: 0o640 } if *path == file),
        "{err:?}"
    );
    assert_eq!(mode(&file), 0o640, "the store must not quietly fix modes");
}

#[test]
fn wrong_key_is_reported_and_nothing_is_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(tmp.path());
    let key_path = tmp.path().join(KEY_FILE);
    let file = tmp.path().join(SECRETS_FILE);
    let original_key = fs::read(&key_path).unwrap();
    let sealed = fs::read(&file).unwrap();

    fs::remove_file(&key_path).unwrap();
    fs::write(&key_path, [7u8; 32]).unwrap();
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).unwrap();

    let errors = [
        store
            .get("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
            .unwrap_err(),
        store.list("github").unwrap_err(),
        store.set("github", "NEW", Secret::new(VALUE)).unwrap_err(),
        store.remove("slack", "SLACK_BOT_TOKEN").unwrap_err(),
    ];
    for err in &errors {
        assert!(
            matches!(err, SecretError::WrongKey { path, key_path: k } if *path == file && *k == key_path),
            "{err:?}"
        );
        assert_no_secret(err);
    }
    assert!(errors[0]
        .to_string()
        .contains("no other secret was touched"));
    assert_eq!(
        fs::read(&file).unwrap(),
        sealed,
        "the file must stay as it was"
    );

    // Restoring the key brings every secret back: nothing was lost.
    fs::write(&key_path, &original_key).unwrap();
    assert_eq!(
        get(&store, "slack", "SLACK_BOT_TOKEN").as_deref(),
        Some("other-value")
    );
    assert_eq!(
        store.list("github").unwrap(),
        ["GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
}

#[test]
fn missing_or_malformed_key_is_reported_and_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(tmp.path());
    let key_path = tmp.path().join(KEY_FILE);
    let file = tmp.path().join(SECRETS_FILE);
    let sealed = fs::read(&file).unwrap();

    fs::remove_file(&key_path).unwrap();
    let err = store.set("github", "NEW", Secret::new(VALUE)).unwrap_err();
    assert!(matches!(err, SecretError::KeyMissing { .. }), "{err:?}");
    assert!(
        !key_path.exists(),
        "a new key would orphan the stored secrets"
    );
    assert_eq!(fs::read(&file).unwrap(), sealed);

    fs::write(&key_path, [1u8; 31]).unwrap();
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).unwrap();
    let err = store
        .get("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
        .unwrap_err();
    assert!(matches!(err, SecretError::BadKey { .. }), "{err:?}");
    assert_no_secret(&err);
}

#[test]
fn corrupt_file_is_reported_with_its_path_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(tmp.path());
    let file = tmp.path().join(SECRETS_FILE);
    let sealed = fs::read(&file).unwrap();

    let mut flipped = sealed.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let truncated = sealed[..sealed.len() - 5].to_vec();
    let cases: [(&str, Vec<u8>); 4] = [
        ("flipped byte", flipped),
        ("truncated", truncated),
        ("cut to the header", sealed[..20].to_vec()),
        ("not ours", b"{\"plain\": \"json\"}".to_vec()),
    ];
    for (case, bytes) in cases {
        fs::write(&file, &bytes).unwrap();
        for err in [
            store
                .get("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
                .unwrap_err(),
            store.set("github", "NEW", Secret::new(VALUE)).unwrap_err(),
            store
                .remove("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
                .unwrap_err(),
        ] {
            assert!(
                matches!(&err, SecretError::Corrupt { path, .. } if *path == file),
                "{case}: {err:?}"
            );
            let message = err.to_string();
            assert!(message.contains(&file.display().to_string()), "{message}");
            assert!(
                message.contains("remove it and set the secrets again"),
                "{message}"
            );
            assert_no_secret(&err);
        }
        assert_eq!(
            fs::read(&file).unwrap(),
            bytes,
            "{case}: file was rewritten"
        );
    }
}

#[test]
fn errors_and_debug_output_never_show_values() {
    let tmp = tempfile::tempdir().unwrap();
    let store = filled_store(tmp.path());
    let secret = store
        .get("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
        .unwrap()
        .unwrap();
    for text in [
        format!("{secret:?}"),
        format!("{:?}", Some(&secret)),
        format!("{store:?}"),
        store.describe(),
    ] {
        assert!(!text.contains(VALUE_MARKER), "{text}");
    }
    assert_eq!(format!("{secret:?}"), "Secret(***)");

    let bad_names = [
        store
            .set("git/hub", "TOKEN", Secret::new(VALUE))
            .unwrap_err(),
        store
            .set("github", "TOKEN}", Secret::new(VALUE))
            .unwrap_err(),
        store.get("GitHub", "TOKEN").unwrap_err(),
        store.list("").unwrap_err(),
        store.remove("github", "A-B").unwrap_err(),
    ];
    for err in &bad_names {
        assert!(matches!(err, SecretError::BadName { .. }), "{err:?}");
        assert_no_secret(err);
    }
    assert_eq!(
        bad_names[0].to_string(),
        "invalid connector name `git/hub`: use 1 to 64 lowercase letters, digits, `-` or `_`"
    );
}

#[test]
fn references_round_trip_for_every_name_a_store_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path()).unwrap();
    for (connector, field) in [
        ("github", "GITHUB_PERSONAL_ACCESS_TOKEN"),
        ("google-drive", "client_secret_2"),
        ("n8n", "N8N_API_KEY"),
        ("my_db-1", "X"),
    ] {
        set(&store, connector, field, "v");
        let text = secrets::reference(connector, field);
        assert_eq!(
            secrets::parse_reference(&text),
            Some((connector.to_string(), field.to_string())),
            "{text}"
        );
    }
    assert_eq!(
        secrets::reference("github", "GITHUB_PERSONAL_ACCESS_TOKEN"),
        "${secret:github/GITHUB_PERSONAL_ACCESS_TOKEN}"
    );
    // Names that would break the syntax are refused before anything is stored.
    let untouched = tmp.path().join("untouched");
    let fresh = FileStore::open(&untouched).unwrap();
    for (connector, field) in [
        ("a}b", "X"),
        ("a/b", "X"),
        ("a", "X}${secret:b/Y"),
        ("a", "X/Y"),
        ("a", ""),
        ("", "X"),
    ] {
        let err = fresh.set(connector, field, Secret::new("v")).unwrap_err();
        assert!(
            matches!(err, SecretError::BadName { .. }),
            "{connector}/{field}"
        );
        assert!(secrets::check_names(connector, field).is_err());
    }
    assert!(!untouched.exists());
}

#[test]
fn concurrent_writer_processes_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let children: Vec<_> = (0..WORKERS)
        .map(|id| {
            worker_command("set-many", &home)
                .env(WORKER_ID_ENV, id.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "worker failed: {out:?}");
    }
    let store = FileStore::open(&home).unwrap();
    let fields = store.list("github").unwrap();
    assert_eq!(fields.len(), WORKERS * FIELDS_PER_WORKER, "{fields:?}");
    for id in 0..WORKERS {
        for n in 0..FIELDS_PER_WORKER {
            assert_eq!(
                get(&store, "github", &format!("W{id}_F{n}")),
                Some(format!("value {id}/{n} ✓\n"))
            );
        }
    }
    assert_eq!(
        names_in(&home),
        [KEY_FILE, LOCK_FILE, SECRETS_FILE].map(String::from).into()
    );
}

fn worker_command(task: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "worker", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, task)
        .env(WORKER_DIR_ENV, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The child-process side of the tests above; a no-op in a normal run.
#[test]
fn worker() {
    let Ok(task) = std::env::var(WORKER_ENV) else {
        return;
    };
    let dir = PathBuf::from(std::env::var_os(WORKER_DIR_ENV).unwrap());
    match task.as_str() {
        "set-many" => {
            let id: usize = std::env::var(WORKER_ID_ENV).unwrap().parse().unwrap();
            let store = FileStore::open(&dir).unwrap();
            for n in 0..FIELDS_PER_WORKER {
                set(
                    &store,
                    "github",
                    &format!("W{id}_F{n}"),
                    &format!("value {id}/{n} ✓\n"),
                );
            }
        }
        "keyutils-swap" => {
            // A fresh session keyring, as an unrelated login would have: the
            // items must be found through the user's persistent keyring.
            const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
            // SAFETY: joins a new anonymous session keyring (NULL name); no
            // memory is passed to the kernel.
            let joined = unsafe {
                libc::syscall(
                    libc::SYS_keyctl,
                    KEYCTL_JOIN_SESSION_KEYRING,
                    std::ptr::null::<libc::c_char>(),
                )
            };
            assert!(joined > 0, "{}", std::io::Error::last_os_error());
            let store = KeyringStore::open(&dir, KeyringBackend::Keyutils).unwrap();
            assert_eq!(get(&store, "github", "GITHUB_HOST").as_deref(), Some("h2"));
            set(&store, "slack", "SLACK_BOT_TOKEN", "from the worker");
        }
        "secret-service" => {
            keyring::secret_service_checks(&dir);
            println!("SECRET-SERVICE-OK");
        }
        "describe-default" => match secrets::open_default(&dir) {
            Ok(store) => println!("DEFAULT-STORE: {}", store.describe()),
            Err(err) => println!("DEFAULT-STORE: error: {err}"),
        },
        other => panic!("unknown worker task {other}"),
    }
}
