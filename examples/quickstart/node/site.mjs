// A site that signs staff in through Staff MFA: OpenID Connect's authorization code flow with
// PKCE, with openid-client (a certified relying party library). Register the site first:
//   mfa-admin client add --client-id wiki --redirect-uri http://localhost:3000/callback
// then run it with what that printed:
//   ISSUER=https://mfa.example.org CLIENT_ID=wiki CLIENT_SECRET=... node site.mjs
// and open http://localhost:3000/login.
import http from 'node:http';
import * as client from 'openid-client';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, SITE_URL = 'http://localhost:3000' } = process.env;
const redirectUri = `${SITE_URL}/callback`;
// A local stack speaks plain http; a deployed issuer is https and needs no such option.
const options = ISSUER.startsWith('http://') ? { execute: [client.allowInsecureRequests] } : undefined;
const config = await client.discovery(
  new URL(ISSUER), CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET), options,
);

// Sign-ins under way, by state. A real site keeps these in its own session instead.
const pending = new Map();

http.createServer(async (req, res) => {
  const url = new URL(req.url, SITE_URL);
  try {
    if (url.pathname === '/login') {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      pending.set(state, { verifier, nonce });
      const to = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      res.writeHead(302, { Location: to.href }).end();
    } else if (url.pathname === '/callback') {
      const state = url.searchParams.get('state');
      const login = pending.get(state);
      pending.delete(state);
      if (!login) throw new Error('this sign-in was not started here, or was finished already');
      // Exchanges the code and checks the ID token: signature, issuer, audience, expiry, nonce.
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: login.verifier, expectedState: state, expectedNonce: login.nonce,
      });
      const claims = tokens.claims();
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      // Who signed in (`sub`, `preferred_username`), how (`amr`: pwd, otp or hwk/swk, mfa), when.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ claims, userinfo }, null, 2));
    } else {
      res.writeHead(404).end();
    }
  } catch (e) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`Sign-in failed: ${e.message}`);
  }
}).listen(Number(new URL(SITE_URL).port), new URL(SITE_URL).hostname, () => console.log(`ready: ${SITE_URL}/login`));
