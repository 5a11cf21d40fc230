// Switchboard dashboard, signing in to remote connectors (OAuth): the
// card's `auth` line (signed in, expires in, scopes, issuer), its "Sign in"
// and "Sign out" buttons, and the flow behind them — the same as
// `switchboard login NAME`: the service answers with the authorization
// page, this page opens it in a new tab, the browser comes back to the
// service, and the connector's events bring the card to `connected`.
import { $, api, announce, cardOf, el, enc, hooks, showNotice, state } from "./core.js";

const PREFIX = "waiting for sign-in at ";
// While a sign-in is under way, how often the card is re-read: a
// connector that stays connected meanwhile sends no status event.
const WATCH_MS = 1500;
const WATCH_LIMIT_MS = 10 * 60 * 1000;

const signInUrls = new Map(); // name -> the page of its sign-in under way

// The buttons and the line, added to a card when it is built.
export function authParts(name) {
  return {
    line: el("p", { class: "auth", hidden: true }),
    signIn: el("button", { type: "button", class: "act-signin", hidden: true, onclick: () => signIn(name) }, "Sign in"),
    signOut: el("button", { type: "button", class: "act-signout", hidden: true, onclick: () => signOut(name) }, "Sign out"),
  };
}

// Whether a `configuring` connector waits for a sign-in rather than starting.
export function waitsForSignIn(info) {
  return Boolean(info.auth) && info.status === "configuring" && Boolean(info.error) &&
    !(info.missing && info.missing.length);
}

function pageOf(info) {
  if (signInUrls.has(info.name)) return signInUrls.get(info.name);
  const reason = info.error || "";
  return reason.startsWith(PREFIX) ? reason.slice(PREFIX.length) : null;
}

function expiresIn(secs) {
  if (secs === undefined || secs === null) return null;
  if (secs <= 0) return "expired (refreshed at the next call)";
  if (secs < 90) return `expires in ${secs} s`;
  if (secs < 90 * 60) return `expires in ${Math.round(secs / 60)} min`;
  return `expires in ${Math.round(secs / 3600)} h`;
}

// Updates the auth line and the two buttons of `info`'s card.
export function renderAuth(card, info) {
  const line = $(".auth", card);
  const signInButton = $(".act-signin", card);
  const signOutButton = $(".act-signout", card);
  const auth = info.auth;
  if (!auth) {
    line.hidden = signInButton.hidden = signOutButton.hidden = true;
    return;
  }
  if (!auth.signing_in) signInUrls.delete(info.name);
  const waiting = waitsForSignIn(info);
  line.hidden = false;
  line.dataset.state = auth.signing_in ? "signing-in" : auth.signed_in ? "signed-in" : "signed-out";
  const page = auth.signing_in ? pageOf(info) : null;
  if (auth.signing_in) {
    line.replaceChildren("Waiting for the sign-in",
      page ? el("span", {}, ": ", el("a", { href: page, target: "_blank", rel: "noopener noreferrer", class: "signin-link" }, "open the sign-in page")) : null,
      ".");
  } else if (auth.signed_in) {
    const parts = ["Signed in", expiresIn(auth.expires_in_secs),
      auth.scopes && auth.scopes.length ? `scopes: ${auth.scopes.join(" ")}` : null,
      auth.issuer ? `issuer: ${auth.issuer}` : null].filter(Boolean);
    line.textContent = parts.join(" · ");
  } else {
    line.textContent = waiting ? `Not signed in: ${info.error}` : "Not signed in";
  }
  // "Sign in" where a sign-in is needed or held; a plain disconnected
  // connector signs in through Connect.
  signInButton.hidden = !(waiting || info.status === "error" || auth.signed_in || auth.signing_in);
  signInButton.textContent = auth.signed_in || auth.signing_in ? "Sign in again" : "Sign in";
  signInButton.classList.toggle("primary", waiting);
  signOutButton.hidden = !auth.signed_in;
}

async function signIn(name) {
  // The tab is opened in the click itself (a popup blocker lets that
  // through), cut off from this page, and sent to the page once known.
  const tab = window.open("about:blank", "_blank");
  if (tab) tab.opener = null;
  await hooks.withBusy(name, "Starting the sign-in…", async () => {
    try {
      const started = await api("POST", `/connectors/${enc(name)}/login`);
      signInUrls.set(name, started.url);
      state.infos.set(name, started.connector);
      if (tab) {
        tab.location.href = started.url;
        announce(`Sign in to ${name} in the new tab`);
      } else {
        announce(`Open the sign-in page of ${name} from its card`);
      }
      watch(name);
    } catch (err) {
      if (tab) tab.close();
      showNotice(`${name}: ${err.message}`);
    }
  });
}

async function signOut(name) {
  await hooks.withBusy(name, "Signing out…", async () => {
    try {
      const out = await api("POST", `/connectors/${enc(name)}/logout`);
      state.infos.set(name, out.connector);
      announce(out.revoked === "revoked" ? `${name}: signed out, its tokens revoked` : `${name}: signed out`);
    } catch (err) {
      showNotice(`${name}: ${err.message}`);
    }
  });
}

// Re-reads the card until its sign-in is over.
function watch(name) {
  const until = Date.now() + WATCH_LIMIT_MS;
  const tick = async () => {
    await hooks.refresh(name);
    const info = state.infos.get(name);
    if (info && info.auth && info.auth.signing_in && Date.now() < until && cardOf(name)) {
      setTimeout(tick, WATCH_MS);
    }
  };
  setTimeout(tick, WATCH_MS);
}
