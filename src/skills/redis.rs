//! The `redis` skill: Redis through the redis crate's connection manager,
//! which reconnects by itself after the server restarts.
//!
//! Reads are bounded: `scan` walks the keyspace with `SCAN` (never `KEYS`,
//! which blocks the server) and stops at `scan_limit` keys or after a time
//! budget; `read` returns at most `scan_limit` members of a collection (or
//! 1 MiB of a string) and says how long the whole value is. Writes (`set`,
//! `del`) are refused unless `allow_writes` is true. Values are strings
//! when they are UTF-8, else `{"base64": "..."}`.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Map, Value};

use super::tool::{schema_object, tool_error, write_refused, Args};
use super::{scrub_secrets, Skill, SkillConfig, SkillError, CONNECT_TIMEOUT};

/// How long one command may wait for its reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one `scan` may keep walking the keyspace.
const SCAN_BUDGET: Duration = Duration::from_secs(5);

/// Most bytes of a string value `read` returns.
const MAX_STRING_BYTES: i64 = 1024 * 1024;

/// The `COUNT` hint given to each `SCAN` step.
const SCAN_STEP: usize = 500;

/// A connected Redis skill.
pub(crate) struct RedisSkill {
    /// The shared connection; `None` once closed. Each call clones it (a
    /// cheap handle) so no lock is held across a command.
    conn: Mutex<Option<ConnectionManager>>,
    allow_writes: bool,
    /// Most keys `scan` returns and most members `read` returns.
    scan_limit: usize,
    /// The URL with its password masked, for messages.
    target: String,
}

impl RedisSkill {
    /// Connects (with one retry) and checks the connection with `PING`.
    pub(crate) async fn open(config: &SkillConfig<'_>) -> Result<Self, SkillError> {
        let url = config.required("url")?;
        let allow_writes = config.flag("allow_writes")?;
        let scan_limit = config.number("scan_limit")?;
        let target = scrub_secrets(url);
        let client = redis::Client::open(url).map_err(|e| SkillError::BadConfig {
            field: "url".into(),
            problem: format!(
                "{} (expected redis://[user:password@]host:6379[/db])",
                scrub_secrets(&e.to_string())
            ),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1);
        let manager = match tokio::time::timeout(
            2 * CONNECT_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        {
            Ok(Ok(manager)) => manager,
            Ok(Err(e)) => return Err(connection_error(&target, &e)),
            Err(_) => {
                return Err(SkillError::Timeout {
                    after: 2 * CONNECT_TIMEOUT,
                })
            }
        };
        let skill = RedisSkill {
            conn: Mutex::new(Some(manager)),
            allow_writes,
            scan_limit: usize::try_from(scan_limit).unwrap_or(1000),
            target,
        };
        skill.ping().await?;
        Ok(skill)
    }

    fn connection(&self) -> Result<ConnectionManager, SkillError> {
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| SkillError::Backend {
            message: "the skill has been closed".into(),
        })
    }

    async fn ping(&self) -> Result<(), SkillError> {
        let mut conn = self.connection()?;
        let pong: Result<String, RedisError> = redis::cmd("PING").query_async(&mut conn).await;
        pong.map(|_| ())
            .map_err(|e| connection_error(&self.target, &e))
    }

    /// Runs one tool; `Err(RedisError)` is sorted into a tool error or a
    /// connection failure by [`Skill::call`].
    async fn dispatch(&self, tool: &str, arguments: JsonObject) -> Result<CallToolResult, Failure> {
        let args = Args::new(tool, arguments);
        let mut conn = self.connection().map_err(Failure::Skill)?;
        let conn = &mut conn;
        match tool {
            "get" => {
                args.only(&["key"])?;
                let key = args.req_str("key")?;
                let value: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query_async(conn).await?;
                Ok(structured(json!({"key": key, "exists": value.is_some(), "value": value.map(bytes_value)})))
            }
            "set" => {
                args.only(&["key", "value", "ttl_seconds"])?;
                let key = args.req_str("key")?;
                let value = args.req_str("value")?;
                let ttl = args.opt_u64("ttl_seconds")?;
                if !self.allow_writes {
                    return Ok(write_refused(tool));
                }
                let mut cmd = redis::cmd("SET");
                cmd.arg(&key).arg(value);
                if let Some(ttl) = ttl {
                    if ttl == 0 {
                        return Ok(tool_error("`ttl_seconds` must be at least 1; leave it out for no expiry"));
                    }
                    cmd.arg("EX").arg(ttl);
                }
                let _: () = cmd.query_async(conn).await?;
                Ok(structured(json!({"key": key, "ok": true, "ttl_seconds": ttl})))
            }
            "del" => {
                args.only(&["keys"])?;
                let keys: Option<Vec<String>> = args
                    .opt_array("keys")?
                    .iter()
                    .map(|k| k.as_str().map(str::to_string))
                    .collect();
                let keys = match keys {
                    Some(keys) if !keys.is_empty() => keys,
                    _ => return Ok(tool_error("`del` needs `keys`: a non-empty array of key names")),
                };
                if !self.allow_writes {
                    return Ok(write_refused(tool));
                }
                let deleted: i64 = redis::cmd("DEL").arg(&keys).query_async(conn).await?;
                Ok(structured(json!({"deleted": deleted})))
            }
            "scan" => {
                args.only(&["pattern", "count"])?;
                let pattern = args.opt_str("pattern")?.unwrap_or_else(|| "*".into());
                let wanted = args.opt_u64("count")?.map_or(self.scan_limit, |n| usize::try_from(n).unwrap_or(usize::MAX));
                self.scan(conn, pattern, wanted.clamp(1, self.scan_limit)).await
            }
            "read" => {
                args.only(&["key"])?;
                let key = args.req_str("key")?;
                self.read(conn, key).await
            }
            "ttl" => {
                args.only(&["key"])?;
                let key = args.req_str("key")?;
                let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(conn).await?;
                Ok(structured(json!({
                    "key": key,
                    "exists": ttl != -2,
                    "ttl_seconds": if ttl >= 0 { json!(ttl) } else { Value::Null },
                })))
            }
            "info" => {
                args.only(&["section"])?;
                let mut cmd = redis::cmd("INFO");
                if let Some(section) = args.opt_str("section")? {
                    cmd.arg(section);
                }
                let raw: String = cmd.query_async(conn).await?;
                let mut result = CallToolResult::structured(json!({"sections": parse_info(&raw)}));
                result.content = vec![ContentBlock::text(raw.trim_end().to_string())];
                Ok(result)
            }
            other => Ok(tool_error(format!(
                "there is no tool named `{other}`; the tools are get, set, del, scan, read, ttl and info"
            ))),
        }
    }

    /// `SCAN` until the cursor returns to 0, `limit` keys are found, or the
    /// time budget is spent.
    async fn scan(
        &self,
        conn: &mut ConnectionManager,
        pattern: String,
        limit: usize,
    ) -> Result<CallToolResult, Failure> {
        let started = Instant::now();
        let mut keys = BTreeSet::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_STEP)
                .query_async(conn)
                .await?;
            // SCAN may return a key more than once; the set removes repeats.
            keys.extend(batch);
            cursor = next;
            if cursor == 0 || keys.len() >= limit || started.elapsed() >= SCAN_BUDGET {
                break;
            }
        }
        let truncated = cursor != 0 || keys.len() > limit;
        let keys: Vec<Value> = keys.into_iter().take(limit).map(bytes_value).collect();
        Ok(structured(json!({
            "pattern": pattern,
            "keys": keys,
            "count": keys.len(),
            "truncated": truncated,
        })))
    }

    /// The whole value of a key, whatever its type, up to `scan_limit` members.
    async fn read(
        &self,
        conn: &mut ConnectionManager,
        key: String,
    ) -> Result<CallToolResult, Failure> {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(conn).await?;
        let cap = self.scan_limit;
        let last = i64::try_from(cap).unwrap_or(i64::MAX) - 1;
        let (length, value): (i64, Value) = match kind.as_str() {
            "none" => return Ok(structured(json!({"key": key, "type": "none", "exists": false}))),
            "string" => {
                let len: i64 = redis::cmd("STRLEN").arg(&key).query_async(conn).await?;
                let value: Vec<u8> = redis::cmd("GETRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(MAX_STRING_BYTES - 1)
                    .query_async(conn)
                    .await?;
                (len, bytes_value(value))
            }
            "list" => {
                let len: i64 = redis::cmd("LLEN").arg(&key).query_async(conn).await?;
                let items: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(&key).arg(0).arg(last).query_async(conn).await?;
                (len, Value::Array(items.into_iter().map(bytes_value).collect()))
            }
            "set" => {
                let len: i64 = redis::cmd("SCARD").arg(&key).query_async(conn).await?;
                let members = self.scan_collection(conn, "SSCAN", &key, cap).await?;
                let mut members: Vec<Vec<u8>> = members.into_iter().collect();
                members.sort();
                members.truncate(cap);
                (len, Value::Array(members.into_iter().map(bytes_value).collect()))
            }
            "hash" => self.read_hash(conn, &key, cap).await?,
            "zset" => read_zset(conn, &key, last).await?,
            "stream" => read_stream(conn, &key, cap).await?,
            other => {
                return Ok(tool_error(format!(
                    "`{key}` holds a `{other}` value, which `read` does not know; try `get`, or a module-specific client"
                )))
            }
        };
        // A string is always returned whole; collections may be cut.
        let returned = match (&value, kind.as_str()) {
            (_, "string") => length.min(MAX_STRING_BYTES),
            (Value::Array(items), _) => i64::try_from(items.len()).unwrap_or(i64::MAX),
            (Value::Object(fields), _) => i64::try_from(fields.len()).unwrap_or(i64::MAX),
            _ => length,
        };
        Ok(structured(json!({
            "key": key,
            "type": kind,
            "exists": true,
            "length": length,
            "value": value,
            "truncated": returned < length,
        })))
    }

    /// A hash's fields, at most `cap` of them (scanned, never `HGETALL`).
    async fn read_hash(
        &self,
        conn: &mut ConnectionManager,
        key: &str,
        cap: usize,
    ) -> Result<(i64, Value), Failure> {
        let len: i64 = redis::cmd("HLEN").arg(key).query_async(conn).await?;
        let flat = self.scan_collection(conn, "HSCAN", key, cap * 2).await?;
        let mut fields = Map::new();
        for pair in flat.chunks(2) {
            if let [field, value] = pair {
                if fields.len() < cap {
                    fields.insert(text_key(field), bytes_value(value.clone()));
                }
            }
        }
        Ok((len, Value::Object(fields)))
    }

    /// Walks `SSCAN`/`HSCAN` until done or `cap` items are collected.
    async fn scan_collection(
        &self,
        conn: &mut ConnectionManager,
        command: &str,
        key: &str,
        cap: usize,
    ) -> Result<Vec<Vec<u8>>, Failure> {
        let started = Instant::now();
        let mut items = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd(command)
                .arg(key)
                .arg(cursor)
                .arg("COUNT")
                .arg(SCAN_STEP)
                .query_async(conn)
                .await?;
            items.extend(batch);
            cursor = next;
            if cursor == 0 || items.len() >= cap || started.elapsed() >= SCAN_BUDGET {
                return Ok(items);
            }
        }
    }

    fn tool(
        &self,
        name: &'static str,
        description: String,
        properties: Value,
        required: &[&str],
        writes: bool,
    ) -> Tool {
        let annotations = if writes {
            ToolAnnotations::new()
                .read_only(false)
                .destructive(true)
                .open_world(false)
        } else {
            ToolAnnotations::new().read_only(true).open_world(false)
        };
        Tool::new(name, description, schema_object(properties, required)).annotate(annotations)
    }
}

/// Why a call did not produce a result: a Redis error to sort, an argument
/// error already turned into a result, or a connection-level failure.
enum Failure {
    Redis(RedisError),
    Result(CallToolResult),
    Skill(SkillError),
}

impl From<RedisError> for Failure {
    fn from(e: RedisError) -> Self {
        Failure::Redis(e)
    }
}

impl From<CallToolResult> for Failure {
    fn from(result: CallToolResult) -> Self {
        Failure::Result(result)
    }
}

/// Classifies an error that means the connection, not the command, failed.
fn connection_error(target: &str, e: &RedisError) -> SkillError {
    match e.kind() {
        ErrorKind::AuthenticationFailed => SkillError::AuthFailed {
            message: format!(
                "Redis at {target} refused the credentials: put the right password (and user, for an ACL user) in the connector's `url` setting, e.g. redis://user:password@host:6379"
            ),
        },
        ErrorKind::InvalidClientConfig => SkillError::BadConfig {
            field: "url".into(),
            problem: scrub_secrets(&e.to_string()),
        },
        ErrorKind::Io if e.is_timeout() => SkillError::Timeout { after: RESPONSE_TIMEOUT },
        ErrorKind::Io => SkillError::Unreachable {
            target: target.to_string(),
            message: scrub_secrets(&e.to_string()),
        },
        _ => SkillError::Backend {
            message: scrub_secrets(&e.to_string()),
        },
    }
}

/// Whether a Redis error is the command's fault (a tool error) rather
/// than the connection's.
fn is_command_error(e: &RedisError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Server(_)
            | ErrorKind::Extension
            | ErrorKind::UnexpectedReturnType
            | ErrorKind::Parse
    )
}

fn structured(value: Value) -> CallToolResult {
    CallToolResult::structured(value)
}

/// Bytes as a JSON string when UTF-8, else `{"base64": ...}`.
fn bytes_value(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(text) => json!(text),
        Err(e) => json!({"base64": super::tool::bytes_json(e.as_bytes())}),
    }
}

/// A field or member name as an object key (base64 when not UTF-8).
fn text_key(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => match super::tool::bytes_json(bytes) {
            Value::String(b64) => format!("base64:{b64}"),
            other => other.to_string(),
        },
    }
}

/// A sorted-set score: a number, or `inf`/`-inf` as strings.
fn score_json(score: &str) -> Value {
    match score.parse::<f64>() {
        Ok(f) if f.is_finite() => super::tool::float_json(f),
        _ => json!(score),
    }
}

/// `INFO` text as `{section: {field: value}}`, section names lower-cased.
fn parse_info(raw: &str) -> Value {
    let mut sections = Map::new();
    let mut current = "default".to_string();
    for line in raw.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('#') {
            current = name.trim().to_ascii_lowercase();
            sections.entry(current.clone()).or_insert_with(|| json!({}));
        } else if let Some((field, value)) = line.split_once(':') {
            let section = sections.entry(current.clone()).or_insert_with(|| json!({}));
            if let Value::Object(section) = section {
                section.insert(field.to_string(), json!(value));
            }
        }
    }
    Value::Object(sections)
}

impl Skill for RedisSkill {
    fn tools(&self) -> Vec<Tool> {
        let writes = if self.allow_writes {
            "Writes are enabled for this connector."
        } else {
            "Writes are disabled for this connector: refused until `allow_writes` is set to true."
        };
        let key = json!({"type": "string", "description": "The key"});
        vec![
            self.tool("get", "Get a string key's value (null when the key does not exist).".into(), json!({"key": key}), &["key"], false),
            self.tool(
                "set",
                format!("Set a string key, optionally expiring after ttl_seconds. {writes}"),
                json!({"key": key, "value": {"type": "string"}, "ttl_seconds": {"type": "integer", "minimum": 1}}),
                &["key", "value"],
                true,
            ),
            self.tool(
                "del",
                format!("Delete keys; returns how many existed. {writes}"),
                json!({"keys": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
                &["keys"],
                true,
            ),
            self.tool(
                "scan",
                format!("List keys matching a glob pattern (default *) with SCAN, at most {} keys; `truncated` says when there are more.", self.scan_limit),
                json!({"pattern": {"type": "string"}, "count": {"type": "integer", "minimum": 1, "description": "Most keys to return"}}),
                &[],
                false,
            ),
            self.tool(
                "read",
                format!("Read a key of any type: string, hash, list, set, sorted set (with scores) or stream, at most {} members.", self.scan_limit),
                json!({"key": key}),
                &["key"],
                false,
            ),
            self.tool("ttl", "Seconds until a key expires (null when it never does).".into(), json!({"key": key}), &["key"], false),
            self.tool(
                "info",
                "Server information from INFO, by section.".into(),
                json!({"section": {"type": "string", "description": "e.g. server, memory, keyspace"}}),
                &[],
                false,
            ),
        ]
    }

    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
    ) -> BoxFuture<'a, Result<CallToolResult, SkillError>> {
        Box::pin(async move {
            match self.dispatch(tool, arguments).await {
                Ok(result) | Err(Failure::Result(result)) => Ok(result),
                Err(Failure::Skill(e)) => Err(e),
                Err(Failure::Redis(e)) if is_command_error(&e) => {
                    let hint = if e.code() == Some("WRONGTYPE") {
                        "; `read` shows a key of any type"
                    } else {
                        ""
                    };
                    Ok(tool_error(format!(
                        "{}{hint}",
                        scrub_secrets(&e.to_string())
                    )))
                }
                Err(Failure::Redis(e)) => Err(connection_error(&self.target, &e)),
            }
        })
    }

    fn check<'a>(&'a self) -> BoxFuture<'a, Result<(), SkillError>> {
        Box::pin(self.ping())
    }

    fn close<'a>(&'a self) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let taken = self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
            drop(taken);
        })
    }
}

/// A sorted set's first members with their scores.
async fn read_zset(
    conn: &mut ConnectionManager,
    key: &str,
    last: i64,
) -> Result<(i64, Value), Failure> {
    let len: i64 = redis::cmd("ZCARD").arg(key).query_async(conn).await?;
    let pairs: Vec<(Vec<u8>, String)> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(last)
        .arg("WITHSCORES")
        .query_async(conn)
        .await?;
    let members = pairs
        .into_iter()
        .map(|(member, score)| json!({"member": bytes_value(member), "score": score_json(&score)}))
        .collect();
    Ok((len, Value::Array(members)))
}

/// A stream's first `cap` entries.
async fn read_stream(
    conn: &mut ConnectionManager,
    key: &str,
    cap: usize,
) -> Result<(i64, Value), Failure> {
    let len: i64 = redis::cmd("XLEN").arg(key).query_async(conn).await?;
    let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(cap)
        .query_async(conn)
        .await?;
    let entries = entries
        .into_iter()
        .map(|(id, flat)| {
            let fields: Map<String, Value> = flat
                .chunks(2)
                .filter_map(|pair| match pair {
                    [field, value] => Some((text_key(field), bytes_value(value.clone()))),
                    _ => None,
                })
                .collect();
            json!({"id": id, "fields": fields})
        })
        .collect();
    Ok((len, Value::Array(entries)))
}
