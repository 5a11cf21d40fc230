//! A skill's settings as it reads them: its field values together with the
//! catalog's definition of those fields, so a default, a range or the
//! spelling of a boolean is written once (in `catalog/connectors.toml`) and
//! checked by the same code that checked the value before it was stored
//! (`ConfigField::normalize` and its parsers in `catalog/kind.rs`).

use std::collections::BTreeMap;

use super::SkillError;
use crate::catalog::{Catalog, ConfigField, SkillKind};

/// One skill's field definitions and the values it was opened with.
pub(crate) struct SkillConfig<'a> {
    fields: Vec<ConfigField>,
    values: &'a BTreeMap<String, String>,
}

impl<'a> SkillConfig<'a> {
    /// The definition of `skill`'s fields in the built-in catalog, with
    /// `values` (field name → value).
    pub(crate) fn for_skill(
        skill: SkillKind,
        values: &'a BTreeMap<String, String>,
    ) -> Result<SkillConfig<'a>, SkillError> {
        let catalog = Catalog::builtin().map_err(|e| SkillError::Backend {
            message: e.to_string(),
        })?;
        let fields = catalog
            .iter()
            .filter_map(|def| def.skill.as_ref())
            .find(|backend| backend.name == skill)
            .map(|backend| backend.fields.clone())
            .ok_or_else(|| SkillError::UnknownSkill {
                name: skill.to_string(),
            })?;
        Ok(SkillConfig { fields, values })
    }

    /// A field's definition; asking for one the catalog does not declare
    /// is a bug in the skill, reported rather than guessed around.
    fn field(&self, name: &str) -> Result<&ConfigField, SkillError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| SkillError::BadConfig {
                field: name.to_string(),
                problem: "the catalog declares no such setting for this skill".into(),
            })
    }

    /// The value given, else the field's default; `None` when neither (an
    /// empty value counts as none).
    fn raw(&self, name: &str) -> Result<(&ConfigField, Option<&str>), SkillError> {
        let field = self.field(name)?;
        let given = self
            .values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty());
        Ok((field, given.or(field.default.as_deref())))
    }

    /// A required field's value, or [`SkillError::MissingField`].
    pub(crate) fn required(&self, name: &str) -> Result<&str, SkillError> {
        match self.raw(name)? {
            (_, Some(value)) => Ok(value),
            (_, None) => Err(SkillError::MissingField {
                field: name.to_string(),
            }),
        }
    }

    /// A `bool` field (its default when not given; false without one).
    pub(crate) fn flag(&self, name: &str) -> Result<bool, SkillError> {
        let (field, raw) = self.raw(name)?;
        match raw {
            None => Ok(false),
            Some(raw) => field.parse_bool(raw).map_err(|problem| bad(name, problem)),
        }
    }

    /// A `number` field, within the catalog's range (its default when not
    /// given).
    pub(crate) fn number(&self, name: &str) -> Result<u64, SkillError> {
        let (field, raw) = self.raw(name)?;
        let raw = raw.ok_or_else(|| SkillError::MissingField {
            field: name.to_string(),
        })?;
        field
            .parse_number(raw)
            .map_err(|problem| bad(name, problem))
    }
}

fn bad(field: &str, problem: String) -> SkillError {
    SkillError::BadConfig {
        field: field.to_string(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_through_the_catalog_with_its_defaults_and_ranges() {
        let mut values = BTreeMap::new();
        let config = SkillConfig::for_skill(SkillKind::Postgres, &values).expect("postgres");
        assert!(!config.flag("allow_writes").expect("default"));
        assert_eq!(config.number("row_limit").expect("default"), 1000);
        assert!(matches!(
            config.required("url"),
            Err(SkillError::MissingField { field }) if field == "url"
        ));
        assert!(matches!(
            config.flag("no_such_setting"),
            Err(SkillError::BadConfig { .. })
        ));
        values.insert("allow_writes".to_string(), "TRUE".to_string());
        values.insert("row_limit".to_string(), "0".to_string());
        let config = SkillConfig::for_skill(SkillKind::Postgres, &values).expect("postgres");
        assert!(config.flag("allow_writes").expect("true"));
        assert!(matches!(
            config.number("row_limit"),
            Err(SkillError::BadConfig { problem, .. }) if problem.contains("from 1 to 1000000")
        ));
        values.insert("allow_writes".to_string(), "maybe".to_string());
        let config = SkillConfig::for_skill(SkillKind::Postgres, &values).expect("postgres");
        assert!(matches!(
            config.flag("allow_writes"),
            Err(SkillError::BadConfig { .. })
        ));
    }
}
