//! Shared harness for the HTTP tests: a real `ConnectorService` in a temp
//! dir with its HTTP server on 127.0.0.1:0, a `reqwest` client that sends
//! the token, a Server-Sent Events reader, and server-everything as the
//! backend.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use switchboard::gateway::{Gateway, GatewayOptions};
use switchboard::http::{HttpHandle, HttpOptions};
use switchboard::{ConnectorService, Paths, ServiceOptions};
use tokio_util::sync::CancellationToken;

/// How long any one thing the tests wait for may take.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// server-everything's stdio entry point (installed by install-peers).
pub fn server_everything() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(
        path.exists(),
        "test peer {} is missing: run `bash .ci/install-peers.sh` first",
        path.display()
    );
    path.display().to_string()
}

/// A service and its HTTP server, in their own temp dir.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub service: ConnectorService,
    pub handle: HttpHandle,
    pub stop: CancellationToken,
    /// Sends the bearer token; follows no redirects.
    pub client: reqwest::Client,
    /// Sends nothing extra.
    pub bare: reqwest::Client,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::Builder::new()
            .prefix("sb-http-")
            .tempdir()
            .unwrap();
        Server::start_in(dir, HttpOptions::default()).await
    }

    /// A server whose settings file starts as `settings` (JSON).
    pub async fn start_with_settings(settings: Value) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("sb-http-")
            .tempdir()
            .unwrap();
        let paths = Paths::in_dir(dir.path());
        std::fs::write(&paths.settings, settings.to_string()).unwrap();
        Server::start_in(dir, HttpOptions::default()).await
    }

    pub async fn start_in(dir: tempfile::TempDir, options: HttpOptions) -> Server {
        let service = ConnectorService::start(Paths::in_dir(dir.path()), ServiceOptions::default())
            .await
            .unwrap();
        let gateway = Gateway::new(service.clone(), GatewayOptions::default());
        let stop = CancellationToken::new();
        let handle = switchboard::http::serve(service.clone(), gateway, options, stop.clone())
            .await
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", handle.token())).unwrap(),
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let bare = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            dir,
            service,
            handle,
            stop,
            client,
            bare,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.url(), path.trim_start_matches('/'))
    }

    pub fn port(&self) -> u16 {
        self.handle.local_addr().port()
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// GET with the token; returns status and JSON body (Null if none).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        send(self.request(Method::GET, path)).await
    }

    /// A method with a JSON body (or none), with the token.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// Adds server-everything as `name` and connects it.
    pub async fn connect_everything(&self, name: &str) -> Value {
        let (status, _) = self
            .send(
                Method::POST,
                "/api/v1/connectors",
                Some(json!({"name": name, "command": "node", "args": [server_everything(), "stdio"]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, info) = self
            .send(
                Method::POST,
                &format!("/api/v1/connectors/{name}/connect"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{info}");
        assert_eq!(info["status"], "connected");
        info
    }

    /// Stops the server and the service, and waits for both.
    pub async fn close(self) {
        self.stop.cancel();
        tokio::time::timeout(DEADLINE, self.handle.stopped())
            .await
            .expect("the HTTP server stops");
        self.service.shutdown().await;
    }
}

/// Sends a request; returns status and JSON body (Null if none or not JSON).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts an API error: status, stable code, and a message.
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert!(
        got.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<u64>,
    pub event: String,
    pub data: Value,
}

/// Reads events from an SSE response.
pub struct SseReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
    ready: VecDeque<SseEvent>,
}

impl SseReader {
    pub fn new(response: Response) -> SseReader {
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        SseReader {
            stream: response.bytes_stream().boxed(),
            buffer: String::new(),
            ready: VecDeque::new(),
        }
    }

    /// The next event with data, within the deadline.
    pub async fn next(&mut self) -> SseEvent {
        tokio::time::timeout(DEADLINE, self.next_inner())
            .await
            .expect("an event within the deadline")
    }

    /// The next event matching `pred`, skipping others.
    pub async fn next_matching(&mut self, pred: impl Fn(&SseEvent) -> bool) -> SseEvent {
        tokio::time::timeout(DEADLINE, async {
            loop {
                let event = self.next_inner().await;
                if pred(&event) {
                    return event;
                }
            }
        })
        .await
        .expect("a matching event within the deadline")
    }

    async fn next_inner(&mut self) -> SseEvent {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return event;
            }
            let chunk = self.stream.next().await.expect("stream open").unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                // Keep-alive comments and `retry:` have no data.
                if !data.is_empty() {
                    self.ready.push_back(SseEvent {
                        id,
                        event,
                        data: serde_json::from_str(&data).unwrap(),
                    });
                }
            }
        }
    }
}
