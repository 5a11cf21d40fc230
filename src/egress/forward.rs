//! The egress proxy's other end, inside a server's network namespace
//! (`switchboard egress-forward`, run by the sandbox or beside a
//! container): it listens on loopback there — the proxy port that the
//! server's `HTTPS_PROXY` names, and each port of this machine its policy
//! lists — and carries every connection to the proxy's Unix socket. A
//! listed port is tunnelled with `CONNECT`, so the proxy checks it too.
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
    /// Ports of this machine to forward as they are (repeatable).
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
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
    let mut listeners = vec![(PROXY_PORT, None)];
    listeners.extend(args.ports.iter().map(|p| (*p, Some(*p))));
    for (port, tunnel) in listeners {
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(err) => {
                eprintln!("switchboard egress-forward: cannot listen on 127.0.0.1:{port}: {err}");
                return 71;
            }
        };
        tokio::spawn(accept(listener, args.socket.clone(), tunnel));
    }
    let Some((program, rest)) = args.program.split_first() else {
        println!("ready {}", std::process::id());
        // Serves until its owner closes standard input.
        let mut stdin = tokio::io::stdin();
        let mut sink = [0u8; 64];
        while matches!(stdin.read(&mut sink).await, Ok(n) if n > 0) {}
        return 0;
    };
    let mut child = match tokio::process::Command::new(program).args(rest).spawn() {
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

async fn accept(listener: TcpListener, socket: PathBuf, tunnel: Option<u16>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let socket = socket.clone();
        tokio::spawn(async move {
            if let Err(err) = carry(client, &socket, tunnel).await {
                eprintln!("switchboard egress-forward: {err}");
            }
        });
    }
}

/// Carries one connection to the proxy; for a listed port, through a
/// `CONNECT` tunnel first.
async fn carry(mut client: TcpStream, socket: &Path, tunnel: Option<u16>) -> std::io::Result<()> {
    let proxy = UnixStream::connect(socket).await?;
    let mut proxy = BufReader::new(proxy);
    if let Some(port) = tunnel {
        let head = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
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
                "127.0.0.1:{port} refused by the egress proxy ({})",
                status.trim()
            )));
        }
    }
    tokio::io::copy_bidirectional(&mut client, &mut proxy).await?;
    Ok(())
}
