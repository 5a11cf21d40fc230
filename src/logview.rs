//! Reading a connector's log for `switchboard logs`: the last lines, and
//! following new ones as they are written (surviving rotation).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

/// How often a followed log is looked at again.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);
/// How much of the end of a file is read to find the last lines.
const TAIL_WINDOW_BYTES: u64 = 1024 * 1024;

/// The last `n` lines of the file (oldest first) and the offset where the
/// file ended. A missing file has no lines.
pub fn tail(path: &Path, n: usize) -> std::io::Result<(Vec<String>, u64)> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(err) => return Err(err),
    };
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_WINDOW_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if start > 0 && !lines.is_empty() {
        // The first line of the window is probably cut.
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    Ok((
        lines[skip..].iter().map(|l| l.to_string()).collect(),
        start + bytes.len() as u64,
    ))
}

/// Calls `on_line` for every line written to the file after `offset`,
/// forever (until the caller is interrupted). A file that shrank was
/// rotated and is read again from its start.
pub async fn follow(
    path: &Path,
    mut offset: u64,
    mut on_line: impl FnMut(&str),
) -> std::io::Result<()> {
    let mut partial = String::new();
    loop {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if len < offset {
            offset = 0;
            partial.clear();
        }
        if len > offset {
            let mut file = std::fs::File::open(path)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            offset += bytes.len() as u64;
            partial.push_str(&String::from_utf8_lossy(&bytes));
            while let Some(end) = partial.find('\n') {
                let line: String = partial.drain(..=end).collect();
                on_line(line.trim_end_matches(['\n', '\r']));
            }
        }
        tokio::time::sleep(FOLLOW_INTERVAL).await;
    }
}

/// One log line as a JSON object: our lifecycle lines
/// (`[switchboard TIME] …`) give `source: "switchboard"` and their `time`;
/// anything else is the server's own stderr (`source: "server"`).
pub fn as_json(line: &str) -> serde_json::Value {
    let ours = line
        .strip_prefix("[switchboard ")
        .and_then(|rest| rest.split_once("] "));
    match ours {
        Some((time, text)) => {
            serde_json::json!({"source": "switchboard", "time": time, "text": text})
        }
        None => serde_json::json!({"source": "server", "text": line}),
    }
}

#[cfg(test)]
mod json_tests {
    use super::as_json;

    #[test]
    fn lifecycle_and_server_lines_are_told_apart() {
        let ours = as_json("[switchboard 2026-12-04T01:02:03.456Z] disconnected -> configuring");
        assert_eq!(ours["source"], "switchboard");
        assert_eq!(ours["time"], "2026-12-04T01:02:03.456Z");
        assert_eq!(ours["text"], "disconnected -> configuring");
        let theirs = as_json("listening on stdio");
        assert_eq!(theirs["source"], "server");
        assert_eq!(theirs["text"], "listening on stdio");
    }
}
