/** check (real checks against loopback servers) and speedtest (the real client against Lookout's own endpoints). */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { USER, ADMIN, harness, runCase } from './harness.js';
import type { Case, Harness } from './harness.js';
import { TargetServer } from '../helpers/target-server.js';
import { createChecks, PushBeats } from '../../src/checks/index.js';
import { checkRunner } from '../../commands/check.js';
import { runSpeedtest } from '../../src/speedtest/client.js';
import { createSpeedtestHandler } from '../../src/speedtest/server.js';
import type { SpeedtestResult } from '../../src/speedtest/types.js';
import type { SpeedSample, SpeedtestService } from '../../commands/types.js';
import { closedPort as freedPort } from '../helpers/wait.js';

// A stored SpeedtestResult must be usable where the commands expect a SpeedSample.
const _fits: (r: SpeedtestResult) => SpeedSample = (r) => r;

const target = new TargetServer();
let closedPort = 0;
let speedServer: Server;
let speedUrl = '';
let h: Harness;
let bare: Harness;
const results: SpeedSample[] = [];

before(async () => {
  await target.start();
  // A port that was just free: connecting to it is refused.
  closedPort = await freedPort();

  const handler = createSpeedtestHandler();
  speedServer = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/speedtest/') && handler(req, res, path.slice('/speedtest/'.length))) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => speedServer.listen(0, '127.0.0.1', r));
  speedUrl = `http://127.0.0.1:${(speedServer.address() as AddressInfo).port}/speedtest`;

  // Until the speed-test service lands, a minimal one: the real client, results kept in memory.
  const speedtest: SpeedtestService = {
    async run() {
      const r = await runSpeedtest({
        server: speedUrl,
        streams: 2,
        latencySamples: 3,
        minTransferMs: 150,
        finalRounds: 1,
        maxBytes: 40e6,
        maxDurationMs: 15_000,
      });
      results.push(r);
      return r;
    },
    latest: () => results[results.length - 1],
    history: (from, to) => results.filter((r) => r.at >= from && r.at < to),
  };
  const now = Date.now;
  h = await harness({ runCheck: checkRunner(createChecks({ beats: new PushBeats(), now }), now), speedtest });
  h.clock.t = Date.now();
  bare = await harness();
});
after(async () => {
  await h.close();
  await bare.close();
  await target.stop();
  await new Promise<void>((r) => speedServer.close(() => r()));
});

describe('check', () => {
  test('an http address that answers: up, with the timing breakdown, nothing saved', async () => {
    const r = await runCase(h, {
      name: '',
      text: `check ${target.url}`,
      as: USER,
      severity: 'ok',
      says: [
        new RegExp(`^${target.url.replace(/[/.]/g, '\\$&')} is up \\([\\d.]+ ms\\)`),
        /status:\s+200/,
        /timing:\s+(dns [\d.]+ ms → )?connect [\d.]+ ms → first byte [\d.]+ ms → total [\d.]+ ms/,
        `one-off http check, not saved; to monitor it: add <name> ${target.url}`,
      ],
      changes: false,
    });
    assert.equal(h.app.monitor.list().length, 0);
    assert.equal(r.buttons, undefined);
  });

  const cases: () => Case[] = () => [
    {
      name: 'an http error status is DOWN with the reason',
      text: `check ${target.url} keyword=nothere`,
      severity: 'critical',
      says: [/is DOWN: keyword_missing/, '"nothere" not found in the response'],
    },
    {
      name: 'a refused tcp port is DOWN',
      text: `check 127.0.0.1:${closedPort}`,
      severity: 'critical',
      says: [`127.0.0.1:${closedPort} is DOWN: `, 'one-off tcp check'],
    },
    {
      name: 'an open tcp port is up with its connect time',
      text: `check 127.0.0.1:${target.port}`,
      severity: 'ok',
      says: [/is up/, /connect:\s+[\d.]+ ms/],
    },
    {
      name: 'no address',
      text: 'check',
      severity: 'error',
      says: ['missing <address>', 'Usage: /check <address> [kind] [key=value …]'],
    },
    {
      name: 'an address that does not fit the kind',
      text: 'check not-a-url http',
      severity: 'error',
      says: [
        '"not-a-url" is not a valid URL for a http target (example: https://example.com/health). Example: /check https://example.com',
      ],
    },
    {
      name: 'a push target cannot be checked',
      text: 'check x push',
      severity: 'error',
      says: ['a push target cannot be checked on demand: it waits for heartbeats'],
    },
    {
      name: 'scheduling settings mean nothing for a one-off',
      text: `check ${target.url} interval=30`,
      severity: 'error',
      says: ['unknown key "interval"; check accepts kind, timeout'],
    },
    {
      name: 'a bad timeout',
      text: `check ${target.url} timeout=600`,
      severity: 'error',
      says: ['timeout must be at most 60 seconds (got 600)'],
    },
  ];
  test('table', async (t) => {
    for (const c of cases())
      await t.test(c.name, () => runCase(h, { as: USER, changes: false, ...c }).then(() => undefined));
  });
});

describe('speedtest', () => {
  test('without a speed-test service the reply says so', () =>
    runCase(bare, {
      name: '',
      text: 'speedtest now',
      severity: 'info',
      says: ['speed tests are not configured on this instance'],
    }).then(() => undefined));

  test('speedtest now is for admins only', () =>
    runCase(h, {
      name: '',
      text: 'speedtest now',
      as: USER,
      severity: 'error',
      says: ['only admins can run speedtest now; ask an admin to add your id to TELEGRAM_ADMIN_IDS'],
    }).then(() => {
      assert.equal(results.length, 0, 'no test was run');
    }));

  test('with nothing run yet, history says how to run one', () =>
    runCase(h, {
      name: '',
      text: 'speedtest',
      as: USER,
      says: ['No speed tests in the last 7d', 'none has run yet', 'run one with: speedtest now'],
    }).then(() => undefined));

  test('an admin runs a real speed test against Lookout’s own endpoints', async () => {
    const r = await runCase(h, {
      name: '',
      text: 'speedtest now',
      as: ADMIN,
      severity: 'ok',
      says: [
        /^Speed test: ↓ [\d,.]+ Mbps ↑ [\d,.]+ Mbps/,
        /download:\s+[\d,.]+ Mbps/,
        /latency:\s+[\d.]+ ms \(jitter [\d.]+ ms\)/,
        `server:   ${speedUrl}`,
      ],
    });
    assert.equal(results.length, 1);
    assert.ok((results[0]?.downloadMbps ?? 0) > 0, 'measured something');
    assert.ok(r.fields.some((f) => f.label === 'upload'));
  });

  test('anyone sees the results', () => {
    h.clock.t = Date.now() + 1000;
    return runCase(h, {
      name: '',
      text: 'speedtest history 24h',
      as: USER,
      says: [
        'Speed tests, last 24h',
        /1 run; average ↓ [\d,.]+ Mbps/,
        /time\s+download\s+upload\s+latency\s+jitter/,
      ],
    }).then(() => undefined);
  });

  test('a bad action', () =>
    runCase(h, {
      name: '',
      text: 'speedtest later',
      as: USER,
      severity: 'error',
      says: ['action must be now or history (got "later")'],
    }).then(() => undefined));
});

test('speedtest history draws a sparkline of download and upload, oldest first', async () => {
  const { sparkline } = await import('../../commands/speedtest.js');
  assert.equal(sparkline([10, 20, 30, 40, 50, 60, 70, 80]), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([5, 5, 5]), '▄▄▄', 'a flat line sits in the middle');
  assert.equal(sparkline(Array.from({ length: 50 }, (_, i) => i)).length, 30, 'at most 30 bars');
});
