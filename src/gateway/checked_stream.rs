//! The gateway intake (`gateway/intake.rs`) on a stream — stdio handed
//! over by `switchboard gateway`, or the gateway socket — with nothing
//! added to the path of a good message:
//!
//! - [`CheckedRead`] is what rmcp reads: it reads the client's bytes, cuts
//!   them into lines (never holding more than the size limit of one),
//!   checks each, and hands rmcp only the good ones; a bad one becomes a
//!   refusal.
//! - [`SharedWrite`] is what rmcp writes: its bytes go straight to the
//!   client, holding the output for the length of a message; refusals are
//!   written by a task that takes the output between two messages, so a
//!   refusal never lands inside one of rmcp's lines.
//!
//! A resumed session (`gateway/bridge.rs`) starts with the client's
//! `initialize` replayed to rmcp, whose answer is kept from the client.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex, OwnedMutexGuard};

use super::intake::{self, Refusal, ID_SCAN_BYTES};
use crate::line_read::{LineRead, Lines};

/// Puts the intake between a client's stream and rmcp; returns what rmcp
/// reads from and writes to. `resume` holds the `initialize` params of a
/// client that initialized with an earlier service.
pub fn guard<R, W>(
    read: R,
    write: W,
    limit: usize,
    resume: Option<Value>,
) -> (CheckedRead<R>, SharedWrite<W>)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Mutex::new(write));
    let (refusals, pending) = mpsc::unbounded_channel();
    tokio::spawn(write_refusals(shared.clone(), pending));
    let hide = resume.is_some();
    let checker = Checker {
        line: Vec::new(),
        discarding: None,
        limit,
        refusals,
    };
    let reader = LineRead::new(
        read,
        checker,
        resume.map(intake::replay).unwrap_or_default(),
    );
    let writer = SharedWrite {
        shared,
        held: None,
        acquiring: None,
        mid_message: false,
        hiding: hide.then(Vec::new),
    };
    (reader, writer)
}

/// Writes each refusal whole, between two of rmcp's messages. Ends when the
/// reader (the only sender) is gone.
async fn write_refusals<W: AsyncWrite + Unpin>(
    shared: Arc<Mutex<W>>,
    mut pending: mpsc::UnboundedReceiver<Refusal>,
) {
    while let Some(refusal) = pending.recv().await {
        let text = format!("{}\n", refusal.to_json());
        let mut out = shared.lock().await;
        if out.write_all(text.as_bytes()).await.is_err() || out.flush().await.is_err() {
            return;
        }
    }
}

/// The client's input as rmcp sees it: checked lines only.
pub type CheckedRead<R> = LineRead<R, Checker>;

/// The intake's checks, line by line.
pub struct Checker {
    /// The line being gathered (at most `limit` bytes).
    line: Vec<u8>,
    /// While skipping the rest of an oversized line: its first bytes.
    discarding: Option<Vec<u8>>,
    limit: usize,
    refusals: mpsc::UnboundedSender<Refusal>,
}

impl Lines for Checker {
    /// Cuts `bytes` into lines; checked good ones go to `ready`.
    fn take(&mut self, mut bytes: &[u8], ready: &mut Vec<u8>) {
        while !bytes.is_empty() {
            let newline = memchr::memchr(b'\n', bytes);
            let (part, rest) = match newline {
                Some(at) => (&bytes[..at], &bytes[at + 1..]),
                None => (bytes, &[][..]),
            };
            bytes = rest;
            if let Some(head) = self.discarding.as_mut() {
                let room = ID_SCAN_BYTES.saturating_sub(head.len());
                head.extend_from_slice(&part[..part.len().min(room)]);
                if newline.is_some() {
                    let id = intake::leading_id(head);
                    self.discarding = None;
                    let _ = self.refusals.send(Refusal::too_large(id, self.limit));
                }
                continue;
            }
            if self.line.len() + part.len() > self.limit {
                let mut head = std::mem::take(&mut self.line);
                head.extend_from_slice(&part[..part.len().min(ID_SCAN_BYTES)]);
                head.truncate(ID_SCAN_BYTES);
                self.discarding = Some(head);
                if newline.is_some() {
                    // The whole oversized line was in this chunk.
                    let head = self.discarding.take().unwrap_or_default();
                    let id = intake::leading_id(&head);
                    let _ = self.refusals.send(Refusal::too_large(id, self.limit));
                }
                continue;
            }
            if newline.is_none() {
                self.line.extend_from_slice(part);
                continue;
            }
            if self.line.is_empty() {
                self.accept(part, ready);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(part);
                self.accept(&line, ready);
                line.clear();
                self.line = line;
            }
        }
    }

    /// A trailing line without its newline is incomplete: as rmcp does,
    /// nothing is delivered for it.
    fn end(&mut self, _ready: &mut Vec<u8>) {}
}

impl Checker {
    /// Checks one complete line (without its newline).
    fn accept(&mut self, line: &[u8], ready: &mut Vec<u8>) {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return;
        }
        match intake::check(trimmed) {
            Ok(intake::Pass::AsIs) => {
                ready.extend_from_slice(line);
                ready.push(b'\n');
            }
            Ok(intake::Pass::Renamed { message, .. }) => {
                ready.extend_from_slice(&message);
                ready.push(b'\n');
            }
            Err(Some(refusal)) => {
                let _ = self.refusals.send(refusal);
            }
            Err(None) => tracing::debug!("dropped a malformed notification"),
        }
    }
}

/// rmcp's output: straight to the client, the output held from the first
/// byte of a message to its newline.
pub struct SharedWrite<W> {
    shared: Arc<Mutex<W>>,
    held: Option<OwnedMutexGuard<W>>,
    acquiring: Option<Pin<Box<dyn Future<Output = OwnedMutexGuard<W>> + Send>>>,
    /// A message has been written in part: the output stays held.
    mid_message: bool,
    /// For a resumed session: the first line rmcp writes (its answer to
    /// the replayed `initialize`), gathered to be dropped.
    hiding: Option<Vec<u8>>,
}

impl<W: AsyncWrite + Unpin + Send + 'static> SharedWrite<W> {
    /// The output, taken without waiting when no refusal holds it.
    fn poll_hold(&mut self, cx: &mut Context<'_>) -> Poll<&mut OwnedMutexGuard<W>> {
        if self.held.is_none() {
            if self.acquiring.is_none() {
                match self.shared.clone().try_lock_owned() {
                    Ok(guard) => self.held = Some(guard),
                    Err(_) => self.acquiring = Some(Box::pin(self.shared.clone().lock_owned())),
                }
            }
            if let Some(acquiring) = self.acquiring.as_mut() {
                let guard = ready!(acquiring.as_mut().poll(cx));
                self.acquiring = None;
                self.held = Some(guard);
            }
        }
        match self.held.as_mut() {
            Some(guard) => Poll::Ready(guard),
            None => Poll::Pending,
        }
    }
}

impl<W: AsyncWrite + Unpin + Send + 'static> AsyncWrite for SharedWrite<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Some(hidden) = this.hiding.as_mut() {
            let Some(at) = buf.iter().position(|b| *b == b'\n') else {
                hidden.extend_from_slice(buf);
                return Poll::Ready(Ok(buf.len()));
            };
            hidden.extend_from_slice(&buf[..at]);
            if !intake::answers_replay(hidden) {
                // rmcp writes nothing before its answer to `initialize`.
                tracing::warn!(
                    "a resumed session's first line was not the replay's answer; dropped"
                );
            }
            this.hiding = None;
            return Poll::Ready(Ok(at + 1));
        }
        let out = ready!(this.poll_hold(cx));
        let written = ready!(Pin::new(&mut **out).poll_write(cx, buf))?;
        if written > 0 {
            // A message that ends here lets a refusal go next.
            this.mid_message = buf[written - 1] != b'\n';
        }
        if !this.mid_message {
            this.held = None;
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let out = ready!(this.poll_hold(cx));
        ready!(Pin::new(&mut **out).poll_flush(cx))?;
        if !this.mid_message {
            this.held = None;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let out = ready!(this.poll_hold(cx));
        ready!(Pin::new(&mut **out).poll_shutdown(cx))?;
        this.held = None;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    #[tokio::test]
    async fn good_lines_pass_and_bad_ones_are_answered_across_chunks() {
        let good = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let big = format!(
            r#"{{"jsonrpc":"2.0","id":9,"method":"x","params":{{"a":"{}"}}}}"#,
            "y".repeat(3 * crate::line_read::CHUNK_BYTES)
        );
        let input = format!("{good}\n{big}\nnot json\n\n{good}\n{{\"partial\"");
        let (client_out, to_client) = tokio::io::duplex(64 * 1024);
        let (mut reader, writer) = guard(
            std::io::Cursor::new(input.into_bytes()),
            to_client,
            1000,
            None,
        );
        let mut seen = String::new();
        reader.read_to_string(&mut seen).await.unwrap();
        assert_eq!(seen, format!("{good}\n{good}\n"));
        drop((reader, writer));
        let mut answers = BufReader::new(client_out).lines();
        let mut codes = Vec::new();
        while let Some(line) = answers.next_line().await.unwrap() {
            let answer: Value = serde_json::from_str(&line).unwrap();
            codes.push((answer["id"].clone(), answer["error"]["code"].clone()));
        }
        assert_eq!(
            codes,
            vec![
                (serde_json::json!(9), serde_json::json!(-32600)),
                (Value::Null, serde_json::json!(-32700)),
            ]
        );
    }
}
