//! A server's stderr: the last lines kept in memory for error messages and
//! `status`, and every line appended to the connector's log file.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

/// How many stderr lines a connector keeps in memory.
const KEPT_LINES: usize = 50;
/// A longer line is cut, so a server that floods stderr cannot grow memory.
const MAX_LINE_BYTES: usize = 4096;

/// Shared handle to a server's recent stderr lines.
#[derive(Debug, Clone, Default)]
pub struct ServerLog {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl ServerLog {
    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        match self.lines.lock() {
            Ok(lines) => {
                let skip = lines.len().saturating_sub(n);
                lines.iter().skip(skip).cloned().collect()
            }
            Err(_) => Vec::new(),
        }
    }

    fn push(&self, line: String) {
        if let Ok(mut lines) = self.lines.lock() {
            if lines.len() == KEPT_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    /// Reads `stream` to its end, keeping lines and appending them to `file`.
    /// Returns when the server closes stderr.
    /// Each value in `redact` is replaced by `***` first, so a server
    /// that prints its own token does not put it in our log or errors.
    pub async fn follow(
        self,
        stream: impl AsyncRead + Unpin,
        file: Option<PathBuf>,
        redact: Vec<String>,
    ) {
        let mut out = match file {
            Some(path) => tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .ok(),
            None => None,
        };
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let mut text = String::from_utf8_lossy(&buf).into_owned();
            for secret in &redact {
                if text.contains(secret.as_str()) {
                    text = text.replace(secret.as_str(), "***");
                }
            }
            if let Some(out) = out.as_mut() {
                // A failing log file must not stop us draining the pipe.
                let _ = out.write_all(text.as_bytes()).await;
            }
            let mut end = text.len().min(MAX_LINE_BYTES);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let line = text[..end].trim_end().to_string();
            if !line.is_empty() {
                self.push(line);
            }
        }
    }
}
