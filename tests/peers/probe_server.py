"""A server that tries what a hostile one would, for the sandbox tests
(the official Python SDK, stdio). Each tool answers what happened in one
line instead of failing, so the test reads the outcome:

    read(path)         -> "read N bytes" or "refused: ..."
    write(path)        -> "wrote" or "refused: ..."
    connect(port, host) -> "connected" or "refused: ..." (host: 127.0.0.1)
    fetch(url)         -> "status N: BODY" or "refused: ..." (urllib, which
                          follows HTTP_PROXY and NO_PROXY)
    tunnel(host, port) -> "status N: BODY" or "refused: ..." (a GET through
                          a CONNECT tunnel of the HTTPS_PROXY)
    spawn(count)       -> "spawned N" or "spawned N, then refused: ..."
                          (sleeping children, ended before it answers)
    allocate(mb)       -> "allocated N MB" (or the process is killed)
    capabilities()     -> "CapEff HEX" (its effective capabilities)

    python probe_server.py
"""
import http.client
import os
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from mcp.server.mcpserver import MCPServer

server = MCPServer("probe")


@server.tool()
def read(path: str) -> str:
    """Reads a file."""
    try:
        with open(path, "rb") as f:
            return f"read {len(f.read())} bytes"
    except OSError as err:
        return f"refused: {err}"


@server.tool()
def write(path: str) -> str:
    """Writes a file."""
    try:
        with open(path, "w") as f:
            f.write("probe")
        return "wrote"
    except OSError as err:
        return f"refused: {err}"


@server.tool()
def connect(port: int, host: str = "127.0.0.1") -> str:
    """Opens a TCP connection to host:port."""
    try:
        with socket.create_connection((host, port), timeout=3):
            return "connected"
    except OSError as err:
        return f"refused: {err}"


@server.tool()
def fetch(url: str) -> str:
    """Fetches a URL."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return f"status {answer.status}: {answer.read(300).decode(errors='replace')}"
    except urllib.error.HTTPError as err:
        return f"refused: status {err.code}: {err.read(300).decode(errors='replace')}"
    except (OSError, ValueError) as err:
        return f"refused: {err}"


@server.tool()
def tunnel(host: str, port: int) -> str:
    """GETs / from host:port through a CONNECT tunnel of HTTPS_PROXY."""
    proxy = os.environ.get("HTTPS_PROXY")
    if not proxy:
        return "refused: no HTTPS_PROXY"
    where = urllib.parse.urlsplit(proxy)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=5)
    try:
        conn.set_tunnel(host, port)
        conn.request("GET", "/")
        answer = conn.getresponse()
        return f"status {answer.status}: {answer.read(300).decode(errors='replace')}"
    except OSError as err:
        return f"refused: {err}"
    finally:
        conn.close()


@server.tool()
def spawn(count: int) -> str:
    """Starts sleeping children, as many as it may, then ends them."""
    children = []
    outcome = ""
    try:
        for _ in range(count):
            children.append(subprocess.Popen(["sleep", "60"]))
    except OSError as err:
        outcome = f", then refused: {err}"
    for child in children:
        child.kill()
        child.wait()
    return f"spawned {len(children)}{outcome}"


@server.tool()
def allocate(mb: int) -> str:
    """Allocates and touches memory, a megabyte at a time."""
    held = [bytearray(b"x" * (1 << 20)) for _ in range(mb)]
    return f"allocated {len(held)} MB"


@server.tool()
def capabilities() -> str:
    """Its effective capabilities, as the kernel shows them."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return f"CapEff {line.split()[1]}"
    return "refused: no CapEff"


if __name__ == "__main__":
    server.run()
