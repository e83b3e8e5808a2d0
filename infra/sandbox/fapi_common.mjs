// What the sandbox's Singpass (fapi_provider.mjs) and Corppass (corppass_provider.mjs) servers share: both are
// npm oidc-provider patched to behave as the two FAPI 2.0 APIs do, and these patches are the same for both.
import { randomBytes } from 'node:crypto'

/** A request's whole body as text (the login page's form, the sandbox's own control calls). */
export const bodyOf = async (req) => {
  let text = ''
  for await (const chunk of req) text += chunk
  return text
}

/**
 * After the response is made: neither Singpass nor Corppass (nor MockPass 4.6) sends RFC 9207's `iss` in the
 * authorization response (the callback is redirect_uri?code&state), and discovery does not promise it.
 * @param {(location: string) => boolean} registeredRedirect whether a Location is a registered client's callback
 */
export const withoutIssParameter = (ctx, registeredRedirect) => {
  const location = ctx.response.get('Location')
  if (location && registeredRedirect(location)) {
    const url = new URL(location)
    if (url.searchParams.has('iss')) {
      url.searchParams.delete('iss')
      ctx.redirect(url.href)
    }
  }
  if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
    delete ctx.body.authorization_response_iss_parameter_supported
  }
}

/** Every refusal and failure on the server's log, for a developer reading .sandbox-logs/. */
export const logErrors = (provider) => {
  provider.on('server_error', (ctx, error) => console.error('server_error', error))
  for (const event of ['pushed_authorization_request.error', 'grant.error', 'userinfo.error', 'authorization.error']) {
    provider.on(event, (ctx, error) => console.error(event, error.message, error.error_description ?? ''))
  }
}

/** Each accepted pushed authorization request's parameters, for the tests (GET /sandbox/calls): no secret. */
export const recordPushedRequests = (provider, calls) => {
  provider.on('pushed_authorization_request.success', (ctx) => {
    const { params, client } = ctx.oidc
    calls.par.push({
      client_id: client.clientId,
      scope: params.scope,
      authentication_context_type: params.authentication_context_type,
      authentication_context_message: params.authentication_context_message,
      acr_values: params.acr_values,
    })
  })
}

/** Whose access token a userinfo call carries (undefined when it is no valid token of this server). */
export const userinfoClient = async (provider, ctx) => {
  const [, token] = /^(?:DPoP|Bearer) (.+)$/.exec(ctx.get('Authorization')) ?? []
  const accessToken = token && (await provider.AccessToken.find(token))
  return accessToken?.clientId
}

/**
 * The algorithms both APIs use: ES256 everywhere, ECDH-ES+A256KW key wrapping, A256GCM userinfo; the ID token's
 * content encryption is the one thing each server chooses (Singpass's sample A256CBC-HS512; its demo A256GCM).
 */
export const fapiAlgorithms = (idTokenEncryptionEncValues) => ({
  idTokenSigningAlgValues: ['ES256'],
  userinfoSigningAlgValues: ['ES256'],
  idTokenEncryptionAlgValues: ['ECDH-ES+A256KW'],
  idTokenEncryptionEncValues,
  userinfoEncryptionAlgValues: ['ECDH-ES+A256KW'],
  userinfoEncryptionEncValues: ['A256GCM'],
  clientAuthSigningAlgValues: ['ES256'],
  dPoPSigningAlgValues: ['ES256'],
})

/** FAPI 2.0 as both run it: PAR required, DPoP with server nonces, encrypted and JWT userinfo, a login page. */
export const fapiFeatures = () => ({
  devInteractions: { enabled: true },
  pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
  dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
  encryption: { enabled: true },
  jwtUserinfo: { enabled: true },
  fapi: { enabled: true, profile: '2.0' },
})
