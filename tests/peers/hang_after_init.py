"""A deliberately broken MCP server (a hand-written fake, used beside the
real peers): it answers `initialize` and `tools/list`, then ignores
everything else, `ping` included — a server that hangs after start-up."""
import json
import sys

for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    method, ident = msg.get("method"), msg.get("id")
    if method == "initialize":
        result = {
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "hang-after-init", "version": "0"},
        }
    elif method == "tools/list":
        result = {"tools": []}
    else:
        continue
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": ident, "result": result}) + "\n")
    sys.stdout.flush()
