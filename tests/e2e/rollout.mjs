// End-to-end: an administrator rolls MFA out from the admin page, in headless Chromium. The
// campaign mails everyone without an app (read back from moto), two staff set theirs up from the
// mail, the progress moves, then MFA is switched off, its switch-on scheduled a few seconds ahead
// and fired by the schedule's step (`mfa-admin tick`, as EventBridge does every minute on AWS).
// axe-core (WCAG 2.1 AA and best practice) checks each section and the step-up dialog; the page is
// photographed at 360 and 1440 px. Run by infra/e2e.sh after the other browser tests (MFA on).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { BASE, CHROMIUM, screenshot, problems, watch, keyFromSetupPage, freshCode, sentMail, accessible } from './support.mjs';

const ROSA = { username: 'rosa', password: 'rosa password 2026', email: 'rosa@example.org' };
const STAFF = [
  { username: 'ruth', password: 'ruth password 2026', email: 'ruth@example.org' },
  { username: 'tess', password: 'tess password 2026', email: 'tess@example.org' },
];
// Added after the campaign's first mails: an administrator reminds her from People.
const UMA = { username: 'uma', password: 'uma password 2026', email: 'uma@example.org' };
const SECTIONS = [['Overview', 'overview'], ['People', 'people'], ['Sites', 'sites'],
  ['Identity providers', 'providers'], ['Audit', 'audit'], ['Settings', 'settings']];

function mfaAdmin(...args) {
  return execFileSync(process.env.MFA_ADMIN, args, { encoding: 'utf8' });
}

function add(who, kind) {
  execFileSync(process.env.MFA_ADMIN, ['account', 'add', '--username', who.username, '--kind', kind,
    '--name-email', who.email, '--password-stdin'], { input: `${who.password}\n` });
}

/** A code from the next time step: each step's code is good once (RFC 6238 5.2). */
async function nextStepCode(key) {
  await new Promise((done) => setTimeout(done, (30 - ((Date.now() / 1000) % 30) + 0.5) * 1000));
  return freshCode(key);
}

/** Clicks `button`; when the change asks for a current code first, gives it where the prompt
 * opened (beside the form or table the button is in), then waits for `done`. */
async function withStepUp(page, button, done, key) {
  await button.click();
  const stepUp = page.locator('#stepup-form');
  await Promise.race([stepUp.waitFor({ state: 'visible' }), done.waitFor()]);
  if (await stepUp.isVisible()) {
    await stepUp.getByLabel('Code from your app, to confirm').fill(await nextStepCode(key));
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
  }
  await done.waitFor();
}

/** Searches People by username prefix (and authenticator, if given), and waits for the list to
 * show only what was asked for. */
async function search(page, prefix, authenticator = '') {
  await page.getByLabel('Username starts with').fill(prefix);
  await page.getByLabel('Authenticator', { exact: true }).selectOption(authenticator);
  await page.getByRole('button', { name: 'Search accounts' }).click();
  await page.waitForFunction(([p, a]) => {
    const rows = [...document.querySelectorAll('#accounts tr')].filter((r) => r.cells.length > 2);
    const shown = { active: 'set up', pending: 'being set up', none: 'none' }[a];
    return rows.length > 0 && rows.every((r) => r.cells[1].textContent.startsWith(p) && (!a || r.cells[3].textContent === shown));
  }, [prefix, authenticator]);
}

test('the rollout from the admin page, in headless Chromium', async (t) => {
  assert.ok(BASE && process.env.MFA_ADMIN, 'run by infra/e2e.sh');
  add(ROSA, 'sysadmin');
  for (const who of STAFF) add(who, 'staff');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  // axe-core is added to the page as a script: the page's strict CSP would refuse it.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  watch(page, 'rollout');
  page.on('dialog', (d) => d.accept());
  let key;

  await t.test('rosa, a new administrator, sets up her app and signs in to the admin page', async () => {
    await page.goto(`${BASE}/sign-in`);
    await page.getByLabel('Username').fill(ROSA.username);
    await page.getByLabel('Password').fill(ROSA.password);
    await page.getByRole('button', { name: 'Sign In' }).click();
    // With MFA on she is asked for a code she has not got; with it off (the seed flow leaves it
    // off) she is signed in and offered to set one up of her own accord.
    const codeStep = page.getByLabel('Security code');
    const offer = page.getByRole('button', { name: 'Set up your security code' });
    await Promise.race([codeStep.waitFor(), offer.waitFor()]);
    const setup = await context.newPage();
    if (await codeStep.isVisible()) {
      await accessible(page, 'the sign-in page, code step');
      await page.getByRole('button', { name: "I don't have a security code" }).click();
      await page.getByRole('button', { name: 'Yes, send setup email' }).click();
      await page.getByText('Setup email sent to').waitFor();
      key = await keyFromSetupPage(setup, ROSA.email, 'rollout-rosa-setup');
      await page.getByLabel('Security code').fill(await freshCode(key));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText('Signed in as rosa.').waitFor();
    } else {
      await accessible(page, 'the signed-in page with the setup offer');
      await offer.click();
      await page.getByText('We sent a setup email to').waitFor();
      await screenshot(page, 'setup-of-her-own-accord', 'rollout-');
      key = await keyFromSetupPage(setup, ROSA.email, 'rollout-rosa-setup');
    }
    await accessible(setup, 'the setup page');
    await setup.close();
    await accessible(page, 'the signed-in page');

    await page.goto(`${BASE}/admin`);
    const form = page.locator('#password-form');
    await form.getByLabel('Username').waitFor();
    await accessible(page, 'the admin sign-in form');
    await form.getByLabel('Username').fill(ROSA.username);
    await form.getByLabel('Password').fill(ROSA.password);
    await form.getByRole('button', { name: 'Sign In' }).click();
    const code = page.locator('#code-form');
    await code.getByLabel('Security code').fill(await nextStepCode(key));
    await code.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Signed in as rosa.').waitFor();
    await page.locator('#rollout-figures').getByText('staff and system administrators have an app').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Overview' }).getAttribute('aria-current'), 'page');
    await accessible(page, 'the overview');
    // The step-up prompt, as a sensitive change shows it (here without the change).
    await page.evaluate(() => { document.getElementById('stepup-form').hidden = false; });
    await accessible(page, 'the step-up prompt');
    await page.evaluate(() => { document.getElementById('stepup-form').hidden = true; });
  });

  await t.test('every section of the console, at 360 and 1440 px, with axe-core', async () => {
    for (const [name, id] of SECTIONS) {
      await page.getByRole('link', { name, exact: true }).click();
      await page.locator(`#view-${id}`).waitFor();
      assert.equal(await page.getByRole('link', { name, exact: true }).getAttribute('aria-current'), 'page');
      assert.equal(await page.locator('section.view:visible').count(), 1, 'one section at a time');
      await accessible(page, `the ${name} section`);
      for (const width of [360, 1440]) {
        await page.setViewportSize({ width, height: 900 });
        await screenshot(page, `${name.toLowerCase().replace(/ /g, '-')}-${width}px`, 'console-');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${name}: nothing wider than the window at ${width} px (${overflow} px over)`);
      }
    }
    await page.getByRole('link', { name: 'Overview' }).click();
  });

  await t.test('she starts the campaign: the setup emails arrive', async () => {
    await page.getByLabel('Days between reminders').fill('2');
    await page.getByRole('button', { name: 'Start campaign' }).click();
    await page.getByText(/Campaign started: \d+ setup emails sent now/).waitFor();
    await page.getByText(/Campaign running since .* reminding every 2 days/).waitFor();
    await screenshot(page, 'campaign-started', 'rollout-');
  });

  await t.test('she adds a site: its developer gets what they need, the secret once', async () => {
    await page.getByRole('link', { name: 'Sites' }).click();
    const form = page.locator('#client-form');
    const id = `handbook-${Date.now()}`;
    await page.getByRole('button', { name: 'Add a site' }).click();
    await accessible(page, 'the new-site form');
    await form.getByLabel('Client id').fill(id);
    await form.getByLabel('Redirect URIs (one per line)').fill('https://handbook.example.org/cb');
    await form.getByRole('button', { name: 'Add site' }).click();
    const box = page.locator('#handoff');
    await box.getByText('Client secret (shown once)').waitFor();
    await box.getByText(`${BASE}/.well-known/openid-configuration`).waitFor();
    await accessible(page, 'the hand-off box');
    await screenshot(page, 'site-hand-off', 'rollout-');
    await box.getByRole('button', { name: 'Done' }).click();
    assert.equal(await box.getByText('Client secret (shown once)').count(), 0, 'the secret is gone from the page');
    // The same id again is refused: nothing is overwritten.
    await page.getByRole('button', { name: 'Add a site' }).click();
    await form.getByLabel('Client id').fill(id);
    await form.getByLabel('Redirect URIs (one per line)').fill('https://elsewhere.example.org/cb');
    await form.getByRole('button', { name: 'Add site' }).click();
    await page.getByText(`A site with the id ${id} exists already`).waitFor();
    await form.getByRole('button', { name: 'Cancel' }).click();
    // Edited in place: its name changes, its redirect URI stays.
    await page.getByRole('button', { name: `Edit ${id}` }).click();
    assert.equal(await form.getByLabel('Redirect URIs (one per line)').inputValue(), 'https://handbook.example.org/cb');
    await form.getByLabel('Name').fill('Staff handbook');
    await form.getByRole('button', { name: 'Save site' }).click();
    await page.getByText(`Saved ${id}.`).waitFor();
    await page.locator('#clients tr', { hasText: `Staff handbook (${id})` }).getByText('https://handbook.example.org/cb').waitFor();
  });

  await t.test('identity providers: the form, and a provider that cannot be reached is refused', async () => {
    await page.getByRole('link', { name: 'Identity providers' }).click();
    await page.getByRole('button', { name: 'Add a provider' }).click();
    await accessible(page, 'the new-provider form');
    const form = page.locator('#provider-form');
    await form.getByLabel('Provider id').fill('okta');
    await form.getByLabel('Issuer').fill('https://idp.invalid');
    await form.getByLabel('Our client id at the provider').fill('staff-mfa');
    await form.getByLabel('Our client secret at the provider').fill('not a real secret');
    await form.getByRole('button', { name: 'Add provider' }).click();
    // A sensitive change: the step-up prompt may open beside the form first.
    const stepUp = page.locator('#stepup-form');
    const refused = page.locator('#provider-message.error');
    await Promise.race([stepUp.waitFor({ state: 'visible' }), refused.waitFor()]);
    if (await stepUp.isVisible()) {
      assert.ok(await page.evaluate(() => document.getElementById('provider-form').nextElementSibling.id === 'stepup-form'),
        'the prompt opens where the change was asked for');
      await stepUp.getByLabel('Code from your app, to confirm').fill(await nextStepCode(key));
      await stepUp.getByRole('button', { name: 'Confirm' }).click();
    }
    await refused.waitFor();
    // Nothing was saved (the federation suite, run before this one, leaves providers of its own).
    assert.equal(await page.locator('#providers tr', { hasText: '(okta)' }).count(), 0);
    await form.getByRole('button', { name: 'Cancel' }).click();
  });

  await t.test('two staff set their apps up from the mail; the progress moves', async () => {
    const before = await page.locator('#rollout-figures').textContent();
    for (const who of STAFF) {
      // Their own browsers: rosa's is signed in.
      const own = await browser.newContext();
      const mailPage = await own.newPage();
      watch(mailPage, who.username);
      const staffKey = await keyFromSetupPage(mailPage, who.email, `rollout-${who.username}-setup`);
      await mailPage.goto(`${BASE}/sign-in`);
      await mailPage.getByLabel('Username').fill(who.username);
      await mailPage.getByLabel('Password').fill(who.password);
      await mailPage.getByRole('button', { name: 'Sign In' }).click();
      await mailPage.getByLabel('Security code').fill(await freshCode(staffKey));
      await mailPage.getByRole('button', { name: 'Verify' }).click();
      await mailPage.getByText(`Signed in as ${who.username}.`).waitFor();
      await own.close();
    }
    await page.reload();
    await page.getByText('Signed in as rosa.').waitFor();
    await page.getByRole('link', { name: 'Overview' }).click();
    const figures = page.locator('#rollout-figures');
    await figures.getByText('staff and system administrators have an app').waitFor();
    // The figures are the last count (the schedule's, each minute): the administrator counts now.
    const count = (text) => Number(text.match(/^(\d+) of/)[1]);
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/settings/campaign?')),
      page.getByRole('button', { name: 'Count again now' }).click(),
    ]);
    await page.waitForFunction((want) => {
      const m = document.getElementById('rollout-figures').textContent.match(/^(\d+) of/);
      return m && Number(m[1]) === want;
    }, count(before) + 2);
    assert.equal(count(await figures.textContent()), count(before) + 2, 'two more have an app');
    assert.match(await page.locator('#counted').textContent(), /counted again every minute/);
    for (const who of STAFF) {
      assert.equal(await page.locator('#waiting tr', { hasText: who.username }).count(), 0,
        `${who.username} is no longer listed without an app`);
    }
  });

  await t.test('People: details with the audit trail, a reminder and a disable for a selection', async () => {
    add(UMA, 'staff');
    await page.getByRole('link', { name: 'People' }).click();
    await search(page, STAFF[0].username);
    await page.getByRole('button', { name: `Details of ${STAFF[0].username}` }).click();
    const detail = page.locator('#detail');
    await detail.getByText(`${STAFF[0].username} finished setting up an authenticator app`).waitFor();
    await accessible(page, 'an account\'s details');
    await screenshot(page, 'account-details', 'rollout-');
    await detail.getByRole('button', { name: 'Close the details' }).click();

    // tess lost her phone: her app is reset (she sets up again at her next sign-in).
    await search(page, STAFF[1].username);
    await withStepUp(page, page.getByRole('button', { name: `Reset app of ${STAFF[1].username}` }),
      page.getByText(`Reset the app of ${STAFF[1].username}.`), key);
    await page.locator('#accounts tr', { hasText: STAFF[1].username }).getByText('none').waitFor();

    // Those without an app whose name starts with u (25 to a page: the seed has many more).
    await search(page, 'u', 'none');
    await page.getByLabel(`Select ${UMA.username}`).check();
    assert.equal(await page.locator('#bulk-count').textContent(), '1');
    await page.getByRole('button', { name: 'Send setup email' }).click();
    await page.getByText('Setup email sent to 1 of 1.').waitFor();
    const mails = (await sentMail()).filter((m) => (m.destinations?.ToAddresses ?? []).includes(UMA.email));
    assert.equal(mails.length, 1, 'uma got her setup email');
    // Her app is being set up now (a link is out): no longer listed without one.
    assert.equal(await page.getByLabel(`Select ${UMA.username}`).count(), 0);
    await search(page, 'u', 'pending');
    // Again the same day: refused, and said why.
    await page.getByLabel(`Select ${UMA.username}`).check();
    await page.getByRole('button', { name: 'Send setup email' }).click();
    await page.getByText(/Not done: uma: A setup email went to uma less than a day ago/).waitFor();
    await page.getByLabel(`Select ${UMA.username}`).check();
    await withStepUp(page, page.getByRole('button', { name: 'Disable', exact: true }), page.getByText('Disabled 1 of 1.'), key);
    await page.locator('#accounts tr', { hasText: `${UMA.username} (disabled)` }).waitFor();
    await accessible(page, 'People after a bulk action');
    await page.getByLabel('Username starts with').fill('');
    await page.getByLabel('Authenticator', { exact: true }).selectOption('');
  });

  await t.test('Audit: sentences, a date range', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('Action', { exact: true }).selectOption('setup_email');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#audit tr', { hasText: `rosa sent a setup email to ${UMA.username}` }).waitFor();
    // A day long before the rollout: nothing.
    await page.getByLabel('From (UTC date)').fill('2020-01-01');
    await page.getByLabel('To (UTC date, included)').fill('2020-01-01');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('Nothing matches.').waitFor();
    // Today, from and to: the reminder is back.
    const today = new Date().toISOString().slice(0, 10);
    await page.getByLabel('From (UTC date)').fill(today);
    await page.getByLabel('To (UTC date, included)').fill(today);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#audit tr', { hasText: `rosa sent a setup email to ${UMA.username}` }).waitFor();
    await page.getByLabel('From (UTC date)').fill('');
    await page.getByLabel('To (UTC date, included)').fill('');
    await page.getByLabel('Action', { exact: true }).selectOption('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: 'Overview' }).click();
  });

  await t.test('MFA off, its switch-on scheduled, and fired by the schedule', async () => {
    // Switching off is sensitive: the last code was given in this session a moment ago, so no
    // step-up is asked unless the earlier steps took long. (Run alone, MFA is on; after the seed
    // flow alone, it is off already.)
    // The switch's state first (isVisible does not wait, and the settings may still be loading).
    await page.locator('#mfa-state').getByText(/^Multi-factor authentication for staff users is (on|off)\.$/).waitFor();
    if (await page.getByText('Multi-factor authentication for staff users is on.').isVisible()) {
      await page.getByRole('button', { name: 'Switch off' }).click();
      const stepUp = page.locator('#stepup-form');
      await Promise.race([
        stepUp.waitFor({ state: 'visible' }),
        page.getByText('Saved: multi-factor authentication is now off.').waitFor(),
      ]);
      if (await stepUp.isVisible()) {
        await accessible(page, 'the step-up dialog');
        await stepUp.getByLabel('Code from your app, to confirm').fill(await nextStepCode(key));
        await stepUp.getByRole('button', { name: 'Confirm' }).click();
      }
      await page.getByText('Saved: multi-factor authentication is now off.').waitFor();
    }
    // A few seconds ahead, in the browser's own time zone (the field is local time).
    const local = await page.evaluate(() => {
      const at = new Date(Date.now() + 8000);
      const pad = (n) => String(n).padStart(2, '0');
      return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
    });
    await page.getByLabel('Switch on at (your local time)').fill(local);
    await page.getByRole('button', { name: 'Schedule the switch-on' }).click();
    await page.locator('#enforce-state').getByText('Scheduled: multi-factor authentication switches on at').waitFor();
    await screenshot(page, 'switch-on-scheduled', 'rollout-');
    assert.match(mfaAdmin('tick'), /MFA switched on: no/, 'not before its time');
    await new Promise((done) => setTimeout(done, 9000));
    assert.match(mfaAdmin('tick'), /MFA switched on: yes/);
    // Her session gave a code, so it outlives the switch-on.
    await page.reload();
    await page.getByText('Multi-factor authentication for staff users is on.').waitFor();
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.locator('#audit tr', { hasText: 'schedule changed the settings' }).first().waitFor();
  });

  await t.test('no script error or CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
