//! `switchboard profile …`: gateway profiles made, shown, removed, and
//! moved between machines as files.

use std::io::Read;

use serde::{Deserialize, Serialize};
use switchboard::profile::Profile;
use switchboard::{Client, Error};

use crate::cli::{Output, ProfileCommand};
use crate::print;

/// A profile as a file: its name and itself.
#[derive(Serialize, Deserialize)]
struct ProfileFile {
    name: String,
    #[serde(flatten)]
    profile: Profile,
}

/// One line for a person: `work  github, linear (github: create_issue)`.
fn line(name: &str, profile: &Profile) -> String {
    let tools = if profile.tools.is_empty() {
        String::new()
    } else {
        format!("  (only {})", profile.tools.join(", "))
    };
    format!("{name:<16} {}{tools}", profile.connectors.join(", "))
}

pub(crate) async fn run(client: &Client, command: ProfileCommand) -> Result<(), Error> {
    match command {
        ProfileCommand::Create {
            name,
            connectors,
            tools,
            out,
        } => {
            let profile = Profile { connectors, tools };
            client.set_profile(&name, profile.clone(), false).await?;
            print(out, &profile, || {
                format!("created profile {}", line(&name, &profile))
            });
        }
        ProfileCommand::Ls { out } => {
            let all = client.profiles().await?;
            print(out, &all, || {
                if all.is_empty() {
                    "no profiles: `switchboard profile create NAME --connectors a,b`".into()
                } else {
                    all.iter()
                        .map(|(n, p)| line(n, p))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            });
        }
        ProfileCommand::Show { name, out } => show(client, &name, out).await?,
        ProfileCommand::Rm { name } => {
            client.remove_profile(&name).await?;
            switchboard::outln!("removed profile {name}");
        }
        ProfileCommand::Export { name, out } => export(client, &name, out).await?,
        ProfileCommand::Import { file, name, force } => {
            let text = if file.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| Error::InvalidInput(format!("cannot read stdin: {e}")))?;
                text
            } else {
                std::fs::read_to_string(&file).map_err(|e| {
                    Error::InvalidInput(format!("cannot read {}: {e}", file.display()))
                })?
            };
            let read: ProfileFile = serde_json::from_str(&text).map_err(|e| {
                Error::InvalidInput(format!(
                    "{} is not a profile file (`switchboard profile export` writes one): {e}",
                    file.display()
                ))
            })?;
            let name = name.unwrap_or(read.name);
            client
                .set_profile(&name, read.profile.clone(), force)
                .await?;
            switchboard::outln!("imported profile {}", line(&name, &read.profile));
        }
    }
    Ok(())
}

/// The profile `name`, or the error that sends the person to `profile ls`.
pub(crate) async fn require(client: &Client, name: &str) -> Result<Profile, Error> {
    client.profiles().await?.remove(name).ok_or_else(|| {
        Error::InvalidInput(format!(
            "no profile `{name}`: `switchboard profile ls` lists them"
        ))
    })
}

async fn show(client: &Client, name: &str, out: Output) -> Result<(), Error> {
    let profile = require(client, name).await?;
    print(out, &profile, || line(name, &profile));
    Ok(())
}

async fn export(client: &Client, name: &str, out: Option<std::path::PathBuf>) -> Result<(), Error> {
    let file = ProfileFile {
        name: name.to_string(),
        profile: require(client, name).await?,
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the profile: {e}")))?;
    match out {
        Some(path) => std::fs::write(&path, format!("{text}\n"))
            .map_err(|e| Error::InvalidInput(format!("cannot write {}: {e}", path.display())))?,
        None => switchboard::outln!("{text}"),
    }
    Ok(())
}
