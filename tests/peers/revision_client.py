"""A client of the revision with `initialize` (the official Python SDK,
2025-11-25) with an elicitation handler that answers `green`, calling tools
through Switchboard's gateway. Prints one JSON line: the protocol version
the gateway agreed to, and each call's text (or its error).

    python revision_client.py TOOL[,TOOL…] CMD ARGS...

Each TOOL is called with {"question": "favourite colour?", "message": "hi"}.
"""
import json
import sys

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def elicitation(context, params):
    return types.ElicitResult(action="accept", content={"answer": "green"})


def text_of(result):
    return "\n".join(c.text for c in result.content if hasattr(c, "text"))


async def main() -> None:
    tools = sys.argv[1].split(",")
    server = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:])
    report = {}
    async with stdio_client(server) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write, elicitation_callback=elicitation) as session:
            init = await session.initialize()
            report["protocolVersion"] = init.protocol_version
            for tool in tools:
                args = {"question": "favourite colour?", "message": "hi"}
                try:
                    with anyio.fail_after(30):
                        result = await session.call_tool(tool, args)
                    report[tool] = text_of(result)
                except Exception as err:  # reported for the test to show
                    report[tool] = f"error: {err}"
    print(json.dumps(report), flush=True)


anyio.run(main)
