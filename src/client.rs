//! The CLI's side of the service socket: send one request, read one
//! response; start the service in the background when none runs (it
//! inherits this command's environment); refuse to go on when this command
//! sets a variable the running service reads for itself to another value;
//! wait for it to be gone after `shutdown`.

use std::fs::File;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

mod requests;

use crate::error::Error;
use crate::ipc::{Hello, Request, Response, MAX_MESSAGE_BYTES};
use crate::paths::{Paths, HOME_ENV};

/// How long a freshly spawned service may take to answer.
const SPAWN_DEADLINE: Duration = Duration::from_secs(20);
/// How long a stopping service may take to stop its servers.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(60);
/// Between two looks while polling.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A failure reported by the service, or reaching it.
pub type ClientResult<T> = std::result::Result<T, Error>;

/// Talks to the service of one data dir.
#[derive(Debug, Clone)]
pub struct Client {
    paths: Paths,
    /// The service's hello, once checked: a command's further requests
    /// are one round trip each, not two.
    checked: std::sync::Arc<tokio::sync::OnceCell<Hello>>,
}

impl Client {
    /// A client for the service of `paths`.
    pub fn new(paths: Paths) -> Client {
        Client {
            paths,
            checked: Default::default(),
        }
    }

    /// Sends a request to the running service (starting one if needed) and
    /// returns its result, or the service's error as [`Error::Remote`].
    pub async fn call(&self, request: &Request) -> ClientResult<serde_json::Value> {
        // Not `get_or_try_init`: it would hold the cell across the hello, and
        // a second request of the same command (the progress line's status)
        // polled meanwhile would wait on a future nobody polls.
        if self.checked.get().is_none() {
            let hello = self.ensure_running().await?;
            let _ = self.checked.set(hello);
        }
        self.send(request).await
    }

    /// Makes sure a service runs for this data dir and uses the same
    /// settings file; starts one in the background if none answers.
    pub async fn ensure_running(&self) -> ClientResult<Hello> {
        let hello = match self.hello().await {
            Ok(hello) => hello,
            Err(_) => self.spawn_service().await?,
        };
        if let Some(mismatch) = environment_mismatches(&hello).into_iter().next() {
            return Err(mismatch);
        }
        if hello.settings != self.paths.settings {
            return Err(Error::ServiceUnavailable {
                socket: self.paths.socket(),
                reason: format!(
                    "the running service uses settings {} but this command uses {}: \
                     run `switchboard shutdown` first, or use the same settings file",
                    hello.settings.display(),
                    self.paths.settings.display()
                ),
            });
        }
        Ok(hello)
    }

    /// Sends a request to the running service as it is: no service is
    /// started, and no difference of environment refused (for `doctor`,
    /// which reports them).
    pub async fn ask(&self, request: &Request) -> ClientResult<serde_json::Value> {
        self.send(request).await
    }

    /// Asks the running service who it is, without starting one.
    pub async fn hello(&self) -> ClientResult<Hello> {
        let value = self.send(&Request::Hello).await?;
        serde_json::from_value(value).map_err(|e| Error::UnexpectedAnswer {
            request: "hello",
            message: e.to_string(),
        })
    }

    /// Stops the running service, and waits until it and every server it
    /// started are gone. Returns whether one was running.
    pub async fn shutdown(&self) -> ClientResult<bool> {
        if self.hello().await.is_err() {
            return Ok(false);
        }
        self.send(&Request::Shutdown).await?;
        let deadline = Instant::now() + SHUTDOWN_DEADLINE;
        // The service holds its lock until its last server is stopped.
        while Instant::now() < deadline {
            if self.lock_is_free() {
                return Ok(true);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Err(Error::ServiceUnavailable {
            socket: self.paths.socket(),
            reason: format!(
                "the service did not stop within {}s; see {}",
                SHUTDOWN_DEADLINE.as_secs(),
                self.paths.service_log().display()
            ),
        })
    }

    fn lock_is_free(&self) -> bool {
        let Ok(file) = File::options().write(true).open(self.paths.service_lock()) else {
            return true;
        };
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {
                let _ = fs4::FileExt::unlock(&file);
                true
            }
            Err(_) => false,
        }
    }

    async fn send(&self, request: &Request) -> ClientResult<serde_json::Value> {
        let socket = self.paths.socket();
        let unavailable = |reason: String| Error::ServiceUnavailable {
            socket: socket.clone(),
            reason,
        };
        let mut stream = UnixStream::connect(&socket)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let mut bytes = serde_json::to_vec(request)
            .map_err(|e| Error::Internal(format!("cannot encode request: {e}")))?;
        bytes.push(b'\n');
        stream
            .write_all(&bytes)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let mut reader = BufReader::new(stream.take(MAX_MESSAGE_BYTES as u64));
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if line.is_empty() {
            return Err(unavailable(
                "the service closed the connection without answering".into(),
            ));
        }
        match serde_json::from_str::<Response>(&line) {
            Ok(Response::Ok(value)) => Ok(value),
            Ok(Response::Error { code, message }) => Err(Error::Remote { code, message }),
            Err(err) => Err(unavailable(format!("unreadable answer: {err}"))),
        }
    }

    /// Starts `switchboard serve` detached from this terminal, with its
    /// output in the service log, and waits until it answers.
    async fn spawn_service(&self) -> ClientResult<Hello> {
        self.paths
            .ensure_home()
            .map_err(|e| Error::file("create", self.paths.home.clone(), e))?;
        let exe = std::env::current_exe()
            .map_err(|e| Error::Internal(format!("cannot find our own executable: {e}")))?;
        let log_path = self.paths.service_log();
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::file("open", log_path.clone(), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::file("open", log_path.clone(), e))?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("--settings")
            .arg(&self.paths.settings)
            .arg("serve")
            .arg("--background")
            .env(HOME_ENV, &self.paths.home)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // SAFETY: setsid is async-signal-safe; it detaches the service from
        // our terminal and process group so it outlives this command.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| Error::ServiceUnavailable {
            socket: self.paths.socket(),
            reason: format!("cannot start the service: {e}"),
        })?;
        let deadline = Instant::now() + SPAWN_DEADLINE;
        loop {
            if let Ok(hello) = self.hello().await {
                return Ok(hello);
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Lost a race with another starter? Then that one answers.
                if let Ok(hello) = self.hello().await {
                    return Ok(hello);
                }
                return Err(Error::ServiceUnavailable {
                    socket: self.paths.socket(),
                    reason: format!(
                        "the service exited ({status}) at start: {}",
                        last_lines(&log_path, 3)
                    ),
                });
            }
            if Instant::now() > deadline {
                return Err(Error::ServiceUnavailable {
                    socket: self.paths.socket(),
                    reason: format!(
                        "the service did not answer within {}s; see {}",
                        SPAWN_DEADLINE.as_secs(),
                        log_path.display()
                    ),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// The variables of [`crate::ipc::SERVICE_ENV`] this command sets to a value
/// the running service does not have: the service read its own when it
/// started, so this command's would be silently ignored. A variable this
/// command leaves unset takes the service's, whatever it is.
pub fn environment_mismatches(hello: &Hello) -> Vec<Error> {
    crate::ipc::service_env()
        .into_iter()
        .filter(|(name, ours)| hello.env.get(name) != Some(ours))
        .map(|(name, ours)| Error::ServiceEnvironment {
            service: hello.env.get(&name).cloned(),
            variable: name,
            command: ours,
        })
        .collect()
}

fn last_lines(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}
