//! `/api/v1/connectors…`: list, get, add, remove, connect, disconnect, restart, policy and
//! config. Each handler is a thin call into [`ConnectorService`]; errors
//! come back in the API's format (see `error.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiPath, ApiResult, ErrorBody, JsonBody, OptionalJsonBody};
use super::AppState;
use crate::catalog::Policy;
use crate::connector::{ConnectorInfo, CustomConnector, FieldStatus, PolicyInfo};

/// A new custom connector, in the shape of `switchboard add`'s flags.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// The new connector's name (lowercase letters, digits, `-`, `_`).
    #[schema(example = "everything", pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub name: String,
    /// A program to run (exactly one of `command`, `image`, `url`).
    #[serde(default)]
    pub command: Option<String>,
    /// A container image to run with `docker run -i --rm`.
    #[serde(default)]
    pub image: Option<String>,
    /// A remote MCP server's URL (SSE or Streamable HTTP).
    #[serde(default)]
    pub url: Option<String>,
    /// `sse` or `http`, when the URL does not tell (remote only).
    #[serde(default)]
    pub transport: Option<crate::catalog::RemoteTransport>,
    /// Arguments for the command or image.
    #[serde(default)]
    pub args: Vec<String>,
    /// `KEY=VALUE` to set, or `KEY` to pass through from the service's
    /// environment. Values that look like secrets are refused.
    #[serde(default)]
    pub env: Vec<String>,
    /// HTTP headers for a remote server, `NAME=VALUE`; secret ones are kept
    /// out of settings.
    #[serde(default)]
    pub headers: Vec<String>,
}

/// What `connect` may carry.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// Config field values (secrets included), kept in the service's
    /// memory only.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Seconds the server may take to start and answer MCP initialize.
    #[serde(default, deserialize_with = "whole_seconds")]
    #[schema(minimum = 1, maximum = 600)]
    pub timeout_secs: Option<u64>,
}

/// JSON Schema counts `64.0` as an integer, so the API takes it as one;
/// a fraction is refused.
fn whole_seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    let value: Option<serde_json::Number> = Deserialize::deserialize(de)?;
    let Some(number) = value else {
        return Ok(None);
    };
    if let Some(whole) = number.as_u64() {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => Ok(Some(f as u64)),
        _ => Err(serde::de::Error::custom(format!(
            "timeout_secs must be a whole number of seconds, not {number}"
        ))),
    }
}

/// New values for a connector's config fields.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigRequest {
    /// Field name → value. Secret fields go to the secret store and are
    /// never echoed back.
    pub values: BTreeMap<String, String>,
}

/// One config field and whether it has a value. Secret values are never
/// shown, only `set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldView {
    /// The field's name (also its environment variable).
    pub name: String,
    /// What to enter.
    pub description: String,
    /// Whether the connector cannot start without it.
    pub required: bool,
    /// Whether it is a credential.
    pub secret: bool,
    /// Whether it has a value.
    pub set: bool,
    /// Its stored value, for non-secret fields that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The value used when none is set (non-secret fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// Every connector, built-in first in catalog order, then custom ones.
#[utoipa::path(
    get,
    path = "/api/v1/connectors",
    tag = "connectors",
    responses(
        (status = 200, description = "Every connector", body = Vec<ConnectorInfo>),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub(crate) async fn list(State(state): State<AppState>) -> Json<Vec<ConnectorInfo>> {
    Json(state.service.list())
}

/// One connector.
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{name}",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "The connector", body = ConnectorInfo),
        (status = 404, description = "No connector has that name (`unknown_connector`)", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ConnectorInfo>> {
    Ok(Json(state.service.info(&name)?))
}

/// Adds a custom connector backed by a command, an image or a URL.
#[utoipa::path(
    post,
    path = "/api/v1/connectors",
    tag = "connectors",
    request_body = AddRequest,
    responses(
        (status = 201, description = "Added; `Location` names it", body = ConnectorInfo),
        (status = 400, description = "The body is not the expected JSON", body = ErrorBody),
        (status = 409, description = "The name is taken (`already_exists`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Bad name, backend, env or header (`invalid_input`)", body = ErrorBody),
    )
)]
pub(crate) async fn add(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<AddRequest>,
) -> ApiResult<Response> {
    let AddRequest {
        name,
        command,
        image,
        url,
        transport,
        args,
        env,
        headers,
    } = request;
    let backends = [command.is_some(), image.is_some(), url.is_some()];
    if backends.iter().filter(|b| **b).count() != 1 {
        return Err(ApiError::invalid(
            "give exactly one of `command`, `image` or `url`",
        ));
    }
    let (connector, secrets) = match url {
        Some(url) => {
            if !args.is_empty() || !env.is_empty() {
                return Err(ApiError::invalid(
                    "`args` and `env` are for a command or an image, not a remote `url`",
                ));
            }
            CustomConnector::remote(url, transport, &headers)?
        }
        None => {
            if transport.is_some() || !headers.is_empty() {
                return Err(ApiError::invalid(
                    "`transport` and `headers` are for a remote `url` only",
                ));
            }
            (
                CustomConnector::from_flags(command, image, args, &env)?,
                BTreeMap::new(),
            )
        }
    };
    let info = state.service.add(&name, connector, secrets).await?;
    let mut response = (StatusCode::CREATED, Json(&info)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/connectors/{}", info.name)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Removes a custom connector, disconnecting it first.
#[utoipa::path(
    delete,
    path = "/api/v1/connectors/{name}",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 422, description = "A built-in connector cannot be removed (`invalid_input`)", body = ErrorBody),
    )
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.service.remove(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a connector's server and waits until it answers (already
/// connected is not an error).
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{name}/connect",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    request_body(content = Option<ConnectRequest>, description = "Optional: field values and a start deadline"),
    responses(
        (status = 200, description = "Connected", body = ConnectorInfo),
        (status = 400, description = "The body is not the expected JSON", body = ErrorBody),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 409, description = "Required configuration is missing (`needs_configuration`); the connector waits in `configuring`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Bad values (`invalid_input`)", body = ErrorBody),
        (status = 502, description = "The server could not start (`start_failed`); the connector is in `error`", body = ErrorBody),
        (status = 503, description = "No container engine (`no_container_engine`)", body = ErrorBody),
    )
)]
pub(crate) async fn connect(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    OptionalJsonBody(request): OptionalJsonBody<ConnectRequest>,
) -> ApiResult<Json<ConnectorInfo>> {
    // The core checks the bound (1 to 600 s), for every face.
    let timeout = request.timeout_secs.map(Duration::from_secs);
    let info = state
        .service
        .connect(&name, request.values, timeout)
        .await?;
    Ok(Json(info))
}

/// Stops a connector's server and removes its config.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{name}/disconnect",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "Disconnected", body = ConnectorInfo),
        (status = 404, description = "No connector has that name", body = ErrorBody),
    )
)]
pub(crate) async fn disconnect(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ConnectorInfo>> {
    Ok(Json(state.service.disconnect(&name).await?))
}

/// Stops and starts a connected (or failed) connector with its current
/// configuration; a disconnected one is refused.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{name}/restart",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "Restarted; `restarted` says so", body = ConnectorInfo),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 409, description = "It is not connected (`not_connected`): connect it instead", body = ErrorBody),
        (status = 502, description = "The server could not start again (`start_failed`); the connector is in `error`", body = ErrorBody),
    )
)]
pub(crate) async fn restart(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ConnectorInfo>> {
    Ok(Json(state.service.restart(&name).await?))
}

/// What a connector's server may reach and use, in effect and in words.
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{name}/policy",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "The policy", body = PolicyInfo),
        (status = 404, description = "No connector has that name", body = ErrorBody),
    )
)]
pub(crate) async fn policy(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<PolicyInfo>> {
    Ok(Json(state.service.policy(&name, None).await?))
}

/// Changes a connector's policy override (what the body sets replaces what
/// was set); a connected connector restarts with it.
#[utoipa::path(
    put,
    path = "/api/v1/connectors/{name}/policy",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    request_body(content = Object, description = "Any of `network` (`open`, `none`, `loopback`), `read` and `write` (absolute paths), `memory` (`512m`), `cpus`, `sandbox`"),
    responses(
        (status = 200, description = "The policy now; `restarted` says when it restarted", body = PolicyInfo),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 422, description = "A value that cannot be used (`invalid_input`)", body = ErrorBody),
    )
)]
pub(crate) async fn set_policy(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<Json<PolicyInfo>> {
    let change: Policy = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid(format!("not a policy: {e}")))?;
    Ok(Json(state.service.policy(&name, Some(change)).await?))
}

/// A connector's config fields and which have values.
#[utoipa::path(
    get,
    path = "/api/v1/connectors/{name}/config",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    responses(
        (status = 200, description = "Its fields; secret values are never included", body = Vec<FieldView>),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 503, description = "The secret store cannot be used (`secrets`)", body = ErrorBody),
    )
)]
pub(crate) async fn config(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<FieldView>>> {
    let fields = state.service.config(&name).await?;
    Ok(Json(fields.into_iter().map(FieldView::from).collect()))
}

/// Stores config field values: secret ones in the secret store, the others
/// in settings. Takes effect at the next connect.
#[utoipa::path(
    put,
    path = "/api/v1/connectors/{name}/config",
    tag = "connectors",
    params(("name" = String, Path, description = "The connector's name")),
    request_body = ConfigRequest,
    responses(
        (status = 200, description = "Saved; the connector as it is now", body = ConnectorInfo),
        (status = 400, description = "The body is not the expected JSON", body = ErrorBody),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "Unknown field or bad value (`invalid_input`)", body = ErrorBody),
        (status = 503, description = "The secret store cannot be used (`secrets`)", body = ErrorBody),
    )
)]
pub(crate) async fn set_config(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(request): JsonBody<ConfigRequest>,
) -> ApiResult<Json<ConnectorInfo>> {
    Ok(Json(state.service.set_config(&name, request.values).await?))
}

/// Forgets one field's stored value (secret or not).
#[utoipa::path(
    delete,
    path = "/api/v1/connectors/{name}/config/{field}",
    tag = "connectors",
    params(
        ("name" = String, Path, description = "The connector's name"),
        ("field" = String, Path, description = "The field's name"),
    ),
    responses(
        (status = 204, description = "It has no stored value now"),
        (status = 404, description = "No connector has that name", body = ErrorBody),
        (status = 422, description = "The connector has no such field (`invalid_input`)", body = ErrorBody),
        (status = 503, description = "The secret store cannot be used (`secrets`)", body = ErrorBody),
    )
)]
pub(crate) async fn unset_config(
    State(state): State<AppState>,
    ApiPath((name, field)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    // An unknown field is the caller's mistake (422), whatever the
    // secret store would make of its name.
    let fields = state.service.config(&name).await?;
    if !fields.iter().any(|f| f.name == field) {
        let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        return Err(ApiError::invalid(format!(
            "`{name}` has no field `{field}`; its fields are: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    state.service.unset_config(&name, &field).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<FieldStatus> for FieldView {
    fn from(field: FieldStatus) -> FieldView {
        // Destructured whole, so a new field in FieldStatus is a decision
        // here (show it or not), never shown by accident.
        let FieldStatus {
            name,
            description,
            required,
            secret,
            set,
            value,
            default,
        } = field;
        FieldView {
            name,
            description,
            required,
            secret,
            set,
            value: if secret { None } else { value },
            default: if secret { None } else { default },
        }
    }
}
