//! The keyring side of the secret store, and the automatic choice between
//! stores: keyutils for real on every Linux machine, the Secret Service
//! where a session bus or `gnome-keyring-daemon` exists.

use std::fs;
use std::path::Path;
use std::process::Command;

use switchboard::secrets::{
    self, KeyringBackend, KeyringStore, Secret, SecretError, SecretStore, INDEX_FILE, LOCK_FILE,
    SECRETS_FILE,
};

use super::{filled_store, get, mode, names_in, set, worker_command, VALUE, VALUE_MARKER};

#[test]
fn default_store_follows_the_environment_and_existing_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    // No session bus (as on these machines): the encrypted file.
    let describe = |store: Option<&str>| {
        let mut cmd = worker_command("describe-default", &home);
        cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("XDG_RUNTIME_DIR");
        match store {
            Some(value) => cmd.env(secrets::STORE_ENV, value),
            None => cmd.env_remove(secrets::STORE_ENV),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        // The harness prints `test worker ... ` on the same line first.
        let (_, answer) = stdout
            .split_once("DEFAULT-STORE: ")
            .unwrap_or_else(|| panic!("no answer in {stdout}"));
        answer.lines().next().unwrap_or_default().to_string()
    };
    let file = format!("encrypted-file ({})", home.join(SECRETS_FILE).display());
    assert_eq!(describe(None), file);
    assert_eq!(describe(Some("file")), file);
    assert_eq!(
        describe(Some("keyutils")),
        "keyring (kernel keyutils; cleared at reboot)"
    );
    let bogus = describe(Some("vault"));
    assert!(
        bogus.starts_with("error: SWITCHBOARD_SECRET_STORE=`vault`"),
        "{bogus}"
    );
    let keyring = describe(Some("keyring"));
    assert!(
        keyring.starts_with("error: the OS keyring failed: no D-Bus session bus")
            && keyring.contains("SWITCHBOARD_SECRET_STORE=file"),
        "{keyring}"
    );

    // Once a keyring holds this home's secrets, the default goes back to it.
    let store = KeyringStore::open(&home, KeyringBackend::Keyutils).unwrap();
    set(&store, "github", "TOKEN", "kv");
    assert_eq!(
        describe(None),
        "keyring (kernel keyutils; cleared at reboot)"
    );
    assert!(store.remove("github", "TOKEN").unwrap());
    // ... and an existing secrets file wins over everything but the variable.
    filled_store(&home);
    set(&store, "github", "TOKEN", "kv");
    assert_eq!(describe(None), file);
    assert!(store.remove("github", "TOKEN").unwrap());
}

#[cfg(target_os = "linux")]
#[test]
fn keyutils_store_round_trips_across_instances() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let first = KeyringStore::open(&home, KeyringBackend::Keyutils).unwrap();
    assert_eq!(
        first.describe(),
        "keyring (kernel keyutils; cleared at reboot)"
    );
    assert_eq!(get(&first, "github", "GITHUB_PERSONAL_ACCESS_TOKEN"), None);
    assert_eq!(first.list("github").unwrap(), Vec::<String>::new());

    set(&first, "github", "GITHUB_PERSONAL_ACCESS_TOKEN", VALUE);
    set(&first, "github", "GITHUB_HOST", "h1");
    set(&first, "github", "GITHUB_HOST", "h2");
    set(&first, "slack", "SLACK_BOT_TOKEN", "xoxb\n");

    let second = KeyringStore::open(&home, KeyringBackend::Keyutils).unwrap();
    assert_eq!(
        get(&second, "github", "GITHUB_PERSONAL_ACCESS_TOKEN").as_deref(),
        Some(VALUE)
    );
    assert_eq!(get(&second, "github", "GITHUB_HOST").as_deref(), Some("h2"));
    assert_eq!(
        second.list("github").unwrap(),
        ["GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
    // Only names reach the data directory, privately.
    let index = home.join(INDEX_FILE);
    assert_eq!(mode(&index), 0o600);
    assert!(!fs::read_to_string(&index).unwrap().contains(VALUE_MARKER));
    assert_eq!(
        names_in(&home),
        [INDEX_FILE, LOCK_FILE].map(String::from).into()
    );

    // Another process (as the CLI and the service are) sees and changes the
    // same items.
    let out = worker_command("keyutils-swap", &home).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        get(&first, "slack", "SLACK_BOT_TOKEN").as_deref(),
        Some("from the worker")
    );

    // Another home on the same account sees none of it.
    let other = KeyringStore::open(&tmp.path().join("other"), KeyringBackend::Keyutils).unwrap();
    assert_eq!(get(&other, "github", "GITHUB_PERSONAL_ACCESS_TOKEN"), None);

    for (connector, field) in [
        ("github", "GITHUB_PERSONAL_ACCESS_TOKEN"),
        ("github", "GITHUB_HOST"),
        ("slack", "SLACK_BOT_TOKEN"),
    ] {
        assert!(
            second.remove(connector, field).unwrap(),
            "{connector}/{field}"
        );
        assert!(
            !second.remove(connector, field).unwrap(),
            "{connector}/{field}"
        );
        assert_eq!(get(&first, connector, field), None, "{connector}/{field}");
    }
    assert_eq!(first.list("github").unwrap(), Vec::<String>::new());
    let err = first.set("github", "X", Secret::new("")).unwrap_err();
    assert!(matches!(err, SecretError::EmptyValue { .. }), "{err:?}");
}

/// Runs against a real Secret Service: this session's, or else a private
/// one (`dbus-run-session` + `gnome-keyring-daemon`, unlocked with a
/// throwaway password in a temporary HOME) when both are installed. These
/// machines have neither by default; then it says so and returns.
#[cfg(target_os = "linux")]
#[test]
fn secret_service_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        secret_service_checks(tmp.path());
        return;
    }
    let on_path = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
    };
    if !(on_path("dbus-run-session") && on_path("gnome-keyring-daemon")) {
        eprintln!(
            "skipped: no D-Bus session and no dbus-run-session + gnome-keyring-daemon to start one"
        );
        return;
    }
    let home = tmp.path().join("keyring-home");
    fs::create_dir(&home).unwrap();
    let worker = worker_command("secret-service", &tmp.path().join("data"));
    let script = format!(
        "echo -n throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null && \
         exec '{}' --exact worker --nocapture --test-threads=1",
        std::env::current_exe().unwrap().display()
    );
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .envs(worker.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("HOME", &home)
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("SECRET-SERVICE-OK"),
        "{out:?}"
    );
}

/// The Secret Service checks, run where a session bus exists.
pub(super) fn secret_service_checks(dir: &Path) {
    if std::env::var_os(secrets::STORE_ENV).is_none() {
        let chosen = secrets::open_default(dir).unwrap();
        assert_eq!(chosen.describe(), "keyring (secret-service)");
    }
    let store = KeyringStore::open(dir, KeyringBackend::SecretService).unwrap();
    assert_eq!(store.describe(), "keyring (secret-service)");
    set(&store, "github", "GITHUB_PERSONAL_ACCESS_TOKEN", VALUE);
    set(&store, "github", "GITHUB_HOST", "h1");
    set(&store, "github", "GITHUB_HOST", "h2");
    let again = KeyringStore::open(dir, KeyringBackend::SecretService).unwrap();
    assert_eq!(
        get(&again, "github", "GITHUB_PERSONAL_ACCESS_TOKEN").as_deref(),
        Some(VALUE)
    );
    assert_eq!(get(&again, "github", "GITHUB_HOST").as_deref(), Some("h2"));
    assert_eq!(
        again.list("github").unwrap(),
        ["GITHUB_HOST", "GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
    assert!(again
        .remove("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
        .unwrap());
    assert!(!again
        .remove("github", "GITHUB_PERSONAL_ACCESS_TOKEN")
        .unwrap());
    assert!(again.remove("github", "GITHUB_HOST").unwrap());
    assert_eq!(get(&store, "github", "GITHUB_PERSONAL_ACCESS_TOKEN"), None);
    assert_eq!(store.list("github").unwrap(), Vec::<String>::new());
    // With secrets recorded there, the default returns to the Secret Service
    // even from a session without a bus, and says why it cannot reach it.
    set(&store, "slack", "SLACK_BOT_TOKEN", "xoxb");
    let out = worker_command("describe-default", dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove(secrets::STORE_ENV)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("DEFAULT-STORE: error: the OS keyring failed: no D-Bus"),
        "{stdout}"
    );
    assert!(store.remove("slack", "SLACK_BOT_TOKEN").unwrap());
}
