// End-to-end: the seed's first sign-in with MFA on, clicked through in headless Chromium, then the
// admin page. Run by infra/e2e.sh (`node --test`), which starts moto and `cargo lambda watch` and
// passes their addresses:
//   E2E_BASE_URL   http://127.0.0.1:<port> of `cargo lambda watch`
//   MFA_AWS_PORT   moto's port (the sent mail is read back from /moto-api/data.json)
//   E2E_ARTIFACTS  where the screenshots go (default target/e2e)
// Accounts are the ones infra/e2e.sh seeds (as infra/dev.sh does): jane (staff), admin (sysadmin).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import {
  BASE, AWS_PORT, OUT, CHROMIUM, base32Decode, totp, screenshot, problems, watch, sentMail,
  keyFromSetupPage, freshCode,
} from './support.mjs';
const JANE = { username: 'jane', password: 'jane password 2026', email: 'jane@example.org' };
const ADMIN = { username: 'admin', password: 'admin password 2026', email: 'admin@example.org' };

async function passwordStep(page, who) {
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign In' }).click();
}

// ---- the test -----------------------------------------------------------------------------

test('seed flow in headless Chromium', async (t) => {
  assert.ok(BASE && AWS_PORT, 'E2E_BASE_URL and MFA_AWS_PORT are set (run infra/e2e.sh)');
  mkdirSync(OUT, { recursive: true });
  // launch() gives the browser a fresh temporary profile (its own --user-data-dir) and removes it.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  const newPage = async (who) => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    context.setDefaultTimeout(30_000);
    const page = await context.newPage();
    watch(page, who);
    // The admin page asks before a destructive change (switching MFA off): the test says yes.
    page.on('dialog', (d) => d.accept());
    return page;
  };

  let failed = false;
  let current = null; // the page a failing step screenshots
  const step = (name, fn) =>
    t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        if (current) await screenshot(current, `FAILED-${name.replace(/\W+/g, '-')}`).catch(() => {});
        throw e;
      }
    });

  await step('TOTP matches the RFC 6238 test vector', () => {
    // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits).
    assert.equal(totp(Buffer.from('12345678901234567890'), 59_000, 8), '94287082');
    assert.equal(base32Decode('GEZDGNBVGY3TQOJQ').toString(), '1234567890');
  });

  const jane = await newPage('jane');
  let janeKey;

  await step('staff user is asked for a security code', async () => {
    current = jane;
    await jane.goto(`${BASE}/sign-in`);
    await screenshot(jane, 'sign-in-page');
    await passwordStep(jane, JANE);
    await jane.getByLabel('Security code').waitFor({ state: 'visible' });
    await screenshot(jane, 'jane-asked-for-code');
  });

  await step('"I don\'t have a security code" -> "Yes, send setup email"', async () => {
    await jane.getByRole('button', { name: "I don't have a security code" }).click();
    await jane.getByText('Send a setup email to j***@example.org?').waitFor();
    await screenshot(jane, 'jane-send-setup-email');
    await jane.getByRole('button', { name: 'Yes, send setup email' }).click();
    await jane.getByText('Setup email sent to j***@example.org.', { exact: false }).waitFor();
    await screenshot(jane, 'jane-setup-email-sent');
  });

  await step('the link in the mail opens the setup page with the key', async () => {
    janeKey = await keyFromSetupPage(jane, JANE.email, 'jane-setup-page');
  });

  await step('staff user signs in with the code from the app', async () => {
    await jane.goto(`${BASE}/sign-in`);
    await passwordStep(jane, JANE);
    await jane.getByLabel('Security code').fill(await freshCode(janeKey));
    await jane.getByRole('button', { name: 'Verify' }).click();
    await jane.getByText('Signed in as jane.', { exact: true }).waitFor();
    await jane.getByText('Your organisation: Example Org').waitFor();
    await screenshot(jane, 'jane-signed-in');
  });

  await step('ten wrong codes lock manager out of code entry (for the readiness report)', async () => {
    const post = (route, body) =>
      fetch(`${BASE}${route}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    let last;
    for (let round = 0; round < 2; round += 1) {
      const r = await post('/sign-in', { username: 'manager', password: 'manager password 2026' });
      assert.equal(r.status, 200);
      const { challenge } = await r.json();
      for (let i = 0; i < 5; i += 1) last = await post('/mfa/verify', { challenge, code: '000000' });
    }
    const r = await post('/sign-in', { username: 'manager', password: 'manager password 2026' });
    const { challenge } = await r.json();
    last = await post('/mfa/verify', { challenge, code: '000000' });
    assert.equal(last.status, 429, 'code entry is locked');
  });

  const admin = await newPage('admin');
  let adminKey;
  let adminPage; // the response that brought the admin page

  await step('admin enrols through the setup email from the sign-in page', async () => {
    current = admin;
    await admin.goto(`${BASE}/sign-in`);
    await passwordStep(admin, ADMIN);
    await admin.getByRole('button', { name: "I don't have a security code" }).click();
    await admin.getByRole('button', { name: 'Yes, send setup email' }).click();
    await admin.getByText('Setup email sent to a***@example.org.', { exact: false }).waitFor();
    adminKey = await keyFromSetupPage(admin, ADMIN.email, 'admin-setup-page');
  });

  await step('admin signs in on /admin with the keyboard: password, then code', async () => {
    adminPage = await admin.goto(`${BASE}/admin`);
    await screenshot(admin, 'admin-sign-in');
    // The username field has the focus; the rest is typed, tabbed and entered: no mouse.
    await admin.keyboard.type(ADMIN.username);
    await admin.keyboard.press('Tab');
    await admin.keyboard.type(ADMIN.password);
    await admin.keyboard.press('Enter');
    await admin.getByLabel('Security code').waitFor({ state: 'visible' });
    assert.ok(await admin.getByLabel('Security code').evaluate((e) => e === document.activeElement));
    // Enrolment is still pending (the first code activates it): the page says where to set up.
    assert.ok(await admin.locator('#not-enrolled').isVisible());
    await screenshot(admin, 'admin-asked-for-code');
    await admin.keyboard.type(await freshCode(adminKey));
    await admin.keyboard.press('Enter');
    await admin.getByText('Signed in as admin.').waitFor();
    await admin.getByText('Multi-factor authentication for staff users is on.').waitFor();
    // Readiness: jane and admin enrolled; the seed's bob and carol cannot receive setup mail.
    await admin.locator('#cannot').getByText('carol').waitFor();
    // Counted now, not at the console's first view.
    await Promise.all([
      admin.waitForResponse((r) => r.url().endsWith('/settings/mfa-readiness') && r.request().method() === 'GET'),
      admin.getByRole('button', { name: 'Count again now' }).click(),
    ]);
    await admin.locator('#counts').getByText('2 enrolled').waitFor();
    const counts = await admin.locator('#counts').textContent();
    assert.match(counts, /2 enrolled/);
    const cannot = await admin.locator('#cannot tr').allTextContents();
    assert.equal(cannot.length, 2, cannot.join(' | '));
    assert.ok(cannot.some((r) => r.startsWith('bob') && r.includes('No email on file')));
    assert.ok(cannot.some((r) => r.startsWith('carol') && r.includes('not a valid address')));
    assert.match(await admin.locator('#sender').textContent(), /from mfa@example\.org/);
    const locked = await admin.locator('#locked tr').allTextContents();
    assert.equal(locked.length, 1, locked.join(' | '));
    assert.match(locked[0], /^manager20\d\d-\d\d-\d\d \d\d:\d\d:\d\dUnlock manager$/);
    // The organisation's name heads the console.
    await admin.getByRole('heading', { name: 'Staff MFA administration for Example Org' }).waitFor();
    await screenshot(admin, 'admin-page');
    await admin.getByRole('link', { name: 'Settings' }).click();
    assert.equal(await admin.locator('#org-email').inputValue(), 'mfa@example.org');
    assert.equal(await admin.locator('#org-name').inputValue(), 'Example Org');
    // Audit: newest first, as sentences; the admin's own activation is in it.
    await admin.getByRole('link', { name: 'Audit' }).click();
    await admin.locator('#audit tr').first().waitFor();
    const audit = await admin.locator('#audit tr').allTextContents();
    assert.ok(audit.length >= 5 && audit.length <= 20, `${audit.length} audit rows`);
    assert.ok(audit.some((r) => r.includes('admin finished setting up an authenticator app')), audit.join(' | '));
    await screenshot(admin, 'admin-audit');
  });

  await step('an invalid organisation email is refused with the API\'s message', async () => {
    await admin.getByRole('link', { name: 'Settings' }).click();
    await admin.getByLabel('Default email').fill('not an address');
    await admin.getByRole('button', { name: 'Save organisation' }).click();
    await admin
      .locator('#org-message.error')
      .getByText('The organisation default email is not a valid email address.')
      .waitFor();
    await screenshot(admin, 'admin-invalid-email');
    await admin.getByLabel('Default email').fill('mfa@example.org');
  });

  await step('admin unlocks a user from People', async () => {
    await admin.getByRole('link', { name: 'People' }).click();
    await admin.getByLabel('Username starts with').fill('nobody');
    await admin.getByRole('button', { name: 'Search accounts' }).click();
    await admin.getByText('No account matches.').waitFor();
    await admin.getByLabel('Username starts with').fill('manager');
    await admin.getByRole('button', { name: 'Search accounts' }).click();
    // manager has no app: there is nothing to reset, so no such button.
    assert.equal(await admin.getByRole('button', { name: 'Reset app of manager' }).count(), 0);
    await admin.getByRole('button', { name: 'Unlock account manager' }).click();
    await admin.getByText('Unlocked manager.').waitFor();
    // Audit entries are ordered by the second, so this one need not be the very first row.
    await admin.getByRole('link', { name: 'Audit' }).click();
    await admin.locator('#audit tr', { hasText: 'admin unlocked manager' }).waitFor();
  });

  await step('admin switches MFA off', async () => {
    await admin.getByRole('link', { name: 'Overview' }).click();
    await admin.getByRole('button', { name: 'Switch off' }).click();
    await admin.getByText('Saved: multi-factor authentication is now off.').waitFor();
    await admin.getByText('Multi-factor authentication for staff users is off.').waitFor();
    assert.equal(await admin.getByRole('button', { name: 'Switch on' }).count(), 1);
    await admin.getByRole('link', { name: 'Audit' }).click();
    await admin.locator('#audit tr', { hasText: 'mfa_enabled=false' }).getByText('admin changed the settings').waitFor();
    await screenshot(admin, 'admin-mfa-off');
  });

  await step('with MFA off: staff without an app sign in without a code; jane, who has one, gives hers', async () => {
    const again = await newPage('manager (MFA off)');
    current = again;
    await again.goto(`${BASE}/sign-in`);
    await passwordStep(again, { username: 'manager', password: 'manager password 2026' });
    await again.getByText('Signed in as manager.', { exact: true }).waitFor();
    assert.equal(await again.getByLabel('Security code').isVisible(), false);
    await again.getByRole('button', { name: 'Set up your security code' }).waitFor();
    await screenshot(again, 'staff-signed-in-without-code');
    const jane = await newPage('jane (MFA off)');
    current = jane;
    await jane.goto(`${BASE}/sign-in`);
    await passwordStep(jane, JANE);
    await jane.getByLabel('Security code').waitFor();
    await screenshot(jane, 'jane-asked-for-her-code-with-mfa-off');
  });

  await step('/admin: strict CSP, no framing, every field labelled', async () => {
    assert.equal(adminPage.status(), 200);
    const headers = await adminPage.allHeaders();
    const csp = headers['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[^']+'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(headers['x-frame-options'], 'DENY');
    const unlabelled = await admin.evaluate(() =>
      [...document.querySelectorAll('input')].filter((e) => e.labels.length === 0).map((e) => e.id),
    );
    assert.deepEqual(unlabelled, []);
  });

  await step('no CSP violation or script error in any page', () => {
    assert.deepEqual(problems, []);
  });
});
