//! Opening the authorization page for a person: with `$BROWSER` when it is
//! set (the convention of xdg-open and Python's webbrowser: a command given
//! the URL, `%s` marking where it goes), else with `xdg-open` when there is
//! a display. Without either — CI, ssh, a headless box — nothing is opened
//! and nothing waits: the caller shows the URL instead.

use std::process::Stdio;

/// The variable naming the command that opens a URL.
pub const BROWSER_ENV: &str = "BROWSER";

/// How the URL would be opened here, if at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opener {
    /// `$BROWSER`: a shell command line.
    Browser(String),
    /// `xdg-open`, on a desktop.
    XdgOpen,
}

/// The way to open a page on this machine now, or `None` when there is no
/// browser to be had (then the URL is shown and nobody waits for it).
pub fn opener() -> Option<Opener> {
    if let Some(command) = std::env::var(BROWSER_ENV)
        .ok()
        .filter(|c| !c.trim().is_empty())
    {
        return Some(Opener::Browser(command));
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    (!ci && display && crate::mcp::find_program("xdg-open").is_some()).then_some(Opener::XdgOpen)
}

/// Starts the opener on `url` and returns without waiting for it; its exit
/// is collected in the background and logged if it failed.
pub fn open(opener: &Opener, url: &str) -> std::io::Result<()> {
    let mut command = match opener {
        Opener::Browser(line) => {
            // The URL goes in as "$1", never spliced into the command line.
            let script = if line.contains("%s") {
                line.replace("%s", "\"$1\"")
            } else {
                format!("{line} \"$1\"")
            };
            let mut c = tokio::process::Command::new("/bin/sh");
            c.arg("-c").arg(script).arg("sh").arg(url);
            c
        }
        Opener::XdgOpen => {
            let mut c = tokio::process::Command::new("xdg-open");
            c.arg(url);
            c
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    let child = command.spawn()?;
    tokio::spawn(async move {
        match child.wait_with_output().await {
            Ok(out) if !out.status.success() => tracing::warn!(
                status = %out.status,
                stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                "the browser command failed"
            ),
            Err(err) => tracing::warn!("the browser command failed: {err}"),
            Ok(_) => {}
        }
    });
    Ok(())
}
