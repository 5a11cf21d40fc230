//! Validation of one connector definition: the rules a catalog entry, a
//! custom connector and a hand-edited one all pass before anything runs
//! (names, exactly one backend, URLs, images that cannot be flags, fields,
//! mounts and volumes, skills).

use std::collections::HashSet;

use super::{placeholders, validate_name};
use super::{CatalogError, ConnectorDefinition, ConnectorType, FieldKind, FieldTarget};

impl ConnectorDefinition {
    /// Checks one definition: name charset/length (1..=64, `[a-z0-9][a-z0-9-_]*`),
    /// exactly one of image/command for type mcp, image must not start with '-'
    /// and must match a docker reference charset, field names are valid env var
    /// names (`[A-Z_][A-Z0-9_]*`), no duplicate fields, every "{X}" placeholder in
    /// args names a declared field, secrets have no default, docs is an https URL
    /// if present.
    ///
    /// It also rejects an empty command, `env` keys that cannot be environment
    /// variable names (empty, or containing `=` or NUL), an `env` key that is also
    /// a field name, and an `arg`-target field that no argument uses.
    ///
    /// # Errors
    ///
    /// [`CatalogError::BadName`] for a bad name, otherwise
    /// [`CatalogError::Invalid`] describing the first problem found.
    pub fn validate(&self) -> Result<(), CatalogError> {
        validate_name(&self.name)?;
        let invalid = |problem: String| CatalogError::Invalid {
            connector: self.name.clone(),
            problem,
        };
        [
            self.check_backend(),
            self.check_field_targets(),
            self.check_files_and_volumes(),
            self.check_program(),
            self.check_other_backends(),
            self.check_fields(),
            self.check_policy(),
        ]
        .into_iter()
        .collect::<Result<(), String>>()
        .map_err(invalid)
    }

    /// Checks the policy: its values, and that each `{FIELD}` host entry
    /// names a field of this connector.
    fn check_policy(&self) -> Result<(), String> {
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        policy.check()?;
        if let Some(super::Network::Hosts(hosts)) = &policy.network {
            for entry in hosts.iter().filter(|h| h.contains('{')) {
                let mut unknown = None;
                super::placeholder::fill(entry, |name| {
                    if unknown.is_none() && !self.fields.iter().any(|f| f.name == name) {
                        unknown = Some(name.to_string());
                    }
                    super::placeholder::Fill::Literal
                });
                if let Some(name) = unknown {
                    return Err(format!(
                        "policy host `{entry}` names `{name}`, which is not one of its fields"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks the backend: exactly one of `image`, `command` and `url`, and a usable URL.
    fn check_backend(&self) -> Result<(), String> {
        let backends = [
            self.image.is_some(),
            self.command.is_some(),
            self.url.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count();
        if backends > 1 {
            return Err(
                "it sets more than one of `image`, `command` and `url`; set exactly one: \
                 `image` to run a Docker container, `command` to run a local program, `url` \
                 for a remote server"
                    .to_string(),
            );
        }
        if backends == 0 && self.kind == ConnectorType::Mcp {
            return Err(
                "an mcp connector needs `image` (a Docker image), `command` (a local \
                 program) or `url` (a remote server)"
                    .to_string(),
            );
        }
        if let Some(url) = &self.url {
            let ok = url::Url::parse(url)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .unwrap_or(false);
            if !ok {
                return Err(format!(
                    "url {url:?} is not an http(s) URL; give the server's full address, \
                     e.g. http://127.0.0.1:3001/mcp"
                ));
            }
        }
        Ok(())
    }

    /// Checks where each field goes: headers, queries, and its kind.
    fn check_field_targets(&self) -> Result<(), String> {
        if let Some(field) = self
            .fields
            .iter()
            .find(|f| f.target == FieldTarget::Header && f.header.is_none())
        {
            return Err(format!(
                "field `{}` goes to a header but names none; set `header`",
                field.name
            ));
        }
        for field in self
            .fields
            .iter()
            .chain(self.skill.iter().flat_map(|s| &s.fields))
        {
            field
                .check_kind()
                .map_err(|problem| format!("field `{}` {problem}", field.name))?;
        }
        for field in &self.fields {
            let query_target = field.target == FieldTarget::Query;
            if query_target != field.query.is_some() {
                return Err(format!(
                    "field `{}`: `query` names the URL parameter of a field whose target is \
                     \"query\", and such a field needs one",
                    field.name
                ));
            }
            if query_target && self.url.is_none() {
                return Err(format!(
                    "field `{}` goes into the URL's query, but the connector has no `url`",
                    field.name
                ));
            }
        }
        Ok(())
    }

    /// Checks what a command or a container is given: its directory, files and volumes.
    fn check_files_and_volumes(&self) -> Result<(), String> {
        if let Some(cwd) = &self.cwd {
            if self.command.is_none() || !std::path::Path::new(cwd).is_absolute() {
                return Err(format!(
                    "cwd {cwd:?}: a working directory is for a `command`, and must be an \
                     absolute path"
                ));
            }
        }
        for field in self.fields.iter().filter(|f| f.target == FieldTarget::File) {
            let Some(mount) = &field.mount else {
                return Err(format!(
                    "field `{}` is a file but names no `mount` (its path in the container)",
                    field.name
                ));
            };
            if self.image.is_none() {
                return Err(format!(
                    "field `{}` is a file, which only a container (`image`) can be given",
                    field.name
                ));
            }
            if !is_container_path(mount) {
                return Err(format!(
                    "field `{}` mounts at {mount:?}, which is not an absolute container path \
                     of letters, digits and / . _ -",
                    field.name
                ));
            }
            if field.kind != FieldKind::Path {
                return Err(format!(
                    "field `{}` is a file, so its kind must be \"path\"",
                    field.name
                ));
            }
        }
        for volume in &self.volumes {
            if self.image.is_none() {
                return Err(format!(
                    "volume `{}` is for containers, but the connector has no `image`",
                    volume.name
                ));
            }
            let name_ok = volume
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
                && volume
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !name_ok || !is_container_path(&volume.target) {
                return Err(format!(
                    "volume {:?} at {:?}: use a name of letters, digits and _ . - and an \
                     absolute container path",
                    volume.name, volume.target
                ));
            }
        }
        Ok(())
    }

    /// Checks the image or command (never an option) and the docs link.
    fn check_program(&self) -> Result<(), String> {
        if let Some(image) = &self.image {
            if image.starts_with('-') {
                return Err(format!(
                    "image {image:?} starts with '-', which docker would read as an option"
                ));
            }
            if !is_image_reference(image) {
                return Err(format!(
                    "image {image:?} is not a Docker image reference; use letters, digits and \
                     . _ - / : @ only, starting with a letter or digit (e.g. \"mcp/github\")"
                ));
            }
        }
        if let Some(command) = &self.command {
            if command.trim().is_empty() {
                return Err("`command` is empty".to_string());
            }
            if command.starts_with('-') {
                return Err(format!(
                    "command {command:?} starts with '-'; give the program to run"
                ));
            }
        }

        if let Some(docs) = &self.docs {
            let valid = docs
                .strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty() && !rest.chars().any(char::is_whitespace));
            if !valid {
                return Err(format!(
                    "docs {docs:?} is not an https URL; use a link starting with https://"
                ));
            }
        }
        Ok(())
    }

    /// Checks the skill and the vendor's hosted server.
    fn check_other_backends(&self) -> Result<(), String> {
        if let Some(skill) = &self.skill {
            let mut names = HashSet::new();
            for field in &skill.fields {
                let ok = field
                    .name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase())
                    && field
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !ok || !names.insert(field.name.as_str()) {
                    return Err(format!(
                        "skill field {:?} is invalid or repeated; use lowercase letters, digits and '_'",
                        field.name
                    ));
                }
                if field.secret && field.default.is_some() {
                    return Err(format!(
                        "skill field `{}` is secret and has a default; remove `default`",
                        field.name
                    ));
                }
            }
        }
        if let Some(remote) = &self.remote {
            let https = |text: &str| {
                url::Url::parse(text).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
            };
            if !https(&remote.url) || !https(&remote.source) {
                return Err(format!(
                    "remote url {:?} and source {:?} must both be https URLs (the source documents the url)",
                    remote.url, remote.source
                ));
            }
            if !matches!(remote.auth.as_str(), "oauth" | "token") {
                return Err(format!(
                    "remote auth {:?} is not `oauth` or `token`",
                    remote.auth
                ));
            }
        }
        if self.kind == ConnectorType::Skill && self.skill.is_none() {
            return Err(
                "a skill connector needs a `[connector.skill]` table naming the skill".to_string(),
            );
        }
        Ok(())
    }

    /// Checks field names, fixed env values, and the placeholders in `args`.
    fn check_fields(&self) -> Result<(), String> {
        let mut field_names = HashSet::new();
        for field in &self.fields {
            if !is_env_name(&field.name) {
                return Err(format!(
                    "field name {:?} is not a valid environment variable name; use uppercase \
                     letters, digits and '_', not starting with a digit (e.g. \"API_TOKEN\")",
                    field.name
                ));
            }
            if !field_names.insert(field.name.as_str()) {
                return Err(format!("field `{}` is declared more than once", field.name));
            }
            if field.secret && field.default.is_some() {
                return Err(format!(
                    "field `{}` is secret and has a default; secrets cannot have defaults, \
                     remove `default`",
                    field.name
                ));
            }
        }

        for key in self.env.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(format!(
                    "env key {key:?} cannot be an environment variable name"
                ));
            }
            if field_names.contains(key.as_str()) {
                return Err(format!(
                    "`{key}` is both a fixed env value and a field; keep only one"
                ));
            }
        }

        let mut used = HashSet::new();
        for arg in &self.args {
            for placeholder in placeholders(arg) {
                if !field_names.contains(placeholder) {
                    return Err(format!(
                        "argument {arg:?} uses placeholder {{{placeholder}}}, but there is no \
                         field named `{placeholder}`; declare it as a [[connector.field]]"
                    ));
                }
                used.insert(placeholder);
            }
        }
        if let Some(field) = self
            .fields
            .iter()
            .find(|f| f.target == FieldTarget::Arg && !used.contains(f.name.as_str()))
        {
            return Err(format!(
                "field `{0}` has target \"arg\" but no argument uses {{{0}}}; add it to `args` \
                 or make it an \"env\" field",
                field.name
            ));
        }
        Ok(())
    }
}

/// An absolute path inside a container that needs no quoting in a
/// `--mount` option (no commas, no `=`, no spaces).
fn is_container_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && !path.split('/').any(|part| part == "..")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
}

/// Whether `name` is an environment variable name as the catalog accepts them:
/// `[A-Z_][A-Z0-9_]*`.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_uppercase() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Whether `image` only uses characters that can appear in a Docker image
/// reference (`registry/path:tag@sha256:digest`) and starts with a letter or digit.
fn is_image_reference(image: &str) -> bool {
    image
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths() {
        assert!(is_container_path("/config/gcp-oauth.keys.json"));
        assert!(!is_container_path("/"));
        assert!(!is_container_path("relative"));
        assert!(!is_container_path("/a/../etc"));
        assert!(!is_container_path("/a,readonly=false"));
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("A"));
        assert!(is_env_name("_A1"));
        assert!(!is_env_name("1A"));
        assert!(!is_env_name("a"));
        assert!(!is_env_name(""));
    }

    #[test]
    fn image_references() {
        assert!(is_image_reference("mcp/github"));
        assert!(is_image_reference(
            "ghcr.io/github/github-mcp-server:v1.2@sha256:abc"
        ));
        assert!(!is_image_reference("-mcp"));
        assert!(!is_image_reference("mcp github"));
        assert!(!is_image_reference(""));
    }
}
