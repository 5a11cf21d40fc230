//! What the least-privilege tests share: the hosts a probe server tries
//! to reach (an HTTP server on a loopback address, this machine's name),
//! the probe server added by its Python script, and the reading of its
//! fork-bomb answer.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, ToSocketAddrs};

use super::{repo, Sandbox};

/// An HTTP server on `addr` answering every request with `body`; its port.
pub fn http_server(addr: &str, body: &'static str) -> u16 {
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port
}

/// This machine's name and the loopback address it resolves to here
/// (Debian lists it in /etc/hosts): a name the proxy resolves to loopback.
pub fn machine_name() -> (String, IpAddr) {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let ip = (name.as_str(), 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(|a| a.ip().is_loopback()))
        .map(|a| a.ip())
        .unwrap_or_else(|| {
            panic!(
                "these tests need the machine's name ({name}) to resolve to loopback in /etc/hosts"
            )
        });
    (name, ip)
}

/// The Python probe server (`tests/peers/probe_server.py`) added as
/// `probe`, with no policy of its own.
pub fn add_python_probe(sb: &Sandbox) {
    let python = repo().join("tests/peers/.venv/bin/python");
    let script = repo().join("tests/peers/probe_server.py");
    sb.ok(&[
        "add",
        "probe",
        "--command",
        python.to_str().unwrap(),
        script.to_str().unwrap(),
    ]);
}

/// How many children a `spawn` answer says started, asserting that the
/// rest were refused below the process limit of 256.
pub fn assert_stopped_below_the_process_limit(spawned: &str) {
    let n: u32 = spawned
        .trim()
        .strip_prefix("spawned ")
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{spawned}"));
    assert!(n < 256 && spawned.contains("refused"), "{spawned}");
}

/// The probe `probe` (allowed `127.0.0.2:allowed`, not `127.0.0.3:other`,
/// both `http_server`s) fetches the allowed host through the egress
/// proxy; the other is refused with 403 and the remedy, also in its log.
pub fn assert_fetches_only_the_allowed_host(sb: &Sandbox, allowed: u16, other: u16) {
    let fetch = |url: String| {
        let arguments = serde_json::json!({ "url": url }).to_string();
        sb.ok(&["call", "probe", "fetch", &arguments])
    };
    let fetched = fetch(format!("http://127.0.0.2:{allowed}/"));
    assert_eq!(fetched.trim(), "status 200: the allowed host");
    let refused = fetch(format!("http://127.0.0.3:{other}/"));
    assert!(refused.contains("refused: status 403"), "{refused}");
    assert!(
        refused.contains("switchboard policy probe --network"),
        "{refused}"
    );
    let logs = sb.ok(&["logs", "probe"]);
    assert!(
        logs.contains(&format!("egress: refused 127.0.0.3:{other} for `probe`")),
        "{logs}"
    );
}
