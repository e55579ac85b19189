// End-to-end: staff sites sign in through us, as a real relying party would. The relying party is
// `openid-client` (a certified OpenID Connect RP library, pinned in package-lock.json) running in
// a small site on loopback; the browser is headless Chromium; `jose` verifies the access token
// against our JWKS the way API Gateway's JWT authorizer does. Run by infra/e2e.sh after the seed
// flow, with MFA_ADMIN (the mfa-admin binary) and the stack's variables in the environment.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { chromium } from 'playwright-core';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { BASE, CHROMIUM, screenshot, problems, watch, keyFromSetupPage, freshCode } from './support.mjs';

const OLIVIA = { username: 'olivia', password: 'olivia password 2026', email: 'olivia@example.org' };

function admin(args, input) {
  return execFileSync(process.env.MFA_ADMIN, args, { input: input ?? '', encoding: 'utf8' });
}

/** A staff site: `/<site>/login` starts the code flow with PKCE; `/<site>/cb` finishes it. */
function relyingParty() {
  const sites = new Map();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${server.address().port}`);
    const [, name, action] = url.pathname.split('/');
    const site = sites.get(name);
    try {
      if (site && action === 'login') {
        site.verifier = client.randomPKCECodeVerifier();
        site.state = client.randomState();
        site.nonce = client.randomNonce();
        const params = {
          redirect_uri: site.redirect, scope: 'openid email profile', state: site.state,
          nonce: site.nonce, code_challenge: await client.calculatePKCECodeChallenge(site.verifier),
          code_challenge_method: 'S256',
        };
        res.writeHead(302, { Location: client.buildAuthorizationUrl(site.config, params).href }).end();
      } else if (site && action === 'cb') {
        site.tokens = await client.authorizationCodeGrant(site.config, url, {
          pkceCodeVerifier: site.verifier, expectedState: site.state, expectedNonce: site.nonce,
        });
        const claims = site.tokens.claims();
        res.writeHead(200, { 'Content-Type': 'text/html' }).end(
          `<h1>${site.title}</h1><p id="who">Signed in as ${claims.preferred_username} (amr: ${claims.amr.join(' ')})</p>`);
      } else if (site && action === 'bye') {
        res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<p id="bye">Signed out, state ${url.searchParams.get('state')}</p>`);
      } else {
        res.writeHead(404).end();
      }
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`relying party error: ${e.message}`);
    }
  });
  return { server, sites };
}

test('staff sites sign in through us with openid-client, in headless Chromium', async (t) => {
  assert.ok(BASE && process.env.MFA_ADMIN, 'run by infra/e2e.sh');
  const { server, sites } = relyingParty();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const rp = `http://127.0.0.1:${server.address().port}`;
  t.after(() => server.close());

  admin(['settings', 'set', '--mfa-enabled', 'true']);
  admin(['account', 'add', '--username', OLIVIA.username, '--kind', 'staff', '--name-email', OLIVIA.email, '--password-stdin'], `${OLIVIA.password}\n`);
  const added = admin(['client', 'add', '--client-id', 'wiki', '--name', 'Staff wiki',
    '--redirect-uri', `${rp}/wiki/cb`, '--post-logout-redirect-uri', `${rp}/wiki/bye`, '--home-url', `${rp}/wiki/login`]);
  const secret = added.match(/^client_secret: (\S+)$/m)[1];
  admin(['client', 'add', '--client-id', 'rota', '--name', 'Rota', '--public', '--redirect-uri', `${rp}/rota/cb`]);

  // Discovery over plain http is allowed only because the issuer is on loopback in this test.
  const insecure = { execute: [client.allowInsecureRequests] };
  const wiki = await client.discovery(new URL(BASE), 'wiki', { redirect_uris: [`${rp}/wiki/cb`] }, client.ClientSecretBasic(secret), insecure);
  const rota = await client.discovery(new URL(BASE), 'rota', { redirect_uris: [`${rp}/rota/cb`] }, client.None(), insecure);
  sites.set('wiki', { config: wiki, redirect: `${rp}/wiki/cb`, title: 'Staff wiki' });
  sites.set('rota', { config: rota, redirect: `${rp}/rota/cb`, title: 'Rota' });
  assert.equal(wiki.serverMetadata().issuer, BASE);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  watch(page, 'oidc');

  await t.test('the wiki sends olivia to our sign-in page, which names it', async () => {
    await page.goto(`${rp}/wiki/login`);
    await page.getByText('Sign in to continue to Staff wiki').waitFor();
    await page.getByLabel('Username').fill(OLIVIA.username);
    await page.getByLabel('Password').fill(OLIVIA.password);
    await page.getByRole('button', { name: 'Sign In' }).click();
    await page.getByLabel('Security code').waitFor();
    await screenshot(page, 'wiki-asks-us-for-a-code', 'oidc-');
  });

  await t.test('first-time setup by email, then the code sends her back to the wiki', async () => {
    await page.getByRole('button', { name: "I don't have a security code" }).click();
    await page.getByRole('button', { name: 'Yes, send setup email' }).click();
    await page.getByText('Setup email sent to').waitFor();
    const setup = await context.newPage();
    const key = await keyFromSetupPage(setup, OLIVIA.email, 'oidc-olivia-setup-page');
    await setup.close();
    // A code typed as apps show it, "123 456", is accepted.
    const code = await freshCode(key);
    await page.getByLabel('Security code').fill(`${code.slice(0, 3)} ${code.slice(3)}`);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${rp}/wiki/cb**`);
    assert.equal(await page.locator('#who').textContent(), 'Signed in as olivia (amr: pwd otp mfa)');
    await screenshot(page, 'wiki-signed-in', 'oidc-');
  });

  await t.test('the access token verifies as API Gateway would (jose, our JWKS)', async () => {
    const tokens = sites.get('wiki').tokens;
    const jwks = createRemoteJWKSet(new URL(wiki.serverMetadata().jwks_uri));
    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid, 'kid');
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: BASE, audience: 'wiki', algorithms: ['RS256'], typ: 'at+jwt',
    });
    const idClaims = tokens.claims();
    assert.equal(idClaims.preferred_username, 'olivia');
    assert.notEqual(idClaims.sub, 'olivia', 'sub is opaque');
    assert.equal(payload.sub, idClaims.sub);
    assert.equal(payload.acr, 'mfa');
    assert.equal(payload.kind, 'staff');
    assert.ok(payload.scope.split(' ').includes('mfa'), 'a code was given: the mfa scope');
    assert.ok(payload.exp - payload.iat <= 900, 'at most 15 minutes');
    assert.ok(payload.nbf <= payload.iat + 1 && payload.iat <= Date.now() / 1000 + 5);
    assert.deepEqual(payload.amr, ['pwd', 'otp', 'mfa']);
  });

  await t.test('userinfo and a refresh through openid-client', async () => {
    const site = sites.get('wiki');
    const sub = site.tokens.claims().sub;
    const info = await client.fetchUserInfo(wiki, site.tokens.access_token, sub);
    assert.equal(info.email, OLIVIA.email);
    assert.equal(info.preferred_username, 'olivia');
    const refreshed = await client.refreshTokenGrant(wiki, site.tokens.refresh_token);
    assert.notEqual(refreshed.refresh_token, site.tokens.refresh_token, 'rotated');
    assert.equal(refreshed.claims().sub, sub, 'the same subject');
    assert.equal(refreshed.claims().auth_time, site.tokens.claims().auth_time, 'one auth_time');
    site.tokens = refreshed;
  });

  await t.test('a second site signs her in without a second password or code', async () => {
    await page.goto(`${rp}/rota/login`);
    await page.waitForURL(`${rp}/rota/cb**`);
    assert.equal(await page.locator('#who').textContent(), 'Signed in as olivia (amr: pwd otp mfa)');
    await screenshot(page, 'second-site-no-second-code', 'oidc-');
  });

  await t.test('our sign-in page lists the organisation sites', async () => {
    await page.goto(`${BASE}/sign-in`);
    // The page sees the cookie session only after a sign-in; signing in as olivia again needs a code.
    const r = await page.evaluate(async () => (await fetch('/sign-in/sites')).json());
    assert.deepEqual(r.sites.map((s) => s.name), ['Staff wiki']);
  });

  await t.test('logging out at the wiki ends the session everywhere', async () => {
    const site = sites.get('wiki');
    const url = client.buildEndSessionUrl(wiki, {
      id_token_hint: site.tokens.id_token, post_logout_redirect_uri: `${rp}/wiki/bye`, state: 'bye1',
    });
    await page.goto(url.href);
    await page.waitForURL(`${rp}/wiki/bye**`);
    assert.equal(await page.locator('#bye').textContent(), 'Signed out, state bye1');
    await page.goto(`${rp}/rota/login`);
    await page.getByText('Sign in to continue to Rota').waitFor();
    await screenshot(page, 'after-logout-sign-in-again', 'oidc-');
    await assert.rejects(client.refreshTokenGrant(wiki, site.tokens.refresh_token), (e) => e.error === 'invalid_grant');
  });

  await t.test('no script error or CSP violation on our pages', () => {
    assert.deepEqual(problems, []);
  });
});
