//! Connectors the user adds (`switchboard add`): how they are stored under
//! `codebuddy.connectors.custom` and turned into definitions that behave
//! exactly like built-in ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{ConfigField, ConnectorDefinition, ConnectorType, FieldTarget};
use crate::error::{Error, Result};
use crate::mcp::RemoteTransport;

/// A user-added connector, as stored in settings. Only non-secret values
/// are stored; variables named in `pass_env` take their values from the
/// environment at connect time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomConnector {
    /// A native command to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A container image to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A remote server's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `sse` or `http`, for a remote server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<RemoteTransport>,
    /// Non-secret HTTP headers for a remote server.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Names of headers whose values are secret: kept out of settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_headers: Vec<String>,
    /// Names of URL query parameters whose values are secret (`api_key`):
    /// kept out of settings and added to the URL when it is used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_query: Vec<String>,
    /// Arguments after the command or image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Fixed, non-secret environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Variables passed through from the environment, never stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
    /// The absolute directory a native command runs in; the user's home
    /// directory when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

impl CustomConnector {
    /// Builds a custom connector from `add`'s flags; `env` entries are
    /// `KEY=VALUE` (stored) or `KEY` (passed through from the environment).
    pub fn from_flags(
        command: Option<String>,
        image: Option<String>,
        args: Vec<String>,
        env: &[String],
    ) -> Result<CustomConnector> {
        let mut custom = CustomConnector {
            command,
            image,
            args,
            ..CustomConnector::default()
        };
        for item in env {
            match item.split_once('=') {
                Some((key, value)) => {
                    check_env_name(key)?;
                    if looks_secret(key) {
                        return Err(Error::InvalidInput(format!(
                            "`{key}` looks like a secret and would be written to the settings file in clear: \
                             pass it from the environment instead with `--env {key}` (no value)"
                        )));
                    }
                    custom.env.insert(key.to_string(), value.to_string());
                }
                None => {
                    check_env_name(item)?;
                    custom.pass_env.push(item.to_string());
                }
            }
        }
        Ok(custom)
    }

    /// Builds a remote connector from `add --url`'s flags. Headers are
    /// `NAME=VALUE`; a value that is secret (an `Authorization` header, or a
    /// name that says token, key, secret…) is returned apart, by field
    /// name, to be kept out of settings.
    pub fn remote(
        url: String,
        transport: Option<RemoteTransport>,
        headers: &[String],
    ) -> Result<(CustomConnector, BTreeMap<String, String>)> {
        let parsed = url::Url::parse(&url).map_err(|e| {
            Error::InvalidInput(format!(
                "`{url}` is not a URL ({e}): give the server's full address, e.g. http://127.0.0.1:3001/mcp"
            ))
        })?;
        let Some(transport) = transport.or_else(|| RemoteTransport::guess(&parsed)) else {
            return Err(Error::InvalidInput(format!(
                "cannot tell the transport from `{url}`: add `--transport sse` or `--transport http`"
            )));
        };
        let mut custom = CustomConnector {
            url: Some(url),
            transport: Some(transport),
            ..CustomConnector::default()
        };
        let mut secrets = custom.take_url_credentials()?;
        for item in headers {
            let Some((name, value)) = item.split_once('=') else {
                return Err(Error::InvalidInput(format!(
                    "header `{item}` has no value: write it as NAME=VALUE, e.g. \"Authorization=Bearer …\""
                )));
            };
            let name = name.trim();
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(Error::InvalidInput(format!(
                    "`{name}` is not a valid header name: use letters, digits and `-`"
                )));
            }
            if header_is_secret(name) {
                if secrets.contains_key(&header_field(name)) {
                    return Err(Error::InvalidInput(format!(
                        "the URL carries a user name or password, which is sent as the `{name}` \
                         header, and `--header {name}=…` gives it too: keep one of them"
                    )));
                }
                custom.secret_headers.push(name.to_string());
                secrets.insert(header_field(name), value.trim().to_string());
            } else {
                custom
                    .headers
                    .insert(name.to_string(), value.trim().to_string());
            }
        }
        Ok((custom, secrets))
    }

    /// Moves the credentials out of a remote connector's URL: its user info
    /// becomes the secret `Authorization` header (what an HTTP client sends
    /// for it), and key-like query parameters (`api_key`, `token`, …)
    /// secret query fields. Returns their values by field name, for the
    /// secret store; the URL left holds no credential.
    pub fn take_url_credentials(&mut self) -> Result<BTreeMap<String, String>> {
        let Some(url) = &self.url else {
            return Ok(BTreeMap::new());
        };
        let split = crate::credentials::split_url(url).map_err(|reason| {
            Error::InvalidInput(format!(
                "the URL cannot be used: {reason}; give the server's full address, e.g. http://127.0.0.1:3001/mcp"
            ))
        })?;
        let mut secrets = BTreeMap::new();
        if let Some(authorization) = split.authorization {
            let header = "Authorization".to_string();
            if self
                .headers
                .keys()
                .chain(&self.secret_headers)
                .any(|h| h.eq_ignore_ascii_case(&header))
            {
                return Err(Error::InvalidInput(
                    "the URL carries a user name or password, which is sent as the Authorization \
                     header, and an Authorization header is given too: keep one of them"
                        .into(),
                ));
            }
            secrets.insert(header_field(&header), authorization);
            self.secret_headers.push(header);
        }
        for (param, value) in split.query {
            let field = query_field(&param);
            if secrets.contains_key(&field) {
                return Err(Error::InvalidInput(format!(
                    "the URL's query parameters `{param}` and another one are both stored as \
                     `{field}`: rename one of them"
                )));
            }
            secrets.insert(field, value);
            self.secret_query.push(param);
        }
        self.url = Some(split.url);
        Ok(secrets)
    }

    /// The definition this connector behaves as.
    pub fn to_definition(&self, name: &str) -> ConnectorDefinition {
        let backend = match (&self.image, &self.command, &self.url) {
            (Some(image), _, _) => format!("image {image}"),
            (None, Some(command), _) => format!("command {command}"),
            (None, None, Some(url)) => {
                format!("remote {}", crate::credentials::redact_url(url))
            }
            (None, None, None) => "nothing to run".into(),
        };
        ConnectorDefinition {
            name: name.to_string(),
            display_name: name.to_string(),
            description: format!("Custom connector ({backend})"),
            docs: None,
            category: Some("Custom".into()),
            icon: None,
            kind: ConnectorType::Mcp,
            image: self.image.clone(),
            command: self.command.clone(),
            url: self.url.clone(),
            transport: self.transport,
            headers: self.headers.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            skill: None,
            remote: None,
            policy: None,
            fields: self
                .pass_env
                .iter()
                .map(|key| ConfigField {
                    name: key.clone(),
                    description: format!("passed through from the environment as {key}"),
                    required: true,
                    secret: true,
                    target: FieldTarget::Env,
                    ..ConfigField::default()
                })
                .chain(self.secret_headers.iter().map(|header| ConfigField {
                    name: header_field(header),
                    description: format!("the secret `{header}` header"),
                    required: true,
                    secret: true,
                    target: FieldTarget::Header,
                    header: Some(header.clone()),
                    ..ConfigField::default()
                }))
                .chain(self.secret_query.iter().map(|param| ConfigField {
                    name: query_field(param),
                    description: format!("the secret `{param}` parameter of the URL"),
                    required: true,
                    secret: true,
                    target: FieldTarget::Query,
                    query: Some(param.clone()),
                    ..ConfigField::default()
                }))
                .collect(),
            volumes: Vec::new(),
        }
    }
}

/// The field that holds a secret header's value: `Authorization` →
/// `AUTHORIZATION`, `X-Api-Key` → `X_API_KEY`.
pub fn header_field(header: &str) -> String {
    header
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The field that holds a secret query parameter's value: `api_key` →
/// `QUERY_API_KEY` (apart from header fields, so the two never collide).
pub fn query_field(param: &str) -> String {
    format!("QUERY_{}", header_field(param))
}

fn header_is_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "AUTHORIZATION" | "PROXY-AUTHORIZATION" | "COOKIE"
    ) || upper.contains("AUTH")
        || upper.contains("KEY")
        || looks_secret(name)
}

fn check_env_name(key: &str) -> Result<()> {
    let mut chars = key.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "`{key}` is not a valid environment variable name: use letters, digits and `_`, not starting with a digit"
        )))
    }
}

/// Names that by convention hold credentials.
fn looks_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "CREDENTIAL",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|marker| upper.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_values_are_refused_and_pass_through_is_allowed() {
        let err = CustomConnector::from_flags(
            Some("x".into()),
            None,
            vec![],
            &["GITHUB_TOKEN=abc".into()],
        );
        assert!(matches!(err, Err(Error::InvalidInput(m)) if m.contains("--env GITHUB_TOKEN")));
        let ok = CustomConnector::from_flags(
            Some("x".into()),
            None,
            vec![],
            &["GITHUB_TOKEN".into(), "MODE=fast".into()],
        );
        let ok = ok.map_err(|e| e.to_string());
        assert_eq!(
            ok,
            Ok(CustomConnector {
                command: Some("x".into()),
                env: BTreeMap::from([("MODE".to_string(), "fast".to_string())]),
                pass_env: vec!["GITHUB_TOKEN".into()],
                ..CustomConnector::default()
            })
        );
    }

    #[test]
    fn bad_env_names_are_refused() {
        for bad in ["1ABC=x", "A-B", ""] {
            let result = CustomConnector::from_flags(None, None, vec![], &[bad.to_string()]);
            assert!(result.is_err(), "{bad} was accepted");
        }
    }
}

#[cfg(test)]
mod remote_tests {
    use super::*;

    #[test]
    fn secret_headers_are_kept_apart_and_the_transport_guessed() {
        let (custom, secrets) = CustomConnector::remote(
            "http://127.0.0.1:3001/mcp".into(),
            None,
            &["Authorization=Bearer abc".into(), "X-Trace=on".into()],
        )
        .unwrap();
        assert_eq!(custom.transport, Some(RemoteTransport::StreamableHttp));
        assert_eq!(custom.secret_headers, vec!["Authorization"]);
        assert_eq!(
            custom.headers,
            BTreeMap::from([("X-Trace".into(), "on".into())])
        );
        assert_eq!(
            secrets,
            BTreeMap::from([("AUTHORIZATION".into(), "Bearer abc".into())])
        );
        let stored = serde_json::to_string(&custom).unwrap();
        assert!(!stored.contains("abc"), "{stored}");
        let def = custom.to_definition("tracker");
        assert_eq!(def.fields[0].header.as_deref(), Some("Authorization"));
    }

    #[test]
    fn an_unguessable_transport_asks_for_the_flag() {
        let err = CustomConnector::remote("http://example.test/rpc".into(), None, &[]).unwrap_err();
        assert!(err.to_string().contains("--transport sse"), "{err}");
        let (custom, _) = CustomConnector::remote(
            "http://example.test/rpc".into(),
            Some(RemoteTransport::Sse),
            &[],
        )
        .unwrap();
        assert_eq!(custom.transport, Some(RemoteTransport::Sse));
    }
}
