// Switchboard dashboard, shared pieces: the API client, element helpers,
// notices and the state every part reads. Plain JavaScript modules over the
// public API (/api/v1); the cookie set by the token swap authenticates.

export const API = "/api/v1";
export const LOG_LINES_IN_ERROR = 12;
export const LOG_LINES_IN_DETAILS = 60;

export const state = {
  infos: new Map(), // name -> ConnectorInfo, in list order
  order: [],
  busy: new Map(), // name -> label of the action running
  restarted: new Map(), // name -> { text, until }: a settings change restarted it
  stats: new Map(), // name -> its calls of the last day (GET /stats)
};

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// --- API --------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401) showNotice("The dashboard's session ended: run `switchboard open` again.");
    const message = (data && data.message) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, data && data.code, message);
  }
  return data;
}

export const enc = encodeURIComponent;

// --- notices ----------------------------------------------------------------

export function showNotice(text) {
  $("#notice-text").textContent = text;
  $("#notice").hidden = false;
}

export function announce(text) {
  const node = $("#announcer");
  node.textContent = "";
  // A fresh node each time, so screen readers repeat equal messages.
  requestAnimationFrame(() => { node.textContent = text; });
}


export function cardOf(name) {
  return document.getElementById(cardId(name));
}

export function cardId(name) {
  return "card-" + name;
}


// Set by app.js: re-reads one connector and updates its card. (Panels call
// it; a hook rather than an import keeps the modules acyclic.)
export const hooks = {
  refresh: async (_name) => {},
  // Runs an action with the card marked busy, then re-reads it.
  withBusy: async (_name, _label, action) => action(),
  // Re-reads the call figures of every card.
  loadStats: async () => {},
};
