// A site that signs staff in through Staff MFA: OpenID Connect's authorization code flow with
// PKCE, with openid-client (a certified relying party library). Register the site first:
//   mfa-admin client add --client-id wiki --redirect-uri http://localhost:3000/callback
// then run it with what that printed:
//   ISSUER=https://mfa.example.org CLIENT_ID=wiki CLIENT_SECRET=... node site.mjs
// and open http://localhost:3000/login.
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, SITE_URL = 'http://localhost:3000' } = process.env;
const redirectUri = `${SITE_URL}/callback`;
const LOGIN_SECS = 600;
// Check the ID token's signature against the issuer's keys (openid-client otherwise trusts TLS
// for what the token endpoint answers). A local stack speaks plain http; a deployed one is https.
const execute = [client.enableNonRepudiationChecks];
if (ISSUER.startsWith('http://')) execute.push(client.allowInsecureRequests);
const config = await client.discovery(
  new URL(ISSUER), CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET), { execute },
);

// Sign-ins under way: state -> { verifier, nonce, started }. The browser that started one
// carries its state in a cookie, and only that browser may finish it (no login CSRF).
const pending = new Map();

function loginCookie(req) {
  const found = (req.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith('login='));
  return found ? found.slice('login='.length) : '';
}

function same(a, b) {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, SITE_URL);
  try {
    if (url.pathname === '/login') {
      for (const [state, login] of pending) {
        if (Date.now() - login.started > LOGIN_SECS * 1000) pending.delete(state);
      }
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      pending.set(state, { verifier, nonce, started: Date.now() });
      const to = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const secure = SITE_URL.startsWith('https://') ? '; Secure' : '';
      res.writeHead(302, {
        Location: to.href,
        'Set-Cookie': `login=${state}; HttpOnly; SameSite=Lax; Path=/callback; Max-Age=${LOGIN_SECS}${secure}`,
      }).end();
    } else if (url.pathname === '/callback') {
      const state = url.searchParams.get('state') ?? '';
      if (!state || !same(loginCookie(req), state)) {
        throw new Error('this sign-in was not started in this browser');
      }
      const login = pending.get(state);
      pending.delete(state);
      if (!login) throw new Error('this sign-in has expired, or was finished already');
      // Exchanges the code and checks the ID token: signature, issuer, audience, expiry, nonce.
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: login.verifier, expectedState: state, expectedNonce: login.nonce,
      });
      const claims = tokens.claims();
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      // Who signed in (`sub`, `preferred_username`), how (`amr`, `acr`), when (`auth_time`).
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ claims, userinfo }, null, 2));
    } else {
      res.writeHead(404).end();
    }
  } catch (e) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`Sign-in failed: ${e.message}`);
  }
}).listen(Number(new URL(SITE_URL).port), new URL(SITE_URL).hostname, () => console.log(`ready: ${SITE_URL}/login`));
