"""Hostile: starts a grandchild (`sleep`), then never answers `initialize`
(it reads stdin and ignores it): a connect that stays under way until its
deadline. Argument: a file it creates once it runs."""
import subprocess
import sys

subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL)
if len(sys.argv) > 1:
    open(sys.argv[1], "w").close()
for _ in sys.stdin.buffer:
    pass
