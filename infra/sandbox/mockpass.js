// Starts MockPass on loopback only (its own index.js listens on every interface).
//
// sgID is served on MOCKPASS_PORT with MockPass's usual app. MyInfo v3, when MYINFO_PORT is set, gets an app
// of its own on that port: MockPass reads one SERVICE_PROVIDER_PUB_KEY for both sgID's encryption and MyInfo's
// PKI_SIGN checks, but the sandbox's sgID key and MyInfo key are different keys, as they are in production.
//
// MOCKPASS_EXTRA_PERSONAS (optional): path of a JSON file {NRIC: persona} of MyInfo v3 personas besides MockPass's
// (infra/sandbox/personas.py's large people), added to MockPass's in-memory data and offered on MyInfo v3's login
// page only (sgID's page keeps MockPass's own list).
const fs = require('fs')
const path = require('path')
const { createRequire } = require('module')
const { app } = require('@opengovsg/mockpass/app')
const express = createRequire(require.resolve('@opengovsg/mockpass/app'))('express') // MockPass's own
const { configOIDC, configMyInfo } = require('@opengovsg/mockpass/lib/express')
const assertions = require('@opengovsg/mockpass/lib/assertions') // MockPass's personas, read by every request

const port = Number(process.env.MOCKPASS_PORT || 5156)
app.listen(port, '127.0.0.1', () => console.warn(`MockPass listening on http://127.0.0.1:${port}`))

if (process.env.MYINFO_PORT) {
  const myinfo = express()
  const options = {
    serviceProvider: {
      cert: fs.readFileSync(process.env.MYINFO_CLIENT_CERT_PATH), // person data is encrypted to this
      pubKey: fs.readFileSync(process.env.MYINFO_CLIENT_PUB_KEY), // PKI_SIGN signatures verify with this
    },
    showLoginPage: (req) => (req.header('X-Show-Login-Page') || process.env.SHOW_LOGIN_PAGE) === 'true',
    encryptMyInfo: true,
    cryptoConfig: {},
    isStateless: false,
  }
  if (process.env.MOCKPASS_EXTRA_PERSONAS) {
    const extra = JSON.parse(fs.readFileSync(process.env.MOCKPASS_EXTRA_PERSONAS, 'utf8'))
    Object.assign(assertions.myinfo.v3.personas, extra) // consent and /person look people up here by NRIC
    // MockPass's login pages list assertions.oidc.singPass as it is when an app is configured: sgID's app was, with
    // MockPass's list; the MyInfo app gets a longer one.
    const added = Object.entries(extra).map(([nric, persona]) => ({ nric, uuid: persona.uuid.value }))
    assertions.oidc.singPass = [...assertions.oidc.singPass, ...added]
  }
  configOIDC(myinfo, options) // MyInfo's consent starts with a Singpass login
  configMyInfo.consent(myinfo, options)
  configMyInfo.v3(myinfo, options)
  myinfo.use(express.static(path.join(path.dirname(require.resolve('@opengovsg/mockpass/app')), 'public')))
  myinfo.use((error, req, res, next) => {
    // A bad request (e.g. an unknown code at /token) must not kill the process or print request data.
    console.warn(`MyInfo v3 request failed: ${error.name}`)
    res.status(500).send({ code: 500, message: 'Internal error' })
  })
  const myinfoPort = Number(process.env.MYINFO_PORT)
  myinfo.listen(myinfoPort, '127.0.0.1', () => console.warn(`MockPass MyInfo v3 on http://127.0.0.1:${myinfoPort}`))
}
