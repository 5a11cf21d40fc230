"""Hostile: once initialized, floods stdout with valid JSON-RPC
notifications as fast as the pipe takes them, forever, while still
answering requests between them."""
import threading

import mcp_stub

LINE = (
    b'{"jsonrpc":"2.0","method":"notifications/message","params":'
    b'{"level":"info","data":"' + b"x" * 1000 + b'"}}\n'
)


def flood():
    while True:
        mcp_stub.write_raw(LINE * 64)


def start():
    threading.Thread(target=flood, daemon=True).start()


mcp_stub.serve("flood-stdout", after_initialized=start)
