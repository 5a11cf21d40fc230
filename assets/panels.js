// Switchboard dashboard, the panels: a connector's details (config form,
// tools with their schemas and a "try it" form, its log) and the dialog
// that adds a connector.
import {
  $, api, announce, cardId, cardOf, el, enc, hooks, state,
  LOG_LINES_IN_DETAILS, LOG_LINES_IN_ERROR,
} from "./core.js";

// --- details: config, tools, log --------------------------------------------------

export function toggleDetails(name) {
  const card = cardOf(name);
  const details = $(".details", card);
  if (details.hidden) openDetails(name);
  else {
    details.hidden = true;
    card.classList.remove("expanded");
    $(".act-details", card).setAttribute("aria-expanded", "false");
  }
}

export function openDetails(name) {
  const card = cardOf(name);
  if (!card) return;
  const details = $(".details", card);
  details.hidden = false;
  card.classList.add("expanded");
  $(".act-details", card).setAttribute("aria-expanded", "true");
  loadConfig(name);
  loadTools(name);
  loadLog(name);
}

async function loadConfig(name) {
  const body = $(".config-body", cardOf(name));
  let fields;
  try {
    fields = await api("GET", `/connectors/${enc(name)}/config`);
  } catch (err) {
    body.replaceChildren(el("p", { class: "form-status bad" }, err.message));
    return;
  }
  if (!fields.length) {
    body.replaceChildren(el("p", { class: "form-status" }, "Nothing to configure."));
    return;
  }
  const status = el("p", { class: "form-status", role: "status" });
  const form = el("form", { class: "config-form", novalidate: true });
  fields.forEach((field, index) => {
    const inputId = `${cardId(name)}-field-${index}`;
    const hintId = inputId + "-hint";
    const input = el("input", {
      id: inputId,
      name: field.name,
      type: field.secret ? "password" : "text",
      autocomplete: field.secret ? "new-password" : "off",
      spellcheck: "false",
      "aria-describedby": hintId,
      placeholder: field.secret ? (field.set ? "•••••• (set; type to replace)" : "") : (field.default || ""),
    });
    if (!field.secret && field.value !== undefined && field.value !== null) input.value = field.value;
    input.dataset.initial = input.value;
    input.required = Boolean(field.required && !field.set);
    form.append(el("div", { class: "field" },
      el("label", { for: inputId },
        field.name,
        field.required ? el("span", { class: "req", title: "required" }, " *") : null,
        field.set ? el("span", { class: "set" }, "set") : null),
      input,
      el("span", { class: "hint", id: hintId }, field.description || "")));
  });
  form.append(el("div", { class: "form-row" }, el("button", { type: "submit", class: "primary" }, "Save"), status));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = {};
    for (const input of form.querySelectorAll("input")) {
      // Secrets are sent only when typed; an untouched field keeps its value.
      if (input.value !== input.dataset.initial && input.value !== "") values[input.name] = input.value;
    }
    if (!Object.keys(values).length) {
      status.className = "form-status";
      status.textContent = "Nothing changed.";
      return;
    }
    status.className = "form-status";
    status.textContent = "Saving…";
    try {
      const answer = await api("PUT", `/connectors/${enc(name)}/config`, { values });
      // A running connector restarts to take a change (the answer says
      // so); the card keeps a badge until it stops.
      const saved = answer && answer.restarted
        ? "Saved; it restarted to use the new values."
        : "Saved. Connect to use the new values.";
      if (answer && answer.restarted) {
        const shownFor = 60000;
        state.restarted.set(name, { text: "restarted with new settings", until: Date.now() + shownFor });
        setTimeout(() => hooks.refresh(name), shownFor + 100);
      }
      status.textContent = saved;
      await loadConfig(name);
      $(".config-body .form-status", cardOf(name)).textContent = saved;
      await hooks.refresh(name);
    } catch (err) {
      status.className = "form-status bad";
      status.textContent = err.message;
    }
  });
  body.replaceChildren(form);
}

export async function loadTools(name) {
  const card = cardOf(name);
  if (!card) return;
  const body = $(".tools-body", card);
  const title = $(".tools-title", card);
  const info = state.infos.get(name);
  if (!info || info.status !== "connected") {
    title.textContent = "Tools";
    body.replaceChildren(el("p", { class: "form-status" }, "Connect to see its tools."));
    body.dataset.loaded = "";
    return;
  }
  let list;
  try {
    list = await api("GET", `/connectors/${enc(name)}/tools`);
  } catch (err) {
    body.replaceChildren(el("p", { class: "form-status bad" }, err.message));
    return;
  }
  const signature = JSON.stringify(list.tools.map((t) => t.name)) + JSON.stringify(list.disabled);
  if (body.dataset.loaded === signature) return; // keep open forms and results
  body.dataset.loaded = signature;
  title.textContent = `Tools (${list.tools.length})`;
  body.replaceChildren(...list.tools.map((tool, index) => toolView(name, tool, index, list.disabled.includes(tool.name))));
}

function skeleton(schema) {
  const out = {};
  const props = (schema && schema.properties) || {};
  const required = new Set((schema && schema.required) || []);
  const names = Object.keys(props).sort((a, b) => Number(required.has(b)) - Number(required.has(a)));
  for (const key of names) {
    const prop = props[key] || {};
    if (!required.has(key) && prop.default === undefined) continue;
    if (prop.default !== undefined) out[key] = prop.default;
    else if (Array.isArray(prop.enum) && prop.enum.length) out[key] = prop.enum[0];
    else {
      const type = Array.isArray(prop.type) ? prop.type[0] : prop.type;
      out[key] = { string: "", number: 0, integer: 0, boolean: false, array: [], object: {} }[type] ?? null;
    }
  }
  return out;
}

function toolView(connector, tool, index, disabled) {
  const id = `${cardId(connector)}-tool-${index}`;
  const args = el("textarea", { id: id + "-args", class: "code", rows: "4", spellcheck: "false" });
  args.value = JSON.stringify(skeleton(tool.inputSchema), null, 2);
  const result = el("pre", { class: "tool-result", hidden: true, tabindex: "0", "aria-live": "polite", "aria-label": "Result" });
  const status = el("span", { class: "form-status", role: "status" });
  const button = el("button", { type: "submit", class: "primary" }, "Call");
  const form = el("form", { class: "try-form" },
    el("div", { class: "field" }, el("label", { for: id + "-args" }, "Arguments (JSON)"), args),
    el("div", { class: "form-row" }, button, status),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let parsed;
    try {
      parsed = args.value.trim() ? JSON.parse(args.value) : {};
    } catch (err) {
      status.className = "form-status bad";
      status.textContent = `Not JSON: ${err.message}`;
      return;
    }
    button.disabled = true;
    status.className = "form-status";
    status.replaceChildren(el("span", { class: "spinner", "aria-hidden": "true" }), " Calling…");
    try {
      const outcome = await api("POST", `/connectors/${enc(connector)}/tools/${enc(tool.name)}/call`, { arguments: parsed });
      result.hidden = false;
      result.dataset.error = String(Boolean(outcome.isError));
      result.textContent = renderResult(outcome);
      status.textContent = outcome.isError ? "The tool reported an error." : "Done.";
      status.className = outcome.isError ? "form-status bad" : "form-status";
    } catch (err) {
      result.hidden = false;
      result.dataset.error = "true";
      result.textContent = err.message;
      status.className = "form-status bad";
      status.textContent = "The call failed.";
    } finally {
      button.disabled = false;
      hooks.loadStats(); // the card's figures count this call
    }
  });
  return el("details", { class: disabled ? "tool disabled" : "tool" },
    el("summary", {}, el("code", {}, tool.name), disabled ? " (disabled)" : "", tool.description ? el("span", { class: "tool-desc" }, " — " + tool.description) : null),
    el("div", { class: "tool-body" },
      el("p", { class: "hint" }, "Input schema"),
      el("pre", { tabindex: "0" }, JSON.stringify(tool.inputSchema || {}, null, 2)),
      form));
}

function renderResult(outcome) {
  const parts = [];
  for (const item of outcome.content || []) {
    if (item.type === "text") parts.push(item.text);
    else if (item.type === "image") parts.push(`[image ${item.mimeType || ""}, ${(item.data || "").length} base64 characters]`);
    else parts.push(JSON.stringify(item, null, 2));
  }
  if (outcome.structuredContent !== undefined) parts.push(JSON.stringify(outcome.structuredContent, null, 2));
  return parts.join("\n\n") || JSON.stringify(outcome, null, 2);
}

async function loadLog(name) {
  const card = cardOf(name);
  if (!card) return;
  try {
    const logs = await api("GET", `/connectors/${enc(name)}/logs?lines=${LOG_LINES_IN_DETAILS}`);
    const pre = $(".log", card);
    pre.textContent = logs.lines.join("\n") || "(empty)";
    pre.scrollTop = pre.scrollHeight;
  } catch (err) {
    $(".log", card).textContent = err.message;
  }
}

// The poller delivers lines a moment after they are written, so a line
// may already be in a tail just fetched: skip it if the window has it.
function appendTo(pre, line, keep) {
  const lines = pre.textContent.split("\n").filter((l) => l && l !== "(empty)");
  if (lines.slice(-keep).includes(line)) return;
  lines.push(line);
  pre.textContent = lines.slice(-keep).join("\n");
  pre.scrollTop = pre.scrollHeight;
}

export function appendLog(name, line) {
  const card = cardOf(name);
  if (!card) return;
  if (!$(".details", card).hidden) appendTo($(".log", card), line, LOG_LINES_IN_DETAILS);
  const problem = $(".problem", card);
  if (!problem.hidden) {
    const pre = $(".problem-log", card);
    appendTo(pre, line, LOG_LINES_IN_ERROR);
    pre.hidden = false;
  }
}

// --- add dialog ------------------------------------------------------------------

const TARGET_LABELS = { command: ["Command to run", "npx"], image: ["Image to run", "mcp/everything"], url: ["Server URL", "http://127.0.0.1:3001/mcp"] };

export function setupAddDialog() {
  const dialog = $("#add-dialog");
  const form = $("#add-form");
  const error = $(".form-error", form);
  const syncKind = () => {
    const kind = form.elements.kind.value;
    $("#target-label").textContent = TARGET_LABELS[kind][0];
    form.elements.target.placeholder = TARGET_LABELS[kind][1];
    for (const node of form.querySelectorAll(".for-local")) node.hidden = kind === "url";
    for (const node of form.querySelectorAll(".for-remote")) node.hidden = kind !== "url";
  };
  for (const radio of form.querySelectorAll("input[name=kind]")) radio.addEventListener("change", syncKind);
  $("#add-open").addEventListener("click", () => {
    form.reset();
    error.textContent = "";
    syncKind();
    dialog.showModal();
    form.elements.name.focus();
  });
  $("#add-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const name = f.name.value.trim();
    const target = f.target.value.trim();
    if (!name || !target) {
      error.textContent = !name ? "Give the connector a name." : `Fill in “${TARGET_LABELS[f.kind.value][0]}”.`;
      (!name ? f.name : f.target).focus();
      return;
    }
    const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);
    const body = { name };
    body[f.kind.value] = target;
    if (f.kind.value === "url") {
      if (f.transport.value) body.transport = f.transport.value;
      body.headers = lines(f.headers.value);
    } else {
      body.args = lines(f.args.value);
      body.env = lines(f.env.value);
    }
    error.textContent = "";
    try {
      const info = await api("POST", "/connectors", body);
      dialog.close();
      await hooks.refresh(info.name);
      announce(`${info.name} added`);
      cardOf(info.name)?.scrollIntoView({ block: "nearest" });
      $(".act-connect", cardOf(info.name))?.focus();
    } catch (err) {
      error.textContent = err.message;
    }
  });
}
