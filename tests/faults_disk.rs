//! The settings file on a disk that is full, or read-only, while the
//! service runs: every write is a clear error (exit 8, naming the file and
//! the cause), the file is left byte for byte as it was with no temp files
//! beside it, reads keep working, and what the service reports still
//! matches what runs. The disk is a small tmpfs mounted for the test (this
//! needs root, as CI has) and unmounted even when the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod faults_support;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{alive, code, stderr};
use faults_support::{add_bad, assert_consistent, parse_settings, temp_files, Guarded, TmpfsMount};

/// A sandbox whose settings file lives on its own small tmpfs. Fields drop
/// in order: the service stops before the tmpfs goes.
struct OnTmpfs {
    sb: Guarded,
    mount: TmpfsMount,
    settings: PathBuf,
}

fn sandbox_on_tmpfs(size: &str) -> OnTmpfs {
    let mut sb = Guarded::new();
    let mount = TmpfsMount::new(&sb.dir.path().join("config"), size);
    let settings = mount.path.join("settings.json");
    sb.extra_env.push((
        "SWITCHBOARD_SETTINGS".into(),
        settings.display().to_string(),
    ));
    std::fs::write(
        &settings,
        "// the user's own\n{\n  \"editor.fontSize\": 14,\n  \"codebuddy.connectors.supervision\": { \"maxRestarts\": 0 },\n}\n",
    )
    .unwrap();
    OnTmpfs {
        sb,
        mount,
        settings,
    }
}

/// Fills the file system holding `dir` to the last byte; returns the filler.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    // Bounded: the tmpfs is small; stop at the first short or failed write.
    for _ in 0..100_000 {
        match file.write(&chunk) {
            Ok(n) if n == chunk.len() => {}
            _ => break,
        }
    }
    let _ = file.sync_all();
    filler
}

#[test]
fn a_full_disk_is_a_clear_error_and_corrupts_nothing() {
    let fixture = sandbox_on_tmpfs("64k");
    let (sb, mount, settings) = (&fixture.sb, &fixture.mount, &fixture.settings);
    add_bad(sb, "calm", "tiny.py", &[]);
    add_bad(sb, "other", "tiny.py", &[]);
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");
    let pid = sb.json(&["status", "calm"])["pid"].as_u64().unwrap();
    let filler = fill(&mount.path);
    let before = std::fs::read(settings).unwrap();

    let (python, tiny) = (
        faults_support::python(),
        faults_support::bad_server("tiny.py"),
    );
    let out = sb.run(&["add", "extra", "--command", &python, &tiny]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("No space left on device"), "{message}");
    assert!(
        message.contains(&settings.display().to_string()),
        "{message}"
    );
    assert!(message.contains("left unchanged"), "{message}");
    assert_eq!(std::fs::read(settings).unwrap(), before);
    assert_eq!(temp_files(&mount.path), Vec::<String>::new());
    // Reads still work, and the refused add left nothing behind.
    let list = sb.json(&["list"]);
    assert!(!list
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "extra"));

    // A connect that cannot write its config starts nothing.
    let out = sb.run(&["connect", "other"]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    assert_eq!(sb.json(&["status", "other"])["status"], "disconnected");
    assert_eq!(std::fs::read(settings).unwrap(), before);

    // What ran keeps running and answering.
    assert_eq!(sb.json(&["status", "calm"])["pid"].as_u64(), Some(pid));
    assert_eq!(
        sb.ok(&["call", "calm", "echo", r#"{"message":"full"}"#])
            .trim(),
        "Echo: full"
    );

    // Space again: everything goes through and agrees.
    std::fs::remove_file(filler).unwrap();
    sb.ok(&["add", "extra", "--command", &python, &tiny]);
    assert_eq!(sb.ok(&["disconnect", "calm"]).trim(), "disconnected");
    assert!(!alive(pid));
    assert_eq!(sb.ok(&["connect", "other"]).trim(), "connected");
    assert_eq!(parse_settings(settings)["editor.fontSize"], 14);
    assert!(String::from_utf8(std::fs::read(settings).unwrap())
        .unwrap()
        .starts_with("// the user's own\n{\n  \"editor.fontSize\": 14,\n"));
    assert_eq!(temp_files(&mount.path), Vec::<String>::new());
    assert_consistent(sb, &["calm", "other", "extra"]);
}

#[test]
fn a_disconnect_that_cannot_write_reports_the_truth() {
    let fixture = sandbox_on_tmpfs("64k");
    let (sb, mount, settings) = (&fixture.sb, &fixture.mount, &fixture.settings);
    add_bad(sb, "calm", "tiny.py", &[]);
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");
    let pid = sb.json(&["status", "calm"])["pid"].as_u64().unwrap();
    let filler = fill(&mount.path);
    let before = std::fs::read(settings).unwrap();

    let out = sb.run(&["disconnect", "calm"]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(settings).unwrap(), before);
    // Whatever it reports must be true: connected and answering, or not
    // connected and gone.
    let status = sb.json(&["status", "calm"]);
    if status["status"] == "connected" {
        assert!(
            alive(pid),
            "calm reports connected but its server {pid} is gone"
        );
        assert_eq!(
            sb.ok(&["call", "calm", "echo", r#"{"message":"still"}"#])
                .trim(),
            "Echo: still"
        );
    } else {
        assert!(
            !alive(pid),
            "calm reports {} but {pid} runs",
            status["status"]
        );
    }
    std::fs::remove_file(filler).unwrap();
    assert_eq!(sb.ok(&["disconnect", "calm"]).trim(), "disconnected");
    assert!(!alive(pid));
    assert_consistent(sb, &["calm"]);
}

#[test]
fn a_read_only_settings_directory_is_a_clear_error() {
    let fixture = sandbox_on_tmpfs("1m");
    let (sb, mount, settings) = (&fixture.sb, &fixture.mount, &fixture.settings);
    add_bad(sb, "calm", "tiny.py", &[]);
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");
    let before = std::fs::read(settings).unwrap();
    mount.remount(true);

    let (python, tiny) = (
        faults_support::python(),
        faults_support::bad_server("tiny.py"),
    );
    let out = sb.run(&["add", "extra", "--command", &python, &tiny]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("Read-only file system"), "{message}");
    assert!(message.contains("settings"), "{message}");
    assert_eq!(std::fs::read(settings).unwrap(), before);
    // Reads and calls need no write.
    assert_eq!(sb.json(&["status", "calm"])["status"], "connected");
    assert_eq!(
        sb.ok(&["call", "calm", "echo", r#"{"message":"ro"}"#])
            .trim(),
        "Echo: ro"
    );

    mount.remount(false);
    sb.ok(&["add", "extra", "--command", &python, &tiny]);
    assert_eq!(sb.ok(&["disconnect", "calm"]).trim(), "disconnected");
    assert_eq!(temp_files(&mount.path), Vec::<String>::new());
    assert_consistent(sb, &["calm", "extra"]);
}

/// A data dir that cannot be made (its parent is a file) is its own error:
/// exit 18, naming the directory and the cause, instead of "internal".
#[test]
fn a_data_dir_that_cannot_be_made_is_a_file_error_naming_it() {
    let sb = common::Sandbox::new();
    let blocker = sb.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "a file where the data dir's parent should be").unwrap();
    let home = blocker.join("home");
    let out = sb.run_env(&["list"], &[("SWITCHBOARD_HOME", home.to_str().unwrap())]);
    assert_eq!(code(&out), 18, "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("cannot create") && err.contains(&home.display().to_string()),
        "{err}"
    );
}
