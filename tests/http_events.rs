//! `GET /api/v1/events`: status changes and log lines as Server-Sent
//! Events with ids that only grow, and a client that reconnects with
//! `Last-Event-ID` (or `?last_event_id=`) getting exactly what it missed —
//! or a `resync` when that is no longer kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use http_support::{server_everything, Server, SseEvent, SseReader};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn is_status(event: &SseEvent, connector: &str) -> bool {
    event.event == "status" && event.data["connector"] == connector
}

async fn open(server: &Server, last: Option<&str>, query: &str) -> SseReader {
    let mut request = server
        .client
        .get(server.url(&format!("/api/v1/events{query}")));
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    SseReader::new(request.send().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_follow_changes_and_resume_without_gaps() {
    let server = Server::start().await;
    let (status, _) = server
        .send(
            Method::POST,
            "/api/v1/connectors",
            Some(json!({"name": "ev", "command": "node", "args": [server_everything(), "stdio"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let mut events = open(&server, None, "").await;
    let (status, _) = server
        .send(Method::POST, "/api/v1/connectors/ev/connect", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let starting = events.next_matching(|e| is_status(e, "ev")).await;
    assert_eq!(
        (
            &starting.data["old"],
            &starting.data["new"],
            &starting.data["kind"]
        ),
        (
            &json!("disconnected"),
            &json!("configuring"),
            &json!("status")
        )
    );
    let connected = events.next_matching(|e| is_status(e, "ev")).await;
    assert_eq!(connected.data["new"], "connected");
    assert!(connected.id.unwrap() > starting.id.unwrap());
    // The connector's log lines arrive too (its lifecycle lines included).
    let log = events
        .next_matching(|e| {
            e.event == "log"
                && e.data["connector"] == "ev"
                && e.data["line"]
                    .as_str()
                    .unwrap()
                    .contains("configuring -> connected")
        })
        .await;
    let last_seen = log.id.unwrap();
    assert!(last_seen > connected.id.unwrap());
    drop(events);

    // While no one listens: a disconnect.
    let (status, _) = server
        .send(Method::POST, "/api/v1/connectors/ev/disconnect", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Resuming gets everything after the last id, in order, with no gap.
    let mut resumed = open(&server, Some(&last_seen.to_string()), "").await;
    let mut expected = last_seen + 1;
    let stopped = loop {
        let event = resumed.next().await;
        assert_eq!(event.id, Some(expected), "{event:?}");
        expected += 1;
        if is_status(&event, "ev") {
            break event;
        }
    };
    assert_eq!(
        (&stopped.data["old"], &stopped.data["new"]),
        (&json!("connected"), &json!("disconnected"))
    );

    // The query parameter does the same for clients that cannot set headers.
    let mut by_query = open(&server, None, &format!("?last_event_id={last_seen}")).await;
    assert_eq!(by_query.next().await.id, Some(last_seen + 1));

    // An id older than anything kept (or from an earlier run): resync first.
    let mut stale = open(&server, Some("1"), "").await;
    let first = stale.next().await;
    assert_eq!(first.event, "resync", "{first:?}");
    assert_eq!(first.data["kind"], "resync");
    assert!(first.data["reason"].as_str().is_some());

    // A malformed query is an API error, not a stream.
    let bad = server
        .client
        .get(server.url("/api/v1/events?last_event_id=soon"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_end_when_the_server_stops() {
    let server = Server::start().await;
    let response = server
        .client
        .get(server.url("/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop.cancel();
    // The body ends (rather than hanging) once the server stops.
    let _ = tokio::time::timeout(http_support::DEADLINE, response.text())
        .await
        .expect("the stream ends");
    tokio::time::timeout(http_support::DEADLINE, server.handle.stopped())
        .await
        .expect("the server stops with a stream open");
    server.service.shutdown().await;
}
