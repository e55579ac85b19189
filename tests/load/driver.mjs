// A bounded load run against the real functions under `cargo lambda watch` (infra/load.sh starts
// the stack; loopback only). LOAD_USERS staff accounts are created with mfa-admin, each enrols its
// authenticator through the public routes (sign-in, setup email read from moto, key, first code),
// then for LOAD_SECONDS every user loops complete sign-ins: POST /sign-in (password), then
// POST /mfa/verify with the current code; some first send a wrong code, some check and end their
// session. Then the table itself (not our API) is read back: every answer the driver saw must have
// its audit entry, and the only sessions must be the ones the driver was given.
//
// Codes: a time step is accepted once per account (RFC 6238 section 5.2, the contract), and an
// app shows one code per 30 s step, the same steps for every account. So, like a person, a user who
// has signed in waits for the app's next code; each types it at a random moment of the step, a few
// seconds after the password. One complete sign-in per user per step: 2 per user in 60 s (the run
// starts at a step boundary, when every app shows a code not used at enrolment).
//
// Environment: E2E_BASE_URL, MFA_AWS_PORT, MFA_ADMIN, MFA_TABLE and the AWS variables (as
// infra/e2e.sh sets them); LOAD_USERS (200), LOAD_SECONDS (60), LOAD_WRONG_RATE (0.1),
// LOAD_SIGNOUT_RATE (0.25), LOAD_MAX_IN_FLIGHT (64, below), LOAD_PYTHON (.venv/bin/python),
// LOAD_LAMBDA_LOG (cargo lambda watch's log, searched for failed audit writes and panics),
// LOAD_WATCH_PID (cargo lambda watch's pid: its functions' memory is read before and after),
// LOAD_REPORT (a JSON copy of the figures).
// Usernames carry a per-run id, so runs can repeat on one stack. Exit 1 on any failed check.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { base32Decode, sentMail, totp } from '../e2e/support.mjs';

const env = process.env;
const number = (name, fallback) => (env[name] === undefined || env[name] === '' ? fallback : Number(env[name]));
const BASE = env.E2E_BASE_URL;
const USERS = number('LOAD_USERS', 200);
const SECONDS = number('LOAD_SECONDS', 60);
const WRONG_RATE = number('LOAD_WRONG_RATE', 0.1);
const SIGNOUT_RATE = number('LOAD_SIGNOUT_RATE', 0.25);
const SESSION_CHECK_RATE = 0.5;
const THINK_MS = [1000, 5000]; // reading a new code off the app and typing it
const REQUEST_TIMEOUT_MS = 60_000;
const ENROL_PARALLEL = 16;
// `cargo lambda watch` (cargo-lambda 1.9.2) stops answering for good, every function at once, once
// about 100 requests wait in it (150 concurrent POST /mfa/verify do it; 90 do not). The users'
// requests go through this many slots; the time a request waits for one counts in its latency.
const MAX_IN_FLIGHT = number('LOAD_MAX_IN_FLIGHT', 64);
const STEP_MS = 30_000;
const PASSWORD = 'load password 2026';
const PYTHON = env.LOAD_PYTHON ?? '.venv/bin/python';
for (const name of ['E2E_BASE_URL', 'MFA_AWS_PORT', 'MFA_ADMIN', 'MFA_TABLE', 'AWS_ENDPOINT_URL']) {
  if (!env[name]) throw new Error(`${name} is not set: run through infra/load.sh`);
}
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(BASE)) throw new Error(`loopback only, not ${BASE}`);
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(env.AWS_ENDPOINT_URL)) throw new Error('moto on loopback only');

const run = randomBytes(3).toString('hex');
const PREFIX = `load${run}.`;
// Audit entries are told apart by actor (this run's usernames) and time (enrolment ends before the
// run starts): locally `cargo lambda watch` puts `cargo-lambda` in the request context's user agent,
// which is what the entries record, so the driver's own User-Agent does not reach them.
const UA = `staff-mfa-load/${run}`;
const sleep = (ms) => new Promise((done) => setTimeout(done, Math.max(0, ms)));
const stepOf = (ms) => Math.floor(ms / STEP_MS);

// ---- what the driver saw ------------------------------------------------------------------

const phases = { enrol: newTally(), run: newTally() };
function newTally() {
  return { latency: new Map(), inStack: new Map(), statuses: new Map(), requests: 0, audit: new Map(), unexpected: [], unexpectedCount: 0, throttled: new Map() };
}
const bump = (map, key, by = 1) => map.set(key, (map.get(key) ?? 0) + by);
const expectAudit = (phase, action, outcome) => bump(phases[phase].audit, `${action}/${outcome}`);
const figures = {
  complete: 0, wrongRefused: 0, sessionChecks: 0, signOuts: 0, waits: 0, waitedMs: 0,
  wrongWithSession: 0, steps: new Map(),
};
const expectedSessions = new Map(); // username -> sessions that should exist now

// A counting semaphore for the slots.
let inFlight = 0;
const waiting = [];
const slots = { waited: 0, waitedMs: 0, maxWaitMs: 0, maxInFlight: 0 };
async function slot() {
  if (inFlight >= MAX_IN_FLIGHT) await new Promise((go) => waiting.push(go));
  else inFlight += 1;
  slots.maxInFlight = Math.max(slots.maxInFlight, inFlight);
}
function release() {
  const next = waiting.shift();
  if (next) next(); // the slot passes on
  else inFlight -= 1;
}

/** One request; never throws: a network error or timeout is status 0. A `body` that is a function
 * is called once the request has a slot: a code is read off the app when it can be sent. */
async function call(phase, method, path, { body, bearer } = {}) {
  const headers = { 'User-Agent': UA };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const route = `${method} ${path.split('?')[0]}`;
  const started = performance.now();
  await slot();
  const queuedMs = performance.now() - started;
  if (queuedMs > 1) {
    slots.waited += 1;
    slots.waitedMs += queuedMs;
    slots.maxWaitMs = Math.max(slots.maxWaitMs, queuedMs);
  }
  let status = 0;
  let json = {};
  let cookies = [];
  try {
    const r = await fetch(BASE + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(typeof body === 'function' ? body() : body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: 'manual',
    });
    const text = await r.text();
    status = r.status;
    cookies = r.headers.getSetCookie();
    try { json = text ? JSON.parse(text) : {}; } catch { json = { text: text.slice(0, 200) }; }
    json.retryAfter = r.headers.get('retry-after');
  } catch (e) {
    json = { network_error: String(e) };
  } finally {
    release();
  }
  const ms = performance.now() - started;
  const tally = phases[phase];
  tally.requests += 1;
  if (!tally.latency.has(route)) {
    tally.latency.set(route, []);
    tally.inStack.set(route, []);
  }
  tally.latency.get(route).push(ms);
  tally.inStack.get(route).push(ms - queuedMs);
  bump(tally.statuses, `${route} ${status}`);
  return { route, status, body: json, cookies, ms };
}

// The contract names a throttle (429 with Retry-After) on these routes; anywhere else a 429 is an
// error. The driver sends no wrong password and never two wrong codes in a row, so none of these
// limits should be reached: each 429 is counted and reported.
const THROTTLED_ROUTES = new Set(['POST /sign-in', 'POST /mfa/verify', 'POST /mfa/setup-email']);
function contractThrottle(phase, r) {
  if (r.status !== 429 || !THROTTLED_ROUTES.has(r.route) || !r.body.retryAfter) return false;
  bump(phases[phase].throttled, r.route);
  return true;
}

function unexpected(phase, r, wanted) {
  const tally = phases[phase];
  tally.unexpectedCount += 1;
  if (tally.unexpected.length < 20) {
    const { retryAfter, ...body } = r.body;
    tally.unexpected.push({ route: r.route, status: r.status, wanted, body, at: new Date().toISOString() });
  }
}

const hasSessionCookie = (r) => r.cookies.some((c) => /^__Host-mfa_session=[^;]/.test(c));

/** Runs `work` over `items`, `parallel` at a time. */
async function pool(items, parallel, work) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

// ---- accounts and enrolment ---------------------------------------------------------------

const users = Array.from({ length: USERS }, (_, i) => {
  const username = `${PREFIX}${String(i).padStart(4, '0')}`;
  return { username, email: `${username}@example.org`, secret: null, lastStep: -1, challenge: null, ok: false };
});

function addAccount(user) {
  return new Promise((done, fail) => {
    const child = execFile(env.MFA_ADMIN, ['account', 'add', '--username', user.username, '--kind', 'staff',
      '--name-email', user.email, '--password-stdin'], (e, _out, err) => (e ? fail(new Error(`mfa-admin: ${err || e}`)) : done()));
    child.stdin.end(`${PASSWORD}\n`);
  });
}

async function startEnrolment(user) {
  const s = await call('enrol', 'POST', '/sign-in', { body: { username: user.username, password: PASSWORD } });
  if (s.status !== 200 || s.body.status !== 'mfa_required' || s.body.enrolled !== false || !s.body.setup_email_to) {
    return unexpected('enrol', s, '200 mfa_required, not enrolled, setup_email_to');
  }
  expectAudit('enrol', 'sign_in', 'mfa_required');
  const m = await call('enrol', 'POST', '/mfa/setup-email', { body: { challenge: s.body.challenge } });
  if (m.status !== 202 || m.body.status !== 'sent') return unexpected('enrol', m, '202 sent');
  expectAudit('enrol', 'setup_email', 'sent');
  user.challenge = s.body.challenge;
}

async function setupTokens() {
  const want = new Set(users.filter((u) => u.challenge).map((u) => u.email));
  const tokens = new Map();
  for (let i = 0; i < 50 && tokens.size < want.size; i += 1) {
    if (i) await sleep(200);
    for (const mail of await sentMail()) {
      const to = (mail.destinations?.ToAddresses ?? []).find((a) => want.has(a));
      const found = to && (mail.body ?? '').match(/\/mfa\/setup\?token=([A-Za-z0-9_-]+)/);
      if (found) tokens.set(to, found[1]); // the newest mail wins
    }
  }
  return tokens;
}

async function activate(user, token) {
  const k = await call('enrol', 'POST', '/mfa/setup/key', { body: { token } });
  if (k.status !== 200 || !k.body.secret) return unexpected('enrol', k, '200 with the key');
  expectAudit('enrol', 'key_reveal', 'success');
  user.secret = base32Decode(k.body.secret);
  let now;
  const v = await call('enrol', 'POST', '/mfa/verify', { body: () => ({ challenge: user.challenge, code: totp(user.secret, (now = Date.now())) }) });
  user.lastStep = stepOf(now);
  if (v.status !== 200 || v.body.status !== 'signed_in' || !v.body.session) return unexpected('enrol', v, '200 signed_in');
  expectAudit('enrol', 'mfa_verify', 'success');
  expectAudit('enrol', 'enrolment_activated', 'success');
  bump(expectedSessions, user.username);
  user.ok = true;
}

// ---- the load -----------------------------------------------------------------------------

/** A six-digit code that is none of the codes the server would accept now. */
function wrongCode(secret) {
  const now = Date.now();
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, now + d * STEP_MS)));
  for (;;) {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

async function signIns(user, endAt) {
  let consecutiveWrong = 0;
  let signedInAt = null;
  for (;;) {
    // The app shows a code this account has not used yet from the next step on (a step is good
    // once). The user types it at a random moment of that step, a few seconds after giving the
    // password. A sign-in whose code would come after the end is not started: the run stops by
    // itself. So each user signs in once per step, and the steps' sign-ins are spread out.
    const nextCode = (user.lastStep + 1) * STEP_MS;
    const from = Math.max(Date.now(), nextCode);
    const until = Math.min((stepOf(from) + 1) * STEP_MS, endAt);
    if (from >= until) return;
    if (signedInAt !== null) {
      figures.waits += 1;
      figures.waitedMs += Math.max(0, nextCode - signedInAt);
      signedInAt = null;
    }
    const codeAt = from + Math.random() * (until - from);
    await sleep(codeAt - randomInt(THINK_MS[0], THINK_MS[1]) - Date.now());
    const s = await call('run', 'POST', '/sign-in', { body: { username: user.username, password: PASSWORD } });
    if (contractThrottle('run', s)) {
      expectAudit('run', 'sign_in', 'throttled');
      await sleep(Number(s.body.retryAfter) * 1000);
      continue;
    }
    if (s.status !== 200 || s.body.status !== 'mfa_required' || s.body.enrolled !== true || hasSessionCookie(s) || s.body.session) {
      unexpected('run', s, '200 mfa_required, enrolled, no session');
      await sleep(1000);
      continue;
    }
    expectAudit('run', 'sign_in', 'mfa_required');
    const challenge = s.body.challenge;
    await sleep(codeAt - Date.now());

    if (Math.random() < WRONG_RATE) {
      const w = await call('run', 'POST', '/mfa/verify', { body: () => ({ challenge, code: wrongCode(user.secret) }) });
      if (w.body.session || hasSessionCookie(w) || w.body.redirect_to) figures.wrongWithSession += 1;
      if (contractThrottle('run', w)) {
        expectAudit('run', 'mfa_verify', consecutiveWrong >= 10 ? 'locked' : 'invalid_code');
      } else if (w.status === 401 && w.body.error === 'invalid_code' && w.body.attempts_left === 4) {
        expectAudit('run', 'mfa_verify', 'invalid_code');
        figures.wrongRefused += 1;
      } else {
        unexpected('run', w, '401 invalid_code, attempts_left 4');
      }
      consecutiveWrong += 1;
    }

    let step;
    const v = await call('run', 'POST', '/mfa/verify', {
      body: () => {
        const now = Date.now();
        step = stepOf(now);
        if (step <= user.lastStep) throw new Error(`driver bug: step ${step} already used by ${user.username}`);
        return { challenge, code: totp(user.secret, now) };
      },
    });
    user.lastStep = step;
    if (contractThrottle('run', v)) {
      expectAudit('run', 'mfa_verify', 'locked');
      continue;
    }
    if (v.status !== 200 || v.body.status !== 'signed_in' || !v.body.session || !hasSessionCookie(v)) {
      unexpected('run', v, '200 signed_in with a session and its cookie');
      continue;
    }
    expectAudit('run', 'mfa_verify', 'success');
    bump(expectedSessions, user.username);
    bump(figures.steps, step);
    figures.complete += 1;
    consecutiveWrong = 0;
    signedInAt = Date.now();
    const session = v.body.session;

    if (Math.random() < SESSION_CHECK_RATE) {
      const c = await call('run', 'GET', '/session', { bearer: session });
      figures.sessionChecks += 1;
      if (c.status !== 200 || c.body.username !== user.username || c.body.mfa !== 'verified') {
        unexpected('run', c, `200 ${user.username} mfa verified`);
      }
    }
    if (Math.random() < SIGNOUT_RATE) {
      const o = await call('run', 'POST', '/sign-out', { bearer: session });
      if (o.status !== 204) {
        unexpected('run', o, '204');
        continue;
      }
      expectAudit('run', 'sign_out', 'success');
      bump(expectedSessions, user.username, -1);
      figures.signOuts += 1;
      const gone = await call('run', 'GET', '/session', { bearer: session });
      if (gone.status !== 401) unexpected('run', gone, '401 after sign-out');
    }
  }
}

// ---- checks and figures -------------------------------------------------------------------

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const pad = (text, width) => String(text).padEnd(width);
const lpad = (text, width) => String(text).padStart(width);

function latencyTable(tally) {
  const line = (route, cells) => `  ${pad(route, 20)}${cells.slice(0, 5).map((c) => lpad(c, 9)).join('')}  |${cells.slice(5).map((c) => lpad(c, 9)).join('')}`;
  const lines = [line('route', ['requests', 'p50', 'p95', 'p99', 'max', 'p50', 'p95', 'p99'])];
  const rows = {};
  for (const [route, list] of [...tally.latency].sort()) {
    const sorted = [...list].sort((a, b) => a - b);
    const stack = [...tally.inStack.get(route)].sort((a, b) => a - b);
    const row = {
      requests: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1),
      inStack: { p50: percentile(stack, 50), p95: percentile(stack, 95), p99: percentile(stack, 99) },
    };
    rows[route] = row;
    lines.push(line(route, [row.requests, f1(row.p50), f1(row.p95), f1(row.p99), f1(row.max), f1(row.inStack.p50), f1(row.inStack.p95), f1(row.inStack.p99)]));
  }
  return { text: lines.join('\n'), rows };
}

function compareAudit(expected, found) {
  const keys = [...new Set([...expected.keys(), ...Object.keys(found ?? {})])].sort();
  const rows = keys.map((key) => ({ key, expected: expected.get(key) ?? 0, found: found?.[key] ?? 0 }));
  return { rows, lost: rows.reduce((n, r) => n + Math.max(0, r.expected - r.found), 0), extra: rows.reduce((n, r) => n + Math.max(0, r.found - r.expected), 0) };
}

/** The largest resident set of each function's instances, MiB (LOAD_WATCH_PID: their parent). */
function functionMemory() {
  if (!env.LOAD_WATCH_PID) return null;
  const rss = {};
  try {
    for (const line of execFileSync('ps', ['--ppid', env.LOAD_WATCH_PID, '-o', 'rss=,comm='], { encoding: 'utf8' }).trim().split('\n')) {
      const [kib, name] = line.trim().split(/\s+/);
      if (['sign-in', 'setup-email', 'verify-code', 'settings', 'oidc'].includes(name)) rss[name] = Math.max(rss[name] ?? 0, Math.round(kib / 1024));
    }
  } catch {
    return null;
  }
  return rss;
}

function logProblems() {
  const file = env.LOAD_LAMBDA_LOG;
  if (!file || !existsSync(file)) return { checked: false, auditWriteFailed: 0, panics: 0, errors: 0 };
  const text = readFileSync(file, 'utf8');
  const count = (re) => (text.match(re) ?? []).length;
  return { checked: true, auditWriteFailed: count(/audit write failed/g), panics: count(/panicked/g), errors: count(/"level":"ERROR"/g) };
}

async function main() {
  const watchdog = setTimeout(() => {
    console.error(`load: still running after ${SECONDS + 900} s; giving up`);
    process.exit(1);
  }, (SECONDS + 900) * 1000);
  watchdog.unref();
  const began = Date.now();
  console.log(`==> load run ${run}: ${USERS} users, ${SECONDS} s, against ${BASE}`);

  console.log(`==> creating ${USERS} staff accounts (mfa-admin account add, ${os.availableParallelism()} at a time)`);
  await pool(users, os.availableParallelism(), addAccount);
  console.log(`==> enrolling them through the public routes (${ENROL_PARALLEL} at a time)`);
  const enrolStarted = Date.now();
  await pool(users, ENROL_PARALLEL, startEnrolment);
  const tokens = await setupTokens();
  await pool(users.filter((u) => u.challenge), ENROL_PARALLEL, async (u) => {
    const token = tokens.get(u.email);
    if (token) return activate(u, token);
    phases.enrol.unexpectedCount += 1;
    phases.enrol.unexpected.push({ route: 'setup email', status: 0, wanted: `a setup mail to ${u.email}` });
  });
  const enrolled = users.filter((u) => u.ok);
  const enrolSeconds = (Date.now() - enrolStarted) / 1000;
  console.log(`    ${enrolled.length} of ${USERS} enrolled in ${enrolSeconds.toFixed(1)} s`);

  if (!enrolled.length) {
    console.error(`load: no user could enrol: ${JSON.stringify(phases.enrol.unexpected.slice(0, 5))}`);
    process.exit(1);
  }
  // Each user's first code went to enrolment: the clock starts when the apps show the next one, so
  // every user can sign in from the first second (a short run would otherwise see none).
  const firstFresh = (Math.max(...enrolled.map((u) => u.lastStep)) + 1) * STEP_MS;
  const startWait = Math.max(0, firstFresh - Date.now());
  console.log(`==> waiting ${(startWait / 1000).toFixed(1)} s for the apps' next code`);
  await sleep(startWait);
  console.log(`==> ${enrolled.length} users signing in for ${SECONDS} s`);
  const memoryBefore = functionMemory();
  const runStarted = Date.now();
  Object.assign(slots, { waited: 0, waitedMs: 0, maxWaitMs: 0, maxInFlight: 0 });
  const endAt = runStarted + SECONDS * 1000;
  const progress = setInterval(() => {
    const t = phases.run;
    console.log(`    ${((Date.now() - runStarted) / 1000).toFixed(0)} s: ${t.requests} requests, ${figures.complete} complete sign-ins, ${t.unexpectedCount} unexpected`);
  }, 10_000);
  await Promise.all(enrolled.map((u) => signIns(u, endAt)));
  clearInterval(progress);
  const runSeconds = (Date.now() - runStarted) / 1000;

  console.log('==> reading the table back (tests/load/table_counts.py)');
  let table;
  try {
    table = JSON.parse(execFileSync(PYTHON, ['tests/load/table_counts.py', env.MFA_TABLE, PREFIX, String(runStarted)],
      { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (e) {
    console.error(`load: could not read the table: ${e.stderr || e.message}`);
    process.exit(1);
  }
  const audit = { enrol: compareAudit(phases.enrol.audit, table.audit.before), run: compareAudit(phases.run.audit, table.audit.after) };
  let sessionsExpected = 0;
  let sessionsFound = 0;
  let sessionsWrongUser = 0;
  for (const u of users) {
    const want = expectedSessions.get(u.username) ?? 0;
    const got = table.sessions[u.username] ?? { verified: 0, other: 0 };
    sessionsExpected += want;
    sessionsFound += got.verified + got.other;
    if (got.verified + got.other !== want) sessionsWrongUser += 1;
  }
  const sessionsWithoutCode = Object.values(table.sessions).reduce((n, s) => n + s.other, 0);
  const logs = logProblems();
  const memoryAfter = functionMemory();
  const memory = memoryBefore && memoryAfter
    ? Object.keys(memoryAfter).sort().map((name) => `${name} ${memoryBefore[name] ?? '-'} -> ${memoryAfter[name]}`).join(', ')
    : 'not measured (LOAD_WATCH_PID)';

  // ---- figures
  const t = phases.run;
  const throttled = [...t.throttled.values()].reduce((a, b) => a + b, 0) + [...phases.enrol.throttled.values()].reduce((a, b) => a + b, 0);
  const lat = latencyTable(t);
  const stepsUsed = [...figures.steps.values()];
  console.log(`
==> load figures (run ${run})
  users                         ${enrolled.length} (of ${USERS}), enrolled in ${enrolSeconds.toFixed(1)} s
  seconds                       ${SECONDS} (last request answered after ${runSeconds.toFixed(1)} s)
  requests                      ${t.requests} (${(t.requests / runSeconds).toFixed(1)}/s)
  complete sign-ins             ${figures.complete} (${(figures.complete / runSeconds).toFixed(1)}/s; at most one per user per 30 s step: ${stepsUsed.length} steps, busiest ${Math.max(0, ...stepsUsed)})
  next unused code               ${(figures.waitedMs / Math.max(1, figures.waits) / 1000).toFixed(1)} s after a user's sign-in on average (${figures.waits} times; a step's code is good once)
  wrong codes refused           ${figures.wrongRefused} (401 invalid_code; ${figures.wrongWithSession} carried a session or cookie)
  sessions checked / signed out ${figures.sessionChecks} / ${figures.signOuts}
  429s                          ${throttled}${throttled ? ` (${[...t.throttled].map(([r, n]) => `${r}: ${n}`).join(', ')})` : ''}
  errors (unexpected answers)   ${t.unexpectedCount} in the run, ${phases.enrol.unexpectedCount} while enrolling
  answers                       ${[...t.statuses].sort().map(([k, n]) => `${k}: ${n}`).join('; ')}
  requests in flight            at most ${slots.maxInFlight} (cap ${MAX_IN_FLIGHT}); ${slots.waited} waited for a slot, ${(slots.waitedMs / Math.max(1, slots.waited)).toFixed(0)} ms on average, ${slots.maxWaitMs.toFixed(0)} ms at most
  latency in ms, as the users saw it (a slot's wait included) | once sent (loopback: cargo lambda watch, moto):
${lat.text}
  audit entries, run            expected ${sum(audit.run.rows, 'expected')}, found ${sum(audit.run.rows, 'found')} (lost ${audit.run.lost}, unexplained ${audit.run.extra})
${audit.run.rows.map((r) => `    ${pad(r.key, 30)}${lpad(r.expected, 6)} expected ${lpad(r.found, 6)} found`).join('\n')}
  audit entries, enrolment      expected ${sum(audit.enrol.rows, 'expected')}, found ${sum(audit.enrol.rows, 'found')} (lost ${audit.enrol.lost}, unexplained ${audit.enrol.extra})
  sessions in the table         expected ${sessionsExpected}, found ${sessionsFound} (users with a different count: ${sessionsWrongUser}; without a code: ${sessionsWithoutCode})
  largest instance RSS, MiB     ${memory} (before -> after the run)
  function logs                 ${logs.checked ? `${logs.auditWriteFailed} failed audit writes, ${logs.panics} panics, ${logs.errors} ERROR lines` : 'not checked (LOAD_LAMBDA_LOG)'}
  total time                    ${((Date.now() - began) / 1000).toFixed(1)} s`);

  const failures = [];
  if (enrolled.length !== USERS) failures.push(`${USERS - enrolled.length} users could not enrol`);
  for (const [name, tally] of Object.entries(phases)) {
    if (tally.unexpectedCount) failures.push(`${tally.unexpectedCount} unexpected answers (${name}): ${JSON.stringify(tally.unexpected.slice(0, 5))}`);
  }
  if (figures.complete === 0) failures.push('no complete sign-in');
  if (figures.wrongWithSession) failures.push(`${figures.wrongWithSession} wrong-code answers carried a session`);
  for (const [name, a] of Object.entries(audit)) {
    if (a.lost || a.extra) failures.push(`audit (${name}): ${a.lost} lost, ${a.extra} unexplained: ${JSON.stringify(a.rows.filter((r) => r.expected !== r.found))}`);
  }
  if (sessionsExpected !== sessionsFound || sessionsWrongUser) failures.push(`sessions: expected ${sessionsExpected}, found ${sessionsFound}, ${sessionsWrongUser} users differ`);
  if (sessionsWithoutCode) failures.push(`${sessionsWithoutCode} sessions without a code`);
  if (logs.auditWriteFailed || logs.panics) failures.push(`function logs: ${logs.auditWriteFailed} failed audit writes, ${logs.panics} panics`);

  if (env.LOAD_REPORT) {
    writeFileSync(env.LOAD_REPORT, JSON.stringify({
      run, users: enrolled.length, seconds: SECONDS, runSeconds, requests: t.requests, ...figures, steps: Object.fromEntries(figures.steps),
      throttled, statuses: Object.fromEntries(t.statuses), latency: lat.rows, audit, sessionsExpected, sessionsFound, logs, memoryBefore, memoryAfter,
      unexpected: { enrol: phases.enrol.unexpected, run: t.unexpected }, failures,
    }, null, 2));
  }
  if (failures.length) {
    console.error(`\nload: FAILED\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log('\nload: passed (no unexpected answer, no lost audit entry, no session for a wrong code)');
}

function sum(rows, field) {
  return rows.reduce((n, r) => n + r[field], 0);
}

await main();
