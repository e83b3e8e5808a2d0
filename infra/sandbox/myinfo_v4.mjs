// A MyInfo v4 emulator: authorization server and person API on loopback, enforcing what the real service does
// (see shared protocols.md §1.2 and the official connector myinfo-connector-v4-nodejs). MockPass has no MyInfo v4.
// Personas are MockPass's (static/myinfo/v3.json; the v4 person schema is the same); a persona's `uuid` is `sub`.
// MYINFO_V4_EXTRA_PERSONAS adds more (infra/sandbox/personas.py's large people): loginable only from the picker.
// Started by infra/sandbox/myinfo_v4.py.
//
// Environment:
//   MYINFO_V4_PORT               port to listen on (127.0.0.1 only)
//   MYINFO_V4_CLIENTS            JSON list of clients: {client_id, redirect_uris: [..], jwks_uri,
//                                scopes?: [..] (default: every persona attribute), purpose_ids?: [..] (default: any)}
//   MYINFO_V4_SHOW_LOGIN_PAGE    "true": a persona picker (allow/deny) at authorize; else MYINFO_V4_PERSONA at once,
//                                unless the authorize request carries `X-Show-Login-Page: true` (as MockPass's do)
//   MYINFO_V4_EXTRA_PERSONAS     path of a JSON file {NRIC: persona} of personas besides MockPass's (optional)
//   MYINFO_V4_PERSONA            NRIC of the persona logged in without the picker (default S9812381D)
//   MYINFO_V4_PUBLIC_URL         base URL clients call (token `aud`, DPoP `htu`, token `iss`);
//                                default http://127.0.0.1:<port>. Never taken from the Host header.
//   MYINFO_V4_CODE_TTL_SECONDS   authorization code lifetime (default 60)
//   MYINFO_V4_TOKEN_TTL_SECONDS  access token lifetime (default 1800)
//   MYINFO_V4_JWKS_CACHE_SECONDS how long a client's JWKS is cached (default 300; refetched at once on unknown kid)
//
// Endpoints:
//   GET  /com/v4/authorize              authorization request (browser)
//   POST /com/v4/authorize/login        the persona picker's form (emulator only)
//   POST /com/v4/token                  code exchange: private_key_jwt client assertion + DPoP
//   GET  /com/v4/person/{sub}?scope=..  person data: DPoP-bound token; answers application/jose JWE(JWS)
//   GET  /.well-known/keys.json         authorise JWKS (verifies access tokens), ES256 with kid
//   GET  /myinfo/.well-known/keys.json  MyInfo JWKS (verifies the person JWS), ES256 with kid
// Both signing keys are made fresh at every start; kid = RFC 7638 thumbprint.
//
// Client JWKS (fetched from jwks_uri): `use: "sig"` EC P-256 keys with a kid verify client assertions (chosen by
// kid); the first `use: "enc"` EC P-256 key is the one person data is encrypted to (its kid goes in the JWE header).
//
// Enforced:
//   authorize: known client_id (else 404); redirect_uri exactly registered (else 400, never redirected);
//     response_type = code (absent is taken as code: the official demo app omits it; other values 400);
//     code_challenge_method = S256 and a 43-character base64url code_challenge (else 400); purpose_id present and,
//     if the client lists purpose_ids, one of them (else 400); no repeated parameter (400); scope non-empty and
//     every scope allowed for the client (else 302 error=invalid_scope); the user may deny (302
//     error=access_denied); `state` echoed on every redirect; the picker's page HTML-escapes everything it shows
//     and expires after 120 s (440).
//   codes: random, single use (spent at the first exchange that authenticates the client), expire after
//     MYINFO_V4_CODE_TTL_SECONDS, bound to client_id, redirect_uri and code_challenge.
//   token: form body (400 "No body"); grant_type authorization_code; known client_id; client_assertion_type
//     jwt-bearer; a DPoP proof (below); client_assertion: alg ES256 with a kid naming a `sig` key of the client's
//     JWKS, valid signature, iss = sub = client_id, aud = <public URL>/com/v4/token, exp in the future and
//     exp - iat <= 300 s, iat at most 10 s in the future, jti present and never used before by the client
//     ("Duplicate client_assertion"), cnf.jkt = RFC 7638 thumbprint of the DPoP proof's jwk; then code known,
//     unexpired, for this client and redirect_uri, and code_verifier (43-128 unreserved characters) whose S256
//     is the code_challenge. Errors: 400 invalid_request / invalid_grant / unsupported_grant_type,
//     401 invalid_client (client or assertion), 401 invalid_dpop_proof, 502 when the client's JWKS cannot be
//     fetched; bodies {error, error_description}.
//   DPoP proofs (token and person): typ dpop+jwt, alg ES256, a public EC P-256 `jwk` with no private members,
//     signature by that jwk, htm = the request method, htu = <public URL><path> (no query), iat within 60 s in
//     the past / 5 s in the future, exp (if sent) in the future, jti present and never used before; on person
//     also ath = base64url(SHA-256(access token)) and the proof key's thumbprint = the token's cnf.jkt.
//   token response: {access_token, token_type: "DPoP", expires_in, scope}; access_token is an ES256 JWT (kid)
//     with iss = public URL, aud = client_id, sub = persona uuid, scope, cnf.jkt, iat, exp, jti.
//   person: Authorization "DPoP <token>" (Bearer or none: 401); token signature, iss and expiry (401);
//     path sub = token sub (401); scope query present (400); requested scopes allowed for the client (403) and
//     within the token's scope (401); persona exists (404). Answers Content-Type application/jose: compact JWE
//     ECDH-ES+A256KW / A256GCM (kid of the client's enc key) around a raw compact JWS (ES256, kid) of the
//     persona's attributes picked by scope (500 if the client's JWKS has no P-256 enc key).
//     Errors: {code, message} (MyInfo's shape); 401s also carry WWW-Authenticate: DPoP error=...
//   any other path 404, wrong method 405, unexpected failure 500 JSON; bad input never stops the server.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import * as jose from 'jose'

const require = createRequire(import.meta.url)
const mockpassPersonas = require('@opengovsg/mockpass/static/myinfo/v3.json').personas
const extraPersonas = process.env.MYINFO_V4_EXTRA_PERSONAS
  ? JSON.parse(readFileSync(process.env.MYINFO_V4_EXTRA_PERSONAS, 'utf8'))
  : {}
const personas = { ...mockpassPersonas, ...extraPersonas }

// What a client may ask for by default: MockPass's attributes (the extra personas use no others).
const ATTRIBUTES = [...new Set(Object.values(mockpassPersonas).flatMap((persona) => Object.keys(persona)))]
const TOKEN_PATH = '/com/v4/token'
const PERSON_PREFIX = '/com/v4/person/'
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const ASSERTION_MAX_LIFETIME = 300
const ASSERTION_FUTURE_SKEW = 10
const DPOP_MAX_AGE = 60
const DPOP_FUTURE_SKEW = 5
const LOGIN_TTL = 120
const MAX_BODY = 64 * 1024
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

// ---------------------------------------------------------------------------------------------- configuration
const settings = readSettings(process.env)

function readSettings(env) {
  const port = Number(env.MYINFO_V4_PORT)
  if (!Number.isInteger(port) || port <= 0) throw new Error('MYINFO_V4_PORT must be a port number')
  const persona = env.MYINFO_V4_PERSONA || 'S9812381D'
  if (!personas[persona]) throw new Error(`MYINFO_V4_PERSONA ${persona} is not a MockPass persona`)
  const publicUrl = (env.MYINFO_V4_PUBLIC_URL || `http://127.0.0.1:${port}`).replace(/\/+$/, '')
  const clients = new Map(JSON.parse(env.MYINFO_V4_CLIENTS || '[]').map((client) => [client.client_id, checkClient(client)]))
  return {
    port,
    persona,
    publicUrl,
    clients,
    showLoginPage: env.MYINFO_V4_SHOW_LOGIN_PAGE === 'true',
    codeTtl: seconds(env, 'MYINFO_V4_CODE_TTL_SECONDS', 60),
    tokenTtl: seconds(env, 'MYINFO_V4_TOKEN_TTL_SECONDS', 1800),
    jwksCacheTtl: seconds(env, 'MYINFO_V4_JWKS_CACHE_SECONDS', 300),
  }
}

function seconds(env, name, fallback) {
  const value = Number(env[name] || fallback)
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number of seconds`)
  return value
}

function checkClient(client) {
  const strings = (value) => Array.isArray(value) && value.every((item) => typeof item === 'string')
  const ok =
    typeof client.client_id === 'string' && client.client_id &&
    strings(client.redirect_uris) && typeof client.jwks_uri === 'string' &&
    (client.scopes === undefined || strings(client.scopes)) &&
    (client.purpose_ids === undefined || strings(client.purpose_ids))
  if (!ok) throw new Error('each MYINFO_V4_CLIENTS entry needs client_id, redirect_uris, jwks_uri (scopes, purpose_ids: lists)')
  return { scopes: ATTRIBUTES, purpose_ids: null, ...client }
}

// ----------------------------------------------------------------------------------------------- small helpers
const now = () => Math.floor(Date.now() / 1000)
const randomId = () => randomBytes(32).toString('base64url')
const sha256 = (text) => createHash('sha256').update(text).digest('base64url')
const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value)
const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(body.error_description ?? body.message ?? String(status))
    Object.assign(this, { status, body, headers })
  }
}
const oauthError = (status, error, description) => new HttpError(status, { error, error_description: description })
const myinfoError = (status, message, headers) => new HttpError(status, { code: status, message }, headers)
const dpopChallenge = (error) => ({ 'WWW-Authenticate': `DPoP algs="ES256", error="${error}"` })

// Single-use values (authorization codes, login requests, jti) with an expiry, swept as they go.
class ExpiringStore {
  #entries = new Map()
  #lastSweep = 0

  put(key, value, expiresAt) {
    this.#sweep()
    this.#entries.set(key, { value, expiresAt })
  }

  take(key) {
    const entry = this.#entries.get(key)
    this.#entries.delete(key)
    return entry && entry.expiresAt > now() ? entry.value : undefined
  }

  // True when the key was already there (a replay); otherwise remembers it until expiresAt.
  seen(key, expiresAt) {
    const entry = this.#entries.get(key)
    if (entry && entry.expiresAt > now()) return true
    this.put(key, true, expiresAt)
    return false
  }

  #sweep() {
    if (now() - this.#lastSweep < 10) return
    this.#lastSweep = now()
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now()) this.#entries.delete(key)
  }
}

const codes = new ExpiringStore()
const logins = new ExpiringStore()
const assertionJtis = new ExpiringStore()
const dpopJtis = new ExpiringStore()

// --------------------------------------------------------------------------------------------------- our keys
async function makeSigningKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const jwk = await jose.exportJWK(publicKey)
  const kid = await jose.calculateJwkThumbprint(jwk)
  return { privateKey, kid, publicJwk: { ...jwk, kid, use: 'sig', alg: 'ES256' } }
}

const authoriseKey = await makeSigningKey()
const myinfoKey = await makeSigningKey()

// ----------------------------------------------------------------------------------------- client JWKS (cached)
const jwksCache = new Map()

async function clientJwks(client, refresh) {
  const cached = jwksCache.get(client.client_id)
  if (cached && !refresh && cached.expiresAt > now()) return cached.keys
  let body
  try {
    const response = await fetch(client.jwks_uri, { signal: AbortSignal.timeout(5000), redirect: 'error' })
    if (!response.ok) throw new Error(`status ${response.status}`)
    body = await response.json()
  } catch (error) {
    console.error(`client ${client.client_id}: JWKS fetch failed: ${error.message}`)
    throw oauthError(502, 'server_error', "the client's JWKS could not be fetched")
  }
  const keys = Array.isArray(body?.keys) ? body.keys.filter(isObject) : []
  jwksCache.set(client.client_id, { keys, expiresAt: now() + settings.jwksCacheTtl })
  return keys
}

// The cached JWKS first; fetched again once when no key matches (a rotation the cache has not seen).
async function findClientKey(client, matches) {
  return (await clientJwks(client, false)).find(matches) ?? (await clientJwks(client, true)).find(matches)
}

const isP256 = (jwk) => jwk.kty === 'EC' && jwk.crv === 'P-256'

// ------------------------------------------------------------------------------------------------------ DPoP
// Checks a DPoP proof for `method` on `path` and returns its key's thumbprint (the jkt tokens are bound to).
async function verifyDpop(proof, method, path, accessToken) {
  const fail = (why) => {
    throw accessToken === undefined
      ? oauthError(401, 'invalid_dpop_proof', why)
      : myinfoError(401, why, dpopChallenge('invalid_dpop_proof'))
  }
  if (typeof proof !== 'string' || !proof) fail('DPoP proof missing')
  const header = decodeHeader(proof) ?? fail('DPoP proof is not a compact JWS')
  if (header.typ !== 'dpop+jwt') fail('DPoP proof typ must be dpop+jwt')
  if (header.alg !== 'ES256') fail('DPoP proof alg must be ES256')
  if (!isObject(header.jwk)) fail('DPoP proof has no jwk header')
  if (PRIVATE_JWK_MEMBERS.some((member) => member in header.jwk)) fail('DPoP proof jwk must be a public key')
  if (!isP256(header.jwk)) fail('DPoP proof jwk must be an EC P-256 key')
  const claims = await verifiedClaims(proof, () => jose.importJWK(header.jwk, 'ES256')) ?? fail('DPoP proof signature invalid')
  if (claims.htm !== method) fail('DPoP proof htm does not match the request method')
  if (claims.htu !== settings.publicUrl + path) fail('DPoP proof htu does not match the request URL')
  if (!Number.isInteger(claims.iat)) fail('DPoP proof iat missing')
  if (claims.iat < now() - DPOP_MAX_AGE || claims.iat > now() + DPOP_FUTURE_SKEW) fail('DPoP proof iat is outside the allowed window')
  if (claims.exp !== undefined && !(Number.isInteger(claims.exp) && claims.exp > now())) fail('DPoP proof expired')
  if (typeof claims.jti !== 'string' || !claims.jti) fail('DPoP proof jti missing')
  if (accessToken !== undefined && claims.ath !== sha256(accessToken)) fail('DPoP proof ath does not match the access token')
  if (dpopJtis.seen(claims.jti, now() + DPOP_MAX_AGE + DPOP_FUTURE_SKEW + 60)) fail('DPoP proof jti already used')
  return jose.calculateJwkThumbprint(header.jwk)
}

function decodeHeader(token) {
  try {
    return token.split('.').length === 3 ? jose.decodeProtectedHeader(token) : undefined
  } catch {
    return undefined
  }
}

// The payload of a compact JWS if `getKey()` verifies it (ES256 only), else undefined.
async function verifiedClaims(token, getKey) {
  try {
    const { payload } = await jose.compactVerify(token, await getKey(), { algorithms: ['ES256'] })
    const claims = JSON.parse(new TextDecoder().decode(payload))
    return isObject(claims) ? claims : undefined
  } catch {
    return undefined
  }
}

// ------------------------------------------------------------------------------------------ client assertion
async function verifyClientAssertion(client, assertion, dpopJkt) {
  const fail = (why) => {
    throw oauthError(401, 'invalid_client', why)
  }
  if (typeof assertion !== 'string' || !assertion) fail('client_assertion missing')
  const header = decodeHeader(assertion) ?? fail('client_assertion is not a compact JWS')
  if (header.alg !== 'ES256') fail('client_assertion alg must be ES256')
  if (typeof header.kid !== 'string' || !header.kid) fail('client_assertion has no kid')
  const jwk = await findClientKey(client, (key) => key.kid === header.kid && key.use === 'sig' && isP256(key))
  if (!jwk) fail("client_assertion kid is not a sig key of the client's JWKS")
  const claims = await verifiedClaims(assertion, () => jose.importJWK(jwk, 'ES256')) ?? fail('client_assertion signature invalid')
  if (claims.iss !== client.client_id) fail('client_assertion iss must be the client_id')
  if (claims.sub !== client.client_id) fail('client_assertion sub must be the client_id')
  if (claims.aud !== settings.publicUrl + TOKEN_PATH) fail('client_assertion aud must be the token endpoint URL')
  if (!Number.isInteger(claims.iat)) fail('client_assertion iat missing')
  if (!Number.isInteger(claims.exp)) fail('client_assertion exp missing')
  if (claims.exp <= now()) fail('client_assertion expired')
  if (claims.exp - claims.iat > ASSERTION_MAX_LIFETIME) fail('client_assertion exp is too far after iat')
  if (claims.iat > now() + ASSERTION_FUTURE_SKEW) fail('client_assertion iat is in the future')
  if (typeof claims.jti !== 'string' || !claims.jti) fail('client_assertion jti missing')
  if (typeof claims.cnf?.jkt !== 'string') fail('client_assertion cnf.jkt missing')
  if (claims.cnf.jkt !== dpopJkt) fail("client_assertion cnf.jkt does not match the DPoP proof's key")
  if (assertionJtis.seen(`${client.client_id} ${claims.jti}`, claims.exp + 60)) fail('Duplicate client_assertion')
}

// -------------------------------------------------------------------------------------------------- authorize
function authorize(request) {
  const params = singleValued(request.query, (why) => oauthError(400, 'invalid_request', why))
  const client = settings.clients.get(params.client_id)
  if (!client) throw oauthError(404, 'invalid_client', 'unknown client_id')
  if (!params.redirect_uri || !client.redirect_uris.includes(params.redirect_uri)) {
    throw oauthError(400, 'invalid_request', 'redirect_uri is not registered for this client')
  }
  const bad = (why) => {
    throw oauthError(400, 'invalid_request', why)
  }
  if ((params.response_type ?? 'code') !== 'code') bad('response_type must be code')
  if (params.code_challenge_method !== 'S256') bad('code_challenge_method must be S256')
  if (!/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge ?? '')) bad('code_challenge must be a base64url SHA-256')
  if (!params.purpose_id) bad('purpose_id is required')
  if (client.purpose_ids && !client.purpose_ids.includes(params.purpose_id)) bad('purpose_id is not registered for this client')
  const back = { redirectUri: params.redirect_uri, state: params.state }
  const scopes = (params.scope ?? '').split(' ').filter(Boolean)
  if (!scopes.length || !scopes.every((scope) => client.scopes.includes(scope))) {
    return redirect(back, { error: 'invalid_scope', error_description: 'a requested scope is not allowed for this client' })
  }
  const pending = { clientId: client.client_id, ...back, codeChallenge: params.code_challenge, scopes, purposeId: params.purpose_id }
  if (!settings.showLoginPage && request.headers['x-show-login-page'] !== 'true') return issueCode(pending, settings.persona)
  const loginId = randomId()
  logins.put(loginId, pending, now() + LOGIN_TTL)
  return { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }, body: loginPage(loginId, pending) }
}

async function loginForm(request) {
  const form = await formBody(request, (why) => oauthError(400, 'invalid_request', why))
  const pending = logins.take(form.login_id)
  if (!pending) throw new HttpError(440, { error: 'login_expired', error_description: 'the login session expired: start again' })
  if (form.decision !== 'allow') return redirect(pending, { error: 'access_denied', error_description: 'the user did not consent' })
  if (!personas[form.persona]) throw oauthError(400, 'invalid_request', 'unknown persona')
  return issueCode(pending, form.persona)
}

function issueCode(pending, nric) {
  const code = randomId()
  codes.put(code, { ...pending, sub: personas[nric].uuid.value }, now() + settings.codeTtl)
  return redirect(pending, { code })
}

function redirect({ redirectUri, state }, params) {
  const location = new URL(redirectUri)
  for (const [name, value] of Object.entries({ ...params, state })) if (value !== undefined) location.searchParams.set(name, value)
  return { status: 302, headers: { Location: location.href, 'Cache-Control': 'no-store' }, body: '' }
}

function loginPage(loginId, pending) {
  const options = Object.entries(personas)
    .map(([nric, persona]) => {
      const selected = nric === settings.persona ? ' selected' : ''
      return `<option value="${escapeHtml(nric)}"${selected}>${escapeHtml(nric)} ${escapeHtml(persona.name?.value ?? '')}</option>`
    })
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MyInfo v4 emulator: log in</title></head>
<body>
<h1>MyInfo v4 emulator</h1>
<p>Client <code>${escapeHtml(pending.clientId)}</code> asks, for purpose <code>${escapeHtml(pending.purposeId)}</code>, for:
<code>${escapeHtml(pending.scopes.join(' '))}</code></p>
<form method="post" action="/com/v4/authorize/login">
<input type="hidden" name="login_id" value="${escapeHtml(loginId)}">
<label>Persona <select name="persona">
${options}
</select></label>
<button type="submit" name="decision" value="allow">Log in and allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
`
}

// ------------------------------------------------------------------------------------------------------ token
async function token(request) {
  const form = await formBody(request, (why) => oauthError(400, 'invalid_request', why))
  if (form.grant_type !== 'authorization_code') throw oauthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code')
  for (const name of ['code', 'redirect_uri', 'client_id', 'code_verifier']) {
    if (!form[name]) throw oauthError(400, 'invalid_request', `${name} is required`)
  }
  const client = settings.clients.get(form.client_id)
  if (!client) throw oauthError(401, 'invalid_client', 'unknown client_id')
  if (form.client_assertion_type !== ASSERTION_TYPE) throw oauthError(401, 'invalid_client', 'client_assertion_type must be jwt-bearer')
  const jkt = await verifyDpop(request.headers.dpop, 'POST', TOKEN_PATH)
  await verifyClientAssertion(client, form.client_assertion, jkt)

  const grant = codes.take(form.code)
  const invalidGrant = (why) => oauthError(400, 'invalid_grant', why)
  if (!grant) throw invalidGrant('authorization code is invalid, expired or already used')
  if (grant.clientId !== client.client_id) throw invalidGrant('authorization code was issued to another client')
  if (grant.redirectUri !== form.redirect_uri) throw invalidGrant('redirect_uri does not match the authorization request')
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(form.code_verifier)) throw invalidGrant('code_verifier is malformed')
  if (sha256(form.code_verifier) !== grant.codeChallenge) throw invalidGrant('code_verifier does not match the code_challenge')

  const scope = grant.scopes.join(' ')
  const accessToken = await new jose.SignJWT({ scope, cnf: { jkt }, jti: randomId() })
    .setProtectedHeader({ alg: 'ES256', kid: authoriseKey.kid, typ: 'JWT' })
    .setIssuer(settings.publicUrl)
    .setAudience(client.client_id)
    .setSubject(grant.sub)
    .setIssuedAt(now())
    .setExpirationTime(now() + settings.tokenTtl)
    .sign(authoriseKey.privateKey)
  return json(200, { access_token: accessToken, token_type: 'DPoP', expires_in: settings.tokenTtl, scope })
}

// ----------------------------------------------------------------------------------------------------- person
async function person(request, sub) {
  const [scheme, accessToken, ...rest] = (request.headers.authorization ?? '').split(' ')
  if (scheme !== 'DPoP' || !accessToken || rest.length) {
    throw myinfoError(401, 'Authorization must be "DPoP <access token>"', dpopChallenge('invalid_token'))
  }
  const jkt = await verifyDpop(request.headers.dpop, 'GET', request.path, accessToken)
  const claims = await verifyAccessToken(accessToken)
  if (claims.cnf?.jkt !== jkt) throw myinfoError(401, 'DPoP proof key is not the key the access token is bound to', dpopChallenge('invalid_dpop_proof'))
  if (claims.sub !== sub) throw myinfoError(401, 'sub does not match the access token', dpopChallenge('invalid_token'))

  const wanted = (request.query.get('scope') ?? '').split(' ').filter(Boolean)
  if (!wanted.length) throw myinfoError(400, 'scope is required')
  const client = settings.clients.get(claims.aud)
  if (!client) throw myinfoError(403, 'client is not registered')
  if (!wanted.every((scope) => client.scopes.includes(scope))) throw myinfoError(403, 'a requested scope is not allowed for this client')
  const granted = String(claims.scope).split(' ')
  if (!wanted.every((scope) => granted.includes(scope))) throw myinfoError(401, 'a requested scope was not consented to', dpopChallenge('insufficient_scope'))

  const persona = Object.values(personas).find((candidate) => candidate.uuid?.value === sub)
  if (!persona) throw myinfoError(404, 'sub has no MyInfo profile')
  const data = Object.fromEntries(Object.entries(persona).filter(([name]) => wanted.includes(name)))
  return { status: 200, headers: { 'Content-Type': 'application/jose', 'Cache-Control': 'no-store' }, body: await sealPersonData(client, data) }
}

async function verifyAccessToken(accessToken) {
  try {
    const { payload } = await jose.jwtVerify(accessToken, await jose.importJWK(authoriseKey.publicJwk, 'ES256'), {
      algorithms: ['ES256'],
      issuer: settings.publicUrl,
      requiredClaims: ['sub', 'exp', 'aud', 'scope'],
    })
    return payload
  } catch {
    throw myinfoError(401, 'access token is invalid or expired', dpopChallenge('invalid_token'))
  }
}

// JWE (ECDH-ES+A256KW, A256GCM, to the client's first enc key) around a raw JWS (ES256, MyInfo key).
async function sealPersonData(client, data) {
  const encKey = await findClientKey(client, (key) => key.use === 'enc' && isP256(key))
  if (!encKey) throw myinfoError(500, "the client's JWKS has no EC P-256 enc key")
  const jws = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(data)))
    .setProtectedHeader({ alg: 'ES256', kid: myinfoKey.kid })
    .sign(myinfoKey.privateKey)
  return new jose.CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: encKey.kid })
    .encrypt(await jose.importJWK(encKey, 'ECDH-ES+A256KW'))
}

// ------------------------------------------------------------------------------------------------- HTTP glue
const json = (status, body, headers = {}) => ({
  status,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
  body: JSON.stringify(body),
})

const jwks = (key) => async () => json(200, { keys: [key.publicJwk] }, { 'Cache-Control': 'public, max-age=300' })

// Query or form parameters as an object; a repeated parameter is refused.
function singleValued(params, error) {
  const result = {}
  for (const [name, value] of params) {
    if (Object.hasOwn(result, name)) throw error(`parameter ${name} is repeated`)
    result[name] = value
  }
  return result
}

async function formBody(request, error) {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  const chunks = []
  let size = 0
  for await (const chunk of request.stream) {
    size += chunk.length
    if (size > MAX_BODY) throw error('body too large')
    chunks.push(chunk)
  }
  if (!size) throw error('No body')
  if (type !== 'application/x-www-form-urlencoded') throw error('Content-Type must be application/x-www-form-urlencoded')
  return singleValued(new URLSearchParams(Buffer.concat(chunks).toString('utf8')), error)
}

function route(method, path) {
  const routes = {
    '/com/v4/authorize': { GET: authorize },
    '/com/v4/authorize/login': { POST: loginForm },
    [TOKEN_PATH]: { POST: token },
    '/.well-known/keys.json': { GET: jwks(authoriseKey) },
    '/myinfo/.well-known/keys.json': { GET: jwks(myinfoKey) },
  }
  let handlers = routes[path]
  if (!handlers && path.startsWith(PERSON_PREFIX)) {
    const sub = path.slice(PERSON_PREFIX.length)
    if (/^[A-Za-z0-9_-]+$/.test(sub)) handlers = { GET: (request) => person(request, sub) }
  }
  if (!handlers) throw myinfoError(404, 'Wrong URL')
  if (!handlers[method]) throw new HttpError(405, { code: 405, message: 'Method not allowed' }, { Allow: Object.keys(handlers).join(', ') })
  return handlers[method]
}

// What handlers see: the path and query as sent (the public URL is configured, never read from Host).
function parseRequest(req) {
  const target = new URL(`http://emulator${req.url.startsWith('/') ? req.url : '/'}`)
  return { method: req.method, path: target.pathname, query: target.searchParams, headers: req.headers, stream: req }
}

async function handle(req, res) {
  let answer
  let request
  try {
    request = parseRequest(req)
    answer = await route(request.method, request.path)(request)
  } catch (error) {
    if (error instanceof HttpError) {
      answer = json(error.status, error.body, error.headers)
    } else {
      console.error('unexpected error:', error)
      answer = json(500, { code: 500, message: 'Unexpected error', error: 'server_error' })
    }
  }
  // One line a request: the path (no query, so no code or token) and, for errors, the reason.
  console.warn(`${req.method} ${request?.path ?? '?'} -> ${answer.status}${answer.status >= 400 ? ` ${answer.body}` : ''}`)
  res.writeHead(answer.status, answer.headers)
  res.end(answer.body)
}

const server = createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error('failed to answer:', error)
    res.destroy()
  })
})
server.listen(settings.port, '127.0.0.1', () => console.warn(`MyInfo v4 emulator listening on ${settings.publicUrl}`))
