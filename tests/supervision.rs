//! Supervision against real servers: a killed server comes back after a
//! backoff, one killed every time ends in `error` after the cap, and one
//! that stops answering pings is caught within the ping deadline, and a
//! skill whose database (a Redis of the test's own) goes away and comes
//! back follows it: `error` with the reason, then `connected` again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{repo, server_everything};
use switchboard::{
    ConnectorEvent, ConnectorService, ConnectorStatus, CustomConnector, Paths, ServiceOptions,
};
use tokio::sync::broadcast::Receiver;

use ConnectorStatus::*;

/// A service whose settings ask for fast pings and restarts.
async fn service(dir: &std::path::Path, supervision: &str) -> ConnectorService {
    let paths = Paths::in_dir(dir);
    std::fs::write(
        &paths.settings,
        format!("{{ \"codebuddy.connectors.supervision\": {supervision} }}"),
    )
    .unwrap();
    ConnectorService::start(paths, ServiceOptions::default())
        .await
        .unwrap()
}

async fn add(service: &ConnectorService, name: &str, command: &str, args: Vec<String>) {
    let custom = CustomConnector::from_flags(Some(command.into()), None, args, &[]).unwrap();
    service.add(name, custom, Default::default()).await.unwrap();
}

async fn next_status(
    rx: &mut Receiver<ConnectorEvent>,
    within: Duration,
) -> (ConnectorStatus, ConnectorStatus, Option<String>) {
    loop {
        let event = tokio::time::timeout(within, rx.recv())
            .await
            .expect("a status event within the deadline")
            .expect("channel open");
        if let ConnectorEvent::Status {
            old, new, reason, ..
        } = event
        {
            return (old, new, reason);
        }
    }
}

fn kill(pid: u32) {
    // SAFETY: signals a server this test's service started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_is_restarted_after_a_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), r#"{"restartBackoffMs": 100, "maxRestarts": 3}"#).await;
    add(
        &svc,
        "ev",
        "node",
        vec![server_everything(), "stdio".into()],
    )
    .await;
    let first = svc.connect("ev", Default::default(), None).await.unwrap();
    let mut rx = svc.subscribe();
    kill(first.pid.unwrap());

    let wait = Duration::from_secs(30);
    let (old, new, reason) = next_status(&mut rx, wait).await;
    assert_eq!((old, new), (Connected, Error));
    let reason = reason.unwrap();
    assert!(reason.contains("signal 9"), "{reason}");
    assert!(reason.contains("restart 1 of 3"), "{reason}");
    assert_eq!(next_status(&mut rx, wait).await, (Error, Configuring, None));
    assert_eq!(
        next_status(&mut rx, wait).await,
        (Configuring, Connected, None)
    );
    let info = svc.info("ev").unwrap();
    assert_ne!(info.pid, first.pid);
    assert_eq!(info.restarts, 1);
    assert!(info.last_error.unwrap().contains("signal 9"));
    svc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_every_time_ends_in_error_after_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), r#"{"restartBackoffMs": 50, "maxRestarts": 2}"#).await;
    add(
        &svc,
        "ev",
        "node",
        vec![server_everything(), "stdio".into()],
    )
    .await;
    let mut rx = svc.subscribe();
    svc.connect("ev", Default::default(), None).await.unwrap();
    let wait = Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let (old, new, reason) = next_status(&mut rx, wait).await;
        seen.push((old, new));
        if new == Connected {
            kill(svc.info("ev").unwrap().pid.unwrap());
        }
        if new == Error && reason.as_deref().unwrap_or("").contains("gave up") {
            assert!(
                reason.unwrap().contains("gave up after 2 restarts failed"),
                "the message counts the tries"
            );
            break;
        }
    }
    assert_eq!(
        seen,
        vec![
            (Disconnected, Configuring),
            (Configuring, Connected),
            (Connected, Error),
            (Error, Configuring),
            (Configuring, Connected),
            (Connected, Error),
            (Error, Configuring),
            (Configuring, Connected),
            (Connected, Error),
        ]
    );
    // No further restart is pending.
    assert!(tokio::time::timeout(Duration::from_millis(500), rx.recv())
        .await
        .is_err());
    assert_eq!(svc.info("ev").unwrap().status, Error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_pings_is_caught_within_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(
        dir.path(),
        r#"{"pingIntervalMs": 200, "pingTimeoutMs": 300, "maxRestarts": 0}"#,
    )
    .await;
    let script = repo().join("tests/peers/hang_after_init.py");
    add(&svc, "hang", "python3", vec![script.display().to_string()]).await;
    let mut rx = svc.subscribe();
    let started = std::time::Instant::now();
    let info = svc.connect("hang", Default::default(), None).await.unwrap();
    assert_eq!(info.status, Connected);
    let pid = info.pid.unwrap();
    let _ = next_status(&mut rx, Duration::from_secs(10)).await;
    let _ = next_status(&mut rx, Duration::from_secs(10)).await;
    let (old, new, reason) = next_status(&mut rx, Duration::from_secs(5)).await;
    assert_eq!((old, new), (Connected, Error));
    let reason = reason.unwrap();
    assert!(
        reason.contains("did not answer a ping within 300 ms"),
        "{reason}"
    );
    // interval + timeout, with generous room for a loaded machine
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(common::poll(Duration::from_secs(5), || !common::alive(
        pid as u64
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_wins_over_a_pending_restart() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(
        dir.path(),
        r#"{"restartBackoffMs": 2000, "maxRestarts": 3}"#,
    )
    .await;
    add(
        &svc,
        "ev",
        "node",
        vec![server_everything(), "stdio".into()],
    )
    .await;
    let info = svc.connect("ev", Default::default(), None).await.unwrap();
    let mut rx = svc.subscribe();
    kill(info.pid.unwrap());
    let (_, new, _) = next_status(&mut rx, Duration::from_secs(10)).await;
    assert_eq!(new, Error);
    svc.disconnect("ev").await.unwrap();
    assert_eq!(
        next_status(&mut rx, Duration::from_secs(10)).await,
        (Error, Disconnected, None)
    );
    // The restart that was due in ~2 s never happens.
    assert!(tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .is_err());
    assert_eq!(svc.info("ev").unwrap().status, Disconnected);
}

/// A Redis server of the test's own on a free port, killed on drop.
struct PrivateRedis {
    child: std::process::Child,
}

impl PrivateRedis {
    fn start(port: u16) -> PrivateRedis {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package) on PATH");
        let up = common::poll(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "redis-server did not listen on {port}");
        PrivateRedis { child }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skill_whose_database_goes_away_is_an_error_and_comes_back_with_it() {
    // Its own Redis, so stopping it disturbs no other test.
    let port = PrivateRedis::free_port();
    let redis = PrivateRedis::start(port);
    let dir = tempfile::tempdir().unwrap();
    let svc = service(
        dir.path(),
        r#"{"pingIntervalMs": 200, "pingTimeoutMs": 1000, "restartBackoffMs": 200, "maxRestarts": 20}"#,
    )
    .await;
    svc.set_backend("redis", switchboard::catalog::ConnectorType::Skill)
        .await
        .unwrap();
    let mut values = switchboard::mcp::FieldValues::new();
    values.insert("url".into(), format!("redis://127.0.0.1:{port}"));
    let info = svc.connect("redis", values, None).await.unwrap();
    assert_eq!(info.status, Connected);
    let mut rx = svc.subscribe();

    // The database goes away: the health check notices within its interval
    // and deadline, and says why.
    drop(redis);
    let wait = Duration::from_secs(20);
    let (old, new, reason) = next_status(&mut rx, wait).await;
    assert_eq!((old, new), (Connected, Error));
    let reason = reason.unwrap();
    eprintln!("when the database went away: {reason}");
    assert!(reason.contains("restart 1 of 20"), "{reason}");

    // It comes back on the same port: a restart finds it and reconnects.
    let _redis = PrivateRedis::start(port);
    let mut connected = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !connected && tokio::time::Instant::now() < deadline {
        if let Ok((_, new, _)) = tokio::time::timeout(Duration::from_secs(5), async {
            next_status(&mut rx, wait).await
        })
        .await
        {
            connected = new == Connected;
        }
    }
    assert!(connected, "the skill did not come back with its database");
    let answer = svc
        .call(
            "redis",
            "get",
            Some(serde_json::json!({"key": "sb_absent_key"})),
            switchboard::audit::CallSource::Cli,
        )
        .await
        .unwrap();
    assert_ne!(answer.is_error, Some(true), "{answer:?}");
    svc.disconnect("redis").await.unwrap();
}
