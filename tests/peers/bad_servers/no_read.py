"""Hostile: completes the handshake and lists its tools, then never reads
its stdin again (and never exits): whatever is sent to it piles up in the
pipe, pings included."""
import json
import sys
import time

import mcp_stub

for raw in sys.stdin.buffer:
    try:
        msg = json.loads(raw)
    except ValueError:
        continue
    method, ident = msg.get("method"), msg.get("id")
    if method == "initialize":
        mcp_stub.result(
            ident,
            {
                "protocolVersion": msg["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "no-read", "version": "0"},
            },
        )
    elif method == "tools/list":
        mcp_stub.result(ident, {"tools": mcp_stub.TOOLS})
        break
while True:
    time.sleep(3600)
