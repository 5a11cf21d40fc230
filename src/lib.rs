//! Switchboard: one place to manage the integrations an AI tool uses.
//!
//! A *connector* is one integration, backed by an MCP server (a Docker
//! image, a native command) or a built-in skill. [`ConnectorService`] owns
//! every connector's state; the CLI talks to it through the background
//! service ([`daemon`]) over a local socket ([`client`], [`ipc`]).
//! See ARCHITECTURE.md for the map.

// The core and its types, at the crate root.
pub use catalog::{Catalog, ConnectorDefinition, ConnectorType};
pub use client::Client;
pub use connector::{ConnectorInfo, ConnectorService, CustomConnector, ServiceOptions};
pub use error::{Error, ErrorCode, Result};
pub use paths::Paths;
pub use settings::SettingsStore;
pub use status::{ConnectorEvent, ConnectorStatus};
pub use suggest::did_you_mean;

// The faces over the core: the local socket (`client`, `daemon`, `ipc`),
// the gateway, the HTTP API and dashboard, and `doctor`'s report.
pub mod client;
pub mod daemon;
pub mod doctor;
pub mod egress;
pub mod gateway;
pub mod http;
pub mod ipc;
pub mod logview;

// What the faces and the tests name inside the core: definitions, the
// connector core's own types, MCP clients' config files, servers and
// their transports, skills, secrets and the settings file.
pub mod audit;
pub mod catalog;
pub mod clients;
pub mod connector;
pub mod mcp;
pub mod profile;
pub mod secrets;
pub mod settings;
pub mod skills;
pub mod telemetry;

// The house's own mechanics.
mod atomic_file;
mod credentials;
mod error;
mod jsonc;
mod line_read;
#[doc(hidden)]
pub mod output;
mod paths;
mod status;
mod suggest;
