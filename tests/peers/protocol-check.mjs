// The MCP protocol beyond tools/call with a real client, the official
// TypeScript SDK (sampling, elicitation and roots handlers declared),
// against server-everything directly or through Switchboard's gateway:
// the tools that ask the client (sampling, elicitation, roots) called,
// logging/setLevel, completion/complete on a prompt and on a resource
// template, resources/templates/list and a read through a template,
// resources/subscribe with the update that follows, resources/unsubscribe.
// Prints one JSON line with what it saw, for the test to compare direct
// against through.
//   node protocol-check.mjs PREFIX (stdio CMD ARGS... | http URL TOKEN)
// PREFIX is what the gateway puts before a connector's names (`ev__`), or
// `-` for none (direct).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const [prefixArg, kind, ...rest] = process.argv.slice(2);
const prefix = prefixArg === "-" ? "" : prefixArg;
let transport;
if (kind === "stdio") {
  transport = new StdioClientTransport({ command: rest[0], args: rest.slice(1), stderr: "inherit" });
} else if (kind === "http") {
  transport = new StreamableHTTPClientTransport(new URL(rest[0]), {
    requestInit: { headers: { Authorization: `Bearer ${rest[1]}` } },
  });
} else {
  console.error("usage: protocol-check.mjs PREFIX (stdio CMD... | http URL TOKEN)");
  process.exit(2);
}

const client = new Client(
  { name: "protocol-check", version: "0" },
  { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } },
);
client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
  role: "assistant",
  content: { type: "text", text: `sampled: ${request.params.messages[0].content.text}` },
  model: "test-llm",
  stopReason: "endTurn",
}));
client.setRequestHandler(ElicitRequestSchema, async () => ({
  action: "accept",
  content: { name: "Ada Lovelace", check: true, email: "ada@example.com", integer: 7 },
}));
client.setRequestHandler(ListRootsRequestSchema, async () => ({
  roots: [{ uri: "file:///work/project", name: "project" }],
}));
const updated = [];
let gotUpdate;
const updateSeen = new Promise((resolve) => (gotUpdate = resolve));
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
  updated.push(n.params.uri);
  gotUpdate();
});
const within = (ms, what, promise) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
]);
const textOf = (result) => (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
const sorted = (values) => [...values].sort();

try {
  await client.connect(transport);
  const report = {};
  const asking = ["trigger-sampling-request", "trigger-elicitation-request", "get-roots-list"];
  const offered = (await client.listTools()).tools.map((t) => t.name.slice(prefix.length));
  report.offered = sorted(offered.filter((n) => asking.includes(n)));
  const calls = {
    "trigger-sampling-request": { prompt: "say hi", maxTokens: 20 },
    "trigger-elicitation-request": {},
    "get-roots-list": {},
  };
  for (const [name, args] of Object.entries(calls)) {
    const result = await within(30000, name, client.callTool({ name: prefix + name, arguments: args }));
    // The raw result's keys come in whatever order each side's JSON has;
    // the words before it must match.
    report[name] = { error: Boolean(result.isError), text: textOf(result).split("Raw result:")[0] };
  }

  await client.setLoggingLevel("debug");
  report.set_level = "ok";
  const prompt = { type: "ref/prompt", name: `${prefix}completable-prompt` };
  let done = await client.complete({ ref: prompt, argument: { name: "department", value: "S" } });
  report.prompt_completion = sorted(done.completion.values);
  done = await client.complete({
    ref: prompt, argument: { name: "name", value: "" }, context: { arguments: { department: "Sales" } },
  });
  report.prompt_completion_in_context = sorted(done.completion.values);
  const templates = (await client.listResourceTemplates()).resourceTemplates;
  report.templates = sorted(templates.map((t) => t.uriTemplate));
  done = await client.complete({
    ref: { type: "ref/resource", uri: "demo://resource/dynamic/text/{resourceId}" },
    argument: { name: "resourceId", value: "1" },
  });
  report.template_completion = sorted(done.completion.values);
  const uri = "demo://resource/dynamic/text/2";
  const read = await client.readResource({ uri });
  // The text ends with the time it was made; the rest must match.
  report.read = read.contents.filter((c) => "text" in c).map((c) => c.text.split(" created at")[0]);
  await client.subscribeResource({ uri });
  await client.callTool({ name: `${prefix}toggle-subscriber-updates`, arguments: {} });
  await within(30000, "notifications/resources/updated", updateSeen);
  report.updated = sorted(new Set(updated));
  await client.unsubscribeResource({ uri });
  report.unsubscribed = "ok";
  console.log(JSON.stringify(report));
  await client.close();
  process.exit(0);
} catch (err) {
  console.error(`protocol-check: ${err?.stack ?? err}`);
  process.exit(1);
}
