"""The smallest MCP server over stdio that a real client accepts, written by
hand with the standard library only (so it starts in milliseconds). The
hostile servers beside it reuse it and break one rule each; `tiny.py` is it
well behaved. Not a peer to test protocol details against: the real peers
(server-everything, the Python SDK) are for that."""
import json
import sys
import threading

# One writer at a time: hostile servers write from a second thread too.
_write_lock = threading.Lock()


def write_raw(data):
    """Writes bytes to stdout as they are, then flushes."""
    with _write_lock:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def send(message):
    write_raw(json.dumps(message).encode() + b"\n")


def result(ident, value):
    send({"jsonrpc": "2.0", "id": ident, "result": value})


TOOLS = [
    {
        "name": "echo",
        "description": "Echoes back the input",
        "inputSchema": {
            "type": "object",
            "properties": {"message": {"type": "string"}},
        },
    }
]


def text(value):
    return {"content": [{"type": "text", "text": value}]}


def serve(name, on_call=None, after_initialized=None, tools=None):
    """Answers initialize, tools/list, ping and tools/call (`echo`, or
    `on_call(ident, tool, arguments)` when given; it returns True when it
    answered). `after_initialized()` runs once the client said it is ready."""
    for raw in sys.stdin.buffer:
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        method, ident = msg.get("method"), msg.get("id")
        if method == "initialize":
            result(
                ident,
                {
                    "protocolVersion": msg["params"]["protocolVersion"],
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": name, "version": "0"},
                },
            )
        elif method == "notifications/initialized":
            if after_initialized is not None:
                after_initialized()
        elif method == "tools/list":
            result(ident, {"tools": tools if tools is not None else TOOLS})
        elif method == "ping":
            result(ident, {})
        elif method == "tools/call":
            params = msg.get("params") or {}
            tool, arguments = params.get("name"), params.get("arguments") or {}
            if on_call is not None and on_call(ident, tool, arguments):
                continue
            if tool == "echo":
                result(ident, text("Echo: " + str(arguments.get("message", ""))))
            else:
                send(
                    {
                        "jsonrpc": "2.0",
                        "id": ident,
                        "error": {"code": -32602, "message": "unknown tool " + str(tool)},
                    }
                )
        elif ident is not None:
            send(
                {
                    "jsonrpc": "2.0",
                    "id": ident,
                    "error": {"code": -32601, "message": "method not found"},
                }
            )
