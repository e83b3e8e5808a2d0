// The demo page: provider buttons, the logged-in person's data as a card, a message for every error, logout.
// Everything is rendered with DOM nodes and textContent: nothing from the server or the address bar is ever
// parsed as HTML.
import * as gateway from "./gateway.js";

const $ = (id) => document.getElementById(id);
const ui = {
  main: $("main"),
  error: $("error"),
  errorMessage: $("error-message"),
  errorCode: $("error-code"),
  loading: $("loading"),
  loadingText: $("loading-text"),
  login: $("login"),
  loginTitle: $("login-title"),
  loggedOut: $("logged-out"),
  providers: $("providers"),
  noProviders: $("no-providers"),
  profile: $("profile"),
  profileName: $("profile-name"),
  provider: $("provider"),
  nricRow: $("nric-row"),
  nric: $("nric"),
  nricProvenance: $("nric-provenance"),
  reveal: $("reveal"),
  entity: $("entity"),
  entityName: $("entity-name"),
  entityDetails: $("entity-details"),
  authorisations: $("authorisations"),
  authorisationsEmpty: $("authorisations-empty"),
  actLabel: $("act-label"),
  actValue: $("act-value"),
  act: $("act"),
  details: $("details"),
  detailsEmpty: $("details-empty"),
  provenanceNote: $("provenance-note"),
  providerId: $("provider-id"),
  sub: $("sub"),
  authentication: $("authentication"),
  refresh: $("refresh"),
  logout: $("logout"),
  unavailable: $("unavailable"),
  unavailableTitle: $("unavailable-title"),
  retry: $("retry"),
};

const MAX_SHOWN_CODE = 64;
const MAX_DEPTH = 8;

// ---------------------------------------------------------------------------------------------- person data

/** Attribute names as MyInfo, Singpass and OIDC send them (sgID's lose their `myinfo.` prefix first). */
const NAME_KEYS = ["name", "aliasname", "hanyupinyinname"];
const NRIC_KEYS = ["uinfin", "nric_number"];
const ADDRESS_KEYS = new Set(["regadd", "registered_address", "address"]);
const LABELS = new Map([
  ["dob", "Date of birth"],
  ["date_of_birth", "Date of birth"],
  ["birthdate", "Date of birth"],
  ["sex", "Sex"],
  ["gender", "Gender"],
  ["nationality", "Nationality"],
  ["race", "Race"],
  ["residentialstatus", "Residential status"],
  ["residential_status", "Residential status"],
  ["birthcountry", "Country of birth"],
  ["birth_country", "Country of birth"],
  ["identity_coi", "Country of issuance"],
  ["account_type", "Singpass account type"],
  ["email", "Email"],
  ["email_verified", "Email verified"],
  ["mobileno", "Mobile number"],
  ["mobile_number", "Mobile number"],
  ["phone_number", "Phone number"],
  ["phone_number_verified", "Phone number verified"],
  ["regadd", "Registered address"],
  ["registered_address", "Registered address"],
  ["address", "Address"],
  ["marital", "Marital status"],
  ["marital_status", "Marital status"],
  ["hdbtype", "HDB flat type"],
  ["hdb_type", "HDB flat type"],
  ["housingtype", "Housing type"],
  ["housing_type", "Housing type"],
  ["cpfemployers", "CPF contributions by employer"],
  ["passportnumber", "Passport number"],
  ["passport_number", "Passport number"],
  ["passportexpirydate", "Passport expiry"],
  ["passport_expiry_date", "Passport expiry"],
  ["occupation", "Occupation"],
  ["employment", "Employer"],
  ["name_of_employer", "Employer"],
  ["aliasname", "Alias"],
  ["hanyupinyinname", "Hanyu Pinyin name"],
  ["marriedname", "Married name"],
  ["given_name", "Given name"],
  ["family_name", "Family name"],
  ["preferred_username", "Username"],
  ["updated_at", "Last updated"],
  ["uuid", "Myinfo person id"],
  ["month", "Month"],
  ["employer", "Employer"],
]);
/** Shown first, in this order; everything else follows in the order the provider sent it. */
const ORDER = [...LABELS.keys()];
/** MyInfo's `source` of an attribute. */
const SOURCES = new Map([
  ["1", "Government-verified"],
  ["2", "Provided by you"],
  ["4", "Verified by Singpass"],
]);

const dateFormat = new Intl.DateTimeFormat("en-SG", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const monthFormat = new Intl.DateTimeFormat("en-SG", { month: "short", year: "numeric", timeZone: "UTC" });

/** "1998-06-06" → "6 Jun 1998", "2017-10" → "Oct 2017"; anything else unchanged. */
function readableDate(text) {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) return dateFormat.format(Date.UTC(+day[1], +day[2] - 1, +day[3]));
  const month = /^(\d{4})-(\d{2})$/.exec(text);
  if (month) return monthFormat.format(Date.UTC(+month[1], +month[2] - 1, 1));
  return text;
}

/** "S9812381D" → "*****381D": PDPC's partial NRIC, at most the last three digits and the checksum letter. */
function maskedNric(nric) {
  return nric.length > 4 ? "*".repeat(nric.length - 4) + nric.slice(-4) : "*".repeat(nric.length);
}

/** The address as lines: MyInfo's structured `regadd`, an OIDC address claim, or sgID's multi-line string. */
function addressLines(address) {
  if (typeof address === "string") return address.split("\n").filter(Boolean);
  if (!address || typeof address !== "object") return [];
  if (typeof address.formatted === "string") return addressLines(address.formatted);
  const text = (key) => (typeof address[key] === "string" || typeof address[key] === "number" ? String(address[key]) : "");
  if (text("line1") || text("line2")) {
    return [text("line1"), text("line2"), text("country")].filter(Boolean); // MyInfo's "Unformatted" type
  }
  if (text("street") || text("block") || text("postal")) {
    const unit = text("floor") && text("unit") ? `#${text("floor")}-${text("unit")}` : "";
    const singapore = !text("country") || /^(SG|SINGAPORE)$/i.test(text("country"));
    return [
      [text("block"), text("street")].filter(Boolean).join(" "),
      [unit, text("building")].filter(Boolean).join(" "),
      singapore ? `SINGAPORE ${text("postal")}`.trim() : [text("country"), text("postal")].filter(Boolean).join(" "),
    ].filter(Boolean);
  }
  return [
    text("street_address"),
    [text("locality"), text("region")].filter(Boolean).join(", "),
    [text("country"), text("postal_code")].filter(Boolean).join(" "),
  ].filter(Boolean);
}

/** CPF contribution history as one line per run of consecutive months with the same employer. */
function employmentRuns(history) {
  const runs = [];
  for (const entry of history) {
    const last = runs.at(-1);
    if (last && last.employer === entry?.employer) last.to = entry.month;
    else runs.push({ employer: entry?.employer, from: entry?.month, to: entry?.month });
  }
  return runs.map(({ employer, from, to }) => {
    const period = from === to ? readableDate(String(from ?? "")) : `${readableDate(String(from))} to ${readableDate(String(to))}`;
    return `${employer ?? "Unknown employer"}, ${period}`.trim();
  });
}

function label(key) {
  return LABELS.get(key) ?? key.replace(/[._]+/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** One attribute's value as DOM nodes. */
function renderValue(key, value, depth = 0) {
  if (value === null || value === undefined || value === "") return el("span", "value-na", "Not available");
  if (ADDRESS_KEYS.has(key) && depth === 0) return lines(addressLines(value), "address");
  if (key === "cpfemployers" && Array.isArray(value?.history)) return list(employmentRuns(value.history));
  if (typeof value === "boolean") return el("span", "", value ? "Yes" : "No");
  if (key === "updated_at" && typeof value === "number") return el("span", "", dateFormat.format(value * 1000));
  if (typeof value === "string") return el("span", "", readableDate(value));
  if (typeof value === "number") return el("span", "", String(value));
  if (depth >= MAX_DEPTH) return el("span", "", JSON.stringify(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return el("span", "value-na", "None");
    const items = el("ul", "value-list");
    for (const item of value) items.append(el("li", "", renderValue("", item, depth + 1)));
    return items;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return el("span", "value-na", "None");
  const nested = el("dl", "value-object");
  for (const [name, item] of entries) nested.append(el("dt", "", label(name)), el("dd", "", renderValue(name, item, depth + 1)));
  return nested;
}

function lines(texts, className) {
  const block = el("span", className);
  for (const text of texts) block.append(el("span", "line", text));
  return block;
}

function list(texts) {
  const items = el("ul", "value-list");
  for (const text of texts) items.append(el("li", "", text));
  return items;
}

/** MyInfo's provenance of an attribute not verified by the government, e.g. "Provided by you · updated 4 Feb
 * 2020"; "" for government-verified ones (the card says once that the rest are). */
function provenanceText(facts) {
  if (!facts || facts.source === "1") return "";
  const parts = [];
  if (SOURCES.has(facts.source)) parts.push(SOURCES.get(facts.source));
  if (facts.lastupdated) parts.push(`updated ${readableDate(facts.lastupdated)}`);
  return parts.join(" · ");
}

/** The person's attributes by plain name (sgID's `myinfo.` prefix dropped), with their original names. */
function attributes(person) {
  const found = new Map();
  for (const [name, value] of Object.entries(person ?? {})) {
    found.set(name.replace(/^myinfo\./, ""), { name, value });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------- rendering

function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content instanceof Node) node.append(content);
  else if (content !== undefined) node.textContent = content;
  return node;
}

function showView(view) {
  for (const section of [ui.login, ui.profile, ui.unavailable]) section.hidden = section !== view;
}

function setLoading(text) {
  ui.loading.hidden = !text;
  ui.loadingText.textContent = text || "";
  ui.main.setAttribute("aria-busy", text ? "true" : "false");
}

function showError(code) {
  ui.errorMessage.textContent = gateway.errorMessage(code);
  ui.errorCode.textContent = code.length > MAX_SHOWN_CODE ? code.slice(0, MAX_SHOWN_CODE) + "…" : code || "unknown";
  ui.error.hidden = false;
}

function clearError() {
  ui.error.hidden = true;
  ui.errorMessage.textContent = "";
  ui.errorCode.textContent = "";
}

function codeOf(error) {
  if (!(error instanceof gateway.GatewayError)) console.error(error);
  return error instanceof gateway.GatewayError ? error.code : "unknown_error";
}

/** The full identifiers of the shown person, kept out of the DOM until revealed. */
let identifiers = { nric: "", sub: "" };

function setRevealed(revealed) {
  ui.reveal.setAttribute("aria-pressed", String(revealed));
  ui.nric.textContent = revealed ? identifiers.nric : maskedNric(identifiers.nric);
  ui.sub.textContent = revealed || !identifiers.nric ? identifiers.sub : identifiers.sub.replaceAll(identifiers.nric, maskedNric(identifiers.nric));
}

function renderProfile(session, providerNames) {
  const found = attributes(session.person);
  const provenance = session.provenance ?? {};
  const take = (keys) => {
    for (const key of keys) {
      const entry = found.get(key);
      if (entry && typeof entry.value === "string" && entry.value) return { key, ...entry };
    }
    return null;
  };
  const name = take(NAME_KEYS);
  const nric = take(NRIC_KEYS);
  ui.profileName.textContent = name ? name.value : "Your details";
  ui.provider.textContent = providerNames.get(session.provider) ?? session.provider;

  identifiers = { nric: nric ? nric.value : "", sub: String(session.sub ?? "") };
  ui.nricRow.hidden = !nric;
  const nricSource = nric ? provenanceText(provenance[nric.name]) : "";
  ui.nricProvenance.textContent = nricSource;
  ui.nricProvenance.hidden = !nricSource;
  setRevealed(false);

  const shown = new Set([name?.key, nric?.key]);
  const keys = [...ORDER.filter((key) => found.has(key)), ...[...found.keys()].filter((key) => !LABELS.has(key))];
  const rows = [];
  for (const key of keys) {
    if (shown.has(key)) continue;
    shown.add(key);
    const { name: original, value } = found.get(key);
    const dd = el("dd", "", renderValue(key, value));
    const source = provenanceText(provenance[original]);
    if (source) dd.append(el("span", "provenance", source));
    rows.push(el("div", "detail", el("dt", "", label(key))));
    rows.at(-1).append(dd);
  }
  ui.details.replaceChildren(...rows);
  ui.provenanceNote.hidden = Object.keys(provenance).length === 0;
  ui.details.hidden = rows.length === 0;
  ui.detailsEmpty.hidden = rows.length !== 0;

  renderEntity(session);
  renderAccess(session);
  ui.providerId.textContent = session.provider;
  const { acr, amr } = session.authentication ?? {};
  ui.authentication.textContent =
    [acr && `acr ${acr}`, Array.isArray(amr) && amr.length && `amr ${amr.join(", ")}`].filter(Boolean).join("; ") ||
    "Not reported by the provider";
  showView(ui.profile);
}

const ENTITY_FIELDS = [
  ["id", "UEN or entity id"],
  ["type", "Entity type"],
  ["uen_status", "UEN status"],
  ["coi", "Country of incorporation"],
];

/** The entity a Corppass user logged in for, and what they may do for it (an individual's login has none). */
function renderEntity(session) {
  const entity = session.entity && typeof session.entity === "object" ? session.entity : null;
  ui.entity.hidden = !entity;
  ui.actLabel.hidden = ui.actValue.hidden = !session.act?.sub;
  ui.act.textContent = String(session.act?.sub ?? "");
  if (!entity) return;
  ui.entityName.textContent = typeof entity.name === "string" && entity.name ? entity.name : String(entity.id ?? "");
  const rows = ENTITY_FIELDS.filter(([key]) => typeof entity[key] === "string" && entity[key]).map(([key, text]) => {
    const row = el("div", "detail", el("dt", "", text));
    row.append(el("dd", "", entity[key]));
    return row;
  });
  ui.entityDetails.replaceChildren(...rows);
  const authorisations = Array.isArray(session.authorisations) ? session.authorisations : [];
  ui.authorisations.replaceChildren(...authorisations.map((item) => el("li", "", authorisationText(item))));
  ui.authorisationsEmpty.hidden = authorisations.length !== 0;
}

/** "Approver for GATEWAY-ESVC-1, from 1 Jan 2026, no end date" and the like. */
function authorisationText(item) {
  const parts = [`${item.role ?? "A role"} for ${item.eservice ?? "an e-service"}`];
  if (item.entity) parts.push(`sub-entity ${item.entity}`);
  if (item.start) parts.push(`from ${readableDate(item.start)}`);
  parts.push(item.end ? `until ${readableDate(item.end)}` : "no end date");
  if (item.third_party) parts.push("third-party");
  if (Array.isArray(item.missing) && item.missing.length) parts.push(`not set: ${item.missing.join(", ")}`);
  return parts.join(", ");
}

/** The section for what a plain OAuth 2.0 login's access token grants, after the entity's; index.html has no place
 * for it, so it is built here, as DOM nodes like the rest. */
function accessSection() {
  const scopes = el("dd");
  const permissions = el("dd");
  scopes.id = "access-scopes";
  permissions.id = "access-permissions";
  const rows = el("dl", "details");
  for (const [text, dd] of [["Scopes", scopes], ["Permissions", permissions]]) {
    const row = el("div", "detail", el("dt", "", text));
    row.append(dd);
    rows.append(row);
  }
  const section = el("div", "", el("h3", "section-title", "Access granted"));
  section.id = "access";
  section.hidden = true;
  section.append(rows);
  ui.entity.after(section);
  return { section, scopes, permissions };
}

const access = accessSection();

/** The scopes and permissions an OAuth 2.0 provider's access token grants (other logins have no `access`). */
function renderAccess(session) {
  const granted = session.access && typeof session.access === "object" ? session.access : null;
  access.section.hidden = !granted;
  if (!granted) return;
  const grants = (value) => {
    const texts = Array.isArray(value) ? value.filter((item) => typeof item === "string" && item) : [];
    return texts.length ? list(texts) : el("span", "value-na", "None");
  };
  access.scopes.replaceChildren(grants(granted.scopes));
  access.permissions.replaceChildren(grants(granted.permissions));
}

function renderLogin(list) {
  const buttons = [];
  for (const provider of list) {
    if (!provider || typeof provider.id !== "string") continue;
    const name = typeof provider.name === "string" && provider.name ? provider.name : provider.id;
    const button = el("button", "button button-primary", `Log in with ${name}`);
    button.type = "button";
    button.dataset.provider = provider.id;
    button.addEventListener("click", () => startLogin(provider.id, name));
    buttons.push(button);
  }
  ui.providers.replaceChildren(...buttons);
  ui.noProviders.hidden = buttons.length !== 0;
  showView(ui.login);
}

// ---------------------------------------------------------------------------------------------- flows

let providerList = [];

/** Show whichever view fits the session; `focus` says where keyboard focus goes when the view is ready. */
async function load({ errorCode = null, focus = "auto" } = {}) {
  showView(null);
  setLoading("Loading…");
  try {
    const [session, list] = await Promise.all([gateway.me(), gateway.providers()]);
    providerList = list;
    if (session) renderProfile(session, new Map(list.map((p) => [p.id, p.name])));
    else renderLogin(list);
    if (errorCode !== null) ui.error.focus();
    else if (session && focus === "auto") ui.profileName.focus(); // just back from the provider: read the card
  } catch (error) {
    showError(codeOf(error));
    showView(ui.unavailable);
    ui.unavailableTitle.focus();
  } finally {
    setLoading("");
  }
}

function startLogin(providerId, name) {
  clearError();
  ui.loggedOut.textContent = "";
  for (const button of ui.providers.querySelectorAll("button")) button.disabled = true;
  setLoading(`Taking you to ${name}…`);
  gateway.login(providerId, location.pathname);
}

async function logout() {
  clearError();
  ui.logout.disabled = ui.refresh.disabled = true;
  try {
    await gateway.logout();
    identifiers = { nric: "", sub: "" };
    ui.details.replaceChildren();
    renderLogin(providerList);
    ui.loggedOut.textContent = "You have logged out.";
    ui.loginTitle.focus();
  } catch (error) {
    showError(codeOf(error)); // still logged in: the card stays
    ui.error.focus();
  } finally {
    ui.logout.disabled = ui.refresh.disabled = false;
  }
}

async function refresh() {
  clearError();
  ui.refresh.disabled = true;
  try {
    const session = await gateway.me({ refresh: true });
    if (session) {
      renderProfile(session, new Map(providerList.map((p) => [p.id, p.name])));
      ui.profileName.focus();
    } else {
      renderLogin(providerList); // the session ended meanwhile (expired, or logged out elsewhere)
      showError("not_authenticated");
      ui.error.focus();
    }
  } catch (error) {
    showError(codeOf(error));
    ui.error.focus();
  } finally {
    ui.refresh.disabled = false;
  }
}

ui.reveal.addEventListener("click", () => setRevealed(ui.reveal.getAttribute("aria-pressed") !== "true"));
ui.logout.addEventListener("click", logout);
ui.refresh.addEventListener("click", refresh);
ui.retry.addEventListener("click", () => {
  clearError();
  load();
});
// Back from the provider with the Back button, the browser may restore this page still saying "Taking you to…".
window.addEventListener("pageshow", (event) => {
  if (event.persisted) load({ focus: "none" });
});

const loginError = gateway.takeLoginError();
if (loginError !== null) showError(loginError);
load({ errorCode: loginError });
