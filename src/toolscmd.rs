//! `switchboard tools` and `switchboard call`: a connector's tools shown,
//! enabled or disabled, and one tool called with JSON arguments given on
//! the line, on stdin or in a file.

use std::process::ExitCode;

use switchboard::{Client, Error, ErrorCode};

use crate::cli::{CallArgs, ToolsArgs};
use crate::{callout, exit, print, render};

/// `switchboard tools NAME [TOOL] [--disable T]… [--enable T]…`.
pub async fn tools(client: &Client, args: ToolsArgs) -> Result<(), Error> {
    let ToolsArgs {
        name,
        tool,
        disable,
        enable,
        out,
    } = args;
    if !disable.is_empty() || !enable.is_empty() {
        client.set_tools_enabled(&name, disable, enable).await?;
    }
    let tools = client.tools(&name).await?;
    let disabled = client.disabled_tools(&name).await?;
    let Some(wanted) = tool else {
        print(out, &tools, || render::tools(&tools, &disabled));
        return Ok(());
    };
    let Some(found) = tools.iter().find(|t| t.name == wanted.as_str()) else {
        let suggestion = switchboard::did_you_mean(&wanted, tools.iter().map(|t| t.name.as_ref()));
        return Err(Error::UnknownTool {
            name,
            tool: wanted,
            suggestion,
        });
    };
    let off = disabled.contains(&wanted);
    print(out, found, || render::tool(found, off));
    Ok(())
}

/// `switchboard call NAME TOOL [ARGS | - | --args-file PATH]`: a tool's
/// own error exits with the tool-failed code after its text.
pub async fn call(client: &Client, args: CallArgs) -> Result<ExitCode, Error> {
    let CallArgs {
        name,
        tool,
        arguments,
        args_file,
        out_dir,
        out,
    } = args;
    let text = arguments_text(arguments, args_file)?;
    let arguments = parse_arguments(text.as_deref())?;
    let result = client.call_tool(&name, &tool, arguments).await?;
    let failed = result.is_error == Some(true);
    if out.json {
        print(out, &result, String::new);
    } else if failed {
        switchboard::errln!(
            "the tool reported an error: {}",
            callout::render(&result, &tool, None)?
        );
    } else {
        let text = callout::render(&result, &tool, out_dir.as_deref())?;
        switchboard::outln!("{text}");
    }
    Ok(if failed {
        exit(ErrorCode::ToolFailed)
    } else {
        ExitCode::SUCCESS
    })
}

/// The arguments' text: given, `-` for stdin, or `--args-file PATH`.
fn arguments_text(
    given: Option<String>,
    file: Option<std::path::PathBuf>,
) -> Result<Option<String>, Error> {
    if let Some(path) = file {
        return std::fs::read_to_string(&path).map(Some).map_err(|e| {
            Error::InvalidInput(format!(
                "cannot read the arguments from {}: {e}",
                path.display()
            ))
        });
    }
    if given.as_deref() != Some("-") {
        return Ok(given);
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .map_err(|e| Error::InvalidInput(format!("cannot read the arguments from stdin: {e}")))?;
    Ok(Some(text))
}

fn parse_arguments(text: Option<&str>) -> Result<Option<serde_json::Value>, Error> {
    let Some(text) = text else { return Ok(None) };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(Some(value)),
        Ok(other) => Err(Error::InvalidInput(format!(
            "tool arguments must be a JSON object such as '{{\"message\":\"hi\"}}', not {other}"
        ))),
        Err(err) => Err(Error::InvalidInput(format!(
            "tool arguments are not valid JSON ({err}): give an object such as '{{\"message\":\"hi\"}}', quoted for the shell"
        ))),
    }
}
