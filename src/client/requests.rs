//! One typed method per request the commands send: each names the answer's
//! type, so no face guesses at a JSON value, and an answer of another
//! shape (a service of another version) is one clear error.

use std::collections::BTreeMap;

use rmcp::model::{CallToolResult, Tool};
use serde::de::DeserializeOwned;

use super::{Client, ClientResult};
use crate::connector::{FieldStatus, LogoutOutcome, StoredSecret};
use crate::doctor::DoctorReport;
use crate::error::Error;
use crate::ipc::{ConnectRequest, Request};
use crate::mcp::auth::Started;
use crate::{ConnectorInfo, CustomConnector};

/// Reads an answer to `request` as `T`.
fn read<T: DeserializeOwned>(request: &'static str, value: serde_json::Value) -> ClientResult<T> {
    serde_json::from_value(value).map_err(|e| Error::UnexpectedAnswer {
        request,
        message: e.to_string(),
    })
}

impl Client {
    /// Sends `request` (starting a service if none runs) and reads its
    /// answer as `T`.
    async fn ask_as<T: DeserializeOwned>(&self, request: Request) -> ClientResult<T> {
        read(request.name(), self.call(&request).await?)
    }

    /// Every connector.
    pub async fn list(&self) -> ClientResult<Vec<ConnectorInfo>> {
        self.ask_as(Request::List).await
    }

    /// One connector.
    pub async fn status(&self, name: &str) -> ClientResult<ConnectorInfo> {
        let name = name.to_string();
        self.ask_as(Request::Status { name }).await
    }

    /// Adds a custom connector; `secrets` go to the secret store.
    pub async fn add(
        &self,
        name: &str,
        connector: CustomConnector,
        secrets: BTreeMap<String, String>,
    ) -> ClientResult<ConnectorInfo> {
        let request = Request::Add {
            name: name.to_string(),
            connector: Box::new(connector),
            secrets,
        };
        self.ask_as(request).await
    }

    /// Removes a custom connector; answers its name.
    pub async fn remove(&self, name: &str) -> ClientResult<String> {
        let name = name.to_string();
        self.ask_as(Request::Remove { name }).await
    }

    /// Everything one `connect` asks, in one request.
    pub async fn connect(&self, request: ConnectRequest) -> ClientResult<ConnectorInfo> {
        self.ask_as(Request::Connect(request)).await
    }

    /// Disconnects.
    pub async fn disconnect(&self, name: &str) -> ClientResult<ConnectorInfo> {
        let name = name.to_string();
        self.ask_as(Request::Disconnect { name }).await
    }

    /// Restarts with the current configuration.
    pub async fn restart(&self, name: &str) -> ClientResult<ConnectorInfo> {
        let name = name.to_string();
        self.ask_as(Request::Restart { name }).await
    }

    /// A connector's fields and which are set.
    pub async fn config(&self, name: &str) -> ClientResult<Vec<FieldStatus>> {
        let name = name.to_string();
        self.ask_as(Request::Config { name }).await
    }

    /// Stores field values (secrets in the secret store).
    pub async fn set_config(
        &self,
        name: &str,
        values: BTreeMap<String, String>,
    ) -> ClientResult<ConnectorInfo> {
        let name = name.to_string();
        self.ask_as(Request::SetConfig { name, values }).await
    }

    /// Checks values before anything is stored (each fits its field, no
    /// secret among `on_command_line`, relative paths taken from this
    /// process's directory); answers them as they would be stored.
    pub async fn check_config(
        &self,
        name: &str,
        backend: Option<crate::ConnectorType>,
        values: BTreeMap<String, String>,
        on_command_line: Vec<String>,
    ) -> ClientResult<BTreeMap<String, String>> {
        let request = Request::CheckConfig {
            name: name.to_string(),
            backend,
            values,
            on_command_line,
            cwd: std::env::current_dir().ok(),
        };
        self.ask_as(request).await
    }

    /// Forgets a stored value; answers whether there was one.
    pub async fn unset_config(&self, name: &str, field: &str) -> ClientResult<bool> {
        let (name, field) = (name.to_string(), field.to_string());
        self.ask_as(Request::UnsetConfig { name, field }).await
    }

    /// Which secrets are stored (names only).
    pub async fn secret_list(&self, name: Option<String>) -> ClientResult<Vec<StoredSecret>> {
        self.ask_as(Request::SecretList { name }).await
    }

    /// A connected connector's tools.
    pub async fn tools(&self, name: &str) -> ClientResult<Vec<Tool>> {
        let name = name.to_string();
        self.ask_as(Request::Tools { name }).await
    }

    /// The tools the user disabled.
    pub async fn disabled_tools(&self, name: &str) -> ClientResult<Vec<String>> {
        let name = name.to_string();
        self.ask_as(Request::DisabledTools { name }).await
    }

    /// Disables and enables tools as one change; answers the disabled set.
    pub async fn set_tools_enabled(
        &self,
        name: &str,
        disable: Vec<String>,
        enable: Vec<String>,
    ) -> ClientResult<Vec<String>> {
        let name = name.to_string();
        let request = Request::SetToolsEnabled {
            name,
            disable,
            enable,
        };
        self.ask_as(request).await
    }

    /// Calls a tool.
    pub async fn call_tool(
        &self,
        name: &str,
        tool: &str,
        arguments: Option<serde_json::Value>,
    ) -> ClientResult<CallToolResult> {
        let request = Request::Call {
            name: name.to_string(),
            tool: tool.to_string(),
            arguments,
        };
        self.ask_as(request).await
    }

    /// Starts a sign-in; answers the page to open.
    pub async fn login(
        &self,
        name: &str,
        scopes: Vec<String>,
        open_browser: bool,
    ) -> ClientResult<Started> {
        let name = name.to_string();
        let request = Request::Login {
            name,
            scopes,
            open_browser,
        };
        self.ask_as(request).await
    }

    /// Waits for a sign-in to end.
    pub async fn wait_sign_in(&self, name: &str) -> ClientResult<ConnectorInfo> {
        let name = name.to_string();
        let request = Request::WaitSignIn {
            name,
            timeout_secs: None,
        };
        self.ask_as(request).await
    }

    /// Revokes and deletes a connector's tokens.
    pub async fn logout(&self, name: &str) -> ClientResult<LogoutOutcome> {
        let name = name.to_string();
        self.ask_as(Request::Logout { name }).await
    }

    /// Uses a pre-registered OAuth client for a connector's sign-ins.
    pub async fn set_oauth_client(
        &self,
        name: &str,
        client_id: Option<String>,
        client_secret: Option<String>,
    ) -> ClientResult<()> {
        let request = Request::SetOAuthClient {
            name: name.to_string(),
            client_id,
            client_secret,
        };
        self.ask_as(request).await
    }

    /// A connector's policy; with `change`, the override is changed first.
    pub async fn policy(
        &self,
        name: &str,
        change: Option<crate::catalog::Policy>,
    ) -> ClientResult<crate::connector::PolicyInfo> {
        let name = name.to_string();
        self.ask_as(Request::Policy { name, change }).await
    }

    /// Every gateway profile, by name.
    pub async fn profiles(
        &self,
    ) -> ClientResult<std::collections::BTreeMap<String, crate::profile::Profile>> {
        self.ask_as(Request::Profiles).await
    }

    /// Stores a gateway profile.
    pub async fn set_profile(
        &self,
        name: &str,
        profile: crate::profile::Profile,
        replace: bool,
    ) -> ClientResult<()> {
        let name = name.to_string();
        self.ask_as(Request::SetProfile {
            name,
            profile,
            replace,
        })
        .await
    }

    /// Removes a gateway profile.
    pub async fn remove_profile(&self, name: &str) -> ClientResult<()> {
        let name = name.to_string();
        self.ask_as(Request::RemoveProfile { name }).await
    }

    /// What `doctor` reports, as the running service sees it (no service
    /// is started for it).
    pub async fn doctor(&self) -> ClientResult<DoctorReport> {
        read("doctor", self.ask(&Request::Doctor).await?)
    }
}
