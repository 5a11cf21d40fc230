//! The guard's verdicts as a table: statement → allowed or refused, per
//! database and policy. The integration tests (`tests/skills_*.rs`) prove
//! the same against the real servers; this table is where the odd
//! spellings (comments, quoting, case, nesting) are kept.

use super::{check, Engine, Policy};

const READ: Policy = Policy::Read;
const WRITE: Policy = Policy::Write {
    allow_server_files: false,
};
const FILES: Policy = Policy::Write {
    allow_server_files: true,
};

/// `true`: allowed; `false`: refused.
const POSTGRES: &[(Policy, &str, bool)] = &[
    // Reads, as people write them.
    (READ, "select 1", true),
    (READ, "SeLeCt * FROM t WHERE a = $1", true),
    (READ, "select 1;", true),
    (READ, "with x as (select 1 as a) select * from x", true),
    (READ, "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r", true),
    (READ, "select a, sum(b) over (partition by a order by c) from t", true),
    (READ, "select t.a, u.b from t join u on t.id = u.id left join v using (id)", true),
    (READ, "select a::int[], array[1,2], j->>'k', j #> '{a}', '1 day'::interval from t", true),
    (READ, "select distinct on (a) a from t order by a", true),
    (READ, "select count(*) filter (where a > 1) from t", true),
    (READ, "select * from generate_series(1, 3) g, lateral (select g * 2) d", true),
    (READ, "values (1), (2)", true),
    (READ, "show search_path", true),
    (READ, "select $$a'b$$, $q$ x $q$", true),
    (READ, "/* a comment */ select 1 -- and another", true),
    (READ, "/* nested /* comment */ copy (select 1) to program 'id' */ select 1", true),
    (READ, "select pg_sleep(0), current_setting('search_path'), pg_size_pretty(1)", true),
    (READ, "select * from pg_stat_activity", true),
    (READ, "explain select 1", true),
    (READ, "explain analyze select 1", true),
    (READ, "EXPLAIN (FORMAT JSON, COSTS OFF) select 1", true),
    (READ, "explain update t set a = 1", true),
    // What escapes a read-only transaction.
    (READ, "copy (select 1) to program 'touch /tmp/x'", false),
    (READ, "COPY t TO '/tmp/x'", false),
    (READ, "copy t from '/etc/passwd'", false),
    (READ, "copy t to stdout", false),
    (READ, "select pg_read_file('/etc/passwd')", false),
    (READ, "select pg_catalog.PG_READ_FILE('/etc/passwd')", false),
    (READ, "select \"pg_read_file\"('/etc/passwd')", false),
    (READ, "select pg_read_binary_file('/etc/passwd')", false),
    (READ, "select * from pg_ls_dir('/')", false),
    (READ, "select pg_stat_file('/etc/passwd')", false),
    (READ, "select lo_import('/etc/passwd')", false),
    (READ, "select lo_export(1, '/tmp/x')", false),
    (READ, "select * from dblink('dbname=test', 'select 1') as t(a int)", false),
    (READ, "select query_to_xml('copy (select 1) to program ''id''', true, true, '')", false),
    (READ, "select ts_stat('select to_tsvector(a) from t')", false),
    (READ, "select set_config('role', 'postgres', false)", false),
    (READ, "select content from http_get('http://169.254.169.254/')", false),
    (READ, "select pg_background_launch('delete from t')", false),
    (READ, "select * from crosstab('copy (select 1) to program ''id''') as t(a int)", false),
    (READ, "select * from connectby('t; copy (select 1) to program ''id''', 'a', 'b', '1', 0) as t(a int)", false),
    (WRITE, "select cron.schedule('* * * * *', 'copy (select 1) to program ''id''')", false),
    (WRITE, "select schedule(1)", true),
    (READ, "select pg_terminate_backend(1)", false),
    (READ, "select pg_reload_conf()", false),
    (READ, "select pg_advisory_lock(1)", false),
    // Hidden inside an allowed statement.
    (READ, "select (select pg_read_file('x'))", false),
    (READ, "select 1 where exists (select pg_ls_dir('/'))", false),
    (READ, "select * from (select pg_read_file('x')) s", false),
    (READ, "select 1 order by pg_read_file('x')", false),
    (READ, "with x as (select lo_import('/etc/passwd')) select * from x", false),
    (READ, "with x as (delete from t returning *) select * from x", false),
    (READ, "with x as (insert into t values (1) returning *) select * from x", false),
    (READ, "select * into newt from t", false),
    (READ, "select * from t for update", false),
    (READ, "select * from t for share", false),
    (READ, "select E'\\'', pg_read_file('x')", false),
    (READ, "select a$$, pg_read_file('/etc/passwd') as b$$ from t", false),
    (READ, "select $1$, pg_read_file($$x$$), $1$", false),
    (READ, "select $_q1$ x $_q1$, $é$ y $é$", true),
    (READ, "select 1 -- x\r, pg_read_file('x')", false),
    (READ, "select 1 --\u{a0}, 2", true),
    (READ, "select 1\0; copy (select 1) to program 'id'", false),
    (READ, "/* x */ CoPy (select 1) TO PROGRAM 'id'", false),
    // EXPLAIN that runs what it explains.
    (READ, "explain analyze delete from t", false),
    (READ, "explain (analyze) delete from t", false),
    (READ, "explain (analyze false) delete from t", false),
    (READ, "explain (analyse) delete from t", false),
    (READ, "explain (ANALYSE true, verbose) delete from t", false),
    (READ, "explain analyse delete from t", false),
    (READ, "explain (frobnicate) delete from t", false),
    (READ, "explain (verbose, costs off, format json) update t set a = 1", true),
    (READ, "explain analyze with x as (delete from t returning *) select * from x", false),
    (READ, "explain select pg_read_file('x')", false),
    (READ, "explain explain select 1", false),
    // Not reads at all.
    (READ, "select 1; copy (select 1) to program 'id'", false),
    (READ, "select 1; select 2", false),
    (READ, "", false),
    (READ, "-- only a comment", false),
    (READ, "set role postgres", false),
    (READ, "set session authorization postgres", false),
    (READ, "set statement_timeout = 0", false),
    (READ, "reset all", false),
    (READ, "delete from t", false),
    (READ, "insert into t values (1)", false),
    (READ, "create table x (a int)", false),
    (READ, "drop table t", false),
    (READ, "do $$ begin perform 1; end $$", false),
    (READ, "call p()", false),
    (READ, "listen x", false),
    (READ, "prepare p as select 1", false),
    (READ, "execute p", false),
    (READ, "lock table t", false),
    (READ, "vacuum t", false),
    (READ, "begin", false),
    (READ, "commit", false),
    (READ, "alter system set work_mem = '1GB'", false),
    (READ, "select 'unterminated", false),
    // `execute` with allow_writes: data and schema, not the server.
    (WRITE, "insert into t values (1)", true),
    (WRITE, "update t set a = 1 where b = $1", true),
    (WRITE, "delete from t", true),
    (WRITE, "create table x (a int)", true),
    (WRITE, "drop table x", true),
    (WRITE, "with x as (delete from t returning *) select * from x", true),
    (WRITE, "select * into newt from t", true),
    (WRITE, "select pg_terminate_backend(1)", true),
    (WRITE, "set search_path = public", true),
    (WRITE, "grant select on t to someone", true),
    (WRITE, "copy t from stdin", true),
    (WRITE, "create function f() returns int language sql as 'select 1'", true),
    (WRITE, "create function f() returns int as $$ begin return 1; end $$ language plpgsql", true),
    (WRITE, "copy (select 1) to program 'id'", false),
    (WRITE, "copy t to '/tmp/x'", false),
    (WRITE, "copy t from '/etc/passwd'", false),
    (WRITE, "select lo_export(1, '/tmp/x')", false),
    (WRITE, "select lo_import('/etc/passwd')", false),
    (WRITE, "insert into t select pg_read_file('/etc/passwd')", false),
    (WRITE, "select dblink_exec('dbname=test', 'select 1')", false),
    (WRITE, "set role postgres", false),
    (WRITE, "SET ROLE = 'postgres'", false),
    (WRITE, "set session authorization postgres", false),
    (WRITE, "select set_config('role', 'postgres', false)", false),
    (WRITE, "create extension adminpack", false),
    (WRITE, "create function f() returns int language c as 'lib', 'sym'", false),
    (WRITE, "create function f() returns int language plpython3u as $$ return 1 $$", false),
    (WRITE, "load 'auto_explain'", false),
    (WRITE, "create server s foreign data wrapper file_fdw", false),
    (WRITE, "execute p", false),
    (WRITE, "do $$ begin end $$", false),
    (WRITE, "select 1; select 2", false),
    // ... and everything with allow_server_files, but still one statement.
    (FILES, "copy (select 1) to program 'id'", true),
    (FILES, "set role postgres", true),
    (FILES, "select lo_import('/etc/passwd')", true),
    (FILES, "do $$ begin end $$", true),
    (FILES, "select 1; select 2", false),
];

const MYSQL: &[(Policy, &str, bool)] = &[
    (READ, "select 1", true),
    (READ, "SELECT * FROM t WHERE a = ? AND b LIKE 'x%'", true),
    (READ, "select `a` from `t` join u on t.id = u.id", true),
    (READ, "with x as (select 1) select * from x", true),
    (READ, "select sum(a) over (partition by b) from t", true),
    (READ, "show tables", true),
    (READ, "show databases", true),
    (READ, "show create table t", true),
    (READ, "show columns from t", true),
    (READ, "show variables like 'version%'", true),
    (READ, "describe t", true),
    (READ, "explain select 1", true),
    (READ, "explain format=json select 1", true),
    (READ, "describe delete from t", true),
    (READ, "select sleep(0)", true),
    (READ, "select 1 /*!50000 + 1 */", true),
    (READ, "select 1 --1", true),
    (READ, "select 1 # a comment", true),
    (READ, "select '\\'' , \"x\"", true),
    (READ, "select 1 into outfile '/tmp/x'", false),
    (READ, "select * from t into outfile '/tmp/x'", false),
    (READ, "select 1 into dumpfile '/tmp/x'", false),
    (READ, "select 1 into @a", false),
    (READ, "select load_file('/etc/passwd')", false),
    (READ, "SELECT LOAD_FILE('/etc/passwd')", false),
    (READ, "select 1 /*! into outfile '/tmp/x' */", false),
    (READ, "select 1 /*!50000 , load_file('/x') */", false),
    (READ, "select 1 /*M! , load_file('/x') */", false),
    (READ, "select 1 /*M!100000 into outfile '/tmp/x' */", false),
    (READ, "select 1 -- x\n, load_file('x')", false),
    (
        READ,
        "select x --\u{a0}, load_file('/etc/passwd') as y\nfrom (select 1 as x) t",
        false,
    ),
    (
        READ,
        "select x --\u{2003}, 2\nfrom (select 1 as x) t",
        false,
    ),
    (READ, "select 1 --\t, 2", true),
    (READ, "select 1 -- x\r, load_file('x')", true),
    (READ, "select 1 # x\r, load_file('x')", true),
    (READ, "load data infile '/etc/passwd' into table t", false),
    (
        READ,
        "load data local infile '/etc/passwd' into table t",
        false,
    ),
    (READ, "set global general_log = 1", false),
    (READ, "set @a = 1", false),
    (READ, "select get_lock('x', 1)", false),
    (READ, "select sys_exec('id')", false),
    (READ, "do sleep(1)", false),
    (READ, "handler t open", false),
    (READ, "select * from t for update", false),
    (READ, "select * from t lock in share mode", false),
    (READ, "insert into t values (1)", false),
    (READ, "delete from t", false),
    (READ, "explain analyze delete from t", false),
    (READ, "select 1; select 2", false),
    (READ, "call p()", false),
    (WRITE, "insert into t values (?)", true),
    (WRITE, "update t set a = 1", true),
    (WRITE, "create table x (a int)", true),
    (WRITE, "select get_lock('x', 1)", true),
    (WRITE, "select 1 into outfile '/tmp/x'", false),
    (WRITE, "load data infile '/etc/passwd' into table t", false),
    (
        WRITE,
        "insert into t select load_file('/etc/passwd')",
        false,
    ),
    (WRITE, "set global general_log_file = '/tmp/x'", false),
    (WRITE, "set role r", false),
    (WRITE, "select sys_exec('id')", false),
    (WRITE, "insert into t values (1) /*M! , (2) */", false),
    (FILES, "select 1 into outfile '/tmp/x'", true),
    (FILES, "load data infile '/etc/passwd' into table t", true),
    (FILES, "select 1 /*M! , 2 */", true),
];

const SQLITE: &[(Policy, &str, bool)] = &[
    (READ, "select 1", true),
    (
        READ,
        "select * from t where a = ?1 and b = :b and c = @c and d = $d",
        true,
    ),
    (READ, "select [a], `b`, \"c\" from [t]", true),
    (
        READ,
        "with recursive c(x) as (select 1 union all select x + 1 from c limit 5) select * from c",
        true,
    ),
    (
        READ,
        "select json_extract(a, '$.x'), iif(a, 1, 2) from t group by 1 having count(*) > 1",
        true,
    ),
    (READ, "pragma user_version", true),
    (READ, "pragma main.page_count", true),
    (READ, "pragma table_info('t')", true),
    (READ, "select * from pragma_table_info('t')", true),
    (READ, "explain query plan select 1", true),
    (READ, "explain query plan insert into t values (1)", true),
    (READ, "/* /* */ select 1", true),
    (READ, "select 1 -- x\r, load_extension('x')", true),
    (READ, "select 1\0 attach 'x' as y", false),
    (READ, "attach database '/tmp/new.db' as x", false),
    (READ, "ATTACH '/tmp/x' AS y", false),
    (READ, "detach x", false),
    (READ, "select load_extension('x')", false),
    (READ, "select readfile('/etc/passwd')", false),
    (READ, "select writefile('/tmp/x', 'y')", false),
    (READ, "select fts3_tokenizer('simple')", false),
    (READ, "select * from fsdir('/')", false),
    (READ, "pragma query_only = 0", false),
    (READ, "pragma query_only(0)", false),
    (READ, "pragma user_version = 3", false),
    (READ, "pragma writable_schema = 1", false),
    (READ, "pragma optimize", false),
    (READ, "vacuum", false),
    (READ, "vacuum into '/tmp/x'", false),
    (READ, "create temp table x(a)", false),
    (READ, "insert into t values (1)", false),
    (READ, "replace into t values (1)", false),
    (READ, "/* /* */ select load_extension('x') -- */", false),
    (READ, "explain query plan attach '/tmp/x' as y", false),
    (READ, "begin", false),
    (READ, "analyze", false),
    (READ, "select 1; select 2", false),
    (WRITE, "insert into t values (1)", true),
    (WRITE, "create table x(a)", true),
    (WRITE, "pragma user_version = 3", true),
    (WRITE, "vacuum", true),
    (WRITE, "attach database '/tmp/x.db' as x", false),
    (WRITE, "select load_extension('x')", false),
    (WRITE, "vacuum into '/tmp/x'", false),
    (WRITE, "pragma temp_store_directory = '/tmp'", false),
    (FILES, "attach database '/tmp/x.db' as x", true),
    (FILES, "vacuum into '/tmp/x'", true),
];

fn tool(policy: Policy) -> &'static str {
    match policy {
        Policy::Read => "query",
        Policy::Write { .. } => "execute",
    }
}

#[test]
fn every_statement_in_the_tables_gets_its_verdict() {
    let mut wrong = Vec::new();
    for (engine, table) in [
        (Engine::Postgres, POSTGRES),
        (Engine::Mysql, MYSQL),
        (Engine::Sqlite, SQLITE),
    ] {
        for (policy, sql, allowed) in table {
            let verdict = check(engine, tool(*policy), sql, *policy);
            if verdict.is_ok() != *allowed {
                wrong.push(format!(
                    "{engine:?} {policy:?} {sql:?}: expected {}, got {verdict:?}",
                    if *allowed { "allowed" } else { "refused" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn refusals_say_what_was_refused_and_what_would_allow_it() {
    let refused = |engine, sql, policy| check(engine, tool(policy), sql, policy).unwrap_err();
    let program = refused(Engine::Postgres, "copy (select 1) to program 'id'", WRITE);
    assert!(program.contains("runs a program"), "{program}");
    assert!(
        program.contains("set `allow_server_files=true` on this connector"),
        "{program}"
    );
    let program = refused(Engine::Postgres, "copy (select 1) to program 'id'", READ);
    assert!(
        program.contains("runs a program") && program.contains("`allow_server_files`"),
        "{program}"
    );
    let read = refused(Engine::Postgres, "select pg_read_file('/etc/passwd')", READ);
    assert!(
        read.contains("`pg_read_file()` reads or writes files"),
        "{read}"
    );
    assert!(read.contains("`query` refuses it"), "{read}");
    let delete = refused(Engine::Postgres, "delete from t", READ);
    assert!(
        delete.contains("this is `DELETE`") && delete.contains("use `execute`"),
        "{delete}"
    );
    let two = refused(Engine::Sqlite, "select 1; select 2", READ);
    assert!(
        two.contains("one statement per call") && two.contains("holds 2"),
        "{two}"
    );
    let unparsed = refused(Engine::Mysql, "select 1 frum t", READ);
    assert!(
        unparsed.contains("could not be checked as MySQL SQL"),
        "{unparsed}"
    );
    let unparsed = refused(Engine::Mysql, "vacuum into '/x'", WRITE);
    assert!(unparsed.contains("`allow_server_files`"), "{unparsed}");
    let outfile = refused(Engine::Mysql, "select 1 into outfile '/tmp/x'", READ);
    assert!(
        outfile.contains("`SELECT … INTO OUTFILE` works on files"),
        "{outfile}"
    );
    let infile = refused(Engine::Mysql, "load data infile '/x' into table t", WRITE);
    assert!(infile.contains("set `allow_server_files=true`"), "{infile}");
    let mariadb = refused(Engine::Mysql, "select 1 /*M! , 2 */", READ);
    assert!(mariadb.contains("MariaDB executable comment"), "{mariadb}");
    let attach = refused(Engine::Sqlite, "attach '/tmp/x' as y", WRITE);
    assert!(attach.contains("`ATTACH`"), "{attach}");
}
