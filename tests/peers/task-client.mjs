#!/usr/bin/env node
// Tasks (the 2025-11-25 revision's long-running calls) from the official
// TypeScript SDK's client, for switchboard's tests: the same steps against
// server-everything directly and through the gateway.
//
//   node tests/peers/task-client.mjs [--prefix P] [--plain | --search] (stdio CMD [ARGS...] | http URL TOKEN)
//
// With --search (a gateway in search mode) it only runs the tool as a task
// through `call_tool` and reports the task id and the result's first line.
// With --async it only calls `${P}trigger-sampling-request-async` and
// `${P}trigger-elicitation-request-async` (the server asks its client to
// run the question as a task) and reports the first line of each answer
// and whether the answer holds what this client's handlers said.
//
// With the tool `${P}simulate-research-query`:
//   1. callToolStream as a task: the messages' kinds, the task id, the
//      statuses seen and the final report's first line;
//   2. tasks/list: whether the task is listed; tasks/get: its status;
//      tasks/result again: the report's first line;
//   3. a second task cancelled with tasks/cancel: the status it answers;
//   4. tasks/get of an id nobody gave: the error code;
//   5. whether notifications/tasks/status told of its completion;
//   6. with --plain, a plain tools/call of the same tool (the gateway runs
//      it as a task for the client);
//   7. the tool's `execution` as listed.
// Prints one JSON object; exits 1 with the error on stderr on any failure.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema, CreateMessageRequestSchema, CreateTaskResultSchema, ElicitRequestSchema,
  TaskStatusNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const argv = process.argv.slice(2);
let prefix = "";
let plain = false;
let search = false;
let asking = false;
while (argv[0]?.startsWith("--")) {
  const flag = argv.shift();
  if (flag === "--prefix") prefix = argv.shift();
  else if (flag === "--plain") plain = true;
  else if (flag === "--search") search = true;
  else if (flag === "--async") asking = true;
  else fail(`unknown flag ${flag}`);
}
const [kind, target, ...rest] = argv;

function fail(message) {
  process.stderr.write(`task-client: ${message}\n`);
  process.exit(1);
}

const deadline = setTimeout(() => fail("no result within 60 s"), 60000);
const transport = kind === "http"
  ? new StreamableHTTPClientTransport(new URL(target), {
    requestInit: { headers: { Authorization: `Bearer ${rest[0]}` } },
  })
  : new StdioClientTransport({ command: target, args: rest, stderr: "inherit" });
// Sampling and elicitation answered at once. (The SDK's own client-side
// tasks, with its InMemoryTaskStore, answer server-everything's async
// tools with "Invalid task creation result", so the client asks for none:
// behind the gateway, the service runs them as tasks for the server.)
const client = new Client(
  { name: "switchboard-task-client", version: "0.0.0" },
  { capabilities: { sampling: {}, elicitation: { form: {} } } },
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
const tool = `${prefix}simulate-research-query`;
// notifications/tasks/status, by task id.
const notified = new Map();
client.setNotificationHandler(TaskStatusNotificationSchema, (notification) => {
  const { taskId, status } = notification.params;
  notified.set(taskId, [...(notified.get(taskId) ?? []), status]);
});
const firstLine = (result) => (result?.content?.[0]?.text ?? "").split("\n")[0];

try {
  await client.connect(transport);
  const report = {};
  if (asking) {
    const text = (result) => (result.content ?? []).map((c) => c.text ?? "").join("\n");
    const sampled = text(await client.callTool({
      name: `${prefix}trigger-sampling-request-async`, arguments: { prompt: "say hi", maxTokens: 20 },
    }));
    const elicited = text(await client.callTool({
      name: `${prefix}trigger-elicitation-request-async`, arguments: {},
    }));
    report.sampling = { first: sampled.split("\n")[0], answered: sampled.includes("sampled: ") };
    report.elicitation = { first: elicited.split("\n")[0], answered: elicited.includes("Ada Lovelace") };
    clearTimeout(deadline);
    process.stdout.write(JSON.stringify(report) + "\n");
    await client.close();
    process.exit(0);
  }
  if (search) {
    const created = await client.request({
      method: "tools/call",
      params: { name: "call_tool", arguments: { name: tool, arguments: { topic: "via search" } }, task: { ttl: 60000 } },
    }, CreateTaskResultSchema);
    report.taskId = created.task.taskId;
    report.result = firstLine(await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema));
    clearTimeout(deadline);
    process.stdout.write(JSON.stringify(report) + "\n");
    await client.close();
    process.exit(0);
  }

  const offered = (await client.listTools()).tools.find((t) => t.name === tool);
  report.execution = offered?.execution ?? null;
  const stream = client.experimental.tasks.callToolStream(
    { name: tool, arguments: { topic: "rust" } }, CallToolResultSchema, { task: { ttl: 60000 } });
  const kinds = [];
  const statuses = [];
  let taskId = null;
  for await (const message of stream) {
    kinds.push(message.type);
    if (message.type === "taskCreated") taskId = message.task.taskId;
    if (message.type === "taskStatus") statuses.push(message.task.status);
    if (message.type === "result") report.result = firstLine(message.result);
    if (message.type === "error") throw message.error;
  }
  report.kinds = [...new Set(kinds)];
  report.taskId = taskId;
  report.statuses = [...new Set(statuses)];
  report.notifiedCompleted = (notified.get(taskId) ?? []).includes("completed");

  const listed = await client.experimental.tasks.listTasks();
  report.listed = listed.tasks.some((t) => t.taskId === taskId);
  const got = await client.experimental.tasks.getTask(taskId);
  report.got = {
    status: got.status, taskId: got.taskId, hasCreatedAt: typeof got.createdAt === "string",
    ttl: got.ttl, pollInterval: got.pollInterval,
  };
  const again = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
  report.again = firstLine(again);

  const created = await client.request(
    { method: "tools/call", params: { name: tool, arguments: { topic: "cancel me" }, task: { ttl: 60000 } } },
    CreateTaskResultSchema);
  const cancelled = await client.experimental.tasks.cancelTask(created.task.taskId);
  report.cancelled = { status: cancelled.status, created: created.task.status };

  try {
    await client.experimental.tasks.getTask(`${prefix ? "ev:" : ""}no-such-task`);
    report.unknown = "answered";
  } catch (error) {
    report.unknown = error.code;
  }

  if (plain) {
    // Not callTool: the SDK refuses, on the client's side, a plain call
    // of a tool whose `execution.taskSupport` is "required".
    const result = await client.request(
      { method: "tools/call", params: { name: tool, arguments: { topic: "plain" } } }, CallToolResultSchema);
    report.plain = firstLine(result);
  }

  clearTimeout(deadline);
  process.stdout.write(JSON.stringify(report) + "\n");
  await client.close();
  process.exit(0);
} catch (error) {
  fail(error?.stack ?? String(error));
}
