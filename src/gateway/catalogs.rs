//! Resources and prompts of every connected MCP server, offered through
//! the gateway the way tools are: prompts under qualified names
//! (`<connector><separator><prompt>`), resources under their own URIs with
//! the connector named in their title, each read routed to the server that
//! listed it. Skills offer neither.

use std::time::Duration;

use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, Prompt, ReadResourceRequestParams, ReadResourceResult,
    Resource,
};
use rmcp::service::Peer;
use rmcp::{ErrorData as McpError, RoleClient};

use super::names::qualify;

/// How long one backend may take to list or answer.
pub(super) const BACKEND_TIMEOUT: Duration = Duration::from_secs(15);

/// The prompts of every server that offers them, qualified, with the
/// owner and raw name of each.
pub async fn prompts(
    peers: &[(String, Peer<RoleClient>)],
    separator: &str,
) -> Vec<(Prompt, String, String)> {
    let lists = futures::future::join_all(peers.iter().map(|(connector, peer)| async move {
        let offers = peer
            .peer_info()
            .is_some_and(|info| info.capabilities.prompts.is_some());
        if !offers {
            return Vec::new();
        }
        match tokio::time::timeout(BACKEND_TIMEOUT, peer.list_all_prompts()).await {
            Ok(Ok(prompts)) => prompts
                .into_iter()
                .map(|mut prompt| {
                    let raw = prompt.name.clone();
                    prompt.name = qualify(connector, &raw, separator);
                    prompt.description = Some(format!(
                        "[{connector}] {}",
                        prompt.description.as_deref().unwrap_or("")
                    ));
                    (prompt, connector.clone(), raw)
                })
                .collect(),
            _ => Vec::new(),
        }
    }))
    .await;
    lists.into_iter().flatten().collect()
}

/// Gets a qualified prompt from its server.
pub async fn get_prompt(
    peers: &[(String, Peer<RoleClient>)],
    separator: &str,
    mut request: GetPromptRequestParams,
) -> Result<GetPromptResult, McpError> {
    let listed = prompts(peers, separator).await;
    let Some((_, connector, raw)) = listed.into_iter().find(|(p, _, _)| p.name == request.name)
    else {
        return Err(McpError::invalid_params(
            format!("unknown prompt `{}`: list the prompts again", request.name),
            None,
        ));
    };
    let peer = peer_of(peers, &connector)?;
    request.name = raw;
    answer(&connector, peer.get_prompt(request)).await
}

/// The resources of every server that offers them, with their owners.
pub async fn resources(peers: &[(String, Peer<RoleClient>)]) -> Vec<(Resource, String)> {
    let lists = futures::future::join_all(peers.iter().map(|(connector, peer)| async move {
        let offers = peer
            .peer_info()
            .is_some_and(|info| info.capabilities.resources.is_some());
        if !offers {
            return Vec::new();
        }
        match tokio::time::timeout(BACKEND_TIMEOUT, peer.list_all_resources()).await {
            Ok(Ok(resources)) => resources
                .into_iter()
                .map(|mut resource| {
                    let title = resource
                        .title
                        .clone()
                        .unwrap_or_else(|| resource.name.clone());
                    resource.title = Some(format!("[{connector}] {title}"));
                    (resource, connector.clone())
                })
                .collect(),
            _ => Vec::new(),
        }
    }))
    .await;
    lists.into_iter().flatten().collect()
}

/// Reads a resource from the server that lists it, or whose template it
/// matches.
pub async fn read_resource(
    peers: &[(String, Peer<RoleClient>)],
    request: ReadResourceRequestParams,
) -> Result<ReadResourceResult, McpError> {
    let owner = super::requests::owner_of(peers, &request.uri).await;
    let Some(connector) = owner else {
        return Err(McpError::invalid_params(
            format!("no connected server lists the resource `{}`", request.uri),
            None,
        ));
    };
    let peer = peer_of(peers, &connector)?;
    answer(&connector, peer.read_resource(request)).await
}

/// The session of `connector`, which listed what is asked for but may have
/// gone since.
pub(super) fn peer_of<'a>(
    peers: &'a [(String, Peer<RoleClient>)],
    connector: &str,
) -> Result<&'a Peer<RoleClient>, McpError> {
    peers
        .iter()
        .find(|(name, _)| name == connector)
        .map(|(_, peer)| peer)
        .ok_or_else(|| McpError::invalid_params(format!("`{connector}` disconnected"), None))
}

/// A backend's answer within the deadline, its failures named after it.
pub(super) async fn answer<T>(
    connector: &str,
    request: impl std::future::Future<Output = Result<T, rmcp::ServiceError>>,
) -> Result<T, McpError> {
    match tokio::time::timeout(BACKEND_TIMEOUT, request).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(err)) => Err(McpError::internal_error(
            format!("{connector}: {err}"),
            None,
        )),
        Err(_) => Err(McpError::internal_error(
            format!("{connector} did not answer"),
            None,
        )),
    }
}
