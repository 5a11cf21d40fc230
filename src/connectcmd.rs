//! `switchboard add` and `switchboard connect`: turning flags, a JSON
//! definition and this command's environment into the one request each
//! sends to the service.

use std::collections::BTreeMap;

use clap::CommandFactory;
use switchboard::settings::SettingsSnapshot;
use switchboard::{Client, ConnectorInfo, CustomConnector, Error, ErrorCode};

use crate::cli::{AddArgs, Cli, ConnectArgs, Output};
use crate::{clientcmd, configure, logincmd, note_restart, print, progress};

/// `switchboard add NAME (--command CMD | --image IMAGE | --url URL | --json DEF)`.
pub async fn add(client: &Client, args: AddArgs) -> Result<(), Error> {
    let AddArgs {
        name,
        command,
        image,
        url,
        transport,
        headers,
        env,
        oauth,
        cwd,
        json,
        args,
    } = args;
    let out = Output {
        json: json.is_some(),
    };
    let definition = json.filter(|text| !text.is_empty());
    let remote = url.is_some()
        || definition
            .as_deref()
            .is_some_and(|text| text.contains("\"url\""));
    let (connector, secrets) = match (definition, url) {
        (Some(text), None) if command.is_none() && image.is_none() && args.is_empty() => {
            clientcmd::connector_from_json(&name, &text)?
        }
        (Some(_), _) => {
            return Err(Error::InvalidInput(
                "give the definition either as `--json '{…}'` or with --command/--image/--url, not both".into(),
            ))
        }
        (None, None) if command.is_none() && image.is_none() => {
            // A usage error (exit 2), as clap's own would be.
            Cli::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "say what runs it: --command CMD, --image IMAGE, --url URL, or the whole definition with --json '{…}'",
                )
                .exit()
        }
        (None, Some(url)) => CustomConnector::remote(url, transport, &headers)?,
        (None, None) => {
            let mut connector = CustomConnector::from_flags(command, image, args, &env)?;
            if connector.command.is_some() {
                connector.cwd = Some(configure::working_dir(cwd)?);
            }
            (connector, BTreeMap::new())
        }
    };
    if !remote && oauth.client_id.is_some() {
        return Err(Error::InvalidInput(
            "`--client-id` is for remote servers (`--url`)".into(),
        ));
    }
    let info = client.add(&name, connector, secrets).await?;
    let client_secret = logincmd::client_secret(oauth.client_secret_from_env)?;
    if oauth.client_id.is_some() || client_secret.is_some() {
        client
            .set_oauth_client(&name, oauth.client_id, client_secret)
            .await?;
    }
    print(out, &info, || {
        format!("added {} ({})", info.name, info.backend)
    });
    Ok(())
}

/// `switchboard connect NAME [--backend B] [--set F=V]… [--secret-from-env F]…`:
/// one request that carries the backend, the values to store and the
/// values in this command's environment; on a terminal, the fields still
/// missing are asked for and the connect is tried again.
pub async fn connect(
    client: &Client,
    snapshot: &SettingsSnapshot,
    args: ConnectArgs,
) -> Result<(), Error> {
    let ConnectArgs {
        name,
        backend,
        oauth,
        sets,
        secrets_from_env,
        timeout,
        out,
    } = args;
    let mut store = configure::parse_sets(&sets)?;
    let on_command_line: Vec<String> = store.keys().cloned().collect();
    store.extend(configure::secrets_from_env(&secrets_from_env)?);
    let request = switchboard::ipc::ConnectRequest {
        name: name.clone(),
        values: values_from_env(snapshot, &name),
        timeout_secs: timeout,
        backend: backend.map(switchboard::ConnectorType::from),
        store,
        on_command_line,
        cwd: std::env::current_dir().ok(),
        client_id: oauth.client_id,
        client_secret: logincmd::client_secret(oauth.client_secret_from_env)?,
    };
    let again = switchboard::ipc::ConnectRequest {
        name: name.clone(),
        values: request.values.clone(),
        timeout_secs: timeout,
        ..Default::default()
    };
    let connect = |request| progress::connecting(client, &name, out.json, client.connect(request));
    let info: ConnectorInfo = match connect(request).await {
        Err(Error::Remote {
            code: ErrorCode::NeedsConfiguration,
            message,
        }) if configure::interactive() => {
            switchboard::errln!("configuring: {message}");
            configure::prompt_missing(client, &name).await?;
            connect(again).await?
        }
        other => other?,
    };
    print(out, &info, || info.status.to_string());
    // On stderr, so `connect`'s output stays the one status word.
    note_restart(&info);
    for warning in &info.warnings {
        switchboard::errln!("warning: {warning}");
    }
    Ok(())
}

/// Values for the connector's fields found in this command's environment
/// (they travel to the service in memory only). The field names come from
/// the catalog or the settings file, so no request is needed to learn them.
fn values_from_env(snapshot: &SettingsSnapshot, name: &str) -> BTreeMap<String, String> {
    switchboard::connector::field_names(snapshot, name)
        .into_iter()
        .filter_map(|field| {
            std::env::var(&field)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (field, v))
        })
        .collect()
}
