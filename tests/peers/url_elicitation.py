"""URL-mode elicitation end to end with the official Python SDK on both
sides. As a server (`server`): one tool, `sign_in`, asks its client to open
a URL (elicitation/create, mode "url"), then tells it the flow completed
(notifications/elicitation/complete with the same elicitationId); and
`needs_sign_in` answers with the JSON-RPC error -32042 (URL elicitation
required) and its data. As a client (`client TOOL CMD ARGS...`): accepts
URL elicitations, records every completion notification it hears, calls
TOOL and prints one JSON line: the URL it was sent to, the tool's text,
and the completed ids. `error TOOL CMD ARGS...` prints the JSON-RPC error
the call got instead: code, message and data.

    python url_elicitation.py server
    python url_elicitation.py client TOOL CMD ARGS...
    python url_elicitation.py error TOOL CMD ARGS...
"""
import json
import sys

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError

ELICITATION_ID = "signin-7f3a"


def serve() -> None:
    server = MCPServer("url-elicitation")

    @server.tool()
    async def sign_in(ctx: Context) -> str:
        """Sends the user to a sign-in page, then says it completed."""
        result = await ctx.session.elicit_url(
            "Sign in to continue", "https://example.invalid/signin", ELICITATION_ID
        )
        await ctx.session.send_elicit_complete(ELICITATION_ID)
        return f"elicitation {result.action}"

    @server.tool()
    async def needs_sign_in() -> str:
        """Refuses until the user signs in at a URL (error -32042)."""
        raise UrlElicitationRequiredError(
            [
                types.ElicitRequestURLParams(
                    message="Sign in first",
                    url="https://example.invalid/signin",
                    elicitation_id=ELICITATION_ID,
                )
            ]
        )

    server.run()


async def client(tool: str, argv: list[str]) -> None:
    asked = []
    completed = []

    async def elicitation(context, params):
        asked.append(getattr(params, "url", None))
        return types.ElicitResult(action="accept")

    async def messages(message):
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/elicitation/complete":
            completed.append(root.params.elicitation_id)

    transport = stdio_client(StdioServerParameters(command=argv[0], args=argv[1:]))
    async with transport as streams:
        async with ClientSession(
            streams[0],
            streams[1],
            elicitation_callback=elicitation,
            message_handler=messages,
        ) as session:
            await session.initialize()
            result = await session.call_tool(tool, {})
            text = "\n".join(c.text for c in result.content if hasattr(c, "text"))
            with anyio.fail_after(10):
                while not completed:
                    await anyio.sleep(0.05)
    print(json.dumps({"asked": asked, "text": text, "completed": completed}), flush=True)


async def error(tool: str, argv: list[str]) -> None:
    transport = stdio_client(StdioServerParameters(command=argv[0], args=argv[1:]))
    async with transport as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            try:
                await session.call_tool(tool, {})
                answer = {"error": None}
            except MCPError as err:
                answer = {"code": err.error.code, "message": err.error.message, "data": err.error.data}
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve()
    elif sys.argv[1] == "error":
        anyio.run(error, sys.argv[2], sys.argv[3:])
    else:
        anyio.run(client, sys.argv[2], sys.argv[3:])
