// A real MCP client (the official TypeScript SDK) against Switchboard's
// gateway: lists the tools, calls the ones named on the command line,
// prints READY, waits for notifications/tools/list_changed, lists again,
// and prints one JSON line with everything it saw.
//   node gateway-check.mjs '<calls JSON>' (stdio CMD ARGS... | http URL TOKEN)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [callsJson, kind, ...rest] = process.argv.slice(2);
const calls = JSON.parse(callsJson);
let transport;
if (kind === "stdio") {
  transport = new StdioClientTransport({ command: rest[0], args: rest.slice(1), stderr: "inherit" });
} else if (kind === "http") {
  transport = new StreamableHTTPClientTransport(new URL(rest[0]), {
    requestInit: { headers: { Authorization: `Bearer ${rest[1]}` } },
  });
} else {
  console.error("usage: gateway-check.mjs CALLS (stdio CMD... | http URL TOKEN)");
  process.exit(2);
}
const client = new Client({ name: "gateway-check", version: "0" });
let changed;
const listChanged = new Promise((resolve) => (changed = resolve));
client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed());
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms));
try {
  await client.connect(transport);
  const before = (await client.listTools()).tools.map((t) => t.name);
  const results = {};
  for (const [name, args] of Object.entries(calls)) {
    const result = await client.callTool({ name, arguments: args });
    results[name] = result.structuredContent ?? result.content?.[0]?.text ?? null;
  }
  console.log("READY");
  await Promise.race([listChanged, deadline(30000, "no tools/list_changed")]);
  const after = (await client.listTools()).tools.map((t) => t.name);
  console.log(JSON.stringify({ before, results, after }));
  await client.close();
  process.exit(0);
} catch (err) {
  console.error(`gateway-check: ${err?.stack ?? err}`);
  process.exit(1);
}
