//! The egress proxy's other end, inside a server's network namespace
//! (`switchboard egress-forward`, run by the sandbox or beside a
//! container): it listens on loopback there — the proxy port that the
//! server's `HTTPS_PROXY` names, and an address for each host its policy
//! lists (`Allowed::inside`) — and carries every connection to the proxy's
//! Unix socket. A listed host is tunnelled with `CONNECT`, so the proxy
//! checks it too, and a client that knows no proxy reaches it all the same.
//!
//! Given a program, it runs it with the same standard streams and exits as
//! it does; without one it prints `ready PID` (the namespace a container
//! joins is `/proc/PID/ns/net`) and serves until its standard input closes.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixStream};

/// The loopback port inside the namespace that `HTTPS_PROXY` names.
pub const PROXY_PORT: u16 = 3128;

/// What to forward, and what to run.
#[derive(Debug, Clone, clap::Args)]
pub struct ForwardArgs {
    /// The proxy's Unix socket.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,
    /// `LISTEN=HOST:PORT`: an address to listen on, and what to tunnel
    /// its connections to through the proxy (repeatable).
    #[arg(long = "forward", value_name = "LISTEN=HOST:PORT")]
    pub forwards: Vec<String>,
    /// The program to run, and its arguments.
    #[arg(last = true)]
    pub program: Vec<String>,
}

/// Runs the forwarder; the exit code is the program's, else 0 when its
/// standard input closes. Errors are printed to stderr, which is the
/// server's log.
pub fn main(args: ForwardArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("switchboard egress-forward: cannot start: {err}");
            return 70;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: ForwardArgs) -> i32 {
    let proxy = format!("127.0.0.1:{PROXY_PORT}");
    match TcpListener::bind(&proxy).await {
        Ok(listener) => {
            tokio::spawn(accept(listener, args.socket.clone(), None));
        }
        Err(err) => {
            eprintln!("switchboard egress-forward: cannot listen on {proxy}: {err}");
            return 71;
        }
    }
    for forward in &args.forwards {
        let Some((listen, target)) = forward.split_once('=') else {
            eprintln!("switchboard egress-forward: `{forward}` is not LISTEN=HOST:PORT");
            return 64;
        };
        // A port it may not listen on (below 1024, without privilege) is
        // left to the proxy variables; the rest still works.
        match TcpListener::bind(listen).await {
            Ok(listener) => {
                tokio::spawn(accept(
                    listener,
                    args.socket.clone(),
                    Some(target.to_string()),
                ));
            }
            Err(err) => {
                eprintln!(
                    "switchboard egress-forward: cannot listen on {listen} for {target} ({err}); \
                     it is reachable through HTTPS_PROXY only"
                );
            }
        }
    }
    let Some((program, rest)) = args.program.split_first() else {
        println!("ready {}", std::process::id());
        // Serves until its owner closes standard input.
        let mut stdin = tokio::io::stdin();
        let mut sink = [0u8; 64];
        while matches!(stdin.read(&mut sink).await, Ok(n) if n > 0) {}
        return 0;
    };
    let mut command = tokio::process::Command::new(program);
    command.args(rest);
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    // The program does not inherit the right to listen below port 1024
    // (run as root, it gets back what the bounding set holds: that one
    // right, which reaches nothing outside this network namespace).
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            eprintln!("switchboard egress-forward: cannot run {program}: {err}");
            return 127;
        }
    };
    match child.wait().await {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(1)
        }
        Err(_) => 1,
    }
}

async fn accept(listener: TcpListener, socket: PathBuf, tunnel: Option<String>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(super::ACCEPT_PAUSE).await;
            continue;
        };
        let socket = socket.clone();
        let tunnel = tunnel.clone();
        tokio::spawn(async move {
            if let Err(err) = carry(client, &socket, tunnel.as_deref()).await {
                eprintln!("switchboard egress-forward: {err}");
            }
        });
    }
}

/// Carries one connection to the proxy; for a listed host, through a
/// `CONNECT` tunnel to `target` first.
async fn carry(mut client: TcpStream, socket: &Path, tunnel: Option<&str>) -> std::io::Result<()> {
    let proxy = UnixStream::connect(socket).await?;
    let mut proxy = BufReader::new(proxy);
    if let Some(target) = tunnel {
        let head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        proxy.get_mut().write_all(head.as_bytes()).await?;
        let mut status = String::new();
        proxy.read_line(&mut status).await?;
        // The rest of the answer's head, to its blank line.
        let mut line = String::new();
        while proxy.read_line(&mut line).await? > 2 {
            line.clear();
        }
        if status.split_whitespace().nth(1) != Some("200") {
            return Err(std::io::Error::other(format!(
                "{target} refused by the egress proxy ({})",
                status.trim()
            )));
        }
    }
    tokio::io::copy_bidirectional(&mut client, &mut proxy).await?;
    Ok(())
}
