//! The `mysql` skill against the real MariaDB/MySQL on 127.0.0.1:3306.
//!
//! Each test works in its own database (`sb_my_<random>`) and, for the
//! password test, its own user; guards drop both even when an assertion
//! fails. `SWITCHBOARD_TEST_MYSQL_URL` overrides the server (default
//! `mysql://root@127.0.0.1:3306/test`, root without a password).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use rmcp::model::{CallToolResult, JsonObject};
use serde_json::{json, Value};
use switchboard::skills::SkillKind;
use switchboard::skills::{self, Skill, SkillError};

fn admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// The admin URL pointed at another database.
fn url_for(database: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{database}")
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

/// Runs admin statements on a connection of their own.
async fn admin(statements: &[String]) {
    let mut conn = mysql_async::Conn::from_url(admin_url()).await.unwrap();
    for sql in statements {
        conn.query_drop(sql).await.unwrap();
    }
    conn.disconnect().await.unwrap();
}

/// Runs admin statements from `Drop`, which cannot await.
fn admin_blocking(statements: Vec<String>) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(admin(&statements));
    })
    .join();
}

/// A database of our own with `items` and a view; dropped on drop.
struct TestDb {
    name: String,
}

impl TestDb {
    async fn new() -> Self {
        let name = format!("sb_my_{}", random_suffix());
        admin(&[
            format!("CREATE DATABASE {name}"),
            format!(
                "CREATE TABLE {name}.items (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL DEFAULT 'unnamed', price DECIMAL(10,2))"
            ),
            format!("CREATE VIEW {name}.cheap AS SELECT * FROM {name}.items WHERE price < 10"),
            format!("INSERT INTO {name}.items VALUES (1, 'apple', 1.50), (2, 'pear', 12.00)"),
        ])
        .await;
        TestDb { name }
    }

    async fn open(&self, extra: &[(&str, &str)]) -> Box<dyn Skill> {
        let mut values = BTreeMap::from([("url".to_string(), url_for(&self.name))]);
        for (k, v) in extra {
            values.insert(k.to_string(), v.to_string());
        }
        skills::open(SkillKind::Mysql, &values).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        admin_blocking(vec![format!("DROP DATABASE IF EXISTS {}", self.name)]);
    }
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
async fn catalog_tools_list_and_describe() {
    let db = TestDb::new().await;
    let skill = db.open(&[]).await;
    let names: Vec<String> = skill.tools().iter().map(|t| t.name.to_string()).collect();
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

    let schemas = call(&*skill, "list_schemas", json!({})).await;
    let rows = ok(&schemas)["rows"].as_array().unwrap().clone();
    assert!(rows.contains(&json!([db.name])), "{rows:?}");
    assert!(!rows.contains(&json!(["mysql"])));

    // Without `schema`, the URL's database.
    let tables = call(&*skill, "list_tables", json!({})).await;
    assert_eq!(
        ok(&tables)["rows"],
        json!([[db.name, "cheap", "view"], [db.name, "items", "table"]])
    );
    let explicit = call(&*skill, "list_tables", json!({"schema": db.name})).await;
    assert_eq!(ok(&explicit)["rows"], ok(&tables)["rows"]);

    let described = call(&*skill, "describe_table", json!({"table": "items"})).await;
    let described = ok(&described);
    assert_eq!(
        described["rows"],
        json!([
            ["id", "int(11)", false, null, true],
            ["name", "varchar(50)", false, "'unnamed'", false],
            ["price", "decimal(10,2)", true, null, false]
        ])
    );
    assert_eq!(described["primary_key"], json!(["id"]));
    let missing = call(&*skill, "describe_table", json!({"table": "nope"})).await;
    assert!(failed(&missing).contains("no table or view named `nope`"));
    skill.close().await;
}

#[tokio::test]
async fn values_round_trip_and_map_to_json_by_column_type() {
    let db = TestDb::new().await;
    let writer = db.open(&[("allow_writes", "true")]).await;
    let create = call(
        &*writer,
        "execute",
        json!({"sql": "CREATE TABLE typed (n DECIMAL(30,2), b VARBINARY(16), ts TIMESTAMP(3) NULL, dt DATETIME(6),
                        d DATE, t TIME, j JSON, nothing VARCHAR(5), flag BOOLEAN, big BIGINT, ubig BIGINT UNSIGNED,
                        f DOUBLE, f4 FLOAT, bits BIT(8), e ENUM('a', 'b'), txt TEXT)"}),
    )
    .await;
    ok(&create);
    let insert = call(
        &*writer,
        "execute",
        json!({"sql": "INSERT INTO typed VALUES (?, FROM_BASE64(?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, b'00000101', ?, ?)",
               "params": ["12345678901234567890.12", "3q2+7w==", "2024-05-01 10:34:56.789", "1999-12-31 23:59:59.5",
                          "2024-02-29", "-838:59:59", "{\"k\": [\"v\", 1]}", null, true,
                          -9007199254740993i64, 18446744073709551615u64, 1.5, 0.1, "b", "héllo"]}),
    )
    .await;
    assert_eq!(ok(&insert)["rows_affected"], json!(1));
    let back = call(&*writer, "query", json!({"sql": "SELECT * FROM typed"})).await;
    let back = ok(&back);
    assert_eq!(
        back["rows"],
        json!([[
            "12345678901234567890.12",
            "3q2+7w==",
            "2024-05-01T10:34:56.789Z",
            "1999-12-31T23:59:59.5",
            "2024-02-29",
            "-838:59:59",
            "{\"k\": [\"v\", 1]}",
            null,
            1,
            -9007199254740993i64,
            18446744073709551615u64,
            1.5,
            0.1,
            5,
            "b",
            "héllo"
        ]])
    );
    assert_eq!(
        back["column_types"],
        json!([
            "decimal",
            "varbinary",
            "timestamp",
            "datetime",
            "date",
            "time",
            "text",
            "varchar",
            "tinyint",
            "bigint",
            "bigint unsigned",
            "double",
            "float",
            "bit",
            "enum",
            "text"
        ])
    );

    // Bound, not spliced: quotes arrive as data.
    let sneaky = "'; DROP TABLE items; --";
    let echoed = call(
        &*writer,
        "query",
        json!({"sql": "SELECT ? AS t, ? + 1 AS n", "params": [sneaky, 41]}),
    )
    .await;
    assert_eq!(ok(&echoed)["rows"], json!([[sneaky, 42]]));
    let wrong_count = call(&*writer, "query", json!({"sql": "SELECT ?", "params": []})).await;
    assert!(failed(&wrong_count).contains("1 placeholder(s) but 0 parameter(s)"));
    writer.close().await;
}

#[tokio::test]
async fn writes_need_allow_writes_and_query_stays_read_only() {
    let db = TestDb::new().await;
    let reader = db.open(&[]).await;
    let insert = "INSERT INTO items VALUES (3, 'plum', 2.00)";
    let refused = call(&*reader, "execute", json!({"sql": insert})).await;
    assert!(failed(&refused).contains("allow_writes"));
    let sneaked = call(&*reader, "query", json!({"sql": insert})).await;
    assert!(failed(&sneaked).contains("read-only"), "{}", text(&sneaked));
    let two_statements = call(
        &*reader,
        "query",
        json!({"sql": "COMMIT; INSERT INTO items VALUES (4, 'fig', 1)"}),
    )
    .await;
    failed(&two_statements);
    let count = json!({"sql": "SELECT COUNT(*) AS n FROM items"});
    assert_eq!(
        ok(&call(&*reader, "query", count.clone()).await)["rows"],
        json!([[2]])
    );

    let writer = db.open(&[("allow_writes", "true")]).await;
    let still_read_only = call(&*writer, "query", json!({"sql": insert})).await;
    assert!(failed(&still_read_only).contains("read-only"));
    let done = call(
        &*writer,
        "execute",
        json!({"sql": "INSERT INTO items VALUES (?, ?, ?)", "params": [3, "plum", "2.00"]}),
    )
    .await;
    assert_eq!(ok(&done)["rows_affected"], json!(1));
    assert_eq!(
        ok(&call(&*reader, "query", count).await)["rows"],
        json!([[3]])
    );
    reader.close().await;
    writer.close().await;
}

#[tokio::test]
async fn row_limit_truncates_and_timeout_cancels_quickly() {
    let db = TestDb::new().await;
    let skill = db
        .open(&[("row_limit", "3"), ("statement_timeout_ms", "200")])
        .await;
    let many = call(
        &*skill,
        "query",
        json!({"sql": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000) SELECT n FROM r"}),
    )
    .await;
    let many = ok(&many);
    assert_eq!(many["rows"], json!([[1], [2], [3]]));
    assert_eq!(
        (many["row_count"].clone(), many["truncated"].clone()),
        (json!(3), json!(true))
    );
    let exact = call(&*skill, "query", json!({"sql": "SELECT id FROM items"})).await;
    assert_eq!(ok(&exact)["truncated"], json!(false));

    let started = Instant::now();
    let slow = call(&*skill, "query", json!({"sql": "SELECT SLEEP(5)"})).await;
    let elapsed = started.elapsed();
    assert!(
        failed(&slow).contains("statement_timeout_ms = 200"),
        "{}",
        text(&slow)
    );
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(
        ok(&call(&*skill, "query", json!({"sql": "SELECT 1 AS one"})).await)["rows"],
        json!([[1]])
    );
    skill.close().await;
}

#[tokio::test]
async fn explain_shows_the_plan_and_bad_sql_is_a_tool_error() {
    let db = TestDb::new().await;
    let skill = db.open(&[]).await;
    let plan = call(
        &*skill,
        "explain",
        json!({"sql": "SELECT * FROM items WHERE id = ?", "params": [1]}),
    )
    .await;
    let plan_json = ok(&plan);
    assert!(
        plan_json["columns"]
            .as_array()
            .unwrap()
            .contains(&json!("select_type")),
        "{plan_json}"
    );
    assert!(text(&plan).contains("items"), "{}", text(&plan));
    // SQL the statement check cannot parse never reaches the server; SQL
    // the server refuses comes back with the server's own error.
    let bad = call(&*skill, "query", json!({"sql": "SELEC 1"})).await;
    let message = failed(&bad);
    assert!(
        message.contains("could not be checked as MySQL SQL"),
        "{message}"
    );
    let missing = call(
        &*skill,
        "query",
        json!({"sql": "SELECT * FROM no_such_table"}),
    )
    .await;
    let message = failed(&missing);
    assert!(message.contains("error 1146"), "{message}");
    skill.check().await.unwrap();
    skill.close().await;
    assert!(skill.check().await.is_err());
}

/// A user with a password, dropped on drop.
struct TestUser {
    name: String,
}

impl Drop for TestUser {
    fn drop(&mut self) {
        admin_blocking(vec![format!("DROP USER IF EXISTS '{}'@'%'", self.name)]);
    }
}

#[tokio::test]
async fn wrong_password_is_auth_failed_without_echoing_it() {
    let user = TestUser {
        name: format!("sb_my_{}", random_suffix()),
    };
    admin(&[format!(
        "CREATE USER '{}'@'%' IDENTIFIED BY 'right-horse'",
        user.name
    )])
    .await;
    let url = |pw: &str| format!("mysql://{}:{pw}@127.0.0.1:3306/", user.name);
    let wrong = BTreeMap::from([("url".to_string(), url("staple-wrong"))]);
    let err = skills::open(SkillKind::Mysql, &wrong).await.err().unwrap();
    match &err {
        SkillError::AuthFailed { message } => {
            assert!(
                message.contains(&user.name) && message.contains("`url`"),
                "{message}"
            );
        }
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("staple-wrong"));
    let right = BTreeMap::from([("url".to_string(), url("right-horse"))]);
    let skill = skills::open(SkillKind::Mysql, &right).await.unwrap();
    skill.close().await;
}

#[tokio::test]
async fn unreachable_port_is_reported_without_the_password() {
    let values = BTreeMap::from([(
        "url".to_string(),
        "mysql://root:s3cretpw@127.0.0.1:1/test".to_string(),
    )]);
    let err = skills::open(SkillKind::Mysql, &values).await.err().unwrap();
    match &err {
        SkillError::Unreachable { target, .. } => {
            assert_eq!(target, "mysql://root:***@127.0.0.1:1/test")
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("s3cretpw"));
    let bad = BTreeMap::from([("url".to_string(), "postgres://nope".to_string())]);
    let err = skills::open(SkillKind::Mysql, &bad).await.err().unwrap();
    assert!(
        matches!(err, SkillError::BadConfig { ref field, .. } if field == "url"),
        "{err:?}"
    );
}
