// Tiny client for the singpass-gateway backend (served from the same origin).
//
// Every /api/* request and the logout POST carry `X-CSRF: 1` and use
// `credentials: "same-origin"`, as the backend requires.

/** Error thrown for any failure other than "not logged in". */
export class GatewayError extends Error {
  /**
   * @param {string} message
   * @param {{kind: "network" | "http" | "parse", status?: number, cause?: unknown}} details
   *   kind "network": the request never got a response (offline, DNS, server down);
   *   kind "http": the server answered with an unexpected status (see `status`);
   *   kind "parse": the response body was not the JSON we expected.
   */
  constructor(message, { kind, status = 0, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "GatewayError";
    this.kind = kind;
    this.status = status;
  }
}

async function send(method, path) {
  try {
    return await fetch(path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-CSRF": "1", Accept: "application/json" },
    });
  } catch (err) {
    throw new GatewayError(`${method} ${path} failed: network error`, {
      kind: "network",
      cause: err,
    });
  }
}

function httpError(method, path, res) {
  return new GatewayError(`${method} ${path} returned HTTP ${res.status}`, {
    kind: "http",
    status: res.status,
  });
}

async function readJson(path, res) {
  try {
    return await res.json();
  } catch (err) {
    throw new GatewayError(`${path} did not return valid JSON`, {
      kind: "parse",
      status: res.status,
      cause: err,
    });
  }
}

/** Only same-site relative paths ("/x", not "//host" or "/\host") may be used. */
function safeReturnTo(path) {
  if (typeof path !== "string" || !path.startsWith("/") || /^\/[/\\]/.test(path)) {
    return "/";
  }
  return path;
}

/**
 * List the configured login providers.
 * @returns {Promise<Array<{id: string, name: string}>>}
 */
export async function providers() {
  const path = "/api/providers";
  const res = await send("GET", path);
  if (!res.ok) throw httpError("GET", path, res);
  const data = await readJson(path, res);
  if (!Array.isArray(data)) {
    throw new GatewayError(`${path} did not return a list`, { kind: "parse", status: res.status });
  }
  return data;
}

/**
 * Start a login: a full-page navigation to the backend, which redirects to the
 * provider and eventually back to `returnTo` (with `?error=<code>` on failure).
 * @param {string} providerId
 * @param {string} [returnTo] relative path on this site; defaults to the current path
 */
export function login(providerId, returnTo = location.pathname) {
  location.assign(
    "/auth/" + encodeURIComponent(providerId) +
      "/login?return_to=" + encodeURIComponent(safeReturnTo(returnTo)),
  );
}

/**
 * The current session.
 * @returns {Promise<null | {provider: string, sub: string, person: Record<string, unknown>}>}
 *   the session JSON, or null when not logged in (HTTP 401).
 */
export async function me() {
  const path = "/api/me";
  const res = await send("GET", path);
  if (res.status === 401) return null;
  if (!res.ok) throw httpError("GET", path, res);
  return readJson(path, res);
}

/** End the session (the backend expires the session cookie). */
export async function logout() {
  const path = "/auth/logout";
  const res = await send("POST", path);
  if (!res.ok) throw httpError("POST", path, res);
}
