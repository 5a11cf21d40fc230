"""A server that tries what a hostile one would, for the sandbox tests
(the official Python SDK, stdio). Each tool answers what happened in one
line instead of failing, so the test reads the outcome:

    read(path)         -> "read N bytes" or "refused: ..."
    write(path)        -> "wrote" or "refused: ..."
    connect(port)      -> "connected" or "refused: ..." (127.0.0.1:port)

    python probe_server.py
"""
import socket

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
def connect(port: int) -> str:
    """Opens a TCP connection to 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            return "connected"
    except OSError as err:
        return f"refused: {err}"


if __name__ == "__main__":
    server.run()
