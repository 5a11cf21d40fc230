"""A real MCP client (the official Python SDK, `mcp`) that keeps one stdio
session with `switchboard gateway` across a restart of the service: it lists
tools and calls one, prints READY (the test then kills the service), waits for
notifications/tools/list_changed, calls the same tool again in the same
session (retrying while the new service reconnects its connectors), and
prints one JSON line.

    python gateway_resume.py TOOL '<arguments JSON>' CMD ARGS...
"""
import json
import sys

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError


def text_of(result):
    if result.structured_content is not None:
        return result.structured_content
    return result.content[0].text if result.content else None


async def main() -> None:
    tool, args = sys.argv[1], json.loads(sys.argv[2])
    ready = False
    changed = anyio.Event()

    async def on_message(message) -> None:
        if ready and isinstance(message, types.ToolListChangedNotification):
            changed.set()

    transport = stdio_client(StdioServerParameters(command=sys.argv[3], args=sys.argv[4:]))
    async with transport as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            before = [t.name for t in (await session.list_tools()).tools]
            first = text_of(await session.call_tool(tool, args))
            ready = True
            print("READY", flush=True)
            with anyio.fail_after(60):
                await changed.wait()
            second, error = None, None
            with anyio.fail_after(60):
                while True:
                    try:
                        result = await session.call_tool(tool, args)
                    except MCPError as err:
                        # The new service is still connecting the connector.
                        error = str(err)
                    else:
                        if not result.is_error:
                            second = text_of(result)
                            break
                        error = text_of(result)
                    await anyio.sleep(0.2)
            after = [t.name for t in (await session.list_tools()).tools]
            print(
                json.dumps(
                    {"before": before, "first": first, "second": second, "after": after, "error": error}
                ),
                flush=True,
            )


anyio.run(main)
