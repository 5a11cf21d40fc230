#!/usr/bin/env node
// A real MCP client (the official TypeScript SDK) for switchboard's tests:
// connects to a server, lists its tools, optionally calls one, prints one JSON
// object on stdout and exits 0; on any failure prints the error on stderr and
// exits 1. Used to check switchboard's gateway against a client we did not write.
//
//   node tests/peers/mcp-client.mjs [--timeout-ms N] [--call TOOL ARGS_JSON] stdio CMD [ARGS...]
//   node tests/peers/mcp-client.mjs [--timeout-ms N] [--call TOOL ARGS_JSON] http URL   # Streamable HTTP
//   node tests/peers/mcp-client.mjs [--timeout-ms N] [--call TOOL ARGS_JSON] sse URL    # legacy HTTP+SSE
//
// Output: {"protocolVersion", "serverInfo", "capabilities", "tools": [names], "call": result?}
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const usage = "usage: mcp-client.mjs [--timeout-ms N] [--call TOOL ARGS_JSON] (stdio CMD [ARGS...] | http URL | sse URL)";
const argv = process.argv.slice(2);
let timeoutMs = 20000;
let call = null;
while (argv[0]?.startsWith("--")) {
  const flag = argv.shift();
  if (flag === "--timeout-ms") timeoutMs = Number(argv.shift());
  else if (flag === "--call") call = { name: argv.shift(), arguments: JSON.parse(argv.shift() ?? "{}") };
  else fail(`unknown flag ${flag}\n${usage}`);
}
const [kind, target, ...rest] = argv;
if (!kind || !target) fail(usage);

function fail(message) {
  process.stderr.write(`mcp-client: ${message}\n`);
  process.exit(1);
}

function makeTransport() {
  switch (kind) {
    case "stdio":
      // stderr inherited, so the server's own messages show up in test logs.
      return new StdioClientTransport({ command: target, args: rest, stderr: "inherit" });
    case "http":
      return new StreamableHTTPClientTransport(new URL(target));
    case "sse":
      return new SSEClientTransport(new URL(target));
    default:
      fail(`unknown transport ${kind}\n${usage}`);
  }
}

// One deadline for the whole exchange; the SDK's per-request timeout backs it up.
const deadline = setTimeout(() => fail(`no result within ${timeoutMs} ms`), timeoutMs);
const client = new Client({ name: "switchboard-test-client", version: "0.0.0" });
const transport = makeTransport();
// The SDK hands the negotiated version to transports that want it (HTTP ones);
// give every transport that hook so we can report it.
let negotiatedVersion = null;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (version) => {
  negotiatedVersion = version;
  setVersion?.(version);
};
try {
  await client.connect(transport, { timeout: timeoutMs });
  const { tools } = await client.listTools(undefined, { timeout: timeoutMs });
  const out = {
    protocolVersion: negotiatedVersion,
    serverInfo: client.getServerVersion(),
    capabilities: client.getServerCapabilities(),
    tools: tools.map((t) => t.name),
  };
  if (call) out.call = await client.callTool(call, undefined, { timeout: timeoutMs });
  process.stdout.write(JSON.stringify(out) + "\n");
  await client.close();
} catch (error) {
  fail(error?.stack ?? String(error));
}
clearTimeout(deadline);
