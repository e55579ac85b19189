// Limits against the real local stack: `cargo lambda watch --concurrency N` runs several
// instances of each function, as Lambda does, so these races are real ones between processes.
// Run by infra/e2e.sh after the browser test (it locks `bob` out of code entry).
import { test } from 'node:test';
import assert from 'node:assert/strict';

const base = process.env.E2E_BASE_URL;

async function post(path, body) {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}

const count = (list, status) => list.filter((r) => r.status === status).length;

test('50 concurrent wrong passwords from one address: at most 5 evaluated', async () => {
  const answers = await Promise.all(
    Array.from({ length: 50 }, () => post('/sign-in', { username: 'ghost', password: 'wrong' })),
  );
  const evaluated = count(answers, 401);
  assert.ok(evaluated >= 1 && evaluated <= 5, `${evaluated} evaluated`);
  assert.equal(count(answers, 429), 50 - evaluated);
});

test('40 concurrent wrong codes on 8 challenges: at most 10 evaluated', async () => {
  const challenges = [];
  for (let i = 0; i < 8; i++) {
    const r = await post('/sign-in', { username: 'bob', password: 'bob password 2026' });
    assert.equal(r.body.status, 'mfa_required', JSON.stringify(r));
    challenges.push(r.body.challenge);
  }
  const answers = await Promise.all(
    challenges.flatMap((challenge) =>
      Array.from({ length: 5 }, () => post('/mfa/verify', { challenge, code: '000000' })),
    ),
  );
  // Every evaluated wrong code is a 401 but the tenth, which sets the lock and is a 429.
  const wrong = answers.filter((r) => r.body.error === 'invalid_code').length;
  assert.ok(wrong <= 9, `${wrong} wrong codes answered 401`);
  assert.equal(wrong + count(answers, 429), 40, JSON.stringify(answers.map((a) => a.status)));
});
