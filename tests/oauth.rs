//! Signing in to an OAuth-protected MCP server, end to end on loopback with
//! real parts: `oidc-provider` as the authorization server (DCR, PKCE,
//! refresh token rotation, resource indicators, short-lived tokens) in front
//! of the TypeScript SDK's MCP server with bearer auth, and a "browser" that
//! follows the authorization pages with a real HTTP client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod oauth_support;

use std::time::Duration;

use common::{code, poll, stderr};
use oauth_support::{all_text_under, OAuthPeer};

/// Long enough for any step here on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn sign_in_call_refresh_once_for_sixteen_calls_rotate_and_logout() {
    let peer = OAuthPeer::start(4, "");
    let sb = oauth_support::signing_sandbox();
    sb.ok(&["add", "tracker", "--url", &peer.mcp]);
    // 401 → discovery → registration → browser → tokens → connected.
    assert_eq!(sb.ok(&["connect", "tracker"]).trim(), "connected");
    let out = sb.ok(&["call", "tracker", "whoami"]);
    assert!(out.contains("\"mcp\""), "{out}");
    let status = sb.json(&["status", "tracker"]);
    assert_eq!(status["auth"]["signed_in"], true, "{status}");
    assert_eq!(status["auth"]["issuer"], peer.issuer.as_str(), "{status}");
    assert!(
        status["auth"]["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "mcp"),
        "{status}"
    );
    let stats = peer.stats();
    assert_eq!(stats["registrations"], 1, "{stats}");
    assert_eq!(stats["authorizations"], 1, "{stats}");
    assert_eq!(stats["refreshes"], 0, "{stats}");

    // The token expires; sixteen calls at once make one refresh.
    wait_expired(&sb, "tracker");
    let calls: Vec<_> = (0..16)
        .map(|i| {
            let cmd = {
                let mut c = sb.command();
                c.args(["call", "tracker", "echo", &format!(r#"{{"text":"n{i}"}}"#)]);
                c
            };
            std::thread::spawn(move || {
                let mut cmd = cmd;
                cmd.output().unwrap()
            })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        let out = call.join().unwrap();
        assert!(out.status.success(), "call {i}: {}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("n{i}"));
    }
    assert_eq!(peer.stats()["refreshes"], 1, "{}", peer.stats());

    // Rotation: the server rotated the refresh token; a second refresh works
    // only if the new one was stored (the old one is refused, and reusing it
    // revokes the grant at oidc-provider).
    wait_expired(&sb, "tracker");
    sb.ok(&["call", "tracker", "echo", r#"{"text":"again"}"#]);
    assert_eq!(peer.stats()["refreshes"], 2, "{}", peer.stats());

    // The stored sign-in outlives the service: no new authorization.
    sb.ok(&["shutdown"]);
    sb.wait_status("tracker", DEADLINE, |s| s["status"] == "connected");
    sb.ok(&["call", "tracker", "whoami"]);
    assert_eq!(peer.stats()["authorizations"], 1, "{}", peer.stats());

    // No token anywhere but the secret store (encrypted) and the wire.
    let tokens = peer.tokens_seen();
    assert!(!tokens.is_empty());
    let settings = std::fs::read_to_string(sb.settings()).unwrap();
    let home = all_text_under(&sb.home());
    let api = sb.ok(&["status", "tracker", "--json"]) + &sb.ok(&["list", "--json"]);
    let ps = String::from_utf8_lossy(
        &std::process::Command::new("ps")
            .args(["-eo", "args"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    for token in &tokens {
        for (place, text) in [
            ("settings", &settings),
            ("data dir", &home),
            ("status", &api),
            ("ps", &ps),
        ] {
            assert!(!text.contains(token.as_str()), "a token is in the {place}");
        }
    }

    // Logout revokes at the server (RFC 7009) and deletes here.
    let before = peer.stats()["revocations"].as_u64().unwrap();
    let out = sb.json(&["logout", "tracker"]);
    assert_eq!(out["revoked"], "revoked", "{out}");
    assert!(peer.stats()["revocations"].as_u64().unwrap() > before);
    let status = sb.json(&["status", "tracker"]);
    assert_eq!(status["auth"]["signed_in"], false, "{status}");
    assert_eq!(status["status"], "configuring", "{status}");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("switchboard login tracker"),
        "{status}"
    );
}

/// Waits until the connector's access token has expired.
fn wait_expired(sb: &common::Sandbox, name: &str) {
    let expired = poll(DEADLINE, || {
        let status = sb.json(&["status", name]);
        status["auth"]["expires_in_secs"].as_u64() == Some(0)
    });
    assert!(expired, "the access token never expired");
}

#[test]
fn without_a_browser_connect_does_not_block_and_login_no_browser_waits() {
    let peer = OAuthPeer::start(3600, "");
    let mut sb = common::Sandbox::new();
    sb.extra_env.push(("CI".into(), "true".into()));
    sb.ok(&["add", "tracker", "--url", &peer.mcp]);
    let mut cmd = sb.command();
    cmd.env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args(["connect", "tracker"]);
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 17, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("open http://127.0.0.1"),
        "{}",
        stderr(&out)
    );
    let status = sb.json(&["status", "tracker"]);
    assert_eq!(status["status"], "configuring", "{status}");
    let reason = status["error"].as_str().unwrap().to_string();
    let url = reason
        .strip_prefix("waiting for sign-in at ")
        .unwrap_or_else(|| panic!("{reason}"));
    assert!(url.starts_with(&format!("{}/auth?", peer.issuer)), "{url}");
    // The person opens it somewhere; the connector connects by itself.
    oauth_support::follow(url);
    sb.wait_status("tracker", DEADLINE, |s| s["status"] == "connected");

    // `login --no-browser` prints the address and waits for the sign-in.
    let mut login = sb.command();
    login
        .env_remove("BROWSER")
        .args(["login", "tracker", "--no-browser"])
        .stdout(std::process::Stdio::piped());
    let mut child = login.spawn().unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    while !url.trim().starts_with("http") {
        url.clear();
        use std::io::BufRead;
        assert!(
            reader.read_line(&mut url).unwrap() > 0,
            "no address printed"
        );
    }
    oauth_support::follow(url.trim());
    assert!(child.wait().unwrap().success());
    assert_eq!(peer.stats()["authorizations"], 2, "{}", peer.stats());
    sb.ok(&["call", "tracker", "whoami"]);
}

#[test]
fn a_grant_revoked_at_the_server_ends_in_configuring_sign_in_again() {
    let peer = OAuthPeer::start(3600, "");
    let sb = oauth_support::signing_sandbox();
    sb.ok(&["add", "tracker", "--url", &peer.mcp]);
    assert_eq!(sb.ok(&["connect", "tracker"]).trim(), "connected");
    peer.revoke_all();
    // 401 invalid_token → one refresh → invalid_grant → sign in again.
    let out = sb.run(&["call", "tracker", "whoami"]);
    assert!(!out.status.success());
    let status = sb.wait_status("tracker", DEADLINE, |s| s["status"] == "configuring");
    let reason = status["error"].as_str().unwrap();
    assert!(
        reason.contains("sign in again: `switchboard login tracker`"),
        "{status}"
    );
    assert_eq!(status["auth"]["signed_in"], false, "{status}");
    // No loop: one refresh tried, no restarts, still waiting a moment later.
    let refreshes = peer.stats()["refreshes"].clone();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(peer.stats()["refreshes"], refreshes);
    let status = sb.json(&["status", "tracker"]);
    assert_eq!(status["status"], "configuring", "{status}");
    assert_eq!(status["restarts"], 0, "{status}");
    // Signing in again brings it back.
    let info = sb.json(&["login", "tracker"]);
    assert_eq!(info["status"], "connected", "{info}");
    sb.ok(&["call", "tracker", "whoami"]);
}

#[test]
fn insufficient_scope_steps_up_keeping_the_old_grant_until_the_new_arrives() {
    let peer = OAuthPeer::start(3600, "");
    let sb = oauth_support::signing_sandbox();
    sb.ok(&["add", "tracker", "--url", &peer.mcp]);
    assert_eq!(sb.ok(&["connect", "tracker"]).trim(), "connected");
    let status = sb.json(&["status", "tracker"]);
    assert!(
        !status["auth"]["scopes"].to_string().contains("admin"),
        "{status}"
    );
    // 403 insufficient_scope: this call fails saying what to do (the
    // step-up sign-in it started, or the login to run), a step-up starts.
    let out = sb.run(&["call", "tracker", "admin-op"]);
    assert_eq!(code(&out), 17, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`admin-op` needs more access to `tracker`"),
        "{err}"
    );
    assert!(
        err.contains("switchboard login tracker --scope mcp --scope admin"),
        "{err}"
    );
    assert!(
        err.contains(&format!("waiting at {}/auth?", peer.issuer)),
        "the step-up's page: {err}"
    );
    assert!(!err.contains("Insufficient scope"), "{err}");
    // The old grant still serves calls meanwhile, and afterwards.
    sb.ok(&["call", "tracker", "whoami"]);
    sb.wait_status("tracker", DEADLINE, |s| {
        s["auth"]["scopes"].to_string().contains("admin")
    });
    assert_eq!(sb.ok(&["call", "tracker", "admin-op"]).trim(), "admin done");
    assert_eq!(sb.json(&["status", "tracker"])["status"], "connected");
    assert_eq!(peer.stats()["authorizations"], 2, "{}", peer.stats());
}

#[test]
fn an_sse_server_signs_in_and_refreshes_too() {
    let peer = OAuthPeer::start(4, "");
    let sb = oauth_support::signing_sandbox();
    sb.ok(&["add", "feed", "--url", &peer.sse]);
    assert_eq!(sb.ok(&["connect", "feed"]).trim(), "connected");
    sb.ok(&["call", "feed", "whoami"]);
    wait_expired(&sb, "feed");
    assert_eq!(
        sb.ok(&["call", "feed", "echo", r#"{"text":"late"}"#])
            .trim(),
        "late"
    );
    assert!(peer.stats()["refreshes"].as_u64().unwrap() >= 1);
    // A 403 `insufficient_scope` on the SSE transport says what to do too.
    let out = sb.run(&["call", "feed", "admin-op"]);
    assert_eq!(code(&out), 17, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("switchboard login feed --scope mcp --scope admin"),
        "{}",
        stderr(&out)
    );
}

/// Each bad server: a clear `error` naming the problem, and no token stored.
#[test]
fn bad_servers_are_each_a_clear_error_and_store_nothing() {
    let cases = [
        ("no_s256", "PKCE with S256"),
        ("iss_mismatch", "not from the authorization server"),
        ("state_mismatch", "`state` we did not send"),
        ("prm_redirect", "sign-in metadata"),
        ("prm_other_origin", "not acceptable"),
        ("as_down", "could not read the server's sign-in metadata"),
    ];
    for (bad, expected) in cases {
        let peer = OAuthPeer::start(3600, bad);
        let sb = oauth_support::signing_sandbox();
        sb.ok(&["add", "tracker", "--url", &peer.mcp]);
        let out = sb.run(&["connect", "tracker"]);
        assert!(!out.status.success(), "{bad}: connect succeeded");
        let status = sb.wait_status("tracker", DEADLINE, |s| s["status"] == "error");
        let reason = status["error"].as_str().unwrap_or_default();
        assert!(reason.contains(expected), "{bad}: {reason}");
        assert_eq!(status["auth"]["signed_in"], false, "{bad}: {status}");
        assert!(
            peer.tokens_seen().is_empty(),
            "{bad}: a token reached the server"
        );
        let stats = peer.stats();
        assert_eq!(stats["refreshes"], 0, "{bad}: {stats}");
    }
}

/// A catalog's hosted server that registers no clients on the fly (GitHub's)
/// says what to pass before any request leaves the machine; with a client
/// stored, the start goes on to the server.
#[test]
fn a_hosted_server_without_dynamic_registration_asks_for_a_client_id() {
    let sb = oauth_support::signing_sandbox();
    let out = sb.run(&["connect", "github", "--backend", "remote"]);
    assert_eq!(code(&out), 17, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("switchboard connect github --client-id"),
        "{err}"
    );
    assert!(
        err.contains("github-mcp-server"),
        "the vendor's page: {err}"
    );
    let status = sb.json(&["status", "github"]);
    assert_eq!(status["status"], "configuring", "{status}");
    assert!(
        status["error"].as_str().unwrap().contains("--client-id"),
        "{status}"
    );
    // Nothing was written for a server that never started.
    let settings = sb.settings_json();
    assert!(
        settings["codebuddy.mcp.servers"].get("github").is_none(),
        "{settings}"
    );
    // With a client of the user's, the start goes to the server (which
    // cannot be reached from here: the failure is the network's, not ours).
    let mut connect = sb.command();
    connect
        .env("GH_CLIENT_SECRET", "sbsecret-client-0c91")
        .args([
            "connect",
            "github",
            "--client-id",
            "Iv1.0123456789abcdef",
            "--client-secret-from-env",
            "GH_CLIENT_SECRET",
            "--timeout",
            "5",
        ]);
    let out = connect.output().unwrap();
    assert!(!out.status.success());
    assert!(!stderr(&out).contains("--client-id"), "{}", stderr(&out));
    let settings = std::fs::read_to_string(sb.settings()).unwrap();
    assert!(!settings.contains("sbsecret-client-0c91"));
}
