// A Singpass-like FAPI 2.0 authorization server: npm oidc-provider (OpenID-certified) configured as Singpass's
// FAPI 2.0 API behaves (docs re-checked Dec 2026, MockPass 4.6): PAR required, DPoP required from PAR on (with
// server nonces), private_key_jwt (ES256, aud = issuer), ID tokens encrypted (ECDH-ES) around ES256.
//
// It serves Singpass's two kinds of app, one registered client each (FAPI_CLIENTS, set by infra/sandbox/fapi.py):
// - a Login app: `authentication_context_type` mandatory at PAR (and one enabled for the app), Login scopes only,
//   the person in the ID token's `sub_attributes`, userinfo refused, the ID token encrypted with A256CBC-HS512;
// - a Myinfo app: `authentication_context_type` refused, the person in userinfo, a JWE(JWS) carrying a MockPass
//   persona as `person_info`, the ID token encrypted with A256GCM.
// Quirks oidc-provider does not have natively are patched in below, each with the Singpass behaviour it copies.
// GET /sandbox/calls tells the tests what happened: PARs' parameters, ID tokens' JWE headers and iat, userinfo
// calls per client.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import Provider, { errors } from 'oidc-provider'
import { grantWhatIsAsked } from './auto_login.mjs'
import {
  bodyOf,
  fapiAlgorithms,
  fapiFeatures,
  logErrors,
  recordPushedRequests,
  userinfoClient,
  withoutIssParameter,
} from './fapi_common.mjs'

const require = createRequire(import.meta.url)
// MockPass's personas, and FAPI_EXTRA_PERSONAS (a JSON file {NRIC: persona}: personas.py's large people) if set.
const personas = {
  ...require('@opengovsg/mockpass/static/myinfo/v3.json').personas,
  ...(process.env.FAPI_EXTRA_PERSONAS && JSON.parse(readFileSync(process.env.FAPI_EXTRA_PERSONAS, 'utf8'))),
}

const port = Number(process.env.FAPI_PORT)
const autoLogin = process.env.FAPI_AUTO_LOGIN
const defaultPersona = process.env.FAPI_PERSONA
const apps = new Map(JSON.parse(process.env.FAPI_CLIENTS).map((client) => [client.client_id, client]))
const attributes = [...new Set(Object.values(personas).flatMap((persona) => Object.keys(persona)))]

const LOGIN_SCOPES = ['openid', 'user.identity', 'name', 'email', 'mobileno', 'sub_account']
const ACR = 'urn:singpass:authentication:loa:2'
const AMR = ['pwd', 'otp-sms']
const CONTEXT_MESSAGE = /^[A-Za-z0-9 ]{1,100}$/
const isLogin = (client) => apps.get(client?.clientId)?.app === 'login'

// The login name chooses a MockPass persona by NRIC; anything else logs in as the default persona.
const personaOf = (nric) => personas[nric] ?? personas[defaultPersona]
// Singpass's `sub` is an opaque UUID, never the NRIC (the old `s=NRIC,u=uuid` form is gone): one per person,
// stable. oidc-provider makes the account id the `sub`, so the login page's NRIC becomes this UUID at login, and
// the UUID is mapped back to the persona whenever the account is read.
const subjectOf = (nric) => {
  const hex = createHash('sha256').update(`sandbox-singpass-subject:${personaOf(nric).uinfin.value}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}
const nricOfSubject = new Map(Object.keys(personas).map((nric) => [subjectOf(nric), nric]))
const logIn = (ctx, nric) =>
  provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: subjectOf(nric) } }, { mergeWithLastSubmission: false })
const personInfo = (sub, scope) => {
  const wanted = new Set(String(scope).split(' '))
  return Object.fromEntries(Object.entries(personaOf(sub)).filter(([name]) => wanted.has(name)))
}

// A Login app's person, as Singpass puts it in the ID token: the identity always, the rest per scope.
const subAttributes = (sub, scope) => {
  const persona = personaOf(sub)
  const wanted = new Set(String(scope).split(' '))
  const mobile = persona.mobileno
  return {
    identity_number: persona.uinfin.value,
    identity_coi: 'SG',
    account_type: 'standard',
    ...(wanted.has('name') && { name: persona.name.value }),
    ...(wanted.has('email') && persona.email?.value && { email: persona.email.value }),
    ...(wanted.has('mobileno') && mobile?.nbr?.value && {
      mobileno: `${mobile.prefix?.value ?? '+'}${mobile.areacode?.value ?? '65'}${mobile.nbr.value}`,
    }),
  }
}

const clientMetadata = (client) => {
  const login = client.app === 'login'
  return {
    client_id: client.client_id,
    redirect_uris: [client.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // Singpass: a Login app may ask only for the Login scopes; a Myinfo app for Data Catalog attributes.
    scope: (login ? LOGIN_SCOPES : ['openid', ...attributes]).join(' '),
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: client.jwks,
    require_pushed_authorization_requests: true,
    dpop_bound_access_tokens: true,
    id_token_signed_response_alg: 'ES256',
    id_token_encrypted_response_alg: 'ECDH-ES+A256KW',
    // Singpass's sample ID token is A256CBC-HS512 (its demo app notes A256GCM): one each, so both are exercised.
    id_token_encrypted_response_enc: login ? 'A256CBC-HS512' : 'A256GCM',
    userinfo_signed_response_alg: 'ES256',
    userinfo_encrypted_response_alg: 'ECDH-ES+A256KW',
    userinfo_encrypted_response_enc: 'A256GCM',
  }
}

// What the server was asked, for the tests (GET /sandbox/calls): never any secret, only request parameters.
const calls = { par: [], id_tokens: [], userinfo: Object.fromEntries([...apps.keys()].map((id) => [id, 0])) }

const invalidRequest = (description) => new errors.InvalidRequest(description)

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [...apps.values()].map(clientMetadata),
  jwks: JSON.parse(process.env.FAPI_PROVIDER_JWKS),
  scopes: [...new Set([...LOGIN_SCOPES, ...attributes])],
  claims: { openid: ['sub'], ...Object.fromEntries(attributes.map((name) => [name, ['person_info']])) },
  acrValues: ['urn:singpass:authentication:loa:1', ACR, 'urn:singpass:authentication:loa:3'],
  findAccount: (ctx, sub) => {
    const nric = nricOfSubject.get(sub) ?? defaultPersona
    return {
      accountId: sub,
      claims: (use, scope) => (use === 'userinfo' ? { sub, person_info: personInfo(nric, scope) } : { sub }),
    }
  },
  // Singpass's PAR parameters of the authentication context, checked per app kind as Singpass does.
  extraParams: {
    authentication_context_type: (ctx, value, client) => {
      const app = apps.get(client.clientId)
      if (app.app !== 'login') {
        if (value !== undefined) throw invalidRequest('authentication_context_type is only allowed for Login apps')
        return
      }
      if (value === undefined) throw invalidRequest('authentication_context_type is required for Login apps')
      if (!app.context_types.includes(value)) {
        throw invalidRequest('Requested authentication context type is not registered')
      }
    },
    authentication_context_message: (ctx, value, client) => {
      if (value === undefined) return
      if (!isLogin(client)) throw invalidRequest('authentication_context_message is only allowed for Login apps')
      if (!CONTEXT_MESSAGE.test(value)) {
        throw invalidRequest('authentication_context_message must be at most 100 letters, digits and spaces')
      }
    },
  },
  cookies: { keys: ['sandbox-only-cookie-signing-key'] },
  pkce: { required: () => true },
  enabledJWA: fapiAlgorithms(['A256GCM', 'A256CBC-HS512']),
  features: fapiFeatures(),
  routes: { authorization: '/auth', pushed_authorization_request: '/par', token: '/token', userinfo: '/userinfo', jwks: '/.well-known/keys' },
  loadExistingGrant: grantWhatIsAsked(['sub', 'person_info']),
})

// The ID token as Singpass sends it, beyond what oidc-provider puts in:
// - `iat` a fractional NumericDate (MockPass 4.6 sends Date.now() / 1000; Singpass types it "Number");
// - `acr` and `amr` of the login (oidc-provider's login page sets none);
// - for a Login app, the person as `sub_attributes`, per the scopes the PAR asked for.
// (oidc-provider's JWT signing keeps an `iat` it is given; `exp` stays iat's whole second plus the lifetime.)
const issue = provider.IdToken.prototype.issue
provider.IdToken.prototype.issue = async function issueAsSingpass(options) {
  if (options?.use === 'idtoken') {
    if (isLogin(this.client)) {
      const code = this.ctx?.oidc?.entities?.AuthorizationCode
      this.set('sub_attributes', subAttributes(nricOfSubject.get(code?.accountId), code?.scope ?? 'openid'))
    }
    this.set('acr', ACR)
    this.set('amr', AMR)
    this.set('iat', Date.now() / 1000)
    const token = await issue.call(this, options)
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())
    calls.id_tokens.push({ client_id: this.client.clientId, alg: header.alg, enc: header.enc, kid: header.kid, iat: this.extra.iat })
    return token
  }
  return issue.call(this, options)
}

recordPushedRequests(provider, calls)

const registeredRedirect = (location) =>
  [...apps.values()].some((app) => location.startsWith(`${app.redirect_uri}?`))

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/sandbox/calls') {
    ctx.body = calls
    return
  }
  // Singpass requires DPoP from the pushed authorization request on; oidc-provider alone would accept none there.
  if (ctx.method === 'POST' && ctx.path === '/par' && !ctx.get('DPoP')) {
    ctx.status = 400
    ctx.body = { error: 'invalid_request', error_description: 'DPoP proof required' }
    return
  }
  // Singpass documents userinfo "applicable only to Myinfo apps": a Login app's access token is refused there.
  if (ctx.path === '/userinfo') {
    const clientId = await userinfoClient(provider, ctx)
    if (clientId) calls.userinfo[clientId] += 1
    if (apps.get(clientId)?.app === 'login') {
      ctx.status = 401
      ctx.set('WWW-Authenticate', 'DPoP error="invalid_token", error_description="userinfo is for Myinfo apps only"')
      ctx.body = { error: 'invalid_token', error_description: 'userinfo is for Myinfo apps only' }
      return
    }
  }
  // Without a login page it logs the persona in at once, unless asked for the page (`X-Show-Login-Page: true`, as
  // MockPass's login pages are).
  const showLoginPage = ctx.get('X-Show-Login-Page') === 'true'
  if (autoLogin && !showLoginPage && ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res)
    if (details.prompt.name === 'login') {
      await logIn(ctx, autoLogin)
      return
    }
  }
  // The login page's form names the person by NRIC; the session holds their Singpass UUID instead.
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+\/login$/.test(ctx.path)) {
    await logIn(ctx, new URLSearchParams(await bodyOf(ctx.req)).get('login') ?? '')
    return
  }
  await next()
  withoutIssParameter(ctx, registeredRedirect)
})

logErrors(provider)

provider.listen(port, '127.0.0.1', () => console.warn(`FAPI 2.0 provider listening on http://127.0.0.1:${port}`))
