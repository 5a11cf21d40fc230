//! `/api/v1/stats`: the call record (`audit.rs`) summed up, per connector
//! (the dashboard's cards) and per tool (`switchboard stats --json`'s
//! rows), over the last `since` (default a day).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiQuery, ApiResult, ErrorBody};
use super::AppState;
use crate::audit::{self, ConnectorStats, ToolStats};

/// The window when the request does not say.
const DEFAULT_SINCE: &str = "24h";

/// The window, and the connector to keep.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// How far back: `45s`, `30m`, `1h`, `2d` (default `24h`).
    since: Option<String>,
    /// Only this connector's calls.
    connector: Option<String>,
}

/// Calls, errors and latency per connector and per tool.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stats {
    /// The window, as asked for.
    pub since: String,
    pub connectors: Vec<ConnectorStats>,
    pub tools: Vec<ToolStats>,
}

/// The record of every routed call, summed up.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "tools",
    params(StatsQuery),
    responses(
        (status = 200, description = "Calls, errors, p50 and p99 per connector and per tool", body = Stats),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 422, description = "`since` is not a duration such as `1h` (`invalid_input`)", body = ErrorBody),
    )
)]
pub(crate) async fn stats(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Stats>> {
    let since = query.since.unwrap_or_else(|| DEFAULT_SINCE.to_string());
    let Some(window) = audit::parse_since(&since) else {
        return Err(ApiError::invalid(format!(
            "`since` must be a number with s, m, h or d, such as 30m, 1h or 2d; not {since:?}"
        )));
    };
    let records = state.service.call_records(Some(window)).await?;
    let connector = query.connector.as_deref();
    Ok(Json(Stats {
        since,
        connectors: audit::connector_stats(&records, connector),
        tools: audit::stats(&records, connector),
    }))
}
