"""Hostile: a normal server with a grandchild (`sleep`), that will not
leave when asked — on stdin EOF it ignores SIGTERM and stays — so a stop
takes every grace period there is. Argument: a file it creates when it
sees EOF (the test's signal that a stop is under way)."""
import signal
import subprocess
import sys
import time

import mcp_stub

# A grandchild that no parent-death signal reaches.
subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL)
mcp_stub.serve("stubborn")
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if len(sys.argv) > 1:
    open(sys.argv[1], "w").close()
while True:
    time.sleep(3600)
