"""A real MCP client (the official Python SDK) using the gateway's tool
search: lists the tools it is offered, asks find_tools for QUERY, calls the
best match through call_tool with ARGS, and lists the connectors. Prints one
JSON line for the test.

    python search_client.py QUERY ARGS_JSON CMD ARGS...
    python search_client.py QUERY ARGS_JSON --http URL TOKEN
"""
import json
import sys

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text_of(result):
    return "\n".join(c.text for c in result.content if hasattr(c, "text"))


async def main() -> None:
    query, args = sys.argv[1], json.loads(sys.argv[2])
    if sys.argv[3] == "--http":
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {sys.argv[5]}"})
        transport = streamable_http_client(sys.argv[4], http_client=client)
    else:
        transport = stdio_client(StdioServerParameters(command=sys.argv[3], args=sys.argv[4:]))
    report = {}
    async with transport as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            with anyio.fail_after(30):
                report["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
                found = await session.call_tool("find_tools", {"query": query, "limit": 3})
                matches = json.loads(text_of(found))["tools"]
                report["found"] = [m["name"] for m in matches]
                report["schema"] = matches[0]["inputSchema"] if matches else None
                if matches:
                    called = await session.call_tool(
                        "call_tool", {"name": matches[0]["name"], "arguments": args}
                    )
                    report["call"] = text_of(called)
                listed = await session.call_tool("list_connectors", {})
                report["connectors"] = json.loads(text_of(listed))["connectors"]
    print(json.dumps(report), flush=True)


anyio.run(main)
