// End-to-end: "Forgot your password?" for an account with MFA, in headless Chromium: the link
// from the mail (read back from moto), a new password with the policy explained as it is typed,
// the current code (a mailbox alone never takes over an MFA account), then a sign-in with the new
// password and a code. Then her account page: recovery codes; her phone lost, a sign-in with one;
// a new app from the account page (the old key refused after); a password changed there; sign out
// everywhere. Run by infra/e2e.sh after the other browser tests (MFA on).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { BASE, CHROMIUM, screenshot, problems, watch, keyFromSetupPage, freshCode, sentMail, accessible } from './support.mjs';

const RITA = { username: 'rita', password: 'rita password 2026', email: 'rita@example.org' };
const NEW_PASSWORD = 'rita has a new passphrase';
const NEWEST_PASSWORD = 'rita changed it herself';

async function resetLink() {
  for (let i = 0; i < 50; i += 1) {
    const mails = (await sentMail()).filter((m) => (m.destinations?.ToAddresses ?? []).includes(RITA.email));
    for (const mail of mails.reverse()) {
      const found = (mail.body ?? '').match(/http:\/\/[^\s"'<>]+\/password\/reset\?token=[A-Za-z0-9_-]+/);
      if (found) return found[0];
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error('no reset mail');
}

/** A code from the next time step: each step's code is good once (RFC 6238 5.2). */
async function nextStepCode(key) {
  await new Promise((done) => setTimeout(done, (30 - ((Date.now() / 1000) % 30) + 0.5) * 1000));
  return freshCode(key);
}

test('forgot password with MFA, in headless Chromium', async (t) => {
  assert.ok(BASE && process.env.MFA_ADMIN, 'run by infra/e2e.sh');
  execFileSync(process.env.MFA_ADMIN, ['account', 'add', '--username', RITA.username, '--kind', 'staff',
    '--name-email', RITA.email, '--password-stdin'], { input: `${RITA.password}\n` });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  watch(page, 'accounts');
  let key;

  await t.test('rita sets up her app from the sign-in page', async () => {
    await page.goto(`${BASE}/sign-in`);
    await page.getByLabel('Username').fill(RITA.username);
    await page.getByLabel('Password').fill(RITA.password);
    await page.getByRole('button', { name: 'Sign In' }).click();
    await page.getByRole('button', { name: "I don't have a security code" }).click();
    await page.getByRole('button', { name: 'Yes, send setup email' }).click();
    await page.getByText('Setup email sent to').waitFor();
    const setup = await context.newPage();
    key = await keyFromSetupPage(setup, RITA.email, 'accounts-rita-setup');
    await setup.close();
    await page.getByLabel('Security code').fill(await freshCode(key));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Signed in as rita.').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Signed out.').waitFor();
  });

  await t.test('"Forgot your password?" mails a link; the page asks for a new password and a code', async () => {
    await page.getByLabel('Username').fill(RITA.username);
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await page.getByText('a link to reset its password is on its way').waitFor();
    await screenshot(page, 'forgot-password-sent', 'accounts-');
    await page.goto(await resetLink());
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await page.getByLabel('New password').fill('too short');
    await page.getByText('3 more characters needed.').waitFor();
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByText('Length is fine.').waitFor();
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('enter a current code too').waitFor();
    // The code from the sign-in above is spent: the next step's.
    await page.getByLabel('Security code from your authenticator app').fill(await nextStepCode(key));
    await screenshot(page, 'reset-page-with-code', 'accounts-');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password is set. Sign in with it.').waitFor();
    await screenshot(page, 'password-set', 'accounts-');
  });

  await t.test('she signs in with the new password and a code', async () => {
    await page.goto(`${BASE}/sign-in`);
    await page.getByLabel('Username').fill(RITA.username);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign In' }).click();
    // The code just used for the reset is spent: the next step's.
    await page.getByLabel('Security code').fill(await nextStepCode(key));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Signed in as rita.').waitFor();
    await screenshot(page, 'signed-in-with-new-password', 'accounts-');
  });

  await t.test('her account page: recovery codes, a sign-in with one, a new app, a new password, sign out everywhere', async () => {
    // Its own context, whose CSP lets axe-core in (the pages above were checked with it enforced).
    const own = await browser.newContext({ bypassCSP: true });
    t.after(() => own.close());
    const acct = await own.newPage();
    watch(acct, 'account page');
    acct.on('dialog', (d) => d.accept());
    await acct.goto(`${BASE}/sign-in`);
    await acct.getByLabel('Username').fill(RITA.username);
    await acct.getByLabel('Password').fill(NEW_PASSWORD);
    await acct.getByRole('button', { name: 'Sign In' }).click();
    await acct.getByLabel('Security code').fill(await nextStepCode(key));
    await acct.getByRole('button', { name: 'Verify' }).click();
    await acct.getByRole('link', { name: /Your account/ }).click();
    await acct.getByText('You have no recovery codes yet.').waitFor();
    await accessible(acct, 'the account page');
    await acct.getByRole('button', { name: 'Make a new set of recovery codes' }).click();
    await acct.getByRole('heading', { name: 'Your new recovery codes' }).waitFor();
    const codes = await acct.locator('#rc-list li').allTextContents();
    assert.equal(codes.length, 10);
    assert.ok(codes.every((c) => /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/.test(c)), codes.join(' '));
    await acct.getByText('10 of 10 left').waitFor();
    await accessible(acct, 'the new codes');
    await screenshot(acct, 'account-recovery-codes', 'accounts-');
    await acct.getByRole('button', { name: 'I have saved them' }).click();
    assert.equal(await acct.locator('#rc-list li').count(), 0, 'the codes are gone from the page');
    // The code prompt, as a new set asks for it once the last code is old (here shown directly).
    await acct.evaluate(() => { document.getElementById('code-prompt').hidden = false; });
    await accessible(acct, 'the code prompt');
    await acct.evaluate(() => { document.getElementById('code-prompt').hidden = true; });

    // Her phone is gone: she signs in with a recovery code.
    await acct.goto(`${BASE}/sign-in`);
    await acct.getByRole('button', { name: 'Sign out' }).click();
    await acct.getByText('Signed out.').waitFor();
    await acct.getByLabel('Username').fill(RITA.username);
    await acct.getByLabel('Password').fill(NEW_PASSWORD);
    await acct.getByRole('button', { name: 'Sign In' }).click();
    await acct.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await acct.getByLabel('Recovery code (one of the ten you saved)').fill(codes[4].toUpperCase());
    await acct.getByRole('button', { name: 'Verify' }).click();
    await acct.getByText('You signed in with a recovery code; 9 of your recovery codes are left.').waitFor();
    await screenshot(acct, 'signed-in-with-recovery-code', 'accounts-');
    await acct.getByRole('link', { name: /Your account/ }).click();
    await acct.getByText('9 of 10 left').waitFor();
    await acct.locator('#activity tr', { hasText: 'Security code entered: recovery code used' }).waitFor();
    await accessible(acct, 'the account page after a recovery sign-in');

    // A new phone: she replaces the app from her account page (the recovery sign-in just now is
    // enough to ask); the setup mail's page shows the new key and takes a code from the new app.
    await acct.getByRole('button', { name: 'Replace your app' }).click();
    await acct.getByText('A setup email for your new app is on its way').waitFor();
    await screenshot(acct, 'account-new-app-asked', 'accounts-');
    const setup = await own.newPage();
    watch(setup, 'new app setup page');
    const newKey = await keyFromSetupPage(setup, RITA.email, 'accounts-new-app-key');
    assert.notEqual(newKey, key, 'a new key');
    await setup.getByLabel('Code from your new app').waitFor();
    await accessible(setup, 'the new app setup page');
    await setup.getByLabel('Code from your new app').fill(await freshCode(newKey));
    await setup.getByRole('button', { name: 'Use the new app' }).click();
    await setup.getByText('Your new app is set up, and your old one no longer works.').waitFor();
    await screenshot(setup, 'new-app-confirmed', 'accounts-');
    await setup.close();

    // The old key no longer signs in; the new one does.
    await acct.goto(`${BASE}/sign-in`);
    await acct.getByLabel('Username').fill(RITA.username);
    await acct.getByLabel('Password').fill(NEW_PASSWORD);
    await acct.getByRole('button', { name: 'Sign In' }).click();
    await acct.getByLabel('Security code').fill(await nextStepCode(key));
    await acct.getByRole('button', { name: 'Verify' }).click();
    await acct.getByText('That security code is not correct').waitFor();
    await screenshot(acct, 'old-app-refused', 'accounts-');
    await acct.getByLabel('Security code').fill(await freshCode(newKey));
    await acct.getByRole('button', { name: 'Verify' }).click();
    await acct.getByText('Signed in as rita.').waitFor();

    // Her password, from the account page (the code she just gave is recent).
    await acct.getByRole('link', { name: /Your account/ }).click();
    await acct.getByLabel('Current password').fill(NEW_PASSWORD);
    await acct.getByLabel('New password').fill(NEWEST_PASSWORD);
    await accessible(acct, 'the password form');
    await acct.getByRole('button', { name: 'Change password' }).click();
    await acct.getByText('Your password is changed').waitFor();
    await screenshot(acct, 'password-changed', 'accounts-');
    await acct.goto(`${BASE}/sign-in`);
    await acct.getByLabel('Username').fill(RITA.username);
    await acct.getByLabel('Password').fill(NEWEST_PASSWORD);
    await acct.getByRole('button', { name: 'Sign In' }).click();
    await acct.getByLabel('Security code').fill(await nextStepCode(newKey));
    await acct.getByRole('button', { name: 'Verify' }).click();
    await acct.getByText('Signed in as rita.').waitFor();
    await acct.getByRole('link', { name: /Your account/ }).click();
    await acct.getByText('9 of 10 left').waitFor();
    await acct.getByRole('button', { name: 'Sign out everywhere' }).click();
    await acct.getByText('Signed out everywhere.').waitFor();
    // The help page, linked from the sign-in page.
    await acct.goto(`${BASE}/sign-in`);
    await acct.getByRole('link', { name: 'Help with signing in' }).click();
    await acct.getByRole('heading', { name: 'Help with signing in' }).waitFor();
    await accessible(acct, 'the staff help page');
    await screenshot(acct, 'staff-help', 'accounts-');
    await acct.goto(`${BASE}/sign-in`);
    await acct.getByLabel('Username').waitFor();
  });

  await t.test('no script error or CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
