#!/usr/bin/env node
// The dashboard in a real browser (Debian's Chromium driven by
// playwright-core), against a running switchboard HTTP server. Run by
// tests/http_browser.rs; exits 0 when every step passed, else prints the
// failed step on stderr and exits 1. Every wait has a deadline.
//
//   SB_URL=http://127.0.0.1:PORT/ SB_TOKEN=... SB_EVERYTHING=/path/to/server-everything/dist/index.js \
//   SB_OAUTH_MCP=http://127.0.0.1:PORT/mcp SB_OAUTH_ISSUER=http://127.0.0.1:PORT \
//   SB_SHOTS=DIR [SB_CHROMIUM=/usr/bin/chromium] [SB_POSTGRES_URL=postgres://postgres@…] node tests/browser/dashboard.mjs
//
// SB_OAUTH_* name the OAuth peer (tests/peers/oauth-peer.mjs): a remote
// server behind oidc-provider, signed in to from the card in a new tab.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "../peers/node_modules/playwright-core/index.mjs";

const base = need("SB_URL");
const token = need("SB_TOKEN");
const everything = need("SB_EVERYTHING");
const shots = need("SB_SHOTS");
const oauthMcp = need("SB_OAUTH_MCP");
const oauthIssuer = need("SB_OAUTH_ISSUER");
// A superuser's URL for the postgres skill (the service runs it as a skill);
// without it the warning step is skipped.
const postgresUrl = process.env.SB_POSTGRES_URL;
const STEP_MS = 30000; // the longest any one step may take (a server start included)

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`dashboard.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

let stepName = "start";
function step(name) {
  stepName = name;
  console.log(`step: ${name}`);
}

// A fresh profile per run: nothing carries over from another run.
const profile = mkdtempSync(join(tmpdir(), "sb-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.SB_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
  ],
  viewport: { width: 1280, height: 900 },
  colorScheme: "light",
  timeout: STEP_MS,
});

try {
  context.setDefaultTimeout(STEP_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    // A refused request is logged by the browser itself; the steps below
    // make some on purpose and check what the page shows for them.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) problems.push(`console: ${msg.text()}`);
  });
  // Any navigation after the first load would mean the page reloaded.
  let navigations = 0;
  page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) navigations += 1; });

  step("the token link sets the cookie and is dropped from the address");
  await page.goto(`${base}?token=${token}`);
  check(page.url() === base, `the address still carries the token: ${page.url()}`);
  const cookies = await context.cookies();
  const cookie = cookies.find((c) => c.value === token);
  check(cookie && cookie.httpOnly && cookie.sameSite === "Strict", `cookie: ${JSON.stringify(cookies)}`);
  check(!(await page.evaluate(() => document.cookie)).includes(token), "the token is readable from script");
  await page.locator("#live[data-state=live]").waitFor();
  await page.locator(".card").first().waitFor();
  const loadedNavigations = navigations;

  const card = (name) => page.locator(`article.card[data-name="${name}"]`);
  const badge = (name) => card(name).locator(".badge");
  const waitBadge = async (name, status) => {
    await page.waitForFunction(
      ([n, s]) => document.querySelector(`article.card[data-name="${n}"] .badge`)?.textContent === s,
      [name, status], { timeout: STEP_MS });
  };

  step("add a connector from the dialog");
  await page.getByRole("button", { name: "Add connector" }).click();
  const dialog = page.locator("#add-dialog");
  await dialog.getByLabel("Name").fill("everything");
  await dialog.getByLabel("Command to run").fill("node");
  await dialog.getByLabel("Arguments, one per line").fill(`${everything}\nstdio`);
  await dialog.getByRole("button", { name: "Add" }).click();
  await card("everything").waitFor();
  check(await dialog.evaluate((d) => !d.open), "the dialog stayed open");
  check((await badge("everything").textContent()) === "disconnected", "a new connector is not disconnected");

  step("a bad name is refused in the dialog");
  await page.getByRole("button", { name: "Add connector" }).click();
  await dialog.getByLabel("Name").fill("Bad Name");
  await dialog.getByLabel("Command to run").fill("node");
  await dialog.getByRole("button", { name: "Add" }).click();
  await dialog.locator(".form-error").filter({ hasText: "Bad Name" }).waitFor();
  await dialog.getByRole("button", { name: "Cancel" }).click();

  step("connect with a click: the badge turns connected without a reload");
  await card("everything").getByRole("button", { name: "Connect", exact: true }).click();
  await waitBadge("everything", "connected");
  check(navigations === loadedNavigations, "the page reloaded");

  step("call a tool from the page");
  await card("everything").getByRole("button", { name: "Details" }).click();
  const echo = card("everything").locator("details.tool").filter({ has: page.locator("summary code", { hasText: /^echo$/ }) });
  await echo.locator("summary").click();
  await echo.getByLabel("Arguments (JSON)").fill('{"message": "hello from the page"}');
  await echo.getByRole("button", { name: "Call" }).click();
  await echo.locator(".tool-result").filter({ hasText: "hello from the page" }).waitFor();
  // The card counts the call (the record of every call, GET /stats).
  await card("everything").locator(".calls").filter({ hasText: /^Last 24 h: 1 call · no errors · p50 \d/ }).waitFor();
  check(await card("github").locator(".calls").isHidden(), "a card without calls shows call figures");
  const schema = await echo.locator(".tool-body > pre").first().textContent();
  check(schema.includes('"message"'), `the input schema is not shown: ${schema}`);

  step("the badge carries the phase");
  check((await badge("everything").getAttribute("data-phase")) === "running", "the connected card's phase");
  check((await badge("github").getAttribute("title")) === "phase: stopped", "a stopped card's phase");

  step("cards show brand icons, a letter where there is none, and tool counts");
  check((await card("github").locator(".avatar img").getAttribute("src")) === "/assets/icons/github.svg",
    "the GitHub card has no brand icon");
  await page.waitForFunction(
    () => document.querySelector('article.card[data-name="github"] .avatar img')?.naturalWidth > 0);
  check((await card("slack").locator(".avatar img").count()) === 0, "Slack has no icon in the set, yet shows one");
  check((await card("slack").locator(".avatar").textContent()) === "S", "Slack's card has no letter");
  const letters = await page.$$eval("article.card .avatar", (all) => all.filter((a) => !a.querySelector("img")).length);
  check(letters <= 4, `${letters} cards show a letter instead of an icon`);
  await card("everything").locator(".tool-count").filter({ hasText: /^ · \d+ tools$/ }).waitFor();
  check((await card("github").locator(".tool-count").textContent()) === "", "a disconnected card counts tools");
  const policy = await card("github").locator(".policy").textContent();
  check(/^Policy: network: api.github.com only; .*memory 512 MB, 1 CPU$/.test(policy), `the card's policy reads "${policy}"`);

  step("a connector in error shows its reason and its last log lines");
  await page.getByRole("button", { name: "Add connector" }).click();
  await dialog.getByLabel("Name").fill("broken");
  await dialog.getByLabel("Command to run").fill("node");
  await dialog.getByLabel("Arguments, one per line").fill("-e\nconsole.error('kaput: the database is gone'); process.exit(3)");
  await dialog.getByRole("button", { name: "Add" }).click();
  await card("broken").getByRole("button", { name: "Connect", exact: true }).click();
  await waitBadge("broken", "error");
  await card("broken").locator(".problem-text").filter({ hasText: "exited with code 3" }).waitFor();
  await card("broken").locator(".problem-log").filter({ hasText: "kaput: the database is gone" }).waitFor();

  step("screenshots, light and dark");
  // The two custom connectors (one connected, its tool called; one in
  // error), then the whole grid.
  await page.locator("#search").fill("command node");
  await page.evaluate(() => window.scrollTo(0, 0));
  const bottom = async () => {
    const box = await card("broken").boundingBox();
    return { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 24) };
  };
  await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true, clip: await bottom() });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(shots, "dashboard-dark.png"), fullPage: true, clip: await bottom() });
  await page.locator("#search").fill("");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "dashboard-grid-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: join(shots, "dashboard-grid.png") });

  step("search filters the cards; `/` focuses the search box");
  await page.locator("body").click({ position: { x: 5, y: 300 } });
  await page.keyboard.press("/");
  check(await page.evaluate(() => document.activeElement?.id === "search"), "`/` did not focus the search");
  await page.keyboard.type("kaput broken");
  await page.waitForFunction(() => [...document.querySelectorAll("article.card")].filter((c) => !c.hidden).length === 1);
  check(await card("broken").isVisible(), "the matching card is hidden");
  await page.locator("#search").fill("");

  step("the catalog view groups by category and filters by state");
  await page.locator("#group-toggle").check();
  await page.locator('section.group[aria-label="Databases"] article.card[data-name="postgres"]').waitFor();
  await page.locator('section.group[aria-label="Custom"] article.card[data-name="everything"]').waitFor();
  await page.locator('section.group[aria-label="Code"] article.card[data-name="github"]').waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "dashboard-catalog.png") });
  await page.locator("#state-filter").selectOption("error");
  await page.waitForFunction(() => {
    const shown = [...document.querySelectorAll("article.card")].filter((c) => !c.hidden);
    return shown.length > 0 && shown.every((c) => c.querySelector(".badge").textContent === "error");
  });
  check(await card("broken").isVisible(), "the card in error is hidden under the error filter");
  check(await page.locator('section.group[aria-label="Databases"]').isHidden(), "a category with nothing to show is shown");
  await page.locator("#state-filter").selectOption("");
  await page.locator("#group-toggle").uncheck();
  check((await page.locator("section.group").count()) === 0, "the groups stayed after turning them off");

  step("disconnect with a click");
  await card("everything").getByRole("button", { name: "Disconnect", exact: true }).click();
  await waitBadge("everything", "disconnected");

  step("a server killed from outside turns the badge to error, with the reason");
  await card("everything").getByRole("button", { name: "Connect", exact: true }).click();
  await waitBadge("everything", "connected");
  const info = await page.evaluate(async () => (await fetch("/api/v1/connectors/everything")).json());
  check(Number.isInteger(info.pid), `no pid: ${JSON.stringify(info)}`);
  process.kill(info.pid, "SIGKILL");
  await waitBadge("everything", "error");
  await card("everything").locator(".problem-text").filter({ hasText: "signal 9" }).waitFor();

  step("a secret config field is a password input and is never shown back");
  await card("github").getByRole("button", { name: "Details" }).click();
  const secret = card("github").getByLabel("GITHUB_PERSONAL_ACCESS_TOKEN");
  check((await secret.getAttribute("type")) === "password", "the secret field is not a password field");
  await secret.fill("ghp_fromthebrowsertest");
  await card("github").getByRole("button", { name: "Save" }).click();
  await card("github").locator(".config-body .set").waitFor();
  const after = card("github").getByLabel("GITHUB_PERSONAL_ACCESS_TOKEN");
  check((await after.inputValue()) === "", "the secret came back into the form");
  check(!(await page.content()).includes("ghp_fromthebrowsertest"), "the secret is in the page");

  step("a remote server that needs a sign-in: Connect, then Sign in in a new tab");
  await page.getByRole("button", { name: "Add connector" }).click();
  await dialog.getByLabel("Name").fill("tracker");
  await dialog.getByLabel("Remote URL").check();
  await dialog.getByLabel("Server URL").fill(oauthMcp);
  await dialog.getByRole("button", { name: "Add" }).click();
  await card("tracker").waitFor();
  await card("tracker").getByRole("button", { name: "Connect", exact: true }).click();
  await waitBadge("tracker", "configuring");
  const signIn = card("tracker").getByRole("button", { name: "Sign in", exact: true });
  await signIn.waitFor();
  await card("tracker").locator(".auth").filter({ hasText: "Not signed in" }).waitFor();
  check(await card("tracker").getByRole("button", { name: "Connect", exact: true }).isHidden(),
    "Connect is offered while the card waits for a sign-in");
  const [tab] = await Promise.all([context.waitForEvent("page"), signIn.click()]);
  await tab.waitForURL((url) => url.href.startsWith(oauthIssuer), { timeout: STEP_MS });
  check(await tab.evaluate(() => window.opener === null), "the sign-in tab can reach the dashboard");
  await card("tracker").locator(".auth[data-state=signing-in]").filter({ hasText: "open the sign-in page" }).waitFor();
  await card("tracker").screenshot({ path: join(shots, "dashboard-signing-in.png") });
  const link = await card("tracker").locator(".auth a").getAttribute("href");
  check(link.startsWith(`${oauthIssuer}/auth?`), `the card's link is not the authorization page: ${link}`);

  step("follow the authorization pages: log in, consent, back to the service");
  await tab.locator("input[name=login]").fill("tester");
  await tab.locator("input[name=password]").fill("secret");
  await tab.getByRole("button", { name: "Sign-in" }).click();
  await tab.getByRole("button", { name: "Continue" }).click();
  await tab.getByText("Signed in.").waitFor();
  await tab.close();
  await waitBadge("tracker", "connected");
  await card("tracker").locator(".auth[data-state=signed-in]").filter({ hasText: `issuer: ${oauthIssuer}` }).waitFor();
  const authLine = await card("tracker").locator(".auth").textContent();
  check(/expires in/.test(authLine) && /scopes: .*mcp/.test(authLine), `the auth line: ${authLine}`);
  check(await card("tracker").getByRole("button", { name: "Sign out" }).isVisible(), "no Sign out on a signed-in card");
  await card("tracker").screenshot({ path: join(shots, "dashboard-signed-in.png") });

  step("sign out: the card waits for a sign-in again");
  await card("tracker").getByRole("button", { name: "Sign out" }).click();
  await waitBadge("tracker", "configuring");
  await card("tracker").locator(".auth[data-state=signed-out]").waitFor();
  await card("tracker").getByRole("button", { name: "Sign in", exact: true }).waitFor();
  check(await card("tracker").getByRole("button", { name: "Sign out" }).isHidden(), "Sign out stayed after signing out");
  if (postgresUrl) {
    step("a skill connected as a database superuser shows the warning on its card");
    const stored = await page.evaluate(async (url) => {
      const answer = await fetch("/api/v1/connectors/postgres/config", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ values: { url } }),
      });
      return answer.status;
    }, postgresUrl);
    check(stored < 300, `storing the postgres url answered ${stored}`);
    await card("postgres").getByRole("button", { name: "Connect", exact: true }).click();
    await waitBadge("postgres", "connected");
    await card("postgres").locator(".warnings li").filter({ hasText: "is a PostgreSQL superuser" }).waitFor();
    check(!(await card("everything").locator(".warnings").isVisible()), "a card with no warnings shows a warning list");

    step("a settings change restarts the connected skill, and its card says so");
    await card("postgres").getByRole("button", { name: "Details" }).click();
    await card("postgres").getByLabel("row_limit").fill("500");
    await card("postgres").getByRole("button", { name: "Save" }).click();
    await card("postgres").locator(".config-body .form-status").filter({ hasText: "restarted" }).waitFor();
    await card("postgres").locator(".restart-badge").filter({ hasText: "restarted with new settings" }).waitFor();
    await waitBadge("postgres", "connected");
    check(await card("postgres").locator(".restart-badge").isVisible(), "the restart badge went away at once");

    step("the skill's card describes the skill, not the server image");
    const described = await card("postgres").locator(".desc").textContent();
    check(described.startsWith("Built-in skill"), `postgres on its skill says: ${described}`);
  }

  check(navigations === loadedNavigations, "the page reloaded during the run");
  check(problems.length === 0, `the page reported problems:\n${problems.join("\n")}`);
  console.log("dashboard: all steps passed");
} catch (err) {
  console.error(`dashboard.mjs: step "${stepName}" failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
