//! Who may talk to the HTTP server, checked before any route runs.
//!
//! - **Token**: random, kept in the data dir as `http-token` (0600) and
//!   reused across restarts. Every request carries it as
//!   `Authorization: Bearer …`; the dashboard instead gets it once in the
//!   URL (`/?token=…`), which is swapped for an HttpOnly, SameSite=Strict
//!   cookie and a redirect that drops it from the address bar. `/mcp`
//!   accepts only the header: an MCP client is not a browser.
//! - **Host**: must name this server (`127.0.0.1:PORT`, `localhost:PORT`),
//!   so a web page whose DNS name was rebound to 127.0.0.1 is refused.
//! - **Origin**: when present, must be this server's own origin. No CORS
//!   headers are ever sent, so other origins cannot read answers either.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;
use crate::error::{Error, Result};

/// The token file's name in the data dir.
pub const TOKEN_FILE: &str = "http-token";
/// Random bytes in a token (hex-encoded, so twice as many characters).
const TOKEN_BYTES: usize = 32;
/// The query parameter the dashboard link carries the token in.
const TOKEN_PARAM: &str = "token";

/// Reads the token from the data dir, or creates one there (0600).
pub(crate) fn load_or_create_token(home: &Path) -> Result<String> {
    let path = home.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if valid_token(text.trim()) => {
            // Tighten a file someone loosened; the token is a credential.
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            return Ok(text.trim().to_string());
        }
        Ok(_) => tracing::warn!("{} is malformed; writing a new token", path.display()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(Error::Internal(format!(
                "cannot read {}: {err}",
                path.display()
            )))
        }
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for the HTTP token: {e}")))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Written beside and renamed, so a reader never sees half a token.
    crate::atomic_file::replace(&path, format!("{token}\n").as_bytes(), Some(0o600))
        .map_err(|e| Error::file("write", path.clone(), e))?;
    Ok(token)
}

fn valid_token(text: &str) -> bool {
    text.len() == TOKEN_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The access rules of one server.
#[derive(Debug)]
pub(crate) struct Guard {
    token: String,
    port: u16,
    /// `host:port` authorities (lowercase) that name this server.
    hosts: Vec<String>,
    /// With `--allow-remote` on an unspecified address, any IP literal with
    /// our port names us: an IP cannot be rebound, only a DNS name can.
    any_ip_host: bool,
    /// The cookie is per port, since browsers share cookies across ports.
    cookie: String,
}

impl Guard {
    /// Rules for a server bound to `addr`.
    pub fn new(token: String, addr: SocketAddr) -> Guard {
        let port = addr.port();
        let mut hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")];
        let ip = addr.ip();
        if !ip.is_unspecified() {
            hosts.push(authority(ip, port));
        }
        if ip.is_ipv6() {
            hosts.push(format!("[::1]:{port}"));
        }
        hosts.dedup();
        Guard {
            token,
            port,
            hosts,
            any_ip_host: ip.is_unspecified(),
            cookie: format!("switchboard-{port}"),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.hosts.contains(&host) {
            return true;
        }
        self.any_ip_host
            && host
                .parse::<SocketAddr>()
                .map(|a| a.port() == self.port)
                .unwrap_or(false)
    }

    fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .is_some_and(|given| same(given.as_bytes(), self.token.as_bytes()))
    }

    fn cookie_ok(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| {
                name == self.cookie && same(value.as_bytes(), self.token.as_bytes())
            })
    }

    fn set_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie, self.token
        )
    }
}

/// `ip:port` as it appears in a Host header.
pub(crate) fn authority(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// The middleware: Host, Origin, then the token; adds the security headers
/// every answer carries.
pub(crate) async fn check(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let mut response = admit(&guard, req, next).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn admit(guard: &Guard, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !guard.host_allowed(host) {
        return ApiError::http(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "Host `{host}` does not name this server; use http://127.0.0.1:{}/ \
                 (requests through other names are refused to stop DNS rebinding)",
                guard.port
            ),
        )
        .into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let expected = format!("http://{}", host.to_ascii_lowercase());
        let matches = origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(&expected));
        if !matches {
            return ApiError::http(
                StatusCode::FORBIDDEN,
                "forbidden",
                "cross-origin requests are refused: only this server's own pages may call it",
            )
            .into_response();
        }
    }
    let path = req.uri().path();
    let mcp = path == "/mcp" || path.starts_with("/mcp/");
    if guard.bearer_ok(headers) || (!mcp && guard.cookie_ok(headers)) {
        return next.run(req).await;
    }
    if !mcp && req.method() == Method::GET {
        if let Some(swap) = swap_token(guard, &req) {
            return swap;
        }
    }
    unauthorized(mcp, path)
}

/// `GET /any?token=…`: a valid token becomes the cookie and the browser is
/// sent to the same address without it; a wrong one is refused.
fn swap_token(guard: &Guard, req: &Request) -> Option<Response> {
    let query = req.uri().query()?;
    let mut given = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((TOKEN_PARAM, value)) => {
                given = Some(value);
                false
            }
            _ => true,
        })
        .collect();
    let given = given?;
    if !same(given.as_bytes(), guard.token.as_bytes()) {
        return None;
    }
    let mut location = req.uri().path().to_string();
    if !rest.is_empty() {
        location.push('?');
        location.push_str(&rest.join("&"));
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let (Ok(location), Ok(cookie)) = (
        HeaderValue::from_str(&location),
        HeaderValue::from_str(&guard.set_cookie()),
    ) {
        headers.insert(header::LOCATION, location);
        headers.insert(header::SET_COOKIE, cookie);
    }
    Some(response)
}

fn unauthorized(mcp: bool, path: &str) -> Response {
    let api = mcp || path.starts_with("/api/");
    if api {
        let message = if mcp {
            "the gateway needs `Authorization: Bearer <token>`; the token is in the data dir's \
             `http-token` file (`switchboard doctor` shows where)"
        } else {
            "this API needs `Authorization: Bearer <token>` (or the dashboard's cookie): \
             the token is in the data dir's `http-token` file"
        };
        return ApiError::http(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    }
    (StatusCode::UNAUTHORIZED, Html(UNAUTHORIZED_PAGE)).into_response()
}

const UNAUTHORIZED_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard: sign-in needed</title>
<meta name="color-scheme" content="light dark"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<h1>This dashboard needs its access token</h1>
<p>Run <code>switchboard open</code> to open it with the token, or use the address that
<code>switchboard serve</code> printed (it ends in <code>?token=…</code>).</p>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::new("ab".repeat(32), SocketAddr::from(([127, 0, 0, 1], 4100)))
    }

    #[test]
    fn hosts_name_this_server_only() {
        let g = guard();
        assert!(g.host_allowed("127.0.0.1:4100"));
        assert!(g.host_allowed("LOCALHOST:4100"));
        assert!(!g.host_allowed("localhost:4101"));
        assert!(!g.host_allowed("evil.example:4100"));
        assert!(!g.host_allowed("10.0.0.5:4100"));
        assert!(!g.host_allowed(""));
        let open = Guard::new("ab".repeat(32), SocketAddr::from(([0, 0, 0, 0], 4100)));
        assert!(open.host_allowed("10.0.0.5:4100"));
        assert!(open.host_allowed("[fe80::1]:4100"));
        assert!(!open.host_allowed("evil.example:4100"));
        assert!(!open.host_allowed("10.0.0.5:4101"));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        let g = guard();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; switchboard-4100=nope"),
        );
        assert!(!g.cookie_ok(&headers));
        let good = format!("a=b; switchboard-4100={}", g.token);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&good).unwrap_or(HeaderValue::from_static("")),
        );
        assert!(g.cookie_ok(&headers));
    }

    #[test]
    fn the_token_is_created_once_and_private() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("temp dir")
        };
        let first = load_or_create_token(dir.path()).map_err(|e| e.to_string());
        let second = load_or_create_token(dir.path()).map_err(|e| e.to_string());
        assert_eq!(first, second);
        assert!(first.as_deref().is_ok_and(valid_token));
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
    }
}
