//! An `AsyncRead` that hands on only what a [`Lines`] keeps of another
//! stream of newline-delimited JSON-RPC: the gateway's intake on a client's
//! stream (`gateway/checked_stream.rs`) and the service's tap on a
//! server's output (`mcp/client_tasks.rs`) are each a `Lines`; the reading,
//! the buffering and the hand-over are this one.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// How much is read from the stream at a time.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;

/// What is kept of a stream, as it comes.
pub trait Lines {
    /// Takes the next bytes read; what the reader should have goes to
    /// `ready`.
    fn take(&mut self, bytes: &[u8], ready: &mut Vec<u8>);
    /// The stream ended: anything held that the reader should still have
    /// goes to `ready`.
    fn end(&mut self, ready: &mut Vec<u8>);
}

/// The reader over `R` that yields what `L` keeps.
pub struct LineRead<R, L> {
    inner: R,
    chunk: Box<[u8]>,
    /// Kept bytes not yet read, from `ready_at`.
    ready: Vec<u8>,
    ready_at: usize,
    eof: bool,
    lines: L,
}

impl<R, L> LineRead<R, L> {
    /// Reads `inner` through `lines`; `first` is read before anything of
    /// `inner`.
    pub fn new(inner: R, lines: L, first: Vec<u8>) -> LineRead<R, L> {
        LineRead {
            inner,
            chunk: vec![0; CHUNK_BYTES].into_boxed_slice(),
            ready: first,
            ready_at: 0,
            eof: false,
            lines,
        }
    }
}

impl<R: AsyncRead + Unpin, L: Lines + Unpin> AsyncRead for LineRead<R, L> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.ready_at < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.ready_at);
                buf.put_slice(&this.ready[this.ready_at..this.ready_at + n]);
                this.ready_at += n;
                if this.ready_at == this.ready.len() {
                    this.ready.clear();
                    this.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut read = ReadBuf::new(&mut this.chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let n = read.filled().len();
            if n == 0 {
                this.eof = true;
                this.lines.end(&mut this.ready);
                continue;
            }
            this.lines.take(&this.chunk[..n], &mut this.ready);
        }
    }
}
