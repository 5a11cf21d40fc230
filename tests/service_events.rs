//! The connector core in-process: the exact sequence of status events for
//! connect, a server killed from outside, and disconnect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::server_everything;
use switchboard::{
    ConnectorEvent, ConnectorService, ConnectorStatus, CustomConnector, Paths, ServiceOptions,
};
use tokio::sync::broadcast::Receiver;

use ConnectorStatus::*;

async fn next_status(
    rx: &mut Receiver<ConnectorEvent>,
) -> (ConnectorStatus, ConnectorStatus, Option<String>) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("an event within the deadline")
            .expect("channel open");
        if let ConnectorEvent::Status {
            old, new, reason, ..
        } = event
        {
            return (old, new, reason);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_events_follow_connect_death_and_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let service = ConnectorService::start(Paths::in_dir(dir.path()), ServiceOptions::default())
        .await
        .unwrap();
    let custom = CustomConnector::from_flags(
        Some("node".into()),
        None,
        vec![server_everything(), "stdio".into()],
        &[],
    )
    .unwrap();
    service.add("ev", custom, Default::default()).await.unwrap();
    let mut rx = service.subscribe();

    let info = service
        .connect("ev", Default::default(), None)
        .await
        .unwrap();
    assert_eq!(info.status, Connected);
    assert_eq!(
        next_status(&mut rx).await,
        (Disconnected, Configuring, None)
    );
    assert_eq!(next_status(&mut rx).await, (Configuring, Connected, None));

    let pid = info.pid.unwrap();
    // SAFETY: signals a child this test's service started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let (old, new, reason) = next_status(&mut rx).await;
    assert_eq!((old, new), (Connected, Error));
    assert!(reason.unwrap().contains("signal 9"));

    service
        .connect("ev", Default::default(), None)
        .await
        .unwrap();
    assert_eq!(next_status(&mut rx).await, (Error, Configuring, None));
    assert_eq!(next_status(&mut rx).await, (Configuring, Connected, None));
    let info = service.disconnect("ev").await.unwrap();
    assert_eq!(info.status, Disconnected);
    assert_eq!(next_status(&mut rx).await, (Connected, Disconnected, None));
    assert!(rx.try_recv().is_err(), "no further events");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_required_field_waits_in_configuring() {
    let dir = tempfile::tempdir().unwrap();
    let service = ConnectorService::start(Paths::in_dir(dir.path()), ServiceOptions::default())
        .await
        .unwrap();
    let mut rx = service.subscribe();
    // `slack` needs SLACK_BOT_TOKEN and SLACK_TEAM_ID; neither is set here.
    std::env::remove_var("SLACK_BOT_TOKEN");
    std::env::remove_var("SLACK_TEAM_ID");
    let err = service
        .connect("slack", Default::default(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), switchboard::ErrorCode::NeedsConfiguration);
    assert!(err.to_string().contains("SLACK_BOT_TOKEN"));
    let (old, new, reason) = next_status(&mut rx).await;
    assert_eq!((old, new), (Disconnected, Configuring));
    assert!(reason.unwrap().contains("SLACK_TEAM_ID"));
    let info = service.info("slack").unwrap();
    assert_eq!(info.status, Configuring);
    assert_eq!(info.missing, vec!["SLACK_BOT_TOKEN", "SLACK_TEAM_ID"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_carries_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let service = ConnectorService::start(Paths::in_dir(dir.path()), ServiceOptions::default())
        .await
        .unwrap();
    let secret = "tok-events-33c9d1";
    let custom = CustomConnector::from_flags(
        Some("sh".into()),
        None,
        vec!["-c".into(), "echo \"token $EV_TOKEN\" >&2; exit 2".into()],
        &["EV_TOKEN".into()],
    )
    .unwrap();
    let secrets = [("EV_TOKEN".to_string(), secret.to_string())].into();
    service.add("leaky", custom, secrets).await.unwrap();
    let mut rx = service.subscribe();
    let err = service
        .connect("leaky", Default::default(), None)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(secret), "{err}");
    let mut seen = Vec::new();
    while let Ok(event) = rx.try_recv() {
        seen.push(serde_json::to_string(&event).unwrap());
    }
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen.iter().any(|e| e.contains("token ***")), "{seen:?}");
    assert!(seen.iter().all(|e| !e.contains(secret)), "{seen:?}");
}

/// Connectors started together (as start-up sync starts them) all reach
/// `connected`; their statuses, written by one group-committed writer,
/// are all on disk, the user's own bytes kept; and a new service restores
/// every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connectors_at_once_are_all_persisted_and_restored() {
    const N: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::in_dir(dir.path());
    let mine = "// mine\n{\n  \"editor.tabSize\": 2, // keep\n";
    std::fs::write(&paths.settings, format!("{mine}}}\n")).unwrap();
    let names: Vec<String> = (0..N).map(|i| format!("ev{i}")).collect();

    let service = ConnectorService::start(paths.clone(), ServiceOptions::default())
        .await
        .unwrap();
    for name in &names {
        let custom = CustomConnector::from_flags(
            Some("node".into()),
            None,
            vec![server_everything(), "stdio".into()],
            &[],
        )
        .unwrap();
        service.add(name, custom, Default::default()).await.unwrap();
    }
    let connects = names
        .iter()
        .map(|name| service.connect(name, Default::default(), None));
    for info in futures::future::join_all(connects).await {
        assert_eq!(info.unwrap().status, Connected);
    }
    let text = std::fs::read_to_string(&paths.settings).unwrap();
    assert!(
        text.starts_with("// mine\n{\n  \"editor.tabSize\": 2,") && text.contains("// keep"),
        "{text}"
    );
    let settings: serde_json::Value =
        jsonc_parser::parse_to_serde_value(&text, &Default::default()).unwrap();
    for name in &names {
        assert_eq!(
            settings["codebuddy.connectors.states"][name.as_str()],
            "connected"
        );
        assert!(settings["codebuddy.mcp.servers"][name.as_str()].is_object());
    }
    service.shutdown().await;
    drop(service);

    let service = ConnectorService::start(paths, ServiceOptions::default())
        .await
        .unwrap();
    let mut rx = service.subscribe();
    let all_connected = |service: &ConnectorService| {
        names
            .iter()
            .all(|name| service.info(name).unwrap().status == Connected)
    };
    while !all_connected(&service) {
        tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("every connector restored within the deadline")
            .expect("channel open");
    }
    service.shutdown().await;
}

/// Rewrites the settings file by hand, as an editor would.
fn edit_settings(path: &std::path::Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut settings: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut settings);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&settings).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The one reconcile, seen from outside: a definition edited by hand
/// (or policy) restarts the connector, a status set to `disconnected` by hand stops it
/// and one set back to `connected` starts it, each as exactly these events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_reconcile_as_exactly_these_events() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::in_dir(dir.path());
    let service = ConnectorService::start(paths.clone(), ServiceOptions::default())
        .await
        .unwrap();
    let custom = CustomConnector::from_flags(
        Some("node".into()),
        None,
        vec![server_everything(), "stdio".into()],
        &[],
    )
    .unwrap();
    service.add("ev", custom, Default::default()).await.unwrap();
    let first = service
        .connect("ev", Default::default(), None)
        .await
        .unwrap();
    let mut rx = service.subscribe();

    edit_settings(&paths.settings, |s| {
        s["codebuddy.connectors.custom"]["ev"]["env"] = serde_json::json!({"EDITED": "1"});
    });
    assert_eq!(next_status(&mut rx).await, (Connected, Configuring, None));
    assert_eq!(next_status(&mut rx).await, (Configuring, Connected, None));
    let restarted = service.info("ev").unwrap();
    assert_ne!(
        restarted.pid, first.pid,
        "a new server runs the edited definition"
    );

    // A policy edited by hand restarts it too.
    edit_settings(&paths.settings, |s| {
        s["codebuddy.connectors.policy"] = serde_json::json!({"ev": {"memory": "256m"}});
    });
    assert_eq!(next_status(&mut rx).await, (Connected, Configuring, None));
    assert_eq!(next_status(&mut rx).await, (Configuring, Connected, None));
    assert!(service.info("ev").unwrap().policy.contains("memory 256 MB"));

    edit_settings(&paths.settings, |s| {
        s["codebuddy.connectors.states"]["ev"] = "disconnected".into();
    });
    assert_eq!(next_status(&mut rx).await, (Connected, Disconnected, None));

    edit_settings(&paths.settings, |s| {
        s["codebuddy.connectors.states"]["ev"] = "connected".into();
    });
    assert_eq!(
        next_status(&mut rx).await,
        (Disconnected, Configuring, None)
    );
    assert_eq!(next_status(&mut rx).await, (Configuring, Connected, None));

    // Our own writes reconcile to nothing: no event follows.
    let quiet = tokio::time::timeout(Duration::from_millis(1500), next_status(&mut rx)).await;
    assert!(quiet.is_err(), "no further status event: {quiet:?}");
    service.shutdown().await;
}
