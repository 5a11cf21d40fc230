//! The OpenAPI document's frame (title, tags, the bearer scheme); its paths
//! and schemas come from the handlers' `#[utoipa::path]` attributes as they
//! are routed (see `http.rs`), so the document cannot drift from the code.

use std::borrow::Cow;

use utoipa::openapi::content::Content;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::catalog::ConnectorType;

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Manage connectors (integrations backed by MCP servers or built-in skills): \
                       list, connect, configure, call their tools, and follow their events. \
                       Every request needs `Authorization: Bearer <token>`; the token is in the \
                       data dir's `http-token` file.",
    ),
    tags(
        (name = "connectors", description = "Connectors and their lifecycle"),
        (name = "tools", description = "A connected connector's MCP tools"),
        (name = "events", description = "Live status, tool-list and log events"),
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Adds the answers every operation can give, from the guard and the body
/// reader rather than from the handler: 400 (unreadable path, query or
/// body), 401 (no valid token), 403 (foreign Host or Origin), and 413 and
/// 415 where there is a body.
pub(crate) fn add_common_responses(document: &mut utoipa::openapi::OpenApi) {
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                )
                .build(),
        )
    };
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let mut common = vec![
                ("400", "The path or query cannot be read"),
                ("401", "No valid token (`unauthorized`)"),
                (
                    "403",
                    "The Host or Origin does not name this server (`forbidden`)",
                ),
            ];
            if operation.request_body.is_some() {
                common.push(("413", "The body is too large (`payload_too_large`)"));
                common.push(("415", "The body is not `application/json`"));
            }
            for (status, description) in common {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description));
            }
        }
    }
}

/// Every value of [`ConnectorType`], for its schema. `variant_name`
/// matches without a wildcard, so a new variant fails to compile there.
const CONNECTOR_TYPES: [ConnectorType; 3] = [
    ConnectorType::Mcp,
    ConnectorType::Skill,
    ConnectorType::Remote,
];

fn variant_name(kind: &ConnectorType) -> &'static str {
    match kind {
        ConnectorType::Mcp => "mcp",
        ConnectorType::Skill => "skill",
        ConnectorType::Remote => "remote",
    }
}

// `ConnectorType` lives in the catalog, which does not depend on utoipa;
// its schema is given here (a test checks it against serde).
impl PartialSchema for ConnectorType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(CONNECTOR_TYPES.iter().map(variant_name)))
            .description(Some("`mcp` (an MCP server) or `skill` (built in)"))
            .into()
    }
}

impl ToSchema for ConnectorType {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ConnectorType")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_type_schema_matches_serde() {
        for kind in CONNECTOR_TYPES {
            let json = serde_json::to_value(&kind).unwrap_or_default();
            assert_eq!(json, serde_json::json!(variant_name(&kind)));
        }
    }
}
