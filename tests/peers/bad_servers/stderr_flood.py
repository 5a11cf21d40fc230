"""Hostile: once initialized, floods stderr — 200 MB without a single
newline, or with the argument `lines` 64 MB of short lines — then keeps
serving. A second argument names a file it creates once all of it was
written (the pipe blocks until the client has read it)."""
import sys
import threading

import mcp_stub

LINES = sys.argv[1:2] == ["lines"]
DONE = sys.argv[2] if len(sys.argv) > 2 else None
TOTAL = (64 if LINES else 200) * 1024 * 1024
CHUNK = (b"e" * 99 + b"\n") * 10486 if LINES else b"e" * (1024 * 1024)


def flood():
    written = 0
    while written < TOTAL:
        sys.stderr.buffer.write(CHUNK)
        sys.stderr.buffer.flush()
        written += len(CHUNK)
    if DONE:
        open(DONE, "w").close()


def start():
    threading.Thread(target=flood, daemon=True).start()


mcp_stub.serve("stderr-flood", after_initialized=start)
