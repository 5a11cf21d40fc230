//! `/mcp`'s front door: the gateway's intake checks (`gateway/intake.rs`)
//! for Streamable HTTP. A POST body longer than
//! `codebuddy.gateway.maxMessageBytes` is a 413 without being read to its
//! end; a body that is not a JSON-RPC message is a 400; `tools/call` with
//! arguments that are not an object is answered with `-32602` at once. Each
//! carries the JSON-RPC error as its body. Everything else goes on to rmcp.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::gateway::intake::{self, Refusal};

/// The header a 2026-07-28 client names its method in (SEP-2243).
const MCP_METHOD: &str = "mcp-method";
/// How many bytes of an oversized body are kept to find its id.
const HEAD_BYTES: usize = 4096;
/// How much of an oversized body is read and dropped before answering.
const DRAIN_BYTES: usize = 256 * 1024 * 1024;

/// The middleware; its state is the size limit.
pub(crate) async fn check(State(limit): State<usize>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_limited(body, limit).await {
        Ok(bytes) => bytes,
        Err(Read::TooLarge(head)) => {
            let refusal = Refusal::too_large(intake::leading_id(&head), limit);
            return refused(StatusCode::PAYLOAD_TOO_LARGE, &refusal);
        }
        Err(Read::Failed(err)) => {
            tracing::debug!("cannot read an /mcp body: {err}");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    match intake::check(&bytes) {
        Ok(intake::Pass::AsIs) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(intake::Pass::Renamed { message, method }) => {
            let mut parts = parts;
            parts.headers.remove(header::CONTENT_LENGTH);
            // A 2026-07-28 client names the method in a header too, which
            // rmcp checks against the body.
            if parts.headers.contains_key(MCP_METHOD) {
                parts
                    .headers
                    .insert(MCP_METHOD, HeaderValue::from_static(method));
            }
            next.run(Request::from_parts(parts, Body::from(message)))
                .await
        }
        // A request the client waits on: its answer, with its id.
        Err(Some(refusal)) if !refusal.id.is_null() => refused(StatusCode::OK, &refusal),
        Err(Some(refusal)) => refused(StatusCode::BAD_REQUEST, &refusal),
        Err(None) => StatusCode::BAD_REQUEST.into_response(),
    }
}

enum Read {
    /// Over the limit; the body's first bytes.
    TooLarge(Vec<u8>),
    Failed(axum::Error),
}

/// Reads the body up to `limit` bytes; past it, stops reading and keeps
/// the head.
async fn read_limited(body: Body, limit: usize) -> Result<Bytes, Read> {
    let mut stream = body.into_data_stream();
    let mut collected = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Read::Failed)?;
        if collected.len() + chunk.len() > limit {
            collected.extend_from_slice(&chunk[..chunk.len().min(HEAD_BYTES)]);
            collected.truncate(HEAD_BYTES);
            // Read the rest and drop it (memory stays bounded): a client
            // still writing its body when the answer comes sees a broken
            // pipe instead of the 413. Past DRAIN_BYTES the connection is
            // not worth keeping.
            let mut drained = 0usize;
            while let Some(Ok(chunk)) = stream.next().await {
                drained += chunk.len();
                if drained > DRAIN_BYTES {
                    break;
                }
            }
            return Err(Read::TooLarge(collected));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(collected))
}

fn refused(status: StatusCode, refusal: &Refusal) -> Response {
    let mut response = (status, refusal.to_json()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
