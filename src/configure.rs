//! The CLI's side of configuring a connector: turning `--set`,
//! `--secret-from-env` and the environment into field values, and, on a
//! terminal (never in CI or without a TTY), asking for the fields a
//! connector waits for, secrets with hidden input.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use switchboard::connector::FieldStatus;
use switchboard::{Client, Error};

/// Parses `--set FIELD=VALUE` items. Their values are checked by the
/// service (see [`check`]), which knows each field's kind.
pub fn parse_sets(items: &[String]) -> Result<BTreeMap<String, String>, Error> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((field, value)) if !field.trim().is_empty() => {
                Ok((field.trim().to_string(), value.to_string()))
            }
            _ => Err(Error::InvalidInput(format!(
                "`--set {item}` needs FIELD=VALUE, e.g. `--set allow_writes=true`"
            ))),
        })
        .collect()
}

/// The directory a command-backed connector runs in: `--cwd DIR` (made
/// absolute against this command's directory, and required to exist), else
/// the directory this command runs in.
pub fn working_dir(given: Option<std::path::PathBuf>) -> Result<String, Error> {
    let here = std::env::current_dir().map_err(|e| {
        Error::InvalidInput(format!(
            "cannot tell which directory this command runs in ({e}): give one with `--cwd DIR`"
        ))
    })?;
    let dir = match given {
        Some(dir) => here.join(dir),
        None => here,
    };
    if !dir.is_dir() {
        return Err(Error::InvalidInput(format!(
            "`--cwd {}` is not a directory: give an existing one",
            dir.display()
        )));
    }
    dir.to_str().map(str::to_string).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{} is not valid UTF-8, which the settings file cannot hold: give another `--cwd`",
            dir.display()
        ))
    })
}

/// Reads `--secret-from-env NAME` (field and variable named alike) or
/// `FIELD=VARIABLE` items from this process's environment.
pub fn secrets_from_env(items: &[String]) -> Result<BTreeMap<String, String>, Error> {
    items
        .iter()
        .map(|item| {
            let (field, var) = item
                .split_once('=')
                .unwrap_or((item.as_str(), item.as_str()));
            match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok((field.to_string(), value)),
                _ => Err(Error::InvalidInput(format!(
                    "`--secret-from-env {item}`: the environment variable `{var}` is not set; \
                     export it first (its value is never put on a command line)"
                ))),
            }
        })
        .collect()
}

/// Whether we may ask questions: a terminal on stdin, and not CI.
pub fn interactive() -> bool {
    let ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false);
    !ci && std::io::stdin().is_terminal()
}

/// Asks for each required field that has no value and stores the answers
/// (secrets go to the secret store through the service). Returns whether
/// anything was stored.
pub async fn prompt_missing(client: &Client, name: &str) -> Result<bool, Error> {
    let fields: Vec<FieldStatus> = client.config(name).await?;
    let mut answers = BTreeMap::new();
    for field in fields.iter().filter(|f| f.required && !f.set) {
        let question = format!("{name} needs {} ({}): ", field.name, field.description);
        let answer = if field.secret {
            rpassword::prompt_password(question)
                .map_err(|e| Error::InvalidInput(format!("cannot read from the terminal: {e}")))?
        } else {
            switchboard::err!("{question}");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| Error::InvalidInput(format!("cannot read from the terminal: {e}")))?;
            line.trim_end_matches(['\n', '\r']).to_string()
        };
        if answer.is_empty() {
            return Err(Error::InvalidInput(format!(
                "no value given for {}; `{name}` stays configuring",
                field.name
            )));
        }
        answers.insert(field.name.clone(), answer);
    }
    if answers.is_empty() {
        return Ok(false);
    }
    let values = client.check_config(name, None, answers, Vec::new()).await?;
    client.set_config(name, values).await?;
    Ok(true)
}

/// Reads a secret value from stdin (never argv): the whole input, less
/// one trailing newline.
pub fn read_secret_from_stdin() -> Result<String, Error> {
    use std::io::Read;
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("value (hidden): ")
            .map_err(|e| Error::InvalidInput(format!("cannot read from the terminal: {e}")));
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::InvalidInput(format!("cannot read the value from stdin: {e}")))?;
    let value = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text)
        .to_string();
    if value.is_empty() {
        return Err(Error::InvalidInput(
            "no value on stdin: pipe it in, e.g. `echo \"$TOKEN\" | switchboard secret set github GITHUB_PERSONAL_ACCESS_TOKEN`"
                .into(),
        ));
    }
    Ok(value)
}
