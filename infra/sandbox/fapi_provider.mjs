// A Singpass-like FAPI 2.0 authorization server: npm oidc-provider (OpenID-certified) configured as Singpass's
// FAPI 2.0 API behaves: PAR required, DPoP required from PAR on (with server nonces), private_key_jwt (ES256,
// aud = issuer), ID tokens encrypted (ECDH-ES+A256KW, A256GCM) around ES256, and userinfo as JWE(JWS) carrying
// a MockPass persona as `person_info`. Set from the environment by infra/sandbox/stack.py.
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import Provider from 'oidc-provider'

const require = createRequire(import.meta.url)
const { personas } = require('@opengovsg/mockpass/static/myinfo/v3.json')

const port = Number(process.env.FAPI_PORT)
const autoLogin = process.env.FAPI_AUTO_LOGIN
const defaultPersona = process.env.FAPI_PERSONA
const attributes = [...new Set(Object.values(personas).flatMap((persona) => Object.keys(persona)))]

// The login name chooses a MockPass persona by NRIC; anything else logs in as the default persona.
const personInfo = (sub, scope) => {
  const persona = personas[sub] ?? personas[defaultPersona]
  const wanted = new Set(String(scope).split(' '))
  return Object.fromEntries(Object.entries(persona).filter(([name]) => wanted.has(name)))
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: process.env.FAPI_CLIENT_ID,
      redirect_uris: [process.env.FAPI_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: JSON.parse(process.env.FAPI_CLIENT_JWKS),
      require_pushed_authorization_requests: true,
      dpop_bound_access_tokens: true,
      id_token_signed_response_alg: 'ES256',
      id_token_encrypted_response_alg: 'ECDH-ES+A256KW',
      id_token_encrypted_response_enc: 'A256GCM',
      userinfo_signed_response_alg: 'ES256',
      userinfo_encrypted_response_alg: 'ECDH-ES+A256KW',
      userinfo_encrypted_response_enc: 'A256GCM',
    },
  ],
  jwks: JSON.parse(process.env.FAPI_PROVIDER_JWKS),
  scopes: ['openid', ...attributes],
  claims: { openid: ['sub'], ...Object.fromEntries(attributes.map((name) => [name, ['person_info']])) },
  findAccount: (ctx, sub) => ({
    accountId: sub,
    claims: (use, scope) => (use === 'userinfo' ? { sub, person_info: personInfo(sub, scope) } : { sub }),
  }),
  cookies: { keys: ['sandbox-only-cookie-signing-key'] },
  pkce: { required: () => true },
  enabledJWA: {
    idTokenSigningAlgValues: ['ES256'],
    userinfoSigningAlgValues: ['ES256'],
    idTokenEncryptionAlgValues: ['ECDH-ES+A256KW'],
    idTokenEncryptionEncValues: ['A256GCM'],
    userinfoEncryptionAlgValues: ['ECDH-ES+A256KW'],
    userinfoEncryptionEncValues: ['A256GCM'],
    clientAuthSigningAlgValues: ['ES256'],
    dPoPSigningAlgValues: ['ES256'],
  },
  features: {
    devInteractions: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    encryption: { enabled: true },
    jwtUserinfo: { enabled: true },
    fapi: { enabled: true, profile: '2.0' },
  },
  routes: { authorization: '/auth', pushed_authorization_request: '/par', token: '/token', userinfo: '/userinfo', jwks: '/.well-known/keys' },
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
    grant.addOIDCScope(ctx.oidc.params.scope)
    grant.addOIDCClaims(['sub', 'person_info'])
    await grant.save()
    return grant
  },
})

// Singpass requires DPoP from the pushed authorization request on; oidc-provider alone would accept none there.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/par' && !ctx.get('DPoP')) {
    ctx.status = 400
    ctx.body = { error: 'invalid_request', error_description: 'DPoP proof required' }
    return
  }
  if (autoLogin && ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res)
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: autoLogin } }, { mergeWithLastSubmission: false })
      return
    }
  }
  await next()
})

provider.on('server_error', (ctx, error) => console.error('server_error', error))
for (const event of ['pushed_authorization_request.error', 'grant.error', 'userinfo.error', 'authorization.error']) {
  provider.on(event, (ctx, error) => console.error(event, error.message, error.error_description ?? ''))
}

provider.listen(port, '127.0.0.1', () => console.warn(`FAPI 2.0 provider listening on http://127.0.0.1:${port}`))
