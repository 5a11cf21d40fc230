//! `switchboard info NAME`: everything about one connector in one place —
//! what runs it (backend, documentation link), its fields (set or not,
//! secret or not; never a secret's value), its status with the reason,
//! its tools with one-line descriptions, restarts, last ping and the log
//! file. `status` stays the short live view.

use serde::Serialize;
use switchboard::connector::FieldStatus;
use switchboard::{Client, ConnectorInfo, Error, Paths};

/// What `info` shows, and its `--json`.
#[derive(Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub connector: ConnectorInfo,
    pub config: Vec<FieldStatus>,
    /// The tools (name and first line of the description) when connected.
    pub tool_list: Vec<ToolLine>,
    pub disabled_tools: Vec<String>,
    pub log_file: String,
}

#[derive(Serialize)]
pub struct ToolLine {
    pub name: String,
    pub description: String,
}

/// Asks the service for the parts.
pub async fn gather(client: &Client, paths: &Paths, name: &str) -> Result<Report, Error> {
    let name = name.to_string();
    let connector: ConnectorInfo = client.status(&name).await?;
    let config: Vec<FieldStatus> = client.config(&name).await?;
    let tools: Vec<rmcp::model::Tool> = if connector.tools.is_some() {
        client.tools(&name).await?
    } else {
        Vec::new()
    };
    let disabled_tools: Vec<String> = client.disabled_tools(&name).await?;
    Ok(Report {
        tool_list: tools
            .iter()
            .map(|t| ToolLine {
                name: t.name.to_string(),
                description: t
                    .description
                    .as_deref()
                    .and_then(|d| d.lines().next())
                    .unwrap_or("")
                    .to_string(),
            })
            .collect(),
        log_file: paths.connector_log(&name).display().to_string(),
        connector,
        config,
        disabled_tools,
    })
}

/// The human form.
pub fn render(report: &Report) -> String {
    let c = &report.connector;
    let mut lines = vec![
        format!("{} ({}) — {}", c.name, c.display_name, c.description),
        format!("backend: {}", c.backend),
        format!("policy: {}", c.policy),
    ];
    if c.backends.len() > 1 {
        lines.push(format!("backends offered: {}", c.backends.join(", ")));
    }
    if let Some(docs) = &c.docs {
        lines.push(format!("source: {docs}"));
    }
    lines.push(format!(
        "status: {} since {}",
        c.status,
        c.since.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    if let Some(error) = &c.error {
        lines.push(format!("reason: {error}"));
    }
    if let Some(pid) = c.pid {
        lines.push(format!("pid: {pid}"));
    }
    if let Some(container) = &c.container {
        lines.push(format!("container: {container}"));
    }
    lines.push(format!("restarts: {}", c.restarts));
    if let Some(ping) = c.last_ping_ms {
        lines.push(format!("last ping: {ping:.1} ms"));
    }
    if let Some(last) = &c.last_error {
        lines.push(format!("last error: {last}"));
    }
    for warning in &c.warnings {
        lines.push(format!("warning: {warning}"));
    }
    lines.push(String::new());
    lines.push("fields:".into());
    if report.config.is_empty() {
        lines.push("  none".into());
    }
    for f in &report.config {
        let state = match (&f.value, f.set) {
            (Some(value), _) => format!("= {value}"),
            (None, true) => "set".into(),
            (None, false) => "not set".into(),
        };
        let kind = match (f.required, f.secret) {
            (true, true) => "required, secret",
            (true, false) => "required",
            (false, true) => "optional, secret",
            (false, false) => "optional",
        };
        lines.push(format!("  {}  {state}  ({kind})", f.name));
    }
    if c.tools.is_some() {
        lines.push(String::new());
        lines.push(format!("tools ({}):", report.tool_list.len()));
        for t in &report.tool_list {
            let off = if report.disabled_tools.contains(&t.name) {
                " (disabled)"
            } else {
                ""
            };
            lines.push(
                format!("  {}{off}  {}", t.name, t.description)
                    .trim_end()
                    .to_string(),
            );
        }
    }
    lines.push(String::new());
    lines.push(format!("log: {}", report.log_file));
    lines.join("\n")
}
