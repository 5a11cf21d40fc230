//! The dashboard's static files, compiled into the binary (no Node.js or
//! files on disk at run time). The page uses only the public API.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::error::ApiPath;

/// The page's Content-Security-Policy: our own scripts and styles only,
/// no framing, no other origins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// (name under `/assets/`, content type, bytes)
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/app.js"),
    ),
    (
        "core.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/core.js"),
    ),
    (
        "panels.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/panels.js"),
    ),
    (
        "signin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/signin.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../assets/favicon.svg"),
    ),
];

const INDEX: &str = include_str!("../../assets/index.html");

fn respond(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // Small and compiled in: always fetch the copy of this build.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /`: the dashboard.
pub(crate) async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`.
pub(crate) async fn asset(ApiPath(file): ApiPath<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => respond(content_type, body),
        None => ApiError::http(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset `{file}`"),
        )
        .into_response(),
    }
}
