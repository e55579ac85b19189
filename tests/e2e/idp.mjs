// The organisation's identity provider for the browser test: `oidc-provider` (a certified OpenID
// provider, pinned in package-lock.json) on loopback, with its own login and consent pages (any
// login, any password). Two clients: us as the organisation's SSO, and us as a social login.
// Usage: node idp.mjs PORT KID REDIRECT_URI   (a new KID is a rotated signing key)
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, kid, redirect] = process.argv.slice(2);
const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const client = (id, secret) => ({
  client_id: id, client_secret: secret, redirect_uris: [redirect],
  response_types: ['code'], grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
});
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [client('staff-mfa-corp', 'corp secret'), client('staff-mfa-social', 'social secret')],
  jwks: { keys: [{ ...key, kid, alg: 'RS256', use: 'sig' }] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  pkce: { required: () => true },
  cookies: { keys: ['browser-test-only'] },
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${kid}`));
