//! Remote MCP transports (SSE and Streamable HTTP) against a real peer,
//! `@modelcontextprotocol/server-everything`, and every connect failure a
//! user can meet, each against a raw TCP listener on 127.0.0.1 that answers
//! exactly what the case needs (and records what it was sent).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use switchboard::mcp::{connect_remote, RemoteError, RemoteTransport};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use url::Url;

/// How long the peer may take to listen (node start-up on a busy machine).
const PEER_START_DEADLINE: Duration = Duration::from_secs(30);
/// Deadline for a connect that should succeed.
const CONNECT_DEADLINE: Duration = Duration::from_secs(15);
/// Deadline for connects that fail; short, since every case answers at once
/// except the silent one, which must run into it.
const SHORT_DEADLINE: Duration = Duration::from_millis(500);
/// A header value that must never appear in an error.
const SECRET: &str = "sekrit-3f9a1c";

// ---------------------------------------------------------------------------
// The real peer

/// server-everything listening on a port of ours; its process group is
/// killed on drop.
struct Peer {
    child: Child,
    port: u16,
    /// The peer's stdout and stderr, line by line: it logs its sessions there.
    log: mpsc::UnboundedReceiver<String>,
}

impl Peer {
    async fn start(mode: &str) -> Peer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        assert!(
            script.exists(),
            "{} is missing: run `npm ci --prefix tests/peers`",
            script.display()
        );
        // PORT=0 would not tell us the port, so take a free one and hand it
        // over; the short window in which another process could take it is
        // caught by the readiness check below (the child would exit).
        let port = free_port().await;
        let mut child = Command::new("node")
            .arg(&script)
            .arg(mode)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node");
        let (lines_tx, log) = mpsc::unbounded_channel();
        forward_lines(child.stdout.take().expect("stdout"), lines_tx.clone());
        forward_lines(child.stderr.take().expect("stderr"), lines_tx);
        let deadline = Instant::now() + PEER_START_DEADLINE;
        loop {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Peer { child, port, log };
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!("server-everything {mode} exited before listening: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "server-everything {mode} did not listen on {port} within {PEER_START_DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits, with a deadline, for a log line containing `needle`.
    async fn wait_for_log(&mut self, needle: &str, within: Duration) {
        let found = tokio::time::timeout(within, async {
            while let Some(line) = self.log.recv().await {
                if line.contains(needle) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(found, Ok(true), "the peer never logged `{needle}`");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The whole group, so anything node started goes too.
            unsafe { libc::killpg(pid as i32, libc::SIGKILL) };
        }
    }
}

fn forward_lines(
    pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    to: mpsc::UnboundedSender<String>,
) {
    let mut lines = BufReader::new(pipe).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = to.send(line);
        }
    });
}

async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Connects, lists the tools, calls `echo`, and closes.
async fn round_trip(url: &str, transport: RemoteTransport) {
    let service = connect_remote(url, transport, &BTreeMap::new(), (), CONNECT_DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("connect {url} over {transport}: {e}"));
    let info = service
        .peer()
        .peer_info()
        .expect("server info after handshake");
    eprintln!(
        "{transport}: negotiated protocol {}",
        info.protocol_version.as_str()
    );

    let tools = service.peer().list_all_tools().await.expect("tools/list");
    assert!(
        tools.iter().any(|t| t.name == "echo"),
        "no echo tool in {:?}",
        tools.iter().map(|t| &t.name).collect::<Vec<_>>()
    );

    let args = serde_json::json!({ "message": "hi" });
    let result = service
        .peer()
        .call_tool(
            CallToolRequestParams::new("echo").with_arguments(args.as_object().unwrap().clone()),
        )
        .await
        .expect("tools/call echo");
    let texts: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    assert_eq!(texts, vec!["Echo: hi".to_string()]);
    assert_ne!(result.is_error, Some(true));

    service.cancel().await.expect("close");
}

#[tokio::test]
async fn sse_round_trip_with_server_everything() {
    let mut peer = Peer::start("sse").await;
    round_trip(&peer.url("/sse"), RemoteTransport::Sse).await;
    // Closing dropped the event stream; the server sees the session end.
    peer.wait_for_log("Client Disconnected", Duration::from_secs(5))
        .await;
}

#[tokio::test]
async fn streamable_http_round_trip_with_server_everything() {
    let mut peer = Peer::start("streamableHttp").await;
    round_trip(&peer.url("/mcp"), RemoteTransport::StreamableHttp).await;
    // Closing ended the session with a DELETE.
    peer.wait_for_log("session termination request", Duration::from_secs(5))
        .await;
}

// ---------------------------------------------------------------------------
// Canned listeners

/// What a canned listener does with each connection.
#[derive(Clone, Copy)]
enum Answer {
    /// Read the request head, write these bytes, close.
    Bytes(&'static [u8]),
    /// Accept, read, and never answer (the socket is kept open).
    Silence,
    /// An SSE server whose posts fail: a `GET` gets an event stream naming
    /// `/message` as the endpoint (kept open), anything else these bytes.
    SseEndpointThen(&'static [u8]),
}

/// A TCP listener on 127.0.0.1 that gives every connection the same answer
/// and records the request heads it read.
struct Canned {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Canned {
    async fn start(answer: Answer) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let recorded = heads.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let head = read_head(&mut socket).await;
                recorded.lock().unwrap().push(head.clone());
                match answer {
                    Answer::Bytes(bytes) => {
                        let _ = socket.write_all(bytes).await;
                        let _ = socket.shutdown().await;
                    }
                    Answer::Silence => held.push(socket),
                    Answer::SseEndpointThen(_) if head.starts_with("GET ") => {
                        let _ = socket.write_all(SSE_ENDPOINT).await;
                        held.push(socket);
                    }
                    Answer::SseEndpointThen(bytes) => {
                        let _ = socket.write_all(bytes).await;
                        let _ = socket.shutdown().await;
                    }
                }
            }
        });
        Canned {
            addr,
            heads,
            _task: task,
        }
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// Reads up to the end of the request head (or whatever arrives first
/// within a moment, for a peer that is not speaking HTTP, such as a TLS
/// client hello).
async fn read_head(socket: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_millis(200), socket.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

const NOT_FOUND: &[u8] =
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const UNAUTHORIZED: &[u8] =
    b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const HTML: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 27\r\nconnection: close\r\n\r\n<html><p>Welcome</p></html>";
const EMPTY_EVENT_STREAM: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n: hello\n\n";

const SSE_ENDPOINT: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\nevent: endpoint\ndata: /message?sessionId=s1\n\n";

fn both() -> [(RemoteTransport, &'static str); 2] {
    [
        (RemoteTransport::Sse, "/sse"),
        (RemoteTransport::StreamableHttp, "/mcp"),
    ]
}

fn secret_headers() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Authorization".to_string(), format!("Bearer {SECRET}")),
        ("X-Api-Key".to_string(), SECRET.to_string()),
    ])
}

async fn connect_err(
    url: &str,
    transport: RemoteTransport,
    headers: &BTreeMap<String, String>,
) -> RemoteError {
    match connect_remote(url, transport, headers, (), SHORT_DEADLINE).await {
        Ok(_) => panic!("connect to {url} over {transport} should fail"),
        Err(e) => {
            let shown = format!("{e} / {e:?}");
            assert!(!shown.contains(SECRET), "a header value leaked: {shown}");
            eprintln!("{transport}: {e}");
            e
        }
    }
}

// ---------------------------------------------------------------------------
// Headers and errors

#[tokio::test]
async fn custom_headers_reach_the_server_and_404_names_the_usual_paths() {
    for (transport, path) in both() {
        let listener = Canned::start(Answer::Bytes(NOT_FOUND)).await;
        let err = connect_err(&listener.url("http", path), transport, &secret_headers()).await;
        match &err {
            RemoteError::Http {
                status: 404, hint, ..
            } => {
                assert!(hint.contains("/sse") && hint.contains("/mcp"), "{hint}");
            }
            other => panic!("{transport}: expected Http 404, got {other:?}"),
        }
        let heads = listener.heads();
        let head = heads.first().expect("one request").to_ascii_lowercase();
        let expected_line = match transport {
            RemoteTransport::Sse => format!("get {path} http/1.1"),
            RemoteTransport::StreamableHttp => format!("post {path} http/1.1"),
        };
        assert!(head.starts_with(&expected_line), "{head}");
        assert!(head.contains(&format!("x-api-key: {SECRET}")), "{head}");
        assert!(
            head.contains(&format!("authorization: bearer {SECRET}")),
            "{head}"
        );
        if transport == RemoteTransport::Sse {
            assert!(head.contains("accept: text/event-stream"), "{head}");
        }
    }
}

#[tokio::test]
async fn sse_posts_carry_the_headers_and_keep_their_status() {
    let listener = Canned::start(Answer::SseEndpointThen(UNAUTHORIZED)).await;
    let err = connect_err(
        &listener.url("http", "/sse"),
        RemoteTransport::Sse,
        &secret_headers(),
    )
    .await;
    assert!(
        matches!(err, RemoteError::Http { status: 401, .. }),
        "{err:?}"
    );
    let heads = listener.heads();
    let post = heads
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .find(|h| h.starts_with("post "))
        .unwrap_or_else(|| panic!("no POST among {heads:?}"));
    assert!(
        post.starts_with("post /message?sessionid=s1 http/1.1"),
        "{post}"
    );
    assert!(post.contains(&format!("x-api-key: {SECRET}")), "{post}");
    assert!(post.contains("content-type: application/json"), "{post}");
}

#[tokio::test]
async fn refused_port_is_unreachable() {
    let port = free_port().await; // bound, then released: nothing listens
    for (transport, path) in both() {
        let url = format!("http://127.0.0.1:{port}{path}");
        let err = connect_err(&url, transport, &secret_headers()).await;
        assert!(
            matches!(err, RemoteError::Unreachable { .. }),
            "{transport}: {err:?}"
        );
    }
}

#[tokio::test]
async fn refused_credential_is_http_401_without_the_value() {
    for (transport, path) in both() {
        let listener = Canned::start(Answer::Bytes(UNAUTHORIZED)).await;
        let err = connect_err(&listener.url("http", path), transport, &secret_headers()).await;
        match &err {
            RemoteError::Http {
                status: 401, hint, ..
            } => {
                assert!(hint.contains("refused the credential"), "{hint}");
                assert!(hint.contains("--header"), "{hint}");
            }
            other => panic!("{transport}: expected Http 401, got {other:?}"),
        }
    }
    // Without any credential, the hint says to pass one.
    let listener = Canned::start(Answer::Bytes(UNAUTHORIZED)).await;
    let err = connect_err(
        &listener.url("http", "/sse"),
        RemoteTransport::Sse,
        &BTreeMap::new(),
    )
    .await;
    assert!(
        matches!(&err, RemoteError::Http { status: 401, hint, .. } if hint.contains("wants a credential")),
        "{err:?}"
    );
}

/// A plain web server (Python's `http.server`) answers a POST with 501 Not
/// Implemented: that URL is not an MCP endpoint, and retrying cannot help.
#[tokio::test]
async fn http_501_from_a_plain_web_server_is_not_mcp_not_try_again() {
    let port = free_port().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let deadline = Instant::now() + PEER_START_DEADLINE;
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "http.server did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://127.0.0.1:{port}/mcp");
    let err = connect_err(&url, RemoteTransport::StreamableHttp, &BTreeMap::new()).await;
    match &err {
        RemoteError::Http {
            status: 501, hint, ..
        } => {
            assert!(hint.contains("not an MCP endpoint"), "{hint}");
            assert!(!hint.contains("try again"), "{hint}");
        }
        other => panic!("expected Http 501, got {other:?}"),
    }
    let _ = server.kill().await;
}

#[tokio::test]
async fn html_page_is_not_mcp() {
    for (transport, path) in both() {
        let listener = Canned::start(Answer::Bytes(HTML)).await;
        let err = connect_err(&listener.url("http", path), transport, &secret_headers()).await;
        assert!(
            matches!(err, RemoteError::NotMcp { .. }),
            "{transport}: {err:?}"
        );
    }
}

#[tokio::test]
async fn event_stream_without_endpoint_is_not_mcp() {
    let listener = Canned::start(Answer::Bytes(EMPTY_EVENT_STREAM)).await;
    let err = connect_err(
        &listener.url("http", "/sse"),
        RemoteTransport::Sse,
        &BTreeMap::new(),
    )
    .await;
    match err {
        RemoteError::NotMcp { message, .. } => assert!(message.contains("endpoint"), "{message}"),
        other => panic!("expected NotMcp, got {other:?}"),
    }
}

#[tokio::test]
async fn silent_server_times_out_within_the_deadline() {
    for (transport, path) in both() {
        let listener = Canned::start(Answer::Silence).await;
        let started = Instant::now();
        let err = connect_err(&listener.url("http", path), transport, &secret_headers()).await;
        let took = started.elapsed();
        assert!(
            matches!(err, RemoteError::Timeout { after, .. } if after == SHORT_DEADLINE),
            "{transport}: {err:?}"
        );
        assert!(
            took >= SHORT_DEADLINE && took < SHORT_DEADLINE + Duration::from_millis(500),
            "{transport}: took {took:?}"
        );
    }
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_a_tls_error() {
    for (transport, path) in both() {
        let listener = Canned::start(Answer::Bytes(NOT_FOUND)).await;
        let err = connect_err(&listener.url("https", path), transport, &secret_headers()).await;
        assert!(
            matches!(err, RemoteError::Tls { .. }),
            "{transport}: {err:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Guessing the transport

#[test]
fn guess_transport_from_the_path() {
    let cases = [
        ("https://example.com/sse", Some(RemoteTransport::Sse)),
        ("https://example.com/v1/sse/", Some(RemoteTransport::Sse)),
        (
            "http://127.0.0.1:3001/sse?key=x",
            Some(RemoteTransport::Sse),
        ),
        (
            "https://example.com/mcp",
            Some(RemoteTransport::StreamableHttp),
        ),
        (
            "https://api.example.com/v2/mcp/",
            Some(RemoteTransport::StreamableHttp),
        ),
        ("https://example.com/", None),
        ("https://example.com", None),
        ("https://example.com/messages", None),
        ("https://example.com/mcp/sse-old", None),
        ("https://example.com/notsse", None),
        ("https://mcp.example.com/", None),
    ];
    for (url, expected) in cases {
        let url = Url::parse(url).unwrap();
        assert_eq!(RemoteTransport::guess(&url), expected, "{url}");
    }
}
