//! Which HTTP transport a remote MCP server speaks, as one type from the
//! command line (`--transport`), the HTTP API, the catalog and the settings
//! file to the connect: a bad name is refused where it is read, with the
//! names that work, instead of travelling as text to the launch.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Which HTTP transport a remote MCP server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, utoipa::ToSchema)]
pub enum RemoteTransport {
    /// The HTTP+SSE transport of protocol 2024-11-05: `GET` an event stream,
    /// `POST` messages to the endpoint it names. Usually served at `/sse`.
    #[value(name = "sse")]
    #[schema(rename = "sse")]
    Sse,
    /// Streamable HTTP, the current transport. Usually served at `/mcp`.
    #[value(name = "http", alias = "streamable-http")]
    #[schema(rename = "http")]
    StreamableHttp,
}

impl RemoteTransport {
    /// The name used on the command line and in settings (`sse`, `http`).
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteTransport::Sse => "sse",
            RemoteTransport::StreamableHttp => "http",
        }
    }

    /// Guesses the transport from the URL's path, as servers conventionally
    /// name it: a path ending in `/sse` is SSE, one ending in `/mcp` is
    /// Streamable HTTP. Anything else is `None`, and the caller should ask
    /// (`--transport sse|http`) rather than guess.
    pub fn guess(url: &Url) -> Option<RemoteTransport> {
        let path = url.path().trim_end_matches('/');
        if path.ends_with("/sse") {
            Some(RemoteTransport::Sse)
        } else if path.ends_with("/mcp") {
            Some(RemoteTransport::StreamableHttp)
        } else {
            None
        }
    }
}

impl fmt::Display for RemoteTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RemoteTransport {
    type Err = String;

    /// Accepts `sse`, and `http` (or `streamable-http`, `streamableHttp`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sse" => Ok(RemoteTransport::Sse),
            "http" | "streamable-http" | "streamablehttp" => Ok(RemoteTransport::StreamableHttp),
            _ => Err(format!("unknown transport `{s}`: use `sse` or `http`")),
        }
    }
}

impl Serialize for RemoteTransport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RemoteTransport {
    /// Read like the command line's flag, so the settings file takes the
    /// same names and a wrong one gets the same message.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_are_read() {
        for t in [RemoteTransport::Sse, RemoteTransport::StreamableHttp] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<RemoteTransport>(&json).unwrap(), t);
        }
        let alias: RemoteTransport = serde_json::from_str("\"streamableHttp\"").unwrap();
        assert_eq!(alias, RemoteTransport::StreamableHttp);
        let err = serde_json::from_str::<RemoteTransport>("\"websocket\"").unwrap_err();
        assert!(err.to_string().contains("use `sse` or `http`"), "{err}");
    }

    #[test]
    fn the_path_tells_the_transport() {
        let guess = |u: &str| RemoteTransport::guess(&Url::parse(u).unwrap());
        assert_eq!(guess("http://h/sse"), Some(RemoteTransport::Sse));
        assert_eq!(
            guess("http://h/x/mcp/"),
            Some(RemoteTransport::StreamableHttp)
        );
        assert_eq!(guess("http://h/api"), None);
    }
}
