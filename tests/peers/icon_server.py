"""A small MCP server built with the official Python SDK (`mcp`, MCPServer)
that announces icons in its `initialize` answer (serverInfo.icons): a link
to elsewhere first, which a client must not fetch, then an inline SVG."""
from mcp.server.mcpserver import MCPServer
from mcp.types import Icon

SVG = (
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyIDIi"
    "PjxyZWN0IHdpZHRoPSIyIiBoZWlnaHQ9IjIiIGZpbGw9IiMwYTAiLz48L3N2Zz4="
)

server = MCPServer(
    "iconic",
    icons=[
        Icon(src="https://icons.example.invalid/tracker.png", mimeType="image/png"),
        Icon(src=SVG, mimeType="image/svg+xml", sizes=["any"]),
    ],
)


@server.tool()
def hello() -> str:
    """Says hello."""
    return "hello"


if __name__ == "__main__":
    server.run()
