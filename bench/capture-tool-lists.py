"""Captures the real tool lists the tool-search benchmark ranks
(bench/fixtures/tool-lists.json): the MCP servers of the built-in
connectors' kind that install from npm, and Switchboard's own skills.

    python bench/capture-tool-lists.py NODE_MODULES SWITCHBOARD > bench/fixtures/tool-lists.json

Google Drive's server needs real credentials to start at all, so it is not
among them. NODE_MODULES holds the npm packages below (`npm install` them into an empty
directory); SWITCHBOARD is the binary, whose skills are connected in a
private settings file to this machine's PostgreSQL, MariaDB and Redis.
Servers get dummy tokens: listing tools needs none. Run with
tests/peers/.venv/bin/python (the official Python SDK).
"""
import json
import os
import subprocess
import sys
import tempfile

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

NPM = {
    # connector name: (package path under node_modules, its entry script, args)
    "github": ("@modelcontextprotocol/server-github", "dist/index.js", []),
    "slack": ("@modelcontextprotocol/server-slack", "dist/index.js", []),
    "gitlab": ("@modelcontextprotocol/server-gitlab", "dist/index.js", []),
    "notion": ("@notionhq/notion-mcp-server", "bin/cli.mjs", []),
    "mongodb": ("mongodb-mcp-server", "dist/esm/index.js", []),
    "filesystem": ("@modelcontextprotocol/server-filesystem", "dist/index.js", ["/tmp"]),
    "memory": ("@modelcontextprotocol/server-memory", "dist/index.js", []),
    "maps": ("@modelcontextprotocol/server-google-maps", "dist/index.js", []),
    "brave": ("@modelcontextprotocol/server-brave-search", "dist/index.js", []),
    "sentry": ("@sentry/mcp-server", "dist/index.js", []),
}

DUMMY_ENV = {
    "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_dummy",
    "SLACK_BOT_TOKEN": "xoxb-dummy",
    "SLACK_TEAM_ID": "T000",
    "GITLAB_PERSONAL_ACCESS_TOKEN": "glpat-dummy",
    "GOOGLE_MAPS_API_KEY": "dummy",
    "BRAVE_API_KEY": "dummy",
    "OPENAPI_MCP_HEADERS": '{"Authorization": "Bearer ntn_dummy", "Notion-Version": "2022-06-28"}',
    "MDB_MCP_CONNECTION_STRING": "mongodb://127.0.0.1:1/test",
    "SENTRY_ACCESS_TOKEN": "sntrys_dummy",
}

# The skills' URLs are secret fields: passed from the environment.
FROM_ENV = ["--backend", "skill", "--secret-from-env", "url=SB_BENCH_URL"]
SKILLS = {
    "postgres": (FROM_ENV, "postgres://postgres@127.0.0.1:5432/test"),
    "mysql": (FROM_ENV, "mysql://root@127.0.0.1:3306/test"),
    "redis": (FROM_ENV, "redis://127.0.0.1:6379"),
    "sqlite": (["--set", "path=:memory:"], ""),
}


async def list_tools(argv, env):
    server = StdioServerParameters(command=argv[0], args=argv[1:], env=env)
    async with stdio_client(server) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            with anyio.fail_after(60):
                await session.initialize()
                tools = (await session.list_tools()).tools
    return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]


def skill_tools(switchboard):
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SWITCHBOARD_HOME=f"{tmp}/home", SWITCHBOARD_SETTINGS=f"{tmp}/s.json")
        def run(*args, url=""):
            command = [switchboard, *args]
            return subprocess.run(command, env=dict(env, SB_BENCH_URL=url), capture_output=True, text=True)

        for name, (args, url) in SKILLS.items():
            connected = run("connect", name, *args, url=url)
            if connected.returncode != 0:
                print(f"{name}: {connected.stderr.strip()}", file=sys.stderr)
                continue
            found[name] = json.loads(run("tools", name, "--json").stdout)
        run("shutdown")
    return found


async def main():
    modules, switchboard = sys.argv[1], sys.argv[2]
    lists = {}
    env = dict(DUMMY_ENV, PATH=os.environ["PATH"], HOME=os.environ.get("HOME", "/tmp"))
    for name, (package, entry, args) in NPM.items():
        script = os.path.join(modules, package, entry)
        try:
            lists[name] = await list_tools(["node", script, *args], env)
        except Exception as err:  # reported; the rest are still captured
            print(f"{name}: {err!r}", file=sys.stderr)
    lists.update(skill_tools(switchboard))
    for name, tools in sorted(lists.items()):
        print(f"{name}: {len(tools)} tools", file=sys.stderr)
    print(json.dumps(lists, indent=1, sort_keys=True))


anyio.run(main)
