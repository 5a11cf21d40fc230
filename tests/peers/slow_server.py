"""A small MCP server built with the official Python SDK (`mcp`, MCPServer),
used beside the real peers to observe what only a backend can see: whether
a call was cancelled, and progress in order. Its one tool, `wait`, reports
progress every tenth of a second and writes how it ended ("done" or
"cancelled") to the file named by SLOW_SERVER_LOG."""
import anyio
import os

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("slow-server")


def record(line: str) -> None:
    path = os.environ.get("SLOW_SERVER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


@server.tool()
async def wait(seconds: float, ctx: Context) -> str:
    """Waits `seconds`, reporting progress every 0.1 s."""
    steps = max(1, int(seconds * 10))
    record("started")
    try:
        for step in range(1, steps + 1):
            await anyio.sleep(0.1)
            await ctx.report_progress(step, steps, f"step {step} of {steps}")
    except anyio.get_cancelled_exc_class():
        record("cancelled")
        raise
    record("done")
    return f"waited {seconds}s"


if __name__ == "__main__":
    server.run()
