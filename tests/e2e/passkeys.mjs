// End-to-end: passkeys in headless Chromium, with the browser's own WebAuthn implementation and
// its virtual authenticator (the DevTools protocol's WebAuthn domain, through playwright-core's
// CDP session): a system administrator registers a passkey on his account page, signs out, signs
// in with password + passkey; then the organisation holds sysadmins to their passkeys
// (`phishing_resistant_required_for`), and a code from his app is refused with a clear message.
// The stack answers as http://localhost:<port> (browsers refuse an IP address as an RP ID).
// Run by infra/e2e.sh, MFA on.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { BASE, CHROMIUM, screenshot, problems, watch, keyFromSetupPage, freshCode, accessible } from './support.mjs';

const PASCAL = { username: 'pascal', password: 'pascal password 2026', email: 'pascal@example.org' };

function policy(who) {
  execFileSync(process.env.MFA_ADMIN, ['settings', 'set', '--phishing-resistant-required-for', who]);
}

async function api(path, body) {
  const r = await fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, data: await r.json() };
}

test('passkeys, in headless Chromium with a virtual authenticator', async (t) => {
  assert.ok(BASE && process.env.MFA_ADMIN, 'run by infra/e2e.sh');
  assert.match(BASE, /^http:\/\/localhost:/, 'passkeys need a host name');
  execFileSync(process.env.MFA_ADMIN, ['account', 'add', '--username', PASCAL.username, '--kind', 'sysadmin',
    '--name-email', PASCAL.email, '--password-stdin'], { input: `${PASCAL.password}\n` });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  // bypassCSP only so that axe-core can be injected; the pages' own CSP is checked elsewhere.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  watch(page, 'passkeys');
  page.on('dialog', (d) => d.accept());
  // A platform authenticator with user verification (a fingerprint, say), which answers at once.
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  let key;

  async function password() {
    await page.goto(`${BASE}/sign-in`);
    await page.getByLabel('Username').fill(PASCAL.username);
    await page.getByLabel('Password').fill(PASCAL.password);
    await page.getByRole('button', { name: 'Sign In' }).click();
  }

  await t.test('pascal sets up his app and signs in with a code', async () => {
    await password();
    await page.getByRole('button', { name: "I don't have a security code" }).click();
    await page.getByRole('button', { name: 'Yes, send setup email' }).click();
    await page.getByText('Setup email sent to').waitFor();
    const setup = await context.newPage();
    key = await keyFromSetupPage(setup, PASCAL.email, 'passkeys-pascal-setup');
    await setup.close();
    await page.getByLabel('Security code').fill(await freshCode(key));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Signed in as pascal.').waitFor();
  });

  await t.test('he adds a passkey on his account page', async () => {
    await page.getByRole('link', { name: /Your account/ }).click();
    await page.getByText('No passkeys yet.').waitFor();
    await accessible(page, 'the account page with passkeys');
    await page.getByLabel(/Name of the new passkey/).fill('Work laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('Passkey "Work laptop" added.').waitFor();
    await page.getByText(/Work laptop \(added .*not used yet\)/).waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the authenticator holds one credential');
    assert.equal(credentials[0].rpId, 'localhost');
    await screenshot(page, 'account-page-passkey-added', 'passkeys-');
    await accessible(page, 'the account page listing a passkey');
  });

  await t.test('he signs out and in again with password + passkey', async () => {
    await page.goto(`${BASE}/sign-in`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out.').waitFor();
    await password();
    await page.getByRole('button', { name: 'Use your passkey' }).waitFor();
    // The code stays available beside it.
    await page.getByLabel('Security code').waitFor();
    await screenshot(page, 'code-step-offers-the-passkey', 'passkeys-');
    await accessible(page, 'the code step with a passkey offered');
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    await page.getByText('Signed in as pascal.').waitFor();
    const session = await page.evaluate(async () => (await fetch('/session')).json());
    assert.deepEqual(session.amr, ['pwd', 'hwk', 'mfa'], JSON.stringify(session));
    await screenshot(page, 'signed-in-with-passkey', 'passkeys-');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(credentials[0].signCount >= 1, 'the authenticator counted the use');
  });

  await t.test('held to his passkey, his code is refused with a clear message', async () => {
    policy('sysadmin');
    t.after(() => policy('none'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out.').waitFor();
    await password();
    await page.getByText('Your organisation asks you to sign in with your passkey.').waitFor();
    assert.equal(await page.getByLabel('Security code').isVisible(), false, 'no code field offered');
    await screenshot(page, 'code-step-passkey-required', 'passkeys-');
    // Sent anyway (as a phishing page relaying it would): refused, before it is counted.
    const signIn = await api('/sign-in', { username: PASCAL.username, password: PASCAL.password });
    assert.equal(signIn.data.passkey_required, true, JSON.stringify(signIn.data));
    const refused = await api('/mfa/verify', { challenge: signIn.data.challenge, code: await freshCode(key) });
    assert.equal(refused.status, 403, JSON.stringify(refused.data));
    assert.equal(refused.data.error, 'passkey_required');
    assert.match(refused.data.message, /sign in with your passkey/);
    // His passkey still signs him in.
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    await page.getByText('Signed in as pascal.').waitFor();
  });

  await t.test('no script error or CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
