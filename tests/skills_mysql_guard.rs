//! The `mysql` skill under hostile SQL, against the real MariaDB on
//! 127.0.0.1:3306 (as in `skills_mysql.rs`; the file checks assume the
//! server runs on this machine, as it does in development and CI).
//!
//! `SELECT … INTO OUTFILE` writes a file inside a read-only transaction;
//! these tests send it and its relatives through every tool and look for
//! the file. They also prove that ordinary reads still work, that
//! `allow_server_files` is the only way to such statements, that nothing a
//! call sets on its pooled session reaches the next call, and that an
//! account with FILE/SUPER is warned about where a person sees it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod skills_support;

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use serde_json::{json, Value};
use skills_support::{call, ok, random_suffix, refused, SharedDir};
use switchboard::skills::SkillKind;
use switchboard::skills::{self, Skill};

fn admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// The admin URL with another user and database (no password).
fn url_as(user: Option<&str>, database: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).unwrap();
    if let Some(user) = user {
        url.set_username(user).unwrap();
        url.set_password(None).unwrap();
    }
    url.set_path(database);
    url.to_string()
}

async fn admin(statements: &[String]) {
    let mut conn = mysql_async::Conn::from_url(admin_url()).await.unwrap();
    for sql in statements {
        conn.query_drop(sql).await.unwrap();
    }
    conn.disconnect().await.unwrap();
}

/// A database with `items` (two rows) and a view `cheap`, and users made
/// for the test; all dropped on drop.
struct Fixture {
    db: String,
    users: Vec<String>,
}

impl Fixture {
    async fn new() -> Fixture {
        let db = format!("sb_my_guard_{}", random_suffix());
        admin(&[
            format!("CREATE DATABASE {db}"),
            format!("CREATE TABLE {db}.items (id INT PRIMARY KEY, name VARCHAR(50), price DECIMAL(10,2))"),
            format!("CREATE VIEW {db}.cheap AS SELECT * FROM {db}.items WHERE price < 10"),
            format!("INSERT INTO {db}.items VALUES (1, 'apple', 1.50), (2, 'pear', 12.00)"),
        ])
        .await;
        Fixture {
            db,
            users: Vec::new(),
        }
    }

    /// A user without a password who may read this database.
    async fn reader(&mut self) -> String {
        let user = format!("sb_my_ro_{}", random_suffix());
        admin(&[
            format!("CREATE USER '{user}'@'%'"),
            format!("GRANT SELECT, SHOW VIEW ON {}.* TO '{user}'@'%'", self.db),
        ])
        .await;
        self.users.push(user.clone());
        user
    }

    async fn open(&self, extra: &[(&str, &str)]) -> Box<dyn Skill> {
        open_url(url_as(None, &self.db), extra).await
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let mut statements = vec![format!("DROP DATABASE IF EXISTS {}", self.db)];
        for user in &self.users {
            statements.push(format!("DROP USER IF EXISTS '{user}'@'%'"));
        }
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(admin(&statements));
        })
        .join();
    }
}

async fn open_url(url: String, extra: &[(&str, &str)]) -> Box<dyn Skill> {
    let mut values = BTreeMap::from([("url".to_string(), url)]);
    for (k, v) in extra {
        values.insert(k.to_string(), v.to_string());
    }
    skills::open(SkillKind::Mysql, &values).await.unwrap()
}

async fn rows(skill: &dyn Skill, sql: &str) -> Value {
    ok(&call(skill, "query", json!({ "sql": sql })).await)["rows"].clone()
}

#[tokio::test]
async fn query_and_explain_refuse_what_reads_or_writes_server_files() {
    let fx = Fixture::new().await;
    let dir = SharedDir::new();
    let (written, w) = dir.file("written");
    let reader = fx.open(&[]).await;

    let outfile = refused(&*reader, "query", &format!("select 1 into outfile '{w}'")).await;
    assert!(outfile.contains("INTO OUTFILE"), "{outfile}");
    assert!(outfile.contains("allow_server_files"), "{outfile}");
    for sql in [
        format!("SeLeCt * FrOm items InTo OuTfIlE '{w}'"),
        format!("select 1 into dumpfile '{w}'"),
        format!("select 1 /*! into outfile '{w}' */"),
        format!("select 1 /*M! into outfile '{w}' */"),
        format!("select 1 /*M!100000 into outfile '{w}' */"),
        format!("select 1; select 1 into outfile '{w}'"),
        "select load_file('/etc/passwd')".to_string(),
        "select 1 -- x\n, load_file('/etc/passwd')".to_string(),
        // MySQL takes `--` then U+00A0 as `- -` and an identifier, and runs
        // the rest of the line; the parser took it for a comment.
        "select x --\u{a0}, load_file('/etc/passwd') as y\nfrom (select 1 as x, 1 as `\u{a0}`) t"
            .to_string(),
        "load data infile '/etc/hostname' into table items".to_string(),
        "set global general_log = 1".to_string(),
        "select get_lock('sb', 1)".to_string(),
        "delete from items".to_string(),
        "select * from items for update".to_string(),
    ] {
        refused(&*reader, "query", &sql).await;
    }
    for sql in [
        format!("SELECT 1 INTO OUTFILE '{w}'"),
        "ANALYZE DELETE FROM items".to_string(),
        "SELECT 1; DELETE FROM items".to_string(),
    ] {
        refused(&*reader, "explain", &sql).await;
    }
    let writer = fx.open(&[("allow_writes", "true")]).await;
    refused(&*writer, "query", &format!("select 1 into outfile '{w}'")).await;

    assert!(!written.exists(), "a file was written");
    assert_eq!(
        rows(&*reader, "select count(*) from items").await,
        json!([[2]])
    );
    reader.close().await;
    writer.close().await;
}

#[tokio::test]
async fn ordinary_reads_still_work() {
    let fx = Fixture::new().await;
    let reader = fx.open(&[]).await;
    let cases: Vec<(&str, Value)> = vec![
        (
            "select i.name, c.name from items i join cheap c on c.id = i.id",
            json!([["apple", "apple"]]),
        ),
        (
            "with t as (select price from items) select sum(price) from t",
            json!([["13.50"]]),
        ),
        (
            "select id, rank() over (order by price desc) from items order by id",
            json!([[1, 2], [2, 1]]),
        ),
        (
            "select 'it\\'s', \"double\", `id` from items where id = 1",
            json!([["it's", "double", 1]]),
        ),
        ("SeLeCt 1 /* a comment */ # and another", json!([[1]])),
        ("show tables", json!([["cheap"], ["items"]])),
    ];
    for (sql, expected) in cases {
        assert_eq!(rows(&*reader, sql).await, expected, "{sql}");
    }
    for sql in [
        "show create table items",
        "describe items",
        "show columns from items",
        "show variables like 'version'",
    ] {
        let found = rows(&*reader, sql).await;
        assert!(!found.as_array().unwrap().is_empty(), "{sql}: {found}");
    }
    let by_id = call(
        &*reader,
        "query",
        json!({"sql": "select name from items where id = ?", "params": [2]}),
    )
    .await;
    assert_eq!(ok(&by_id)["rows"], json!([["pear"]]));
    ok(&call(
        &*reader,
        "explain",
        json!({"sql": "select * from items where id = 1"}),
    )
    .await);
    reader.close().await;
}

#[tokio::test]
async fn server_files_need_allow_server_files_and_sessions_start_clean() {
    let fx = Fixture::new().await;
    let dir = SharedDir::new();
    let (written, w) = dir.file("written");
    let outfile = format!("select 'x' into outfile '{w}'");

    let writer = fx.open(&[("allow_writes", "true")]).await;
    for sql in [
        outfile.clone(),
        "load data infile '/etc/hostname' into table items".to_string(),
        "insert into items select 3, load_file('/etc/hostname'), 1".to_string(),
        "set global max_connections = 1000".to_string(),
    ] {
        let message = refused(&*writer, "execute", &sql).await;
        assert!(
            message.contains("set `allow_server_files=true` on this connector"),
            "{message}"
        );
    }
    assert!(!written.exists(), "a file was written");
    assert_eq!(
        ok(&call(
            &*writer,
            "execute",
            json!({"sql": "insert into items values (3, 'plum', 2)"})
        )
        .await)["rows_affected"],
        json!(1)
    );

    let trusted = fx
        .open(&[("allow_writes", "true"), ("allow_server_files", "true")])
        .await;
    ok(&call(&*trusted, "execute", json!({ "sql": outfile })).await);
    assert!(written.exists(), "INTO OUTFILE did not run with the opt-in");
    std::fs::remove_file(&written).unwrap();
    refused(&*trusted, "query", &outfile).await;
    assert!(!written.exists());

    // A session setting made by one call is gone by the next: the pool
    // resets the session and sets it up again (UTC, an sql_mode the
    // statement check reads the same way).
    let modes = "set session sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES', time_zone = '+05:00'";
    ok(&call(&*trusted, "execute", json!({ "sql": modes })).await);
    for _ in 0..6 {
        assert_eq!(
            rows(
                &*trusted,
                "select @@session.sql_mode like '%ANSI_QUOTES%' or @@session.sql_mode like '%NO_BACKSLASH%', @@session.time_zone"
            )
            .await,
            json!([[0, "+00:00"]])
        );
    }
    writer.close().await;
    trusted.close().await;
}

#[tokio::test]
async fn an_account_with_file_or_super_is_warned_about_and_a_reader_is_not() {
    let mut fx = Fixture::new().await;
    let root = fx.open(&[]).await;
    let warnings = root.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("has the global FILE and SUPER privileges")
            && warnings[0].contains(&format!(
                "GRANT SELECT, SHOW VIEW ON `{}`.* TO 'switchboard_ro'@'%';",
                fx.db
            )),
        "{}",
        warnings[0]
    );
    let execute = root
        .tools()
        .into_iter()
        .find(|t| t.name == "execute")
        .unwrap();
    assert!(execute
        .description
        .unwrap_or_default()
        .contains("Warning: the MySQL account"));

    let user = fx.reader().await;
    let reader = open_url(url_as(Some(&user), &fx.db), &[]).await;
    assert_eq!(reader.warnings(), Vec::<String>::new());
    assert_eq!(
        rows(&*reader, "select count(*) from items").await,
        json!([[2]])
    );
    root.close().await;
    reader.close().await;
}

#[test]
fn status_json_shows_the_warning_for_root_and_none_for_a_reader() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut fx = runtime.block_on(Fixture::new());
    let user = runtime.block_on(fx.reader());
    let connect = |sb: &common::Sandbox, url: &str| {
        let out = sb.run_env(
            &[
                "connect",
                "mysql",
                "--backend",
                "skill",
                "--secret-from-env",
                "url=SB_TEST_MYSQL_URL",
            ],
            &[("SB_TEST_MYSQL_URL", url)],
        );
        assert!(out.status.success(), "{}", common::stderr(&out));
        common::stderr(&out)
    };
    let sb = common::Sandbox::new();
    assert!(connect(&sb, &url_as(None, &fx.db)).contains("warning: the MySQL account"));
    let status = sb.json(&["status", "mysql"]);
    assert_eq!(
        status["warnings"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    assert!(status["warnings"][0]
        .as_str()
        .unwrap()
        .contains("FILE and SUPER"));

    let least = common::Sandbox::new();
    assert!(!connect(&least, &url_as(Some(&user), &fx.db)).contains("warning"));
    assert_eq!(least.json(&["status", "mysql"])["warnings"], json!([]));
    drop(sb);
    drop(least);
    drop(fx);
}
