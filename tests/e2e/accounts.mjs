// End-to-end: "Forgot your password?" for an account with MFA, in headless Chromium: the link
// from the mail (read back from moto), a new password with the policy explained as it is typed,
// the current code (a mailbox alone never takes over an MFA account), then a sign-in with the new
// password and a code. Run by infra/e2e.sh after the other browser tests (MFA on).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { BASE, CHROMIUM, screenshot, problems, watch, keyFromSetupPage, freshCode, sentMail } from './support.mjs';

const RITA = { username: 'rita', password: 'rita password 2026', email: 'rita@example.org' };
const NEW_PASSWORD = 'rita has a new passphrase';

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

  await t.test('no script error or CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
