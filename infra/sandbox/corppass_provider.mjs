// A Corppass-like FAPI 2.0 authorization server: npm oidc-provider (OpenID-certified) configured as Corppass's
// FAPI 2.0 API behaves (docs and a staging-tested relying party, 2026: /work/shared/reference/corppass-fapi-2026.md):
// issuer without /fapi, Corppass's own endpoint paths (read from discovery), PAR required, DPoP required from PAR on
// (with server nonces), private_key_jwt (ES256, aud = the issuer, at most 2 minutes, jti once), ID tokens encrypted
// (ECDH-ES+A256KW / A256CBC-HS512) around ES256, userinfo a JWE (A256GCM) around an ES256 JWS.
//
// A Corppass login is a login on behalf of a business: the ID token's `sub` is the entity (its UEN, or a Corppass
// entity id for a NON-UEN entity, `sub_type: entity`) and the person is `act` (a UUID, `sub_type: user`).
// It serves Corppass's two kinds of app, one registered client each (CORPPASS_CLIENTS, set by infra/sandbox/corppass.py):
// - a Corppass Login app: `authentication_context_type` mandatory at PAR (allow-listed APP_AUTHENTICATION_DEFAULT),
//   the Login scopes only, userinfo carrying the e-service authorisations (`auth_info`, `tp_auth_info`);
// - a Myinfo Business app: `authentication_context_type` refused, userinfo carrying `entity_info`, `person_info` (the
//   acting user, a MockPass persona) and `corppass_info`.
// As Corppass staging does, every userinfo block is sent as a JSON string (and one nested object is a string too).
// CORPPASS_USERINFO_SUB=client_id makes userinfo's `sub` the client_id (the older behaviour some report).
// CORPPASS_PATH_PREFIX puts every endpoint under another path (to catch relying parties that hardcode paths).
// The login page's name chooses the acting user and the entity: "S9812381D@201912345K", "S9812381D" (the default
// entity) or "@NUEN00000123X" (the default user). GET /sandbox/calls tells the tests what happened; POST
// /sandbox/next-login {"login": …} chooses whom the next automatic login (no login page) logs in.
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { CompactEncrypt, CompactSign, importJWK } from 'jose'
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
const { personas } = require('@opengovsg/mockpass/static/myinfo/v3.json')

const port = Number(process.env.CORPPASS_PORT)
const autoLogin = process.env.CORPPASS_AUTO_LOGIN
const defaultUser = process.env.CORPPASS_PERSONA
const userinfoSubIsClientId = process.env.CORPPASS_USERINFO_SUB === 'client_id'
const prefix = process.env.CORPPASS_PATH_PREFIX ?? ''
const apps = new Map(JSON.parse(process.env.CORPPASS_CLIENTS).map((client) => [client.client_id, client]))
const providerJwks = JSON.parse(process.env.CORPPASS_PROVIDER_JWKS)
const issuer = `http://127.0.0.1:${port}`
const attributes = [...new Set(Object.values(personas).flatMap((persona) => Object.keys(persona)))]

const ROUTES = {
  pushed_authorization_request: `${prefix}/request`,
  authorization: `${prefix}/mga/sps/oauth/oauth20/authorize`,
  token: `${prefix}/mga/sps/oauth/oauth20/token`,
  userinfo: `${prefix}/userinfo`,
  jwks: `${prefix}/.well-known/keys`,
}
const LOGIN_SCOPES = [
  'openid',
  'entity.identity',
  'entity.basic_profile.name',
  'entity.basic_profile.uen_status',
  'user.identity',
  'user.name',
  'authinfo',
  'tpauthinfo',
]
const ENTITY_BLOCKS = ['address', 'history', 'appointments', 'shareholders', 'capitals', 'financials', 'grants', 'licences']
const BASIC_PROFILE = ['name', 'uen_status', 'entity_type', 'registration_number', 'company_type', 'registration_date', 'primary_activity']
const MIB_SCOPES = [
  ...LOGIN_SCOPES,
  ...BASIC_PROFILE.map((field) => `entity.basic_profile.${field}`),
  ...ENTITY_BLOCKS.map((block) => `entity.${block}`),
  ...attributes.map((name) => `user.${name}`),
  'corppass.email',
]
const CONTEXT_MESSAGE = /^[A-Za-z0-9 ]{1,100}$/
const ASSERTION_LIFETIME = 120
const OPEN_ENDED = '9999-12-31'

// The sandbox's businesses. Corppass's `sub` is the UEN of a UEN entity, and a Corppass-issued entity id of a
// NON-UEN one (a foreign company, say). The authorisations are per acting user; users without any have none.
const ENTITIES = {
  '201912345K': {
    id: '201912345K',
    type: 'UEN',
    reg_number: '201912345K',
    coi: 'SG',
    name: 'ACME PTE. LTD.',
    uen_status: 'Registered',
    company_type: { code: 'PRIVATE', desc: 'PRIVATE COMPANY LIMITED BY SHARES' },
    registration_date: '2019-04-01',
    primary_activity: { code: '62011', desc: 'DEVELOPMENT OF SOFTWARE AND APPLICATIONS' },
    address: { type: 'SG', block: '1', street: 'FUSIONOPOLIS WAY', floor: '10', unit: '01', building: 'CONNEXIS', postal: '138632' },
    authorisations: {
      // several e-services and rows: an open-ended role, a dated one with parameters, a Sub-UEN not yet set
      S9812381D: [
        {
          CPESrvcID: 'SANDBOX-GST-FILING',
          rows: [
            { CPEntID_SUB: '', CPRole: 'Approver', StartDate: '2024-01-01', EndDate: OPEN_ENDED, Parameter: [] },
            {
              CPEntID_SUB: '201912345K-01',
              CPRole: 'Preparer',
              StartDate: '2025-06-01',
              EndDate: '2027-05-31',
              Parameter: [{ name: 'Branch', value: 'Jurong' }, { name: 'Limit', value: '5000' }],
            },
          ],
        },
        {
          CPESrvcID: 'SANDBOX-PERMITS',
          rows: [{ CPEntID_SUB: 'ERROR_MISSING_VALUE', CPRole: 'Viewer', StartDate: '2025-01-01', EndDate: OPEN_ENDED, Parameter: [] }],
        },
        { CPESrvcID: 'SANDBOX-GRANTS', rows: [] },
      ],
    },
    third_party: {
      S9812381D: [
        {
          CPESrvcID: 'SANDBOX-GST-FILING',
          rows: [{ CPEntID_SUB: '53312345A', CPRole: 'Tax Agent', StartDate: '2025-03-01', EndDate: OPEN_ENDED, Parameter: [] }],
        },
      ],
    },
    appointments: [{ name: 'TAN HENG HUAT', idno: 'S9812381D', position: { code: '01', desc: 'DIRECTOR' }, date: '2019-04-01' }],
  },
  NUEN00000123X: {
    id: 'NUEN00000123X',
    type: 'NON-UEN',
    reg_number: 'MY-201901012345',
    coi: 'MY',
    name: 'GLOBEX SDN. BHD.',
    authorisations: {
      S9812381D: [
        {
          CPESrvcID: 'SANDBOX-GST-FILING',
          rows: [{ CPEntID_SUB: '', CPRole: 'Preparer', StartDate: '2026-01-01', EndDate: '2026-12-31', Parameter: [] }],
        },
      ],
    },
    third_party: {},
    appointments: [],
  },
}
const DEFAULT_ENTITY = '201912345K'

const scopesOf = (scope) => new Set(String(scope ?? 'openid').split(' '))
const personaOf = (nric) => personas[nric] ?? personas[defaultUser]
const nricOf = (nric) => (personas[nric] ? nric : defaultUser)
const entityOf = (id) => ENTITIES[id] ?? ENTITIES[DEFAULT_ENTITY]

// The acting user's Corppass UUID: one per person, stable, never the NRIC.
const userSubject = (nric) => {
  const hex = createHash('sha256').update(`sandbox-corppass-user:${personaOf(nric).uinfin.value}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

// oidc-provider's account id carries both the entity and the acting user; the ID token's `sub` is the entity alone.
const accountIdOf = (login) => {
  const [user, entity] = String(login ?? '').split('@')
  return `${entityOf(entity).id}|${nricOf(user)}`
}
const parseAccount = (accountId) => {
  const [entity, nric] = String(accountId ?? '').split('|')
  return { entity: entityOf(entity), nric: nricOf(nric) }
}

let nextLogins = []
const logIn = (ctx, login) =>
  provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: accountIdOf(login) } }, { mergeWithLastSubmission: false })

// The entity in the ID token, per scope.
const entityAttributes = (entity, wanted) => ({
  ...(wanted.has('entity.identity') && { entity_type: entity.type, entity_reg_number: entity.reg_number, entity_coi: entity.coi }),
  ...(wanted.has('entity.basic_profile.name') && { entity_name: entity.name }),
  ...(wanted.has('entity.basic_profile.uen_status') && entity.uen_status && { entity_uen_status: entity.uen_status }),
})

// The acting user in the ID token's `act`, per scope.
const userAttributes = (nric, wanted) => {
  const persona = personaOf(nric)
  return {
    ...(wanted.has('user.identity') && { account_type: 'standard', identity_number: persona.uinfin.value, identity_coi: 'SG' }),
    ...(wanted.has('user.name') && { name: persona.name.value }),
  }
}

// auth_info / tp_auth_info in Corppass's Result_Set shape (a count of 0 with an empty array when there is none).
const resultSet = (services = []) => ({
  Result_Set: {
    ESrvc_Row_Count: services.length,
    ESrvc_Result: services.map((service) => ({
      CPESrvcID: service.CPESrvcID,
      Auth_Result_Set: { Row_Count: service.rows.length, Row: service.rows },
    })),
  },
})

// Myinfo value envelopes, as Myinfo Business sends them.
const SOURCE = { source: '1', classification: 'C', lastupdated: '2026-01-15' }
const value = (v) => ({ value: v, ...SOURCE })
const coded = (c) => ({ ...c, ...SOURCE })
const entityInfo = (entity, wanted) => {
  const asked = (block) => [...wanted].some((scope) => scope === `entity.${block}` || scope.startsWith(`entity.${block}.`))
  const profile = {
    ...(wanted.has('entity.basic_profile.name') && { entity_name: value(entity.name) }),
    ...(wanted.has('entity.basic_profile.uen_status') && { uen_status: entity.uen_status ? value(entity.uen_status) : { unavailable: true } }),
    ...((wanted.has('entity.basic_profile.registration_number') || wanted.has('entity.identity')) && { uen: value(entity.reg_number) }),
    ...(wanted.has('entity.basic_profile.entity_type') && { entity_type: value(entity.type) }),
    ...(wanted.has('entity.basic_profile.company_type') && { company_type: entity.company_type ? coded(entity.company_type) : { unavailable: true } }),
    ...(wanted.has('entity.basic_profile.registration_date') && { registration_date: entity.registration_date ? value(entity.registration_date) : { unavailable: true } }),
    ...(wanted.has('entity.basic_profile.primary_activity') && { primary_activity: entity.primary_activity ? coded(entity.primary_activity) : { unavailable: true } }),
  }
  const address = entity.address && {
    type: entity.address.type,
    ...Object.fromEntries(Object.entries(entity.address).filter(([name]) => name !== 'type').map(([name, v]) => [name, { value: v }])),
    country: { code: 'SG', desc: 'SINGAPORE' },
    ...SOURCE,
  }
  return {
    ...(Object.keys(profile).length && { basic_profile: profile }),
    // staging sends some nested objects as strings too: the address is one
    ...(asked('address') && { address: address ? JSON.stringify(address) : { unavailable: true } }),
    ...(asked('appointments') && {
      appointments: entity.appointments.map((a) => ({
        'person-reference': { idno: value(a.idno), 'person-name': value(a.name) },
        category: coded({ code: '1', desc: 'INDIVIDUAL' }),
        position: coded(a.position),
        'appointment-date': value(a.date),
      })),
    }),
    ...Object.fromEntries(['history', 'shareholders', 'capitals', 'financials', 'grants', 'licences'].filter(asked).map((block) => [block, block === 'history' ? {} : []])),
  }
}
const personInfo = (nric, wanted) =>
  Object.fromEntries(Object.entries(personaOf(nric)).filter(([name]) => wanted.has(`user.${name}`)))
// The user's Corppass email (made from their name, never their NRIC).
const corppassInfo = (nric) => ({
  email: `${personaOf(nric).name.value.toLowerCase().replace(/[^a-z]+/g, '.')}@acme.example`,
  email_verified: true,
})

const clientMetadata = (client) => {
  const login = client.app === 'login'
  return {
    client_id: client.client_id,
    redirect_uris: [client.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    scope: (login ? LOGIN_SCOPES : MIB_SCOPES).join(' '),
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: client.jwks,
    require_pushed_authorization_requests: true,
    dpop_bound_access_tokens: true,
    id_token_signed_response_alg: 'ES256',
    id_token_encrypted_response_alg: 'ECDH-ES+A256KW',
    id_token_encrypted_response_enc: 'A256CBC-HS512',
    userinfo_signed_response_alg: 'ES256',
    userinfo_encrypted_response_alg: 'ECDH-ES+A256KW',
    userinfo_encrypted_response_enc: 'A256GCM',
  }
}

// What the server was asked, for the tests (GET /sandbox/calls): never any secret, only request parameters.
const calls = { par: [], id_tokens: [], userinfo: Object.fromEntries([...apps.keys()].map((id) => [id, 0])), userinfo_responses: [] }

const invalidRequest = (description) => new errors.InvalidRequest(description)

const provider = new Provider(issuer, {
  clients: [...apps.values()].map(clientMetadata),
  jwks: providerJwks,
  scopes: [...new Set([...LOGIN_SCOPES, ...MIB_SCOPES])],
  claims: { openid: ['sub'] },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  extraParams: {
    authentication_context_type: (ctx, value, client) => {
      const app = apps.get(client.clientId)
      if (app.app !== 'login') {
        if (value !== undefined) throw invalidRequest('authentication_context_type is not allowed for Myinfo Business apps')
        return
      }
      if (value === undefined) throw invalidRequest('authentication_context_type is required for Corppass Login apps')
      if (!app.context_types.includes(value)) throw invalidRequest('authentication_context_type is not allow-listed for this app')
    },
    authentication_context_message: (ctx, value, client) => {
      if (value === undefined) return
      if (apps.get(client.clientId)?.app !== 'login') {
        throw invalidRequest('authentication_context_message is not allowed for Myinfo Business apps')
      }
      if (!CONTEXT_MESSAGE.test(value)) {
        throw invalidRequest('authentication_context_message must be at most 100 letters, digits and spaces')
      }
    },
  },
  // Corppass: the assertion's aud is the issuer (not the endpoint) and it lives at most 2 minutes.
  assertJwtClientAuthClaimsAndHeader: (ctx, claims) => {
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (aud.length !== 1 || aud[0] !== issuer) throw new errors.InvalidClientAuth('client_assertion aud must be the issuer')
    if (typeof claims.iat !== 'number' || claims.exp - claims.iat > ASSERTION_LIFETIME) {
      throw new errors.InvalidClientAuth('client_assertion must have an iat and live at most 2 minutes')
    }
  },
  cookies: { keys: ['sandbox-only-cookie-signing-key'] },
  pkce: { required: () => true },
  ttl: { AccessToken: 600, AuthorizationCode: 60, PushedAuthorizationRequest: 60, IdToken: 600 },
  enabledJWA: fapiAlgorithms(['A256CBC-HS512']),
  features: fapiFeatures(),
  routes: ROUTES,
  loadExistingGrant: grantWhatIsAsked(['sub']),
})

// The client's first `use: enc` key, as Corppass picks it from the registered JWKS.
const encryptionKeyOf = (clientId) => apps.get(clientId).jwks.keys.find((key) => key.use === 'enc')
const signingJwk = providerJwks.keys.find((key) => key.alg === 'ES256')
const signingKey = await importJWK(signingJwk, 'ES256')

// Userinfo as Corppass staging sends it: an ES256 JWS of {iss, aud, iat, exp, sub, blocks…}, each block a JSON
// string, encrypted ECDH-ES+A256KW / A256GCM to the client's first enc key with `typ: JWE` and no `cty`.
const userinfoJwe = async (client, accessToken) => {
  const { entity, nric } = parseAccount(accessToken.accountId)
  const wanted = scopesOf(accessToken.scope)
  const mib = apps.get(client.clientId).app !== 'login'
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    iss: issuer,
    aud: client.clientId,
    iat: now,
    exp: now + 600,
    sub: userinfoSubIsClientId ? client.clientId : entity.id,
    ...(wanted.has('authinfo') && { auth_info: JSON.stringify(resultSet(entity.authorisations[nric])) }),
    ...(wanted.has('tpauthinfo') && { tp_auth_info: JSON.stringify(resultSet(entity.third_party[nric])) }),
  }
  if (mib) {
    const entityBlock = entityInfo(entity, wanted)
    if (Object.keys(entityBlock).length) claims.entity_info = JSON.stringify(entityBlock)
    const person = personInfo(nric, wanted)
    if (Object.keys(person).length) claims.person_info = JSON.stringify(person)
    if (wanted.has('corppass.email')) claims.corppass_info = JSON.stringify(corppassInfo(nric))
  }
  const jws = await new CompactSign(Buffer.from(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: signingJwk.kid })
    .sign(signingKey)
  const recipient = encryptionKeyOf(client.clientId)
  const header = { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: recipient.kid, typ: 'JWE' }
  calls.userinfo_responses.push({ client_id: client.clientId, ...header, claims: Object.keys(claims).sort() })
  return new CompactEncrypt(Buffer.from(jws))
    .setProtectedHeader(header)
    .encrypt(await importJWK({ ...recipient, alg: 'ECDH-ES+A256KW' }, 'ECDH-ES+A256KW'))
}

// The ID token as Corppass sends it: `sub` the entity with its `sub_attributes`, `act` the user, per scope.
const issue = provider.IdToken.prototype.issue
provider.IdToken.prototype.issue = async function issueAsCorppass(options) {
  if (options?.use === 'userinfo') return userinfoJwe(this.client, this.ctx.oidc.accessToken)
  if (options?.use !== 'idtoken') return issue.call(this, options)
  const code = this.ctx?.oidc?.entities?.AuthorizationCode
  const { entity, nric } = parseAccount(code?.accountId)
  const wanted = scopesOf(code?.scope)
  this.set('sub', entity.id)
  this.set('sub_type', 'entity')
  this.set('sub_attributes', entityAttributes(entity, wanted))
  this.set('act', { sub: userSubject(nric), sub_type: 'user', sub_attributes: userAttributes(nric, wanted) })
  const token = await issue.call(this, options)
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())
  calls.id_tokens.push({
    client_id: this.client.clientId,
    alg: header.alg,
    enc: header.enc,
    kid: header.kid,
    cty: header.cty,
    iss: header.iss,
    aud: header.aud,
    sub: entity.id,
    act_sub: userSubject(nric),
  })
  return token
}

recordPushedRequests(provider, calls)
const registeredRedirect = (location) => [...apps.values()].some((app) => location.startsWith(`${app.redirect_uri}?`))

provider.use(async (ctx, next) => {
  if (ctx.path === '/sandbox/calls' && ctx.method === 'GET') {
    ctx.body = calls
    return
  }
  if (ctx.path === '/sandbox/next-login' && ctx.method === 'POST') {
    nextLogins.push(JSON.parse(await bodyOf(ctx.req)).login)
    ctx.status = 204
    return
  }
  // Corppass requires DPoP from the pushed authorization request on; oidc-provider alone would accept none there.
  if (ctx.method === 'POST' && ctx.path === ROUTES.pushed_authorization_request && !ctx.get('DPoP')) {
    ctx.status = 400
    ctx.body = { error: 'invalid_dpop_proof', error_description: 'DPoP proof required' }
    return
  }
  if (ctx.path === ROUTES.userinfo) {
    const clientId = await userinfoClient(provider, ctx)
    if (clientId) calls.userinfo[clientId] += 1
    // Corppass answers a Bearer access token with a bare 401.
    if (/^Bearer /i.test(ctx.get('Authorization'))) {
      ctx.status = 401
      ctx.body = ''
      return
    }
  }
  if (autoLogin && ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res)
    if (details.prompt.name === 'login') {
      await logIn(ctx, nextLogins.shift() ?? details.params.login_hint ?? autoLogin)
      return
    }
  }
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+\/login$/.test(ctx.path)) {
    await logIn(ctx, new URLSearchParams(await bodyOf(ctx.req)).get('login') ?? '')
    return
  }
  await next()
  withoutIssParameter(ctx, registeredRedirect)  // the docs show redirect_uri?code&state
})

logErrors(provider)

provider.listen(port, '127.0.0.1', () => console.warn(`Corppass FAPI 2.0 provider listening on ${issuer}`))
