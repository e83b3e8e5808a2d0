// A certified OpenID Provider (npm oidc-provider) on loopback, standing in for "any standard OIDC provider":
// one confidential client with client_secret_basic, PKCE and refresh tokens. Set from the environment by
// infra/sandbox/stack.py. OIDC_AUTO_LOGIN (tests) logs that account in without showing the sign-in form.
import Provider from 'oidc-provider'

import { grantWhatIsAsked, logInAutomatically } from './auto_login.mjs'

const port = Number(process.env.OIDC_PORT)
const autoLogin = process.env.OIDC_AUTO_LOGIN

// The MockPass persona S9812381D, as standard OIDC claims; the sign-in form accepts any login name as sub.
const personaClaims = (sub) => ({
  sub,
  name: 'TAN HENG HUAT',
  birthdate: '1998-06-06',
  gender: 'female',
  email: 'myinfotesting@gmail.com',
  email_verified: true,
  phone_number: '+65 97399245',
  address: { formatted: '102 BEDOK NORTH AVENUE 4\n#09-128\nSINGAPORE 460102', country: 'SG' },
})

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    profile: ['name', 'birthdate', 'gender'],
    email: ['email', 'email_verified'],
    phone: ['phone_number'],
    address: ['address'],
  },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => personaClaims(sub) }),
  cookies: { keys: ['sandbox-only-cookie-signing-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
  // Refresh tokens without offline_access/prompt=consent ceremonies, rotated on every use (seed 004's provider).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  // The sandbox's only client is first-party: grant what it asks for instead of showing a consent screen.
  loadExistingGrant: grantWhatIsAsked(['sub']),
})

if (autoLogin) logInAutomatically(provider, autoLogin)

provider.listen(port, '127.0.0.1', () => console.warn(`oidc-provider listening on http://127.0.0.1:${port}`))
