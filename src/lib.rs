//! Switchboard: one place to manage the integrations an AI tool uses.
//!
//! A *connector* is one integration, backed by an MCP server (a Docker
//! image, a native command) or a built-in skill. [`ConnectorService`] owns
//! every connector's state; the CLI talks to it through the background
//! service ([`daemon`]) over a local socket ([`client`], [`ipc`]).
//! See ARCHITECTURE.md for the map.

mod atomic_file;
pub mod catalog;
pub mod client;
pub mod clients;
pub mod connector;
pub mod credentials;
pub mod daemon;
pub mod doctor;
mod error;
pub mod gateway;
pub mod http;
pub mod ipc;
mod jsonc;
pub mod logview;
pub mod mcp;
pub mod output;
pub mod paths;
pub mod secrets;
pub mod settings;
pub mod skills;
mod status;
pub mod suggest;

pub use catalog::{Catalog, ConnectorDefinition, ConnectorType};
pub use client::Client;
pub use connector::{ConnectorInfo, ConnectorService, CustomConnector, ServiceOptions};
pub use error::{Error, ErrorCode, Result};
pub use paths::Paths;
pub use settings::SettingsStore;
pub use status::{ConnectorEvent, ConnectorStatus};
