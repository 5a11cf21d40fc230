#!/usr/bin/env node
// A real OAuth-protected MCP server for switchboard's sign-in tests, on loopback:
//
// - an authorization server: `oidc-provider` (OpenID-certified) with Dynamic
//   Client Registration, PKCE, refresh token rotation, resource indicators
//   (RFC 8707), revocation (RFC 7009) and access tokens that live ACCESS_TTL
//   seconds (JWTs bound to the MCP server as their audience);
// - a resource server: the TypeScript SDK's MCP server (Streamable HTTP at /mcp,
//   HTTP+SSE at /sse) behind the SDK's bearer-auth middleware and its
//   protected-resource metadata router (RFC 9728).
//
// Prints one JSON line when both listen: {"issuer", "mcp", "sse", "control"}.
// The control endpoints (on the authorization server's origin, under /test/)
// let a test read counters and revoke every grant "at the server":
//   GET  /test/stats       {"registrations","authorizations","refreshes","revocations","tokens_seen","refresh_tokens"}
//   POST /test/revoke-all  every refresh token destroyed; access tokens issued so far refused
//
// BAD=<mode> makes one part misbehave, for the client's error paths:
//   no_s256           the AS metadata lists only `plain` as PKCE method
//   iss_mismatch      the authorization response carries another `iss`
//   state_mismatch    the authorization response carries another `state`
//   prm_redirect      the protected-resource metadata redirects to a non-loopback host
//   prm_other_origin  the protected-resource metadata names another origin as resource
//   as_down           the protected-resource metadata names an AS where nothing listens
//
// Tools: `whoami` (the token's subject and scopes), `echo`, and `admin-op`, which
// needs the `admin` scope: without it the HTTP answer is 403 insufficient_scope.
import http from "node:http";
import express from "express";
import Provider, { errors } from "oidc-provider";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { mcpAuthMetadataRouter } from "@modelcontextprotocol/sdk/server/auth/router.js";
import { z } from "zod";

// stdout carries the one JSON line; oidc-provider's notices go to stderr,
// so a reader that stops after that line costs nothing.
console.log = console.error;
console.info = console.error;

const BAD = process.env.BAD ?? "";
const ACCESS_TTL = Number(process.env.ACCESS_TTL ?? 3600);
const SCOPES = ["mcp", "admin"];

function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}

const asServer = http.createServer();
const rsServer = http.createServer();
const asPort = await listen(asServer);
const rsPort = await listen(rsServer);
const issuer = `http://127.0.0.1:${asPort}`;
const rsOrigin = `http://127.0.0.1:${rsPort}`;
const resource = `${rsOrigin}/mcp`;
const sseResource = `${rsOrigin}/sse`;

const stats = { registrations: 0, authorizations: 0, refreshes: 0, revocations: 0, tokens_seen: [], refresh_tokens: [] };
const refreshTokens = new Set();
let revokedBefore = 0; // access tokens issued at or before this epoch second are refused

// --- authorization server ------------------------------------------------------
const provider = new Provider(issuer, {
  clients: [],
  scopes: ["openid", "offline_access", ...SCOPES],
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== resource && indicator !== sseResource) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: SCOPES.join(" "),
          audience: indicator,
          accessTokenTTL: ACCESS_TTL,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "RS256" } },
        };
      },
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  clientDefaults: {
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  },
  ttl: { RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600, AuthorizationCode: 60 },
});
provider.proxy = false;
provider.on("registration_create.success", () => stats.registrations++);
provider.on("authorization.success", () => stats.authorizations++);
provider.on("grant.success", (ctx) => {
  if (ctx.oidc.params?.grant_type === "refresh_token") stats.refreshes++;
});
// Opaque refresh tokens are their own jti: the values, for the tests' leak checks.
provider.on("refresh_token.saved", (token) => {
  refreshTokens.add(token.jti);
  stats.refresh_tokens.push(token.jti);
});

provider.use(async (ctx, next) => {
  if (ctx.path === "/test/stats") {
    ctx.body = stats;
    return;
  }
  if (ctx.path === "/test/revoke-all" && ctx.method === "POST") {
    for (const jti of refreshTokens) {
      const token = await provider.RefreshToken.find(jti);
      if (token) await token.destroy();
    }
    refreshTokens.clear();
    revokedBefore = Math.floor(Date.now() / 1000);
    ctx.body = { revoked: true };
    return;
  }
  await next();
  if (ctx.path === "/token/revocation" && ctx.status === 200) stats.revocations++;
  const metadataPath = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"].includes(ctx.path);
  if (BAD === "no_s256" && metadataPath && ctx.body) {
    ctx.body = { ...ctx.body, code_challenge_methods_supported: ["plain"] };
  }
  const location = ctx.response.get("location");
  if ((BAD === "iss_mismatch" || BAD === "state_mismatch") && location && location.startsWith("http://127.0.0.1") && !location.startsWith(issuer)) {
    const url = new URL(location);
    if (url.searchParams.has("code")) {
      if (BAD === "iss_mismatch") url.searchParams.set("iss", "http://127.0.0.1:1/not-the-issuer");
      if (BAD === "state_mismatch") url.searchParams.set("state", "forged-state");
      ctx.redirect(url.href);
    }
  }
});
asServer.on("request", provider.callback());

// --- resource server (the MCP server) -----------------------------------------
const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
const verifier = {
  async verifyAccessToken(token) {
    stats.tokens_seen.push(token);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer }));
    } catch (e) {
      const { InvalidTokenError } = await import("@modelcontextprotocol/sdk/server/auth/errors.js");
      throw new InvalidTokenError(`token refused: ${e.code ?? e.message}`);
    }
    if (payload.iat <= revokedBefore) {
      const { InvalidTokenError } = await import("@modelcontextprotocol/sdk/server/auth/errors.js");
      throw new InvalidTokenError("token revoked");
    }
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    return {
      token,
      clientId: payload.client_id,
      scopes: String(payload.scope ?? "").split(" ").filter(Boolean),
      expiresAt: payload.exp,
      resource: new URL(aud),
      extra: { sub: payload.sub },
    };
  },
};

function mcpServer(auth) {
  const server = new McpServer({ name: "oauth-peer", version: "1.0.0" });
  server.registerTool("whoami", { description: "The signed-in subject and its scopes", inputSchema: {} }, async (_args, extra) => ({
    content: [{ type: "text", text: JSON.stringify({ sub: extra.authInfo?.extra?.sub, scopes: extra.authInfo?.scopes }) }],
  }));
  server.registerTool("echo", { description: "Echoes its text", inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  server.registerTool("admin-op", { description: "Needs the admin scope", inputSchema: {} }, async () => ({
    content: [{ type: "text", text: "admin done" }],
  }));
  return server;
}

const app = express();
const prmPath = (path) => `/.well-known/oauth-protected-resource${path}`;
if (BAD === "prm_redirect") {
  app.get([prmPath("/mcp"), prmPath("/sse")], (_req, res) => res.redirect(302, "http://192.0.2.1/.well-known/oauth-protected-resource/mcp"));
} else if (BAD === "prm_other_origin" || BAD === "as_down") {
  const downAs = await (async () => {
    const probe = http.createServer();
    const port = await listen(probe);
    await new Promise((r) => probe.close(r));
    return `http://127.0.0.1:${port}`;
  })();
  app.get([prmPath("/mcp"), prmPath("/sse")], (req, res) =>
    res.json({
      resource: BAD === "prm_other_origin" ? "http://other.invalid/mcp" : `${rsOrigin}${req.path.replace(prmPath(""), "")}`,
      authorization_servers: [BAD === "as_down" ? downAs : issuer],
      scopes_supported: ["mcp"],
    }),
  );
}
const discovered = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
for (const url of [resource, sseResource]) {
  app.use(mcpAuthMetadataRouter({ oauthMetadata: discovered, resourceServerUrl: new URL(url), scopesSupported: ["mcp"] }));
}

const guard = (url) => requireBearerAuth({ verifier, requiredScopes: ["mcp"], resourceMetadataUrl: `${rsOrigin}${prmPath(new URL(url).pathname)}`, expectedResource: new URL(url) });

// Step-up: a tools/call of `admin-op` without the admin scope is refused at the HTTP layer.
function needsAdmin(req, res, next) {
  const messages = Array.isArray(req.body) ? req.body : [req.body];
  const wantsAdmin = messages.some((m) => m?.method === "tools/call" && m?.params?.name === "admin-op");
  if (wantsAdmin && !req.auth.scopes.includes("admin")) {
    const metadata = `${rsOrigin}${prmPath(req.baseUrl + req.path === "/messages" ? "/sse" : "/mcp")}`;
    res.set("WWW-Authenticate", `Bearer error="insufficient_scope", error_description="admin-op needs the admin scope", scope="mcp admin", resource_metadata="${metadata}"`);
    res.status(403).json({ error: "insufficient_scope", error_description: "admin-op needs the admin scope" });
    return;
  }
  next();
}

app.post("/mcp", express.json(), guard(resource), needsAdmin, async (req, res) => {
  const server = mcpServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
app.get("/mcp", guard(resource), (_req, res) => res.status(405).set("Allow", "POST").end());
app.delete("/mcp", guard(resource), (_req, res) => res.status(405).set("Allow", "POST").end());

const sseSessions = new Map();
app.get("/sse", guard(sseResource), async (_req, res) => {
  const transport = new SSEServerTransport("/messages", res);
  sseSessions.set(transport.sessionId, transport);
  res.on("close", () => sseSessions.delete(transport.sessionId));
  await mcpServer().connect(transport);
});
app.post("/messages", express.json(), guard(sseResource), needsAdmin, async (req, res) => {
  const transport = sseSessions.get(String(req.query.sessionId));
  if (!transport) {
    res.status(404).json({ error: "unknown session" });
    return;
  }
  await transport.handlePostMessage(req, res, req.body);
});
rsServer.on("request", app);

process.stdout.write(JSON.stringify({ issuer, mcp: resource, sse: sseResource, control: `${issuer}/test` }) + "\n");
process.stdout.on("error", () => {});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
