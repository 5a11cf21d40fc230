//! The dashboard's "Sign in" and "Sign out" over the HTTP API, against the
//! real OAuth peer (`oidc-provider` in front of the TypeScript SDK's MCP
//! server with bearer auth): a connect that needs a sign-in answers 409 and
//! waits in `configuring`; `POST …/login` answers with the authorization
//! page and "waiting for sign-in at URL"; a browser that follows the page
//! brings the connector to `connected` (seen on the event stream) with its
//! `auth` object; `POST …/logout` revokes at the server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod http_support;
mod oauth_support;

use http_support::{assert_error, Server, SseReader};
use oauth_support::OAuthPeer;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Follows an authorization page as a browser would, off the async runtime.
async fn follow(url: &str) {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || oauth_support::follow(&url))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_from_the_api_connects_and_sign_out_revokes() {
    let peer = OAuthPeer::start(3600, "");
    let server = Server::start().await;
    let (status, _) = server
        .send(
            Method::POST,
            "/api/v1/connectors",
            Some(json!({"name": "tracker", "url": peer.mcp})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut events = SseReader::new(
        server
            .client
            .get(server.url("/api/v1/events"))
            .send()
            .await
            .unwrap(),
    );

    // A connect from the API never opens a browser: it waits for a sign-in.
    let connect = server
        .send(Method::POST, "/api/v1/connectors/tracker/connect", None)
        .await;
    assert_error(&connect, StatusCode::CONFLICT, "sign_in_required");
    let (_, info) = server.get("/api/v1/connectors/tracker").await;
    assert_eq!(info["status"], "configuring", "{info}");
    assert_eq!(info["auth"]["signed_in"], false, "{info}");

    // "Sign in": the page to open, and the connector waiting for it.
    let (status, started) = server
        .send(Method::POST, "/api/v1/connectors/tracker/login", None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let url = started["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/auth?", peer.issuer)), "{url}");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert_eq!(started["connector"]["status"], "configuring", "{started}");
    assert_eq!(
        started["connector"]["error"],
        format!("waiting for sign-in at {url}"),
        "{started}"
    );
    assert_eq!(
        started["connector"]["auth"]["signing_in"], true,
        "{started}"
    );
    assert_eq!(peer.stats()["authorizations"], 0);

    // The person opens it; the connector connects by itself.
    follow(&url).await;
    let connected = events
        .next_matching(|e| {
            e.event == "status" && e.data["connector"] == "tracker" && e.data["new"] == "connected"
        })
        .await;
    assert_eq!(connected.data["old"], "configuring");
    let (_, info) = server.get("/api/v1/connectors/tracker").await;
    assert_eq!(info["status"], "connected", "{info}");
    let auth = &info["auth"];
    assert_eq!(auth["signed_in"], true, "{info}");
    assert_eq!(auth["signing_in"], false, "{info}");
    assert_eq!(auth["issuer"], peer.issuer.as_str(), "{info}");
    assert!(auth["scopes"].to_string().contains("mcp"), "{info}");
    let left = auth["expires_in_secs"].as_u64().unwrap();
    assert!(left > 0 && left <= 3600, "{info}");
    let (status, out) = server
        .send(
            Method::POST,
            "/api/v1/connectors/tracker/tools/echo/call",
            Some(json!({"arguments": {"text": "signed"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["content"][0]["text"], "signed");
    assert_eq!(peer.stats()["authorizations"], 1);

    // A call the server refuses for want of scopes says what to do.
    let refused = server
        .send(
            Method::POST,
            "/api/v1/connectors/tracker/tools/admin-op/call",
            Some(json!({})),
        )
        .await;
    assert_error(&refused, StatusCode::CONFLICT, "sign_in_required");
    let message = refused.1["message"].as_str().unwrap();
    assert!(
        message.contains("switchboard login tracker --scope mcp --scope admin"),
        "{message}"
    );

    // Sign in again while connected (other scopes): it keeps running on
    // the old sign-in until the new one is stored.
    let (status, again) = server
        .send(
            Method::POST,
            "/api/v1/connectors/tracker/login",
            Some(json!({"scopes": ["mcp", "admin"]})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["connector"]["status"], "connected", "{again}");
    let url = again["url"].as_str().unwrap().to_string();
    assert!(
        url.contains("scope=mcp+admin") || url.contains("scope=mcp%20admin"),
        "{url}"
    );
    follow(&url).await;
    let deadline = std::time::Instant::now() + http_support::DEADLINE;
    loop {
        let (_, info) = server.get("/api/v1/connectors/tracker").await;
        if info["auth"]["scopes"].to_string().contains("admin") {
            assert_eq!(info["status"], "connected", "{info}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, out) = server
        .send(
            Method::POST,
            "/api/v1/connectors/tracker/tools/admin-op/call",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["content"][0]["text"], "admin done");

    // "Sign out": revoked at the server, deleted here, waiting for a sign-in.
    let before = peer.stats()["revocations"].as_u64().unwrap();
    let (status, out) = server
        .send(Method::POST, "/api/v1/connectors/tracker/logout", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["revoked"], "revoked", "{out}");
    assert_eq!(out["connector"]["status"], "configuring", "{out}");
    assert_eq!(out["connector"]["auth"]["signed_in"], false, "{out}");
    assert!(peer.stats()["revocations"].as_u64().unwrap() > before);
    // Nothing left to revoke: said so, no error.
    let (status, out) = server
        .send(Method::POST, "/api/v1/connectors/tracker/logout", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(out.get("revoked").is_none(), "{out}");
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_what_it_cannot_use() {
    let server = Server::start().await;
    assert_error(
        &server
            .send(Method::POST, "/api/v1/connectors/nosuch/login", None)
            .await,
        StatusCode::NOT_FOUND,
        "unknown_connector",
    );
    assert_error(
        &server
            .send(Method::POST, "/api/v1/connectors/nosuch/logout", None)
            .await,
        StatusCode::NOT_FOUND,
        "unknown_connector",
    );
    // A server run from an image has nothing to sign in to.
    let got = server
        .send(Method::POST, "/api/v1/connectors/github/login", None)
        .await;
    assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert!(got.1["message"]
        .as_str()
        .unwrap()
        .contains("not a remote server"));
    // Scopes are single scope-tokens: nothing can be smuggled into the URL.
    let (status, _) = server
        .send(
            Method::POST,
            "/api/v1/connectors",
            Some(json!({"name": "remote", "url": "http://127.0.0.1:9/mcp"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for scopes in [json!(["a b"]), json!(["x&resource=evil"]), json!([""])] {
        let got = server
            .send(
                Method::POST,
                "/api/v1/connectors/remote/login",
                Some(json!({ "scopes": scopes })),
            )
            .await;
        if scopes == json!(["x&resource=evil"]) {
            // `&` is a scope character (RFC 6749); it is encoded, not a
            // parameter: the failure is the dead server's.
            assert_eq!(got.1["code"], "sign_in_failed", "{}", got.1);
        } else {
            assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
        }
    }
    assert_error(
        &server
            .send(
                Method::POST,
                "/api/v1/connectors/remote/login",
                Some(json!({"scope": ["mcp"]})),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    );
    // A server that is not there: a clear failure, and nothing stored.
    let got = server
        .send(Method::POST, "/api/v1/connectors/remote/login", None)
        .await;
    assert_error(&got, StatusCode::BAD_GATEWAY, "sign_in_failed");
    let (_, info) = server.get("/api/v1/connectors/remote").await;
    assert_ne!(info["auth"]["signed_in"], true, "{info}");
    server.close().await;
}

/// The document describes both operations, with their bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_has_login_and_logout() {
    let server = Server::start().await;
    let (status, doc) = server.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let login = &doc["paths"]["/api/v1/connectors/{name}/login"]["post"];
    assert!(login["responses"]["202"].is_object(), "{login}");
    assert_eq!(
        login["responses"]["202"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SignInStarted"
    );
    let logout = &doc["paths"]["/api/v1/connectors/{name}/logout"]["post"];
    assert_eq!(
        logout["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SignedOut"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "LoginRequest",
        "SignInStarted",
        "SignedOut",
        "Revoked",
        "AuthStatus",
    ] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
    server.close().await;
}
