//! The `postgres` skill against the real PostgreSQL on 127.0.0.1:5432.
//!
//! Each test works in its own schema (`sb_pg_<random>`), dropped by a guard
//! even when an assertion fails, so the tests run in parallel and leave
//! nothing behind. `SWITCHBOARD_TEST_POSTGRES_URL` overrides the server
//! (default `postgres://postgres@127.0.0.1:5432/test`, trust auth). The
//! wrong-password test starts a private cluster with scram-sha-256, because
//! the shared server trusts every local login.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolResult, JsonObject};
use serde_json::{json, Value};
use switchboard::skills::SkillKind;
use switchboard::skills::{self, Skill, SkillError};

fn base_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
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

/// A schema of our own, with a table `items` and a view; dropped on drop.
struct TestSchema {
    name: String,
}

impl TestSchema {
    async fn new() -> Self {
        let name = format!("sb_pg_{}", random_suffix());
        let (client, conn) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {name};
                 CREATE TABLE {name}.items (
                     id integer PRIMARY KEY,
                     name text NOT NULL DEFAULT 'unnamed',
                     price numeric(10,2)
                 );
                 CREATE VIEW {name}.cheap AS SELECT * FROM {name}.items WHERE price < 10;
                 INSERT INTO {name}.items VALUES (1, 'apple', 1.50), (2, 'pear', 12.00);"
            ))
            .await
            .unwrap();
        TestSchema { name }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop cannot await, so the cleanup gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client.batch_execute(&sql).await.unwrap();
            });
        })
        .join();
    }
}

async fn open(extra: &[(&str, &str)]) -> Box<dyn Skill> {
    let mut values = BTreeMap::from([("url".to_string(), base_url())]);
    for (k, v) in extra {
        values.insert(k.to_string(), v.to_string());
    }
    skills::open(SkillKind::Postgres, &values).await.unwrap()
}

fn args(value: Value) -> JsonObject {
    value.as_object().cloned().unwrap()
}

async fn call(skill: &dyn Skill, tool: &str, arguments: Value) -> CallToolResult {
    skill.call(tool, args(arguments)).await.unwrap()
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
async fn tools_are_the_six_sql_tools_with_object_schemas() {
    let skill = open(&[]).await;
    let tools = skill.tools();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "list_schemas",
            "list_tables",
            "describe_table",
            "query",
            "explain",
            "execute"
        ]
    );
    for tool in &tools {
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
    }
    assert_eq!(tools[3].input_schema.get("required"), Some(&json!(["sql"])));
    skill.close().await;
}

#[tokio::test]
async fn catalog_tools_list_and_describe() {
    let schema = TestSchema::new().await;
    let s = schema.name.as_str();
    let skill = open(&[]).await;

    let schemas = call(&*skill, "list_schemas", json!({})).await;
    let rows = ok(&schemas)["rows"].as_array().unwrap().clone();
    assert!(rows.contains(&json!([s])), "{rows:?}");
    assert!(!rows.contains(&json!(["pg_catalog"])));

    let tables = call(&*skill, "list_tables", json!({"schema": s})).await;
    assert_eq!(
        ok(&tables),
        &json!({
            "columns": ["schema", "name", "type"],
            "column_types": ["name", "name", "text"],
            "rows": [[s, "cheap", "view"], [s, "items", "table"]],
            "row_count": 2,
            "truncated": false
        })
    );

    let described = call(
        &*skill,
        "describe_table",
        json!({"table": "items", "schema": s}),
    )
    .await;
    let described = ok(&described);
    assert_eq!(
        described["rows"],
        json!([
            ["id", "integer", false, null, true],
            ["name", "text", false, "'unnamed'::text", false],
            ["price", "numeric(10,2)", true, null, false]
        ])
    );
    assert_eq!(described["primary_key"], json!(["id"]));
    assert_eq!(
        described["columns"],
        json!(["column", "type", "nullable", "default", "primary_key"])
    );

    let missing = call(
        &*skill,
        "describe_table",
        json!({"table": "nope", "schema": s}),
    )
    .await;
    assert!(failed(&missing).contains("no table or view named `nope`"));
    skill.close().await;
}

#[tokio::test]
async fn values_map_to_json_by_their_postgres_type() {
    let skill = open(&[]).await;
    let result = call(
        &*skill,
        "query",
        json!({"sql": "SELECT 12345678901234567890.12::numeric AS n, '\\xdeadbeef'::bytea AS b,
                  '2024-05-01 12:34:56.789+02'::timestamptz AS ts, '{\"a\": [1, 2, null]}'::jsonb AS j,
                  NULL::text AS nothing, true AS yes, 9007199254740993::bigint AS big,
                  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, 1.5::float8 AS f, 0.1::float4 AS f4,
                  ARRAY[1, 2, NULL]::int4[] AS arr, ARRAY[['a', 'b'], ['c', 'd']] AS grid,
                  '2024-02-29'::date AS d, '2024-02-29 23:59:59'::timestamp AS local,
                  '1 year 2 mons 3 days 04:05:06.5'::interval AS iv, '192.168.0.1/24'::inet AS net,
                  'NaN'::numeric AS nan, 'Infinity'::float8 AS inf, '{\"x\": 1}'::json AS plain_json"}),
    )
    .await;
    let result = ok(&result);
    assert_eq!(
        result["rows"],
        json!([[
            "12345678901234567890.12", "3q2+7w==", "2024-05-01T10:34:56.789Z", {"a": [1, 2, null]},
            null, true, 9007199254740993i64, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 1.5, 0.1,
            [1, 2, null], [["a", "b"], ["c", "d"]], "2024-02-29", "2024-02-29T23:59:59",
            "P1Y2M3DT4H5M6.5S", "192.168.0.1/24", "NaN", "Infinity", {"x": 1}
        ]])
    );
    assert_eq!(
        result["column_types"],
        json!([
            "numeric",
            "bytea",
            "timestamptz",
            "jsonb",
            "text",
            "bool",
            "int8",
            "uuid",
            "float8",
            "float4",
            "_int4",
            "_text",
            "date",
            "timestamp",
            "interval",
            "inet",
            "numeric",
            "float8",
            "json"
        ])
    );
    skill.close().await;
}

#[tokio::test]
async fn parameters_round_trip_through_a_table() {
    let schema = TestSchema::new().await;
    let s = schema.name.as_str();
    let writer = open(&[("allow_writes", "true")]).await;
    let create = call(
        &*writer,
        "execute",
        json!({"sql": format!("CREATE TABLE {s}.typed (n numeric, b bytea, ts timestamptz, j jsonb, t text,
                                  ok bool, big bigint, id uuid, tags text[], d date)")}),
    )
    .await;
    ok(&create);
    let row = json!(["123.4500", "AAEC/w==", "2024-05-01T10:34:56.789Z", {"k": ["v", 1]}, null, false,
                     -9007199254740993i64, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", ["x", null], "1999-12-31"]);
    let insert = call(
        &*writer,
        "execute",
        json!({"sql": format!("INSERT INTO {s}.typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
               "params": row}),
    )
    .await;
    assert_eq!(ok(&insert)["rows_affected"], json!(1));
    let back = call(
        &*writer,
        "query",
        json!({"sql": format!("SELECT * FROM {s}.typed")}),
    )
    .await;
    assert_eq!(ok(&back)["rows"], json!([row]));

    // Bound, not spliced: quotes arrive as data.
    let sneaky = "'; DROP TABLE items; --";
    let echoed = call(
        &*writer,
        "query",
        json!({"sql": "SELECT $1::text AS t, $2::int + 1 AS n", "params": [sneaky, 41]}),
    )
    .await;
    assert_eq!(ok(&echoed)["rows"], json!([[sneaky, 42]]));
    let wrong_count = call(
        &*writer,
        "query",
        json!({"sql": "SELECT $1::int", "params": []}),
    )
    .await;
    assert!(failed(&wrong_count).contains("1 placeholder(s) but 0 parameter(s)"));
    let wrong_type = call(
        &*writer,
        "query",
        json!({"sql": "SELECT $1::int", "params": ["many"]}),
    )
    .await;
    assert!(failed(&wrong_type).contains("parameter $1"));
    writer.close().await;
}

#[tokio::test]
async fn writes_need_allow_writes_and_query_stays_read_only() {
    let schema = TestSchema::new().await;
    let s = schema.name.as_str();
    let reader = open(&[]).await;
    let insert = format!("INSERT INTO {s}.items VALUES (3, 'plum', 2.00)");

    let refused = call(&*reader, "execute", json!({"sql": insert})).await;
    assert!(failed(&refused).contains("allow_writes"));
    let sneaked = call(&*reader, "query", json!({"sql": insert})).await;
    assert!(failed(&sneaked).contains("read-only"));
    let count = format!("SELECT count(*) AS n FROM {s}.items");
    assert_eq!(
        ok(&call(&*reader, "query", json!({"sql": count})).await)["rows"],
        json!([[2]])
    );

    let writer = open(&[("allow_writes", "true")]).await;
    let still_read_only = call(&*writer, "query", json!({"sql": insert})).await;
    assert!(failed(&still_read_only).contains("read-only"));
    let done = call(
        &*writer,
        "execute",
        json!({"sql": format!("INSERT INTO {s}.items VALUES ($1, $2, $3) RETURNING id, name"), "params": [3, "plum", "2.00"]}),
    )
    .await;
    let done = ok(&done);
    assert_eq!(done["rows_affected"], json!(1));
    assert_eq!(done["rows"], json!([[3, "plum"]]));
    assert_eq!(
        ok(&call(&*reader, "query", json!({"sql": count})).await)["rows"],
        json!([[3]])
    );
    reader.close().await;
    writer.close().await;
}

#[tokio::test]
async fn row_limit_stops_reading_and_says_truncated() {
    let skill = open(&[("row_limit", "3")]).await;
    let many = call(
        &*skill,
        "query",
        json!({"sql": "SELECT g FROM generate_series(1, 100000) g"}),
    )
    .await;
    let many = ok(&many);
    assert_eq!(many["rows"], json!([[1], [2], [3]]));
    assert_eq!(
        (many["row_count"].clone(), many["truncated"].clone()),
        (json!(3), json!(true))
    );
    assert!(
        text(&call(&*skill, "query", json!({"sql": "SELECT 1 AS one"})).await)
            .starts_with("one\n---\n1\n(1 row)")
    );
    let exact = call(
        &*skill,
        "query",
        json!({"sql": "SELECT g FROM generate_series(1, 3) g"}),
    )
    .await;
    assert_eq!(ok(&exact)["truncated"], json!(false));
    skill.close().await;
}

#[tokio::test]
async fn statement_timeout_cancels_quickly_and_the_skill_keeps_working() {
    let skill = open(&[("statement_timeout_ms", "200")]).await;
    let started = Instant::now();
    let slow = call(&*skill, "query", json!({"sql": "SELECT pg_sleep(5)"})).await;
    let elapsed = started.elapsed();
    assert!(failed(&slow).contains("statement_timeout_ms = 200"));
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(
        ok(&call(&*skill, "query", json!({"sql": "SELECT 1 AS one"})).await)["rows"],
        json!([[1]])
    );
    skill.check().await.unwrap();
    skill.close().await;
}

#[tokio::test]
async fn explain_shows_the_plan_and_errors_are_tool_results() {
    let schema = TestSchema::new().await;
    let skill = open(&[]).await;
    let plan = call(
        &*skill,
        "explain",
        json!({"sql": format!("SELECT * FROM {}.items WHERE id = $1", schema.name), "params": [1]}),
    )
    .await;
    let plan_json = ok(&plan);
    assert_eq!(plan_json["columns"], json!(["QUERY PLAN"]));
    assert!(text(&plan).contains("Scan"), "{}", text(&plan));

    // SQL the statement check cannot parse never reaches the server; SQL
    // the server refuses comes back with the server's own error.
    let bad = call(&*skill, "query", json!({"sql": "SELEC 1"})).await;
    let message = failed(&bad);
    assert!(
        message.contains("could not be checked as PostgreSQL SQL"),
        "{message}"
    );
    let missing = call(
        &*skill,
        "query",
        json!({"sql": "SELECT * FROM no_such_table"}),
    )
    .await;
    let message = failed(&missing);
    assert!(
        message.contains("does not exist") && message.contains("42P01"),
        "{message}"
    );
    let unknown = call(&*skill, "drop_everything", json!({})).await;
    assert!(failed(&unknown).contains("no tool named `drop_everything`"));
    let extra = call(&*skill, "query", json!({"sql": "SELECT 1", "limit": 5})).await;
    assert!(failed(&extra).contains("no argument `limit`"));
    skill.close().await;
}

#[tokio::test]
async fn bad_configuration_and_closed_skills_fail_clearly() {
    let missing = skills::open(SkillKind::Postgres, &BTreeMap::new())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(missing, SkillError::MissingField { ref field } if field == "url"),
        "{missing:?}"
    );
    let values = BTreeMap::from([
        ("url".to_string(), base_url()),
        ("row_limit".to_string(), "lots".to_string()),
    ]);
    let bad = skills::open(SkillKind::Postgres, &values)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(bad, SkillError::BadConfig { ref field, .. } if field == "row_limit"),
        "{bad:?}"
    );
    let unknown = "oracle".parse::<SkillKind>().unwrap_err();
    assert!(unknown.contains("the skills are"), "{unknown}");

    let skill = open(&[]).await;
    skill.close().await;
    assert!(skill.check().await.is_err());
}

#[tokio::test]
async fn unreachable_port_is_reported_without_the_password() {
    let values = BTreeMap::from([(
        "url".to_string(),
        "postgres://postgres:s3cretpw@127.0.0.1:1/test".to_string(),
    )]);
    let started = Instant::now();
    let err = skills::open(SkillKind::Postgres, &values)
        .await
        .err()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    match &err {
        SkillError::Unreachable { target, .. } => {
            assert_eq!(target, "postgres://postgres:***@127.0.0.1:1/test");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(!err.to_string().contains("s3cretpw"), "{err}");
    assert!(!format!("{err:?}").contains("s3cretpw"), "{err:?}");
}

/// A throwaway PostgreSQL cluster that checks passwords (scram-sha-256).
struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivateCluster {
    /// Starts one, or says why it cannot on this machine.
    fn start(password: &str) -> Result<Self, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no /usr/lib/postgresql: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|p| p.join("initdb").exists())
            .ok_or("initdb not found")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let run_as_postgres = is_root();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(dir.path().join("pw"), password).unwrap();
        let cluster = PrivateCluster { dir, bin, port };
        if run_as_postgres {
            cluster.sh("chown", &["-R", "postgres:", &cluster.path("")], false)?;
        }
        cluster.sh(
            "initdb",
            &[
                "-D",
                &cluster.path("data"),
                "-U",
                "postgres",
                "-A",
                "scram-sha-256",
                "--pwfile",
                &cluster.path("pw"),
            ],
            run_as_postgres,
        )?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            cluster.port,
            cluster.path("")
        );
        cluster.sh(
            "pg_ctl",
            &[
                "-D",
                &cluster.path("data"),
                "-o",
                &options,
                "-l",
                &cluster.path("log"),
                "-w",
                "start",
            ],
            run_as_postgres,
        )?;
        Ok(cluster)
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn sh(&self, program: &str, args: &[&str], as_postgres: bool) -> Result<(), String> {
        let program = if self.bin.join(program).exists() {
            self.bin.join(program).to_string_lossy().into_owned()
        } else {
            program.to_string()
        };
        let mut command = if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &program]);
            c
        } else {
            Command::new(&program)
        };
        let out = command
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self.sh(
            "pg_ctl",
            &["-D", &self.path("data"), "-m", "immediate", "stop"],
            is_root(),
        );
    }
}

/// Whether the tests run as root, which PostgreSQL refuses to run as.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

#[tokio::test]
async fn wrong_password_is_auth_failed() {
    let cluster = match PrivateCluster::start("right-horse-battery") {
        Ok(cluster) => cluster,
        Err(why) => {
            eprintln!(
                "SKIPPED wrong_password_is_auth_failed: cannot start a private cluster: {why}"
            );
            return;
        }
    };
    let url = |pw: &str| {
        format!(
            "postgres://postgres:{pw}@127.0.0.1:{}/postgres",
            cluster.port
        )
    };
    let wrong = BTreeMap::from([("url".to_string(), url("staple-wrong"))]);
    let err = skills::open(SkillKind::Postgres, &wrong)
        .await
        .err()
        .unwrap();
    match &err {
        SkillError::AuthFailed { message } => {
            assert!(
                message.contains("`url`") && message.contains("postgres"),
                "{message}"
            );
        }
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("staple-wrong"));
    // The right password works, so the failure above was the password's.
    let right = BTreeMap::from([("url".to_string(), url("right-horse-battery"))]);
    let skill = skills::open(SkillKind::Postgres, &right).await.unwrap();
    skill.close().await;
}
