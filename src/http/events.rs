//! `GET /api/v1/events`: status changes, tool-list changes and log lines as
//! Server-Sent Events.
//!
//! [`EventHub`] numbers every event and keeps the most recent ones in a
//! bounded ring, so a browser that reconnects with `Last-Event-ID` gets
//! exactly what it missed. Ids start from the wall clock (milliseconds ×
//! 1000), so ids from an earlier run of the service are always older than
//! this run's and a resuming client is told to `resync` rather than left
//! waiting. The hub is fed by the service's event channel and by a poller
//! that tails the connector logs under `logs/`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiQuery, ApiResult, ErrorBody};
use super::AppState;
use crate::connector::ConnectorService;
use crate::status::ConnectorEvent;

/// Events kept for clients that reconnect.
const RING_CAPACITY: usize = 2048;
/// Live events buffered per client before it is cut off (it then
/// reconnects and resumes from the ring).
const LIVE_BUFFER: usize = 1024;
/// How often the connector logs are looked at.
const LOG_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// The most of one log file read per poll, so a flood cannot stall others.
const LOG_READ_MAX_BYTES: u64 = 256 * 1024;
/// A longer log line is cut.
const MAX_LINE_CHARS: usize = 4096;
/// What the browser waits before reconnecting.
const RETRY: Duration = Duration::from_secs(1);

/// One event on the stream: the service's own events as they are, or one
/// the HTTP face adds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum StreamEvent {
    /// A status or tool-list change (`kind` is `status` or `tools_changed`).
    Connector(ConnectorEvent),
    /// A log line or a resync notice.
    Http(HttpEvent),
}

/// Events only the HTTP face produces.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpEvent {
    /// A line appended to a connector's log (server stderr, lifecycle).
    Log {
        connector: String,
        line: String,
        at: DateTime<Utc>,
    },
    /// Some events were lost (the client was away too long, or the service
    /// restarted): read the whole state again.
    Resync { reason: String, at: DateTime<Utc> },
}

impl StreamEvent {
    /// The SSE `event:` name: the same as the JSON `kind`.
    fn kind(&self) -> &'static str {
        match self {
            StreamEvent::Connector(ConnectorEvent::Status { .. }) => "status",
            StreamEvent::Connector(ConnectorEvent::ToolsChanged { .. }) => "tools_changed",
            StreamEvent::Http(HttpEvent::Log { .. }) => "log",
            StreamEvent::Http(HttpEvent::Resync { .. }) => "resync",
        }
    }
}

type Numbered = Arc<(u64, StreamEvent)>;

/// The numbered ring of recent events and the live feed.
pub(crate) struct EventHub {
    ring: Mutex<Ring>,
    live: broadcast::Sender<Numbered>,
}

struct Ring {
    next_id: u64,
    events: VecDeque<Numbered>,
}

/// What a (re)connecting client gets: the events it missed, a resync
/// notice if some are gone, and the live feed from there on.
struct Resume {
    backlog: Vec<Numbered>,
    gap: bool,
    live: broadcast::Receiver<Numbered>,
}

impl EventHub {
    pub fn new() -> EventHub {
        let start = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0) * 1000;
        EventHub {
            ring: Mutex::new(Ring {
                next_id: start.max(1),
                events: VecDeque::with_capacity(RING_CAPACITY),
            }),
            live: broadcast::channel(LIVE_BUFFER).0,
        }
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers and records an event, and sends it to live clients. Both
    /// happen under the lock, so a client that resumes sees each event
    /// exactly once: in its backlog or on its live feed.
    pub fn push(&self, event: StreamEvent) -> u64 {
        let mut ring = self.ring();
        let id = ring.next_id;
        ring.next_id += 1;
        let numbered = Arc::new((id, event));
        if ring.events.len() == RING_CAPACITY {
            ring.events.pop_front();
        }
        ring.events.push_back(numbered.clone());
        let _ = self.live.send(numbered);
        id
    }

    fn resume(&self, last: Option<u64>) -> Resume {
        let ring = self.ring();
        let live = self.live.subscribe();
        let Some(last) = last else {
            return Resume {
                backlog: Vec::new(),
                gap: false,
                live,
            };
        };
        let newest = ring.next_id - 1;
        let oldest_kept = ring.events.front().map(|e| e.0).unwrap_or(ring.next_id);
        // Older than anything kept (away too long, or an id from an
        // earlier run), or newer than anything sent (a later run's id).
        let gap = last + 1 < oldest_kept || last > newest;
        let backlog = if last > newest {
            Vec::new()
        } else {
            ring.events.iter().filter(|e| e.0 > last).cloned().collect()
        };
        Resume { backlog, gap, live }
    }
}

/// Feeds the hub from the service's events and the connector logs until
/// `stop`.
pub(crate) fn spawn_feeds(hub: Arc<EventHub>, service: &ConnectorService, stop: CancellationToken) {
    let mut events = service.subscribe();
    let feed_hub = hub.clone();
    let feed_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                received = events.recv() => received,
                _ = feed_stop.cancelled() => break,
            };
            match received {
                Ok(event) => {
                    feed_hub.push(StreamEvent::Connector(event));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    feed_hub.push(StreamEvent::Http(HttpEvent::Resync {
                        reason: format!("{missed} service events were missed"),
                        at: Utc::now(),
                    }));
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let log_dir = service.paths().log_dir();
    tokio::spawn(async move {
        let mut tails = LogTails::new(log_dir);
        // Lines already in the files are history, not events.
        tails.skip_existing();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(LOG_POLL_INTERVAL) => {}
                _ = stop.cancelled() => break,
            }
            for (connector, line) in tails.poll() {
                hub.push(StreamEvent::Http(HttpEvent::Log {
                    connector,
                    line,
                    at: Utc::now(),
                }));
            }
        }
    });
}

/// Where each connector log was read up to.
struct LogTails {
    dir: PathBuf,
    files: HashMap<String, Tail>,
}

struct Tail {
    inode: u64,
    offset: u64,
    partial: String,
}

impl LogTails {
    fn new(dir: PathBuf) -> LogTails {
        LogTails {
            dir,
            files: HashMap::new(),
        }
    }

    /// Connector logs in the directory: `NAME.log`, not the service's own.
    fn logs(&self) -> Vec<(String, PathBuf, std::fs::Metadata)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let path = e.path();
                let name = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".log")?
                    .to_string();
                if name == "service" || name.is_empty() {
                    return None;
                }
                let meta = std::fs::metadata(&path).ok()?;
                Some((name, path, meta))
            })
            .collect()
    }

    fn skip_existing(&mut self) {
        for (name, _, meta) in self.logs() {
            self.files.insert(
                name,
                Tail {
                    inode: meta.ino(),
                    offset: meta.len(),
                    partial: String::new(),
                },
            );
        }
    }

    fn poll(&mut self) -> Vec<(String, String)> {
        let mut lines = Vec::new();
        for (name, path, meta) in self.logs() {
            let tail = self.files.entry(name.clone()).or_insert(Tail {
                inode: meta.ino(),
                offset: 0,
                partial: String::new(),
            });
            // Rotated (a new file) or truncated: read it from the start.
            if tail.inode != meta.ino() || meta.len() < tail.offset {
                tail.inode = meta.ino();
                tail.offset = 0;
                tail.partial.clear();
            }
            if meta.len() == tail.offset {
                continue;
            }
            match read_from(&path, tail.offset) {
                Ok(bytes) => {
                    tail.offset += bytes.len() as u64;
                    tail.partial.push_str(&String::from_utf8_lossy(&bytes));
                    while let Some(end) = tail.partial.find('\n') {
                        let line: String = tail.partial.drain(..=end).collect();
                        let line = line.trim_end_matches(['\n', '\r']);
                        lines.push((name.clone(), line.chars().take(MAX_LINE_CHARS).collect()));
                    }
                    if tail.partial.len() > MAX_LINE_CHARS * 4 {
                        // A line without end: pass on what we have.
                        let line: String = tail.partial.drain(..).take(MAX_LINE_CHARS).collect();
                        lines.push((name.clone(), line));
                    }
                }
                Err(err) => tracing::debug!("cannot read {}: {err}", path.display()),
            }
        }
        lines
    }
}

fn read_from(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.take(LOG_READ_MAX_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Where to resume, for clients that cannot send `Last-Event-ID`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Resume after this event id (the `Last-Event-ID` header wins).
    last_event_id: Option<u64>,
}

/// The live event stream.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received; the stream resumes after it"),
    ),
    responses(
        (status = 200, description = "Server-Sent Events: `event:` is the kind, `id:` a number that only grows, `data:` one JSON object", content_type = "text/event-stream", body = StreamEvent),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(query.last_event_id);
    let Resume { backlog, gap, live } = state.hub.resume(last);
    let mut sent = last.unwrap_or(0);
    let mut head = vec![Event::default().retry(RETRY)];
    if gap {
        let resync = StreamEvent::Http(HttpEvent::Resync {
            reason: "events since the last one received are no longer kept".into(),
            at: Utc::now(),
        });
        head.push(to_sse(None, &resync));
    }
    for numbered in &backlog {
        sent = sent.max(numbered.0);
        head.push(to_sse(Some(numbered.0), &numbered.1));
    }
    let live = stream::unfold((live, sent), |(mut rx, sent)| async move {
        loop {
            match rx.recv().await {
                Ok(numbered) if numbered.0 <= sent => continue,
                Ok(numbered) => {
                    let event = to_sse(Some(numbered.0), &numbered.1);
                    return Some((event, (rx, numbered.0)));
                }
                // Too slow: end the stream; the browser reconnects with
                // its last id and the ring fills the gap.
                Err(_) => return None,
            }
        }
    });
    let stream = stream::iter(head)
        .chain(live)
        .take_until(state.stop.clone().cancelled_owned())
        .map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn to_sse(id: Option<u64>, event: &StreamEvent) -> Event {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    let sse = Event::default().event(event.kind()).data(data);
    match id {
        Some(id) => sse.id(id.to_string()),
        None => sse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(line: &str) -> StreamEvent {
        StreamEvent::Http(HttpEvent::Log {
            connector: "x".into(),
            line: line.into(),
            at: Utc::now(),
        })
    }

    #[test]
    fn resuming_gets_exactly_what_was_missed() {
        let hub = EventHub::new();
        let first = hub.push(log("a"));
        let second = hub.push(log("b"));
        assert_eq!(second, first + 1);
        let resume = hub.resume(Some(first));
        assert!(!resume.gap);
        assert_eq!(
            resume.backlog.iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![second]
        );
        let fresh = hub.resume(None);
        assert!(fresh.backlog.is_empty() && !fresh.gap);
        // An id from an earlier run (smaller than anything kept) or a
        // later one (larger than anything sent) means: resync.
        assert!(hub.resume(Some(first - 10)).gap);
        assert!(hub.resume(Some(second + 5)).gap);
    }

    #[test]
    fn the_ring_is_bounded() {
        let hub = EventHub::new();
        let first = hub.push(log("0"));
        for i in 1..=RING_CAPACITY {
            hub.push(log(&i.to_string()));
        }
        // Exactly full after `first`: everything it missed is still kept.
        let resume = hub.resume(Some(first));
        assert!(!resume.gap);
        assert_eq!(resume.backlog.len(), RING_CAPACITY);
        hub.push(log("one more"));
        let resume = hub.resume(Some(first));
        assert!(resume.gap, "the event after {first} is gone");
        assert_eq!(resume.backlog.len(), RING_CAPACITY);
    }

    #[test]
    fn log_tails_follow_appends_and_rotation() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("temp dir")
        };
        let file = dir.path().join("svc.log");
        let write = |text: &str| {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .ok();
            assert!(f
                .as_mut()
                .is_some_and(|f| f.write_all(text.as_bytes()).is_ok()));
        };
        write("old line\n");
        assert!(std::fs::write(dir.path().join("service.log"), "ignored\n").is_ok());
        let mut tails = LogTails::new(dir.path().to_path_buf());
        tails.skip_existing();
        assert!(tails.poll().is_empty());
        write("one\ntw");
        assert_eq!(tails.poll(), vec![("svc".to_string(), "one".to_string())]);
        write("o\n");
        assert_eq!(tails.poll(), vec![("svc".to_string(), "two".to_string())]);
        assert!(std::fs::rename(&file, dir.path().join("svc.log.1")).is_ok());
        write("fresh\n");
        assert_eq!(tails.poll(), vec![("svc".to_string(), "fresh".to_string())]);
    }
}
