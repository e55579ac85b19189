// The developer quickstart's two sites (examples/quickstart: Node with openid-client, Python with
// Authlib), exactly as docs/quickstart.md shows them, run against the local stack: each is
// registered with mfa-admin, started as its own process, and a staff member signs in through it
// (password, then a code from her app) as the sign-in page's script does. Each site must end with
// the ID token's claims checked and userinfo read. Run by infra/e2e.sh, MFA on.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { BASE, setupLink, freshCode } from './support.mjs';

const PYTHON = process.env.E2E_PYTHON || '.venv/bin/python';

function admin(args, input) {
  return execFileSync(process.env.MFA_ADMIN, args, { input: input ?? '', encoding: 'utf8' });
}

async function post(path, body) {
  const r = await fetch(`${BASE}${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, data: await r.json() };
}

async function freePort() {
  const server = createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** A staff member with her app set up (through the setup mail, as the sign-in page does it). */
async function enrolled(username) {
  const email = `${username}@example.org`;
  const password = `${username} password 2026`;
  admin(['account', 'add', '--username', username, '--kind', 'staff', '--name-email', email, '--password-stdin'], `${password}\n`);
  const first = await post('/sign-in', { username, password });
  assert.equal(first.data.status, 'mfa_required', JSON.stringify(first.data));
  assert.equal((await post('/mfa/setup-email', { challenge: first.data.challenge })).status, 202);
  const { link } = await setupLink(email);
  const key = await post('/mfa/setup/key', { token: new URL(link).searchParams.get('token') });
  assert.equal(key.status, 200, JSON.stringify(key.data));
  const secret = key.data.secret;
  const done = await post('/mfa/verify', { challenge: first.data.challenge, code: await freshCode(secret) });
  assert.equal(done.status, 200, JSON.stringify(done.data));
  return { username, password, secret };
}

/** A code from the next time step: the step of the enrolment's code is used up (RFC 6238 5.2). */
async function nextStepCode(secret) {
  await new Promise((done) => setTimeout(done, (30 - ((Date.now() / 1000) % 30) + 0.5) * 1000));
  return freshCode(secret);
}

/** Starts a quickstart site; resolves once it says it is ready. */
function start(command, args, env, t) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill());
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${output}`)), 30000);
    const read = (chunk) => {
      output += chunk;
      if (output.includes('ready: ')) { clearTimeout(timer); resolve(child); }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${output}`)); });
  });
}

/** What a person does: the site's /login, our sign-in (password, code), back to the site. */
async function signInThrough(site, who, code) {
  const login = await fetch(`${site}/login`, { redirect: 'manual' });
  assert.equal(login.status, 302);
  // The site binds the sign-in to this browser with a cookie.
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  assert.match(cookie, /^login=/);
  const authorize = login.headers.get('location');
  assert.ok(authorize.startsWith(`${BASE}/authorize?`), authorize);
  const page = await fetch(authorize, { redirect: 'manual' });
  assert.equal(page.status, 302, await page.text());
  const authorization = new URL(page.headers.get('location')).searchParams.get('authorization');
  assert.ok(authorization, page.headers.get('location'));
  const password = await post('/sign-in', { username: who.username, password: who.password, authorization });
  assert.equal(password.data.status, 'mfa_required', JSON.stringify(password.data));
  const verified = await post('/mfa/verify', { challenge: password.data.challenge, code });
  assert.equal(verified.status, 200, JSON.stringify(verified.data));
  assert.ok(verified.data.redirect_to.startsWith(`${site}/callback?`), verified.data.redirect_to);
  // Another browser (login CSRF: an attacker's own finished sign-in, sent to a victim) is refused,
  // and the sign-in stays this browser's to finish.
  const elsewhere = await fetch(verified.data.redirect_to);
  assert.equal(elsewhere.status, 400, await elsewhere.text());
  const back = await fetch(verified.data.redirect_to, { headers: { Cookie: cookie } });
  const text = await back.text();
  assert.equal(back.status, 200, text);
  return JSON.parse(text);
}

function checkClaims(result, who, clientId) {
  const { claims, userinfo } = result;
  assert.equal(claims.iss, BASE);
  assert.equal(claims.aud, clientId);
  assert.equal(claims.preferred_username, who.username);
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(claims.acr, 'mfa');
  assert.equal(claims.kind, 'staff');
  for (const name of ['sub', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'azp']) assert.ok(claims[name], name);
  assert.equal(userinfo.sub, claims.sub);
  assert.equal(userinfo.email, `${who.username}@example.org`);
}

test('the quickstart sites sign staff in through us', async (t) => {
  assert.ok(BASE && process.env.MFA_ADMIN, 'run by infra/e2e.sh');
  // Two staff with their apps set up, then one wait for the next time step: each signs in once
  // in it.
  const quinn = await enrolled('quinn');
  const quincy = await enrolled('quincy');
  // Any step after the enrolments' will do for both.
  const firstCode = await nextStepCode(quinn.secret);

  await t.test('Node, with openid-client', async (t) => {
    const port = await freePort();
    const site = `http://127.0.0.1:${port}`;
    const added = admin(['client', 'add', '--client-id', 'quickstart-node', '--redirect-uri', `${site}/callback`]);
    const secret = added.match(/^client_secret: (\S+)$/m)[1];
    await start('node', ['examples/quickstart/node/site.mjs'],
      { ISSUER: BASE, CLIENT_ID: 'quickstart-node', CLIENT_SECRET: secret, SITE_URL: site }, t);
    checkClaims(await signInThrough(site, quinn, firstCode), quinn, 'quickstart-node');
  });

  await t.test('Python, with Authlib', async (t) => {
    const port = await freePort();
    const site = `http://127.0.0.1:${port}`;
    const added = admin(['client', 'add', '--client-id', 'quickstart-python', '--redirect-uri', `${site}/callback`]);
    const secret = added.match(/^client_secret: (\S+)$/m)[1];
    await start(PYTHON, ['examples/quickstart/python/site.py'], {
      ISSUER: BASE, CLIENT_ID: 'quickstart-python', CLIENT_SECRET: secret, SITE_URL: site,
      AUTHLIB_INSECURE_TRANSPORT: '1',
    }, t);
    checkClaims(await signInThrough(site, quincy, await freshCode(quincy.secret)), quincy, 'quickstart-python');
  });
});
