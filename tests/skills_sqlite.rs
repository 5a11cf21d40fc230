//! The `sqlite` skill on `:memory:` databases and temporary files.
//!
//! Every test has its own database (in memory, or a file in its own temp
//! directory that is removed on drop), so they run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolResult, JsonObject};
use serde_json::{json, Value};
use switchboard::skills::SkillKind;
use switchboard::skills::{self, Skill, SkillError};

async fn open(path: &str, extra: &[(&str, &str)]) -> Result<Box<dyn Skill>, SkillError> {
    let mut values = BTreeMap::from([("path".to_string(), path.to_string())]);
    for (k, v) in extra {
        values.insert(k.to_string(), v.to_string());
    }
    skills::open(SkillKind::Sqlite, &values).await
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

/// Creates the `items` table and a view through the skill itself.
async fn seed(skill: &dyn Skill) {
    for sql in [
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'unnamed', price NUMERIC)",
        "CREATE VIEW cheap AS SELECT * FROM items WHERE price < 10",
        "INSERT INTO items VALUES (1, 'apple', 1.5), (2, 'pear', 12)",
    ] {
        ok(&call(skill, "execute", json!({"sql": sql})).await);
    }
}

#[tokio::test]
async fn memory_database_runs_every_tool() {
    let skill = open(":memory:", &[("allow_writes", "true")]).await.unwrap();
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
    seed(&*skill).await;

    assert_eq!(
        ok(&call(&*skill, "list_schemas", json!({})).await)["rows"],
        json!([["main"]])
    );
    let tables = call(&*skill, "list_tables", json!({"schema": "main"})).await;
    assert_eq!(
        ok(&tables)["rows"],
        json!([["main", "cheap", "view"], ["main", "items", "table"]])
    );
    let described = call(&*skill, "describe_table", json!({"table": "items"})).await;
    let described = ok(&described);
    assert_eq!(
        described["rows"],
        json!([
            ["id", "INTEGER", true, null, true],
            ["name", "TEXT", false, "'unnamed'", false],
            ["price", "NUMERIC", true, null, false]
        ])
    );
    assert_eq!(described["primary_key"], json!(["id"]));
    assert!(
        failed(&call(&*skill, "describe_table", json!({"table": "nope"})).await).contains("`nope`")
    );

    let inserted = call(
        &*skill,
        "execute",
        json!({"sql": "INSERT INTO items (id, name) VALUES (?1, ?2), (?3, ?4) RETURNING id", "params": [3, "plum", 4, "fig"]}),
    )
    .await;
    let inserted = ok(&inserted);
    assert_eq!(
        (inserted["rows"].clone(), inserted["rows_affected"].clone()),
        (json!([[3], [4]]), json!(2))
    );

    let found = call(
        &*skill,
        "query",
        json!({"sql": "SELECT id, name FROM items WHERE id > ? ORDER BY id", "params": [2]}),
    )
    .await;
    assert_eq!(
        ok(&found),
        &json!({"columns": ["id", "name"], "column_types": ["INTEGER", "TEXT"], "rows": [[3, "plum"], [4, "fig"]],
                "row_count": 2, "truncated": false})
    );
    let plan = call(
        &*skill,
        "explain",
        json!({"sql": "SELECT * FROM items WHERE id = ?", "params": [1]}),
    )
    .await;
    ok(&plan);
    assert!(text(&plan).contains("items"), "{}", text(&plan));
    skill.close().await;
    assert!(skill.check().await.is_err());
}

#[tokio::test]
async fn values_map_by_storage_class_and_declared_type() {
    let skill = open(":memory:", &[("allow_writes", "true")]).await.unwrap();
    let create = "CREATE TABLE typed (flag BOOLEAN, doc JSON, data BLOB, big INTEGER, f REAL, t TEXT, empty TEXT)";
    ok(&call(&*skill, "execute", json!({"sql": create})).await);
    let row = json!([true, {"k": ["v", 1]}, "3q2+7w==", 9007199254740993i64, 1.5, "héllo", null]);
    // Parameters are untyped in SQLite, so the blob goes in as a hex literal.
    let insert = call(
        &*skill,
        "execute",
        json!({"sql": "INSERT INTO typed VALUES (?, ?, X'DEADBEEF', ?, ?, ?, ?)",
               "params": [true, {"k": ["v", 1]}, 9007199254740993i64, 1.5, "héllo", null]}),
    )
    .await;
    assert_eq!(ok(&insert)["rows_affected"], json!(1));
    let back = call(&*skill, "query", json!({"sql": "SELECT * FROM typed"})).await;
    assert_eq!(ok(&back)["rows"], json!([row]));
    let computed = call(
        &*skill,
        "query",
        json!({"sql": "SELECT 1 + 1 AS two, 0.5 AS half, NULL AS n, x'00ff' AS b"}),
    )
    .await;
    assert_eq!(ok(&computed)["rows"], json!([[2, 0.5, null, "AP8="]]));
    skill.close().await;
}

#[tokio::test]
async fn file_database_is_read_only_without_allow_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db").to_string_lossy().into_owned();

    // A missing file is created empty, and stays read-only.
    let fresh = open(&path, &[]).await.unwrap();
    assert!(std::path::Path::new(&path).exists());
    let create = json!({"sql": "CREATE TABLE t (x INTEGER)"});
    assert!(failed(&call(&*fresh, "query", create).await).contains("read-only"));
    fresh.close().await;

    let writer = open(&path, &[("allow_writes", "true")]).await.unwrap();
    seed(&*writer).await;
    writer.close().await;

    let reader = open(&path, &[]).await.unwrap();
    let insert = json!({"sql": "INSERT INTO items VALUES (3, 'plum', 2)"});
    assert!(failed(&call(&*reader, "execute", insert.clone()).await).contains("allow_writes"));
    assert!(failed(&call(&*reader, "query", insert.clone()).await).contains("read-only"));
    // `query` cannot turn query_only off.
    let pragma = call(&*reader, "query", json!({"sql": "PRAGMA query_only = 0"})).await;
    assert!(failed(&pragma).contains("PRAGMA"), "{}", text(&pragma));
    assert!(failed(&call(&*reader, "query", insert.clone()).await).contains("read-only"));
    let two = call(
        &*reader,
        "query",
        json!({"sql": "PRAGMA query_only = 0; INSERT INTO items VALUES (5, 'x', 1)"}),
    )
    .await;
    assert!(failed(&two).contains("one statement"));
    let count = json!({"sql": "SELECT count(*) AS n FROM items"});
    assert_eq!(
        ok(&call(&*reader, "query", count.clone()).await)["rows"],
        json!([[2]])
    );
    reader.close().await;

    // With allow_writes, `execute` writes but `query` still does not.
    let writer = open(&path, &[("allow_writes", "true")]).await.unwrap();
    assert!(failed(&call(&*writer, "query", insert.clone()).await).contains("read-only"));
    assert_eq!(
        ok(&call(&*writer, "execute", insert).await)["rows_affected"],
        json!(1)
    );
    assert_eq!(
        ok(&call(&*writer, "query", count).await)["rows"],
        json!([[3]])
    );
    writer.close().await;

    std::fs::write(
        dir.path().join("junk.db"),
        b"this is not a database, just some text!",
    )
    .unwrap();
    let junk = dir.path().join("junk.db").to_string_lossy().into_owned();
    assert!(open(&junk, &[]).await.is_err());
}

#[tokio::test]
async fn row_limit_truncates_and_timeout_interrupts() {
    let skill = open(
        ":memory:",
        &[("row_limit", "3"), ("statement_timeout_ms", "200")],
    )
    .await
    .unwrap();
    let counting = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000) SELECT n FROM r";
    let many = call(&*skill, "query", json!({"sql": counting})).await;
    let many = ok(&many);
    assert_eq!(many["rows"], json!([[1], [2], [3]]));
    assert_eq!(
        (many["row_count"].clone(), many["truncated"].clone()),
        (json!(3), json!(true))
    );
    let few = call(
        &*skill,
        "query",
        json!({"sql": "SELECT 1 UNION ALL SELECT 2"}),
    )
    .await;
    assert_eq!(ok(&few)["truncated"], json!(false));

    let endless =
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r";
    let started = Instant::now();
    let slow = call(&*skill, "query", json!({"sql": endless})).await;
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

    let bad = call(&*skill, "query", json!({"sql": "SELEC 1"})).await;
    assert!(failed(&bad).contains("could not be checked as SQLite SQL"));
    let missing = call(
        &*skill,
        "query",
        json!({"sql": "SELECT * FROM no_such_table"}),
    )
    .await;
    assert!(
        failed(&missing).contains("no such table"),
        "{}",
        text(&missing)
    );
    let wrong = call(
        &*skill,
        "query",
        json!({"sql": "SELECT ?", "params": [1, 2]}),
    )
    .await;
    assert!(failed(&wrong).contains("1 placeholder(s) but 2 parameter(s)"));
    skill.check().await.unwrap();
    skill.close().await;
}

#[tokio::test]
async fn configuration_is_checked() {
    let err = skills::open(SkillKind::Sqlite, &BTreeMap::new())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SkillError::MissingField { ref field } if field == "path"));
    let err = open(":memory:", &[("statement_timeout_ms", "-5")])
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, SkillError::BadConfig { ref field, .. } if field == "statement_timeout_ms")
    );
}

/// Runs `sql` with `tool` and asserts the skill refused it.
async fn refused(skill: &dyn Skill, tool: &str, sql: &str) -> String {
    failed(&call(skill, tool, json!({ "sql": sql })).await)
}

/// `ATTACH` creates the file it names even with `query_only` on; it, and
/// the other ways out of the database file, are refused by every tool
/// unless `allow_server_files` (with `allow_writes`) lets `execute` do them.
#[tokio::test]
async fn attach_extensions_and_setting_pragmas_are_refused_without_the_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db").to_string_lossy().into_owned();
    let new_db = dir.path().join("new.db");
    let n = new_db.to_string_lossy().into_owned();
    let vacuumed = dir.path().join("copy.db");
    let v = vacuumed.to_string_lossy().into_owned();
    let writer = open(&path, &[("allow_writes", "true")]).await.unwrap();
    seed(&*writer).await;

    let reader = open(&path, &[]).await.unwrap();
    let attach = refused(&*reader, "query", &format!("attach database '{n}' as x")).await;
    assert!(
        attach.contains("`ATTACH`") && attach.contains("allow_server_files"),
        "{attach}"
    );
    for sql in [
        format!("AtTaCh '{n}' AS x"),
        format!("select 1; attach '{n}' as x"),
        format!("/* /* */ attach '{n}' as x -- */"),
        format!("vacuum into '{v}'"),
        format!("select load_extension('{n}')"),
        "pragma query_only = 0".to_string(),
        "pragma writable_schema = 1".to_string(),
        "with gone as (select * from items) delete from items".to_string(),
    ] {
        refused(&*reader, "query", &sql).await;
    }
    refused(&*reader, "explain", &format!("ATTACH '{n}' AS x")).await;
    refused(&*writer, "query", &format!("attach '{n}' as x")).await;
    for sql in [format!("attach '{n}' as x"), format!("vacuum into '{v}'")] {
        let message = refused(&*writer, "execute", &sql).await;
        assert!(message.contains("allow_server_files"), "{message}");
    }
    assert!(!new_db.exists(), "ATTACH created {n}");
    assert!(!vacuumed.exists(), "VACUUM INTO wrote {v}");
    let count = json!({"sql": "SELECT count(*) FROM items"});
    assert_eq!(
        ok(&call(&*reader, "query", count).await)["rows"],
        json!([[2]])
    );
    reader.close().await;
    writer.close().await;

    let trusted = open(
        &path,
        &[("allow_writes", "true"), ("allow_server_files", "true")],
    )
    .await
    .unwrap();
    ok(&call(
        &*trusted,
        "execute",
        json!({"sql": format!("attach '{n}' as x")}),
    )
    .await);
    assert!(new_db.exists(), "ATTACH did not run with the opt-in");
    ok(&call(
        &*trusted,
        "execute",
        json!({"sql": "create table x.notes (a)"}),
    )
    .await);
    let tables = json!({"sql": "SELECT name FROM x.sqlite_schema"});
    assert_eq!(
        ok(&call(&*trusted, "query", tables).await)["rows"],
        json!([["notes"]])
    );
    trusted.close().await;
}

#[tokio::test]
async fn ordinary_reads_still_work() {
    let skill = open(":memory:", &[("allow_writes", "true")]).await.unwrap();
    seed(&*skill).await;
    let cases = [
        (
            "select i.name, c.name from items i join cheap c on c.id = i.id",
            json!([]),
            json!([["apple", "apple"]]),
        ),
        (
            "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select sum(n) from r",
            json!([]),
            json!([[6]]),
        ),
        (
            "select id, rank() over (order by price desc) from items order by id",
            json!([]),
            json!([[1, 2], [2, 1]]),
        ),
        (
            "select json_extract('{\"k\": [1, 2]}', '$.k[1]'), [id], \"name\" from items where id = ?1",
            json!([1]),
            json!([[2, 1, "apple"]]),
        ),
        ("pragma user_version", json!([]), json!([[0]])),
        ("select count(*) from pragma_table_info('items')", json!([]), json!([[3]])),
        (
            "SeLeCt 1 /* a comment */ -- and another",
            json!([]),
            json!([[1]]),
        ),
    ];
    for (sql, params, expected) in cases {
        let result = call(&*skill, "query", json!({ "sql": sql, "params": params })).await;
        assert_eq!(ok(&result)["rows"], expected, "{sql}");
    }
    ok(&call(
        &*skill,
        "explain",
        json!({"sql": "select * from items where id = 1"}),
    )
    .await);
    ok(&call(
        &*skill,
        "explain",
        json!({"sql": "update items set price = 0"}),
    )
    .await);
    skill.close().await;
}
