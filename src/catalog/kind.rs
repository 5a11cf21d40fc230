//! What a config field's value may be — its [`FieldKind`] (text, a boolean,
//! a whole number in a range, a URL, a path, one of a list) — and the one
//! check every value passes: the service's before it stores a value
//! (settings or secret store), a skill's when it reads one. Both go through
//! [`ConfigField::normalize`] and its parsers, so a value the service
//! accepted is one the skill can read, and the range or the list of choices
//! is written once, in the catalog.
//!
//! Messages never quote the value of a secret field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ConfigField;

/// What kind of value a field takes. The catalog spells it `kind = "bool"`
/// and so on; a field without one takes any text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Any text.
    #[default]
    Text,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`), stored as
    /// `true` or `false`.
    Bool,
    /// A whole number, at least the field's `min` and at most its `max`.
    Number,
    /// An absolute URL whose scheme is one of the field's `schemes` (any
    /// scheme when it names none).
    Url,
    /// An absolute path on this machine; a relative one is taken from the
    /// directory of the command that gave it. The field's `choices` are
    /// literal values accepted besides a path (SQLite's `:memory:`).
    Path,
    /// One of the field's `choices`.
    Enum,
}

impl FieldKind {
    /// The catalog's name for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Bool => "bool",
            FieldKind::Number => "number",
            FieldKind::Url => "url",
            FieldKind::Path => "path",
            FieldKind::Enum => "enum",
        }
    }
}

impl ConfigField {
    /// Checks `value` against the field's kind and returns it as it is to
    /// be stored: a boolean as `true`/`false`, a number in plain digits, a
    /// relative path joined to `base` (the directory of the command that
    /// gave it; without one a path must be absolute), anything else as
    /// given. `Err` says what was expected, in words for a person.
    pub fn normalize(&self, value: &str, base: Option<&Path>) -> Result<String, String> {
        if value.contains('\0') {
            return Err("it contains a NUL character, which no program can be given".into());
        }
        match self.kind {
            FieldKind::Text => Ok(value.to_string()),
            FieldKind::Bool => self.parse_bool(value).map(|b| b.to_string()),
            FieldKind::Number => self.parse_number(value).map(|n| n.to_string()),
            FieldKind::Url => self.check_url(value),
            FieldKind::Path => self.resolve_path(value, base),
            FieldKind::Enum => {
                let trimmed = value.trim();
                if self.choices.iter().any(|c| c == trimmed) {
                    Ok(trimmed.to_string())
                } else {
                    Err(format!(
                        "expected one of {}, got {}",
                        self.choices.join(", "),
                        self.shown(value)
                    ))
                }
            }
        }
    }

    /// Reads a `bool` field's value.
    pub fn parse_bool(&self, value: &str) -> Result<bool, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(format!("expected true or false, got {}", self.shown(value))),
        }
    }

    /// Reads a `number` field's value, within its `min` and `max`.
    pub fn parse_number(&self, value: &str) -> Result<u64, String> {
        let (min, max) = (self.min.unwrap_or(0), self.max.unwrap_or(u64::MAX));
        match value.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "expected a whole number from {min} to {max}, got {}",
                self.shown(value)
            )),
        }
    }

    fn check_url(&self, value: &str) -> Result<String, String> {
        let trimmed = value.trim();
        let expected = if self.schemes.is_empty() {
            "an absolute URL".to_string()
        } else {
            format!("a {} URL", self.schemes.join(" or "))
        };
        match url::Url::parse(trimmed) {
            Ok(url)
                if self.schemes.is_empty() || self.schemes.iter().any(|s| s == url.scheme()) =>
            {
                Ok(trimmed.to_string())
            }
            Ok(url) => Err(format!(
                "expected {expected}, got one with scheme `{}`",
                url.scheme()
            )),
            Err(err) => Err(format!(
                "expected {expected}, got {} ({err})",
                self.shown(value)
            )),
        }
    }

    fn resolve_path(&self, value: &str, base: Option<&Path>) -> Result<String, String> {
        if self.choices.iter().any(|c| c == value) {
            return Ok(value.to_string());
        }
        if value.trim().is_empty() {
            return Err("expected a path, got an empty value".into());
        }
        let path = Path::new(value);
        if path.is_absolute() {
            return Ok(value.to_string());
        }
        match base {
            Some(base) if base.is_absolute() => Ok(base.join(path).display().to_string()),
            _ => Err(format!(
                "expected an absolute path, got {}",
                self.shown(value)
            )),
        }
    }

    /// The value as a message may quote it: never a secret's.
    fn shown(&self, value: &str) -> String {
        if self.secret {
            "a value that is not one (not shown: the field is secret)".into()
        } else if value.is_empty() {
            "an empty value".into()
        } else {
            format!("`{value}`")
        }
    }

    /// The rules of a field's kind that the catalog itself must keep: the
    /// keys that go with each kind, and a default that fits it.
    pub(super) fn check_kind(&self) -> Result<(), String> {
        let kind = self.kind.as_str();
        if (self.min.is_some() || self.max.is_some()) && self.kind != FieldKind::Number {
            return Err(format!(
                "has `min`/`max`, which only a number takes, but is {kind}"
            ));
        }
        if let (Some(min), Some(max)) = (self.min, self.max) {
            if min > max {
                return Err(format!("has `min` {min} above `max` {max}"));
            }
        }
        if !self.schemes.is_empty() && self.kind != FieldKind::Url {
            return Err(format!(
                "has `schemes`, which only a url takes, but is {kind}"
            ));
        }
        match self.kind {
            FieldKind::Enum if self.choices.is_empty() => {
                return Err("is an enum but lists no `choices`".into())
            }
            FieldKind::Enum | FieldKind::Path => {}
            _ if !self.choices.is_empty() => {
                return Err(format!(
                    "has `choices`, which only an enum or a path takes, but is {kind}"
                ))
            }
            _ => {}
        }
        if let Some(default) = &self.default {
            // A default is given by no command, so a relative path cannot
            // be resolved: it must be absolute like any stored path.
            self.normalize(default, None).map_err(|problem| {
                format!("has a default that does not fit its kind: {problem}")
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind) -> ConfigField {
        ConfigField {
            name: "f".into(),
            kind,
            ..ConfigField::default()
        }
    }

    #[test]
    fn bools_and_numbers_are_stored_in_one_spelling() {
        let flag = field(FieldKind::Bool);
        assert_eq!(flag.normalize(" Yes ", None), Ok("true".into()));
        assert_eq!(flag.normalize("0", None), Ok("false".into()));
        assert_eq!(
            flag.normalize("banana", None),
            Err("expected true or false, got `banana`".into())
        );
        let number = ConfigField {
            min: Some(1),
            max: Some(10),
            ..field(FieldKind::Number)
        };
        assert_eq!(number.normalize("007", None), Ok("7".into()));
        for bad in ["0", "11", "-1", "1.5", ""] {
            let err = number.normalize(bad, None).expect_err(bad);
            assert!(
                err.starts_with("expected a whole number from 1 to 10"),
                "{err}"
            );
        }
    }

    #[test]
    fn urls_paths_and_choices() {
        let url = ConfigField {
            schemes: vec!["postgres".into(), "postgresql".into()],
            secret: true,
            ..field(FieldKind::Url)
        };
        assert!(url.normalize("postgres://u:pw@h/db", None).is_ok());
        let err = url
            .normalize("mysql://u:pw@h/db", None)
            .expect_err("scheme");
        assert_eq!(
            err,
            "expected a postgres or postgresql URL, got one with scheme `mysql`"
        );
        let err = url.normalize("u:pw@h/db", None).expect_err("not a URL");
        assert!(!err.contains("pw"), "a secret is quoted: {err}");

        let path = ConfigField {
            choices: vec![":memory:".into()],
            ..field(FieldKind::Path)
        };
        assert_eq!(path.normalize(":memory:", None), Ok(":memory:".into()));
        assert_eq!(
            path.normalize("notes.db", Some(Path::new("/home/me"))),
            Ok("/home/me/notes.db".into())
        );
        assert!(path.normalize("notes.db", None).is_err());
        assert!(path.normalize("/a\0b", None).is_err());

        let choice = ConfigField {
            choices: vec!["a".into(), "b".into()],
            ..field(FieldKind::Enum)
        };
        assert_eq!(choice.normalize("b", None), Ok("b".into()));
        assert_eq!(
            choice.normalize("c", None),
            Err("expected one of a, b, got `c`".into())
        );
    }

    #[test]
    fn the_catalog_keeps_each_kind_to_its_keys() {
        let bad = [
            ConfigField {
                min: Some(1),
                ..field(FieldKind::Text)
            },
            ConfigField {
                min: Some(5),
                max: Some(1),
                ..field(FieldKind::Number)
            },
            field(FieldKind::Enum),
            ConfigField {
                schemes: vec!["http".into()],
                ..field(FieldKind::Path)
            },
            ConfigField {
                default: Some("maybe".into()),
                ..field(FieldKind::Bool)
            },
            ConfigField {
                default: Some("relative.db".into()),
                ..field(FieldKind::Path)
            },
        ];
        for field in bad {
            assert!(field.check_kind().is_err(), "{field:?} was accepted");
        }
    }
}
