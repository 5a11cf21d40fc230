//! Resources and prompts of every connected MCP server, offered through
//! the gateway the way tools are: prompts under qualified names
//! (`<connector><separator><prompt>`), resources under their own URIs with
//! the connector named in their title, each read routed to the server that
//! listed it, or whose resource template the URI matches. Skills offer
//! neither.

use std::time::Duration;

use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, Prompt, ReadResourceRequestParams, ReadResourceResult,
    Resource, ResourceTemplate,
};
use rmcp::service::Peer;
use rmcp::{ErrorData as McpError, RoleClient};

use super::names::qualify;

/// Every connected server's session, by connector.
pub type Peers = [(String, Peer<RoleClient>)];

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
pub async fn resources(peers: &Peers) -> Vec<(Resource, String)> {
    from_resource_servers(
        peers,
        |peer| peer.list_all_resources(),
        |resource, connector| {
            let title = resource
                .title
                .clone()
                .unwrap_or_else(|| resource.name.clone());
            resource.title = Some(format!("[{connector}] {title}"));
        },
    )
    .await
}

/// What `list` gives of every server that offers resources, each item
/// marked with its connector by `entitle` (resources keep their own URIs,
/// so the connector goes in the title), with its owner. A server that does
/// not answer in time lists nothing.
async fn from_resource_servers<'a, T, Fut>(
    peers: &'a Peers,
    list: impl Fn(&'a Peer<RoleClient>) -> Fut,
    entitle: impl Fn(&mut T, &str),
) -> Vec<(T, String)>
where
    Fut: std::future::Future<Output = Result<Vec<T>, rmcp::ServiceError>>,
{
    let list = &list;
    let entitle = &entitle;
    let lists = futures::future::join_all(peers.iter().map(|(connector, peer)| async move {
        let offers = peer
            .peer_info()
            .is_some_and(|info| info.capabilities.resources.is_some());
        if !offers {
            return Vec::new();
        }
        match tokio::time::timeout(BACKEND_TIMEOUT, list(peer)).await {
            Ok(Ok(items)) => items
                .into_iter()
                .map(|mut item| {
                    entitle(&mut item, connector);
                    (item, connector.clone())
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
    let owner = owner_of(peers, &request.uri).await;
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

/// The resource templates of every server that offers resources, with
/// their owners.
pub async fn templates(peers: &Peers) -> Vec<(ResourceTemplate, String)> {
    from_resource_servers(
        peers,
        |peer| peer.list_all_resource_templates(),
        |template, connector| {
            let title = template
                .title
                .clone()
                .unwrap_or_else(|| template.name.clone());
            template.title = Some(format!("[{connector}] {title}"));
        },
    )
    .await
}

/// The connector that serves `uri`: the one that lists it, else the one
/// whose template it matches.
pub async fn owner_of(peers: &Peers, uri: &str) -> Option<String> {
    let listed = resources(peers)
        .await
        .into_iter()
        .find(|(r, _)| r.uri == uri)
        .map(|(_, connector)| connector);
    if listed.is_some() {
        return listed;
    }
    templates(peers)
        .await
        .into_iter()
        .find(|(t, _)| template_matches(&t.uri_template, uri))
        .map(|(_, connector)| connector)
}

/// Whether `uri` is an expansion of an RFC 6570 `template`: literal parts
/// equal, each `{…}` expression one non-empty stretch (without `/` unless
/// the expression is `{+…}`, `{#…}` or `{/…}`).
pub fn template_matches(template: &str, uri: &str) -> bool {
    let Some(open) = template.find('{') else {
        return template == uri;
    };
    let (literal, rest) = template.split_at(open);
    let Some(after_literal) = uri.strip_prefix(literal) else {
        return false;
    };
    let Some(close) = rest.find('}') else {
        return false;
    };
    let expression = &rest[1..close];
    let tail = &rest[close + 1..];
    let reserved = matches!(expression.chars().next(), Some('+' | '#' | '/'));
    // Try every length for this expression's value; the rest must match.
    (1..=after_literal.len())
        .filter(|&end| after_literal.is_char_boundary(end))
        .take_while(|&end| reserved || !after_literal[..end].contains('/'))
        .any(|end| template_matches(tail, &after_literal[end..]))
}

#[cfg(test)]
mod tests {
    use super::template_matches;

    #[test]
    fn uris_match_their_templates() {
        let t = "demo://resource/dynamic/text/{resourceId}";
        assert!(template_matches(t, "demo://resource/dynamic/text/7"));
        assert!(!template_matches(t, "demo://resource/dynamic/text/"));
        assert!(!template_matches(t, "demo://resource/dynamic/text/7/x"));
        assert!(!template_matches(t, "demo://resource/dynamic/blob/7"));
        assert!(template_matches("file:///{+path}", "file:///a/b/c.txt"));
        assert!(template_matches("x://{a}/{b}.json", "x://one/two.json"));
        assert!(!template_matches("x://{a}/{b}.json", "x://one/two.txt"));
        assert!(template_matches("plain://uri", "plain://uri"));
    }
}
