// End-to-end: we as the relying party of a real, independent identity provider (`oidc-provider`,
// run on loopback by this test as the organisation's SSO and as a social login). Headless Chromium
// clicks "Sign in with Corp", signs in on the provider's own page, and lands signed in with MFA
// delegated; a staff user through the social login sees the refusal; the provider rotates its
// signing key mid-test and sign-in keeps working. Run by infra/e2e.sh after oidc.mjs (MFA on).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, CHROMIUM, screenshot } from './support.mjs';

function admin(args, input) {
  return execFileSync(process.env.MFA_ADMIN, args, { input: input ?? '', encoding: 'utf8' });
}

async function freePort() {
  const server = net.createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** Starts the provider with a signing key `kid`; resolves once it listens. */
function startIdp(port, kid) {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'idp.mjs'), String(port), kid, `${BASE}/sign-in/federated`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`idp exited ${code}`)));
  });
}

async function stopIdp(child) {
  child.removeAllListeners('exit');
  child.kill();
  await new Promise((done) => child.once('exit', done));
}

test('sign-in through the organisation\'s identity provider (oidc-provider) in headless Chromium', async (t) => {
  assert.ok(BASE && process.env.MFA_ADMIN, 'run by infra/e2e.sh');
  const port = await freePort();
  let idp = await startIdp(port, 'key-1');
  t.after(() => idp && idp.kill());
  const issuer = `http://127.0.0.1:${port}`;

  admin(['provider', 'set', '--id', 'corp', '--kind', 'sso', '--issuer', issuer, '--client-id', 'staff-mfa-corp', '--display-name', 'Corp', '--client-secret-stdin'], 'corp secret\n');
  admin(['provider', 'set', '--id', 'chirp', '--kind', 'social', '--issuer', issuer, '--client-id', 'staff-mfa-social', '--display-name', 'Chirp', '--client-secret-stdin'], 'social secret\n');
  admin(['account', 'add', '--username', 'sam', '--kind', 'staff', '--name-email', 'sam@example.org', '--password-stdin'], 'sam password 2026\n');
  admin(['account', 'link', '--username', 'sam', '--provider', 'corp', '--subject', 'sam.corp']);
  admin(['account', 'link', '--username', 'jane', '--provider', 'chirp', '--subject', 'jane.chirp']);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());

  async function throughIdp(button, login, name) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${BASE}/sign-in`);
    await page.getByRole('link', { name: button }).click();
    await page.waitForURL(`${issuer}/**`);
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('anything');
    await screenshot(page, `${name}-at-the-idp`, 'federation-');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${BASE}/**`);
    return { context, page };
  }

  await t.test('"Sign in with Corp": the provider\'s own page, then signed in with MFA delegated', async () => {
    const { context, page } = await throughIdp('Sign in with Corp', 'sam.corp', 'sam');
    await page.getByText('Signed in as sam.').waitFor();
    const me = await page.evaluate(async () => (await fetch('/session')).json());
    assert.equal(me.mfa, 'delegated');
    await screenshot(page, 'sam-signed-in-delegated', 'federation-');
    await context.close();
  });

  await t.test('a staff user through the social login is refused while MFA is on', async () => {
    const { context, page } = await throughIdp('Sign in with Chirp', 'jane.chirp', 'jane');
    await page.getByText('username, password and security code').waitFor();
    const me = await page.evaluate(async () => (await fetch('/session')).status);
    assert.equal(me, 401, 'no session');
    await screenshot(page, 'jane-social-refused', 'federation-');
    await context.close();
  });

  await t.test('the provider rotates its signing key, and sign-in keeps working', async () => {
    await stopIdp(idp);
    idp = await startIdp(port, 'key-2');
    const { context, page } = await throughIdp('Sign in with Corp', 'sam.corp', 'sam-after-rotation');
    await page.getByText('Signed in as sam.').waitFor();
    await screenshot(page, 'sam-after-key-rotation', 'federation-');
    await context.close();
  });
});
