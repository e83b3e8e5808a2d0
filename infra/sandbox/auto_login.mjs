// For the tests: an oidc-provider that logs an account in at once instead of showing its sign-in page, as the
// plain OIDC and OAuth 2.0 servers of the sandbox do when their *_AUTO_LOGIN names one. (The Singpass and Corppass
// servers pick personas and entities per login, so they have their own.)

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
