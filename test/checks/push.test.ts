import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPushCheck, newPushToken } from '../../src/checks/push.js';
import type { Beat } from '../../src/checks/push.js';
import type { CheckResult, Target } from '../../src/core/types.js';

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1);

function target(extra: Partial<Target> = {}): Target {
  return {
    name: 'nightly-backup',
    kind: 'push',
    address: '',
    interval: 60,
    timeout: 10,
    failThreshold: 1,
    recoverThreshold: 1,
    tags: [],
    source: 'api',
    createdAt: T0 - 60 * MIN,
    pushToken: 'secret',
    ...extra,
  };
}

/** Runs the check at `now` with `beat` as the last heartbeat and the process started at T0. */
function checkAt(now: number, beat?: Beat, t: Target = target()): Promise<CheckResult> {
  const beats = { last: (name: string) => (name === t.name ? beat : undefined) };
  return createPushCheck(beats, T0).run(t, { now: () => now });
}

test('a recent ok beat is up, with the time since it', async () => {
  const r = await checkAt(T0 + 10 * MIN, { at: T0 + 9 * MIN, ok: true, ms: 1234 });
  assert.equal(r.ok, true);
  assert.equal(r.error, undefined);
  assert.equal(r.detail.sinceLastMs, MIN);
  assert.equal(r.ms, 1234);
  assert.equal(r.at, T0 + 10 * MIN);
});

test('a beat is still in time up to interval + grace (default 60 s)', async () => {
  const beat = { at: T0 + 5 * MIN, ok: true };
  assert.equal((await checkAt(T0 + 7 * MIN, beat)).ok, true);
  assert.equal((await checkAt(T0 + 7 * MIN + 1, beat)).ok, false);
});

test('a custom grace widens the window', async () => {
  const beat = { at: T0 + 5 * MIN, ok: true };
  assert.equal((await checkAt(T0 + 9 * MIN, beat, target({ grace: 300 }))).ok, true);
});

test('a late beat is push_missed, saying how long it has been quiet', async () => {
  const r = await checkAt(T0 + 10 * MIN, { at: T0 + 5 * MIN, ok: true });
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'push_missed');
  assert.equal(r.error?.message, 'no heartbeat for 5m (expected every 60s)');
  assert.equal(r.detail.sinceLastMs, 5 * MIN);
});

test('long intervals are shown in minutes or hours', async () => {
  const t = target({ interval: 3600 });
  const r = await checkAt(T0 + 200 * MIN, { at: T0 + 10 * MIN, ok: true }, t);
  assert.equal(r.error?.message, 'no heartbeat for 3h 10m (expected every 1h)');
});

test('a failure beat is push_failure carrying the job message', async () => {
  const r = await checkAt(T0 + 10 * MIN, { at: T0 + 9 * MIN, ok: false, msg: 'disk full on /backup' });
  assert.equal(r.ok, false);
  assert.equal(r.error?.code, 'push_failure');
  assert.equal(r.error?.message, 'the job reported a failure: disk full on /backup');
});

test('a failure beat without a message still says what happened', async () => {
  const r = await checkAt(T0 + 10 * MIN, { at: T0 + 9 * MIN, ok: false });
  assert.equal(r.error?.message, 'the job reported a failure without a message');
});

test('before any beat the target is not missing until interval + grace after start-up', async () => {
  const waiting = await checkAt(T0 + 2 * MIN);
  assert.equal(waiting.ok, true);
  assert.equal(waiting.detail.sinceLastMs, undefined);
  const missed = await checkAt(T0 + 2 * MIN + 1);
  assert.equal(missed.error?.code, 'push_missed');
  assert.equal(missed.error?.message, 'no heartbeat yet (expected every 60s)');
});

test('a target created after start-up gets its own first window', async () => {
  const t = target({ createdAt: T0 + 30 * MIN });
  assert.equal((await checkAt(T0 + 31 * MIN, undefined, t)).ok, true);
  assert.equal((await checkAt(T0 + 33 * MIN, undefined, t)).error?.code, 'push_missed');
});

test('after a restart, a beat from before it is not counted as missed straight away', async () => {
  // The last beat came an hour before Lookout started: beats sent while it was
  // down were lost, so the job gets a full window from start-up.
  const beat = { at: T0 - 60 * MIN, ok: true };
  assert.equal((await checkAt(T0 + MIN, beat)).ok, true);
  const r = await checkAt(T0 + 3 * MIN, beat);
  assert.equal(r.error?.message, 'no heartbeat for 1h 3m (expected every 60s)');
});

test('push tokens are url-safe, at least 128 bits and distinct', () => {
  const tokens = new Set(Array.from({ length: 100 }, newPushToken));
  assert.equal(tokens.size, 100);
  for (const t of tokens) {
    assert.match(t, /^[A-Za-z0-9_-]+$/);
    assert.ok(t.length * 6 >= 128, t);
  }
});
