//! The gateway over Streamable HTTP at `/mcp`: a real rmcp client with the
//! bearer token sees and calls the tools of a connected connector; each
//! client gets its own session; no token, the dashboard's cookie, or a
//! foreign Host is refused before MCP is spoken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use http_support::Server;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HOST};
use reqwest::StatusCode;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::json;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_with_the_token_uses_the_gateway() {
    let server = Server::start().await;
    server.connect_everything("ev").await;

    let config = StreamableHttpClientTransportConfig::with_uri(server.handle.mcp_url())
        .auth_header(server.handle.token());
    let client =
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .expect("initialize over Streamable HTTP");
    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "switchboard");
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(names.contains(&"ev__echo"), "{names:?}");
    let mut params = CallToolRequestParams::new("ev__echo".to_string());
    params.arguments = json!({"message": "via /mcp"}).as_object().cloned();
    let result = client.call_tool(params).await.unwrap();
    let value = serde_json::to_value(&result).unwrap();
    assert_eq!(value["content"][0]["text"], "Echo: via /mcp");
    client.cancel().await.unwrap();
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_gets_its_own_session_and_strangers_get_none() {
    let server = Server::start().await;
    let initialize = |client: &reqwest::Client| {
        client
            .post(server.handle.mcp_url())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(INITIALIZE)
    };
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let response = initialize(&server.client).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(!session.is_empty());
        sessions.push(session);
    }
    assert_ne!(sessions[0], sessions[1]);

    let anonymous = initialize(&server.bare).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().get("mcp-session-id").is_none());
    let cookie = format!("switchboard-{}={}", server.port(), server.handle.token());
    let with_cookie = initialize(&server.bare)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), StatusCode::UNAUTHORIZED);
    let rebound = initialize(&server.client)
        .header(HOST, format!("evil.example:{}", server.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    let foreign = initialize(&server.client)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    server.close().await;
}
