//! The gateway profiles in the settings file (`codebuddy.gateway.profiles`,
//! see `profile.rs`): read from a snapshot of the file (a read never waits
//! in the writer's queue), stored and removed through the one settings
//! writer, so a profile edit keeps every other byte of the file.

use std::collections::BTreeMap;

use super::ConnectorService;
use crate::error::{Error, Result};
use crate::profile::{parse, valid_name, Profile, PROFILES_PATH};

impl ConnectorService {
    /// Every profile, by name.
    pub async fn profiles(&self) -> Result<BTreeMap<String, Profile>> {
        let snapshot = super::load_blocking(self.inner.settings.clone()).await?;
        Ok(parse(snapshot.get(&PROFILES_PATH).cloned()))
    }

    /// One profile, or an error naming the ones there are.
    pub async fn profile(&self, name: &str) -> Result<Profile> {
        let mut all = self.profiles().await?;
        all.remove(name).ok_or_else(|| unknown(name, &all))
    }

    /// Stores `profile` as `name` (replacing one of that name when
    /// `replace`), after checking it names connectors there are.
    pub async fn set_profile(&self, name: &str, profile: Profile, replace: bool) -> Result<()> {
        if !valid_name(name) {
            return Err(Error::InvalidInput(format!(
                "profile name `{name}`: use letters, digits, - and _ (at most 64)"
            )));
        }
        profile.check().map_err(Error::InvalidInput)?;
        for connector in &profile.connectors {
            self.with_entry(connector, |_| ())?;
        }
        if !replace && self.profiles().await?.contains_key(name) {
            return Err(Error::InvalidInput(format!(
                "a profile `{name}` exists: remove it first (`switchboard profile rm {name}`), \
                 or import with --force"
            )));
        }
        let value = serde_json::to_value(&profile)
            .map_err(|e| Error::Internal(format!("cannot encode a profile: {e}")))?;
        let name = name.to_string();
        self.edit_settings(move |ed| {
            let [gateway, profiles] = PROFILES_PATH;
            ed.set(&[gateway, profiles, &name], value)
        })
        .await
    }

    /// Removes the profile `name`.
    pub async fn remove_profile(&self, name: &str) -> Result<()> {
        let all = self.profiles().await?;
        if !all.contains_key(name) {
            return Err(unknown(name, &all));
        }
        let key = name.to_string();
        self.edit_settings(move |ed| {
            let [gateway, profiles] = PROFILES_PATH;
            ed.remove(&[gateway, profiles, &key])
        })
        .await?;
        Ok(())
    }
}

/// The error for a profile that is not there.
fn unknown(name: &str, all: &BTreeMap<String, Profile>) -> Error {
    let known = if all.is_empty() {
        "there are none yet: create one with `switchboard profile create NAME --connectors a,b`"
            .to_string()
    } else {
        format!(
            "the profiles are: {}",
            all.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    Error::InvalidInput(format!("no profile `{name}`; {known}"))
}
