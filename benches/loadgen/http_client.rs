//! A Streamable HTTP client that behaves like the HTTP clients people run
//! (undici, httpx, reqwest pools, curl, proxies): one keep-alive connection
//! per caller, each response read to its end before the next request on
//! that connection. rmcp's client stops reading a POST's SSE stream once
//! the answer has arrived, so its connection is not reused and it never
//! waits for the chunk that ends the response: measured with it, a server
//! that stalls on that last chunk (issue 17: ~43 ms per call) looks fast.
//!
//! With `fresh_connection` the pool keeps nothing, so every call opens a
//! new TCP connection: the second HTTP row of the benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};

/// The revision this client offers; every contender speaks it.
const PROTOCOL: &str = "2025-06-18";

/// One MCP session over Streamable HTTP.
pub struct HttpSession {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    next_id: AtomicU64,
}

impl HttpSession {
    /// `initialize` and `notifications/initialized`; the session id the
    /// server hands out is sent with every later request.
    pub async fn connect(
        url: &str,
        token: Option<&str>,
        fresh_connection: bool,
    ) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder().http1_only().tcp_nodelay(true);
        if fresh_connection {
            builder = builder.pool_max_idle_per_host(0);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(token) = token {
            headers.insert(AUTHORIZATION, format!("Bearer {token}").parse()?);
        }
        let mut session = HttpSession {
            client: builder.build()?,
            url: url.to_string(),
            headers,
            next_id: AtomicU64::new(0),
        };
        let (answer, session_id) = session
            .exchange(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "switchboard-loadgen", "version": "1"}
                }),
            )
            .await
            .with_context(|| format!("MCP initialize with {url} failed"))?;
        answer
            .get("result")
            .with_context(|| format!("initialize answered {answer}"))?;
        if let Some(id) = session_id {
            session.headers.insert("mcp-session-id", id);
        }
        session
            .headers
            .insert("mcp-protocol-version", HeaderValue::from_static(PROTOCOL));
        let sent = session
            .client
            .post(&session.url)
            .headers(session.headers.clone())
            .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .send()
            .await?;
        let status = sent.status();
        sent.bytes().await?;
        if !status.is_success() {
            bail!("notifications/initialized answered HTTP {status}");
        }
        Ok(session)
    }

    /// Every tool's name, across pages.
    pub async fn tool_names(&self) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = match &cursor {
                Some(cursor) => json!({ "cursor": cursor }),
                None => json!({}),
            };
            let result = self.request("tools/list", params).await?;
            for tool in result["tools"].as_array().into_iter().flatten() {
                if let Some(name) = tool["name"].as_str() {
                    names.push(name.to_string());
                }
            }
            match result["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return Ok(names),
            }
        }
    }

    /// `tools/call`; `Ok(true)` when the tool answered with `isError`.
    pub async fn call_tool(&self, name: &str, arguments: &Value) -> anyhow::Result<bool> {
        let result = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        Ok(result["isError"].as_bool() == Some(true))
    }

    /// Ends the session (DELETE), as a polite client does.
    pub async fn close(&self) {
        if let Ok(answer) = self
            .client
            .delete(&self.url)
            .headers(self.headers.clone())
            .send()
            .await
        {
            let _ = answer.bytes().await;
        }
    }

    async fn request(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let (answer, _) = self.exchange(method, params).await?;
        if let Some(error) = answer.get("error") {
            bail!("{method} failed: {error}");
        }
        answer
            .get("result")
            .cloned()
            .with_context(|| format!("{method}: an answer without result: {answer}"))
    }

    /// One POST, its body read to the end (JSON, or an SSE stream that the
    /// server closes after the answer); the answer with this request's id.
    async fn exchange(
        &self,
        method: &str,
        params: Value,
    ) -> anyhow::Result<(Value, Option<HeaderValue>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&json!({
            "jsonrpc": "2.0", "id": id, "method": method, "params": params
        }))?;
        let answer = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(body)
            .send()
            .await?;
        let status = answer.status();
        let session_id = answer.headers().get("mcp-session-id").cloned();
        let is_json = answer
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = answer.bytes().await?;
        if !status.is_success() {
            bail!(
                "{method} answered HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let text = std::str::from_utf8(&body).context("the answer is not UTF-8")?;
        let found = if is_json {
            Some(serde_json::from_str::<Value>(text)?)
        } else {
            sse_answer(text, id)?
        };
        match found {
            Some(answer) => Ok((answer, session_id)),
            None => bail!("{method}: the response ended without an answer to id {id}"),
        }
    }
}

/// The message with `id` among an SSE body's events (each event's `data:`
/// lines joined; events without data, such as rmcp's priming event, skipped).
fn sse_answer(text: &str, id: u64) -> anyhow::Result<Option<Value>> {
    let text = text.replace("\r\n", "\n");
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect();
        if data.iter().all(|d| d.is_empty()) {
            continue;
        }
        let message: Value = serde_json::from_str(&data.join("\n"))
            .with_context(|| format!("an SSE event that is not JSON: {event}"))?;
        if message["id"].as_u64() == Some(id) {
            return Ok(Some(message));
        }
    }
    Ok(None)
}
