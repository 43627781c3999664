import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { dispatch } from '../../commands/index.js';
import type {
  Actor,
  CommandContext,
  HistoryReader,
  MonitorService,
  SpeedtestService,
} from '../../commands/types.js';
import { SettingsSchema } from '../../src/config.js';
import type { AlertMessage } from '../../src/core/message.js';
import { replyText } from '../../src/core/reply.js';
import { Router } from '../../src/http/router.js';
import { createLogger } from '../../src/log.js';
import { runSpeedtest } from '../../src/speedtest/client.js';
import { createSpeedtestService } from '../../src/speedtest/service.js';
import type { SpeedtestServiceOptions } from '../../src/speedtest/service.js';
import type { SpeedtestOptions, SpeedtestResult } from '../../src/speedtest/types.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const SERVER = 'http://hq.example:8080/speedtest';
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Kind = 'good' | 'slow' | 'failed';

function settings(speedtest: Record<string, unknown> = {}) {
  return SettingsSchema.parse({
    speedtest: { server: SERVER, thresholds: { planDownloadMbps: 100 }, ...speedtest },
  }).speedtest;
}

/** A service over a temp dir with a fake clock and a runner that plays `script` one result per run. */
async function setup(o: Partial<SpeedtestServiceOptions> & { dir?: string; script?: Kind[] } = {}) {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'lookout-speed-')));
  if (!o.dir) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const clock = { t: T0 };
  const alerts: AlertMessage[] = [];
  const script = [...(o.script ?? [])];
  const calls: SpeedtestOptions[] = [];
  const svc = await createSpeedtestService({
    settings: settings(),
    dataDir: dir,
    now: () => clock.t,
    log: createLogger('silent'),
    alert: async (msgs) => void alerts.push(...msgs),
    runner: async (opts) => {
      calls.push(opts);
      return scripted(script.shift() ?? 'good', opts.now?.() ?? clock.t);
    },
    ...o,
  });
  cleanups.push(() => svc.stop());
  /** Advances the fake clock an hour and runs one test, as the schedule would. */
  const tick = async () => {
    clock.t += HOUR;
    return svc.service.run();
  };
  return { dir, clock, alerts, calls, svc, tick };
}

function scripted(kind: Kind, at: number): SpeedtestResult {
  const r: SpeedtestResult = {
    downloadMbps: kind === 'slow' ? 40 : 95,
    uploadMbps: 19,
    latencyMs: 12,
    jitterMs: 1,
    loss: null,
    bytesDown: 1e6,
    bytesUp: 1e6,
    durationMs: 9_000,
    server: SERVER,
    protocol: 'cloudflare',
    at,
  };
  if (kind === 'failed') r.error = { code: 'speedtest_unreachable', message: 'cannot reach hq.example' };
  return r;
}

/** Runs one test per kind and records after which run (1-based) each alert came. */
async function play(s: Awaited<ReturnType<typeof setup>>, kinds: Kind[], offset = 0) {
  const seen: Array<[number, string]> = [];
  for (const [i, kind] of kinds.entries()) {
    const before = s.alerts.length;
    s.clock.t += HOUR;
    const r = await s.svc.service.run();
    assert.equal(r.downloadMbps, scripted(kind, 0).downloadMbps);
    for (const m of s.alerts.slice(before)) seen.push([offset + i + 1, m.severity]);
  }
  return seen;
}

describe('speed-test service: thresholds and storage', () => {
  it('alerts once when 3 of the last 5 breach, stays quiet while slow, and once when healthy again', async () => {
    const s = await setup({
      script: [
        'good',
        'good',
        'slow',
        'good',
        'good',
        'slow',
        'failed',
        'slow',
        'slow',
        'good',
        'good',
        'good',
      ],
    });
    assert.deepEqual(await play(s, ['good', 'good', 'slow', 'good', 'good']), [], '1 breach in 5 → no alert');
    // 8: third slow of the last 5 measured (the failed run 7 says nothing about speed); 9: still slow.
    assert.deepEqual(await play(s, ['slow', 'failed', 'slow', 'slow', 'good', 'good', 'good'], 5), [
      [8, 'warning'],
      [12, 'ok'],
    ]);

    const [slow, healthy] = s.alerts;
    assert.equal(slow?.kind, 'speedtest');
    assert.equal(
      slow?.title,
      'SLOW LINK — download 40 Mbps is below 80 Mbps (80% of the 100 Mbps plan) in 3 of the last 5 tests',
    );
    assert.deepEqual(
      slow?.fields.map((f) => `${f.label}: ${f.value}`),
      ['Download: 40 Mbps', 'Upload: 19 Mbps', 'Latency: 12 ms (jitter 1 ms)', `Server: ${SERVER}`],
    );
    // The episode began with the first slow test in the window (run 3) and ended at run 12.
    assert.equal(healthy?.title, 'LINK SPEED OK — speed tests healthy again after 9h');
    assert.equal(healthy?.incidentId, slow?.incidentId, 'the recovery threads under the breach');
    assert.equal(s.svc.service.history(0, Infinity).length, 12);
    assert.equal(s.svc.service.latest()?.at, T0 + 12 * HOUR);
  });

  it('a restart neither repeats the breach nor forgets it', async () => {
    const first = await setup({ script: ['slow', 'slow', 'slow'] });
    assert.deepEqual(await play(first, ['slow', 'slow', 'slow']), [[3, 'warning']]);
    await first.svc.stop();

    const stored = JSON.parse(await readFile(join(first.dir, 'speedtests.json'), 'utf8'));
    assert.equal(stored.v, 1);
    assert.deepEqual(stored.rows[0], [T0 + HOUR, 40, 19, 12, 1, 9000, 1e6, 1e6, 0], 'one compact row');
    assert.deepEqual(stored.alert, { breaching: true, since: T0 + HOUR });

    const again = await setup({ dir: first.dir, script: ['slow', 'good', 'good', 'good'] });
    again.clock.t = T0 + 3 * HOUR;
    assert.equal(again.svc.service.history(0, Infinity).length, 3);
    assert.deepEqual(await play(again, ['slow', 'good', 'good', 'good'], 3), [[7, 'ok']]);
  });

  it('keeps at most maxResults and nothing older than 400 days', async () => {
    const s = await setup({ retention: { maxResults: 4 } });
    for (let i = 0; i < 6; i++) await s.tick();
    assert.deepEqual(
      s.svc.service.history(0, Infinity).map((r) => r.at),
      [3, 4, 5, 6].map((h) => T0 + h * HOUR),
    );
    s.clock.t += 401 * 24 * HOUR;
    await s.tick();
    assert.deepEqual(
      s.svc.service.history(0, Infinity).map((r) => r.at),
      [s.clock.t],
    );
  });
});

describe('speed-test service: runs', () => {
  it('a second run while one is running joins it; progress reaches every caller', async () => {
    let release: (r: SpeedtestResult) => void = () => undefined;
    const s = await setup({
      runner: (opts) => {
        opts.onProgress?.('download', { latencyMs: 12 });
        return new Promise((resolve) => (release = resolve));
      },
    });
    const phases: string[] = [];
    const a = s.svc.service.run({ onProgress: (p) => phases.push(`a:${p}`) });
    const b = s.svc.service.run({ onProgress: (p) => phases.push(`b:${p}`) });
    assert.equal(a, b, 'the same run');
    assert.equal(s.svc.running(), true);
    release(scripted('good', T0));
    assert.equal(await a, await b);
    assert.equal(s.svc.running(), false);
    assert.deepEqual(phases, ['a:download']);
    assert.equal(s.svc.service.history(0, Infinity).length, 1);
  });

  it('stop() cancels a running test, which is not stored', async () => {
    const s = await setup({
      runner: (opts) =>
        new Promise((resolve) =>
          opts.signal?.addEventListener('abort', () =>
            resolve({ ...scripted('good', T0), error: { code: 'speedtest_aborted', message: 'cancelled' } }),
          ),
        ),
    });
    const running = s.svc.service.run();
    await s.svc.stop();
    assert.equal((await running).error?.code, 'speedtest_aborted');
    assert.equal(s.svc.service.latest(), undefined);
    assert.equal((await s.svc.service.run()).error?.code, 'speedtest_aborted', 'refused after stop');
  });

  it('runs on the cron schedule; an invalid expression is one log line, not a crash', async () => {
    const lines: string[] = [];
    const log = createLogger('info', [], { write: (l: string) => void lines.push(l) });
    // The config file refuses this at start-up; the service still guards against it on its own.
    const bad = await setup({ settings: { ...settings(), schedule: 'every hour' }, log });
    bad.svc.start();
    assert.equal(lines.filter((l) => l.includes('not a valid cron expression')).length, 1);

    const s = await setup({ settings: settings({ schedule: '* * * * * *' }) });
    s.svc.start();
    for (let i = 0; i < 50 && s.calls.length === 0; i++) await sleep(100);
    await s.svc.stop();
    assert.ok(s.calls.length >= 1, 'the schedule ran a test');
    assert.equal(s.calls[0]?.server, SERVER);
  });
});

describe('speed-test service: HTTP', () => {
  async function listen(router: Router): Promise<{ url: string; server: Server }> {
    const server = createServer((req, res) => void router.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  it('GET /api/speedtests and /latest', async () => {
    const s = await setup();
    const router = new Router(() => undefined);
    s.svc.registerRoutes(router);
    const { url } = await listen(router);
    const get = async (path: string) => {
      const res = await fetch(url + path);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    assert.deepEqual(await get('/api/speedtests/latest'), {
      status: 404,
      body: { error: 'no speed test has run yet' },
    });
    await s.tick();
    await s.tick();
    const all = await get('/api/speedtests');
    assert.equal(all.status, 200);
    assert.deepEqual(
      (all.body.results as SpeedtestResult[]).map((r) => r.at),
      [T0 + HOUR, T0 + 2 * HOUR],
    );
    const from = new Date(T0 + 90 * 60_000).toISOString();
    const later = await get(`/api/speedtests?from=${from}&to=${T0 + 3 * HOUR}`);
    assert.deepEqual(
      (later.body.results as SpeedtestResult[]).map((r) => r.at),
      [T0 + 2 * HOUR],
    );
    const latest = await get('/api/speedtests/latest');
    assert.equal((latest.body.result as SpeedtestResult).downloadMbps, 95);
    assert.equal((await get('/api/speedtests?from=yesterday')).status, 400);
    assert.equal((await get(`/api/speedtests?from=${T0}&to=${T0}`)).status, 400);
  });

  it('metrics show the latest result and are absent before the first test', async () => {
    const s = await setup({ script: ['good', 'failed'] });
    const registry = new Registry();
    s.svc.registerMetrics(registry);
    assert.doesNotMatch(await registry.metrics(), /^lookout_speedtest_download_mbps\{/m);
    await s.tick();
    await s.tick();
    const lines = (await registry.metrics()).split('\n');
    const sample = (name: string) =>
      lines.find((l) => l.startsWith(`${name}{server="${SERVER}"} `))?.split(' ')[1];
    // Figures from the latest test that measured something; the newest one failed.
    assert.equal(sample('lookout_speedtest_download_mbps'), '95');
    assert.equal(sample('lookout_speedtest_upload_mbps'), '19');
    assert.equal(sample('lookout_speedtest_latency_ms'), '12');
    assert.equal(sample('lookout_speedtest_jitter_ms'), '1');
    assert.equal(sample('lookout_speedtest_last_run_timestamp_seconds'), String((T0 + 2 * HOUR) / 1000));
    assert.equal(sample('lookout_speedtest_last_run_ok'), '0');
  });

  it('speedtest now end to end: command → service → real client → Lookout’s own endpoints', async () => {
    const router = new Router(() => undefined);
    const { url } = await listen(router);
    let runs = 0;
    const s = await setup({
      settings: settings({ server: `${url}/speedtest` }),
      now: Date.now,
      // The real client, kept small so the test takes a few seconds.
      runner: (opts) => {
        runs++;
        return runSpeedtest({
          ...opts,
          streams: 2,
          latencySamples: 3,
          minTransferMs: 150,
          finalRounds: 1,
          maxBytes: 40e6,
          maxDurationMs: 15_000,
        });
      },
    });
    assert.ok(s.svc.mount, 'serve is on by default');
    router.mount(s.svc.mount.prefix, s.svc.mount.handler);

    const speedtest: SpeedtestService = s.svc.service;
    const ctx = (actor: Actor): CommandContext => ({
      // `speedtest` uses neither; the parser only asks whether a word is a target.
      services: {
        monitor: { find: () => undefined } as unknown as MonitorService,
        history: {} as HistoryReader,
      },
      actor,
      now: Date.now,
      runCheck: () => Promise.reject(new Error('not used')),
      speedtest,
    });
    const admin: Actor = { platform: 'telegram', id: '42', admin: true };
    const user: Actor = { platform: 'telegram', id: '99', admin: false };

    const refused = await dispatch('speedtest now', ctx(user));
    assert.equal(refused.severity, 'error');
    assert.match(replyText(refused), /only admins can run speedtest now/);
    assert.equal(runs, 0, 'nothing ran');

    const done = await dispatch('speedtest now', ctx(admin));
    const text = replyText(done);
    assert.equal(done.severity, 'ok', text);
    assert.match(text, /^Speed test: ↓ [\d,.]+ Mbps ↑ [\d,.]+ Mbps/);
    assert.match(text, /download:\s+[\d,.]+ Mbps/);
    assert.match(text, /upload:\s+[\d,.]+ Mbps/);
    const stored = s.svc.service.latest();
    assert.ok(stored && stored.downloadMbps > 0 && stored.uploadMbps > 0, 'measured both directions');

    const history = replyText(await dispatch('speedtest history 24h', ctx(user)));
    assert.match(history, /1 run; average ↓ [\d,.]+ Mbps/);
  });
});
