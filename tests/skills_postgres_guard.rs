//! The `postgres` skill under hostile SQL, against the real PostgreSQL on
//! 127.0.0.1:5432 (as in `skills_postgres.rs`; the file checks assume the
//! server runs on this machine, as it does in development and CI).
//!
//! A read-only transaction stops none of `COPY … TO PROGRAM`, `COPY … TO
//! 'file'` or `pg_read_file()`; these tests send them through every tool
//! and look for the file a statement that ran would have left. They also
//! prove that ordinary reads still work, that `allow_server_files` is the
//! only way to such statements, and that a superuser connection is warned
//! about where a person sees it (`status --json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod skills_support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use skills_support::{call, ok, random_suffix, refused, SharedDir};
use switchboard::skills::SkillKind;
use switchboard::skills::{self, Skill};

fn base_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The base URL with another role (the server trusts local logins).
fn url_as(role: &str) -> String {
    let mut url = url::Url::parse(&base_url()).unwrap();
    url.set_username(role).unwrap();
    url.set_password(None).unwrap();
    url.to_string()
}

async fn admin(sql: &str) {
    let (client, conn) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

/// Runs `sql` as the admin from a thread of its own (for `Drop`).
fn admin_blocking(sql: String) {
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(admin(&sql));
    })
    .join();
}

/// A schema with a table `items` (two rows) and a view `cheap`, and roles
/// made for the test; all dropped on drop.
struct Fixture {
    schema: String,
    roles: Vec<String>,
}

impl Fixture {
    async fn new() -> Fixture {
        let schema = format!("sb_pg_guard_{}", random_suffix());
        admin(&format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.items (id integer PRIMARY KEY, name text, price numeric(10,2));
             CREATE VIEW {schema}.cheap AS SELECT * FROM {schema}.items WHERE price < 10;
             INSERT INTO {schema}.items VALUES (1, 'apple', 1.50), (2, 'pear', 12.00);"
        ))
        .await;
        Fixture {
            schema,
            roles: Vec::new(),
        }
    }

    /// A login role with `grants` (SQL run with `{role}` replaced).
    async fn role(&mut self, grants: &str) -> String {
        let role = format!("sb_pg_role_{}", random_suffix());
        admin(&format!(
            "CREATE ROLE {role} LOGIN; {}",
            grants.replace("{role}", &role)
        ))
        .await;
        self.roles.push(role.clone());
        role
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let mut sql = format!("DROP SCHEMA IF EXISTS {} CASCADE;", self.schema);
        for role in &self.roles {
            sql.push_str(&format!("DROP ROLE IF EXISTS {role};"));
        }
        admin_blocking(sql);
    }
}

async fn open_url(url: String, extra: &[(&str, &str)]) -> Box<dyn Skill> {
    let mut values = BTreeMap::from([("url".to_string(), url)]);
    for (k, v) in extra {
        values.insert(k.to_string(), v.to_string());
    }
    skills::open(SkillKind::Postgres, &values).await.unwrap()
}

async fn open(extra: &[(&str, &str)]) -> Box<dyn Skill> {
    open_url(base_url(), extra).await
}

async fn rows(skill: &dyn Skill, sql: &str) -> Value {
    ok(&call(skill, "query", json!({ "sql": sql })).await)["rows"].clone()
}

#[tokio::test]
async fn query_and_explain_refuse_what_escapes_a_read_only_transaction() {
    let fx = Fixture::new().await;
    let s = fx.schema.as_str();
    let dir = SharedDir::new();
    let (ran, ran_sql) = dir.file("ran");
    let (written, written_sql) = dir.file("written");
    let reader = open(&[]).await;

    let program = refused(
        &*reader,
        "query",
        &format!("copy (select 1) to program 'touch {ran_sql}'"),
    )
    .await;
    assert!(program.contains("runs a program"), "{program}");
    assert!(program.contains("allow_server_files"), "{program}");
    let file = refused(&*reader, "query", "select pg_read_file('/etc/passwd')").await;
    assert!(file.contains("`pg_read_file()`"), "{file}");
    for sql in [
        format!("COPY (SELECT 1) TO '{written_sql}'"),
        format!("copy {s}.items from '/etc/hostname'"),
        format!("select 1; copy (select 1) to program 'touch {ran_sql}'"),
        format!("/* harmless */ CoPy (SeLeCt 1) To PrOgRaM 'touch {ran_sql}'"),
        format!("select $$ ; copy (select 1) to program 'touch {ran_sql}' ; $$, pg_read_file('/etc/passwd')"),
        format!("select E'\\'', lo_export(1, '{written_sql}')"),
        "select * from pg_ls_dir('/')".to_string(),
        "select lo_import('/etc/passwd')".to_string(),
        "set role postgres".to_string(),
        "set session authorization postgres".to_string(),
        "select set_config('role', 'postgres', false)".to_string(),
        format!("with gone as (delete from {s}.items returning *) select * from gone"),
        format!("explain analyze delete from {s}.items"),
        format!("select * from {s}.items for update"),
        format!("select * into {s}.copied from {s}.items"),
    ] {
        refused(&*reader, "query", &sql).await;
    }
    // `explain` is checked as the EXPLAIN text it runs.
    for sql in [
        format!("ANALYZE DELETE FROM {s}.items"),
        format!("(ANALYZE) DELETE FROM {s}.items"),
        format!("SELECT 1; COPY (SELECT 1) TO PROGRAM 'touch {ran_sql}'"),
        "SELECT pg_read_file('/etc/passwd')".to_string(),
    ] {
        refused(&*reader, "explain", &sql).await;
    }
    // A connector that may write is just as read-only through `query`.
    let writer = open(&[("allow_writes", "true")]).await;
    refused(
        &*writer,
        "query",
        &format!("copy (select 1) to program 'touch {ran_sql}'"),
    )
    .await;

    assert!(!ran.exists(), "a program ran");
    assert!(!written.exists(), "a file was written");
    assert_eq!(
        rows(&*reader, &format!("select count(*) from {s}.items")).await,
        json!([[2]])
    );
    assert_eq!(
        rows(
            &*reader,
            &format!("select to_regclass('{s}.copied') is null")
        )
        .await,
        json!([[true]])
    );
    reader.close().await;
    writer.close().await;
}

#[tokio::test]
async fn ordinary_reads_still_work() {
    let fx = Fixture::new().await;
    let s = fx.schema.as_str();
    let reader = open(&[]).await;
    let cases: Vec<(String, Value)> =
        vec![
        (
            format!("select i.name, c.name from {s}.items i join {s}.cheap c on c.id = i.id"),
            json!([["apple", "apple"]]),
        ),
        (
            format!("with t as (select price from {s}.items) select sum(price)::text from t"),
            json!([["13.50"]]),
        ),
        (
            format!("select id, rank() over (order by price desc) from {s}.items order by id"),
            json!([[1, 2], [2, 1]]),
        ),
        (
            "select '42'::int + 1, array[1,2,3], (array[1,2,3])[2], '{\"k\":\"v\"}'::jsonb->>'k'"
                .to_string(),
            json!([[43, [1, 2, 3], 2, "v"]]),
        ),
        ("select $$it's$$, E'tab\\there'".to_string(), json!([["it's", "tab\there"]])),
        (
            "select g, g * 2 from generate_series(1, 2) g".to_string(),
            json!([[1, 2], [2, 4]]),
        ),
        ("values (1, 'a')".to_string(), json!([[1, "a"]])),
        ("show standard_conforming_strings".to_string(), json!([["on"]])),
        ("SeLeCt 1 /* a comment */ -- and another".to_string(), json!([[1]])),
    ];
    for (sql, expected) in cases {
        assert_eq!(rows(&*reader, &sql).await, expected, "{sql}");
    }
    let by_id = call(
        &*reader,
        "query",
        json!({"sql": format!("select name from {s}.items where id = $1"), "params": [1]}),
    )
    .await;
    assert_eq!(ok(&by_id)["rows"], json!([["apple"]]));
    for plan in [
        format!("select * from {s}.items where id = 1"),
        format!("ANALYZE select * from {s}.items"),
        format!("update {s}.items set price = 0"),
    ] {
        ok(&call(&*reader, "explain", json!({ "sql": plan })).await);
    }
    // Planning the update did not run it.
    assert_eq!(
        rows(
            &*reader,
            &format!("select count(*) from {s}.items where price = 0")
        )
        .await,
        json!([[0]])
    );
    reader.close().await;
}

#[tokio::test]
async fn server_programs_and_files_need_allow_server_files_even_with_writes() {
    let mut fx = Fixture::new().await;
    let s = fx.schema.clone();
    let dir = SharedDir::new();
    let (ran, ran_sql) = dir.file("ran");
    let program = format!("copy (select 1) to program 'touch {ran_sql}'");

    let writer = open(&[("allow_writes", "true")]).await;
    for sql in [
        program.clone(),
        format!("copy {s}.items to '{}'", dir.file("items.csv").1),
        "set role postgres".to_string(),
        format!("insert into {s}.items select 3, pg_read_file('/etc/hostname'), 1"),
    ] {
        let message = refused(&*writer, "execute", &sql).await;
        assert!(
            message.contains("set `allow_server_files=true` on this connector"),
            "{message}"
        );
    }
    assert!(!ran.exists(), "a program ran");
    let insert = format!("insert into {s}.items values (3, 'plum', 2)");
    assert_eq!(
        ok(&call(&*writer, "execute", json!({ "sql": insert })).await)["rows_affected"],
        json!(1)
    );

    // The opt-in alone does not allow writes.
    let files_only = open(&[("allow_server_files", "true")]).await;
    assert!(refused(&*files_only, "execute", &program)
        .await
        .contains("allow_writes"));

    let trusted = open(&[("allow_writes", "true"), ("allow_server_files", "true")]).await;
    ok(&call(&*trusted, "execute", json!({ "sql": program })).await);
    assert!(
        ran.exists(),
        "COPY … TO PROGRAM did not run with the opt-in"
    );
    std::fs::remove_file(&ran).unwrap();
    // ... and it never opens the read-only tools.
    refused(&*trusted, "query", &program).await;
    assert!(!ran.exists());

    // Nothing an `execute` sets outlives its call on the pooled connection.
    let other = fx.role("").await;
    ok(&call(
        &*trusted,
        "execute",
        json!({ "sql": format!("set role {other}") }),
    )
    .await);
    let set_off = "set standard_conforming_strings = off";
    ok(&call(&*trusted, "execute", json!({ "sql": set_off })).await);
    for _ in 0..8 {
        assert_eq!(
            rows(
                &*trusted,
                "select current_user::text, current_setting('standard_conforming_strings')"
            )
            .await,
            json!([["postgres", "on"]])
        );
    }
    writer.close().await;
    files_only.close().await;
    trusted.close().await;
}

#[tokio::test]
async fn a_superuser_is_warned_about_and_a_least_privilege_role_is_not() {
    let mut fx = Fixture::new().await;
    let superuser = open(&[]).await;
    let warnings = superuser.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`postgres` is a PostgreSQL superuser")
            && warnings[0].contains("CREATE ROLE switchboard_ro LOGIN PASSWORD")
            && warnings[0].contains("GRANT pg_read_all_data TO switchboard_ro;"),
        "{}",
        warnings[0]
    );
    let query_tool = superuser
        .tools()
        .into_iter()
        .find(|t| t.name == "query")
        .unwrap();
    assert!(query_tool
        .description
        .unwrap_or_default()
        .contains("Warning: the database role `postgres`"));

    let reader_role = fx.role("GRANT pg_read_all_data TO {role};").await;
    let reader = open_url(url_as(&reader_role), &[]).await;
    assert_eq!(reader.warnings(), Vec::<String>::new());
    assert!(reader.tools().iter().all(|t| !t
        .description
        .as_deref()
        .unwrap_or("")
        .contains("Warning")));
    assert_eq!(
        rows(
            &*reader,
            &format!("select count(*) from {}.items", fx.schema)
        )
        .await,
        json!([[2]])
    );

    let file_role = fx.role("GRANT pg_read_server_files TO {role};").await;
    let files = open_url(url_as(&file_role), &[]).await;
    let warnings = files.warnings();
    assert!(
        warnings.len() == 1
            && warnings[0].contains("member of pg_read_server_files")
            && warnings[0].contains(&format!("REVOKE pg_read_server_files FROM {file_role};")),
        "{warnings:?}"
    );
    superuser.close().await;
    reader.close().await;
    files.close().await;
}

/// The warning where a person sees it: `connect`, `status` (human and
/// `--json`), `config` and the tool list; and none for a least-privilege
/// role.
#[test]
fn status_config_and_tools_show_the_warning() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut fx = runtime.block_on(Fixture::new());
    let reader_role = runtime.block_on(fx.role("GRANT pg_read_all_data TO {role};"));

    let sb = common::Sandbox::new();
    let connect = sb.run_env(
        &[
            "connect",
            "postgres",
            "--backend",
            "skill",
            "--secret-from-env",
            "url=SB_TEST_PG_URL",
        ],
        &[("SB_TEST_PG_URL", &base_url())],
    );
    assert!(connect.status.success(), "{}", common::stderr(&connect));
    assert_eq!(String::from_utf8_lossy(&connect.stdout).trim(), "connected");
    assert!(common::stderr(&connect)
        .contains("warning: the database role `postgres` is a PostgreSQL superuser"));
    let status = sb.json(&["status", "postgres"]);
    let warnings = status["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{status}");
    assert!(warnings[0].as_str().unwrap().contains("superuser"));
    assert!(sb
        .ok(&["status", "postgres"])
        .contains("warning: the database role `postgres`"));
    assert!(sb
        .ok(&["config", "postgres"])
        .contains("warning: the database role `postgres`"));
    let tools = sb.json(&["tools", "postgres"]);
    let query = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "query")
        .unwrap();
    assert!(query["description"].as_str().unwrap().contains("Warning:"));

    let least = common::Sandbox::new();
    let connect = least.run_env(
        &[
            "connect",
            "postgres",
            "--backend",
            "skill",
            "--secret-from-env",
            "url=SB_TEST_PG_URL",
        ],
        &[("SB_TEST_PG_URL", &url_as(&reader_role))],
    );
    assert!(connect.status.success(), "{}", common::stderr(&connect));
    assert!(!common::stderr(&connect).contains("warning"));
    let status = least.json(&["status", "postgres"]);
    assert_eq!(status["warnings"], json!([]), "{status}");
    drop(sb);
    drop(least);
    drop(fx);
}
