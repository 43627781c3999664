import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateSpeedThresholds, speedBreaches } from '../../src/speedtest/thresholds.js';
import type { SpeedAlertState, SpeedPolicy } from '../../src/speedtest/thresholds.js';
import type { SpeedtestResult } from '../../src/speedtest/types.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const policy: SpeedPolicy = { planDownloadMbps: 100, planUploadMbps: 20, maxLatencyMs: 50 };

/** `good`, `slow` (download 40 of a 100 Mbps plan) or `failed`, one test per hour of fake time. */
function result(kind: 'good' | 'slow' | 'failed', i: number): SpeedtestResult {
  const base: SpeedtestResult = {
    downloadMbps: kind === 'slow' ? 40 : 95,
    uploadMbps: 19,
    latencyMs: 12,
    jitterMs: 1,
    loss: null,
    bytesDown: 1,
    bytesUp: 1,
    durationMs: 10_000,
    server: 'http://hq:8080/speedtest',
    protocol: 'cloudflare',
    at: T0 + i * HOUR,
  };
  if (kind === 'failed') {
    return {
      ...base,
      downloadMbps: 0,
      uploadMbps: 0,
      error: { code: 'speedtest_unreachable', message: 'x' },
    };
  }
  return base;
}

/** Feeds results one by one, as the scheduler would, and collects the messages. */
function replay(kinds: Array<'good' | 'slow' | 'failed'>, p: SpeedPolicy = policy) {
  let state: SpeedAlertState = { breaching: false };
  const history: SpeedtestResult[] = [];
  const messages: Array<{ after: number; kind: string; text: string }> = [];
  kinds.forEach((kind, i) => {
    history.push(result(kind, i));
    const next = evaluateSpeedThresholds(history, p, state);
    if (next.message) messages.push({ after: i + 1, kind: next.message.kind, text: next.message.text });
    state = { breaching: next.breaching, ...(next.since === undefined ? {} : { since: next.since }) };
  });
  return { state, messages };
}

describe('speed-test thresholds (3 of the last 5)', () => {
  const g = 'good' as const;
  const s = 'slow' as const;
  const f = 'failed' as const;
  const cases: Array<{
    name: string;
    kinds: Array<'good' | 'slow' | 'failed'>;
    expect: Array<[number, string]>;
  }> = [
    { name: '1 breach in 5 → no alert', kinds: [g, g, s, g, g], expect: [] },
    { name: '2 breaches in 5 → no alert', kinds: [s, g, g, s, g], expect: [] },
    { name: '3 of 5 → one alert, on the third breach', kinds: [s, g, s, g, s], expect: [[5, 'breach']] },
    { name: 'staying bad → no repeat', kinds: [s, s, s, s, s, s, s, s], expect: [[3, 'breach']] },
    {
      name: 'recovery → one healthy message, once fewer than 3 of 5 breach',
      kinds: [s, s, s, g, g, g, g, g, g],
      expect: [
        [3, 'breach'],
        [6, 'healthy'],
      ],
    },
    {
      name: 'a healthy result inside a bad stretch does not end the episode',
      kinds: [s, s, s, g, s, g, s],
      expect: [[3, 'breach']],
    },
    {
      name: 'failed tests are not counted either way',
      kinds: [s, f, s, f, f, s, f, g, f, g, g],
      expect: [
        [6, 'breach'],
        [11, 'healthy'],
      ],
    },
    {
      name: 'a second episode alerts again',
      kinds: [s, s, s, g, g, g, s, s, s],
      expect: [
        [3, 'breach'],
        [6, 'healthy'],
        [9, 'breach'],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { messages } = replay(c.kinds);
      assert.deepEqual(
        messages.map((m) => [m.after, m.kind]),
        c.expect,
      );
    });
  }

  it('the messages say what was wrong and how long it lasted', () => {
    const { messages } = replay([s, s, s, g, g, g]);
    assert.equal(
      messages[0]?.text,
      'Speed tests below thresholds in 3 of the last 3: download 40 Mbps is below 80 Mbps (80% of the 100 Mbps plan)',
    );
    assert.equal(
      messages[1]?.text,
      'Speed tests healthy again after 5h: download 95 Mbps, upload 19 Mbps, latency 12 ms',
    );
  });

  it('re-evaluating without a new result does not alert twice', () => {
    const history = [s, s, s].map((k, i) => result(k, i));
    const first = evaluateSpeedThresholds(history, policy, { breaching: false });
    assert.equal(first.message?.kind, 'breach');
    const again = evaluateSpeedThresholds([...history, result('failed', 3)], policy, first);
    assert.equal(again.message, undefined);
    assert.equal(again.breaching, true);
  });

  it('M and N come from the policy', () => {
    const strict = { ...policy, breaches: 1, window: 1 };
    assert.deepEqual(
      replay([s, g, s], strict).messages.map((m) => m.kind),
      ['breach', 'healthy', 'breach'],
    );
  });
});

describe('speedBreaches', () => {
  const r = (down: number, up: number, latency: number) => ({
    ...result('good', 0),
    downloadMbps: down,
    uploadMbps: up,
    latencyMs: latency,
  });
  const cases: Array<[string, SpeedPolicy, SpeedtestResult, string[]]> = [
    ['no rules, nothing breaches', {}, r(1, 1, 999), []],
    [
      'absolute floors',
      { minDownloadMbps: 50, minUploadMbps: 10 },
      r(49.99, 9, 5),
      ['download 49.99 Mbps is below 50 Mbps (the minimum)', 'upload 9 Mbps is below 10 Mbps (the minimum)'],
    ],
    ['exactly at the floor is fine', { minDownloadMbps: 50 }, r(50, 1, 5), []],
    [
      'plan percentage',
      { planUploadMbps: 20, minPercentOfPlan: 50 },
      r(100, 9.9, 5),
      ['upload 9.9 Mbps is below 10 Mbps (50% of the 20 Mbps plan)'],
    ],
    [
      'the higher of minimum and plan share decides',
      { minDownloadMbps: 90, planDownloadMbps: 100 },
      r(85, 1, 5),
      ['download 85 Mbps is below 90 Mbps (the minimum)'],
    ],
    ['latency', { maxLatencyMs: 30 }, r(100, 100, 30.5), ['latency 30.5 ms is above 30 ms']],
  ];
  for (const [name, p, res, reasons] of cases) {
    it(name, () => assert.deepEqual(speedBreaches(res, p), reasons));
  }
});
