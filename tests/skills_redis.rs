//! The `redis` skill against the real Redis on 127.0.0.1:6379.
//!
//! Each test uses keys under its own prefix (`sb_rd_<random>:`) and, for the
//! password test, its own ACL user; guards delete both even when an
//! assertion fails. `SWITCHBOARD_TEST_REDIS_URL` overrides the server
//! (default `redis://127.0.0.1:6379/0`, no password).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolResult, JsonObject};
use serde_json::{json, Value};
use switchboard::skills::SkillKind;
use switchboard::skills::{self, Skill, SkillError};

fn server_url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// A direct connection for setting up and checking, outside the skill.
async fn direct() -> redis::aio::MultiplexedConnection {
    redis::Client::open(server_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// A key prefix of our own; every key under it is deleted on drop.
struct Keys {
    prefix: String,
}

impl Keys {
    fn new() -> Self {
        Keys {
            prefix: format!("sb_rd_{}:", random_suffix()),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let pattern = format!("{}*", self.prefix);
        // Drop cannot await, so the cleanup gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = direct().await;
                let mut cursor: u64 = 0;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    if !keys.is_empty() {
                        let _: i64 = redis::cmd("DEL")
                            .arg(&keys)
                            .query_async(&mut conn)
                            .await
                            .unwrap();
                    }
                    cursor = next;
                    if cursor == 0 {
                        break;
                    }
                }
            });
        })
        .join();
    }
}

async fn open(extra: &[(&str, &str)]) -> Box<dyn Skill> {
    let mut values = BTreeMap::from([("url".to_string(), server_url())]);
    for (k, v) in extra {
        values.insert(k.to_string(), v.to_string());
    }
    skills::open(SkillKind::Redis, &values).await.unwrap()
}

async fn call(skill: &dyn Skill, tool: &str, arguments: Value) -> CallToolResult {
    let arguments: JsonObject = arguments.as_object().cloned().unwrap();
    skill.call(tool, arguments).await.unwrap()
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.clone())
        .collect()
}

fn ok(result: &CallToolResult) -> &Value {
    assert_eq!(
        result.is_error,
        Some(false),
        "expected success, got: {}",
        text(result)
    );
    result.structured_content.as_ref().unwrap()
}

fn failed(result: &CallToolResult) -> String {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a tool error, got: {}",
        text(result)
    );
    text(result)
}

#[tokio::test]
async fn writes_are_refused_without_allow_writes() {
    let keys = Keys::new();
    let k = keys.key("refused");
    let reader = open(&[]).await;
    let names: Vec<String> = reader.tools().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["get", "set", "del", "scan", "read", "ttl", "info"]);

    assert!(
        failed(&call(&*reader, "set", json!({"key": k, "value": "v"})).await)
            .contains("allow_writes")
    );
    let mut conn = direct().await;
    let _: () = redis::cmd("SET")
        .arg(&k)
        .arg("kept")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(failed(&call(&*reader, "del", json!({"keys": [k]})).await).contains("allow_writes"));
    assert_eq!(
        ok(&call(&*reader, "get", json!({"key": k})).await),
        &json!({"key": k, "exists": true, "value": "kept"})
    );
    reader.close().await;
    assert!(reader.check().await.is_err());
}

#[tokio::test]
async fn strings_set_get_expire_and_delete() {
    let keys = Keys::new();
    let (a, b) = (keys.key("a"), keys.key("b"));
    let writer = open(&[("allow_writes", "true")]).await;
    assert_eq!(
        ok(&call(
            &*writer,
            "set",
            json!({"key": a, "value": "héllo", "ttl_seconds": 100})
        )
        .await),
        &json!({"key": a, "ok": true, "ttl_seconds": 100})
    );
    ok(&call(&*writer, "set", json!({"key": b, "value": "forever"})).await);
    assert_eq!(
        ok(&call(&*writer, "get", json!({"key": a})).await)["value"],
        json!("héllo")
    );

    let ttl = call(&*writer, "ttl", json!({"key": a})).await;
    let seconds = ok(&ttl)["ttl_seconds"].as_i64().unwrap();
    assert!((90..=100).contains(&seconds), "{seconds}");
    assert_eq!(
        ok(&call(&*writer, "ttl", json!({"key": b})).await),
        &json!({"key": b, "exists": true, "ttl_seconds": null})
    );

    let deleted = call(
        &*writer,
        "del",
        json!({"keys": [a, b, keys.key("missing")]}),
    )
    .await;
    assert_eq!(ok(&deleted), &json!({"deleted": 2}));
    assert_eq!(
        ok(&call(&*writer, "get", json!({"key": a})).await),
        &json!({"key": a, "exists": false, "value": null})
    );
    assert_eq!(
        ok(&call(&*writer, "ttl", json!({"key": a})).await),
        &json!({"key": a, "exists": false, "ttl_seconds": null})
    );
    assert!(failed(&call(&*writer, "del", json!({"keys": []})).await).contains("non-empty"));
    assert!(failed(&call(&*writer, "set", json!({"key": a})).await).contains("`value`"));
    writer.close().await;
}

#[tokio::test]
async fn read_understands_every_type() {
    let keys = Keys::new();
    let mut conn = direct().await;
    let setup: Vec<redis::Cmd> = vec![
        redis::cmd("SET")
            .arg(keys.key("bin"))
            .arg(&[0xde_u8, 0xad, 0xbe, 0xef][..])
            .clone(),
        redis::cmd("HSET")
            .arg(keys.key("hash"))
            .arg("name")
            .arg("ada")
            .arg("born")
            .arg("1815")
            .clone(),
        redis::cmd("RPUSH")
            .arg(keys.key("list"))
            .arg("x")
            .arg("y")
            .arg("z")
            .clone(),
        redis::cmd("SADD")
            .arg(keys.key("set"))
            .arg("b")
            .arg("a")
            .clone(),
        redis::cmd("ZADD")
            .arg(keys.key("zset"))
            .arg(2.5)
            .arg("two")
            .arg(1)
            .arg("one")
            .clone(),
        redis::cmd("XADD")
            .arg(keys.key("stream"))
            .arg("1-1")
            .arg("event")
            .arg("start")
            .clone(),
        redis::cmd("XADD")
            .arg(keys.key("stream"))
            .arg("1-2")
            .arg("event")
            .arg("stop")
            .clone(),
    ];
    for cmd in setup {
        let _: redis::Value = cmd.query_async(&mut conn).await.unwrap();
    }
    let skill = open(&[]).await;
    let read = |name: &str| {
        let key = keys.key(name);
        let skill = &*skill;
        async move { ok(&call(skill, "read", json!({"key": key})).await).clone() }
    };
    let expect = |name: &str, kind: &str, length: i64, value: Value| json!({"key": keys.key(name), "type": kind, "exists": true, "length": length, "value": value, "truncated": false});
    assert_eq!(
        read("bin").await,
        expect("bin", "string", 4, json!({"base64": "3q2+7w=="}))
    );
    assert_eq!(
        read("hash").await,
        expect("hash", "hash", 2, json!({"born": "1815", "name": "ada"}))
    );
    assert_eq!(
        read("list").await,
        expect("list", "list", 3, json!(["x", "y", "z"]))
    );
    assert_eq!(
        read("set").await,
        expect("set", "set", 2, json!(["a", "b"]))
    );
    assert_eq!(
        read("zset").await,
        expect(
            "zset",
            "zset",
            2,
            json!([{"member": "one", "score": 1.0}, {"member": "two", "score": 2.5}])
        )
    );
    assert_eq!(
        read("stream").await,
        expect(
            "stream",
            "stream",
            2,
            json!([{"id": "1-1", "fields": {"event": "start"}}, {"id": "1-2", "fields": {"event": "stop"}}])
        )
    );
    assert_eq!(
        read("absent").await,
        json!({"key": keys.key("absent"), "type": "none", "exists": false})
    );
    let wrong = call(&*skill, "get", json!({"key": keys.key("hash")})).await;
    assert!(failed(&wrong).contains("WRONGTYPE"));
    skill.close().await;
}

#[tokio::test]
async fn scan_and_read_are_bounded_by_scan_limit() {
    let keys = Keys::new();
    let mut conn = direct().await;
    for i in 0..7 {
        let _: () = redis::cmd("SET")
            .arg(keys.key(&format!("k{i}")))
            .arg(i)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: i64 = redis::cmd("RPUSH")
        .arg(keys.key("long"))
        .arg(&["1", "2", "3", "4", "5"][..])
        .query_async(&mut conn)
        .await
        .unwrap();
    let pattern = format!("{}k*", keys.prefix);

    let wide = open(&[]).await;
    let all = call(&*wide, "scan", json!({"pattern": pattern})).await;
    let expected: Vec<String> = (0..7).map(|i| keys.key(&format!("k{i}"))).collect();
    assert_eq!(
        ok(&all),
        &json!({"pattern": pattern, "keys": expected, "count": 7, "truncated": false})
    );
    let some = call(&*wide, "scan", json!({"pattern": pattern, "count": 3})).await;
    let some = ok(&some);
    assert_eq!(
        (some["count"].clone(), some["truncated"].clone()),
        (json!(3), json!(true))
    );
    wide.close().await;

    let narrow = open(&[("scan_limit", "2")]).await;
    let capped = call(&*narrow, "scan", json!({"pattern": pattern, "count": 50})).await;
    assert_eq!(ok(&capped)["keys"].as_array().unwrap().len(), 2);
    let list = call(&*narrow, "read", json!({"key": keys.key("long")})).await;
    let list = ok(&list);
    assert_eq!(
        (
            list["value"].clone(),
            list["length"].clone(),
            list["truncated"].clone()
        ),
        (json!(["1", "2"]), json!(5), json!(true))
    );

    let big = "x".repeat((1 << 20) + 10);
    let _: () = redis::cmd("SET")
        .arg(keys.key("big"))
        .arg(&big)
        .query_async(&mut conn)
        .await
        .unwrap();
    let read = call(&*narrow, "read", json!({"key": keys.key("big")})).await;
    let read = ok(&read);
    assert_eq!(
        (read["length"].clone(), read["truncated"].clone()),
        (json!(big.len()), json!(true))
    );
    assert_eq!(read["value"].as_str().map(str::len), Some(1 << 20));
    narrow.close().await;
}

#[tokio::test]
async fn info_is_parsed_by_section() {
    let skill = open(&[]).await;
    let info = call(&*skill, "info", json!({"section": "server"})).await;
    let sections = &ok(&info)["sections"];
    assert!(
        sections["server"]["redis_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{sections}"
    );
    assert!(text(&info).contains("redis_version:"));
    assert!(
        failed(&call(&*skill, "flushall", json!({})).await).contains("no tool named `flushall`")
    );
    skill.check().await.unwrap();
    skill.close().await;
}

/// An ACL user, deleted on drop.
struct AclUser {
    name: String,
}

impl Drop for AclUser {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _: i64 = redis::cmd("ACL")
                    .arg("DELUSER")
                    .arg(&name)
                    .query_async(&mut direct().await)
                    .await
                    .unwrap();
            });
        })
        .join();
    }
}

#[tokio::test]
async fn wrong_password_is_auth_failed_without_echoing_it() {
    let user = AclUser {
        name: format!("sb_rd_{}", random_suffix()),
    };
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user.name)
        .arg("on")
        .arg(">right-horse")
        .arg("~sb_rd_*")
        .arg("+@all")
        .query_async(&mut direct().await)
        .await
        .unwrap();
    let url = |pw: &str| format!("redis://{}:{pw}@127.0.0.1:6379/0", user.name);
    let err = skills::open(
        SkillKind::Redis,
        &BTreeMap::from([("url".to_string(), url("staple-wrong"))]),
    )
    .await
    .err()
    .unwrap();
    match &err {
        SkillError::AuthFailed { message } => assert!(message.contains("`url`"), "{message}"),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("staple-wrong"));
    let skill = skills::open(
        SkillKind::Redis,
        &BTreeMap::from([("url".to_string(), url("right-horse"))]),
    )
    .await
    .unwrap();
    skill.check().await.unwrap();
    skill.close().await;

    // A password for a server whose default user has none is refused too.
    let err = skills::open(
        SkillKind::Redis,
        &BTreeMap::from([(
            "url".to_string(),
            "redis://:staple-wrong@127.0.0.1:6379".to_string(),
        )]),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, SkillError::AuthFailed { .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_port_is_reported_without_the_password() {
    let started = Instant::now();
    let values = BTreeMap::from([(
        "url".to_string(),
        "redis://:s3cretpw@127.0.0.1:1/0".to_string(),
    )]);
    let err = skills::open(SkillKind::Redis, &values).await.err().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    match &err {
        SkillError::Unreachable { target, .. } => assert_eq!(target, "redis://:***@127.0.0.1:1/0"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("s3cretpw"));
    let bad = BTreeMap::from([("url".to_string(), "http://nope".to_string())]);
    assert!(matches!(
        skills::open(SkillKind::Redis, &bad).await.err().unwrap(),
        SkillError::BadConfig { .. }
    ));
}
