// The organisation's identity provider for the browser test: `oidc-provider` (a certified OpenID
// provider, pinned in package-lock.json) on loopback, with its own login and consent pages (any
// login, any password). Two clients: us as the organisation's SSO, and us as a social login.
// Usage: node idp.mjs PORT KID FEDERATED_BASE   (a new KID is a rotated signing key; each client's
// redirect URI is FEDERATED_BASE/<our provider id>/callback: one per provider, as we register them)
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, kid, federatedBase] = process.argv.slice(2);
const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const client = (id, secret, ours) => ({
  client_id: id, client_secret: secret, redirect_uris: [`${federatedBase}/${ours}/callback`],
  response_types: ['code'], grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
});
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [client('staff-mfa-corp', 'corp secret', 'corp'), client('staff-mfa-social', 'social secret', 'chirp')],
  jwks: { keys: [{ ...key, kid, alg: 'RS256', use: 'sig' }] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  pkce: { required: () => true },
  cookies: { keys: ['browser-test-only'] },
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${kid}`));
