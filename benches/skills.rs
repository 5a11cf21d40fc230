//! The PostgreSQL skill against the raw driver, in one process, so only
//! the skill's own work differs: `query {"sql": "select 1"}` through
//! `switchboard::skills` versus `tokio_postgres::Client::query("select
//! 1")` on one connection, and versus the raw driver doing the skill's
//! round trips (read-only transaction, `SET LOCAL statement_timeout`,
//! prepare, bind, a portal with a row count, rollback) — which tells what
//! the round trips cost apart from the skill's code.
//!
//! `cargo bench --bench skills [-- --calls N --url URL]`; prints one JSON
//! object (`bench/run.sh` puts it in a table). The gateway's share is
//! measured by `loadgen` against `postgres__query`. With no database at
//! the URL it says so and exits 0: a benchmark, not a test.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use tokio_postgres::NoTls;

#[derive(Parser)]
struct Args {
    /// The database, as the skill's `url` setting.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    url: String,
    /// Timed calls per variant, after as many again thrown away.
    #[arg(long, default_value_t = 5000)]
    calls: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(run(&args))?;
    println!("{report}");
    Ok(())
}

async fn run(args: &Args) -> anyhow::Result<Value> {
    let (client, connection) = match tokio_postgres::connect(&args.url, NoTls).await {
        Ok(pair) => pair,
        Err(err) => {
            return Ok(
                json!({"skipped": format!("PostgreSQL is not reachable at {}: {err}", args.url)}),
            );
        }
    };
    tokio::spawn(connection);
    let mut client = client;

    let raw = time(args.calls, || async {
        client.query("select 1", &[]).await?;
        anyhow::Ok(())
    })
    .await?;

    let same_work = {
        let client = &mut client;
        let mut samples = Vec::with_capacity(args.calls);
        for i in 0..args.calls * 2 {
            let started = Instant::now();
            let tx = client.build_transaction().read_only(true).start().await?;
            tx.batch_execute("SET LOCAL statement_timeout = 30000")
                .await?;
            let prepared = tx.prepare("select 1").await?;
            let portal = tx.bind(&prepared, &[]).await?;
            tx.query_portal(&portal, 1001).await?;
            tx.rollback().await?;
            if i >= args.calls {
                samples.push(started.elapsed());
            }
        }
        summary(samples)
    };

    let mut values = BTreeMap::new();
    values.insert("url".to_string(), args.url.clone());
    let skill =
        switchboard::skills::open(switchboard::skills::SkillKind::Postgres, &values).await?;
    let arguments = match json!({"sql": "select 1"}) {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    let first = skill.call("query", arguments.clone()).await?;
    anyhow::ensure!(first.is_error != Some(true), "the skill failed: {first:?}");
    let through_skill = time(args.calls, || async {
        skill.call("query", arguments.clone()).await?;
        anyhow::Ok(())
    })
    .await?;
    skill.close().await;

    Ok(json!({
        "raw_query": raw,
        "raw_same_round_trips": same_work,
        "skill_in_process": through_skill,
    }))
}

/// Runs `f` `calls` times to warm up, then `calls` times timed.
async fn time<F, Fut>(calls: usize, mut f: F) -> anyhow::Result<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..calls {
        f().await?;
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        f().await?;
        samples.push(started.elapsed());
    }
    Ok(summary(samples))
}

fn summary(mut samples: Vec<Duration>) -> Value {
    samples.sort_unstable();
    let n = samples.len().max(1);
    let at = |p: f64| {
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        samples
            .get(rank)
            .map_or(0.0, |d| (d.as_secs_f64() * 1e7).round() / 10.0)
    };
    json!({"calls": samples.len(), "p50_us": at(0.5), "p90_us": at(0.9), "p99_us": at(0.99)})
}
