import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  endpointUrl,
  jitter,
  median,
  parseServerTiming,
  percentile,
  runSpeedtest,
} from '../../src/speedtest/client.js';
import type { SpeedtestOptions, SpeedtestPhase, SpeedtestProtocol } from '../../src/speedtest/types.js';
import { startSpeedServer } from '../helpers/speed-server.js';
import type { SpeedServer, SpeedServerOptions } from '../helpers/speed-server.js';
import { closedPort } from '../helpers/wait.js';

const servers: SpeedServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function serve(opts: SpeedServerOptions): Promise<SpeedServer> {
  const server = await startSpeedServer(opts);
  servers.push(server);
  return server;
}

const toMbps = (bytesPerSecond: number) => (bytesPerSecond * 8) / 1e6;

function assertWithin(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= expected * tolerance,
    `${what}: measured ${actual}, expected ${expected} ±${tolerance * 100}%`,
  );
}

/** Short runs: each test measures for a second or two per direction. */
const quick: Record<SpeedtestProtocol, Partial<SpeedtestOptions>> = {
  cloudflare: { minTransferMs: 600, finalRounds: 2, latencySamples: 5, maxDurationMs: 20_000 },
  librespeed: {
    phaseDurationMs: 2_000,
    warmupMs: 500,
    ckSize: 4,
    uploadRequestBytes: 1024 * 1024,
    latencySamples: 5,
    maxDurationMs: 20_000,
  },
};

describe('speed-test statistics', () => {
  it('median, percentile and jitter', () => {
    const cases: Array<[number[], number, number, number]> = [
      // samples, median, p90, jitter
      [[], NaN, NaN, 0],
      [[5], 5, 5, 0],
      [[3, 1, 2], 2, 2.8, 1.5],
      [[20, 60, 20, 60], 40, 60, 40],
      [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 55, 91, 10],
    ];
    for (const [samples, med, p90, jit] of cases) {
      assert.deepEqual(median(samples), med, `median of ${samples.join(',')}`);
      assert.ok(Object.is(percentile(samples, 90), p90) || Math.abs(percentile(samples, 90) - p90) < 1e-9);
      assert.equal(jitter(samples), jit, `jitter of ${samples.join(',')}`);
    }
  });

  it('jitter follows arrival order, not sorted order', () => {
    assert.equal(jitter([20, 60, 20, 60, 20, 60]), 40);
    assert.equal(jitter([20, 20, 20, 60, 60, 60]), 8);
  });

  it('endpoint URLs keep the server path prefix', () => {
    assert.equal(
      endpointUrl('https://speed.cloudflare.com', '__down', { bytes: 0 }).href,
      'https://speed.cloudflare.com/__down?bytes=0',
    );
    assert.equal(endpointUrl('http://hq:8080/speedtest', '__up').href, 'http://hq:8080/speedtest/__up');
    assert.equal(
      endpointUrl('http://hq:8080/speedtest/', 'garbage', { ckSize: 4 }).href,
      'http://hq:8080/speedtest/garbage?ckSize=4',
    );
    assert.equal(
      endpointUrl('http://ls.example/backend', 'empty.php').href,
      'http://ls.example/backend/empty.php',
    );
  });

  it('server-timing: cfRequestDuration wins, else the first dur', () => {
    assert.equal(parseServerTiming('cfRequestDuration;dur=12.5'), 12.5);
    assert.equal(parseServerTiming('cfL4;desc="x", cfRequestDuration;dur=3'), 3);
    assert.equal(parseServerTiming('db;dur=7, app;dur=9'), 7);
    assert.equal(parseServerTiming(['miss', 'app;dur=4']), 4);
    assert.equal(parseServerTiming('cache;desc=hit'), undefined);
    assert.equal(parseServerTiming(undefined), undefined);
  });
});

for (const protocol of ['cloudflare', 'librespeed'] as const) {
  describe(`${protocol} client against a throttled server`, () => {
    it('measures download and upload within 15% of the link rate', async () => {
      const downRate = 8_000_000;
      const upRate = 5_000_000;
      const server = await serve({ downRate, upRate });
      const result = await runSpeedtest({ server: server.url, protocol, streams: 4, ...quick[protocol] });
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assertWithin(result.downloadMbps, toMbps(downRate), 0.15, 'download Mbps');
      assertWithin(result.uploadMbps, toMbps(upRate), 0.15, 'upload Mbps');
      assert.ok(result.bytesDown > 0 && result.bytesUp > 0);
      assert.equal(result.protocol, protocol);
      assert.equal(result.server, server.url);
      assert.equal(result.loss, null);
      assert.ok(result.loadedLatencyMs !== undefined && result.loadedLatencyMs >= 0);
    });

    it('latency matches a fixed injected delay', async () => {
      const server = await serve({ delayMs: 50 });
      const result = await runSpeedtest({
        server: server.url,
        protocol,
        ...quick[protocol],
        latencySamples: 20,
        maxBytes: 2_000_000,
      });
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.ok(Math.abs(result.latencyMs - 50) <= 15, `latency ${result.latencyMs}, expected 50 ±15`);
      assert.ok(result.jitterMs < 15, `jitter ${result.jitterMs} for a constant delay`);
    });

    it('jitter matches an alternating 20/60 ms delay', async () => {
      const server = await serve({ delayMs: [20, 60] });
      const result = await runSpeedtest({
        server: server.url,
        protocol,
        ...quick[protocol],
        latencySamples: 20,
        maxBytes: 2_000_000,
      });
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.ok(Math.abs(result.jitterMs - 40) <= 15, `jitter ${result.jitterMs}, expected 40 ±15`);
      // The median of two equal clusters lies anywhere between them: only the range is certain.
      assert.ok(result.latencyMs >= 15 && result.latencyMs <= 75, `latency ${result.latencyMs}`);
    });

    it('a stalled transfer is cut off at stallTimeoutMs', async () => {
      const server = await serve({ mode: 'stall' });
      const result = await runSpeedtest({
        server: server.url,
        protocol,
        ...quick[protocol],
        stallTimeoutMs: 500,
      });
      assert.equal(result.error?.code, 'speedtest_timeout');
      assert.match(result.error.message, /stalled/);
      assert.ok(result.durationMs < 2_500, `took ${result.durationMs} ms`);
      assert.equal(result.downloadMbps, 0);
    });

    it('an endless download is cut off at the byte cap', async () => {
      const server = await serve({ mode: 'endless' });
      const maxBytes = 30_000_000;
      const started = Date.now();
      const result = await runSpeedtest({ server: server.url, protocol, ...quick[protocol], maxBytes });
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      assert.equal(result.limitedBy, 'bytes');
      assert.ok(result.bytesDown <= maxBytes / 2, `read ${result.bytesDown} bytes`);
      assert.ok(result.bytesDown + result.bytesUp <= maxBytes);
      assert.ok(Date.now() - started < 10_000);
    });

    it('reports an error status as a bad response', async () => {
      const server = await serve({ failWith: 404 });
      const result = await runSpeedtest({ server: server.url, protocol, ...quick[protocol] });
      assert.equal(result.error?.code, 'speedtest_bad_response');
      assert.match(result.error.message, /404/);
    });
  });
}

describe('speed-test client limits and failures', () => {
  it('a slow link ends within maxDurationMs', async () => {
    const server = await serve({ downRate: 100_000, upRate: 100_000 });
    const result = await runSpeedtest({ server: server.url, maxDurationMs: 2_000, latencySamples: 3 });
    assert.ok(result.durationMs <= 2_300, `took ${result.durationMs} ms`);
    assert.equal(result.limitedBy, 'duration');
    if (result.error === undefined) assertWithin(result.downloadMbps, toMbps(100_000), 0.5, 'download Mbps');
    else assert.equal(result.error.code, 'speedtest_timeout');
  });

  it('is cancelled by its signal, with what was measured so far', async () => {
    const server = await serve({ downRate: 1_000_000, upRate: 1_000_000 });
    const ctl = new AbortController();
    const phases: SpeedtestPhase[] = [];
    const onProgress = (phase: SpeedtestPhase) => {
      phases.push(phase);
      if (phase === 'download') setTimeout(() => ctl.abort(), 300);
    };
    const started = Date.now();
    const result = await runSpeedtest({
      server: server.url,
      signal: ctl.signal,
      onProgress,
      latencySamples: 3,
    });
    assert.equal(result.error?.code, 'speedtest_aborted');
    assert.ok(Date.now() - started < 2_000);
    assert.ok(result.latencyMs > 0);
    assert.deepEqual(phases, ['latency', 'download', 'done']);
  });

  it('a closed port is unreachable', async () => {
    const port = await closedPort();
    for (const protocol of ['cloudflare', 'librespeed'] as const) {
      const result = await runSpeedtest({ server: `http://127.0.0.1:${port}/speedtest`, protocol });
      assert.equal(result.error?.code, 'speedtest_unreachable');
      assert.match(result.error.message, /ECONNREFUSED/);
    }
  });

  it('a busy server is reported as rate limited', async () => {
    const server = await serve({ failWith: 429 });
    const result = await runSpeedtest({ server: server.url });
    assert.equal(result.error?.code, 'speedtest_rate_limited');
    assert.match(result.error.message, /retry after 7 s/);
  });

  it('bad options are reported, not thrown', async () => {
    assert.equal((await runSpeedtest({ server: 'ftp://x' })).error?.code, 'speedtest_bad_config');
    assert.equal(
      (await runSpeedtest({ server: 'http://x', streams: 0 })).error?.code,
      'speedtest_bad_config',
    );
  });

  it('subtracts the server think time reported in server-timing', async () => {
    const server = await serve({ delayMs: 40, serverTimingMs: 30 });
    const result = await runSpeedtest({
      server: server.url,
      ...quick.cloudflare,
      latencySamples: 20,
      maxBytes: 2_000_000,
    });
    assert.equal(result.error, undefined, JSON.stringify(result.error));
    assert.ok(Math.abs(result.latencyMs - 40) <= 15, `latency ${result.latencyMs}, expected 40 ±15`);
  });
});
