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

/// Brand icons for the built-in connectors, by the catalog's `icon` slug:
/// simple-icons (CC0, `assets/icons/LICENSE.md`), each with its brand
/// colour as the fill.
pub(crate) const ICONS: &[(&str, &str)] = &[
    ("datadog", include_str!("../../assets/icons/datadog.svg")),
    ("github", include_str!("../../assets/icons/github.svg")),
    ("gmail", include_str!("../../assets/icons/gmail.svg")),
    (
        "googlecalendar",
        include_str!("../../assets/icons/googlecalendar.svg"),
    ),
    (
        "googledrive",
        include_str!("../../assets/icons/googledrive.svg"),
    ),
    ("jira", include_str!("../../assets/icons/jira.svg")),
    ("linear", include_str!("../../assets/icons/linear.svg")),
    ("mongodb", include_str!("../../assets/icons/mongodb.svg")),
    ("mysql", include_str!("../../assets/icons/mysql.svg")),
    ("n8n", include_str!("../../assets/icons/n8n.svg")),
    ("notion", include_str!("../../assets/icons/notion.svg")),
    (
        "postgresql",
        include_str!("../../assets/icons/postgresql.svg"),
    ),
    ("redis", include_str!("../../assets/icons/redis.svg")),
    ("sentry", include_str!("../../assets/icons/sentry.svg")),
    ("sqlite", include_str!("../../assets/icons/sqlite.svg")),
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

/// `GET /assets/icons/{file}`: `SLUG.svg`.
pub(crate) async fn icon(ApiPath(file): ApiPath<String>) -> Response {
    let slug = file.strip_suffix(".svg").unwrap_or("");
    match ICONS.iter().find(|(name, _)| *name == slug) {
        Some((_, body)) => respond("image/svg+xml", body),
        None => ApiError::http(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no icon `{file}`"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::ICONS;

    /// Every icon the catalog names is compiled in.
    #[test]
    fn every_catalog_icon_is_there() {
        let catalog = crate::catalog::Catalog::builtin().expect("the catalog loads");
        for def in catalog.iter() {
            if let Some(icon) = &def.icon {
                assert!(
                    ICONS.iter().any(|(name, _)| name == icon),
                    "{}: no icon {icon}",
                    def.name
                );
            }
        }
    }
}
