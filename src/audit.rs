//! A record of every routed call — from the gateway, the CLI and the HTTP
//! API — in the data dir (`audit/calls.jsonl`, JSON lines, rotated at
//! 10 MB with three old files kept): when, which connector and tool, who
//! called (the face, and the MCP client's name for the gateway), how it
//! ended, how long it took, and the size of the arguments and the answer.
//! Never argument or result values. `switchboard stats` reads it.
//!
//! Lines are written by a task of their own, so a call never waits on the
//! disk; a line that cannot be written is dropped with a log line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The file, under the data dir.
pub const AUDIT_FILE: &str = "audit/calls.jsonl";
/// Rotated past this size.
const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Old files kept (`calls.jsonl.1` … `.3`).
const KEPT: usize = 3;

/// Who called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "face")]
pub enum CallSource {
    /// An MCP client through the gateway, by the name it gave.
    Gateway {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        client: Option<String>,
    },
    /// `switchboard call`.
    Cli,
    /// The HTTP API (and so the dashboard).
    Api,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tool answered.
    Ok,
    /// The tool answered with `isError`.
    ToolError,
    /// The call failed (refused, not connected, the server failed).
    Error,
    Cancelled,
    Timeout,
}

/// One line of the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub time: DateTime<Utc>,
    pub connector: String,
    pub tool: String,
    pub caller: CallSource,
    pub outcome: Outcome,
    /// Milliseconds.
    pub ms: f64,
    pub bytes_in: usize,
    pub bytes_out: usize,
}

/// Where records go; clones share the writer.
#[derive(Debug, Clone)]
pub struct AuditLog {
    tx: mpsc::UnboundedSender<Message>,
}

/// What the writer task is sent.
#[derive(Debug)]
enum Message {
    Record(CallRecord),
    /// Answered once every record sent before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl AuditLog {
    /// Starts the writer for `home`'s record.
    pub fn open(home: &Path) -> AuditLog {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let path = home.join(AUDIT_FILE);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = Vec::new();
                let mut waiting = Vec::new();
                let mut next = Some(first);
                while let Some(message) = next.take() {
                    match message {
                        Message::Record(record) => batch.push(record),
                        Message::Flush(done) => waiting.push(done),
                    }
                    next = rx.try_recv().ok();
                }
                if !batch.is_empty() {
                    let path = path.clone();
                    let written = tokio::task::spawn_blocking(move || append(&path, &batch)).await;
                    if let Ok(Err(err)) = written {
                        tracing::warn!("the call record could not be written: {err}");
                    }
                }
                for done in waiting {
                    let _ = done.send(());
                }
            }
        });
        AuditLog { tx }
    }

    /// Records one call.
    pub fn record(&self, record: CallRecord) {
        let _ = self.tx.send(Message::Record(record));
    }

    /// Returns once every call recorded so far is in the file, so a read
    /// right after a call counts it.
    pub async fn flushed(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// The length of `value` as JSON, counted as it is written: no copy of a
/// call's arguments or answer is made to record its size.
pub fn json_len<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

/// Appends `records`, rotating first when the file is full.
fn append(path: &Path, records: &[CallRecord]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() >= MAX_BYTES) {
        for i in (1..KEPT).rev() {
            let _ = std::fs::rename(rotated(path, i), rotated(path, i + 1));
        }
        std::fs::rename(path, rotated(path, 1))?;
    }
    let mut text = String::new();
    for record in records {
        if let Ok(line) = serde_json::to_string(record) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

fn rotated(path: &Path, i: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{i}"));
    PathBuf::from(name)
}

/// The records of `home` since `since` ago (all without), oldest first;
/// unreadable lines are skipped.
pub fn read(home: &Path, since: Option<Duration>) -> Vec<CallRecord> {
    let path = home.join(AUDIT_FILE);
    let cutoff = since
        .and_then(|d| chrono::Duration::from_std(d).ok())
        // A window reaching past the calendar's start keeps everything.
        .and_then(|d| Utc::now().checked_sub_signed(d));
    let mut files: Vec<PathBuf> = (1..=KEPT).rev().map(|i| rotated(&path, i)).collect();
    files.push(path);
    files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|line| serde_json::from_str::<CallRecord>(line).ok())
                .collect::<Vec<_>>()
        })
        .filter(|r| cutoff.is_none_or(|c| r.time >= c))
        .collect()
}

/// Calls, errors and latency of one connector's tool.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ToolStats {
    pub connector: String,
    pub tool: String,
    pub calls: usize,
    /// Calls that did not end `ok`.
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Calls, errors and latency of one connector, all tools together (the
/// dashboard's cards).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConnectorStats {
    pub connector: String,
    pub calls: usize,
    /// Calls that did not end `ok`.
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Count, errors and percentiles of one group of calls.
struct Summary {
    calls: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
}

/// Groups `records` (of `connector` only when given) by `key` and sums
/// each group up, in key order.
fn summarise<K: Ord>(
    records: &[CallRecord],
    connector: Option<&str>,
    key: impl Fn(&CallRecord) -> K,
) -> Vec<(K, Summary)> {
    let mut groups: std::collections::BTreeMap<K, Vec<&CallRecord>> =
        std::collections::BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| connector.is_none_or(|c| r.connector == c))
    {
        groups.entry(key(record)).or_default().push(record);
    }
    groups
        .into_iter()
        .map(|(key, calls)| {
            let mut ms: Vec<f64> = calls.iter().map(|r| r.ms).collect();
            ms.sort_by(f64::total_cmp);
            let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
            let summary = Summary {
                calls: calls.len(),
                errors: calls.iter().filter(|r| r.outcome != Outcome::Ok).count(),
                p50_ms: at(0.5),
                p99_ms: at(0.99),
            };
            (key, summary)
        })
        .collect()
}

/// Stats per connector and tool, for `connector` only when given.
pub fn stats(records: &[CallRecord], connector: Option<&str>) -> Vec<ToolStats> {
    summarise(records, connector, |r| {
        (r.connector.clone(), r.tool.clone())
    })
    .into_iter()
    .map(|((connector, tool), s)| ToolStats {
        connector,
        tool,
        calls: s.calls,
        errors: s.errors,
        p50_ms: s.p50_ms,
        p99_ms: s.p99_ms,
    })
    .collect()
}

/// Stats per connector, for `connector` only when given.
pub fn connector_stats(records: &[CallRecord], connector: Option<&str>) -> Vec<ConnectorStats> {
    summarise(records, connector, |r| r.connector.clone())
        .into_iter()
        .map(|(connector, s)| ConnectorStats {
            connector,
            calls: s.calls,
            errors: s.errors,
            p50_ms: s.p50_ms,
            p99_ms: s.p99_ms,
        })
        .collect()
}

/// `1h`, `30m`, `2d`, `45s` → a duration.
pub fn parse_since(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    // A number too large for a duration is refused, not wrapped.
    number.checked_mul(seconds).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tool: &str, ms: f64, outcome: Outcome) -> CallRecord {
        CallRecord {
            time: Utc::now(),
            connector: "ev".into(),
            tool: tool.into(),
            caller: CallSource::Cli,
            outcome,
            ms,
            bytes_in: 2,
            bytes_out: 10,
        }
    }

    #[test]
    fn stats_count_errors_and_take_percentiles() {
        let mut records: Vec<CallRecord> = (1..=100)
            .map(|i| record("echo", i as f64, Outcome::Ok))
            .collect();
        records.push(record("echo", 1000.0, Outcome::Timeout));
        records.push(record("other", 5.0, Outcome::Error));
        let all = stats(&records, None);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].calls, all[0].errors), (101, 1));
        assert_eq!(all[0].p50_ms, 51.0);
        assert_eq!(all[0].p99_ms, 100.0);
        assert!(stats(&records, Some("nope")).is_empty());
        // One connector, both tools together.
        let cards = connector_stats(&records, None);
        assert_eq!(cards.len(), 1);
        assert_eq!((cards[0].calls, cards[0].errors), (102, 2));
        assert_eq!(cards[0].p99_ms, 100.0);
    }

    #[test]
    fn json_len_is_the_encoded_length() {
        let value = serde_json::json!({"message": "héllo", "n": [1, 2, 3]});
        assert_eq!(
            json_len(&value),
            serde_json::to_vec(&value).map_or(0, |v| v.len())
        );
    }

    #[test]
    fn since_takes_units() {
        assert_eq!(parse_since("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_since("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_since("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_since("10"), None);
        assert_eq!(parse_since("1w"), None);
        assert_eq!(parse_since("300000000000000000d"), None);
    }
}
