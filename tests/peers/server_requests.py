"""A real MCP client (the official Python SDK) with sampling, elicitation and
roots handlers, calling server-everything's tools that ask the client for
them, directly or through Switchboard's gateway. Prints one JSON line: the
tools it was offered for these, and each call's text, for the test to compare
direct against through.

    python server_requests.py PREFIX CMD ARGS...
    python server_requests.py PREFIX --http URL TOKEN
"""
import json
import sys

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ASKING = ["trigger-sampling-request", "trigger-elicitation-request", "get-roots-list"]


async def sampling(context, params):
    asked = params.messages[0].content.text
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"sampled: {asked}"),
        model="test-llm",
        stop_reason="endTurn",
    )


async def elicitation(context, params):
    return types.ElicitResult(
        action="accept",
        content={"name": "Ada Lovelace", "check": True, "email": "ada@example.com", "integer": 7},
    )


async def roots(context):
    return types.ListRootsResult(roots=[types.Root(uri="file:///work/project", name="project")])


def text_of(result):
    return "\n".join(c.text for c in result.content if hasattr(c, "text"))


async def main() -> None:
    prefix = "" if sys.argv[1] == "-" else sys.argv[1]
    if sys.argv[2] == "--http":
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {sys.argv[4]}"})
        transport = streamable_http_client(sys.argv[3], http_client=client)
    else:
        transport = stdio_client(StdioServerParameters(command=sys.argv[2], args=sys.argv[3:]))
    report = {}
    async with transport as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(
            read,
            write,
            sampling_callback=sampling,
            elicitation_callback=elicitation,
            list_roots_callback=roots,
        ) as session:
            await session.initialize()
            offered = {t.name for t in (await session.list_tools()).tools}
            report["offered"] = sorted(n[len(prefix):] for n in offered if n[len(prefix):] in ASKING)
            calls = {
                "trigger-sampling-request": {"prompt": "say hi", "maxTokens": 20},
                "trigger-elicitation-request": {},
                "get-roots-list": {},
            }
            for name, args in calls.items():
                with anyio.fail_after(30):
                    result = await session.call_tool(prefix + name, args)
                # The raw result's keys come in whatever order the client's
                # JSON has (the gateway's is sorted); the words before must match.
                report[name] = {"error": bool(result.is_error), "text": text_of(result).split("Raw result:")[0]}
    print(json.dumps(report), flush=True)


anyio.run(main)
