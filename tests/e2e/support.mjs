// Helpers shared by the browser tests: TOTP, screenshots, console watching, the mail moto sent.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

export const BASE = process.env.E2E_BASE_URL;
export const AWS_PORT = process.env.MFA_AWS_PORT;
export const OUT = process.env.E2E_ARTIFACTS || 'target/e2e';
export const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';

// ---- TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps) ------------------------------------

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(text) {
  const bytes = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const value = BASE32.indexOf(ch);
    if (value < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

export function totp(secret, unixMillis = Date.now(), digits = 6, period = 30) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixMillis / 1000 / period)));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(number).padStart(digits, '0');
}

// ---- helpers ------------------------------------------------------------------------------

let shots = 0;
export async function screenshot(page, name, prefix = '') {
  shots += 1;
  const file = path.join(OUT, `${prefix}${String(shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Problems a person would not see but a browser reports: CSP violations, script errors.
export const problems = [];
export function watch(page, who) {
  page.on('console', (m) => {
    // The API's 4xx answers that the test provokes (a bad email, an unknown user) are expected.
    const expected = /^Failed to load resource: the server responded with a status of 4\d\d/;
    if (m.type() === 'error' && !expected.test(m.text())) problems.push(`${who} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${who} page error: ${e.message}`));
}

export async function sentMail() {
  const r = await fetch(`http://127.0.0.1:${AWS_PORT}/moto-api/data.json`);
  assert.equal(r.status, 200, 'moto answers /moto-api/data.json');
  const data = await r.json();
  return data?.ses?.Message ?? [];
}

/** The setup link from the newest setup email to `address` (waits a little for it). */
export async function setupLink(address) {
  const pattern = new RegExp(
    `${BASE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/mfa/setup\\?token=[^"'<>\\s]+`,
  );
  for (let i = 0; i < 50; i += 1) {
    const mails = (await sentMail()).filter((m) =>
      (m.destinations?.ToAddresses ?? []).includes(address),
    );
    for (const mail of mails.reverse()) {
      const found = (mail.body ?? '').match(pattern);
      if (found) return { link: found[0].replaceAll('&amp;', '&'), mail };
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`no setup email to ${address} with a link to ${BASE}/mfa/setup`);
}

/** Opens the setup link, checks the page and the mail, and returns the key (base32). */
export async function keyFromSetupPage(page, address, name) {
  const { link, mail } = await setupLink(address);
  assert.equal(mail.source, 'mfa@example.org', 'the mail is from the organisation default email');
  await page.goto(link);
  // The key is shown on request only (a mail scanner that opens the link sees nothing).
  await page.getByRole('button', { name: 'Show my QR code' }).click();
  const secret = page.locator('#secret');
  await secret.waitFor({ state: 'visible' });
  const grouped = (await secret.textContent()).trim();
  assert.match(grouped, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, 'the key is shown in groups of four');
  const key = grouped.replace(/\s/g, '');
  assert.equal(base32Decode(key).length, 20, 'a 20-byte secret');
  assert.ok(!mail.body.replace(/\s/g, '').includes(key), 'the mail does not hold the secret');
  assert.ok(await page.locator('img#qr').isVisible(), 'the QR code is shown');
  await screenshot(page, name);
  return key;
}

/** A code for `key` that is not in the last 3 s of its step (so it is still current on arrival). */
export async function freshCode(key) {
  const intoStep = (Date.now() / 1000) % 30;
  if (intoStep > 27) await new Promise((done) => setTimeout(done, (30.2 - intoStep) * 1000));
  return totp(base32Decode(key));
}


// ---- Accessibility ---------------------------------------------------------------------------

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core on what the page shows now: no violation of WCAG 2.1 A/AA or best practice. The
 * page's context must let the script in (`bypassCSP`): the pages' own CSP refuses it. */
export async function accessible(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
  );
  const found = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  assert.deepEqual(found, [], `${what}: axe-core violations`);
}
