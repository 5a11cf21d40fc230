//! A server's stderr: the last lines kept in memory for error messages and
//! `status`, and every line appended to the connector's log file, which is
//! rotated to `NAME.log.1` when it grows past its cap. Memory and disk stay
//! bounded whatever a server writes: a line longer than the cap is cut, and
//! the rest of it is read and dropped.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// How many stderr lines a connector keeps in memory.
const KEPT_LINES: usize = 50;
/// A longer line is cut, so a server that floods stderr cannot grow memory.
const MAX_LINE_BYTES: usize = 4096;
/// Largest a connector's log grows before it is rotated to `NAME.log.1`
/// (one rotation is kept, so a connector's logs hold at most twice this).
pub const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;
/// Written after a line that was cut.
const CUT_MARK: &str = " …[line cut]";

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

    /// A line of ours about the server (what its egress proxy refused),
    /// kept with its own lines.
    pub fn note(&self, line: &str) {
        self.push(line.to_string());
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
        let mut out = file.map(LogFile::new);
        let mut reader = BufReader::new(stream);
        let mut line = Vec::with_capacity(256);
        loop {
            let (text, cut) = match read_bounded_line(&mut reader, &mut line).await {
                Ok(None) | Err(_) => break,
                Ok(Some(cut)) => (String::from_utf8_lossy(&line).into_owned(), cut),
            };
            let mut text = redact_secrets(text, &redact, cut);
            if cut {
                text.push_str(CUT_MARK);
            }
            let text = text.trim_end();
            if let Some(out) = out.as_mut() {
                // A failing log file must not stop us draining the pipe.
                out.append(text);
            }
            if !text.is_empty() {
                self.push(text.to_string());
            }
        }
    }
}

/// Reads one line into `line` (without its newline), keeping at most
/// `MAX_LINE_BYTES` of it and reading the rest to its newline without
/// keeping it. Returns `None` at the end of the stream, else whether the
/// line was cut.
async fn read_bounded_line(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
    line: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut cut = false;
    let mut read_any = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(read_any.then_some(cut));
        }
        read_any = true;
        let (taken, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..taken.min(room)]);
        cut |= taken > room;
        reader.consume(if done { taken + 1 } else { taken });
        if done {
            return Ok(Some(cut));
        }
    }
}

/// Replaces each secret in `text` by `***`. A line that was cut may end
/// with the start of a secret; that tail is masked too.
fn redact_secrets(mut text: String, redact: &[String], cut: bool) -> String {
    for secret in redact.iter().filter(|s| !s.is_empty()) {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
        if cut {
            let longest = (1..secret.len())
                .rev()
                .filter(|&n| secret.is_char_boundary(n))
                .find(|&n| text.ends_with(&secret[..n]));
            if let Some(n) = longest {
                text.truncate(text.len() - n);
                text.push_str("***");
            }
        }
    }
    text
}

/// A connector's log file, appended to line by line and rotated by size.
/// Lifecycle lines are appended to the same file by `append_line`; both
/// rotate it, and each reopens the path when the other has rotated it.
struct LogFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// Bytes written since the size was last looked at.
    unchecked: u64,
}

/// How many bytes are written between two looks at the file's size.
const CHECK_EVERY_BYTES: u64 = 64 * 1024;

impl LogFile {
    fn new(path: PathBuf) -> Self {
        LogFile {
            path,
            file: None,
            unchecked: CHECK_EVERY_BYTES,
        }
    }

    fn append(&mut self, text: &str) {
        if self.unchecked >= CHECK_EVERY_BYTES {
            self.unchecked = 0;
            if rotate_if_full(&self.path) || !same_file(self.file.as_ref(), &self.path) {
                self.file = None;
            }
        }
        if self.file.is_none() {
            self.file = open_append(&self.path);
        }
        if let Some(file) = self.file.as_mut() {
            // Lines from stderr are small and few per second; a blocking
            // append to a local file is cheaper than a trip to a thread pool.
            let _ = file.write_all(text.as_bytes());
            let _ = file.write_all(b"\n");
            self.unchecked += text.len() as u64 + 1;
        }
    }
}

/// Appends one line to the log at `path`, rotating it first when it is
/// full. Failures are ignored: logging never fails what it records.
pub fn append_line(path: &Path, line: &str) {
    rotate_if_full(path);
    if let Some(mut file) = open_append(path) {
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}

/// Renames a log past its cap to `NAME.log.1` (replacing the last one).
/// Returns whether it did.
fn rotate_if_full(path: &Path) -> bool {
    let full = std::fs::metadata(path)
        .map(|m| m.len() > MAX_LOG_BYTES)
        .unwrap_or(false);
    full && std::fs::rename(path, path.with_extension("log.1")).is_ok()
}

fn open_append(path: &Path) -> Option<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()
}

/// Whether `file` is still the file at `path` (it is not, once rotated).
fn same_file(file: Option<&std::fs::File>, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        file.and_then(|f| f.metadata().ok()),
        std::fs::metadata(path),
    ) {
        (Some(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(input: &[u8]) -> Vec<(String, bool)> {
        let mut reader = BufReader::with_capacity(64, input);
        let mut line = Vec::new();
        let mut out = Vec::new();
        while let Some(cut) = read_bounded_line(&mut reader, &mut line).await.unwrap() {
            out.push((String::from_utf8_lossy(&line).into_owned(), cut));
        }
        out
    }

    #[tokio::test]
    async fn long_lines_are_cut_and_the_next_line_is_whole() {
        let mut input = vec![b'x'; MAX_LINE_BYTES * 3];
        input.extend_from_slice(b"\nnext\nlast");
        let lines = lines_of(&input).await;
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].0.len(), MAX_LINE_BYTES);
        assert!(lines[0].1);
        assert_eq!(lines[1], ("next".to_string(), false));
        assert_eq!(lines[2], ("last".to_string(), false));
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_cap_is_not_cut() {
        let mut input = vec![b'y'; MAX_LINE_BYTES];
        input.push(b'\n');
        assert_eq!(
            lines_of(&input).await,
            vec![("y".repeat(MAX_LINE_BYTES), false)]
        );
    }

    #[test]
    fn a_secret_cut_in_half_at_the_end_of_a_line_is_masked() {
        let secrets = vec!["ghp_secretvalue".to_string()];
        let text = redact_secrets("token ghp_secr".to_string(), &secrets, true);
        assert_eq!(text, "token ***");
        let text = redact_secrets("a ghp_secretvalue b".to_string(), &secrets, false);
        assert_eq!(text, "a *** b");
        // An uncut line ending like a secret's start is left alone.
        let text = redact_secrets("ends with g".to_string(), &secrets, false);
        assert_eq!(text, "ends with g");
    }
}
