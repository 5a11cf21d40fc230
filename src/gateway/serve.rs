//! The gateway's transports. The service listens on `gateway.sock` in its
//! data dir (0600) and serves one MCP session per connection. `switchboard
//! gateway` hands its stdin and stdout to the service over that socket
//! (`gateway/handoff.rs`), so the MCP session — progress, cancellation,
//! list changes — runs between the client and the service directly, on
//! the client's own pipes; where they cannot be handed over (a regular
//! file), it copies bytes between them and the socket instead.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::ServiceExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use super::checked_stream;
use super::handoff::{self, Opening, Pipe};
use super::Gateway;
use crate::error::{Error, Result};

/// The gateway socket's file name in the data dir.
pub const GATEWAY_SOCKET: &str = "gateway.sock";

/// Serves the gateway on its Unix socket until `stop` is cancelled.
pub async fn serve_unix(gateway: Gateway, home: &Path, stop: CancellationToken) -> Result<()> {
    let path = home.join(GATEWAY_SOCKET);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| Error::ServiceUnavailable {
        socket: path.clone(),
        reason: format!("cannot listen: {e}"),
    })?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::file("protect", path.clone(), e))?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(serve_connection(gateway.clone(), stream, stop.clone()));
                    }
                    Err(err) => tracing::warn!("gateway accept failed: {err}"),
                },
                _ = stop.cancelled() => break,
            }
        }
        let _ = std::fs::remove_file(&path);
    });
    Ok(())
}

/// One connection: a handed-off session on the client's pipes, or a plain
/// MCP stream on the socket.
async fn serve_connection(gateway: Gateway, mut stream: UnixStream, stop: CancellationToken) {
    match handoff::receive(&stream).await {
        Ok(Opening::Closed) => {}
        Ok(Opening::Plain(first)) => {
            let (read, write) = stream.into_split();
            let read = std::io::Cursor::new([first]).chain(read);
            let session_ct = stop.child_token();
            let limit = gateway.max_message_bytes();
            let guarded = checked_stream::guard(read, write, limit, None);
            match gateway.serve_with_ct(guarded, session_ct).await {
                Ok(session) => {
                    let _ = session.waiting().await;
                }
                Err(err) => tracing::debug!("gateway session ended at start: {err}"),
            }
        }
        Ok(Opening::Handoff {
            input,
            output,
            resume,
        }) => {
            let options = match handoff::read_frame(&mut stream).await {
                Ok(body) => serde_json::from_slice::<handoff::SessionOptions>(&body)
                    .unwrap_or_else(|err| {
                        tracing::warn!("a gateway session's options are unreadable: {err}");
                        handoff::SessionOptions::default()
                    }),
                Err(err) => {
                    tracing::warn!("a gateway handoff without its options: {err}");
                    return;
                }
            };
            let gateway = match options.tools {
                Some(mode) => gateway.with_mode(mode),
                None => gateway,
            };
            let gateway = match &options.profile {
                Some(name) => match gateway.with_profile(name).await {
                    Ok(gateway) => gateway,
                    Err(err) => {
                        tracing::warn!("a gateway session for profile {name}: {err}");
                        return;
                    }
                },
                None => gateway,
            };
            let resume = if resume {
                match handoff::read_frame(&mut stream).await {
                    Ok(body) => match serde_json::from_slice::<serde_json::Value>(&body) {
                        Ok(params) => Some(params),
                        Err(err) => {
                            tracing::warn!("a gateway resume with unreadable params: {err}");
                            return;
                        }
                    },
                    Err(err) => {
                        tracing::warn!("a gateway resume without its params: {err}");
                        return;
                    }
                }
            } else {
                None
            };
            serve_handoff(gateway, stream, (input, output), resume, stop).await;
        }
        Err(err) => tracing::warn!("gateway connection refused: {err}"),
    }
}

/// Set once a person asked the service to stop (`switchboard shutdown`):
/// gateway commands then end with it instead of starting another.
static SHUTDOWN_ASKED: AtomicBool = AtomicBool::new(false);

/// Records that the coming stop was asked for (not a signal or a crash).
pub fn note_shutdown_asked() {
    SHUTDOWN_ASKED.store(true, Ordering::SeqCst);
}

/// Serves a session on the client's own stdin and stdout, until the client
/// closes its stdin, the `switchboard gateway` process (the control line)
/// goes away, or the service stops; then tells that process why. The
/// client's `initialize` params go to that process once the session is
/// up, so it can resume the session with the next service; a resumed
/// session tells the client its lists changed.
async fn serve_handoff(
    gateway: Gateway,
    control: UnixStream,
    (input, output): (std::os::fd::OwnedFd, std::os::fd::OwnedFd),
    resume: Option<serde_json::Value>,
    stop: CancellationToken,
) {
    let (input, output) = match (Pipe::new(input), Pipe::new(output)) {
        (Ok(input), Ok(output)) => (input, output),
        (Err(err), _) | (_, Err(err)) => {
            tracing::warn!("cannot serve the gateway on the handed-over stdio: {err}");
            return;
        }
    };
    let session_ct = stop.child_token();
    let limit = gateway.max_message_bytes();
    let resumed = resume.is_some();
    let guarded = checked_stream::guard(input, output, limit, resume);
    let (init_tx, mut init_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let session = async {
        match gateway.serve_with_ct(guarded, session_ct.clone()).await {
            Ok(session) => {
                if let Some(info) = session.peer().peer_info() {
                    if let Ok(params) = serde_json::to_vec(&*info) {
                        let _ = init_tx.send(params).await;
                    }
                }
                if resumed {
                    let peer = session.peer();
                    let _ = peer.notify_tool_list_changed().await;
                    let _ = peer.notify_prompt_list_changed().await;
                    let _ = peer.notify_resource_list_changed().await;
                }
                let _ = session.waiting().await;
            }
            Err(err) => tracing::debug!("gateway session ended at start: {err}"),
        }
    };
    tokio::pin!(session);
    let (mut control_read, mut control_write) = control.into_split();
    let mut byte = [0u8; 1];
    loop {
        tokio::select! {
            () = &mut session => {
                // The pipes are closed by now (the session owned them).
                let status = if !stop.is_cancelled() {
                    handoff::ENDED
                } else if SHUTDOWN_ASKED.load(Ordering::SeqCst) {
                    handoff::STOPPED
                } else {
                    handoff::GONE
                };
                let _ = control_write.write_all(&[status]).await;
                return;
            }
            Some(params) = init_rx.recv() => {
                let _ = handoff::write_frame(&mut control_write, Some(handoff::INIT), &params).await;
            }
            // The command never writes after the handoff: anything read
            // here is its end (EOF) or a broken line.
            _ = control_read.read(&mut byte) => {
                session_ct.cancel();
                return;
            }
        }
    }
}
