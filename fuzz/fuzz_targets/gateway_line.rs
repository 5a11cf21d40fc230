//! Fuzzes the gateway's JSON-RPC intake: arbitrary bytes as one line to a
//! gateway session on the service's real gateway socket, either as the
//! very first line or after a proper MCP handshake (the first input byte
//! chooses). A connected built-in skill (SQLite, in memory) sits behind
//! it, so a line that happens to be a valid `tools/call` is routed for
//! real. Whatever the line, nothing may panic, and after the handshake the
//! session must still answer a ping (or have been closed) within a
//! deadline: a line can end a session, never hang or kill the service.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use switchboard::gateway::{serve_unix, Gateway, GatewayOptions, GATEWAY_SOCKET};
use switchboard::{ConnectorService, Paths, ServiceOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

const INITIALIZE: &[u8] = br#"{"jsonrpc":"2.0","id":"fz-init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzz","version":"0"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
"#;
const PING: &[u8] = b"{\"jsonrpc\":\"2.0\",\"id\":\"fz-ping\",\"method\":\"ping\"}\n";
/// How long the session may take to answer the ping after the fuzzed line.
const LIVENESS: Duration = Duration::from_secs(10);

struct World {
    runtime: tokio::runtime::Runtime,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // libFuzzer's C `main` leaves SIGPIPE fatal; Rust's `main` (which
        // `switchboard serve` has) ignores it, so do the same here, or a
        // write to a session the gateway closed would kill the fuzzer.
        // SAFETY: setting a signal disposition before any thread of ours runs.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        let dir = tempfile::Builder::new()
            .prefix("sb-fuzz-gateway-")
            .tempdir()
            .expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let paths = Paths::in_dir(dir.path());
        let socket = paths.home.join(GATEWAY_SOCKET);
        runtime.block_on(async {
            let service = ConnectorService::start(paths.clone(), ServiceOptions::default())
                .await
                .expect("service");
            let mut values = switchboard::mcp::FieldValues::new();
            values.insert("path".into(), ":memory:".into());
            values.insert("statement_timeout_ms".into(), "200".into());
            values.insert("row_limit".into(), "50".into());
            service
                .connect("sqlite", values, None)
                .await
                .expect("the sqlite skill connects");
            let gateway = Gateway::new(service, GatewayOptions::default());
            // Never cancelled: the socket lives as long as the fuzzer.
            let stop = tokio_util::sync::CancellationToken::new();
            serve_unix(gateway, &paths.home, stop)
                .await
                .expect("gateway socket");
        });
        World {
            runtime,
            socket,
            _dir: dir,
        }
    })
}

/// Reads lines until one contains `needle` (true) or the stream ends (false).
async fn read_until_seen(
    lines: &mut tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
    needle: &str,
) -> bool {
    loop {
        match lines.next_line().await {
            Ok(Some(line)) if line.contains(needle) => return true,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return false,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // One line: newlines inside the input become spaces.
    let mut line: Vec<u8> = rest
        .iter()
        .map(|b| if *b == b'\n' { b' ' } else { *b })
        .collect();
    line.push(b'\n');
    let handshake = mode & 1 == 1;
    world.runtime.block_on(async {
        let stream = UnixStream::connect(&world.socket).await.expect("gateway socket");
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        if handshake {
            write.write_all(INITIALIZE).await.expect("write initialize");
            let answered = tokio::time::timeout(LIVENESS, read_until_seen(&mut lines, "\"fz-init\""))
                .await
                .expect("initialize answered in time");
            assert!(answered, "the gateway closed a session at initialize");
        }
        // The peer may already have closed: a failed write is no finding.
        let _ = write.write_all(&line).await;
        if handshake {
            let _ = write.write_all(PING).await;
            match tokio::time::timeout(LIVENESS, read_until_seen(&mut lines, "\"fz-ping\"")).await {
                Ok(_answered_or_closed) => {}
                Err(_) => panic!("the session neither answered a ping nor closed within {LIVENESS:?} after: {:?}", String::from_utf8_lossy(&line)),
            }
        }
        // Our input ends: whatever state the session is in, it must end too.
        let _ = write.shutdown().await;
        let ended = tokio::time::timeout(LIVENESS, read_until_seen(&mut lines, "\u{0}")).await;
        assert!(ended.is_ok(), "the session outlived its client's input by {LIVENESS:?} after: {:?}", String::from_utf8_lossy(&line));
    });
});
