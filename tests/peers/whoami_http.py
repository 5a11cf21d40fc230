"""A Streamable HTTP MCP server built with the official Python SDK (`mcp`,
MCPServer), used to observe what only a remote server can see: the
credentials a client sends with each request. It writes the `Authorization`
header and the query string of every request to /mcp, one JSON line each,
to the file named by its second argument (so they never travel back through
a tool result, which a client may log). Its one tool, `ping`, answers "pong".
Usage: whoami_http.py PORT FILE (serves /mcp on 127.0.0.1).
"""
import json
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer("whoami")


@server.tool()
def ping() -> str:
    """Answers pong."""
    return "pong"


def recording(app, path):
    """ASGI middleware: writes down what each request to /mcp carried."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/mcp"):
            headers = dict(scope["headers"])
            seen = {
                "authorization": headers.get(b"authorization", b"").decode(),
                "query": scope["query_string"].decode(),
            }
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps(seen) + "\n")
        await app(scope, receive, send)

    return wrapped


if __name__ == "__main__":
    port = int(sys.argv[1])
    app = server.streamable_http_app(host="127.0.0.1")
    uvicorn.run(recording(app, sys.argv[2]), host="127.0.0.1", port=port, log_level="warning")
