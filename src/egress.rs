//! The egress proxy: the one way out for a server whose policy allows only
//! some hosts. Such a server runs in a network namespace of its own that
//! holds nothing but loopback; inside it, `egress/forward.rs` listens on
//! loopback and passes every connection to this proxy, on a Unix socket
//! bound into the namespace. The proxy admits HTTP `CONNECT` and plain
//! `http://` requests to the allowed hosts and answers 403 to the rest,
//! noting in the connector's log what it refused and how to allow it.
//!
//! The proxy checks the name the server asked for, so a server never gets
//! past it by naming an address: `127.0.0.1:6379` is refused unless listed.

pub mod forward;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpStream, UnixListener};

/// How long a listener waits after a failed accept.
const ACCEPT_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// Where a refusal is noted: the connector's log.
pub type Notes = Arc<dyn Fn(&str) + Send + Sync>;

/// The hosts a policy allows: `api.github.com` (ports 443 and 80),
/// `api.github.com:8443` (that port only), `*.github.com` (its
/// subdomains), `127.0.0.1:5432` (a port of this machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// The name, lowercase; for `*.example.com`, `.example.com`.
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

/// Ports a rule without one admits: HTTPS and HTTP.
const DEFAULT_PORTS: [u16; 2] = [443, 80];

impl Allowed {
    /// The rules of a policy's host list; an entry that does not parse
    /// admits nothing (the policy's own check refuses it first).
    pub fn new(hosts: &[String]) -> Allowed {
        let rules = hosts.iter().filter_map(|entry| parse_rule(entry)).collect();
        Allowed { rules }
    }

    /// Whether `host:port` may be reached.
    pub fn admits(&self, host: &str, port: u16) -> bool {
        let host = same_machine(host.trim_end_matches('.').to_ascii_lowercase());
        self.rules.iter().any(|rule| {
            let name = if rule.wildcard {
                host.ends_with(&rule.host) && host.len() > rule.host.len()
            } else {
                host == rule.host
            };
            let port_ok = match rule.port {
                Some(p) => p == port,
                None => DEFAULT_PORTS.contains(&port),
            };
            name && port_ok
        })
    }

    /// What the namespace's forwarder listens on, so that a server whose
    /// client knows no proxy still reaches what is listed: a listed port of
    /// this machine (`127.0.0.1:5432`) at the same address; a listed name
    /// (`api.github.com`, ports 443 and 80 unless one is given) at a
    /// loopback address of its own, which the namespace's `/etc/hosts`
    /// gives the name. Each is a `CONNECT` tunnel through the proxy.
    pub fn inside(&self) -> Inside {
        let mut inside = Inside::default();
        for rule in self.rules.iter().filter(|r| !r.wildcard) {
            if let Ok(ip) = rule.host.parse::<std::net::Ipv4Addr>() {
                if let (true, Some(port)) = (ip.is_loopback(), rule.port) {
                    inside.forward(ip, port, &rule.host);
                }
                continue;
            }
            if rule.host.contains(':') || rule.host.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            let ip = match inside.names.iter().find(|(name, _)| *name == rule.host) {
                Some((_, ip)) => *ip,
                None => {
                    let Ok(n) = u8::try_from(inside.names.len() + 1) else {
                        continue;
                    };
                    let ip = std::net::Ipv4Addr::new(127, 0, 100, n);
                    inside.names.push((rule.host.clone(), ip));
                    ip
                }
            };
            let ports = rule.port.map(|p| vec![p]).unwrap_or(DEFAULT_PORTS.to_vec());
            for port in ports {
                inside.forward(ip, port, &rule.host);
            }
        }
        inside
    }

    /// The list as a person wrote it, for messages.
    fn words(&self) -> String {
        self.rules
            .iter()
            .map(|r| {
                let host = if r.wildcard {
                    format!("*{}", r.host)
                } else {
                    r.host.clone()
                };
                match r.port {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Whether `entry` is a host a policy can allow.
pub fn is_rule(entry: &str) -> bool {
    parse_rule(entry).is_some()
}

/// What the forwarder inside a server's namespace does for its listed
/// hosts (`Allowed::inside`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inside {
    /// `LISTEN=HOST:PORT`: where it listens, and what it tunnels to.
    pub forwards: Vec<String>,
    /// Names and the loopback address each is given in `/etc/hosts`.
    pub names: Vec<(String, std::net::Ipv4Addr)>,
}

impl Inside {
    fn forward(&mut self, ip: std::net::Ipv4Addr, port: u16, host: &str) {
        let forward = format!("{ip}:{port}={host}:{port}");
        if !self.forwards.contains(&forward) {
            self.forwards.push(forward);
        }
    }

    /// The namespace's `/etc/hosts`: this machine, and each listed name.
    pub fn hosts_file(&self) -> String {
        let mut text = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
        for (name, ip) in &self.names {
            text.push_str(&format!("{ip}\t{name}\n"));
        }
        text
    }
}

/// `name`, `name:port`, `*.name`, `*.name:port`.
fn parse_rule(entry: &str) -> Option<Rule> {
    let entry = entry.trim().to_ascii_lowercase();
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), Some(port.parse::<u16>().ok()?)),
        None => (entry, None),
    };
    let (host, wildcard) = match host.strip_prefix("*.") {
        Some(rest) => (format!(".{rest}"), true),
        None => (host, false),
    };
    let valid = !host.is_empty()
        && !host.contains('*')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    valid.then_some(Rule {
        host: same_machine(host),
        wildcard,
        port,
    })
}

/// This machine, as rules and requests name it: `localhost` is
/// `127.0.0.1`, so the forwarder's tunnels match either spelling.
const LOOPBACK: &str = "127.0.0.1";

fn same_machine(host: String) -> String {
    if host == "localhost" {
        LOOPBACK.to_string()
    } else {
        host
    }
}

/// A running proxy for one server; dropping it stops the proxy and
/// removes its socket.
#[derive(Debug)]
pub struct EgressProxy {
    socket: PathBuf,
    task: tokio::task::JoinHandle<()>,
    /// The namespace's `/etc/hosts`, written beside the socket.
    hosts: Option<PathBuf>,
}

/// Whom a proxy serves, for its messages.
#[derive(Clone)]
struct Scope {
    connector: Arc<str>,
    allowed: Arc<Allowed>,
    notes: Notes,
}

impl EgressProxy {
    /// Listens on `socket` (replacing a stale one) for `connector`'s
    /// server, admitting what `allowed` lists.
    pub fn start(
        connector: &str,
        allowed: Allowed,
        socket: PathBuf,
        notes: Notes,
    ) -> std::io::Result<EgressProxy> {
        if let Some(dir) = socket.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)?;
        let scope = Scope {
            connector: connector.into(),
            allowed: Arc::new(allowed),
            notes,
        };
        let task = tokio::spawn(serve(listener, scope));
        Ok(EgressProxy {
            socket,
            task,
            hosts: None,
        })
    }

    /// Writes the namespace's `/etc/hosts` (`Inside::hosts_file`) beside
    /// the socket, removed with the proxy; returns its path.
    pub fn write_hosts(&mut self, text: &str) -> std::io::Result<PathBuf> {
        let path = self.socket.with_extension("hosts");
        std::fs::write(&path, text)?;
        self.hosts = Some(path.clone());
        Ok(path)
    }

    /// The socket the namespace's forwarder connects to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for EgressProxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
        if let Some(hosts) = &self.hosts {
            let _ = std::fs::remove_file(hosts);
        }
    }
}

async fn serve(listener: UnixListener, scope: Scope) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(ACCEPT_PAUSE).await;
            continue;
        };
        let scope = scope.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let scope = scope.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(req, &scope).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// One request: a tunnel, a plain HTTP request passed on, or a refusal.
async fn handle(req: Request<hyper::body::Incoming>, scope: &Scope) -> Response<Body> {
    let target = req.uri().authority().map(|a| {
        let default = if req.method() == Method::CONNECT {
            443
        } else {
            80
        };
        (a.host().to_string(), a.port_u16().unwrap_or(default))
    });
    let Some((host, port)) = target else {
        return answer(
            StatusCode::BAD_REQUEST,
            "this is switchboard's egress proxy: send CONNECT host:port or an absolute http:// URL"
                .into(),
        );
    };
    if !scope.allowed.admits(&host, port) {
        let message = format!(
            "egress: refused {host}:{port} for `{c}`: its policy allows only {list}; to allow it, \
             run `switchboard policy {c} --network {list},{host}`",
            c = scope.connector,
            list = scope.allowed.words(),
        );
        tracing::warn!(connector = %scope.connector, "{message}");
        (scope.notes)(&message);
        return answer(StatusCode::FORBIDDEN, message);
    }
    // A container's names for this machine are ours to resolve.
    let reach = match host.as_str() {
        "host.docker.internal" | "host.containers.internal" => LOOPBACK,
        other => other,
    };
    let upstream = match TcpStream::connect((reach, port)).await {
        Ok(stream) => stream,
        Err(err) => {
            return answer(
                StatusCode::BAD_GATEWAY,
                format!("egress: cannot reach {host}:{port}: {err}"),
            )
        }
    };
    if req.method() == Method::CONNECT {
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                let mut upgraded = TokioIo::new(upgraded);
                let mut upstream = upstream;
                let _ = tokio::io::copy_bidirectional(&mut upgraded, &mut upstream).await;
            }
        });
        return Response::new(Body::empty());
    }
    pass_on(req, upstream).await
}

/// A plain HTTP request, sent on in origin form over its own connection.
async fn pass_on(mut req: Request<hyper::body::Incoming>, upstream: TcpStream) -> Response<Body> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    match path.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return answer(StatusCode::BAD_REQUEST, "egress: a bad request path".into()),
    }
    req.headers_mut().remove("proxy-connection");
    req.headers_mut().remove("proxy-authorization");
    let (mut sender, conn) =
        match hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await {
            Ok(pair) => pair,
            Err(err) => return answer(StatusCode::BAD_GATEWAY, format!("egress: {err}")),
        };
    tokio::spawn(conn);
    match sender.send_request(req).await {
        Ok(response) => response.map(Body::new),
        Err(err) => answer(StatusCode::BAD_GATEWAY, format!("egress: {err}")),
    }
}

fn answer(status: StatusCode, message: String) -> Response<Body> {
    let mut response = Response::new(Body::from(format!("{message}\n")));
    *response.status_mut() = status;
    response
}

/// The variables that point a server's HTTP clients at the forwarder
/// inside its namespace (both spellings; Node reads them only when told
/// to, from version 22.21 and 24.5).
pub fn proxy_env(port: u16) -> Vec<(String, String)> {
    let url = format!("http://127.0.0.1:{port}");
    let mut env = Vec::new();
    for name in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
        env.push((name.to_string(), url.clone()));
    }
    for name in ["NO_PROXY", "no_proxy"] {
        env.push((name.to_string(), "localhost,127.0.0.1".to_string()));
    }
    env.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_admit_names_ports_and_subdomains_only() {
        let allowed = Allowed::new(&[
            "api.github.com".into(),
            "*.example.org".into(),
            "localhost:5432".into(),
            "127.0.0.2:8080".into(),
            "bad host".into(),
        ]);
        assert!(allowed.admits("api.github.com", 443));
        assert!(allowed.admits("API.GitHub.com.", 80));
        assert!(!allowed.admits("api.github.com", 22));
        assert!(!allowed.admits("evil-api.github.com", 443));
        assert!(allowed.admits("a.b.example.org", 443));
        assert!(!allowed.admits("example.org", 443));
        assert!(!allowed.admits("badexample.org", 443));
        assert!(allowed.admits("127.0.0.1", 5432));
        assert!(allowed.admits("localhost", 5432));
        assert!(!allowed.admits("127.0.0.1", 6379));
        assert!(!allowed.admits("127.0.0.2", 5432));
        assert!(!allowed.admits("bad host", 443));
        let inside = allowed.inside();
        assert_eq!(
            inside.forwards,
            vec![
                "127.0.100.1:443=api.github.com:443",
                "127.0.100.1:80=api.github.com:80",
                "127.0.0.1:5432=127.0.0.1:5432",
                "127.0.0.2:8080=127.0.0.2:8080",
            ]
        );
        assert!(inside
            .hosts_file()
            .contains("127.0.100.1\tapi.github.com\n"));
        assert_eq!(
            allowed.words(),
            "api.github.com,*.example.org,127.0.0.1:5432,127.0.0.2:8080"
        );
    }
}
