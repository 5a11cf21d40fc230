//! `cargo bench --bench loadgen` with no arguments: a quick look at what
//! the gateway adds, direct vs `switchboard gateway` on the echo backend,
//! in a throw-away sandbox. `bench/run.sh` is the full comparison (peers,
//! HTTP, start-up, memory, skills).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::calls::{self, Plan};
use crate::client::Target;

pub async fn run() -> anyhow::Result<Value> {
    let switchboard = PathBuf::from(env!("CARGO_BIN_EXE_switchboard"));
    let echo = switchboard
        .parent()
        .map(|dir| dir.join("examples/echo_server"))
        .context("no target dir")?;
    if !echo.exists() {
        bail!(
            "the echo backend is not built: run `cargo build --release --example echo_server` \
             (or bench/run.sh for the full comparison)"
        );
    }
    let dir = tempfile::Builder::new().prefix("sb-bench-").tempdir()?;
    let sandbox = Sandbox {
        switchboard: switchboard.clone(),
        home: dir.path().join("home"),
        settings: dir.path().join("settings.json"),
    };
    let result = async {
        sandbox.ok(&["add", "e", "--command", &echo.display().to_string()])?;
        sandbox.ok(&["connect", "e"])?;
        let plan = Plan {
            tool: "echo".into(),
            arguments: json!({"message": "hi"}),
            warmup: 200,
            calls: 2000,
            concurrency: vec![1, 8, 64],
            throughput_calls: 2000,
            phase: Duration::from_secs(30),
            call_timeout: Duration::from_secs(10),
            wait_tool: Duration::ZERO,
        };
        let direct = calls::run(
            "direct",
            &Target::Stdio(vec![echo.display().to_string()]),
            &plan,
        )
        .await?;
        let gateway = calls::run(
            "switchboard gateway (stdio)",
            &Target::Stdio(vec![
                switchboard.display().to_string(),
                "--home".into(),
                sandbox.home.display().to_string(),
                "--settings".into(),
                sandbox.settings.display().to_string(),
                "gateway".into(),
            ]),
            &plan,
        )
        .await?;
        eprintln!("| path | p50 µs | p90 µs | p99 µs | calls/s @1 | @8 | @64 |");
        eprintln!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for report in [&direct, &gateway] {
            let l = &report["latency"];
            let t = |i: usize| report["throughput"][i]["calls_per_s"].clone();
            eprintln!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                report["label"].as_str().unwrap_or("?"),
                l["p50_us"],
                l["p90_us"],
                l["p99_us"],
                t(0),
                t(1),
                t(2)
            );
        }
        anyhow::Ok(json!({"direct": direct, "gateway": gateway}))
    }
    .await;
    let _ = sandbox.run(&["shutdown"]);
    result
}

struct Sandbox {
    switchboard: PathBuf,
    home: PathBuf,
    settings: PathBuf,
}

impl Sandbox {
    fn run(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        Command::new(&self.switchboard)
            .args(args)
            .env("SWITCHBOARD_HOME", &self.home)
            .env("SWITCHBOARD_SETTINGS", &self.settings)
            .stdin(std::process::Stdio::null())
            .output()
    }

    fn ok(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = self.run(args)?;
        if !out.status.success() {
            bail!(
                "switchboard {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}
