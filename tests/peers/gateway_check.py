"""A real MCP client (the official Python SDK, `mcp`) against Switchboard's
gateway, doing what gateway-check.mjs does: list, call, print READY, wait for
notifications/tools/list_changed, list again, print one JSON line.

    python gateway_check.py '<calls JSON>' CMD ARGS...
    python gateway_check.py '<calls JSON>' --http URL TOKEN
"""
import json
import sys

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main() -> None:
    calls = json.loads(sys.argv[1])
    changed = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    if sys.argv[2] == "--http":
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {sys.argv[4]}"})
        transport = streamable_http_client(sys.argv[3], http_client=client)
    else:
        transport = stdio_client(StdioServerParameters(command=sys.argv[2], args=sys.argv[3:]))
    async with transport as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            before = [t.name for t in (await session.list_tools()).tools]
            results = {}
            for name, args in calls.items():
                result = await session.call_tool(name, args)
                if result.structured_content is not None:
                    results[name] = result.structured_content
                else:
                    results[name] = result.content[0].text if result.content else None
            print("READY", flush=True)
            with anyio.fail_after(30):
                await changed.wait()
            after = [t.name for t in (await session.list_tools()).tools]
            print(json.dumps({"before": before, "results": results, "after": after}), flush=True)


anyio.run(main)
