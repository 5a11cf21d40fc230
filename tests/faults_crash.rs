//! The service killed with SIGKILL in the middle of things — a connect (of a
//! native server and of a container), a disconnect, and each step of a
//! settings write — and then started again by the next command. Each case
//! asserts the end state: the settings file parses and is the old or the
//! new one (never a mix), statuses agree with what runs, and no process or
//! container of the dead service is left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod faults_support;

use std::process::Stdio;
use std::time::Duration;

use common::{alive, poll};
use faults_support::{
    add_bad, assert_consistent, is_bwrap, kill_at_write_stage, kill_service, owned_containers,
    owned_processes, parse_settings, require_image, service_pid, temp_files, Guarded, WriteStage,
};
use serde_json::json;

const RESTORE: Duration = Duration::from_secs(30);
const IMAGE: &str = "localhost/switchboard-test/everything";

/// Waits for a background CLI command to end; its exit code.
fn finish(mut child: std::process::Child) -> Option<i32> {
    let mut status = None;
    assert!(
        poll(Duration::from_secs(20), || {
            status = child.try_wait().unwrap();
            status.is_some()
        }),
        "the CLI command did not end after its service died"
    );
    status.and_then(|s| s.code())
}

#[test]
fn killed_mid_connect_leaves_no_process_and_the_old_state() {
    let sb = Guarded::new();
    let started = sb.dir.path().join("slow-started");
    add_bad(&sb, "calm", "tiny.py", &[]);
    add_bad(&sb, "slow", "slow_start.py", &[started.to_str().unwrap()]);
    assert_eq!(sb.ok(&["connect", "calm"]).trim(), "connected");
    let old_service = service_pid(&sb).unwrap();

    let connect = sb
        .command()
        .args(["connect", "slow", "--timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(poll(Duration::from_secs(10), || started.exists()));
    // The start is under way: `configuring` while it waits for initialize.
    sb.wait_status("slow", Duration::from_secs(5), |s| {
        s["status"] == "configuring"
    });
    let before: Vec<i32> = owned_processes(&sb.home()).iter().map(|p| p.0).collect();
    assert!(
        before.len() >= 3,
        "calm, slow and slow's grandchild: {before:?}"
    );
    kill_service(&sb);
    assert_ne!(
        finish(connect),
        Some(0),
        "a connect cut short reported success"
    );

    // The file as the crash left it: parses, and the start was never recorded.
    let settings = parse_settings(&sb.settings());
    assert_eq!(settings["codebuddy.connectors.states"]["calm"], "connected");
    assert_ne!(settings["codebuddy.connectors.states"]["slow"], "connected");

    // The next command starts a new service, which reaps and restores.
    sb.wait_status("calm", RESTORE, |s| s["status"] == "connected");
    assert_ne!(service_pid(&sb), Some(old_service));
    assert!(
        poll(Duration::from_secs(5), || before
            .iter()
            .all(|p| !alive(*p as u64))),
        "processes of the dead service survive: {:?}",
        before
            .iter()
            .filter(|p| alive(**p as u64))
            .collect::<Vec<_>>()
    );
    assert_eq!(sb.json(&["status", "slow"])["status"], "disconnected");
    assert!(sb.json(&["status", "slow"])["pid"].is_null());
    assert_consistent(&sb, &["calm"]);
}

#[test]
fn a_connect_cut_short_leaves_no_server_config_behind() {
    let sb = Guarded::new();
    let started = sb.dir.path().join("slow-started");
    add_bad(&sb, "slow", "slow_start.py", &[started.to_str().unwrap()]);
    let connect = sb
        .command()
        .args(["connect", "slow", "--timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(poll(Duration::from_secs(10), || started.exists()));
    kill_service(&sb);
    let _ = finish(connect);
    // The config was written before the start; nothing ever removes it.
    sb.ok(&["list"]);
    assert_eq!(sb.json(&["status", "slow"])["status"], "disconnected");
    assert!(
        poll(Duration::from_secs(5), || parse_settings(&sb.settings())
            ["codebuddy.mcp.servers"]
            .get("slow")
            .is_none()),
        "codebuddy.mcp.servers lists `slow`, which does not run"
    );
    assert_consistent(&sb, &["slow"]);
}

#[test]
fn killed_mid_connect_of_a_container_leaves_no_container() {
    require_image(IMAGE);
    let sb = Guarded::with_containers();
    sb.ok(&["add", "boxed", "--image", IMAGE, "stdio"]);
    sb.ok(&["list"]);
    let connect = sb
        .command()
        .args(["connect", "boxed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        poll(Duration::from_secs(30), || !owned_containers(&sb.home())
            .is_empty()),
        "the container never appeared"
    );
    let old_service = kill_service(&sb);
    let _ = finish(connect);

    let settings = parse_settings(&sb.settings());
    assert_ne!(
        settings["codebuddy.connectors.states"]["boxed"],
        "connected"
    );
    // A new service removes the container the dead one left.
    sb.ok(&["list"]);
    assert_ne!(service_pid(&sb), Some(old_service));
    assert!(
        poll(Duration::from_secs(30), || owned_containers(&sb.home())
            .is_empty()),
        "containers of the dead service remain: {:?}",
        owned_containers(&sb.home())
    );
    assert!(owned_processes(&sb.home()).is_empty());
    assert_eq!(sb.json(&["status", "boxed"])["status"], "disconnected");
}

#[test]
fn containers_a_dead_service_left_are_removed_at_the_next_start() {
    require_image(IMAGE);
    let sb = Guarded::with_containers();
    // What a crash leaves: a container created but never started (killed
    // mid-create), and one still running with its client gone. Both are
    // labelled for this data dir by a service pid that is not alive.
    let dead = (1_000_000..).find(|pid| !alive(*pid)).unwrap().to_string();
    let home_label = format!("switchboard.home={}", sb.home().display());
    let service_label = format!("switchboard.service={dead}");
    for (verb, name) in [("create", "created"), ("run", "running")] {
        let name = format!("switchboard-orphan-{name}-{dead}");
        let mut args = vec![
            verb,
            "--name",
            &name,
            "--label",
            &home_label,
            "--label",
            &service_label,
        ];
        if verb == "run" {
            args.extend(["-d", "-i"]);
        }
        args.push(IMAGE);
        let out = std::process::Command::new("docker")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(owned_containers(&sb.home()).len(), 2);
    sb.ok(&["list"]);
    assert!(
        poll(Duration::from_secs(30), || owned_containers(&sb.home())
            .is_empty()),
        "containers of the dead service remain: {:?}",
        owned_containers(&sb.home())
    );
}

#[test]
fn killed_mid_disconnect_keeps_the_old_state_and_reaps_the_rest() {
    let sb = Guarded::new();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.connectors.supervision": { "maxRestarts": 0 } }"#,
    )
    .unwrap();
    let eof = sb.dir.path().join("stubborn-eof");
    add_bad(&sb, "stubborn", "stubborn.py", &[eof.to_str().unwrap()]);
    assert_eq!(sb.ok(&["connect", "stubborn"]).trim(), "connected");
    let old_pid = sb.json(&["status", "stubborn"])["pid"].as_i64().unwrap() as i32;
    let family: Vec<i32> = owned_processes(&sb.home()).iter().map(|p| p.0).collect();
    let programs = family.iter().filter(|p| !is_bwrap(**p)).count();
    assert_eq!(programs, 2, "the server and its grandchild: {family:?}");

    let disconnect = sb
        .command()
        .args(["disconnect", "stubborn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Its stdin is closed: the stop is under way (it now waits out the graces).
    assert!(poll(Duration::from_secs(10), || eof.exists()));
    kill_service(&sb);
    assert_ne!(
        finish(disconnect),
        Some(0),
        "a disconnect cut short reported success"
    );

    // The status was not written yet: the old one, which start-up sync
    // restores (whether or not the config's removal was written first).
    let settings = parse_settings(&sb.settings());
    assert_eq!(
        settings["codebuddy.connectors.states"]["stubborn"],
        "connected"
    );

    // So the next service restores it, with fresh processes only.
    let status = sb.wait_status("stubborn", RESTORE, |s| s["status"] == "connected");
    let new_pid = status["pid"].as_i64().unwrap() as i32;
    assert_ne!(new_pid, old_pid);
    assert!(
        poll(Duration::from_secs(5), || family
            .iter()
            .all(|p| !alive(*p as u64))),
        "the old server or its grandchild survived"
    );
    assert_consistent(&sb, &["stubborn"]);
}

#[test]
fn killed_at_each_step_of_a_settings_write_leaves_old_or_new() {
    let sb = Guarded::new();
    let user = "// mine\n{\n  \"editor.fontSize\": 14, /* keep */\n  \"files.exclude\": { \"**/.git\": true },\n}\n";
    std::fs::write(sb.settings(), user).unwrap();
    let python = faults_support::python();
    let tiny = faults_support::bad_server("tiny.py");
    let stages = [
        WriteStage::TempCreated,
        WriteStage::TempClosed,
        WriteStage::Renamed,
    ];
    let mut outcomes = Vec::new();
    for (i, stage) in stages.iter().cycle().take(6).enumerate() {
        sb.ok(&["list"]);
        let pid = service_pid(&sb).unwrap();
        let before = std::fs::read_to_string(sb.settings()).unwrap();
        let name = format!("c{i}");
        let watcher = kill_at_write_stage(
            sb.dir.path(),
            "settings.json",
            pid,
            *stage,
            Duration::from_secs(10),
        );
        let out = sb.run(&["add", &name, "--command", &python, &tiny]);
        assert!(watcher.join().unwrap(), "no write reached {stage:?}");
        assert!(poll(Duration::from_secs(5), || !alive(pid as u64)));

        let after = std::fs::read_to_string(sb.settings()).unwrap();
        let parsed = parse_settings(&sb.settings());
        let added = parsed["codebuddy.connectors.custom"].get(&name).is_some();
        if added {
            // The new file: the old one plus exactly this connector.
            assert!(after.starts_with("// mine\n{\n  \"editor.fontSize\": 14, /* keep */\n  \"files.exclude\": { \"**/.git\": true },\n"), "{after}");
            let mut expected = parse_settings_text(&before);
            expected["codebuddy.connectors.custom"][&name] =
                json!({"command": python, "args": [tiny], "cwd": std::env::current_dir().unwrap()});
            assert_eq!(parsed, expected);
        } else {
            assert_eq!(after, before, "killed at {stage:?}: neither old nor new");
        }
        // What the next service believes is what the file says.
        let listed = sb.json(&["list"]);
        let listed = listed.as_array().unwrap().iter().any(|r| r["name"] == name);
        assert_eq!(listed, added, "killed at {stage:?}");
        outcomes.push((*stage, out.status.code(), added, temp_files(sb.dir.path())));
    }
    eprintln!("(stage, CLI exit, written, temp files left): {outcomes:?}");
}

#[test]
fn temp_files_of_killed_writes_are_cleaned_up_by_the_next_write() {
    let sb = Guarded::new();
    let python = faults_support::python();
    let tiny = faults_support::bad_server("tiny.py");
    sb.ok(&["list"]);
    let pid = service_pid(&sb).unwrap();
    // Killed between creating the temp file and renaming it.
    let watcher = kill_at_write_stage(
        sb.dir.path(),
        "settings.json",
        pid,
        WriteStage::TempCreated,
        Duration::from_secs(10),
    );
    let _ = sb.run(&["add", "first", "--command", &python, &tiny]);
    assert!(watcher.join().unwrap());
    assert!(poll(Duration::from_secs(5), || !alive(pid as u64)));
    assert!(
        !temp_files(sb.dir.path()).is_empty(),
        "the kill came too late to leave a temp file"
    );
    // Every write holds the lock, so a temp file seen under it is stale.
    sb.ok(&["add", "second", "--command", &python, &tiny]);
    assert_eq!(
        temp_files(sb.dir.path()),
        Vec::<String>::new(),
        "temp files of killed writes pile up next to the settings file"
    );
}

fn parse_settings_text(text: &str) -> serde_json::Value {
    jsonc_parser::parse_to_serde_value::<serde_json::Value>(text, &Default::default()).unwrap()
}
