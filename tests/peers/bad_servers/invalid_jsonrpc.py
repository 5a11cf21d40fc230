"""Hostile: a valid handshake, then every tools/call is answered with junk
first — bytes that are not JSON, JSON that is not JSON-RPC, a response to
an id nobody asked for, a response with the wrong `jsonrpc` version, a
binary blob — and only then with the real answer.
With the argument `handshake`, even `initialize` gets only junk."""
import sys

import mcp_stub

JUNK = [
    b"this is not json\n",
    b"{\"unterminated\": \n",
    b"[1, 2, 3]\n",
    b"42\n",
    b"{\"jsonrpc\": \"2.0\", \"id\": 987654, \"result\": {}}\n",
    b"{\"jsonrpc\": \"1.0\", \"id\": 1, \"result\": {}}\n",
    b"{\"jsonrpc\": \"2.0\", \"method\": 7}\n",
    b"\x00\xff\xfe garbage \x80\x81\n",
    b"\n",
]


def junk_then_answer(ident, tool, arguments):
    for line in JUNK:
        mcp_stub.write_raw(line)
    return False  # the stub answers for real


if sys.argv[1:] == ["handshake"]:
    for raw in sys.stdin.buffer:
        for line in JUNK:
            mcp_stub.write_raw(line)
else:
    mcp_stub.serve("invalid-jsonrpc", on_call=junk_then_answer)
