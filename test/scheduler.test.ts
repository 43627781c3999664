import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tickIO } from 'node:timers/promises';
import { Scheduler } from '../src/scheduler.js';
import type { Check } from '../src/checks/types.js';
import type { CheckResult, Kind, Target } from '../src/core/types.js';
import { testTarget } from './helpers/targets.js';

function target(name: string, interval: number, extra: Partial<Target> = {}): Target {
  return testTarget({ kind: 'http', name, address: 'http://x', interval, timeout: interval, ...extra });
}

/** A fake check whose duration and outcome the test controls; records start times. */
function fakeCheck(opts: { ms?: number; ok?: (t: Target) => boolean; now: () => number }) {
  const starts: Array<{ name: string; at: number }> = [];
  let inflight = 0;
  let maxInflight = 0;
  const perTarget = new Map<string, number>();
  let maxPerTarget = 0;
  const check: Check = {
    kind: 'http',
    async run(t, ctx) {
      starts.push({ name: t.name, at: opts.now() });
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      perTarget.set(t.name, (perTarget.get(t.name) ?? 0) + 1);
      maxPerTarget = Math.max(maxPerTarget, perTarget.get(t.name) ?? 0);
      await new Promise<void>((r) => {
        setTimeout(r, opts.ms ?? 0);
        ctx.signal?.addEventListener('abort', () => r(), { once: true });
      });
      inflight--;
      perTarget.set(t.name, (perTarget.get(t.name) ?? 1) - 1);
      const ok = opts.ok?.(t) ?? true;
      return {
        ok,
        ms: opts.ms ?? 0,
        at: opts.now(),
        detail: {},
        ...(ok ? {} : { error: { code: 'x', message: 'x' } }),
      } as CheckResult;
    },
  };
  return { check, starts, stats: () => ({ maxInflight, maxPerTarget }) };
}

const registry = (check: Check) =>
  Object.fromEntries(
    (['ping', 'http', 'tcp', 'tls', 'dns', 'push'] as Kind[]).map((k) => [k, check]),
  ) as Record<Kind, Check>;

/** Advances fake time in small steps, letting promises settle between steps. */
async function advance(t: TestContext, ms: number, step = 10): Promise<void> {
  for (let n = 0; n < ms; n += step) {
    t.mock.timers.tick(step);
    await tickIO();
  }
}

test('first checks are spread over the interval, not all at once', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const fc = fakeCheck({ now: Date.now });
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const s = new Scheduler({ checks: registry(fc.check), now: Date.now, onResult: () => undefined, random });
  for (let i = 0; i < 100; i++) s.upsert(target(`t${i}`, 60));
  s.start();
  await advance(t, 60_000, 500);
  await s.stop();
  const firsts = new Map<string, number>();
  for (const st of fc.starts) if (!firsts.has(st.name)) firsts.set(st.name, st.at - 1_000_000);
  assert.equal(firsts.size, 100, 'every target was checked within one interval');
  const inFirstSecond = [...firsts.values()].filter((x) => x < 1000).length;
  assert.ok(inFirstSecond < 10, `${inFirstSecond} of 100 started in the first second`);
  const quarters = [0, 1, 2, 3].map(
    (q) => [...firsts.values()].filter((x) => x >= q * 15000 && x < (q + 1) * 15000).length,
  );
  assert.ok(
    quarters.every((n) => n >= 10),
    `spread by quarter: ${quarters.join(', ')}`,
  );
});

test('no drift: slots stay aligned to the interval even when checks take time', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const fc = fakeCheck({ ms: 300, now: Date.now });
  const s = new Scheduler({ checks: registry(fc.check), now: Date.now, onResult: () => undefined });
  s.start();
  s.upsert(target('web', 1), 1000);
  await advance(t, 10_050);
  await s.stop();
  assert.deepEqual(
    fc.starts.map((x) => x.at),
    [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000],
  );
});

test('never two checks of one target at once: a slow check skips its next slot', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const fc = fakeCheck({ ms: 2500, now: Date.now });
  const s = new Scheduler({ checks: registry(fc.check), now: Date.now, onResult: () => undefined });
  s.start();
  s.upsert(target('slow', 1), 1000);
  await advance(t, 10_050);
  await s.stop();
  assert.equal(fc.stats().maxPerTarget, 1);
  // Runs at 1 s, then the next free slot after 2.5 s: 4, 7, 10.
  assert.deepEqual(
    fc.starts.map((x) => x.at),
    [1000, 4000, 7000, 10_000],
  );
});

test('a global concurrency limit holds', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const fc = fakeCheck({ ms: 200, now: Date.now });
  const s = new Scheduler({
    checks: registry(fc.check),
    now: Date.now,
    concurrency: 3,
    onResult: () => undefined,
  });
  s.start();
  for (let i = 0; i < 20; i++) s.upsert(target(`t${i}`, 60), 0);
  await advance(t, 3000);
  await s.stop();
  assert.equal(fc.stats().maxInflight, 3);
  assert.equal(new Set(fc.starts.map((x) => x.name)).size, 20, 'every queued check still ran');
});

test('retryInterval re-checks faster while failing', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const fc = fakeCheck({ now: Date.now, ok: () => Date.now() >= 30_000 });
  const s = new Scheduler({ checks: registry(fc.check), now: Date.now, onResult: () => undefined });
  s.start();
  s.upsert(target('flaky', 60, { retryInterval: 10 }), 1000);
  await advance(t, 130_000, 100);
  await s.stop();
  // Failing at 1 s, retried 10 s after each failed result, ok from 30 s, then the 60 s rhythm again.
  const at = fc.starts.map((x) => x.at);
  const gaps = at.slice(1).map((x, i) => x - (at[i] as number));
  assert.equal(at.length, 5, `starts: ${at.join(', ')}`);
  for (const g of gaps.slice(0, 3)) assert.ok(g >= 10_000 && g <= 10_200, `retry gap ${g}`);
  assert.equal(gaps[3], 60_000);
});

test('batched kinds get every target due in the same second in one call', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const batches: string[][] = [];
  const ping: Check = {
    kind: 'ping',
    run: () => Promise.reject(new Error('run() must not be used for a batch')),
    runBatch: (targets) => {
      batches.push(targets.map((x) => x.name));
      return Promise.resolve(
        new Map(targets.map((x) => [x.name, { ok: true, ms: 1, at: Date.now(), detail: {} }])),
      );
    },
  };
  const fc = fakeCheck({ now: Date.now });
  const s = new Scheduler({
    checks: { ...registry(fc.check), ping },
    now: Date.now,
    onResult: () => undefined,
  });
  s.start();
  for (let i = 0; i < 50; i++) s.upsert({ ...target(`p${i}`, 60), kind: 'ping' }, 1001 + i * 10);
  await advance(t, 2500);
  await s.stop();
  assert.equal(batches.length, 1);
  assert.equal(batches[0]?.length, 50);
});

test('removing a target stops its checks; results of removed targets are dropped', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const fc = fakeCheck({ now: Date.now, ms: 100 });
  const results: string[] = [];
  const s = new Scheduler({
    checks: registry(fc.check),
    now: Date.now,
    onResult: (x) => results.push(x.name),
  });
  s.start();
  s.upsert(target('gone', 1), 0);
  await advance(t, 50);
  s.remove('gone');
  await advance(t, 5000);
  await s.stop();
  assert.equal(fc.starts.length, 1);
  assert.deepEqual(results, []);
});
