// A plain OAuth 2.0 authorization server (npm oidc-provider, which is an OAuth 2.0 server too) on loopback, playing
// seed 004's provider: the authorization-code flow with no `openid` scope, so no ID token and no nonce, and an access
// token that "contains user information and permissions". Set from the environment by infra/sandbox/oauth2.py.
//
// Two clients, one per way a gateway learns who logged in:
// - OAUTH2_JWT_CLIENT gets RFC 9068 JWT access tokens (typ at+jwt, ES256) for the API OAUTH2_API, carrying the
//   user's name, email and permissions (extraTokenClaims), and rotating refresh tokens;
// - OAUTH2_OPAQUE_CLIENT gets opaque access tokens, which the user endpoint (GET /api/user, GitHub's /user shape:
//   an integer `id`) and RFC 7662 introspection answer for, and refresh tokens; it is registered without PKCE.
// Both use client_secret_basic or client_secret_post, and RFC 7009 revocation. RFC 8414 metadata is served at
// /.well-known/oauth-authorization-server, with RFC 9207's `iss` in every authorization response.
// The sign-in and consent pages are oidc-provider's own; OAUTH2_AUTO_LOGIN (tests) logs that account in and
// consents for it without showing either.
import Provider from 'oidc-provider'

import { logInAutomatically } from './auto_login.mjs'

const port = Number(process.env.OAUTH2_PORT)
const autoLogin = process.env.OAUTH2_AUTO_LOGIN
const api = process.env.OAUTH2_API
const jwtClient = JSON.parse(process.env.OAUTH2_JWT_CLIENT)
const opaqueClient = JSON.parse(process.env.OAUTH2_OPAQUE_CLIENT)
const API_SCOPES = 'orders:read orders:refund'

// The MockPass persona S9812381D as a company directory would hold them; the sign-in form accepts any name.
const ACCOUNTS = {
  'tan-heng-huat': { id: 1001, name: 'TAN HENG HUAT', email: 'myinfotesting@gmail.com', permissions: ['orders:read', 'orders:refund'] },
}
const accountOf = (login) => {
  const known = ACCOUNTS[login]
  if (known) return known
  const id = 2000 + [...login].reduce((sum, char) => (sum * 31 + char.codePointAt(0)) % 1_000_000, 7)
  return { id, name: login.toUpperCase(), email: `${login}@example.com`, permissions: ['orders:read'] }
}

const registered = (client) => ({
  client_id: client.client_id,
  client_secret: client.client_secret,
  redirect_uris: [client.redirect_uri],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: client.token_endpoint_auth_method,
  id_token_signed_response_alg: 'ES256', // the server's one key; it issues no ID token to these clients anyway
})

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [registered(jwtClient), registered(opaqueClient)],
  scopes: ['orders:read', 'orders:refund'],
  claims: { openid: ['sub'] },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  cookies: { keys: ['sandbox-only-cookie-signing-key'] },
  jwks: JSON.parse(process.env.OAUTH2_SIGNING_JWKS),
  // PKCE is the gateway's default; the opaque-token client is the "switched off" case, as for a server that
  // refuses parameters it does not know.
  pkce: { required: (ctx, client) => client.clientId !== opaqueClient.client_id },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The JWT client's tokens are for the API without asking (as Auth0's default audience); the opaque
      // client's are for no API, so they stay opaque.
      defaultResource: (ctx, client) => (client.clientId === jwtClient.client_id ? api : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => {
        if (resource !== api || client.clientId !== jwtClient.client_id) throw new Provider.errors.InvalidTarget()
        return { scope: API_SCOPES, audience: api, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } } }
      },
    },
  },
  // "The access token contains user information and permissions" (seed 004): into JWT access tokens only.
  extraTokenClaims: (ctx, token) => {
    if (token.kind !== 'AccessToken' || !token.resourceServer) return undefined
    const { name, email, permissions } = accountOf(token.accountId)
    return { name, email, permissions }
  },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ...(autoLogin ? { loadExistingGrant: consentedGrant } : {}),
})

// Tests log in without pages: the grant a person would give on the consent page, for whatever was asked.
async function consentedGrant(ctx) {
  const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
  const asked = ctx.oidc.params.scope ?? ''
  grant.addOIDCScope(asked)
  if (ctx.oidc.client.clientId === jwtClient.client_id) grant.addResourceScope(api, asked || API_SCOPES)
  await grant.save()
  return grant
}

// The user endpoint: an API the opaque token opens, naming the user by an integer id (GitHub's GET /user).
provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || ctx.path !== '/api/user') return next()
  const token = (ctx.get('Authorization').match(/^Bearer (.+)$/) ?? [])[1]
  const found = token && (await provider.AccessToken.find(token))
  if (!found || found.isExpired) {
    ctx.status = 401
    ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"')
    ctx.body = { message: 'Bad credentials' }
    return
  }
  const { id, name, email } = accountOf(found.accountId)
  ctx.body = { id, login: found.accountId, name, email }
})

if (autoLogin) logInAutomatically(provider, autoLogin)

for (const event of ['grant.error', 'authorization.error', 'introspection.error', 'revocation.error', 'server_error']) {
  provider.on(event, (ctx, error) => console.error(event, error.message, error.error_description ?? ''))
}

provider.listen(port, '127.0.0.1', () => console.warn(`OAuth 2.0 server listening on http://127.0.0.1:${port}`))
