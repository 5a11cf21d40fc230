//! The gateway's transports. The service listens on `gateway.sock` in its
//! data dir (0600) and serves one MCP session per connection;
//! `switchboard gateway` bridges a client's stdio to that socket byte for
//! byte, so the MCP session — progress, cancellation, list changes — runs
//! between the client and the service directly.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rmcp::ServiceExt;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

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
                        let gateway = gateway.clone();
                        let stop = stop.clone();
                        tokio::spawn(async move {
                            match gateway.serve_with_ct(stream, stop.child_token()).await {
                                Ok(session) => { let _ = session.waiting().await; }
                                Err(err) => tracing::debug!("gateway session ended at start: {err}"),
                            }
                        });
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

/// Copies this process's stdin to the gateway socket and the socket's
/// output to stdout, until either side closes.
pub async fn bridge_stdio(home: &Path) -> Result<()> {
    let path = home.join(GATEWAY_SOCKET);
    let mut socket = UnixStream::connect(&path)
        .await
        .map_err(|e| Error::ServiceUnavailable {
            socket: path.clone(),
            reason: format!("the gateway is not listening: {e}"),
        })?;
    let mut stdio = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
    match tokio::io::copy_bidirectional(&mut stdio, &mut socket).await {
        Ok(_) => Ok(()),
        // The client closing its end first is the normal way to finish.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Error::ServiceUnavailable {
            socket: path,
            reason: format!("the gateway connection failed: {err}"),
        }),
    }
}
