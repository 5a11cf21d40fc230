//! Remote connectors through the CLI: `server-everything` in its SSE and
//! Streamable HTTP modes on loopback ports, custom headers with a secret
//! kept out of settings, health pings noticing a dead server, and the
//! errors a bad URL gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{code, stderr, HttpPeer, Sandbox};
use serde_json::json;

const SECRET: &str = "Bearer sk-remote-7c1e9b";

#[test]
fn streamable_http_and_sse_connect_list_call_disconnect() {
    let sb = Sandbox::new();
    let http = HttpPeer::start("streamableHttp");
    let sse = HttpPeer::start("sse");
    let header = format!("Authorization={SECRET}");
    sb.ok(&[
        "add",
        "tracker",
        "--url",
        &http.url("/mcp"),
        "--header",
        &header,
        "--header",
        "X-Trace=on",
    ]);
    sb.ok(&["add", "feed", "--url", &sse.url("/sse")]);
    for name in ["tracker", "feed"] {
        assert_eq!(sb.ok(&["connect", name]).trim(), "connected", "{name}");
        assert!(sb
            .ok(&["tools", name])
            .lines()
            .any(|l| l.starts_with("echo ")));
        assert_eq!(
            sb.ok(&["call", name, "echo", r#"{"message":"over the wire"}"#])
                .trim(),
            "Echo: over the wire"
        );
        let status = sb.json(&["status", name]);
        assert_eq!(status["status"], "connected");
        assert!(status.get("pid").is_none(), "a remote server has no pid");
    }
    let settings = sb.settings_json();
    assert_eq!(
        settings["codebuddy.mcp.servers"]["tracker"],
        json!({
            "type": "http",
            "url": http.url("/mcp"),
            "headers": {"Authorization": "${secret:tracker/AUTHORIZATION}", "X-Trace": "on"}
        })
    );
    assert_eq!(
        settings["codebuddy.mcp.servers"]["feed"],
        json!({"type": "sse", "url": sse.url("/sse")})
    );
    let text = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(
        !text.contains("sk-remote"),
        "the secret header reached the settings file"
    );
    for name in ["tracker", "feed"] {
        assert_eq!(sb.ok(&["disconnect", name]).trim(), "disconnected");
    }
    assert_eq!(sb.settings_json()["codebuddy.mcp.servers"], json!({}));
}

#[test]
fn a_remote_server_that_dies_is_noticed_within_a_ping_interval() {
    let sb = Sandbox::new();
    std::fs::write(
        sb.settings(),
        r#"{ "codebuddy.connectors.supervision": { "pingIntervalMs": 300, "pingTimeoutMs": 300, "maxRestarts": 0 } }"#,
    )
    .unwrap();
    let mut http = HttpPeer::start("streamableHttp");
    sb.ok(&["add", "tracker", "--url", &http.url("/mcp")]);
    sb.ok(&["connect", "tracker"]);
    http.kill();
    let status = sb.wait_status("tracker", Duration::from_secs(5), |s| {
        s["status"] == "error"
    });
    let reason = status["error"].as_str().unwrap();
    assert!(
        reason.contains("stopped answering") || reason.contains("ping"),
        "{reason}"
    );
}

#[test]
fn bad_urls_get_their_own_messages() {
    let sb = Sandbox::new();
    sb.ok(&["add", "refused", "--url", "http://127.0.0.1:1/mcp"]);
    let out = sb.run(&["connect", "refused"]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(stderr(&out).contains("127.0.0.1:1"), "{}", stderr(&out));
    assert_eq!(sb.json(&["status", "refused"])["status"], "error");

    let out = sb.run(&["add", "vague", "--url", "http://127.0.0.1:9/rpc"]);
    assert_eq!(code(&out), 5);
    assert!(stderr(&out).contains("--transport"), "{}", stderr(&out));
    let out = sb.run(&["add", "nonsense", "--url", "not a url"]);
    assert_eq!(code(&out), 5);

    // A server that is not MCP at that path: 404 names the usual paths.
    let http = HttpPeer::start("streamableHttp");
    sb.ok(&[
        "add",
        "wrongpath",
        "--url",
        &http.url("/nothing-here"),
        "--transport",
        "http",
    ]);
    let out = sb.run(&["connect", "wrongpath"]);
    assert_eq!(code(&out), 6);
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
}
