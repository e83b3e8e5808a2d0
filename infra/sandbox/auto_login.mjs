// What the sandbox's oidc-provider servers do in place of a person: log an account in at once instead of showing
// the sign-in page, as the plain OIDC and OAuth 2.0 servers do when their *_AUTO_LOGIN names one (the Singpass and
// Corppass servers pick personas and entities per login, so they have their own), and grant a first-party client
// what it asks for instead of showing a consent page.

/** Finish every login interaction as `accountId`, before oidc-provider's own sign-in page would be shown. */
export const logInAutomatically = (provider, accountId) => {
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(ctx.req, ctx.res)
      if (details.prompt.name === 'login') {
        await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId } }, { mergeWithLastSubmission: false })
        return
      }
    }
    await next()
  })
}

/**
 * A `loadExistingGrant` for a first-party client: the scopes the request asks for and the claims named, as the
 * person would grant them on the consent page.
 */
export const grantWhatIsAsked = (claims) => async (ctx) => {
  const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
  grant.addOIDCScope(ctx.oidc.params.scope)
  grant.addOIDCClaims(claims)
  await grant.save()
  return grant
}
