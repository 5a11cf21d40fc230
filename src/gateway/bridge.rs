//! `switchboard gateway`, the command every MCP client runs: hands its
//! stdin and stdout to the service (`gateway/handoff.rs`) and waits. When
//! the service goes away under a live session (a crash, a signal, an
//! upgrade's restart) it starts the service again and hands the same pipes
//! over once more, with the client's `initialize` params the service sent
//! it, so the new service resumes the session (the client never
//! re-initializes) and tells the client its lists changed. Only a
//! `switchboard shutdown` ends the session with the service.
//!
//! Where the pipes cannot be handed over (a regular file), it copies bytes
//! between them and the socket instead, without resuming.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::handoff;
use super::GATEWAY_SOCKET;
use crate::client::Client;
use crate::error::{Error, Result};

/// How long a service that went away may take to be replaced.
const RESUME_DEADLINE: Duration = Duration::from_secs(60);
/// Between two tries to reach or start the next service.
const RETRY_INTERVAL: Duration = Duration::from_millis(200);

/// How one handed-off session ended.
enum Outcome {
    /// The client closed its side.
    Ended,
    /// A person stopped the service.
    Stopped,
    /// The service went away on its own: resume with the next one.
    Gone,
}

/// Serves this process's stdio as a gateway session (see the module doc).
pub async fn bridge_stdio(
    client: &Client,
    home: &Path,
    handoff: bool,
    options: &handoff::SessionOptions,
) -> Result<()> {
    let path = home.join(GATEWAY_SOCKET);
    let unavailable = |reason: String| Error::ServiceUnavailable {
        socket: path.clone(),
        reason,
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    if !(handoff && handoff::pollable(stdin.as_fd()) && handoff::pollable(stdout.as_fd())) {
        return copy_bytes(&path).await.map_err(unavailable);
    }
    // A service that dies leaves the shared descriptions non-blocking.
    let flags = Flags::save(stdin.as_fd(), stdout.as_fd());
    let mut init: Option<Vec<u8>> = None;
    loop {
        let outcome = serve_once(&path, &mut init, options).await;
        flags.restore(stdin.as_fd(), stdout.as_fd());
        match outcome {
            Ok(Outcome::Ended) => return Ok(()),
            Ok(Outcome::Stopped) => return Err(unavailable("the service stopped".into())),
            Ok(Outcome::Gone) | Err(_) if init.is_some() => {
                tracing::info!("the service went away; starting it again to resume the session");
                next_service(client, &path).await.map_err(unavailable)?;
            }
            Ok(Outcome::Gone) => {
                return Err(unavailable(
                    "the service went away before the client initialized".into(),
                ))
            }
            Err(reason) => return Err(unavailable(reason)),
        }
    }
}

/// One handoff: sends the pipes (resuming when `init` is known), then
/// follows the control line, keeping the `initialize` params it carries.
async fn serve_once(
    path: &Path,
    init: &mut Option<Vec<u8>>,
    options: &handoff::SessionOptions,
) -> std::result::Result<Outcome, String> {
    let mut socket = UnixStream::connect(path)
        .await
        .map_err(|e| format!("the gateway is not listening: {e}"))?;
    let opening = if init.is_some() {
        handoff::RESUME
    } else {
        handoff::HANDOFF
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    handoff::send(&socket, opening, stdin.as_fd(), stdout.as_fd())
        .await
        .map_err(|e| format!("cannot hand stdio to the gateway: {e}"))?;
    let asked = serde_json::to_vec(options).map_err(|e| format!("session options: {e}"))?;
    handoff::write_frame(&mut socket, None, &asked)
        .await
        .map_err(|e| format!("cannot hand stdio to the gateway: {e}"))?;
    if let Some(params) = init.as_deref() {
        handoff::write_frame(&mut socket, None, params)
            .await
            .map_err(|e| format!("cannot resume the session: {e}"))?;
    }
    loop {
        let mut tag = [0u8; 1];
        match socket.read(&mut tag).await {
            Ok(1) if tag[0] == handoff::INIT => match handoff::read_frame(&mut socket).await {
                Ok(params) => *init = Some(params),
                Err(_) => return Ok(Outcome::Gone),
            },
            Ok(1) if tag[0] == handoff::ENDED => return Ok(Outcome::Ended),
            Ok(1) if tag[0] == handoff::STOPPED => return Ok(Outcome::Stopped),
            // GONE, a crash (EOF) or a broken line: the service is gone.
            _ => return Ok(Outcome::Gone),
        }
    }
}

/// Waits for the next service, starting it (again and again, as the old
/// one may still hold the data dir while it stops) until one answers on
/// the gateway socket.
async fn next_service(client: &Client, path: &Path) -> std::result::Result<(), String> {
    let deadline = Instant::now() + RESUME_DEADLINE;
    let mut last = String::new();
    while Instant::now() < deadline {
        match client.ensure_running().await {
            Ok(_) if UnixStream::connect(path).await.is_ok() => return Ok(()),
            Ok(_) => last = "the gateway socket does not answer yet".into(),
            Err(err) => last = err.to_string(),
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
    Err(format!(
        "the service went away and no new one answered within {}s ({last})",
        RESUME_DEADLINE.as_secs()
    ))
}

/// Copies bytes both ways between stdio and the gateway socket until
/// either side closes.
async fn copy_bytes(path: &Path) -> std::result::Result<(), String> {
    let mut socket = UnixStream::connect(path)
        .await
        .map_err(|e| format!("the gateway is not listening: {e}"))?;
    let mut stdio = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
    let copied = tokio::io::copy_bidirectional(&mut stdio, &mut socket).await;
    let _ = socket.shutdown().await;
    match copied {
        Ok(_) => Ok(()),
        // The client closing its end first is the normal way to finish.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(format!("the gateway connection failed: {err}")),
    }
}

/// The file status flags of stdin and stdout as this process got them.
struct Flags(Option<OFlag>, Option<OFlag>);

impl Flags {
    fn save(input: BorrowedFd<'_>, output: BorrowedFd<'_>) -> Flags {
        let get = |fd| {
            fcntl(fd, FcntlArg::F_GETFL)
                .ok()
                .map(OFlag::from_bits_truncate)
        };
        Flags(get(input), get(output))
    }

    fn restore(&self, input: BorrowedFd<'_>, output: BorrowedFd<'_>) {
        for (fd, flags) in [(input, self.0), (output, self.1)] {
            if let Some(flags) = flags {
                let _ = fcntl(fd, FcntlArg::F_SETFL(flags));
            }
        }
    }
}
