//! What a connector's server may reach and use — its network, the files
//! it may read or write, its memory, CPU and processes — as data: a
//! default for every connector, a catalog entry's own (`[connector.policy]`)
//! and the person's override in settings (`codebuddy.connectors.policy`).
//! The launchers turn it into `docker run` limits; [`Policy::describe`]
//! says it in words for `info`, `policy` and the dashboard.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The memory a server gets when nothing says otherwise.
pub const DEFAULT_MEMORY: &str = "512m";
/// The CPUs a server gets when nothing says otherwise.
pub const DEFAULT_CPUS: f64 = 1.0;
/// The processes a container may hold (a fork bomb stops here).
pub const DEFAULT_PIDS: u32 = 256;

/// What a server may reach on the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Network {
    /// Anything, as today's users of a custom connector expect.
    #[default]
    Open,
    /// Nothing at all.
    None,
    /// Only this machine (for a native server; a container has its own).
    Loopback,
    /// Only these hosts.
    Hosts(Vec<String>),
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Network::Open => f.write_str("open"),
            Network::None => f.write_str("none"),
            Network::Loopback => f.write_str("loopback"),
            Network::Hosts(hosts) => f.write_str(&hosts.join(",")),
        }
    }
}

impl FromStr for Network {
    type Err = String;

    /// `open`, `none`, `loopback`, or hosts separated by commas.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "open" | "any" => Ok(Network::Open),
            "none" => Ok(Network::None),
            "loopback" | "localhost" => Ok(Network::Loopback),
            hosts => {
                // A `{FIELD}` entry (the catalog's: the host of a field's
                // value) keeps its case; a host is lowercase.
                let hosts: Vec<String> = hosts
                    .split(',')
                    .map(|h| {
                        let h = h.trim();
                        if h.contains('{') {
                            h.to_string()
                        } else {
                            h.to_ascii_lowercase()
                        }
                    })
                    .filter(|h| !h.is_empty())
                    .collect();
                let bad = hosts.iter().find(|h| {
                    !h.chars().all(|c| {
                        c.is_ascii_alphanumeric()
                            || matches!(c, '.' | '-' | ':' | '*')
                            || (h.contains('{') && matches!(c, '{' | '}' | '_'))
                    })
                });
                match (hosts.is_empty(), bad) {
                    (true, _) => Err("give `open`, `none`, `loopback` or host names".into()),
                    (false, Some(bad)) => Err(format!(
                        "`{bad}` is not a host name: give names such as api.github.com, separated by commas"
                    )),
                    (false, None) => Ok(Network::Hosts(hosts)),
                }
            }
        }
    }
}

impl Serialize for Network {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Network::Hosts(hosts) => hosts.serialize(serializer),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Network {
    /// A word (`open`, `none`, `loopback`) or a list of hosts.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Word(String),
            Hosts(Vec<String>),
        }
        let text = match Given::deserialize(deserializer)? {
            Given::Word(word) => word,
            Given::Hosts(hosts) => hosts.join(","),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a connector's server may reach and use. Every field may be left
/// out; what is left out keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// What it may reach on the network (open when not given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Paths it may read (besides what it needs to run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Paths it may read and write.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
    /// Its memory limit, as `docker run --memory` takes it (`512m`, `1g`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// How many CPUs it may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Whether a program on this machine runs inside bubblewrap (on
    /// unless turned off: `policy NAME --no-sandbox`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<bool>,
}

// `cpus` is the only float, and JSON, TOML and the flag parser give no
// NaN, so equality is total.
impl Eq for Policy {}

impl Policy {
    /// `self` with what `over` sets put over it (lists replace lists).
    pub fn overlaid(&self, over: &Policy) -> Policy {
        Policy {
            network: over.network.clone().or_else(|| self.network.clone()),
            read: if over.read.is_empty() {
                self.read.clone()
            } else {
                over.read.clone()
            },
            write: if over.write.is_empty() {
                self.write.clone()
            } else {
                over.write.clone()
            },
            memory: over.memory.clone().or_else(|| self.memory.clone()),
            cpus: over.cpus.or(self.cpus),
            sandbox: over.sandbox.or(self.sandbox),
        }
    }

    /// The network rule in effect.
    pub fn network(&self) -> &Network {
        self.network.as_ref().unwrap_or(&Network::Open)
    }

    /// Whether a program on this machine runs in the sandbox: unless a
    /// person turned it off for this connector.
    pub fn sandboxed(&self) -> bool {
        self.sandbox != Some(false)
    }

    /// The memory limit in effect.
    pub fn memory(&self) -> &str {
        self.memory.as_deref().unwrap_or(DEFAULT_MEMORY)
    }

    /// The CPU limit in effect.
    pub fn cpus(&self) -> f64 {
        self.cpus.unwrap_or(DEFAULT_CPUS)
    }

    /// Checks the values a person gave: a memory size docker takes, CPUs
    /// above zero, absolute paths.
    pub fn check(&self) -> Result<(), String> {
        if let Some(memory) = &self.memory {
            memory_bytes(memory).ok_or_else(|| {
                format!(
                    "memory `{memory}` is not a size: give a number with k, m or g, such as 512m"
                )
            })?;
        }
        if let Some(cpus) = self.cpus {
            if !(cpus > 0.0 && cpus <= 1024.0) {
                return Err(format!("cpus `{cpus}` must be above 0, such as 0.5 or 2"));
            }
        }
        if let Some(path) = self
            .read
            .iter()
            .chain(&self.write)
            .find(|p| !p.starts_with('/'))
        {
            return Err(format!("path `{path}` is not absolute: give it from /"));
        }
        if let Some(path) = self
            .read
            .iter()
            .chain(&self.write)
            .find(|p| p.contains([',', '=']))
        {
            return Err(format!(
                "path `{path}` has a `,` or `=`, which a container mount cannot hold: give another"
            ));
        }
        if let Network::Hosts(hosts) = self.network() {
            let plain = hosts.iter().filter(|h| !h.contains('{'));
            if let Some(bad) = plain.into_iter().find(|h| !crate::egress::is_rule(h)) {
                return Err(format!(
                    "`{bad}` is not a host to allow: give a name (api.github.com), a name and \
                     port (db.example.com:5432), subdomains (*.example.com) or a port of this \
                     machine (127.0.0.1:5432)"
                ));
            }
        }
        Ok(())
    }

    /// The policy in words: "network: api.github.com only; files: none;
    /// memory 512 MB, 1 CPU".
    pub fn describe(&self) -> String {
        let network = match self.network() {
            Network::Open => "open".to_string(),
            Network::None => "none".to_string(),
            Network::Loopback => "this machine only".to_string(),
            Network::Hosts(hosts) => {
                let words: Vec<String> = hosts.iter().map(|h| host_words(h)).collect();
                format!("{} only", words.join(", "))
            }
        };
        let mut files = Vec::new();
        if !self.read.is_empty() {
            files.push(format!("read {}", self.read.join(", ")));
        }
        if !self.write.is_empty() {
            files.push(format!("write {}", self.write.join(", ")));
        }
        let files = if files.is_empty() {
            "none given".to_string()
        } else {
            files.join("; ")
        };
        let memory = memory_bytes(self.memory())
            .map(|b| format!("{} MB", b / (1024 * 1024)))
            .unwrap_or_else(|| self.memory().to_string());
        let cpus = self.cpus();
        let plural = if cpus == 1.0 { "" } else { "s" };
        format!("network: {network}; files: {files}; memory {memory}, {cpus} CPU{plural}")
    }
}

impl Policy {
    /// The policy with each `{FIELD}` host entry made a host from the
    /// field's value (`lookup`): a URL gives its host and port
    /// (`postgres://…@db:5432/x` → `db:5432`), other text is put in place
    /// (`{MYSQL_HOST}:{MYSQL_PORT}`). An entry whose field has no value is
    /// left out; what a value makes must be a host to allow.
    pub fn with_fields(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Policy, String> {
        let Some(Network::Hosts(hosts)) = &self.network else {
            return Ok(self.clone());
        };
        let mut made = Vec::new();
        for entry in hosts {
            if !entry.contains('{') {
                made.push(entry.clone());
                continue;
            }
            let Some(host) = fill(entry, lookup) else {
                continue;
            };
            if !crate::egress::is_rule(&host) {
                return Err(format!(
                    "`{host}`, from `{entry}`, is not a host its server could be allowed to \
                     reach: correct the value, or set the network with `switchboard policy`"
                ));
            }
            made.push(host);
        }
        let mut policy = self.clone();
        policy.network = Some(Network::Hosts(made));
        Ok(policy)
    }
}

/// `{A}:{B}` with A and B looked up (a URL's host and port); `None` when
/// a field has no value.
fn fill(entry: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    use super::placeholder::Fill;
    let filled = super::placeholder::fill(entry, |key| match lookup(key) {
        Some(value) if !value.is_empty() => Fill::Value(host_of(&value)),
        _ => Fill::Missing,
    })?;
    Some(filled.to_ascii_lowercase())
}

/// A URL's `host:port` (its scheme's port when it names none); other
/// text as it is.
fn host_of(value: &str) -> String {
    let Ok(url) = url::Url::parse(value) else {
        return value.trim().to_string();
    };
    let Some(host) = url.host_str() else {
        return value.trim().to_string();
    };
    let port = url.port().or(match url.scheme() {
        "postgres" | "postgresql" => Some(5432),
        "mysql" | "mariadb" => Some(3306),
        "redis" | "rediss" => Some(6379),
        "mongodb" => Some(27017),
        _ => url.port_or_known_default(),
    });
    match port {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// A host entry in words: `{POSTGRES_URL}` is "the host in POSTGRES_URL".
fn host_words(entry: &str) -> String {
    if entry.starts_with('{') && entry.ends_with('}') && entry.matches('{').count() == 1 {
        format!("the host in {}", &entry[1..entry.len() - 1])
    } else {
        entry.replace(['{', '}'], "")
    }
}

/// `512m` → bytes; `None` for what is not a size.
pub fn memory_bytes(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text.as_str(), ""),
    };
    let number: u64 = digits.parse().ok()?;
    let scale = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1024,
        "m" => 1024 * 1024,
        "g" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number
        .checked_mul(scale)
        .filter(|bytes| *bytes >= 6 * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_reads_words_and_hosts_and_refuses_the_rest() {
        assert_eq!("none".parse::<Network>().unwrap(), Network::None);
        assert_eq!(
            "api.github.com, uploads.github.com"
                .parse::<Network>()
                .unwrap(),
            Network::Hosts(vec!["api.github.com".into(), "uploads.github.com".into()])
        );
        assert!("http://x/".parse::<Network>().is_err());
        let json: Network = serde_json::from_str(r#"["a.example"]"#).unwrap();
        assert_eq!(json, Network::Hosts(vec!["a.example".into()]));
    }

    #[test]
    fn an_override_replaces_what_it_sets_and_the_words_say_it() {
        let base = Policy {
            network: Some(Network::Hosts(vec!["api.github.com".into()])),
            ..Policy::default()
        };
        let over = Policy {
            memory: Some("1g".into()),
            ..Policy::default()
        };
        let policy = base.overlaid(&over);
        assert_eq!(
            policy.describe(),
            "network: api.github.com only; files: none given; memory 1024 MB, 1 CPU"
        );
        assert!(Policy {
            memory: Some("lots".into()),
            ..Policy::default()
        }
        .check()
        .is_err());
        assert_eq!(memory_bytes("512m"), Some(512 * 1024 * 1024));
    }

    #[test]
    fn field_entries_become_the_hosts_of_their_values() {
        let policy = Policy {
            network: Some(
                "api.example.com,{POSTGRES_URL},{MYSQL_HOST}:{MYSQL_PORT},{MISSING}"
                    .parse()
                    .unwrap(),
            ),
            ..Policy::default()
        };
        assert_eq!(
            policy.describe(),
            "network: api.example.com, the host in POSTGRES_URL, MYSQL_HOST:MYSQL_PORT, \
             the host in MISSING only; files: none given; memory 512 MB, 1 CPU"
        );
        let values = |name: &str| match name {
            "POSTGRES_URL" => Some("postgresql://me:pw@DB.example.com/app".to_string()),
            "MYSQL_HOST" => Some("host.docker.internal".to_string()),
            "MYSQL_PORT" => Some("3306".to_string()),
            _ => None,
        };
        let made = policy.with_fields(&values).unwrap();
        assert_eq!(
            made.network,
            Some(Network::Hosts(vec![
                "api.example.com".into(),
                "db.example.com:5432".into(),
                "host.docker.internal:3306".into(),
            ]))
        );
        let bad = |_: &str| Some("not a host!".to_string());
        assert!(policy.with_fields(&bad).is_err());
    }
}
