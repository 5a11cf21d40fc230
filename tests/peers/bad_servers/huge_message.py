"""Hostile: the tool `huge` answers with one 50 MB JSON-RPC message (a
valid response, just enormous); `echo` still answers normally afterwards.
Argument: a file it creates once the whole message was taken off its
stdout (the pipe blocks until the client has read it)."""
import json
import sys

import mcp_stub

SIZE = 50 * 1024 * 1024


def on_call(ident, tool, arguments):
    if tool != "huge":
        return False
    head = b'{"jsonrpc":"2.0","id":' + json.dumps(ident).encode() + b',"result":{"content":[{"type":"text","text":"'
    mcp_stub.write_raw(head + b"a" * SIZE + b'"}]}}\n')
    if len(sys.argv) > 1:
        open(sys.argv[1], "w").close()
    return True


TOOLS = mcp_stub.TOOLS + [
    {"name": "huge", "description": "Answers 50 MB", "inputSchema": {"type": "object"}}
]
mcp_stub.serve("huge-message", on_call=on_call, tools=TOOLS)
