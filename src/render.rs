//! Human-readable output of the CLI: tables and one-line summaries.

use rmcp::model::Tool;
use switchboard::doctor::DoctorReport;
use switchboard::ConnectorInfo;

use crate::term::Term;

/// `list`: one row per connector; an error's reason after its status, cut
/// to the terminal's width (`info NAME` and `list --wide` show it whole).
pub fn list(list: &[ConnectorInfo], term: &Term) -> String {
    let mut rows = vec![[
        "NAME".to_string(),
        "TYPE".into(),
        "BACKEND".into(),
        "STATUS".into(),
    ]];
    for info in list {
        let kind = serde_json::to_value(&info.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        rows.push([
            info.name.clone(),
            kind,
            info.backend.clone(),
            info.status.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (row, info) in rows
        .iter()
        .zip(std::iter::once(None).chain(list.iter().map(Some)))
    {
        let lead = format!(
            "{:w0$}  {:w1$}  {:w2$}  ",
            row[0],
            row[1],
            row[2],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(&lead);
        match info {
            None => out.push_str(&row[3]),
            Some(info) => {
                out.push_str(&term.status(info.status));
                if let Some(err) = info.error.as_deref() {
                    let used = lead.chars().count() + row[3].len() + 3;
                    out.push_str(&format!(" ({})", term.fit(first_line(err), used)));
                }
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// `tools`: name and one-line description; disabled ones marked.
pub fn tools(tools: &[Tool], disabled: &[String]) -> String {
    let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(0);
    tools
        .iter()
        .map(|t| {
            let desc = t.description.as_deref().map(first_line).unwrap_or("");
            let mark = if disabled.iter().any(|d| d == t.name.as_ref()) {
                "(disabled) "
            } else {
                ""
            };
            format!("{:width$}  {mark}{}", t.name, desc)
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `tools NAME TOOL`: one tool — title, description, what its annotations
/// say, and its input schema as a list of arguments.
pub fn tool(tool: &Tool, disabled: bool) -> String {
    let mut out = vec![match &tool.title {
        Some(title) => format!("{} — {title}", tool.name),
        None => tool.name.to_string(),
    }];
    if disabled {
        out.push("(disabled for the gateway)".into());
    }
    if let Some(description) = &tool.description {
        out.push(String::new());
        out.push(description.trim().to_string());
    }
    if let Some(a) = &tool.annotations {
        let hints = [
            (a.read_only_hint, "read-only", "may change things"),
            (a.destructive_hint, "destructive", "not destructive"),
            (a.idempotent_hint, "idempotent", "not idempotent"),
            (a.open_world_hint, "reaches outside systems", "closed world"),
        ];
        let said: Vec<&str> = hints
            .iter()
            .filter_map(|(hint, yes, no)| hint.map(|h| if h { *yes } else { *no }))
            .collect();
        if !said.is_empty() {
            out.push(String::new());
            out.push(format!("Hints: {}", said.join(", ")));
        }
    }
    out.push(String::new());
    out.push("Arguments:".into());
    let schema = &tool.input_schema;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let properties = schema.get("properties").and_then(|p| p.as_object());
    match properties {
        Some(properties) if !properties.is_empty() => {
            for (name, property) in properties {
                let kind = property
                    .get("type")
                    .map(|t| match t {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .unwrap_or_else(|| "any".into());
                let needed = if required.contains(&name.as_str()) {
                    ", required"
                } else {
                    ""
                };
                let about = property
                    .get("description")
                    .and_then(|d| d.as_str())
                    .map(|d| format!(" — {}", first_line(d)))
                    .unwrap_or_default();
                out.push(format!("  {name} ({kind}{needed}){about}"));
            }
        }
        _ => out.push("  (none)".into()),
    }
    out.join("\n")
}

/// `config`: one line per field; secrets never show a value. Then the
/// connector's warnings, if any.
pub fn config(fields: &[switchboard::connector::FieldStatus], warnings: &[String]) -> String {
    let mut text = config_fields(fields);
    for warning in warnings {
        text.push_str(&format!("\nwarning: {warning}"));
    }
    text
}

fn config_fields(fields: &[switchboard::connector::FieldStatus]) -> String {
    if fields.is_empty() {
        return "no fields".into();
    }
    let width = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    fields
        .iter()
        .map(|f| {
            let state = match (&f.value, f.set, &f.default) {
                (Some(value), _, _) => format!("= {value}"),
                (None, true, _) => "set".to_string(),
                (None, false, Some(default)) => format!("not set (default {default})"),
                (None, false, None) => "not set".to_string(),
            };
            let kind = match (f.required, f.secret) {
                (true, true) => "required, secret",
                (true, false) => "required",
                (false, true) => "optional, secret",
                (false, false) => "optional",
            };
            format!(
                "{:width$}  {state:24}  {kind:16}  {}",
                f.name, f.description
            )
            .trim_end()
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `status`: a few lines about one connector.
pub fn status(info: &ConnectorInfo, term: &Term) -> String {
    let mut lines = vec![format!(
        "{}: {} since {}",
        info.name,
        term.status(info.status),
        info.since.format("%Y-%m-%d %H:%M:%S UTC")
    )];
    lines.push(format!("backend: {}", info.backend));
    if let Some(pid) = info.pid {
        lines.push(format!("pid: {pid}"));
    }
    if let Some(container) = &info.container {
        lines.push(format!("container: {container}"));
    }
    if let Some(tools) = info.tools {
        lines.push(format!("tools: {tools}"));
    }
    if let Some(err) = &info.error {
        lines.push(format!("error: {err}"));
    }
    for warning in &info.warnings {
        lines.push(format!("warning: {warning}"));
    }
    lines.join("\n")
}

/// `doctor`: launchers and paths.
pub fn doctor(report: &DoctorReport) -> String {
    let mut lines = vec![match report.service_pid {
        Some(pid) => format!("checked by the running service (pid {pid})"),
        None => "checked by this command: no service runs; the next command starts one with this environment".to_string(),
    }];
    for problem in &report.problems {
        lines.push(format!("problem: {problem}"));
    }
    lines.push("launchers:".to_string());
    for l in &report.launchers {
        let state = if l.ok { "ok" } else { "missing" };
        let detail = match (&l.path, &l.version, &l.hint) {
            (Some(path), Some(version), _) => format!("{path} ({version})"),
            (Some(path), None, Some(hint)) => format!("{path} does not answer: {hint}"),
            (_, _, Some(hint)) => hint.clone(),
            _ => String::new(),
        };
        lines.push(format!(
            "  {:7} {:8} {}  — {}",
            l.name, state, detail, l.purpose
        ));
    }
    lines.push(format!(
        "container engine: {}",
        report
            .container_engine
            .as_deref()
            .unwrap_or("none (container connectors cannot start)")
    ));
    lines.push(format!("secrets:  {}", report.secret_store));
    lines.push(format!("limits:   {}", report.program_limits));
    for (name, value) in &report.environment {
        lines.push(format!("env:      {name}={value}"));
    }
    lines.push(format!("settings: {}", report.settings));
    lines.push(format!("data:     {}", report.data_dir));
    lines.push(format!("logs:     {}", report.logs));
    lines.push(format!("socket:   {}", report.socket));
    lines.join("\n")
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
