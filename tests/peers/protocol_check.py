"""The MCP requests besides tools that a real client (the official Python SDK)
makes, against server-everything directly or through Switchboard's gateway:
logging/setLevel, completion/complete on a prompt and on a resource template,
resources/templates/list and a read through a template, resources/subscribe
with the updates that follow, and resources/unsubscribe. Prints one JSON line
with what it saw, for the test to compare direct against through.

    python protocol_check.py PREFIX CMD ARGS...
    python protocol_check.py PREFIX --http URL TOKEN

PREFIX is what the gateway puts before a connector's names (`ev__`), or
`-` for none (direct).
"""
import json
import sys

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TEXT_TEMPLATE = "demo://resource/dynamic/text/{resourceId}"


async def main() -> None:
    prefix = "" if sys.argv[1] == "-" else sys.argv[1]
    updated = []
    got_update = anyio.Event()

    async def on_message(message) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(message.params.uri)
            got_update.set()

    if sys.argv[2] == "--http":
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {sys.argv[4]}"})
        transport = streamable_http_client(sys.argv[3], http_client=client)
    else:
        transport = stdio_client(StdioServerParameters(command=sys.argv[2], args=sys.argv[3:]))
    report = {}
    async with transport as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            await session.set_logging_level("debug")
            report["set_level"] = "ok"

            prompt = types.PromptReference(type="ref/prompt", name=prefix + "completable-prompt")
            done = await session.complete(prompt, {"name": "department", "value": "S"})
            report["prompt_completion"] = sorted(done.completion.values)
            done = await session.complete(
                prompt, {"name": "name", "value": ""}, context_arguments={"department": "Sales"}
            )
            report["prompt_completion_in_context"] = sorted(done.completion.values)

            templates = (await session.list_resource_templates()).resource_templates
            report["templates"] = sorted(t.uri_template for t in templates)
            template = types.ResourceTemplateReference(type="ref/resource", uri=TEXT_TEMPLATE)
            done = await session.complete(template, {"name": "resourceId", "value": "1"})
            report["template_completion"] = sorted(done.completion.values)

            uri = "demo://resource/dynamic/text/2"
            contents = (await session.read_resource(uri)).contents
            # The text ends with the time it was made; the rest must match.
            report["read"] = [c.text.split(" created at")[0] for c in contents if hasattr(c, "text")]

            await session.subscribe_resource(uri)
            await session.call_tool(prefix + "toggle-subscriber-updates", {})
            with anyio.fail_after(30):
                await got_update.wait()
            report["updated"] = sorted(set(updated))
            await session.unsubscribe_resource(uri)
            report["unsubscribed"] = "ok"
    print(json.dumps(report), flush=True)


anyio.run(main)
