import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compact,
  createHistoryData,
  dailyUptime,
  latencyBucket,
  percentileFromHistogram,
  recordSample,
  recordStatus,
  removeTarget,
  renameTarget,
  series,
  stats,
  trail,
  validateColdPart,
  validateHistoryData,
  validateHotPart,
  LATENCY_BUCKETS,
} from '../../src/core/history.js';
import type {
  HistoryData,
  HistoryStats,
  RetentionOptions,
  RollupRow,
  SampleRow,
} from '../../src/core/history.js';
import type { Status } from '../../src/core/types.js';
import { prng } from '../helpers/prng.js';

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Monday 2025-01-06 00:00 UTC. */
const T0 = Date.UTC(2025, 0, 6);

function sample(h: HistoryData, name: string, at: number, ok = true, ms = 20, code = 'timeout'): boolean {
  return recordSample(h, name, {
    ok,
    ms,
    at,
    detail: {},
    ...(ok ? {} : { error: { code, message: 'failed' } }),
  });
}

function statuses(h: HistoryData, name: string, changes: [number, Status][]): void {
  for (const [at, st] of changes) recordStatus(h, name, st, at);
}

// ---------------------------------------------------------------------------
// Time-weighted uptime

interface UptimeCase {
  name: string;
  changes: [number, Status][];
  from: number;
  to: number;
  now: number;
  expect: Partial<HistoryStats>;
}

const uptimeCases: UptimeCase[] = [
  {
    name: 'down 30 min in a 24 h window is 97.92 %',
    changes: [
      [T0, 'up'],
      [T0 + 6 * HOUR, 'down'],
      [T0 + 6 * HOUR + 30 * MIN, 'up'],
    ],
    from: T0,
    to: T0 + DAY,
    now: T0 + DAY,
    expect: { uptime: 1 - 1800 / 86_400, downtimeS: 1800, pausedS: 0, observedS: 86_400 },
  },
  {
    name: 'a paused hour is neither up nor down',
    changes: [
      [T0, 'up'],
      [T0 + 2 * HOUR, 'paused'],
      [T0 + 3 * HOUR, 'unknown'],
      [T0 + 3 * HOUR + MIN, 'up'],
      [T0 + 10 * HOUR, 'down'],
      [T0 + 10 * HOUR + 30 * MIN, 'up'],
    ],
    from: T0,
    to: T0 + DAY,
    now: T0 + DAY,
    expect: { uptime: 1 - 1800 / (86_400 - 3660), downtimeS: 1800, pausedS: 3600, observedS: 86_400 - 3660 },
  },
  {
    name: 'a window starting mid-incident counts only the part inside it',
    changes: [
      [T0, 'up'],
      [T0 + HOUR, 'down'],
      [T0 + 3 * HOUR, 'up'],
    ],
    from: T0 + 2 * HOUR,
    to: T0 + 26 * HOUR,
    now: T0 + 26 * HOUR,
    expect: { downtimeS: 3600, observedS: 86_400, uptime: 1 - 3600 / 86_400 },
  },
  {
    name: 'an incident still open counts up to now, and the future is left out',
    changes: [
      [T0, 'up'],
      [T0 + 23 * HOUR, 'down'],
    ],
    from: T0,
    to: T0 + DAY,
    now: T0 + 23 * HOUR + 30 * MIN,
    expect: { downtimeS: 1800, observedS: 23.5 * 3600, uptime: 1 - 1800 / (23.5 * 3600) },
  },
  {
    name: 'time before the first check is not counted',
    changes: [
      [T0 + 12 * HOUR, 'unknown'],
      [T0 + 12 * HOUR + 5 * S, 'up'],
    ],
    from: T0,
    to: T0 + DAY,
    now: T0 + DAY,
    expect: { uptime: 1, downtimeS: 0, observedS: 12 * 3600 - 5 },
  },
  {
    name: 'a change exactly on the window start',
    changes: [
      [T0, 'up'],
      [T0 + HOUR, 'down'],
      [T0 + 2 * HOUR, 'up'],
    ],
    from: T0 + HOUR,
    to: T0 + 2 * HOUR,
    now: T0 + DAY,
    expect: { uptime: 0, downtimeS: 3600, observedS: 3600 },
  },
  {
    name: 'nothing observed gives no uptime',
    changes: [
      [T0, 'unknown'],
      [T0 + HOUR, 'paused'],
    ],
    from: T0,
    to: T0 + DAY,
    now: T0 + DAY,
    expect: { uptime: null, observedS: 0, pausedS: 23 * 3600 },
  },
];

for (const c of uptimeCases) {
  test(`uptime: ${c.name}`, () => {
    const h = createHistoryData();
    statuses(h, 'web', c.changes);
    const s = stats(h, 'web', c.from, c.to, c.now);
    for (const [k, v] of Object.entries(c.expect)) {
      const got = s[k as keyof HistoryStats];
      if (typeof v === 'number' && typeof got === 'number')
        assert.ok(Math.abs(got - v) < 1e-9, `${k}: ${got} ≠ ${v}`);
      else assert.deepEqual(got, v, k);
    }
  });
}

test('uptime: 97.92 % is what a user sees for 30 minutes down in a day', () => {
  const h = createHistoryData();
  statuses(h, 'web', uptimeCases[0]?.changes ?? []);
  const s = stats(h, 'web', T0, T0 + DAY, T0 + DAY);
  assert.equal(((s.uptime ?? 0) * 100).toFixed(2), '97.92');
});

test('uptime: an unknown target has no figures', () => {
  const s = stats(createHistoryData(), 'nope', T0, T0 + DAY, T0 + DAY);
  assert.deepEqual(s, {
    uptime: null,
    downtimeS: 0,
    pausedS: 0,
    observedS: 0,
    checks: 0,
    failures: 0,
    latency: null,
  });
});

/** Seconds per status in [a, b), minute by minute: an independent reference for whole-minute changes. */
function bruteForce(changes: [number, Status][], a: number, b: number, now: number) {
  let down = 0;
  let paused = 0;
  let observed = 0;
  const end = Math.min(b, now);
  for (let m = a; m < end; m += MIN) {
    let st: Status | undefined;
    for (const [t, s] of changes) if (t <= m) st = s;
    if (st === 'down') down += 60;
    if (st === 'paused') paused += 60;
    if (st === 'up' || st === 'down') observed += 60;
  }
  return { down, paused, observed };
}

function randomChanges(rnd: () => number, days: number): [number, Status][] {
  const changes: [number, Status][] = [[T0, 'unknown']];
  let t = T0 + Math.floor(rnd() * 30) * MIN;
  const pick: Status[] = ['up', 'down', 'up', 'paused', 'unknown', 'down'];
  while (t < T0 + days * DAY) {
    changes.push([t, pick[Math.floor(rnd() * pick.length)] ?? 'up']);
    t += Math.floor(1 + rnd() * 240) * MIN;
  }
  return changes;
}

test('uptime property: random flips and pauses match a minute-by-minute count for any window', () => {
  const rnd = prng(7);
  for (let run = 0; run < 5; run++) {
    const h = createHistoryData();
    const changes = randomChanges(rnd, 3);
    statuses(h, 'x', changes);
    for (let w = 0; w < 40; w++) {
      const a = T0 + Math.floor(rnd() * 3 * 24 * 60) * MIN;
      const b = a + Math.floor(rnd() * 2 * 24 * 60) * MIN;
      const now = T0 + 3 * DAY;
      const want = bruteForce(changes, a, b, now);
      const got = stats(h, 'x', a, b, now);
      assert.equal(got.downtimeS, want.down, `down in [${a}, ${b})`);
      assert.equal(got.pausedS, want.paused, `paused in [${a}, ${b})`);
      assert.equal(got.observedS, want.observed, `observed in [${a}, ${b})`);
    }
  }
});

// ---------------------------------------------------------------------------
// Roll-ups

interface Stream {
  changes: [number, Status][];
  end: number;
}

/**
 * Days of checks every minute (with jitter) from `start`, latencies spread over many
 * buckets, scattered failures, outages (DOWN after three failures) and pauses;
 * `onHour` runs a couple of minutes after each hour, as the app's compaction would.
 */
function simulate(
  h: HistoryData,
  name: string,
  seed: number,
  days: number,
  onHour?: (at: number) => void,
  start = T0,
): Stream {
  const rnd = prng(seed);
  const changes: [number, Status][] = [];
  const flip = (at: number, st: Status) => {
    changes.push([at, st]);
    recordStatus(h, name, st, at);
  };
  flip(start + 7 * MIN, 'unknown');
  let status: Status = 'unknown';
  let fails = 0;
  let outage = 0;
  let pause = 0;
  let nextHour = Math.floor(start / HOUR) * HOUR + HOUR;
  const end = T0 + days * DAY + 5 * HOUR + 17 * MIN;
  for (let t = start + 8 * MIN; t < end; t += MIN) {
    const at = t + Math.floor(rnd() * 5000);
    if (at > nextHour + 2 * MIN) {
      onHour?.(nextHour + 2 * MIN);
      nextHour += HOUR;
    }
    if (pause > 0) {
      if (--pause === 0) {
        status = 'unknown';
        flip(at, status);
      }
      continue;
    }
    if (status !== 'down' && rnd() < 0.002) {
      pause = 20 + Math.floor(rnd() * 150);
      status = 'paused';
      flip(at, status);
      continue;
    }
    if (outage === 0 && rnd() < 0.004) outage = 2 + Math.floor(rnd() * 90);
    const ok = outage > 0 ? false : rnd() > 0.03;
    if (outage > 0) outage--;
    const ms = Math.round(Math.exp(Math.log(0.4) + rnd() * Math.log(5000)) * 10) / 10;
    sample(h, name, at, ok, ok ? ms : 10_000, rnd() < 0.5 ? 'timeout' : 'connection_refused');
    fails = ok ? 0 : fails + 1;
    if (!ok && fails >= 3 && status !== 'down') {
      status = 'down';
      flip(at, status);
    } else if (ok && status !== 'up') {
      status = 'up';
      flip(at, status);
    }
  }
  return { changes, end };
}

function assertSameStats(after: HistoryStats, before: HistoryStats, where: string): void {
  for (const k of ['checks', 'failures', 'downtimeS', 'pausedS', 'observedS'] as const) {
    assert.equal(after[k], before[k], `${k} ${where}`);
  }
  assert.equal(after.uptime, before.uptime, `uptime ${where}`);
  if (!before.latency || !after.latency) {
    assert.equal(after.latency, before.latency, `latency ${where}`);
    return;
  }
  for (const k of ['min', 'avg', 'max'] as const) {
    assert.equal(after.latency[k], before.latency[k], `latency.${k} ${where}`);
  }
  for (const k of ['p50', 'p95'] as const) {
    assert.equal(
      latencyBucket(after.latency[k]),
      latencyBucket(before.latency[k]),
      `latency.${k} bucket ${where}`,
    );
  }
}

test('roll-ups: stats over whole hours and days are the same before and after compact()', () => {
  // Targets created at midnight, mid-afternoon and just before midnight.
  const starts = [T0, T0 + 13 * HOUR + 27 * MIN, T0 + 23 * HOUR + 50 * MIN];
  for (const [i, start] of starts.entries()) {
    const seed = i + 1;
    const h = createHistoryData();
    const { end } = simulate(h, 'web', seed, 4, undefined, start);
    const now = end;
    const rnd = prng(seed * 100);
    const firstDay = T0 + DAY;
    const windows: [number, number][] = [];
    // Whole days (daily rows), whole hours of the last day (hourly rows), and spans reaching now (all layers).
    // From the target's first hour, partway through a day now held as one daily row.
    const since = Math.floor(start / HOUR) * HOUR;
    windows.push([T0, firstDay], [T0, firstDay + DAY], [since, firstDay + DAY], [since, now]);
    for (let i = 0; i < 8; i++) {
      const a = firstDay + Math.floor(rnd() * 2) * DAY;
      windows.push([a, a + (1 + Math.floor(rnd() * 2)) * DAY]);
    }
    for (let i = 0; i < 12; i++) {
      const a = T0 + 4 * DAY - HOUR * Math.floor(1 + rnd() * 22);
      windows.push([a, a + HOUR * Math.floor(1 + rnd() * 3)]);
    }
    const lastHour = Math.floor(now / HOUR) * HOUR;
    windows.push(
      [T0, now],
      [firstDay, now],
      [T0 + 2 * DAY, now],
      [lastHour - DAY, now],
      [lastHour - 2 * HOUR, now],
    );
    const before = windows.map(([a, b]) => stats(h, 'web', a, b, now));
    const retention: RetentionOptions = { rawHours: 3, hourlyDays: 1, dailyDays: 30, statusPoints: 0 };
    assert.equal(compact(h, now, retention), true);
    // Stored times are epoch seconds.
    const cold = h.cold.targets.web;
    assert.ok(cold);
    assert.equal(cold.daily.n, 4);
    assert.equal(cold.hourly.from, (T0 + 3 * DAY) / S);
    assert.ok(cold.raw.from > (T0 + 4 * DAY) / S);
    // With no status changes kept, days of status come from the rows alone.
    assert.ok((h.hot.targets.web?.status.from ?? 0) > (T0 + 2 * DAY) / S, 'the status timeline was cut');
    windows.forEach(([a, b], i) => {
      assertSameStats(stats(h, 'web', a, b, now), before[i] as HistoryStats, `seed ${seed} [${a}, ${b})`);
    });
  }
});

test('roll-ups: compacting every hour gives exactly what one compaction at the end gives', () => {
  const hourly = createHistoryData();
  const once = createHistoryData();
  const start = T0 + 9 * HOUR + 40 * MIN;
  const { end } = simulate(hourly, 'web', 11, 3, (at) => compact(hourly, at), start);
  simulate(once, 'web', 11, 3, undefined, start);
  compact(hourly, end);
  compact(once, end);
  assert.equal(JSON.stringify(hourly), JSON.stringify(once));
});

test('roll-ups: compact() is idempotent and cheap when there is nothing to do', () => {
  const h = createHistoryData();
  const { end } = simulate(h, 'web', 5, 2);
  assert.equal(compact(h, end), true);
  const snapshot = JSON.stringify(h);
  assert.equal(compact(h, end), false);
  assert.equal(compact(h, end + 30 * S), false);
  assert.equal(JSON.stringify(h), snapshot);
});

test('roll-ups: a hot half older than the cold half (crash between two writes) counts nothing twice', () => {
  const h = createHistoryData();
  const { end } = simulate(h, 'web', 9, 1);
  const staleHot = JSON.parse(JSON.stringify(h.hot)) as HistoryData['hot'];
  const want = stats(h, 'web', T0, end, end);
  compact(h, end);
  const mixed: HistoryData = { hot: staleHot, cold: h.cold };
  assertSameStats(stats(mixed, 'web', T0, end, end), want, 'stale hot');
  compact(mixed, end);
  assertSameStats(stats(mixed, 'web', T0, end, end), want, 'stale hot, compacted');
});

test('roll-ups: latency of raw samples is exact (nearest rank)', () => {
  const h = createHistoryData();
  recordStatus(h, 'db', 'up', T0);
  for (let i = 1; i <= 100; i++) sample(h, 'db', T0 + i * MIN, true, i);
  sample(h, 'db', T0 + 101 * MIN, false, 10_000);
  const s = stats(h, 'db', T0, T0 + 2 * HOUR, T0 + 2 * HOUR);
  assert.equal(s.checks, 101);
  assert.equal(s.failures, 1);
  assert.deepEqual(s.latency, { min: 1, avg: 50.5, max: 100, p50: 50, p95: 95 });
});

// ---------------------------------------------------------------------------
// Histogram

test('histogram: percentiles land in the bucket of the exact value', () => {
  const rnd = prng(3);
  for (let run = 0; run < 50; run++) {
    const values = Array.from(
      { length: 1 + Math.floor(rnd() * 500) },
      () => Math.round(Math.exp(rnd() * Math.log(120_000)) * 10) / 10,
    );
    const hist = new Array<number>(LATENCY_BUCKETS).fill(0);
    for (const v of values) hist[latencyBucket(v)] = (hist[latencyBucket(v)] ?? 0) + 1;
    const sorted = [...values].sort((a, b) => a - b);
    const bounds = { min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
    for (const p of [0.5, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(p * sorted.length) - 1] ?? 0;
      const est = percentileFromHistogram(hist, p, bounds);
      assert.ok(est !== null && est >= bounds.min && est <= bounds.max);
      assert.equal(latencyBucket(est), latencyBucket(exact), `p${p * 100} of ${values.length} values`);
    }
  }
});

test('histogram: buckets are ordered, cover 0 to past 60 s, and an empty histogram has no percentile', () => {
  assert.equal(latencyBucket(0), 0);
  assert.equal(latencyBucket(0.1), 1);
  assert.equal(latencyBucket(60_000), LATENCY_BUCKETS - 1);
  assert.equal(latencyBucket(1e9), LATENCY_BUCKETS - 1);
  let prev = 0;
  for (let ms = 0.1; ms < 60_000; ms *= 1.05) {
    const b = latencyBucket(ms);
    assert.ok(b >= prev);
    prev = b;
  }
  assert.equal(percentileFromHistogram(new Array<number>(LATENCY_BUCKETS).fill(0), 0.5), null);
});

// ---------------------------------------------------------------------------
// Retention

test('retention: raw samples, hourly and daily rows are dropped past their windows', () => {
  const h = createHistoryData();
  const { end } = simulate(h, 'web', 4, 6, (at) =>
    compact(h, at, { rawHours: 24, hourlyDays: 2, dailyDays: 3, statusPoints: 50 }),
  );
  compact(h, end, { rawHours: 24, hourlyDays: 2, dailyDays: 3, statusPoints: 50 });
  const cold = h.cold.targets.web;
  const hot = h.hot.targets.web;
  assert.ok(cold && hot);
  const endS = Math.floor(end / 1000);
  const floorS = (t: number, step: number) => Math.floor(t / step) * step;
  assert.equal(cold.raw.from, floorS(endS - 24 * 3600, 3600));
  assert.equal(cold.hourly.from, floorS(endS - 2 * 86_400, 86_400));
  assert.equal(cold.daily.from, floorS(endS - 3 * 86_400, 86_400));
  assert.ok(hot.status.n <= 50);
  const oldest = trail(h, 'web', 100_000)[0];
  assert.ok(oldest && oldest.t >= cold.raw.from * 1000);
  const gone = stats(h, 'web', T0, T0 + 2 * DAY, end);
  assert.equal(gone.checks, 0);
  assert.equal(gone.uptime, null);
});

test('retention: a 5 s target keeps at most rawSamples raw samples', () => {
  const h = createHistoryData();
  recordStatus(h, 'fast', 'up', T0);
  for (let t = T0; t < T0 + DAY; t += 5 * S) {
    sample(h, 'fast', t, true, 3);
    if (t % HOUR === 2 * MIN) compact(h, t, { rawSamples: 2880 });
  }
  assert.ok(trail(h, 'fast', 100_000).length <= 2880);
  const s = stats(h, 'fast', T0, T0 + DAY, T0 + DAY);
  assert.equal(s.checks, DAY / (5 * S), 'older samples still count through the hourly rows');
});

// ---------------------------------------------------------------------------
// Targets

test('targets: rename moves the history, remove forgets it', () => {
  const h = createHistoryData();
  const { end } = simulate(h, 'old', 6, 1);
  compact(h, end);
  const before = stats(h, 'old', T0, end, end);
  assert.equal(renameTarget(h, 'old', 'new'), true);
  assertSameStats(stats(h, 'new', T0, end, end), before, 'renamed');
  assert.equal(stats(h, 'old', T0, end, end).checks, 0);
  assert.equal(renameTarget(h, 'old', 'other'), false);
  sample(h, 'other', end + MIN);
  assert.equal(renameTarget(h, 'new', 'other'), true, 'renaming onto a name replaces its history');
  assert.equal(stats(h, 'other', T0, end + HOUR, end + HOUR).checks, before.checks);
  assert.equal(removeTarget(h, 'other'), true);
  assert.equal(removeTarget(h, 'other'), false);
  assert.deepEqual(Object.keys(h.hot.targets), []);
  assert.deepEqual(Object.keys(h.cold.targets), []);
});

test('samples: a replayed or out-of-order sample is ignored', () => {
  const h = createHistoryData();
  assert.equal(sample(h, 'a', T0 + MIN), true);
  assert.equal(sample(h, 'a', T0 + MIN), false);
  assert.equal(sample(h, 'a', T0 + 30 * S), false);
  assert.equal(sample(h, 'a', T0 + 2 * MIN), true);
  assert.equal(stats(h, 'a', T0, T0 + HOUR, T0 + HOUR).checks, 2);
});

// ---------------------------------------------------------------------------
// Reading

test('series: raw samples, hourly or daily rows depending on how far back the range starts', () => {
  const h = createHistoryData();
  const { end } = simulate(h, 'web', 8, 5, (at) => compact(h, at, { rawHours: 24, hourlyDays: 2 }));
  const cold = h.cold.targets.web;
  assert.ok(cold);

  const raw = series(h, 'web', end - 6 * HOUR, end, end) as SampleRow[];
  assert.ok(raw.length > 300 && raw.every((r) => 'ok' in r && r.t >= end - 6 * HOUR && r.t < end));
  const failed = raw.find((r) => !r.ok);
  assert.ok(failed?.code === 'timeout' || failed?.code === 'connection_refused');

  const hours = series(h, 'web', end - 36 * HOUR, end, end) as RollupRow[];
  assert.ok(hours.every((r) => r.resolution === 'hour'));
  assert.equal(hours.length, 37, 'the hour not rolled up yet is there too');
  const days = series(h, 'web', T0, end, end) as RollupRow[];
  assert.ok(days.every((r) => r.resolution === 'day'));
  assert.equal(days.length, 6, 'five whole days and today so far');
  assert.equal(days[0]?.t, T0);

  // Rows add up to the same totals as stats() over the same whole days and hours.
  const sum = (rows: RollupRow[], k: 'checks' | 'failures' | 'downtimeS') =>
    rows.reduce((n, r) => n + r[k], 0);
  const dayStats = stats(h, 'web', T0, T0 + 6 * DAY, end);
  assert.equal(sum(days, 'checks'), dayStats.checks);
  assert.equal(sum(days, 'failures'), dayStats.failures);
  assert.equal(sum(days, 'downtimeS'), dayStats.downtimeS);
  const firstHour = hours[0]?.t ?? 0;
  const hourStats = stats(h, 'web', firstHour, firstHour + 37 * HOUR, end);
  assert.equal(sum(hours, 'checks'), hourStats.checks);
});

test('series: rows not rolled up yet count only time that has passed since the target existed', () => {
  const h = createHistoryData();
  const created = T0 + 10 * HOUR + 30 * MIN;
  const downs: [number, number][] = [
    [T0 + 20 * HOUR, T0 + 20 * HOUR + 30 * MIN],
    [T0 + DAY + 11 * HOUR, T0 + DAY + 11 * HOUR + 30 * MIN],
  ];
  recordStatus(h, 'web', 'up', created);
  const now = T0 + DAY + 12 * HOUR + 15 * MIN;
  for (let t = created + MIN; t < now; t += MIN) {
    const down = downs.find(([a, b]) => t >= a && t < b);
    if (t === downs[0]?.[0] || t === downs[1]?.[0]) recordStatus(h, 'web', 'down', t);
    if (t === downs[0]?.[1] || t === downs[1]?.[1]) recordStatus(h, 'web', 'up', t);
    sample(h, 'web', t, !down);
  }
  // Nothing raw kept and no hourly rows before today: the older part comes from rows.
  compact(h, now, { rawHours: 0, hourlyDays: 0 });

  const hours = series(h, 'web', T0 + DAY + 10 * HOUR, now, now) as RollupRow[];
  assert.deepEqual(
    hours.map((r) => [r.t - T0 - DAY, r.resolution, r.checks, r.downtimeS, r.uptime]),
    [
      [10 * HOUR, 'hour', 60, 0, 1],
      [11 * HOUR, 'hour', 60, 1800, 0.5],
      [12 * HOUR, 'hour', 15, 0, 1],
    ],
  );
  const days = series(h, 'web', T0 - DAY, now, now) as RollupRow[];
  assert.deepEqual(
    days.map((r) => [r.t - T0, r.resolution, r.downtimeS, (r.uptime ?? 0).toFixed(9)]),
    [
      [0, 'day', 1800, (1 - 1800 / (13.5 * 3600)).toFixed(9)],
      [DAY, 'day', 1800, (1 - 1800 / (12.25 * 3600)).toFixed(9)],
    ],
  );
});

test('series: a range reaching back before the target existed uses the finest layer covering its life', () => {
  const h = createHistoryData();
  recordStatus(h, 'new', 'up', T0 + 10 * HOUR + 30 * MIN);
  for (let t = T0 + 10 * HOUR + 31 * MIN; t < T0 + 12 * HOUR + 15 * MIN; t += MIN) sample(h, 'new', t);
  const now = T0 + 12 * HOUR + 15 * MIN;
  const week = series(h, 'new', now - 7 * DAY, now, now);
  assert.ok(
    week.length === 104 && week.every((r) => 'ok' in r),
    'raw samples while the raw window holds everything',
  );
  compact(h, now, { rawHours: 0 });
  const rows = series(h, 'new', now - 7 * DAY, now, now) as RollupRow[];
  assert.deepEqual(
    rows.map((r) => [r.resolution, r.checks]),
    [
      ['hour', 29],
      ['hour', 60],
      ['hour', 15],
    ],
  );
});

test('trail: the last n samples, oldest first, across rolled and open hours', () => {
  const h = createHistoryData();
  recordStatus(h, 'a', 'up', T0);
  for (let i = 0; i < 200; i++) sample(h, 'a', T0 + i * MIN, i % 50 !== 49, i / 10, 'http_500');
  compact(h, T0 + 200 * MIN);
  const t = trail(h, 'a', 90);
  assert.equal(t.length, 90);
  assert.equal(t[0]?.t, T0 + 110 * MIN);
  assert.equal(t[89]?.t, T0 + 199 * MIN);
  assert.deepEqual(t[89], { t: T0 + 199 * MIN, ok: false, ms: 19.9, code: 'http_500' });
  assert.deepEqual(t[88], { t: T0 + 198 * MIN, ok: true, ms: 19.8 });
  assert.equal(trail(h, 'a', 1000).length, 200);
  assert.deepEqual(trail(h, 'nope', 5), []);
});

test('dailyUptime: one figure per UTC day, null before the target existed', () => {
  const h = createHistoryData();
  statuses(h, 'web', [
    [T0 + 2 * DAY, 'up'],
    [T0 + 3 * DAY + 6 * HOUR, 'down'],
    [T0 + 3 * DAY + 8 * HOUR + 24 * MIN, 'up'],
    [T0 + 4 * DAY + 6 * HOUR, 'down'],
  ]);
  const now = T0 + 4 * DAY + 12 * HOUR;
  compact(h, now);
  const bars = dailyUptime(h, 'web', 5, now);
  assert.deepEqual(
    bars.map((b) => b.day),
    ['2025-01-06', '2025-01-07', '2025-01-08', '2025-01-09', '2025-01-10'],
  );
  assert.deepEqual(
    bars.map((b) => b.uptime),
    [null, null, 1, 0.9, 0.5],
  );
});

// ---------------------------------------------------------------------------
// Storage

test('storage: the data survives a JSON round trip and validates; damage is named', () => {
  const h = createHistoryData();
  const { end } = simulate(h, 'web', 10, 2, (at) => compact(h, at));
  const copy = validateHistoryData(JSON.parse(JSON.stringify(h)));
  assertSameStats(stats(copy, 'web', T0, end, end), stats(h, 'web', T0, end, end), 'round trip');
  assert.deepEqual(series(copy, 'web', T0, end, end), series(h, 'web', T0, end, end));

  const hot = JSON.parse(JSON.stringify(h.hot)) as Record<string, unknown>;
  assert.doesNotThrow(() => validateHotPart(hot));
  assert.throws(() => validateHotPart({ ...hot, version: 99 }), /version 99/);
  const cold = JSON.parse(JSON.stringify(h.cold)) as { targets: Record<string, { hourly: { s: unknown } }> };
  const web = cold.targets.web;
  assert.ok(web);
  web.hourly.s = 42;
  assert.throws(() => validateColdPart(cold), /cold\.targets\.web\.hourly\.s is not a string/);
});

test('storage: the hot half stays small and the record functions never replace the halves', () => {
  const h = createHistoryData();
  const { hot, cold } = h;
  const { end } = simulate(h, 'web', 12, 2, (at) => compact(h, at));
  compact(h, end);
  assert.equal(h.hot, hot);
  assert.equal(h.cold, cold);
  // About one hour of samples, whatever the age of the history.
  assert.ok(JSON.stringify(h.hot).length < 2000, `hot is ${JSON.stringify(h.hot).length} bytes`);
});
