//! The connector catalog: what each connector is, what it runs and what it needs.
//!
//! A connector definition names a connector (`github`, `postgres`, ...), says how
//! to start its server (a Docker `image`, or a native `command` for custom
//! connectors), which arguments and fixed environment variables to pass, and which
//! configuration [fields](ConfigField) a person has to (or may) fill in, such as
//! API tokens. Fields whose [`target`](ConfigField::target) is
//! [`FieldTarget::Env`] are passed as environment variables of the same name;
//! fields whose target is [`FieldTarget::Arg`] are only substituted into `{FIELD}`
//! placeholders in [`args`](ConnectorDefinition::args).
//!
//! The built-in catalog lives in `catalog/connectors.toml` and is compiled into
//! the binary; [`Catalog::builtin`] parses and validates it. The file format is:
//!
//! ```toml
//! [[connector]]
//! name = "postgres"
//! display_name = "PostgreSQL"
//! description = "Read-only SQL queries and schema inspection"
//! docs = "https://github.com/modelcontextprotocol/servers-archived/tree/main/src/postgres"
//! type = "mcp"
//! image = "mcp/postgres"
//! args = ["{POSTGRES_URL}"]
//!
//! [[connector.field]]
//! name = "POSTGRES_URL"
//! description = "Connection URL"
//! required = true
//! secret = true
//! target = "arg"
//! ```

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

mod kind;
pub mod placeholder;
mod policy;
mod transport;
mod validate;

pub use kind::FieldKind;
pub use policy::{memory_bytes, Network, Policy, DEFAULT_PIDS};
pub use transport::RemoteTransport;

/// The text of `catalog/connectors.toml`, compiled in.
const BUILTIN_TOML: &str = include_str!("../catalog/connectors.toml");

/// The skills built into this program (`src/skills/`), by the name a
/// definition's `[connector.skill]` gives. Kept here, with the data that
/// names them, so the skills depend on the catalog and not the other way;
/// a name that is none of them is refused where the catalog is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkillKind {
    Postgres,
    Mysql,
    Redis,
    Sqlite,
}

impl SkillKind {
    /// Every built-in skill.
    pub const ALL: [SkillKind; 4] = [
        SkillKind::Postgres,
        SkillKind::Mysql,
        SkillKind::Redis,
        SkillKind::Sqlite,
    ];

    /// The name a definition gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillKind::Postgres => "postgres",
            SkillKind::Mysql => "mysql",
            SkillKind::Redis => "redis",
            SkillKind::Sqlite => "sqlite",
        }
    }
}

impl std::fmt::Display for SkillKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SkillKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SkillKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                format!("there is no built-in skill named `{s}`; the skills are postgres, mysql, redis and sqlite")
            })
    }
}

/// Longest allowed connector name, in bytes.
const MAX_NAME_LEN: usize = 64;

/// What kind of integration a connector is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorType {
    /// An MCP server run as a container (`image`) or a native process (`command`).
    Mcp,
    /// A skill built into switchboard.
    Skill,
    /// The service's own hosted MCP server, reached by URL (a backend
    /// choice only: a definition's `type` is `mcp` or `skill`).
    Remote,
}

/// Where the value of a [`ConfigField`] goes when the connector is started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldTarget {
    /// Passed as an environment variable named after the field (the default).
    #[default]
    Env,
    /// Only substituted into `{FIELD}` placeholders in the connector's `args`.
    Arg,
    /// Sent as an HTTP header (named by the field's `header`) to a remote server.
    Header,
    /// The path of a file on this machine, mounted read-only into the
    /// container at the field's `mount`; the server finds that path in an
    /// environment variable named after the field. Container connectors only.
    File,
    /// Added to a remote server's URL as the query parameter named by the
    /// field's `query` (an API key the server reads from its URL).
    Query,
}

/// One setting a connector needs from the person configuring it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigField {
    /// The field's name; also the environment variable name for
    /// [`FieldTarget::Env`] fields. Must match `[A-Z_][A-Z0-9_]*`.
    pub name: String,
    /// What to enter, for the person configuring the connector.
    pub description: String,
    /// Whether the connector cannot start without a value.
    #[serde(default)]
    pub required: bool,
    /// Whether the value is a credential that must be stored as a secret and
    /// never shown or logged.
    #[serde(default)]
    pub secret: bool,
    /// Where the value goes; environment variable unless stated otherwise.
    #[serde(default)]
    pub target: FieldTarget,
    /// Value used when none is given. Never set for secrets.
    #[serde(default)]
    pub default: Option<String>,
    /// The HTTP header name, for fields whose target is `header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Where in the container the file goes, for fields whose target is `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// The URL query parameter, for fields whose target is `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// What kind of value it takes; every value is checked against it
    /// before it is stored (see [`FieldKind`]).
    #[serde(default)]
    pub kind: FieldKind,
    /// The smallest value of a `number` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// The largest value of a `number` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// The values an `enum` field takes; for a `path`, literal values
    /// accepted besides a path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The schemes a `url` field accepts (any, when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemes: Vec<String>,
}

/// A named volume mounted into a container connector: where a server keeps
/// what must outlive the container (OAuth tokens saved by its `auth` step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// The engine's volume name (`mcp-gdrive`), created on first use.
    pub name: String,
    /// The absolute path in the container.
    pub target: String,
}

/// The definition of one connector, as written in the catalog file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorDefinition {
    /// The connector's id, the name people type (`github`).
    pub name: String,
    /// Human-readable name (`GitHub`).
    pub display_name: String,
    /// One-line summary of what the connector gives access to.
    pub description: String,
    /// Link to the server's documentation or source repository (https).
    #[serde(default)]
    pub docs: Option<String>,
    /// Where the dashboard's catalog view files it (`Databases`, `Code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The brand icon's slug in the dashboard's icon set (simple-icons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// What kind of connector this is.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    /// Docker image, for container-backed connectors
    #[serde(default)]
    pub image: Option<String>,
    /// Native command, for process-backed connectors (custom connectors use this)
    #[serde(default)]
    pub command: Option<String>,
    /// URL of a remote MCP server (SSE or Streamable HTTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `sse` or `http`, for a remote server whose URL does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<RemoteTransport>,
    /// Fixed, non-secret HTTP headers for a remote server.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Arguments after the image (or command). May contain `{FIELD}`
    /// placeholders, replaced by field values; an argument containing a
    /// placeholder of an unset optional field is dropped.
    #[serde(default)]
    pub args: Vec<String>,
    /// Fixed, non-secret environment variables always passed to the server.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The absolute directory a native `command` runs in (the user's home
    /// directory when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The settings the connector takes, in display order.
    #[serde(default, rename = "field")]
    pub fields: Vec<ConfigField>,
    /// Named volumes mounted into the container (container connectors only).
    #[serde(default, rename = "volume", skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// A built-in skill that can serve this connector instead of (or, for
    /// `type = "skill"`, without) an MCP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<SkillBackend>,
    /// The service's own hosted MCP server, which can serve this connector
    /// instead of its image (`--backend remote`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteBackend>,
    /// What its server may reach and use, when it differs from the
    /// default; the person's override in settings goes over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

/// A vendor's hosted MCP server behind a connector, as its documentation
/// gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteBackend {
    /// The server's URL (https).
    pub url: String,
    /// `http` (Streamable HTTP) or `sse`.
    pub transport: RemoteTransport,
    /// How it authenticates: `oauth` (a sign-in) or `token` (a header).
    pub auth: String,
    /// The vendor's page that documents the URL (https).
    pub source: String,
    /// How a client gets its identity at the server's authorization server.
    #[serde(default)]
    pub registration: Registration,
    /// Fields it takes (a token header, for `auth = "token"`).
    #[serde(default, rename = "field")]
    pub fields: Vec<ConfigField>,
}

/// How an OAuth client is known to a hosted server's authorization server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Registration {
    /// The client registers itself (Dynamic Client Registration or a Client
    /// ID Metadata Document): a sign-in needs nothing from the user.
    #[default]
    Dynamic,
    /// The vendor registers no clients on the fly: the user registers an
    /// app with the vendor and passes its `--client-id` (and secret).
    PreRegistered,
}

/// A built-in skill behind a connector, with the fields it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillBackend {
    /// Which built-in skill.
    pub name: SkillKind,
    /// What the skill does, when it differs from the server's description
    /// (the connector shows this one while the skill serves it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its settings (lowercase names such as `url`), in display order.
    #[serde(default, rename = "field")]
    pub fields: Vec<ConfigField>,
}

/// Why a catalog or a connector definition was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The catalog text is not valid TOML or does not have the catalog's shape.
    #[error("cannot read the connector catalog: {message}")]
    Parse {
        /// What the parser reported, including the location where it can.
        message: String,
    },
    /// A connector definition breaks one of the catalog's rules.
    #[error("connector `{connector}` is invalid: {problem}")]
    Invalid {
        /// Name of the offending connector.
        connector: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Two connectors share a name.
    #[error("connector `{name}` is defined more than once; connector names must be unique")]
    Duplicate {
        /// The repeated name.
        name: String,
    },
    /// A connector name is not allowed.
    #[error(
        "`{name}` is not a valid connector name: {reason}; use 1 to 64 characters from \
         lowercase letters a-z, digits 0-9, '-' and '_', starting with a letter or digit"
    )]
    BadName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
}

/// A validated set of connector definitions, kept in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    connectors: Vec<ConnectorDefinition>,
}

/// The shape of a catalog file.
#[derive(Deserialize)]
struct CatalogFile {
    #[serde(default)]
    connector: Vec<ConnectorDefinition>,
}

/// Keys allowed in a catalog file, per table, so typos are reported instead of ignored.
const FILE_KEYS: &[&str] = &["connector"];
const CONNECTOR_KEYS: &[&str] = &[
    "name",
    "display_name",
    "description",
    "docs",
    "type",
    "image",
    "command",
    "args",
    "env",
    "field",
    "url",
    "transport",
    "headers",
    "skill",
    "volume",
    "remote",
    "cwd",
    "category",
    "icon",
    "policy",
];
const SKILL_KEYS: &[&str] = &["name", "description", "field"];
const FIELD_KEYS: &[&str] = &[
    "name",
    "description",
    "required",
    "secret",
    "target",
    "default",
    "header",
    "mount",
    "query",
    "kind",
    "min",
    "max",
    "choices",
    "schemes",
];

impl Catalog {
    /// The compiled-in catalog (`include_str!` of `catalog/connectors.toml`),
    /// parsed and validated.
    ///
    /// The text is parsed on every call; it is small, so this is cheap, and it
    /// keeps the function free of global state. Callers that look things up
    /// repeatedly should keep the returned [`Catalog`].
    ///
    /// # Errors
    ///
    /// Any [`CatalogError`] from [`Catalog::from_toml`]; the test suite checks
    /// that the shipped file has none.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        Catalog::from_toml(BUILTIN_TOML)
    }

    /// Parses catalog text and validates every definition (see
    /// [`ConnectorDefinition::validate`]) and that names are unique.
    ///
    /// # Errors
    ///
    /// [`CatalogError::Parse`] if the text is not TOML of the catalog's shape
    /// (including unknown keys), the first definition's [`CatalogError::Invalid`]
    /// or [`CatalogError::BadName`], or [`CatalogError::Duplicate`] for a
    /// repeated name.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| CatalogError::Parse {
            message: e.to_string(),
        })?;
        check_keys(&table)?;
        let file: CatalogFile =
            table
                .try_into()
                .map_err(|e: toml::de::Error| CatalogError::Parse {
                    message: e.to_string(),
                })?;

        let mut seen = HashSet::new();
        for connector in &file.connector {
            connector.validate()?;
            if !seen.insert(connector.name.as_str()) {
                return Err(CatalogError::Duplicate {
                    name: connector.name.clone(),
                });
            }
        }
        Ok(Catalog {
            connectors: file.connector,
        })
    }

    /// The connector with this name, if the catalog has one.
    pub fn get(&self, name: &str) -> Option<&ConnectorDefinition> {
        self.connectors.iter().find(|c| c.name == name)
    }

    /// All definitions, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &ConnectorDefinition> {
        self.connectors.iter()
    }

    /// Number of connectors.
    pub fn len(&self) -> usize {
        self.connectors.len()
    }

    /// Whether the catalog has no connectors.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty()
    }
}

impl<'a> IntoIterator for &'a Catalog {
    type Item = &'a ConnectorDefinition;
    type IntoIter = std::slice::Iter<'a, ConnectorDefinition>;

    fn into_iter(self) -> Self::IntoIter {
        self.connectors.iter()
    }
}

/// Rejects unknown keys in the catalog file, naming the table they are in.
fn check_keys(table: &toml::Table) -> Result<(), CatalogError> {
    unknown_key(table, FILE_KEYS, "the top level")?;
    let Some(toml::Value::Array(connectors)) = table.get("connector") else {
        return Ok(());
    };
    for (index, connector) in connectors.iter().enumerate() {
        let Some(connector) = connector.as_table() else {
            continue;
        };
        let label = match connector.get("name").and_then(toml::Value::as_str) {
            Some(name) => format!("connector `{name}`"),
            None => format!("connector #{}", index + 1),
        };
        unknown_key(connector, CONNECTOR_KEYS, &label)?;
        let skill = connector.get("skill").and_then(toml::Value::as_table);
        if let Some(skill) = skill {
            unknown_key(skill, SKILL_KEYS, &format!("the skill of {label}"))?;
        }
        let fields = [connector.get("field"), skill.and_then(|s| s.get("field"))];
        for field in fields
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_array)
            .flatten()
            .filter_map(toml::Value::as_table)
        {
            let field_label = match field.get("name").and_then(toml::Value::as_str) {
                Some(name) => format!("field `{name}` of {label}"),
                None => format!("a field of {label}"),
            };
            unknown_key(field, FIELD_KEYS, &field_label)?;
        }
    }
    Ok(())
}

fn unknown_key(table: &toml::Table, allowed: &[&str], place: &str) -> Result<(), CatalogError> {
    match table.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(CatalogError::Parse {
            message: format!(
                "unknown key `{key}` in {place}; allowed keys are: {}",
                allowed.join(", ")
            ),
        }),
        None => Ok(()),
    }
}

/// Checks that `name` can be used as a connector name: 1 to 64 characters,
/// lowercase ASCII letters, digits, `-` and `_`, starting with a letter or digit.
///
/// Used for built-in and custom connector names alike.
///
/// # Errors
///
/// [`CatalogError::BadName`], saying which rule the name breaks.
pub fn validate_name(name: &str) -> Result<(), CatalogError> {
    let bad = |reason: String| CatalogError::BadName {
        name: name.to_string(),
        reason,
    };
    let Some(first) = name.chars().next() else {
        return Err(bad("it is empty".to_string()));
    };
    if name.len() > MAX_NAME_LEN {
        return Err(bad(format!(
            "it is {} characters long, more than {MAX_NAME_LEN}",
            name.chars().count()
        )));
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(bad(format!("it starts with {first:?}")));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(bad(format!("it contains {c:?}")));
    }
    Ok(())
}

/// The field names referred to by `{FIELD}` placeholders in one argument, in order.
///
/// A placeholder is `{` followed by an identifier (`[A-Za-z_][A-Za-z0-9_]*`) and
/// `}`; any other braces (for example in a JSON argument) are literal text.
pub fn placeholders(arg: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let ident_len = after
            .char_indices()
            .take_while(|&(i, c)| {
                c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
            })
            .count();
        if ident_len > 0 && after[ident_len..].starts_with('}') {
            found.push(&after[..ident_len]);
            rest = &after[ident_len + 1..];
        } else {
            rest = after;
        }
    }
    found
}

/// Where an MCP connector's server comes from: exactly one of a
/// definition's `image`, `command` and `url` (which stay three fields, the
/// shape the catalog and the settings file are written in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// A container image.
    Image(&'a str),
    /// A program on this machine.
    Command(&'a str),
    /// A remote server's URL.
    Url(&'a str),
}

impl ConnectorDefinition {
    /// The definition's server source; `None` when it sets none of
    /// `image`, `command` and `url`, or more than one (validation refuses both).
    pub fn source(&self) -> Option<Source<'_>> {
        match (&self.image, &self.command, &self.url) {
            (Some(image), None, None) => Some(Source::Image(image)),
            (None, Some(command), None) => Some(Source::Command(command)),
            (None, None, Some(url)) => Some(Source::Url(url)),
            _ => None,
        }
    }

    /// Required fields (in order).
    pub fn required_fields(&self) -> impl Iterator<Item = &ConfigField> {
        self.fields.iter().filter(|f| f.required)
    }

    /// The backends this connector can run on, the default first.
    pub fn backends(&self) -> Vec<ConnectorType> {
        let mut out = Vec::new();
        if self.image.is_some() || self.command.is_some() || self.url.is_some() {
            out.push(ConnectorType::Mcp);
        }
        if self.skill.is_some() {
            out.push(ConnectorType::Skill);
        }
        if self.remote.is_some() {
            out.push(ConnectorType::Remote);
        }
        out
    }

    /// The definition as it runs on `backend`: for a skill, its fields
    /// replace the server's and nothing is launched. `None` when the
    /// connector has no such backend.
    pub fn for_backend(&self, backend: &ConnectorType) -> Option<ConnectorDefinition> {
        match backend {
            ConnectorType::Mcp => self.backends().contains(&ConnectorType::Mcp).then(|| {
                let mut def = self.clone();
                def.kind = ConnectorType::Mcp;
                def
            }),
            ConnectorType::Remote => self.remote.as_ref().map(|remote| ConnectorDefinition {
                kind: ConnectorType::Mcp,
                image: None,
                command: None,
                url: Some(remote.url.clone()),
                transport: Some(remote.transport),
                headers: BTreeMap::new(),
                args: Vec::new(),
                env: BTreeMap::new(),
                fields: remote.fields.clone(),
                volumes: Vec::new(),
                ..self.clone()
            }),
            ConnectorType::Skill => self.skill.as_ref().map(|skill| ConnectorDefinition {
                kind: ConnectorType::Skill,
                description: skill
                    .description
                    .clone()
                    .unwrap_or_else(|| self.description.clone()),
                image: None,
                command: None,
                url: None,
                transport: None,
                headers: BTreeMap::new(),
                args: Vec::new(),
                env: BTreeMap::new(),
                cwd: None,
                fields: skill.fields.clone(),
                ..self.clone()
            }),
        }
    }

    /// The field with this name, if the connector declares one.
    pub fn field(&self, name: &str) -> Option<&ConfigField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_identifiers_in_braces() {
        assert_eq!(placeholders("{A}"), vec!["A"]);
        assert_eq!(placeholders("x={A_1}&y={b}"), vec!["A_1", "b"]);
        assert!(placeholders("{\"json\": 1}").is_empty());
        assert!(placeholders("{}").is_empty());
        assert!(placeholders("{1A}").is_empty());
        assert_eq!(placeholders("{{A}}"), vec!["A"]);
        assert_eq!(placeholders("{A"), Vec::<&str>::new());
    }

    /// Each description matches what the backend does: the Redis skill
    /// does not promise the server image's JSON and vector search.
    #[test]
    fn a_skill_backend_describes_the_skill() {
        let catalog = Catalog::builtin().expect("the catalog loads");
        let redis = catalog.get("redis").expect("redis is built in");
        assert!(redis.description.contains("vector search"));
        let skill = redis
            .for_backend(&ConnectorType::Skill)
            .expect("redis has a skill");
        assert!(
            !skill.description.contains("vector search"),
            "{}",
            skill.description
        );
        assert!(skill.description.contains("scan"), "{}", skill.description);
        for def in catalog.iter() {
            assert!(def.category.is_some(), "{} has no category", def.name);
        }
    }
}
