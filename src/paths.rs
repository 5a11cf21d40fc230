//! Where things live: the settings file and the data directory (socket,
//! logs, runtime files), resolved once from flags, environment and the
//! platform's conventions.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

/// Overrides the data directory, so two sandboxes on one machine never share
/// a service.
pub const HOME_ENV: &str = "SWITCHBOARD_HOME";
/// Overrides the settings file.
pub const SETTINGS_ENV: &str = "SWITCHBOARD_SETTINGS";

/// The resolved locations for one Switchboard instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The user's `settings.json`.
    pub settings: PathBuf,
    /// The data directory: socket, logs, runtime files.
    pub home: PathBuf,
}

impl Paths {
    /// Resolves the paths: an explicit settings path wins over
    /// `SWITCHBOARD_SETTINGS`, which wins over the platform config dir; an
    /// explicit home wins over `SWITCHBOARD_HOME`, which wins over the
    /// platform data dir. (MCP clients often start servers with a minimal
    /// environment, so the flags matter for `switchboard gateway`.)
    pub fn resolve(settings_flag: Option<PathBuf>, home_flag: Option<PathBuf>) -> Paths {
        let dirs = ProjectDirs::from("dev", "switchboard", "switchboard");
        let home = home_flag
            .or_else(|| {
                std::env::var_os(HOME_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| dirs.as_ref().map(|d| d.data_dir().to_path_buf()))
            .unwrap_or_else(|| PathBuf::from(".switchboard"));
        let settings = settings_flag
            .or_else(|| {
                std::env::var_os(SETTINGS_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| dirs.as_ref().map(|d| d.config_dir().join("settings.json")))
            .unwrap_or_else(|| home.join("settings.json"));
        Paths {
            settings: absolute(settings),
            home: absolute(home),
        }
    }

    /// Paths rooted in one directory, for tests and sandboxes.
    pub fn in_dir(dir: &Path) -> Paths {
        Paths {
            settings: dir.join("settings.json"),
            home: dir.join("home"),
        }
    }

    /// The Unix socket the service listens on.
    pub fn socket(&self) -> PathBuf {
        self.home.join("switchboard.sock")
    }

    /// Held exclusively by the running service, so only one runs per home.
    pub fn service_lock(&self) -> PathBuf {
        self.home.join("service.lock")
    }

    /// Per-connector server logs and the service's own log.
    pub fn log_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    /// A connector's log: its server's stderr and its lifecycle events.
    pub fn connector_log(&self, name: &str) -> PathBuf {
        self.log_dir().join(format!("{name}.log"))
    }

    /// The service's own log (lifecycle events, warnings).
    pub fn service_log(&self) -> PathBuf {
        self.log_dir().join("service.log")
    }

    /// Runtime files such as container id files.
    pub fn run_dir(&self) -> PathBuf {
        self.home.join("run")
    }

    /// Creates the data directory, readable by the user only.
    pub fn ensure_home(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        for dir in [self.home.clone(), self.log_dir(), self.run_dir()] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
        }
        Ok(())
    }
}

fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(&path))
            .unwrap_or(path)
    }
}
