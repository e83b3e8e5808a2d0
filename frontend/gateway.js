// singpass-gateway frontend kit: a dependency-free ES module for pages that log people in through the gateway.
//
//   import { providers, login, me, logout, takeLoginError, errorMessage } from "./gateway.js";
//
// The four calls talk to the gateway at this page's origin. A page on another origin of the same site calls
// `configure({ baseUrl: "https://api.example.com" })` first (the gateway must list that origin in
// GATEWAY_ALLOWED_ORIGINS); requests then carry `credentials: "include"` instead of "same-origin".
// Every data request carries the `X-CSRF: 1` header the gateway requires.

/**
 * What a person is told for each stable error code the gateway sends (as `?error=<code>` after a failed login,
 * or as `{"error": "<code>"}` from the API), plus two of the kit's own: `network_error` (no answer at all) and
 * `unknown_error` (an answer the kit cannot read, or a code it does not know). The single list: a unit test
 * fails when the gateway gains a code without a message here.
 * @type {Readonly<Record<string, string>>}
 */
export const ERROR_MESSAGES = Object.freeze({
  access_denied: "The login was cancelled, or permission to share your details was not given.",
  login_expired: "The login took too long and has expired. Please try again.",
  invalid_state: "We could not match this login to your browser. Please start the login again from this page.",
  invalid_callback: "The answer from the login provider was incomplete. Please try again.",
  provider_error: "The login provider reported a problem. Please try again later.",
  provider_maintenance: "The login provider is down for maintenance. Please try again later.",
  provider_unavailable: "The login provider could not be reached. Please try again in a few minutes.",
  token_rejected: "The login provider did not accept the request to complete your login. Please try again.",
  request_unauthorized:
    "The login provider did not accept this service's request. Please try again; if it keeps happening, contact us.",
  request_forbidden: "This service is not set up to receive these details from the login provider. Please contact us.",
  no_myinfo_profile: "Myinfo has no profile for you yet. New Singpass accounts get one within a day.",
  insufficient_assurance:
    "This service needs a stronger login than the one used (for example with the Singpass app). Please log in again.",
  invalid_token: "We could not verify the identity the login provider returned. Please try again.",
  person_data_too_large:
    "Your details from the login provider are more than this service can keep, so the login failed. Please contact us.",
  invalid_request: "The request was malformed. Please start again from this page.",
  invalid_return_to: "This login was asked to return somewhere outside this site, so it was stopped.",
  unknown_provider: "That login option is not available. Please choose another.",
  not_authenticated: "You are not logged in, or your session has ended. Please log in again.",
  csrf_rejected: "This page is not allowed to use the login service. Please contact us.",
  navigation_required: "A login must open as a page of its own, not inside another page. Please use a login button.",
  direct_access_refused: "This address cannot be used directly. Please open the service from its website.",
  service_unavailable: "The service is temporarily unavailable. Please try again in a few minutes.",
  internal_error: "Something went wrong on our side. Please try again later.",
  network_error: "We could not reach the service. Check your internet connection and try again.",
  unknown_error: "Something unexpected went wrong. Please try again.",
});

/**
 * The message for `code`; codes this kit does not know get `unknown_error`'s.
 * @param {string} code
 * @returns {string}
 */
export function errorMessage(code) {
  return Object.hasOwn(ERROR_MESSAGES, code) ? ERROR_MESSAGES[code] : ERROR_MESSAGES.unknown_error;
}

/** A failed gateway call: `code` is the gateway's stable code (or `network_error` / `unknown_error`). */
export class GatewayError extends Error {
  /**
   * @param {string} code
   * @param {{status?: number, cause?: unknown}} [details] `status`: the HTTP status (0 without an answer)
   */
  constructor(code, { status = 0, cause } = {}) {
    super(errorMessage(code), cause === undefined ? undefined : { cause });
    this.name = "GatewayError";
    /** @type {string} */
    this.code = code;
    /** @type {number} */
    this.status = status;
  }
}

/**
 * @typedef {{id: string, name: string}} Provider
 * @typedef {{
 *   provider: string,
 *   sub: string,
 *   person: Record<string, unknown>,
 *   authentication: {acr?: string, amr?: string[]},
 *   provenance?: Record<string, {source?: string, classification?: string, lastupdated?: string}>,
 *   entity?: {id: string, type?: string, registration_number?: string, coi?: string, name?: string,
 *     uen_status?: string} & Record<string, unknown>,
 *   act?: {sub: string},
 *   authorisations?: Authorisation[],
 *   access?: {scopes: string[], permissions: string[]},
 * }} Session
 * A login on behalf of an entity (Corppass) adds `entity` (`sub` is then the entity's id), `act` (the acting
 * user, whose details are `person`) and `authorisations`; a person logging in for themselves has none of them.
 * A plain OAuth 2.0 provider's login (`oauth2`) adds `access`: the scopes and permissions its access token grants,
 * kept apart from `person` (`permissions` empty when the token has none).
 * @typedef {{
 *   eservice: string, role: string | null, entity: string | null, start: string | null,
 *   end: string | null, parameters: Record<string, unknown>, third_party: boolean, missing?: string[],
 * }} Authorisation
 * `end` is null for an authorisation without an end date; `missing` names fields Corppass marks as not set.
 * @typedef {{
 *   baseUrl: string,
 *   providers: () => Promise<Provider[]>,
 *   login: (provider: string, returnTo?: string) => void,
 *   me: (options?: {refresh?: boolean}) => Promise<Session | null>,
 *   logout: () => Promise<void>,
 * }} Gateway
 */

/**
 * A client for the gateway at `baseUrl` ("" or omitted: this page's origin).
 * @param {{baseUrl?: string}} [options]
 * @returns {Gateway}
 */
export function createGateway({ baseUrl = "" } = {}) {
  const base = baseUrl.replace(/\/+$/, "");
  const crossOrigin = base !== "" && new URL(base, location.href).origin !== location.origin;
  const credentials = crossOrigin ? "include" : "same-origin";

  /** @param {string} method @param {string} path @returns {Promise<Response>} */
  async function send(method, path) {
    try {
      return await fetch(base + path, {
        method,
        credentials,
        cache: "no-store",
        headers: { "X-CSRF": "1", Accept: "application/json" },
      });
    } catch (cause) {
      throw new GatewayError("network_error", { cause });
    }
  }

  return {
    baseUrl: base,

    async providers() {
      const list = await json(await checked(await send("GET", "/api/providers")));
      if (!Array.isArray(list)) throw new GatewayError("unknown_error");
      return list;
    },

    login(provider, returnTo = location.pathname + location.search) {
      location.assign(
        `${base}/auth/${encodeURIComponent(provider)}/login?return_to=${encodeURIComponent(relativePath(returnTo))}`,
      );
    },

    async me({ refresh = false } = {}) {
      const response = await send("GET", refresh ? "/api/me?refresh=true" : "/api/me");
      if (response.status === 401) return null; // not_authenticated: no session, not a failure
      return json(await checked(response));
    },

    async logout() {
      await checked(await send("POST", "/auth/logout"));
    },
  };
}

/** The response if it succeeded; otherwise its JSON error body's code as a GatewayError. */
async function checked(response) {
  if (response.ok) return response;
  let code = "unknown_error";
  try {
    const body = await response.json();
    if (body && typeof body.error === "string" && /^[a-z_]{1,64}$/.test(body.error)) code = body.error;
  } catch {
    // not the gateway's JSON: unknown_error
  }
  throw new GatewayError(code, { status: response.status });
}

/** The body of a successful answer (unreadable JSON: `unknown_error`). */
async function json(response) {
  try {
    return await response.json();
  } catch (cause) {
    throw new GatewayError("unknown_error", { status: response.status, cause });
  }
}

/** A path on the frontend: the gateway refuses anything else (`invalid_return_to`), so fall back to "/". */
function relativePath(path) {
  return typeof path === "string" && path.startsWith("/") && !/^\/[/\\]/.test(path) ? path : "/";
}

let gateway = createGateway();

/**
 * Point the module's functions at a gateway on another origin (or back at this one with `{}`).
 * @param {{baseUrl?: string}} options
 * @returns {Gateway}
 */
export function configure(options) {
  gateway = createGateway(options);
  return gateway;
}

/** The configured login providers, for the page's buttons. @returns {Promise<Provider[]>} */
export const providers = () => gateway.providers();

/**
 * Start a login: the browser leaves for the provider and comes back to `returnTo` (a path on this site;
 * default: the current page), with `?error=<code>` added when the login failed (see `takeLoginError`).
 * @param {string} provider a provider id from `providers()`
 * @param {string} [returnTo]
 */
export const login = (provider, returnTo) => gateway.login(provider, returnTo);

/**
 * The logged-in person, or null without a session. `refresh: true` asks the gateway to re-read the data from
 * the provider first (where the provider allows it).
 * @param {{refresh?: boolean}} [options]
 * @returns {Promise<Session | null>}
 */
export const me = (options) => gateway.me(options);

/** End the session (also fine without one). @returns {Promise<void>} */
export const logout = () => gateway.logout();

/**
 * The code a failed login left in the address bar (`?error=<code>`), or null; it is removed from the address
 * bar (without a reload or a new history entry) so a reload or a bookmark does not show it again.
 * @returns {string | null}
 */
export function takeLoginError() {
  const url = new URL(location.href);
  if (!url.searchParams.has("error")) return null;
  const code = url.searchParams.get("error") ?? "";
  url.searchParams.delete("error");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return code;
}
