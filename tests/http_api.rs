//! The REST API against a real service with server-everything behind it:
//! every route, its success and its documented failures (unknown
//! connector, bad JSON, invalid name, not connected…), each with its
//! stable `code`; and the OpenAPI document that describes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use http_support::{assert_error, server_everything, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_can_be_listed_added_connected_called_and_removed() {
    let server = Server::start().await;

    // list and get
    let (status, list) = server.get("/api/v1/connectors").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"github"), "{names:?}");
    let (status, github) = server.get("/api/v1/connectors/github").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(github["status"], "disconnected");
    assert_eq!(github["type"], "mcp");
    assert_error(
        &server.get("/api/v1/connectors/nope").await,
        StatusCode::NOT_FOUND,
        "unknown_connector",
    );

    // add: created, with Location; taken; bad name; bad JSON; wrong type
    let body = json!({"name": "ev", "command": "node", "args": [server_everything(), "stdio"]});
    let response = server
        .request(Method::POST, "/api/v1/connectors")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["location"], "/api/v1/connectors/ev");
    let added: Value = response.json().await.unwrap();
    assert_eq!(
        (
            added["name"].as_str(),
            added["builtin"].as_bool(),
            added["backend"].as_str()
        ),
        (Some("ev"), Some(false), Some("command node"))
    );
    assert_error(
        &server
            .send(Method::POST, "/api/v1/connectors", Some(body))
            .await,
        StatusCode::CONFLICT,
        "already_exists",
    );
    assert_error(
        &server
            .send(
                Method::POST,
                "/api/v1/connectors",
                Some(json!({"name": "Not Valid", "command": "node"})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    assert_error(
        &server
            .send(
                Method::POST,
                "/api/v1/connectors",
                Some(json!({"name": "two", "command": "node", "url": "http://127.0.0.1:1/mcp"})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    assert_error(
        &server
            .send(
                Method::POST,
                "/api/v1/connectors",
                Some(json!({"name": "leak", "command": "x", "env": ["API_TOKEN=abc"]})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    let bad_json = server
        .request(Method::POST, "/api/v1/connectors")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_json.json::<Value>().await.unwrap()["code"],
        "invalid_input"
    );
    let unknown_field = server
        .send(
            Method::POST,
            "/api/v1/connectors",
            Some(json!({"name": "x", "command": "node", "colour": "red"})),
        )
        .await;
    assert_error(&unknown_field, StatusCode::BAD_REQUEST, "invalid_input");
    let form = server
        .request(Method::POST, "/api/v1/connectors")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x&command=node")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // not connected yet
    assert_error(
        &server.get("/api/v1/connectors/ev/tools").await,
        StatusCode::CONFLICT,
        "not_connected",
    );
    assert_error(
        &server
            .send(Method::POST, "/api/v1/connectors/ev/tools/echo/call", None)
            .await,
        StatusCode::CONFLICT,
        "not_connected",
    );

    // connect (no body, and a body with a bad timeout)
    assert_error(
        &server
            .send(
                Method::POST,
                "/api/v1/connectors/ev/connect",
                Some(json!({"timeout_secs": 0})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    let (status, info) = server
        .send(Method::POST, "/api/v1/connectors/ev/connect", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["status"], "connected");
    assert!(info["pid"].as_u64().is_some(), "{info}");
    assert_error(
        &server
            .send(Method::POST, "/api/v1/connectors/nope/connect", None)
            .await,
        StatusCode::NOT_FOUND,
        "unknown_connector",
    );

    // tools and a call
    let (status, tools) = server.get("/api/v1/connectors/ev/tools").await;
    assert_eq!(status, StatusCode::OK);
    let echo = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "echo")
        .expect("echo is listed");
    assert_eq!(echo["inputSchema"]["type"], "object");
    assert_eq!(tools["disabled"], json!([]));
    let (status, result) = server
        .send(
            Method::POST,
            "/api/v1/connectors/ev/tools/echo/call",
            Some(json!({"arguments": {"message": "over HTTP"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["content"][0]["text"], "Echo: over HTTP");
    assert!(
        !result
            .get("isError")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        "{result}"
    );
    assert_error(
        &server
            .send(Method::POST, "/api/v1/connectors/ev/tools/nope/call", None)
            .await,
        StatusCode::NOT_FOUND,
        "unknown_tool",
    );
    assert_error(
        &server
            .send(
                Method::POST,
                "/api/v1/connectors/ev/tools/echo/call",
                Some(json!({"arguments": [1, 2]})),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    );

    // logs
    let (status, logs) = server.get("/api/v1/connectors/ev/logs?lines=50").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(logs["connector"], "ev");
    let lines: Vec<&str> = logs["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("configuring -> connected")),
        "{lines:?}"
    );
    let (_, two) = server.get("/api/v1/connectors/ev/logs?lines=2").await;
    assert_eq!(two["lines"].as_array().unwrap().len(), 2);
    assert_error(
        &server.get("/api/v1/connectors/ev/logs?lines=99999").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    assert_error(
        &server.get("/api/v1/connectors/ev/logs?lines=many").await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    );
    assert_error(
        &server.get("/api/v1/connectors/nope/logs").await,
        StatusCode::NOT_FOUND,
        "unknown_connector",
    );

    // restart: a new process, said in the answer
    let before = server.get("/api/v1/connectors/ev").await.1["pid"].as_u64();
    let (status, info) = server
        .send(Method::POST, "/api/v1/connectors/ev/restart", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["status"], "connected");
    assert!(info["restarted"].is_string(), "{info}");
    assert_ne!(info["pid"].as_u64(), before, "{info}");

    // policy: shown in words, changed (restarting it), a host that is not
    // one refused
    let (status, policy) = server.get("/api/v1/connectors/ev/policy").await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert!(
        policy["described"]
            .as_str()
            .unwrap()
            .contains("memory 512 MB"),
        "{policy}"
    );
    let change = serde_json::json!({"memory": "1g"});
    let (status, policy) = server
        .send(Method::PUT, "/api/v1/connectors/ev/policy", Some(change))
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(policy["policy"]["memory"], "1g", "{policy}");
    assert!(policy["restarted"].is_string(), "{policy}");
    assert_error(
        &server
            .send(
                Method::PUT,
                "/api/v1/connectors/ev/policy",
                Some(serde_json::json!({"network": "api.github.com:https"})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );

    // disconnect and remove
    let (status, info) = server
        .send(Method::POST, "/api/v1/connectors/ev/disconnect", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["status"], "disconnected");
    assert_error(
        &server
            .send(Method::POST, "/api/v1/connectors/ev/restart", None)
            .await,
        StatusCode::CONFLICT,
        "not_connected",
    );
    let (status, _) = server
        .send(Method::DELETE, "/api/v1/connectors/ev", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &server.get("/api/v1/connectors/ev").await,
        StatusCode::NOT_FOUND,
        "unknown_connector",
    );
    assert_error(
        &server
            .send(Method::DELETE, "/api/v1/connectors/github", None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );

    // routes and methods that do not exist
    assert_error(
        &server.get("/api/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &server.send(Method::PATCH, "/api/v1/connectors", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_fields_are_set_and_secrets_never_come_back() {
    let server = Server::start().await;
    let (status, fields) = server.get("/api/v1/connectors/github/config").await;
    assert_eq!(status, StatusCode::OK, "{fields}");
    let token = &fields[0];
    assert_eq!(token["name"], "GITHUB_PERSONAL_ACCESS_TOKEN");
    assert_eq!(
        (token["secret"].as_bool(), token["set"].as_bool()),
        (Some(true), Some(false))
    );

    let secret = "ghp_examplevalue0123456789";
    let (status, info) = server
        .send(
            Method::PUT,
            "/api/v1/connectors/github/config",
            Some(json!({"values": {"GITHUB_PERSONAL_ACCESS_TOKEN": secret}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert!(!info.to_string().contains(secret));
    let (_, fields) = server.get("/api/v1/connectors/github/config").await;
    assert_eq!(fields[0]["set"], true);
    assert!(fields[0].get("value").is_none(), "{fields}");
    assert!(!fields.to_string().contains(secret));

    assert_error(
        &server
            .send(
                Method::PUT,
                "/api/v1/connectors/github/config",
                Some(json!({"values": {"NOT_A_FIELD": "x"}})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    assert_error(
        &server
            .send(
                Method::PUT,
                "/api/v1/connectors/nope/config",
                Some(json!({"values": {}})),
            )
            .await,
        StatusCode::NOT_FOUND,
        "unknown_connector",
    );
    assert_error(
        &server
            .send(
                Method::DELETE,
                "/api/v1/connectors/github/config/NOT_A_FIELD",
                None,
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    );
    let (status, _) = server
        .send(
            Method::DELETE,
            "/api/v1/connectors/github/config/GITHUB_PERSONAL_ACCESS_TOKEN",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, fields) = server.get("/api/v1/connectors/github/config").await;
    assert_eq!(fields[0]["set"], false);
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_cannot_start_is_a_502_and_the_connector_shows_why() {
    let server = Server::start().await;
    let (status, _) = server
        .send(
            Method::POST,
            "/api/v1/connectors",
            Some(json!({
                "name": "broken",
                "command": "node",
                "args": ["-e", "console.error('no database here'); process.exit(3)"],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let failed = server
        .send(Method::POST, "/api/v1/connectors/broken/connect", None)
        .await;
    assert_error(&failed, StatusCode::BAD_GATEWAY, "start_failed");
    assert!(failed.1["message"]
        .as_str()
        .unwrap()
        .contains("no database here"));
    let (_, info) = server.get("/api/v1/connectors/broken").await;
    assert_eq!(info["status"], "error");
    assert!(
        info["error"].as_str().unwrap().contains("no database here"),
        "{info}"
    );
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_generated_from_the_routes() {
    let server = Server::start().await;
    let (status, document) = server.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        document,
        serde_json::to_value(switchboard::http::openapi()).unwrap()
    );
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/connectors", &["get", "post"][..]),
        ("/api/v1/connectors/{name}", &["get", "delete"]),
        ("/api/v1/connectors/{name}/connect", &["post"]),
        ("/api/v1/connectors/{name}/disconnect", &["post"]),
        ("/api/v1/connectors/{name}/restart", &["post"]),
        ("/api/v1/connectors/{name}/policy", &["get", "put"]),
        ("/api/v1/connectors/{name}/config", &["get", "put"]),
        ("/api/v1/connectors/{name}/config/{field}", &["delete"]),
        ("/api/v1/connectors/{name}/tools", &["get"]),
        ("/api/v1/connectors/{name}/tools/{tool}/call", &["post"]),
        ("/api/v1/connectors/{name}/logs", &["get"]),
        ("/api/v1/connectors/{name}/login", &["post"]),
        ("/api/v1/connectors/{name}/logout", &["post"]),
        ("/api/v1/events", &["get"]),
        ("/api/v1/stats", &["get"]),
    ] {
        for method in methods {
            let operation = &paths[path][*method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {path}: 401"
            );
        }
    }
    assert_eq!(paths.len(), 15, "{:?}", paths.keys().collect::<Vec<_>>());
    let schemas = &document["components"]["schemas"];
    let codes = schemas["ErrorBody"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap();
    for code in [
        "unknown_connector",
        "already_exists",
        "not_connected",
        "unauthorized",
    ] {
        assert!(codes.contains(&json!(code)), "{code}");
    }
    assert_eq!(
        schemas["ConnectorStatus"]["enum"],
        json!(["connected", "disconnected", "configuring", "error"])
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    server.close().await;
}
