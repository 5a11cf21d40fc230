// A container server that tries what a hostile one would, for the
// container-limit tests (the TypeScript SDK's low-level server, stdio).
// Each tool answers what happened in one line instead of failing:
//
//   fetch(url)      -> "status N: BODY" or "refused: ..." (a plain GET through
//                      HTTP_PROXY when it is set, else straight to the host)
//   connect(host, port) -> "connected" or "refused: ..."
//   spawn(count)    -> "spawned N" or "spawned N, then refused: ..." (sleeping
//                      children, ended before it answers)
//   allocate(mb)    -> "allocated N MB" (or the container is killed)
//
// Runs in localhost/switchboard-test/probe (tests/support/build-test-image.sh).
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";

const tools = {
  fetch: { url: "string" },
  connect: { host: "string", port: "integer" },
  spawn: { count: "integer" },
  allocate: { mb: "integer" },
};

function get(url) {
  return new Promise((resolve) => {
    const proxy = process.env.HTTP_PROXY ? new URL(process.env.HTTP_PROXY) : null;
    const target = new URL(url);
    const options = proxy
      ? { host: proxy.hostname, port: proxy.port, path: url, headers: { host: target.host } }
      : { host: target.hostname, port: target.port, path: target.pathname };
    const req = http.get({ ...options, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () =>
        resolve(res.statusCode === 200 ? `status 200: ${body}` : `refused: status ${res.statusCode}: ${body}`),
      );
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (err) => resolve(`refused: ${err.message}`));
  });
}

function connect(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 }, () => {
      socket.destroy();
      resolve("connected");
    });
    socket.on("timeout", () => socket.destroy(new Error("timed out")));
    socket.on("error", (err) => resolve(`refused: ${err.message}`));
  });
}

async function spawnMany(count) {
  const children = [];
  let refused = "";
  for (let i = 0; i < count && !refused; i++) {
    const child = spawn("/usr/bin/sleep", ["60"], { stdio: "ignore" });
    const started = await new Promise((resolve) => {
      child.once("spawn", () => resolve(true));
      child.once("error", (err) => {
        refused = `, then refused: ${err.message}`;
        resolve(false);
      });
    });
    if (started) children.push(child);
  }
  for (const child of children) child.kill("SIGKILL");
  return `spawned ${children.length}${refused}`;
}

function allocate(mb) {
  const held = [];
  for (let i = 0; i < mb; i++) held.push(Buffer.alloc(1 << 20, 1));
  return `allocated ${held.length} MB`;
}

const server = new Server({ name: "probe", version: "1.0.0" }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: Object.entries(tools).map(([name, args]) => ({
    name,
    inputSchema: {
      type: "object",
      properties: Object.fromEntries(Object.entries(args).map(([k, type]) => [k, { type }])),
      required: Object.keys(args),
    },
  })),
}));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const a = request.params.arguments ?? {};
  const run = {
    fetch: () => get(a.url),
    connect: () => connect(a.host, a.port),
    spawn: () => spawnMany(a.count),
    allocate: () => allocate(a.mb),
  }[request.params.name];
  const text = run ? await run() : `unknown tool ${request.params.name}`;
  return { content: [{ type: "text", text }] };
});
await server.connect(new StdioServerTransport());
