import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyMemory, onDown, onResult, onTick, onUp } from '../../src/core/policy.js';
import type { AlertMemory, PolicySettings } from '../../src/core/policy.js';
import type { AlertMessage } from '../../src/core/message.js';
import type { CheckResult, Incident, Target, TargetState } from '../../src/core/types.js';

const T: Target = {
  name: 'portal',
  kind: 'http',
  address: 'https://portal.example.net',
  interval: 10,
  timeout: 5,
  failThreshold: 1,
  recoverThreshold: 1,
  tags: [],
  source: 'api',
  createdAt: 0,
};
const S: PolicySettings = { alertCooldown: 300, remindEvery: 0, flapping: { transitions: 4, window: 600 } };
const MIN = 60_000;
const down = (at: number): TargetState => ({
  status: 'down',
  since: at,
  fails: 1,
  oks: 0,
  lastResult: { ok: false, ms: 1, at, detail: {}, error: { code: 'http_status', message: 'HTTP 500' } },
});
const up = (at: number): TargetState => ({ status: 'up', since: at, fails: 0, oks: 1 });

/** Replays a timeline of flips ("D@minute" / "U@minute") through the policy; returns message titles. */
function replay(
  timeline: string[],
  s: PolicySettings = S,
): { titles: string[]; msgs: AlertMessage[]; mem: AlertMemory } {
  let mem = emptyMemory();
  let inc: Incident | undefined;
  let n = 0;
  const msgs: AlertMessage[] = [];
  for (const step of timeline) {
    const [what, when] = step.split('@') as [string, string];
    const at = Number(when) * MIN;
    if (what === 'D') {
      inc = { id: `i${++n}`, target: 'portal', start: at, cause: 'HTTP 500' };
      const d = onDown(mem, T, down(at), inc, s, at);
      mem = d.memory;
      msgs.push(...d.messages);
    } else if (what === 'U') {
      if (inc) inc.end = at;
      const d = onUp(mem, T, up(at), inc, s, at);
      mem = d.memory;
      msgs.push(...d.messages);
    } else if (what === 'T') {
      const d = onTick(
        mem,
        T,
        inc && inc.end === undefined ? down(inc.start) : up(at),
        inc && inc.end === undefined ? inc : undefined,
        s,
        at,
      );
      mem = d.memory;
      msgs.push(...d.messages);
    }
  }
  return { titles: msgs.map((m) => m.title), msgs, mem };
}

test('DOWN and RECOVERED on transitions; the recovery says how long and why', () => {
  const r = replay(['D@0', 'U@14']);
  assert.deepEqual(r.titles, ['DOWN portal — HTTP 500', 'RECOVERED portal — down for 14m']);
  assert.equal(r.msgs[1]?.fields.find((f) => f.label === 'Cause')?.value, 'HTTP 500');
  assert.equal(r.msgs[1]?.incidentId, r.msgs[0]?.incidentId, 'threaded to its DOWN');
});

test('cooldown: a DOWN within alertCooldown is held back and reported with the next message', () => {
  const calm = { ...S, flapping: { transitions: 20, window: 600 } };
  const r = replay(['D@0', 'U@1', 'D@2', 'U@3', 'D@4', 'U@4.5', 'D@10', 'U@20'], calm);
  assert.deepEqual(r.titles, [
    'DOWN portal — HTTP 500',
    'RECOVERED portal — down for 1m',
    'DOWN portal — HTTP 500',
    'RECOVERED portal — down for 10m',
  ]);
  assert.match(
    r.msgs[2]?.lines.join(' ') ?? '',
    /went down 2 more times in the last 8m \(held back by the 5m cooldown\)/,
  );
});

test('a RECOVERED follows exactly the DOWNs that were sent', () => {
  const r = replay(['D@0', 'U@1', 'D@2', 'U@3']);
  assert.equal(r.titles.filter((t) => t.startsWith('RECOVERED')).length, 1);
  assert.equal(r.mem.suppressed?.count, 1, 'the held-back DOWN is remembered, not dropped');
});

test('flapping: up/down every check for 5 minutes produces at most 3 messages, then one when stable', () => {
  const steps: string[] = [];
  for (let s = 0; s < 300; s += 10) steps.push(`${(s / 10) % 2 === 0 ? 'D' : 'U'}@${s / 60}`);
  const r = replay(steps);
  assert.ok(r.titles.length <= 3, r.titles.join(' | '));
  assert.ok(
    r.titles.some((t) => t.startsWith('FLAPPING portal')),
    r.titles.join(' | '),
  );
  // Quiet while it keeps flapping, then one message once stable for the window.
  const later = replay([...steps, 'T@6', 'T@14', 'T@15.5', 'T@20']);
  const afterFlap = later.titles.slice(r.titles.length);
  assert.equal(afterFlap.length, 1, afterFlap.join(' | '));
  assert.match(afterFlap[0] as string, /^(STABLE portal — settled UP|RECOVERED portal)/);
});

test('reminders every remindEvery while DOWN and not acknowledged; ack stops them', () => {
  const s = { ...S, remindEvery: 600 };
  let mem = emptyMemory();
  const inc: Incident = { id: 'i1', target: 'portal', start: 0, cause: 'HTTP 500' };
  mem = onDown(mem, T, down(0), inc, s, 0).memory;
  const titles: string[] = [];
  for (let m = 1; m <= 35; m++) {
    if (m === 25) inc.ackedBy = 'alice';
    const d = onTick(mem, T, down(0), inc, s, m * MIN);
    mem = d.memory;
    titles.push(...d.messages.map((x) => x.title));
  }
  assert.deepEqual(titles, ['STILL DOWN portal — for 10m', 'STILL DOWN portal — for 20m']);
});

test('reminders are off by default', () => {
  const inc: Incident = { id: 'i1', target: 'portal', start: 0, cause: 'x' };
  const mem = onDown(emptyMemory(), T, down(0), inc, S, 0).memory;
  assert.deepEqual(onTick(mem, T, down(0), inc, S, 5 * 3600e3).messages, []);
});

const result = (warnings: string[], extra: Partial<CheckResult> = {}): CheckResult => ({
  ok: true,
  ms: 900,
  at: 0,
  detail: {},
  warnings,
  ...extra,
});

test('certificate expiry warnings: each threshold once; a renewal resets them', () => {
  let mem = emptyMemory();
  const sent: string[] = [];
  const feed = (w: string[], daysLeft: number) => {
    const d = onResult(mem, T, result(w, { detail: { daysLeft } }), S, 0);
    mem = d.memory;
    sent.push(...d.messages.map((m) => m.title));
  };
  feed(['cert-expiry-30'], 29);
  feed(['cert-expiry-30'], 28);
  feed(['cert-expiry-14'], 13);
  feed(['cert-expiry-14'], 12);
  feed(['cert-expiry-7'], 6);
  feed([], 90); // renewed
  feed(['cert-expiry-30'], 29);
  assert.deepEqual(sent, [
    'WARNING portal — certificate expires in 29 days',
    'WARNING portal — certificate expires in 13 days',
    'WARNING portal — certificate expires in 6 days',
    'WARNING portal — certificate expires in 29 days',
  ]);
});

test('slow responses warn once after N slow checks in a row', () => {
  let mem = emptyMemory();
  const sent: string[] = [];
  for (const w of [['slow'], ['slow'], [], ['slow'], ['slow'], ['slow'], ['slow'], ['slow']]) {
    const d = onResult(mem, T, result(w), S, 0);
    mem = d.memory;
    sent.push(...d.messages.map((m) => m.title));
  }
  assert.deepEqual(sent, ['WARNING portal — slow responses (900 ms, 3 checks in a row)']);
});

test('a healthy result with nothing to warn about leaves the memory as it was (the same object)', () => {
  // The engine rewrites the main file whenever the memory object changes: at 10,000
  // targets a copy per healthy check meant 2.3 MB rewritten every second.
  const mem = emptyMemory();
  assert.equal(onResult(mem, T, result([]), S, 0).memory, mem);
  const warned = onResult(onResult(mem, T, result(['slow']), S, 0).memory, T, result([]), S, 0).memory;
  assert.equal(onResult(warned, T, result([]), S, 0).memory, warned);
});
