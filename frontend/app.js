// Page logic for the singpass-gateway demo.
// Everything is rendered with DOM nodes and textContent: no value received
// from the server or the address bar is ever parsed as HTML.
import * as gateway from "./gateway.js";

const LOGIN_ERRORS = new Map([
  ["access_denied", "The login was cancelled, or permission to share your details was not given."],
  ["login_expired", "The login took too long and has expired. Please try again."],
  ["invalid_state", "We could not match this login to your browser session. Please start the login again from this page."],
  ["invalid_callback", "The response from the login provider was incomplete or invalid. Please try again."],
  ["provider_error", "The login provider reported a problem. Please try again later."],
  ["provider_unavailable", "The login provider could not be reached. Please try again in a few minutes."],
  ["provider_maintenance", "The login provider is down for maintenance. Please try again later."],
  ["no_myinfo_profile", "MyInfo has no profile for you yet. New Singpass accounts get one within a day."],
  ["request_unauthorized", "The login provider did not accept this service's request. Please try again; if it keeps happening, contact us."],
  ["request_forbidden", "This service is not set up to receive these details from the login provider. Please contact us."],
  ["token_rejected", "The login provider did not accept the request to complete your login. Please try again."],
  ["invalid_token", "We could not verify the identity returned by the login provider. Please try again."],
  ["internal_error", "Something went wrong on our side. Please try again later."],
]);
const GENERIC_LOGIN_ERROR = "The login did not succeed. Please try again.";
const MAX_CODE_LENGTH = 100;
const MAX_DEPTH = 32;

const $ = (id) => document.getElementById(id);
const ui = {
  main: $("main"),
  error: $("error"),
  errorMessage: $("error-message"),
  errorCodeLine: $("error-code-line"),
  errorCode: $("error-code"),
  loading: $("loading"),
  loadingText: $("loading-text"),
  login: $("login"),
  loginTitle: $("login-title"),
  providers: $("providers"),
  noProviders: $("no-providers"),
  profile: $("profile"),
  profileTitle: $("profile-title"),
  provider: $("provider"),
  sub: $("sub"),
  person: $("person"),
  personEmpty: $("person-empty"),
  logout: $("logout"),
  unavailable: $("unavailable"),
  unavailableTitle: $("unavailable-title"),
  unavailableMessage: $("unavailable-message"),
  retry: $("retry"),
};

/** Providers from the last successful GET /api/providers. */
let knownProviders = null;
/** Incremented on every (re)load so that a stale response never overwrites a newer view. */
let generation = 0;

// ---------------------------------------------------------------------------
// Small DOM helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showView(view) {
  for (const section of [ui.login, ui.profile, ui.unavailable]) {
    section.hidden = section !== view;
  }
}

function setLoading(text) {
  ui.loading.hidden = !text;
  ui.loadingText.textContent = text || "";
  ui.main.setAttribute("aria-busy", text ? "true" : "false");
}

function showError(message, code) {
  ui.errorMessage.textContent = message;
  ui.errorCode.textContent = code || "";
  ui.errorCodeLine.hidden = !code;
  ui.error.hidden = false;
}

function clearError() {
  ui.error.hidden = true;
  ui.errorMessage.textContent = "";
  ui.errorCode.textContent = "";
}

/** A friendly sentence (and optional short code) for a failed gateway call. */
function describeFailure(err, doing) {
  if (err instanceof gateway.GatewayError) {
    if (err.kind === "network") {
      return {
        message: `Could not reach the server while ${doing}. Check your internet connection and try again.`,
        code: "",
      };
    }
    if (err.kind === "http") {
      return {
        message: `The server had a problem while ${doing}. Please try again in a moment.`,
        code: `HTTP ${err.status}`,
      };
    }
    return {
      message: `The server sent a response this page could not understand while ${doing}.`,
      code: "",
    };
  }
  return { message: `Something unexpected went wrong while ${doing}.`, code: "" };
}

// ---------------------------------------------------------------------------
// ?error=<code> handling

function takeLoginErrorFromUrl() {
  const url = new URL(location.href);
  if (!url.searchParams.has("error")) return null;
  const code = url.searchParams.get("error") || "";
  url.searchParams.delete("error");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return code;
}

function showLoginError(code) {
  const message = LOGIN_ERRORS.get(code) ?? GENERIC_LOGIN_ERROR;
  const shown = code.length > MAX_CODE_LENGTH ? code.slice(0, MAX_CODE_LENGTH) + "…" : code;
  showError(message, shown || "unknown");
}

// ---------------------------------------------------------------------------
// Rendering person attribute values (strings, numbers, null, arrays, objects)

function renderValue(value, depth = 0) {
  if (value === null || value === undefined) {
    return el("span", "value-na", "Not available");
  }
  if (depth >= MAX_DEPTH) {
    return el("span", "value-text", JSON.stringify(value));
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return el("span", "value-na", "None");
    const list = el("ul", "value-list");
    for (const item of value) {
      const li = el("li");
      li.append(renderValue(item, depth + 1));
      list.append(li);
    }
    return list;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return el("span", "value-na", "None");
    const list = el("ul", "value-object");
    for (const [key, item] of entries) {
      const li = el("li");
      li.append(el("span", "value-key", key), renderValue(item, depth + 1));
      list.append(li);
    }
    return list;
  }
  if (typeof value === "string") {
    return value === "" ? el("span", "value-na", "(empty)") : el("span", "value-text", value);
  }
  return el("span", "value-text", String(value));
}

function renderProfile(session) {
  const providerId = String(session.provider ?? "");
  const known = knownProviders?.find((p) => p && p.id === providerId);
  ui.provider.replaceChildren();
  if (known && known.name) {
    ui.provider.append(known.name, " ", el("code", "muted-code", providerId));
  } else {
    ui.provider.append(el("code", "", providerId || "unknown"));
  }
  ui.sub.textContent = String(session.sub ?? "");

  const person =
    session.person && typeof session.person === "object" && !Array.isArray(session.person)
      ? session.person
      : {};
  const rows = [];
  for (const [name, value] of Object.entries(person)) {
    const dt = el("dt", "", name);
    const dd = el("dd");
    dd.append(renderValue(value));
    rows.push(dt, dd);
  }
  ui.person.replaceChildren(...rows);
  ui.person.hidden = rows.length === 0;
  ui.personEmpty.hidden = rows.length !== 0;

  ui.logout.disabled = false;
  showView(ui.profile);
}

function clearProfile() {
  ui.provider.replaceChildren();
  ui.sub.textContent = "";
  ui.person.replaceChildren();
}

function renderLogin(list) {
  const buttons = [];
  for (const p of list) {
    if (!p || typeof p.id !== "string") continue;
    const name = typeof p.name === "string" && p.name ? p.name : p.id;
    const button = el("button", "button button-primary", `Log in with ${name}`);
    button.type = "button";
    button.dataset.provider = p.id;
    button.addEventListener("click", () => startLogin(p.id, name));
    buttons.push(button);
  }
  ui.providers.replaceChildren(...buttons);
  ui.noProviders.hidden = buttons.length !== 0;
  showView(ui.login);
}

function renderUnavailable(err, doing) {
  const { message, code } = describeFailure(err, doing);
  showError(message, code);
  ui.unavailableMessage.textContent =
    "The login service did not respond as expected. Your connection may be offline, or the service may be temporarily down.";
  showView(ui.unavailable);
}

// ---------------------------------------------------------------------------
// Flows

async function load({ focus } = {}) {
  const current = ++generation;
  showView(null);
  setLoading("Loading…");
  // Both requests start at once; the provider list is needed to log in, and
  // gives the provider's display name when already logged in.
  const providersRequest = gateway.providers();
  providersRequest.catch(() => {}); // handled below; avoid unhandled-rejection noise
  try {
    const session = await gateway.me();
    if (session) {
      try {
        knownProviders = await providersRequest;
      } catch {
        // Only used for a nicer label; the id is shown instead.
      }
      if (current !== generation) return;
      renderProfile(session);
      if (focus) ui.profileTitle.focus();
    } else {
      const list = await providersRequest;
      knownProviders = list;
      if (current !== generation) return;
      renderLogin(list);
      if (focus) ui.loginTitle.focus();
    }
  } catch (err) {
    if (current !== generation) return;
    console.error(err);
    renderUnavailable(err, "loading this page");
    if (focus) ui.unavailableTitle.focus();
  } finally {
    if (current === generation) setLoading("");
  }
}

function startLogin(providerId, name) {
  clearError();
  for (const button of ui.providers.querySelectorAll("button")) button.disabled = true;
  setLoading(`Redirecting to ${name}…`);
  gateway.login(providerId, location.pathname);
}

async function doLogout() {
  const current = ++generation;
  clearError();
  ui.logout.disabled = true;
  showView(null);
  setLoading("Logging out…");
  try {
    await gateway.logout();
  } catch (err) {
    if (current !== generation) return;
    console.error(err);
    const { message, code } = describeFailure(err, "logging out");
    showError(`${message} You are still logged in.`, code);
    ui.logout.disabled = false;
    showView(ui.profile);
    setLoading("");
    ui.logout.focus();
    return;
  }
  clearProfile();
  if (knownProviders) {
    setLoading("");
    renderLogin(knownProviders);
    ui.loginTitle.focus();
  } else {
    await load({ focus: true });
  }
}

// ---------------------------------------------------------------------------
// Start-up

ui.logout.addEventListener("click", doLogout);
ui.retry.addEventListener("click", () => {
  clearError();
  load({ focus: true });
});

// Coming back with the Back button restores a frozen page (bfcache) that may
// still say "Redirecting…": start over.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) {
    clearError();
    load();
  }
});

const loginError = takeLoginErrorFromUrl();
if (loginError !== null) showLoginError(loginError);
load();
