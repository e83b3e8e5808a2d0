// Starts MockPass on loopback only (its own index.js listens on every interface).
//
// sgID is served on MOCKPASS_PORT with MockPass's usual app. MyInfo v3, when MYINFO_PORT is set, gets an app
// of its own on that port: MockPass reads one SERVICE_PROVIDER_PUB_KEY for both sgID's encryption and MyInfo's
// PKI_SIGN checks, but the sandbox's sgID key and MyInfo key are different keys, as they are in production.
const fs = require('fs')
const path = require('path')
const { createRequire } = require('module')
const { app } = require('@opengovsg/mockpass/app')
const express = createRequire(require.resolve('@opengovsg/mockpass/app'))('express') // MockPass's own
const { configOIDC, configMyInfo } = require('@opengovsg/mockpass/lib/express')

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
