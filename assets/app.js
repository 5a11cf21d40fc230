// Switchboard dashboard: every connector as a card, updated in place from
// the event stream (so open panels and typed input survive live updates);
// search; connect, disconnect, remove, and sign in (signin.js).
import {
  $, api, announce, cardId, cardOf, el, enc, hooks, showNotice, state, API, LOG_LINES_IN_ERROR,
} from "./core.js";
import { appendLog, loadTools, openDetails, setupAddDialog, toggleDetails } from "./panels.js";
import { authParts, renderAuth, waitsForSignIn } from "./signin.js";

// --- list and cards -----------------------------------------------------------

async function loadAll() {
  const list = await api("GET", "/connectors");
  const names = new Set(list.map((i) => i.name));
  for (const name of [...state.infos.keys()]) {
    if (!names.has(name)) {
      state.infos.delete(name);
      cardOf(name)?.remove();
    }
  }
  state.order = list.map((i) => i.name);
  for (const info of list) state.infos.set(info.name, info);
  const container = $("#cards");
  for (const info of list) {
    let card = cardOf(info.name);
    if (!card) card = buildCard(info);
    container.append(card); // keeps list order
    updateCard(info);
  }
  applySearch();
  await loadStats();
}

// --- calls of the last day (the call record, GET /stats) ------------------------

const STATS_WINDOW = "24h";
const STATS_REFRESH_MS = 15000;

async function loadStats() {
  let answer;
  try {
    answer = await api("GET", `/stats?since=${STATS_WINDOW}`);
  } catch {
    return; // the figures are a garnish: a failed read leaves the last ones
  }
  state.stats = new Map(answer.connectors.map((s) => [s.connector, s]));
  for (const name of state.infos.keys()) {
    const card = cardOf(name);
    if (card) renderCalls(card, name);
  }
}

function ms(value) {
  return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

function renderCalls(card, name) {
  const line = $(".calls", card);
  const s = state.stats.get(name);
  line.hidden = !s || s.calls === 0;
  if (line.hidden) return;
  const errors = s.errors === 0 ? "no errors" : `${s.errors} error${s.errors === 1 ? "" : "s"}`;
  line.textContent =
    `Last 24 h: ${s.calls} call${s.calls === 1 ? "" : "s"} · ${errors} · p50 ${ms(s.p50_ms)} · p99 ${ms(s.p99_ms)}`;
}

async function refresh(name) {
  try {
    const info = await api("GET", `/connectors/${enc(name)}`);
    state.infos.set(name, info);
    if (!cardOf(name)) {
      state.order.push(name);
      $("#cards").append(buildCard(info));
    }
    updateCard(info);
    applySearch();
  } catch (err) {
    if (err.status === 404) {
      state.infos.delete(name);
      cardOf(name)?.remove();
      applySearch();
    }
  }
}


function hue(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

// The server's own icon (an inline image it announced), else the brand's
// (compiled in), else the name's first letter on a colour of its own.
function renderAvatar(avatar, info) {
  const src = typeof info.server_icon === "string" && info.server_icon.startsWith("data:image/")
    ? info.server_icon
    : (info.icon ? `/assets/icons/${enc(info.icon)}.svg` : null);
  if (avatar.dataset.src === (src || "")) return;
  avatar.dataset.src = src || "";
  avatar.classList.toggle("brand", Boolean(src));
  if (src) {
    avatar.replaceChildren(el("img", { src, alt: "" }));
  } else {
    avatar.replaceChildren((info.display_name || info.name).trim().charAt(0).toUpperCase());
  }
}

function buildCard(info) {
  const id = cardId(info.name);
  const avatar = el("div", { class: "avatar", "aria-hidden": "true" });
  avatar.style.setProperty("--hue", hue(info.name));
  const auth = authParts(info.name);
  const card = el("article", { class: "card", id, "data-name": info.name, "aria-labelledby": id + "-title" },
    el("div", { class: "card-head" },
      avatar,
      el("div", { class: "card-title" },
        el("h2", { id: id + "-title" }),
        el("p", { class: "meta" }, el("span", { class: "type" }), " · ", el("span", { class: "backend" }),
          el("span", { class: "tool-count" }))),
      el("span", { class: "restart-badge", hidden: true }),
      el("span", { class: "badge" })),
    el("p", { class: "desc" }),
    el("p", { class: "policy", title: "What its server may reach and use (switchboard policy)" }),
    el("p", { class: "calls", title: "From the record of every call (switchboard stats)", hidden: true }),
    auth.line,
    el("p", { class: "missing", hidden: true }),
    el("ul", { class: "warnings", "aria-label": "Warnings", hidden: true }),
    el("div", { class: "problem", hidden: true },
      el("p", { class: "problem-text" }),
      el("pre", { class: "problem-log", "aria-label": "Last log lines", hidden: true })),
    el("div", { class: "card-actions" },
      el("button", { type: "button", class: "primary act-connect", onclick: () => connect(info.name) }, "Connect"),
      auth.signIn,
      el("button", { type: "button", class: "act-disconnect", onclick: () => disconnect(info.name) }, "Disconnect"),
      auth.signOut,
      el("span", { class: "busy-note", hidden: true }, el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { class: "busy-text" })),
      el("span", { class: "grow" }),
      el("button", { type: "button", class: "act-details", "aria-expanded": "false", "aria-controls": id + "-details", onclick: () => toggleDetails(info.name) }, "Details"),
      info.builtin ? null : el("button", { type: "button", class: "danger act-remove", onclick: () => removeConnector(info.name) }, "Remove")),
    el("div", { class: "details", id: id + "-details", hidden: true },
      el("section", { class: "config-panel", "aria-label": "Configuration" }, el("h3", {}, "Configuration"), el("div", { class: "config-body" })),
      el("section", { class: "tools-panel", "aria-label": "Tools" }, el("h3", { class: "tools-title" }, "Tools"), el("div", { class: "tools-body" })),
      el("section", { class: "logs-panel", "aria-label": "Log" }, el("h3", {}, "Log"), el("pre", { class: "log", tabindex: "0" }))));
  return card;
}

function updateCard(info) {
  const card = cardOf(info.name);
  if (!card) return;
  const busy = state.busy.get(info.name);
  const waiting = waitsForSignIn(info);
  const starting = info.status === "configuring" && !(info.missing && info.missing.length) && !waiting;
  $("h2", card).textContent = info.display_name || info.name;
  $(".type", card).textContent = info.type;
  $(".backend", card).textContent = info.backend;
  renderAvatar($(".avatar", card), info);
  $(".tool-count", card).textContent =
    typeof info.tools === "number" ? ` · ${info.tools} tool${info.tools === 1 ? "" : "s"}` : "";
  // "restarting": failed, with an automatic restart planned. "restarted
  // with new settings": a settings change restarted it, shown for a while
  // (events of the restart itself may arrive after the answer).
  const recent = state.restarted.get(info.name);
  if (recent && recent.until < Date.now()) state.restarted.delete(info.name);
  const restart = $(".restart-badge", card);
  const restartText = info.phase === "restarting"
    ? "restarting"
    : (state.restarted.has(info.name) ? recent.text : "");
  restart.hidden = !restartText;
  restart.textContent = restartText || "";
  $(".desc", card).textContent = info.description || "";
  const policy = $(".policy", card);
  policy.textContent = info.policy ? `Policy: ${info.policy}` : "";
  policy.hidden = !info.policy;
  renderCalls(card, info.name);
  const badge = $(".badge", card);
  badge.dataset.status = info.status;
  badge.textContent = info.status;
  badge.setAttribute("aria-label", `Status: ${info.status}` + (info.phase ? ` (${info.phase})` : ""));
  badge.title = info.phase ? `phase: ${info.phase}` : "";
  badge.dataset.phase = info.phase || "";
  const missing = $(".missing", card);
  if (info.missing && info.missing.length) {
    missing.hidden = false;
    missing.textContent = `Needs ${info.missing.join(", ")}: set ${info.missing.length > 1 ? "them" : "it"} under Details.`;
  } else {
    missing.hidden = true;
  }
  const warnings = $(".warnings", card);
  const warningTexts = Array.isArray(info.warnings) ? info.warnings : [];
  warnings.replaceChildren(...warningTexts.map((text) => el("li", {}, text)));
  warnings.hidden = warningTexts.length === 0;
  const problem = $(".problem", card);
  if (info.status === "error") {
    problem.hidden = false;
    $(".problem-text", problem).textContent = info.error || "It failed (no reason was given).";
    loadProblemLog(info.name);
  } else {
    problem.hidden = true;
  }
  renderAuth(card, info);
  const running = info.status === "connected" || starting || waiting;
  const connectButton = $(".act-connect", card);
  const disconnectButton = $(".act-disconnect", card);
  connectButton.hidden = info.status === "connected" || waiting;
  connectButton.textContent = info.status === "error" ? "Retry" : "Connect";
  disconnectButton.hidden = !running && info.status !== "error";
  for (const button of card.querySelectorAll(".card-actions button")) {
    if (!button.classList.contains("act-details")) button.disabled = Boolean(busy);
  }
  const note = $(".busy-note", card);
  const busyText = busy || (starting ? (info.phase === "initializing" ? "Waiting for initialize…" : "Starting…") : "");
  note.hidden = !busyText;
  $(".busy-text", note).textContent = busyText;
  card.setAttribute("aria-busy", busyText ? "true" : "false");
  if (!$(".details", card).hidden) loadTools(info.name);
}

async function loadProblemLog(name) {
  const card = cardOf(name);
  if (!card) return;
  try {
    const logs = await api("GET", `/connectors/${enc(name)}/logs?lines=${LOG_LINES_IN_ERROR}`);
    const pre = $(".problem-log", card);
    pre.textContent = logs.lines.join("\n");
    pre.hidden = logs.lines.length === 0;
  } catch {
    // The reason above is what matters; the log is extra.
  }
}

// --- search -------------------------------------------------------------------

function applySearch() {
  const words = $("#search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const wanted = $("#state-filter").value;
  let shown = 0;
  const counts = { connected: 0, error: 0 };
  for (const name of state.order) {
    const info = state.infos.get(name);
    const card = cardOf(name);
    if (!info || !card) continue;
    counts[info.status] = (counts[info.status] || 0) + 1;
    const text = [info.name, info.display_name, info.description, info.backend, info.type, info.status,
      info.category || "", info.error || ""]
      .join(" ").toLowerCase();
    const match = words.every((w) => text.includes(w)) && (!wanted || info.status === wanted);
    card.hidden = !match;
    if (match) shown += 1;
  }
  placeCards();
  $("#empty").hidden = shown > 0 || state.order.length === 0;
  $("#summary").textContent = `${state.infos.size} connectors · ${counts.connected} connected` +
    (counts.error ? ` · ${counts.error} in error` : "") +
    (words.length || wanted ? ` · ${shown} shown` : "");
}

// The catalog view: with "By category" on, cards sit under a heading per
// category (in the order categories first appear), empty ones hidden;
// off, one grid in list order.
function placeCards() {
  const container = $("#cards");
  const grouped = $("#group-toggle").checked;
  const groups = new Map();
  for (const name of state.order) {
    const card = cardOf(name);
    if (!card) continue;
    if (!grouped) {
      container.append(card);
      continue;
    }
    const category = state.infos.get(name)?.category || "Other";
    if (!groups.has(category)) {
      const id = "group-" + category.toLowerCase().replace(/[^a-z0-9]+/g, "-");
      let group = document.getElementById(id);
      if (!group) {
        group = el("section", { class: "group", id, "aria-label": category },
          el("h2", { class: "group-title" }, category));
      }
      groups.set(category, group);
      container.append(group);
    }
    groups.get(category).append(card);
  }
  for (const group of container.querySelectorAll(".group")) {
    if (!grouped || ![...groups.values()].includes(group)) {
      group.remove();
      continue;
    }
    group.hidden = ![...group.querySelectorAll(".card")].some((card) => !card.hidden);
  }
}

// --- actions --------------------------------------------------------------------

async function withBusy(name, label, action) {
  state.busy.set(name, label);
  const info = state.infos.get(name);
  if (info) updateCard(info);
  try {
    return await action();
  } finally {
    state.busy.delete(name);
    await refresh(name);
  }
}

async function connect(name) {
  await withBusy(name, "Connecting…", async () => {
    try {
      const info = await api("POST", `/connectors/${enc(name)}/connect`);
      state.infos.set(name, info);
    } catch (err) {
      // The card shows `error` or `configuring` with the reason itself
      // (and, for a sign-in, its "Sign in" button).
      if (!["start_failed", "needs_configuration", "sign_in_required", "sign_in_failed"].includes(err.code)) {
        showNotice(`${name}: ${err.message}`);
      }
      if (err.code === "needs_configuration") openDetails(name);
    }
  });
}

async function disconnect(name) {
  state.restarted.delete(name);
  await withBusy(name, "Disconnecting…", async () => {
    try {
      await api("POST", `/connectors/${enc(name)}/disconnect`);
    } catch (err) {
      showNotice(`${name}: ${err.message}`);
    }
  });
}

async function removeConnector(name) {
  if (!window.confirm(`Remove the connector “${name}”? It is disconnected first.`)) return;
  try {
    await api("DELETE", `/connectors/${enc(name)}`);
    announce(`${name} removed`);
  } catch (err) {
    showNotice(`${name}: ${err.message}`);
  }
  await refresh(name);
}

// --- events ------------------------------------------------------------------------

function setLive(stateName, text) {
  const live = $("#live");
  live.dataset.state = stateName;
  live.textContent = text;
}

function connectEvents() {
  const source = new EventSource(API + "/events");
  source.addEventListener("open", () => {
    setLive("live", "Live");
    // Anything missed while away is in the full state.
    loadAll().catch((err) => showNotice(err.message));
  });
  source.addEventListener("error", () => setLive("down", "Reconnecting…"));
  source.addEventListener("status", (event) => {
    const data = JSON.parse(event.data);
    const info = state.infos.get(data.connector);
    if (info) {
      info.status = data.new;
      info.error = ["error", "configuring"].includes(data.new) ? (data.reason || undefined) : undefined;
      updateCard(info);
      applySearch();
    }
    const display = (info && info.display_name) || data.connector;
    announce(`${display} is now ${data.new}`);
    refresh(data.connector);
  });
  source.addEventListener("tools_changed", (event) => {
    const data = JSON.parse(event.data);
    refresh(data.connector);
  });
  source.addEventListener("log", (event) => {
    const data = JSON.parse(event.data);
    appendLog(data.connector, data.line);
  });
  source.addEventListener("resync", () => {
    loadAll().catch((err) => showNotice(err.message));
  });
}

hooks.refresh = refresh;
hooks.withBusy = withBusy;
hooks.loadStats = loadStats;

// --- start -----------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#search").addEventListener("input", applySearch);
  $("#state-filter").addEventListener("change", applySearch);
  $("#group-toggle").addEventListener("change", applySearch);
  $("#notice-close").addEventListener("click", () => { $("#notice").hidden = true; });
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      $("#search").focus();
    }
  });
  setupAddDialog();
  loadAll().catch((err) => showNotice(err.message));
  connectEvents();
  setInterval(() => { if (!document.hidden) loadStats(); }, STATS_REFRESH_MS);
});
