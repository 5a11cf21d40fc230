//! The gateway's transports. The service listens on `gateway.sock` in its
//! data dir (0600) and serves one MCP session per connection. `switchboard
//! gateway` hands its stdin and stdout to the service over that socket
//! (`gateway/handoff.rs`), so the MCP session — progress, cancellation,
//! list changes — runs between the client and the service directly, on
//! the client's own pipes; where they cannot be handed over (a regular
//! file), it copies bytes between them and the socket instead.

use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rmcp::ServiceExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use super::handoff::{self, Opening, Pipe};
use super::intake;
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
        .map_err(|e| Error::Internal(format!("cannot protect {}: {e}", path.display())))?;
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
async fn serve_connection(gateway: Gateway, stream: UnixStream, stop: CancellationToken) {
    match handoff::receive(&stream).await {
        Ok(Opening::Closed) => {}
        Ok(Opening::Plain(first)) => {
            let (read, write) = stream.into_split();
            let read = std::io::Cursor::new([first]).chain(read);
            let session_ct = stop.child_token();
            let limit = gateway.max_message_bytes();
            let guarded = intake::guard(read, write, limit, session_ct.clone());
            match gateway.serve_with_ct(guarded, session_ct).await {
                Ok(session) => {
                    let _ = session.waiting().await;
                }
                Err(err) => tracing::debug!("gateway session ended at start: {err}"),
            }
        }
        Ok(Opening::Handoff { input, output }) => {
            serve_handoff(gateway, stream, input, output, stop).await;
        }
        Err(err) => tracing::warn!("gateway connection refused: {err}"),
    }
}

/// Serves a session on the client's own stdin and stdout, until the client
/// closes its stdin, the `switchboard gateway` process (the control line)
/// goes away, or the service stops; then tells that process why.
async fn serve_handoff(
    gateway: Gateway,
    mut control: UnixStream,
    input: std::os::fd::OwnedFd,
    output: std::os::fd::OwnedFd,
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
    let guarded = intake::guard(input, output, limit, session_ct.clone());
    let session = async {
        match gateway.serve_with_ct(guarded, session_ct.clone()).await {
            Ok(session) => {
                let _ = session.waiting().await;
            }
            Err(err) => tracing::debug!("gateway session ended at start: {err}"),
        }
    };
    let (mut control_read, mut control_write) = control.split();
    let mut byte = [0u8; 1];
    tokio::select! {
        () = session => {
            // The pipes are closed by now (the session owned them).
            let status = if stop.is_cancelled() { handoff::STOPPED } else { handoff::ENDED };
            let _ = control_write.write_all(&[status]).await;
        }
        // The command never writes after the handoff: anything read here
        // is its end (EOF) or a broken line.
        _ = control_read.read(&mut byte) => session_ct.cancel(),
    }
}

/// Serves this process's stdio as a gateway session: hands stdin and
/// stdout to the service when `handoff` is allowed and both can be, and
/// waits for the session to end; otherwise copies bytes both ways between
/// them and the gateway socket until either side closes.
pub async fn bridge_stdio(home: &Path, handoff: bool) -> Result<()> {
    let path = home.join(GATEWAY_SOCKET);
    let unavailable = |reason: String| Error::ServiceUnavailable {
        socket: path.clone(),
        reason,
    };
    let mut socket = UnixStream::connect(&path)
        .await
        .map_err(|e| unavailable(format!("the gateway is not listening: {e}")))?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    if handoff && handoff::pollable(stdin.as_fd()) && handoff::pollable(stdout.as_fd()) {
        handoff::send(&socket, stdin.as_fd(), stdout.as_fd())
            .await
            .map_err(|e| unavailable(format!("cannot hand stdio to the gateway: {e}")))?;
        let mut status = [0u8; 1];
        return match socket.read(&mut status).await {
            Ok(1) if status[0] == handoff::ENDED => Ok(()),
            Ok(1) => Err(unavailable("the service stopped".into())),
            Ok(_) => Err(unavailable(
                "the service closed the gateway session unexpectedly".into(),
            )),
            Err(err) => Err(unavailable(format!("the gateway connection failed: {err}"))),
        };
    }
    let mut stdio = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
    match tokio::io::copy_bidirectional(&mut stdio, &mut socket).await {
        Ok(_) => Ok(()),
        // The client closing its end first is the normal way to finish.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(unavailable(format!("the gateway connection failed: {err}"))),
    }
}
