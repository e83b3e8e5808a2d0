// One MyInfo v4 login by the official client library (npm myinfo-connector-v4-nodejs) against the emulator:
// authorize as the official demo app does, then getMyInfoPersonData(code, verifier, signing key, [enc keys]).
// Prints the person JSON as the last line of stdout; on failure prints the error to stderr and exits 1.
//
// Environment: MYINFO_V4_URL (the emulator's base URL), CLIENT_ID, REDIRECT_URL, SCOPE, PURPOSE_ID,
// SIGNING_KEY_PATH and ENCRYPTION_KEY_PATH (PEM private keys), CLIENT_ASSERTION_SIGNING_KID (optional).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const connectorPath = require.resolve('myinfo-connector-v4-nodejs')
const MyInfoConnector = require(connectorPath)
const axios = createRequire(connectorPath)('axios') // the very instance the connector sends with

const env = process.env
const base = env.MYINFO_V4_URL
const personUrl = `${base}/com/v4/person`

// The connector sends its person call to https://<hostname><path>, dropping PERSON_URL's scheme and port (its
// DPoP htu keeps PERSON_URL). Send that one request where PERSON_URL points; nothing signed changes.
const { hostname, origin } = new URL(personUrl)
axios.interceptors.request.use((config) => {
  const dropped = `https://${hostname}`
  if (config.url.startsWith(`${dropped}${new URL(personUrl).pathname}/`)) config.url = origin + config.url.slice(dropped.length)
  return config
})

const connector = new MyInfoConnector({
  CLIENT_ID: env.CLIENT_ID,
  REDIRECT_URL: env.REDIRECT_URL,
  SCOPE: env.SCOPE,
  AUTHORIZE_JWKS_URL: `${base}/.well-known/keys.json`,
  MYINFO_JWKS_URL: `${base}/myinfo/.well-known/keys.json`,
  TOKEN_URL: `${base}/com/v4/token`,
  PERSON_URL: personUrl,
  ...(env.CLIENT_ASSERTION_SIGNING_KID ? { CLIENT_ASSERTION_SIGNING_KID: env.CLIENT_ASSERTION_SIGNING_KID } : {}),
  DEBUG_LEVEL: 'error', // anything lower logs tokens and headers
})

// The authorization request as the official demo app builds it (no response_type, no state).
async function authorize(codeChallenge) {
  const url = new URL(`${base}/com/v4/authorize`)
  url.search = new URLSearchParams({
    client_id: env.CLIENT_ID,
    scope: env.SCOPE,
    purpose_id: env.PURPOSE_ID,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    redirect_uri: env.REDIRECT_URL,
  })
  const response = await fetch(url, { redirect: 'manual' })
  const code = new URL(response.headers.get('location') ?? 'about:blank').searchParams.get('code')
  if (response.status !== 302 || !code) throw new Error(`authorize answered ${response.status}: ${await response.text()}`)
  return code
}

try {
  const { codeVerifier, codeChallenge } = connector.generatePKCECodePair()
  const code = await authorize(codeChallenge)
  const person = await connector.getMyInfoPersonData(
    code,
    codeVerifier,
    readFileSync(env.SIGNING_KEY_PATH, 'utf8'),
    [readFileSync(env.ENCRYPTION_KEY_PATH, 'utf8')],
  )
  process.stdout.write(`\n${JSON.stringify(person)}\n`)
} catch (error) {
  console.error('connector login failed:', error instanceof Error ? error.message : JSON.stringify(error))
  process.exitCode = 1
}
