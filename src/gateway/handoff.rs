//! `switchboard gateway` without a byte bridge: the command hands its own
//! stdin and stdout to the service over `gateway.sock` (SCM_RIGHTS), and
//! the service serves the MCP session on those pipes directly, so a
//! message crosses one process boundary fewer and no copy loop sits in
//! between.
//!
//! The wire, on one connection to `gateway.sock`:
//!
//! - The first byte [`HANDOFF`] with two file descriptors attached (stdin,
//!   stdout) asks for a handed-off session. The connection then stays open
//!   as the session's control line: when the session ends the service
//!   writes one status byte ([`ENDED`] or [`STOPPED`]) and closes it, and
//!   the command exits accordingly; when the command dies, the service
//!   sees the control line close and ends the session.
//! - Any other first byte is the start of a plain MCP stream on the socket
//!   itself (what `bridge_stdio`'s fallback, the benchmarks' diagnostic
//!   and tests send).
//!
//! Only descriptors epoll can wait on (pipes, sockets, terminals) are
//! handed over; for anything else (a regular file, `/dev/null`) the
//! command falls back to copying bytes. The service sets `O_NONBLOCK` on
//! what it receives and restores the old flags before closing, since the
//! open file description is shared with the client.

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::stat::{fstat, SFlag};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::UnixStream;

/// First byte of a connection whose stdin and stdout travel with it. The
/// session's options follow (a `u32` big-endian length, then the JSON of
/// [`SessionOptions`]), for both openings.
pub const HANDOFF: u8 = b'F';
/// First byte of a handoff that resumes a client session a previous
/// service served: the client's `initialize` params follow on the socket
/// (a `u32` big-endian length, then the JSON), since the client will not
/// send them again.
pub const RESUME: u8 = b'R';
/// Control frame from the service: the client's `initialize` params (a
/// `u32` big-endian length, then the JSON), for a later resume.
pub const INIT: u8 = b'I';
/// Status byte: the session ended because the client closed its side.
pub const ENDED: u8 = 0;
/// Status byte: the session ended because the service was told to stop
/// (`switchboard shutdown`).
pub const STOPPED: u8 = 1;
/// Status byte: the service is going away on its own (a signal); the
/// command starts another and resumes. A crash says nothing at all and
/// means the same.
pub const GONE: u8 = 2;
/// The longest `initialize` params frame accepted.
pub const MAX_INIT_BYTES: usize = 1024 * 1024;

/// What a `switchboard gateway` command asks of its session.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SessionOptions {
    /// Its tools: all, or the tool search's (`--tools`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<super::search::ToolsMode>,
    /// Only this profile's connectors and tools (`--profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// What the first read of a connection found.
pub enum Opening {
    /// The peer closed before sending anything.
    Closed,
    /// A handed-off session: the client's stdin and stdout; `resume` when
    /// the client already initialized with an earlier service.
    Handoff {
        input: OwnedFd,
        output: OwnedFd,
        resume: bool,
    },
    /// A plain MCP stream that starts with this byte.
    Plain(u8),
}

/// Whether epoll can wait on `fd`: a pipe, a socket or a terminal.
pub fn pollable(fd: BorrowedFd<'_>) -> bool {
    let Ok(stat) = fstat(fd) else {
        return false;
    };
    let kind = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT;
    kind == SFlag::S_IFIFO
        || kind == SFlag::S_IFSOCK
        || (kind == SFlag::S_IFCHR && std::io::IsTerminal::is_terminal(&fd))
}

/// Sends `opening` ([`HANDOFF`] or [`RESUME`]) with `input` and `output`
/// attached.
pub async fn send(
    socket: &UnixStream,
    opening: u8,
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
) -> io::Result<()> {
    let fds = [input.as_raw_fd(), output.as_raw_fd()];
    let sent = socket
        .async_io(Interest::WRITABLE, || {
            sendmsg::<()>(
                socket.as_raw_fd(),
                &[IoSlice::new(&[opening])],
                &[ControlMessage::ScmRights(&fds)],
                MsgFlags::MSG_NOSIGNAL,
                None,
            )
            .map_err(io::Error::from)
        })
        .await?;
    if sent == 1 {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the gateway socket took nothing",
        ))
    }
}

/// Reads a connection's first byte and any descriptors sent with it.
pub async fn receive(socket: &UnixStream) -> io::Result<Opening> {
    let (byte, fds) = socket
        .async_io(Interest::READABLE, || {
            let mut byte = [0u8; 1];
            let mut space = nix::cmsg_space!([RawFd; 2]);
            let mut iov = [IoSliceMut::new(&mut byte)];
            let msg = recvmsg::<()>(
                socket.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )
            .map_err(io::Error::from)?;
            let mut fds = Vec::new();
            for cmsg in msg.cmsgs().map_err(io::Error::from)? {
                if let ControlMessageOwned::ScmRights(received) = cmsg {
                    // SAFETY: the kernel just installed these descriptors
                    // in this process for us; nothing else owns them.
                    fds.extend(
                        received
                            .into_iter()
                            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                    );
                }
            }
            let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
            let read = msg.bytes;
            if truncated {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "too many descriptors sent to the gateway socket",
                ));
            }
            Ok(((read == 1).then_some(byte[0]), fds))
        })
        .await?;
    let Some(byte) = byte else {
        return Ok(Opening::Closed);
    };
    if byte != HANDOFF && byte != RESUME {
        return Ok(Opening::Plain(byte));
    }
    let resume = byte == RESUME;
    let mut fds = fds.into_iter();
    match (fds.next(), fds.next(), fds.next()) {
        (Some(input), Some(output), None) => Ok(Opening::Handoff {
            input,
            output,
            resume,
        }),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a gateway handoff needs exactly two descriptors (stdin, stdout)",
        )),
    }
}

/// Writes a length-prefixed frame (`u32` big-endian, then the bytes).
pub async fn write_frame<W: AsyncWrite + Unpin>(
    write: &mut W,
    tag: Option<u8>,
    body: &[u8],
) -> io::Result<()> {
    let length = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
    let mut frame = Vec::with_capacity(body.len() + 5);
    frame.extend(tag);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(body);
    write.write_all(&frame).await?;
    write.flush().await
}

/// Reads a length-prefixed frame of at most [`MAX_INIT_BYTES`].
pub async fn read_frame<R: AsyncRead + Unpin>(read: &mut R) -> io::Result<Vec<u8>> {
    let mut length = [0u8; 4];
    read.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_INIT_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "an initialize frame over the limit",
        ));
    }
    let mut body = vec![0u8; length];
    read.read_exact(&mut body).await?;
    Ok(body)
}

/// A received pipe, socket or terminal read or written without blocking,
/// through the runtime's reactor. Its old file status flags come back on
/// drop: the open file description is the client's too.
pub struct Pipe {
    fd: AsyncFd<File>,
    /// The flags it had when received (without `O_NONBLOCK`, as a rule).
    old_flags: OFlag,
}

impl Pipe {
    /// Makes `fd` non-blocking and registers it with the reactor.
    pub fn new(fd: OwnedFd) -> io::Result<Pipe> {
        let old_flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
        fcntl(&fd, FcntlArg::F_SETFL(old_flags | OFlag::O_NONBLOCK))?;
        // SAFETY: the `File` owns its descriptor and is owned by the
        // `AsyncFd` from here on, so it stays open, unchanged, as long as
        // the registration.
        let fd = unsafe { AsyncFd::register(File::from(fd)) }?;
        Ok(Pipe { fd, old_flags })
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let _ = fcntl(self.fd.get_ref().as_fd(), FcntlArg::F_SETFL(self.old_flags));
    }
}

impl AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|file| file.get_ref().read(unfilled)) {
                Ok(Ok(read)) => {
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(err)) => return Poll::Ready(Err(err)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|file| file.get_ref().write(buf)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn descriptors_travel_with_the_first_byte() {
        let (a, b) = UnixStream::pair().unwrap();
        let (in_r, in_w) = nix::unistd::pipe().unwrap();
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        assert!(pollable(in_r.as_fd()) && pollable(out_w.as_fd()));
        send(&a, HANDOFF, in_r.as_fd(), out_w.as_fd())
            .await
            .unwrap();
        drop((in_r, out_w));
        let Ok(Opening::Handoff {
            input,
            output,
            resume: false,
        }) = receive(&b).await
        else {
            panic!("no handoff");
        };
        let mut input = Pipe::new(input).unwrap();
        let mut output = Pipe::new(output).unwrap();
        let mut client_in = File::from(in_w);
        client_in.write_all(b"ping").unwrap();
        drop(client_in);
        let mut got = Vec::new();
        input.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
        output.write_all(b"pong").await.unwrap();
        drop(output);
        let mut back = String::new();
        File::from(out_r).read_to_string(&mut back).unwrap();
        assert_eq!(back, "pong");
    }

    #[tokio::test]
    async fn a_plain_stream_keeps_its_first_byte() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"{\"jsonrpc\"").await.unwrap();
        assert!(matches!(receive(&b).await, Ok(Opening::Plain(b'{'))));
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert!(matches!(receive(&b).await, Ok(Opening::Closed)));
    }

    #[test]
    fn regular_files_are_not_handed_over() {
        let file = tempfile::tempfile().unwrap();
        assert!(!pollable(file.as_fd()));
    }
}
