//! Errors as the HTTP API answers them: a JSON body with a stable `code`
//! (the snake_case name of the library's [`ErrorCode`], or one of the few
//! codes only HTTP has, such as `unauthorized`) and a `message` a person can
//! act on; the HTTP status follows from the code, never from the text.
//!
//! Also the JSON body extractors, so a body that is not JSON, or not the
//! right shape, is an `invalid_input` error in the same format rather than
//! axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::error::{Error, ErrorCode};

/// Every code the library has, for the schema's enum. `service_status`
/// matches on [`ErrorCode`] without a wildcard, so a new code fails to
/// compile there until it is given a status; add it here at the same time
/// (a test checks that every code here round-trips through serde).
const SERVICE_CODES: [ErrorCode; 17] = [
    ErrorCode::Internal,
    ErrorCode::UnknownConnector,
    ErrorCode::AlreadyExists,
    ErrorCode::InvalidInput,
    ErrorCode::StartFailed,
    ErrorCode::NoContainerEngine,
    ErrorCode::Settings,
    ErrorCode::ServiceUnavailable,
    ErrorCode::ToolFailed,
    ErrorCode::NotConnected,
    ErrorCode::UnknownTool,
    ErrorCode::NeedsConfiguration,
    ErrorCode::Secrets,
    ErrorCode::PortInUse,
    ErrorCode::SignInFailed,
    ErrorCode::SignInRequired,
    ErrorCode::Files,
];

/// Codes only the HTTP face produces.
const HTTP_CODES: [&str; 7] = [
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "unsupported_media_type",
    "payload_too_large",
    "not_implemented",
];

/// The HTTP status for a library error code.
pub(crate) fn service_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Internal | ErrorCode::Settings | ErrorCode::Files => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        ErrorCode::UnknownConnector | ErrorCode::UnknownTool => StatusCode::NOT_FOUND,
        ErrorCode::AlreadyExists
        | ErrorCode::NotConnected
        | ErrorCode::NeedsConfiguration
        | ErrorCode::SignInRequired => StatusCode::CONFLICT,
        // The request was read; its values are what cannot be used.
        ErrorCode::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        // The backend (a server or its launcher) failed, not this service.
        ErrorCode::StartFailed | ErrorCode::ToolFailed | ErrorCode::SignInFailed => {
            StatusCode::BAD_GATEWAY
        }
        // Something this machine lacks or cannot reach right now.
        ErrorCode::NoContainerEngine
        | ErrorCode::ServiceUnavailable
        | ErrorCode::Secrets
        | ErrorCode::PortInUse => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable class of failure.
    #[schema(schema_with = code_schema)]
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
}

fn code_schema() -> impl Into<RefOr<Schema>> {
    let mut names: Vec<String> = SERVICE_CODES.iter().map(|c| code_name(*c)).collect();
    names.extend(HTTP_CODES.iter().map(|c| c.to_string()));
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(names))
        .description(Some(
            "A stable class of failure: the library's error codes, plus the HTTP-only \
             `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, \
             `unsupported_media_type`, `payload_too_large` and `not_implemented`.",
        ))
}

/// The snake_case name serde gives a code (the same as on the socket).
fn code_name(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "internal".into(),
    }
}

/// An error answer: status, code and message.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with an HTTP-only code.
    pub fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        debug_assert!(HTTP_CODES.contains(&code));
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_string(),
                message: message.into(),
            },
        }
    }

    /// A request we could read but whose values we cannot use.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        Error::InvalidInput(message.into()).into()
    }

    /// A request we could not read at all (not JSON, wrong shape).
    pub fn unreadable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                code: code_name(ErrorCode::InvalidInput),
                message: message.into(),
            },
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        let code = err.code();
        let status = service_status(code);
        if status.is_server_error() {
            tracing::warn!(code = %code_name(code), "API request failed: {err}");
        }
        ApiError {
            status,
            body: ErrorBody {
                code: code_name(code),
                message: err.to_string(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"switchboard\""),
            );
        }
        response
    }
}

/// Results of API handlers.
pub(crate) type ApiResult<T> = std::result::Result<T, ApiError>;

/// A required JSON body. Unlike `axum::Json`, every failure is an
/// [`ApiError`] in the API's format.
pub(crate) struct JsonBody<T>(pub T);

/// A JSON body that may be absent (an empty body means the default).
pub(crate) struct OptionalJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let (is_json, bytes) = read_body(req, state).await?;
        if bytes.is_empty() {
            return Err(ApiError::unreadable(
                "this request needs a JSON body (Content-Type: application/json)",
            ));
        }
        parse(is_json, &bytes).map(JsonBody)
    }
}

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let (is_json, bytes) = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        // JSON `null` is "nothing", like an empty body.
        parse::<Option<T>>(is_json, &bytes).map(|v| OptionalJsonBody(v.unwrap_or_default()))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> ApiResult<(bool, Bytes)> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
        .unwrap_or(false);
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::http(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
        } else {
            ApiError::unreadable(format!("cannot read the request body: {rejection}"))
        }
    })?;
    Ok((is_json, bytes))
}

fn parse<T: DeserializeOwned>(is_json: bool, bytes: &[u8]) -> ApiResult<T> {
    // Requiring the JSON content type means a cross-site HTML form (which
    // cannot set it without a CORS preflight) can never reach a handler.
    if !is_json {
        return Err(ApiError::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::unreadable(format!("the body is not the expected JSON: {err}")))
}

/// Path parameters, with failures in the API's format.
pub(crate) struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::unreadable(format!("bad path: {rejection}")))
    }
}

/// Query parameters, with failures in the API's format.
pub(crate) struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::unreadable(format!("bad query: {rejection}")))
    }
}

/// A free-form JSON object in the schema (rmcp's `Tool`,
/// `CallToolResult`, a tool's arguments).
pub(crate) fn free_object() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .additional_properties(Some(<serde_json::Value as PartialSchema>::schema()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_code_has_its_serde_name_and_a_status() {
        for code in SERVICE_CODES {
            let name = code_name(code);
            let back: ErrorCode = serde_json::from_value(serde_json::Value::String(name.clone()))
                .unwrap_or(ErrorCode::Internal);
            assert_eq!(back, code, "{name}");
            assert!(
                service_status(code).is_client_error() || service_status(code).is_server_error()
            );
        }
        let mut all: Vec<String> = SERVICE_CODES.iter().map(|c| code_name(*c)).collect();
        all.extend(HTTP_CODES.iter().map(|c| c.to_string()));
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "codes are unique");
    }

    #[test]
    fn statuses_follow_codes() {
        let cases = [
            (
                Error::UnknownConnector {
                    name: "x".into(),
                    suggestion: String::new(),
                },
                StatusCode::NOT_FOUND,
            ),
            (
                Error::AlreadyExists { name: "x".into() },
                StatusCode::CONFLICT,
            ),
            (
                Error::InvalidInput("bad".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                Error::NotConnected { name: "x".into() },
                StatusCode::CONFLICT,
            ),
            (
                Error::CommandNotFound {
                    command: "nope".into(),
                },
                StatusCode::BAD_GATEWAY,
            ),
        ];
        for (err, status) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.status, status, "{}", api.body.message);
        }
    }
}
