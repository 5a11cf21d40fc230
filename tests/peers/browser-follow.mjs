#!/usr/bin/env node
// A "browser" for sign-in tests: given an authorization URL (as `$BROWSER URL`
// is called), it follows the authorization server's pages with a real HTTP
// client — redirects, cookies, and every HTML form it meets (login with any
// name and password, then consent) — until it is sent to a loopback address
// that is not the authorization server: the client's redirect listener, which
// it then visits, as a browser would. Exits 0 once that page answered 2xx.
//
// BROWSER_LOG=<file> appends one line per URL visited (for the tests to check
// what the client asked for). BROWSER_REFUSE=1 presses "deny" instead of consent
// where the page offers an abort link.
import fs from "node:fs";

const start = process.argv[2];
if (!start) {
  process.stderr.write("usage: browser-follow.mjs URL\n");
  process.exit(2);
}
const log = (line) => process.env.BROWSER_LOG && fs.appendFileSync(process.env.BROWSER_LOG, line + "\n");
const asOrigin = new URL(start).origin;
const jar = new Map();

function cookieHeader() {
  return [...jar.entries()].map(([k, v]) => `${k}=${v}`).join("; ");
}
function keepCookies(response) {
  for (const line of response.headers.getSetCookie?.() ?? []) {
    const [pair] = line.split(";");
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
}

function forms(html) {
  const out = [];
  for (const m of html.matchAll(/<form([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const action = /action="([^"]*)"/i.exec(m[1])?.[1];
    const fields = new URLSearchParams();
    for (const input of m[2].matchAll(/<input([^>]*)>/gi)) {
      const name = /name="([^"]*)"/i.exec(input[1])?.[1];
      if (!name) continue;
      const type = /type="([^"]*)"/i.exec(input[1])?.[1] ?? "text";
      const value = /value="([^"]*)"/i.exec(input[1])?.[1];
      fields.set(name, value ?? (type === "password" ? "secret" : "tester"));
    }
    out.push({ action: action?.replaceAll("&amp;", "&"), fields });
  }
  return out;
}

async function go(url, init = {}) {
  for (let hops = 0; hops < 30; hops++) {
    log(`${init.method ?? "GET"} ${url}`);
    const target = new URL(url);
    const callback = target.origin !== asOrigin && ["127.0.0.1", "localhost", "[::1]"].includes(target.hostname);
    const response = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers ?? {}), cookie: target.origin === asOrigin ? cookieHeader() : "" } });
    keepCookies(response);
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get("location"), url).href;
      init = {};
      continue;
    }
    const body = await response.text();
    if (callback) {
      if (!response.ok) throw new Error(`the redirect listener answered ${response.status}: ${body}`);
      return;
    }
    if (!response.ok) throw new Error(`${url} answered ${response.status}: ${body.slice(0, 300)}`);
    if (process.env.BROWSER_REFUSE === "1") {
      const abort = /href="([^"]*\/abort)"/i.exec(body)?.[1];
      if (abort) {
        url = new URL(abort, url).href;
        continue;
      }
    }
    const [form] = forms(body);
    if (!form) throw new Error(`${url}: no form and no redirect: ${body.slice(0, 300)}`);
    url = new URL(form.action ?? url, url).href;
    init = { method: "POST", body: form.fields.toString(), headers: { "content-type": "application/x-www-form-urlencoded" } };
  }
  throw new Error("too many steps");
}

try {
  await go(start);
} catch (error) {
  process.stderr.write(`browser-follow: ${error.message}\n`);
  process.exit(1);
}
