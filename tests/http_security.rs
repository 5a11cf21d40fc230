//! Who may talk to the HTTP server: the bearer token (missing, wrong,
//! right), the one-time `?token=` swapped for an HttpOnly SameSite=Strict
//! cookie, Host checks against DNS rebinding, Origin checks and no CORS;
//! the token file and `http.json`; a port in use; remote binding only with
//! `allow_remote`; and no OAuth token of a signed-in remote connector in
//! an API answer or on the event stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod http_support;
mod oauth_support;

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;

use http_support::{assert_error, send, Server};
use reqwest::header::{HOST, ORIGIN};
use reqwest::{Method, StatusCode};
use switchboard::gateway::{Gateway, GatewayOptions};
use switchboard::http::{read_endpoint, read_endpoint_file, HttpHandle, HttpOptions};
use switchboard::{ConnectorService, Paths, ServiceOptions};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_needs_the_token() {
    let server = Server::start().await;
    let list = server.url("/api/v1/connectors");

    let missing = send(server.bare.get(&list)).await;
    assert_error(&missing, StatusCode::UNAUTHORIZED, "unauthorized");
    let response = server.bare.get(&list).send().await.unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"switchboard\""
    );
    let wrong = send(server.bare.get(&list).bearer_auth("0".repeat(64))).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");
    let right = send(server.bare.get(&list).bearer_auth(server.handle.token())).await;
    assert_eq!(right.0, StatusCode::OK);
    // The document and the page are behind the token too.
    for path in [
        "/api/v1/openapi.json",
        "/api/v1/events",
        "/assets/app.js",
        "/mcp",
    ] {
        let status = server
            .bare
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let page = server.bare.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.text().await.unwrap().contains("switchboard open"));
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_token_becomes_a_strict_httponly_cookie() {
    let server = Server::start().await;
    let token = server.handle.token().to_string();
    assert_eq!(
        server.handle.dashboard_url(),
        format!("{}?token={token}", server.handle.url())
    );

    let swap = server
        .bare
        .get(server.url(&format!("/?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(swap.status(), StatusCode::SEE_OTHER);
    assert_eq!(swap.headers()["location"], "/");
    let cookie = swap.headers()["set-cookie"].to_str().unwrap().to_string();
    let name = format!("switchboard-{}", server.port());
    assert!(cookie.starts_with(&format!("{name}={token};")), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    // Other query parameters survive the swap.
    let kept = server
        .bare
        .get(server.url(&format!("/?view=tools&token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["location"], "/?view=tools");

    let with_cookie = |path: &str| {
        server
            .bare
            .get(server.url(path))
            .header("cookie", format!("{name}={token}"))
    };
    let page = with_cookie("/").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.text().await.unwrap().contains("/assets/app.js"));
    assert_eq!(
        with_cookie("/assets/app.js").send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        with_cookie("/api/v1/connectors")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // The gateway takes only the bearer header, never the cookie.
    let mcp = with_cookie("/mcp").send().await.unwrap();
    assert_eq!(mcp.status(), StatusCode::UNAUTHORIZED);
    // A cookie for another port, or a wrong token, is no good.
    let other = server
        .bare
        .get(server.url("/api/v1/connectors"))
        .header("cookie", format!("switchboard-1={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    let wrong = server
        .bare
        .get(server.url("/?token=nottheone"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_origin_must_name_this_server() {
    let server = Server::start().await;
    let port = server.port();
    let list = server.url("/api/v1/connectors");

    // DNS rebinding: a page on evil.example resolved to 127.0.0.1.
    let rebound = send(
        server
            .client
            .get(&list)
            .header(HOST, format!("evil.example:{port}")),
    )
    .await;
    assert_error(&rebound, StatusCode::FORBIDDEN, "forbidden");
    let other_port = send(
        server
            .client
            .get(&list)
            .header(HOST, format!("127.0.0.1:{}", port + 1)),
    )
    .await;
    assert_error(&other_port, StatusCode::FORBIDDEN, "forbidden");
    let localhost = send(
        server
            .client
            .get(&list)
            .header(HOST, format!("localhost:{port}")),
    )
    .await;
    assert_eq!(localhost.0, StatusCode::OK);
    let mcp_rebound = server
        .client
        .post(server.url("/mcp"))
        .header(HOST, format!("evil.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(mcp_rebound.status(), StatusCode::FORBIDDEN);

    // Origin: same origin passes, any other is refused, even with the token.
    let same = send(
        server
            .client
            .get(&list)
            .header(ORIGIN, format!("http://127.0.0.1:{port}")),
    )
    .await;
    assert_eq!(same.0, StatusCode::OK);
    let foreign = send(
        server
            .client
            .get(&list)
            .header(ORIGIN, "https://evil.example"),
    )
    .await;
    assert_error(&foreign, StatusCode::FORBIDDEN, "forbidden");
    let null = send(server.client.get(&list).header(ORIGIN, "null")).await;
    assert_error(&null, StatusCode::FORBIDDEN, "forbidden");

    // No CORS: a preflight from elsewhere is refused and nothing allows it.
    let preflight = server
        .bare
        .request(Method::OPTIONS, &list)
        .header(ORIGIN, "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let plain = server.client.get(&list).send().await.unwrap();
    assert!(plain.headers().get("access-control-allow-origin").is_none());
    assert_eq!(plain.headers()["x-content-type-options"], "nosniff");
    assert_eq!(plain.headers()["cache-control"], "no-store");
    server.close().await;
}

/// A service and its HTTP server in `paths`, without the test client.
async fn start_at(
    paths: &Paths,
    options: HttpOptions,
) -> (ConnectorService, Gateway, HttpHandle, CancellationToken) {
    let service = ConnectorService::start(paths.clone(), ServiceOptions::default())
        .await
        .unwrap();
    let gateway = Gateway::new(service.clone(), GatewayOptions::default());
    let stop = CancellationToken::new();
    let handle = switchboard::http::serve(service.clone(), gateway.clone(), options, stop.clone())
        .await
        .unwrap();
    (service, gateway, handle, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_and_endpoint_files_are_kept_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::in_dir(dir.path());
    let (service, _, handle, stop) = start_at(&paths, HttpOptions::default()).await;
    let token = handle.token().to_string();
    let mode = std::fs::metadata(paths.home.join("http-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        read_endpoint(&paths),
        Some((handle.url().to_string(), token.clone()))
    );
    let endpoint = read_endpoint_file(&paths).unwrap();
    assert_eq!(endpoint.port, handle.local_addr().port());
    assert_eq!(endpoint.mcp_url, handle.mcp_url());
    assert_eq!(endpoint.pid, std::process::id());
    let text = std::fs::read_to_string(paths.home.join("http.json")).unwrap();
    assert!(!text.contains(&token), "the token stays in its own file");
    stop.cancel();
    handle.stopped().await;
    service.shutdown().await;
    assert_eq!(read_endpoint(&paths), None, "http.json is removed at stop");

    // A restart in the same data dir reuses the token.
    let (service, _, handle, stop) = start_at(&paths, HttpOptions::default()).await;
    assert_eq!(handle.token(), token);
    stop.cancel();
    handle.stopped().await;
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_and_a_remote_address_are_refused_clearly() {
    let server = Server::start().await;
    let taken = HttpOptions {
        port: Some(server.port()),
        ..HttpOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let service = ConnectorService::start(Paths::in_dir(dir.path()), ServiceOptions::default())
        .await
        .unwrap();
    let gateway = Gateway::new(service.clone(), GatewayOptions::default());
    let stop = CancellationToken::new();
    let err = switchboard::http::serve(service.clone(), gateway.clone(), taken, stop.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), switchboard::ErrorCode::PortInUse);
    assert_eq!(err.code().exit_code(), 15);
    let message = err.to_string();
    assert!(
        message.contains(&format!("port {} is already in use", server.port())),
        "{message}"
    );
    assert!(message.contains("--port"), "{message}");

    // The same from the command line: its own exit code and one clear line.
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--port", &server.port().to_string()])
        .env("SWITCHBOARD_HOME", dir.path().join("home"))
        .env("SWITCHBOARD_SETTINGS", dir.path().join("settings.json"))
        .env("SWITCHBOARD_SECRET_STORE", "file")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(15), "{stderr}");
    assert!(
        stderr.contains(&format!("port {} is already in use", server.port())),
        "{stderr}"
    );

    let remote = HttpOptions {
        port: Some(0),
        bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        allow_remote: false,
        announce: false,
    };
    let err = switchboard::http::serve(
        service.clone(),
        gateway.clone(),
        remote.clone(),
        stop.clone(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("--allow-remote"), "{err}");

    let allowed = HttpOptions {
        allow_remote: true,
        ..remote
    };
    let open = switchboard::http::serve(service.clone(), gateway, allowed, stop.clone())
        .await
        .unwrap();
    assert!(open.warning().unwrap().contains("other machines"));
    assert!(open.url().starts_with("http://127.0.0.1:"));
    let port = open.local_addr().port();
    let client = reqwest::Client::new();
    let by_ip = client
        .get(format!("http://127.0.0.1:{port}/api/v1/connectors"))
        .bearer_auth(open.token())
        .header(HOST, format!("192.0.2.7:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_ip.status(),
        StatusCode::OK,
        "an IP literal cannot be rebound"
    );
    let by_name = client
        .get(format!("http://127.0.0.1:{port}/api/v1/connectors"))
        .bearer_auth(open.token())
        .header(HOST, format!("evil.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.status(), StatusCode::FORBIDDEN);
    stop.cancel();
    open.stopped().await;
    service.shutdown().await;
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_comes_from_settings_when_not_given() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = http_support::Server::start_with_settings(serde_json::json!({
        "codebuddy.http.port": free
    }))
    .await;
    assert_eq!(server.port(), free);
    assert_eq!(server.handle.url(), format!("http://127.0.0.1:{free}/"));
    server.close().await;
}

/// Signs in from the API (the dashboard's way) to the real OAuth peer,
/// calls through a refresh, steps up and signs out, keeping every answer
/// and every event; no token the peer issued or was shown is in any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_tokens_never_reach_api_answers_or_the_event_stream() {
    use http_support::SseReader;
    use serde_json::{json, Value};
    let peer = oauth_support::OAuthPeer::start(4, "");
    let server = Server::start().await;
    let mut seen: Vec<(String, Value)> = Vec::new();
    let mut keep = |what: &str, answer: (StatusCode, Value)| {
        seen.push((what.to_string(), answer.1.clone()));
        answer
    };
    let mut events = SseReader::new(
        server
            .client
            .get(server.url("/api/v1/events"))
            .send()
            .await
            .unwrap(),
    );
    let mut stream: Vec<Value> = Vec::new();
    let follow = |url: String| tokio::task::spawn_blocking(move || oauth_support::follow(&url));

    keep(
        "add",
        server
            .send(
                Method::POST,
                "/api/v1/connectors",
                Some(json!({"name": "tracker", "url": peer.mcp})),
            )
            .await,
    );
    keep(
        "connect",
        server
            .send(Method::POST, "/api/v1/connectors/tracker/connect", None)
            .await,
    );
    let started = keep(
        "login",
        server
            .send(Method::POST, "/api/v1/connectors/tracker/login", None)
            .await,
    );
    follow(started.1["url"].as_str().unwrap().to_string())
        .await
        .unwrap();
    loop {
        let event = events.next().await;
        stream.push(event.data.clone());
        if event.event == "status" && event.data["new"] == "connected" {
            break;
        }
    }
    let call = |tool: &'static str, args: Value| {
        let path = format!("/api/v1/connectors/tracker/tools/{tool}/call");
        let server = &server;
        async move {
            server
                .send(Method::POST, &path, Some(json!({ "arguments": args })))
                .await
        }
    };
    let answer = keep("whoami", call("whoami", json!({})).await);
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    // Past the 4 s token: a refresh, and a rotated refresh token.
    let deadline = std::time::Instant::now() + http_support::DEADLINE;
    loop {
        let (_, info) = server.get("/api/v1/connectors/tracker").await;
        if info["auth"]["expires_in_secs"].as_u64() == Some(0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let answer = keep("echo", call("echo", json!({"text": "again"})).await);
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    assert!(peer.stats()["refreshes"].as_u64().unwrap() >= 1);
    keep("admin-op", call("admin-op", json!({})).await);
    for path in [
        "/api/v1/connectors",
        "/api/v1/connectors/tracker",
        "/api/v1/connectors/tracker/config",
        "/api/v1/connectors/tracker/tools",
        "/api/v1/connectors/tracker/logs?lines=1000",
    ] {
        keep(path, server.get(path).await);
    }
    let out = keep(
        "logout",
        server
            .send(Method::POST, "/api/v1/connectors/tracker/logout", None)
            .await,
    );
    assert_eq!(out.0, StatusCode::OK, "{}", out.1);
    loop {
        let event = events.next().await;
        stream.push(event.data.clone());
        if event.event == "status" && event.data["new"] == "configuring" {
            break;
        }
    }
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap()
        .stdout;

    let tokens = peer.all_tokens();
    assert!(!peer.tokens_seen().is_empty() && peer.refresh_tokens().len() >= 2);
    let mut places: Vec<(String, String)> = seen
        .iter()
        .map(|(what, body)| (what.clone(), body.to_string()))
        .collect();
    places.push(("/api/v1/events".into(), Value::from(stream).to_string()));
    places.push(("ps".into(), String::from_utf8_lossy(&ps).into_owned()));
    for (place, text) in &places {
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "an OAuth token leaked into {place}"
            );
        }
    }
    server.close().await;
}
