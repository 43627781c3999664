import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, next, pause, resume } from '../../src/core/state.js';
import type { CheckResult, Status, TargetState } from '../../src/core/types.js';

const ok = (at: number): CheckResult => ({ ok: true, ms: 10, at, detail: {} });
const bad = (at: number): CheckResult => ({
  ok: false,
  ms: 10,
  at,
  detail: {},
  error: { code: 'http_status', message: 'HTTP 500' },
});

/** Runs a string of results ("+" ok, "-" fail) and returns the statuses after each and the flips. */
function run(
  seq: string,
  policy = { failThreshold: 3, recoverThreshold: 1 },
  start: TargetState = initialState(0),
) {
  let s = start;
  const statuses: Status[] = [];
  const flips: string[] = [];
  [...seq].forEach((c, i) => {
    const r = next(s, c === '+' ? ok(i) : bad(i), policy, i, 'web');
    s = r.state;
    statuses.push(s.status);
    if (r.flip) flips.push(`${r.flip.from}->${r.flip.to}@${i}`);
  });
  return { statuses, flips, state: s };
}

const cases: Array<{
  name: string;
  seq: string;
  policy?: { failThreshold: number; recoverThreshold: number };
  flips: string[];
}> = [
  { name: 'first success: unknown -> up', seq: '+', flips: ['unknown->up@0'] },
  { name: 'two failures are not enough for DOWN', seq: '+--', flips: ['unknown->up@0'] },
  { name: 'DOWN after exactly failThreshold failures', seq: '+---', flips: ['unknown->up@0', 'up->down@3'] },
  { name: 'a success resets the failure count', seq: '+--+--', flips: ['unknown->up@0'] },
  { name: 'unknown -> down needs the threshold too', seq: '---', flips: ['unknown->down@2'] },
  { name: 'no repeated DOWN while failing', seq: '+------', flips: ['unknown->up@0', 'up->down@3'] },
  {
    name: 'RECOVERED after recoverThreshold successes',
    seq: '+---+',
    flips: ['unknown->up@0', 'up->down@3', 'down->up@4'],
  },
  {
    name: 'recoverThreshold 2 waits for two successes',
    seq: '+---+-++',
    policy: { failThreshold: 3, recoverThreshold: 2 },
    flips: ['unknown->up@0', 'up->down@3', 'down->up@7'],
  },
  {
    name: 'failThreshold 1 goes DOWN at once',
    seq: '+-',
    policy: { failThreshold: 1, recoverThreshold: 1 },
    flips: ['unknown->up@0', 'up->down@1'],
  },
];

for (const c of cases) {
  test(`state machine: ${c.name}`, () => {
    assert.deepEqual(run(c.seq, c.policy).flips, c.flips);
  });
}

test('a DOWN flip carries the error message as reason and sets since', () => {
  let s = initialState(0);
  let flip;
  for (let i = 1; i <= 3; i++)
    ({ state: s, flip } = next(s, bad(i * 1000), { failThreshold: 3, recoverThreshold: 1 }, i * 1000, 'web'));
  assert.equal(flip?.reason, 'HTTP 500');
  assert.equal(flip?.target, 'web');
  assert.equal(s.since, 3000);
  assert.equal(s.lastResult?.error?.code, 'http_status');
});

test('paused targets ignore results; resume goes back to unknown without a DOWN', () => {
  const up = run('+').state;
  const p = pause(up, 10, 'web');
  assert.equal(p.state.status, 'paused');
  assert.equal(p.flip?.to, 'paused');
  const still = next(p.state, bad(11), { failThreshold: 1, recoverThreshold: 1 }, 11);
  assert.equal(still.state.status, 'paused');
  assert.equal(still.flip, undefined);
  const r = resume(still.state, 12, 'web');
  assert.equal(r.state.status, 'unknown');
  assert.equal(r.state.fails, 0);
  assert.equal(resume(up, 13).flip, undefined, 'resuming a target that is not paused is a no-op');
});

test('a pending result (no verdict yet) leaves the state as it is', () => {
  const s = initialState(0);
  const r = next(
    s,
    { ok: true, pending: true, ms: 0, at: 1, detail: {} },
    { failThreshold: 1, recoverThreshold: 1 },
    1,
  );
  assert.equal(r.state.status, 'unknown');
  assert.equal(r.flip, undefined);
});
