//! `/api/v1/connectors/{name}/tools…` and `…/logs`: a connected
//! connector's tools (rmcp's `Tool`, as free-form JSON), calling one, and
//! the last lines of its log.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{
    free_object, ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody, OptionalJsonBody,
};
use super::AppState;
use crate::error::Error;
use crate::logview;

/// Log lines returned when the request does not say.
const DEFAULT_LOG_LINES: usize = 100;
/// The most log lines one request may ask for.
const MAX_LOG_LINES: usize = 10_000;

/// A connector's tools and which of them the user disabled.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolList {
    /// MCP `Tool` objects (`name`, `description`, `inputSchema`, …).
    #[schema(schema_with = tool_array)]
    pub tools: Vec<serde_json::Value>,
    /// Names of the tools that are disabled (not offered by the gateway).
    pub disabled: Vec<String>,
}

fn tool_array() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::Schema>> {
    utoipa::openapi::schema::ArrayBuilder::new().items(free_object())
}

/// A tool call's arguments.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// The tool's arguments, matching its `inputSchema`.
    #[serde(default)]
    #[schema(schema_with = free_object)]
    pub arguments: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The last lines of a connector's log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LogLines {
    /// The connector.
    pub connector: String,
    /// Oldest first: server stderr and lifecycle events.
    pub lines: Vec<String>,
}

/// How many log lines to return.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogsQuery {
    /// How many of the last lines (default 100, at most 10000).
    #[param(minimum = 0, maximum = 10000)]
    lines: Option<usize>,
}

/// The tools of a connected connector.
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{name}/tools",
    tag = "tools",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "Its tools", body = ToolList),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 409, description = "It is not connected (`not_connected`)", body = ErrorBody),
    )
)]
pub(crate) async fn tools(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ToolList>> {
    let tools = state.service.tools(&name)?;
    let disabled = state.service.disabled_tools(&name)?;
    let tools = tools
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Internal(format!("cannot encode a tool: {e}")))?;
    Ok(Json(ToolList { tools, disabled }))
}

/// Calls one tool. A tool that reports failure still answers 200, with
/// `isError: true` in the result, as MCP has it.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{name}/tools/{tool}/call",
    tag = "tools",
    params(
        ("name" = String, Path, description = "The connector's name"),
        ("tool" = String, Path, description = "The tool's name"),
    ),
    request_body(content = Option<CallRequest>, description = "Optional: the tool's arguments"),
    responses(
        (status = 200, description = "The MCP `CallToolResult` (`content`, `structuredContent`, `isError`)", body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "The body is not the expected JSON", body = ErrorBody),
        (status = 404, description = "No such connector or tool (`unknown_connector`, `unknown_tool`)", body = ErrorBody),
        (status = 409, description = "It is not connected (`not_connected`), or the server wants wider scopes than its sign-in granted (`sign_in_required`: the message names the step-up sign-in under way and the `switchboard login` to run)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 502, description = "The call failed or timed out at the server (`tool_failed`)", body = ErrorBody),
    )
)]
pub(crate) async fn call(
    State(state): State<AppState>,
    ApiPath((name, tool)): ApiPath<(String, String)>,
    OptionalJsonBody(request): OptionalJsonBody<CallRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let arguments = request.arguments.map(serde_json::Value::Object);
    let source = crate::audit::CallSource::Api;
    let result = state.service.call(&name, &tool, arguments, source).await?;
    let value = serde_json::to_value(result)
        .map_err(|e| Error::Internal(format!("cannot encode the result: {e}")))?;
    Ok(Json(value))
}

/// The last lines of a connector's log.
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{name}/logs",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name"), LogsQuery),
    responses(
        (status = 200, description = "Its last log lines", body = LogLines),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 422, description = "Too many lines asked for (`invalid_input`)", body = ErrorBody),
    )
)]
pub(crate) async fn logs(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> ApiResult<Json<LogLines>> {
    let n = query.lines.unwrap_or(DEFAULT_LOG_LINES);
    if n > MAX_LOG_LINES {
        return Err(ApiError::invalid(format!(
            "`lines` may be at most {MAX_LOG_LINES}, not {n}"
        )));
    }
    let info = state.service.info(&name)?;
    let path = state.service.paths().connector_log(&info.name);
    let read = path.clone();
    let lines = tokio::task::spawn_blocking(move || logview::tail(&read, n))
        .await
        .map_err(|e| Error::Internal(format!("log reader failed: {e}")))?
        .map_err(|e| Error::file("read", path, e))?
        .0;
    Ok(Json(LogLines {
        connector: info.name,
        lines,
    }))
}
