import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { runSpeedtest } from '../../src/speedtest/client.js';
import { createSpeedtestHandler } from '../../src/speedtest/server.js';
import type { SpeedtestHandlerOptions } from '../../src/speedtest/server.js';
import { startThrottledProxy } from '../helpers/speed-server.js';
import type { ThrottledProxy } from '../helpers/speed-server.js';

const MiB = 1024 * 1024;
const closers: Array<() => Promise<void>> = [];
after(() => Promise.all(closers.map((close) => close())));

/** A plain node:http server with the handler mounted under /speedtest/, everything else 404. */
async function mount(
  opts?: SpeedtestHandlerOptions,
): Promise<{ base: string; port: number; server: Server }> {
  const handle = createSpeedtestHandler(opts);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path.startsWith('/speedtest/') && handle(req, res, path.slice('/speedtest/'.length))) return;
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { base: `http://127.0.0.1:${port}/speedtest`, port, server };
}

async function throttle(port: number, down: number, up: number): Promise<ThrottledProxy> {
  const proxy = await startThrottledProxy(port, down, up);
  closers.push(() => proxy.close());
  return proxy;
}

async function bodyLength(body: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.length;
  return n;
}

describe('speed-test endpoints', () => {
  it('__down streams the requested bytes with server-timing and CORS', async () => {
    const { base } = await mount();
    const res = await request(`${base}/__down?bytes=300000`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], '300000');
    assert.match(String(res.headers['server-timing']), /^cfRequestDuration;dur=\d+(\.\d+)?$/);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(await bodyLength(res.body), 300_000);

    const empty = await request(`${base}/__down?bytes=0`);
    assert.equal(empty.statusCode, 200);
    assert.equal(await bodyLength(empty.body), 0);
  });

  it('garbage sends ckSize MiB, empty answers no-store, uploads are drained', async () => {
    const { base } = await mount();
    const garbage = await request(`${base}/garbage?ckSize=3&r=0.5`);
    assert.equal(garbage.statusCode, 200);
    assert.equal(await bodyLength(garbage.body), 3 * MiB);

    const ping = await request(`${base}/empty?r=1`);
    assert.equal(ping.statusCode, 200);
    assert.match(String(ping.headers['cache-control']), /no-store/);
    await ping.body.dump();

    for (const path of ['__up', 'empty']) {
      const up = await request(`${base}/${path}`, { method: 'POST', body: Buffer.alloc(2 * MiB) });
      assert.equal(up.statusCode, 200, path);
      await up.body.dump();
    }
  });

  it('sizes over the limits are refused with a short message', async () => {
    const { base } = await mount({ maxDownBytes: 10 * MiB, maxUpBytes: MiB });
    const cases: Array<[string, number, RegExp]> = [
      ['garbage?ckSize=11', 400, /ckSize must be a whole number of MiB from 1 to 10/],
      ['garbage?ckSize=0', 400, /ckSize/],
      ['__down?bytes=10485761', 400, /bytes must be a whole number from 0 to 10485760/],
      ['__down?bytes=-1', 400, /bytes/],
      ['__down?bytes=abc', 400, /bytes/],
    ];
    for (const [path, status, text] of cases) {
      const res = await request(`${base}/${path}`);
      assert.equal(res.statusCode, status, path);
      assert.match(await res.body.text(), text);
    }
    const big = await request(`${base}/__up`, { method: 'POST', body: Buffer.alloc(MiB + 1) });
    assert.equal(big.statusCode, 413);
    assert.match(await big.body.text(), /at most 1048576 bytes/);
  });

  it('a chunked upload growing past the limit is cut off with 413', async () => {
    const { base } = await mount({ maxUpBytes: 256 * 1024 });
    function* body() {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024);
    }
    const outcome = await request(`${base}/empty`, { method: 'POST', body: Readable.from(body()) }).then(
      (res) => res.statusCode,
      (e: unknown) => (e as { code?: string }).code,
    );
    // The 413 races the rest of the body: either it arrives, or the connection closes under the upload.
    assert.ok(outcome === 413 || /^(UND_ERR|EPIPE|ECONNRESET)/.test(String(outcome)), String(outcome));
  });

  it('too many transfers at once get 429 with Retry-After', async () => {
    const { base } = await mount({ maxConcurrent: 2 });
    // Two downloads that are not read hold their slots (the server waits for the socket to drain).
    const held = await Promise.all([1, 2].map(() => request(`${base}/__down?bytes=50000000`)));
    const third = await request(`${base}/garbage?ckSize=1`);
    assert.equal(third.statusCode, 429);
    assert.equal(third.headers['retry-after'], '5');
    await third.body.dump();
    const ping = await request(`${base}/__down?bytes=0`);
    assert.equal(ping.statusCode, 200, 'empty requests do not need a slot');
    await ping.body.dump();

    for (const h of held) h.body.destroy();
    let status = 429;
    for (let i = 0; i < 50 && status === 429; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const again = await request(`${base}/garbage?ckSize=1`);
      status = again.statusCode;
      await again.body.dump({ limit: 2 * MiB });
    }
    assert.equal(status, 200, 'slots are released when the clients go away');
  });

  it('wrong methods get 405, unknown paths and a disabled handler are not handled', async () => {
    const { base } = await mount();
    const wrong = await request(`${base}/__up`);
    assert.equal(wrong.statusCode, 405);
    assert.equal(wrong.headers.allow, 'POST, OPTIONS');
    await wrong.body.dump();
    const unknown = await request(`${base}/nope`);
    assert.equal(unknown.statusCode, 404);
    await unknown.body.dump();
    const preflight = await request(`${base}/__up`, { method: 'OPTIONS' });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    await preflight.body.dump();

    const off = await mount({ enabled: false });
    for (const path of ['__down?bytes=10', 'empty', 'garbage']) {
      const res = await request(`${off.base}/${path}`);
      assert.equal(res.statusCode, 404, path);
      await res.body.dump();
    }
  });
});

describe("measuring a link to Lookout's own endpoints", () => {
  for (const protocol of ['cloudflare', 'librespeed'] as const) {
    it(`${protocol}: through an 8 MB/s down, 5 MB/s up link, within 15%`, async () => {
      const { port } = await mount();
      const proxy = await throttle(port, 8_000_000, 5_000_000);
      const result = await runSpeedtest({
        server: `http://127.0.0.1:${proxy.port}/speedtest`,
        protocol,
        latencySamples: 5,
        minTransferMs: 600,
        finalRounds: 2,
        phaseDurationMs: 2_000,
        warmupMs: 500,
        ckSize: 4,
        maxDurationMs: 20_000,
      });
      assert.equal(result.error, undefined, JSON.stringify(result.error));
      for (const [what, measured, expected] of [
        ['download', result.downloadMbps, 64],
        ['upload', result.uploadMbps, 40],
      ] as const) {
        assert.ok(
          Math.abs(measured - expected) <= expected * 0.15,
          `${what} ${measured} Mbps, expected ${expected} ±15%`,
        );
      }
      assert.ok(result.latencyMs >= 0 && result.latencyMs < 50);
    });
  }

  it('both protocols run unthrottled against the endpoints without error', async () => {
    const { base } = await mount();
    for (const protocol of ['cloudflare', 'librespeed'] as const) {
      const result = await runSpeedtest({
        server: base,
        protocol,
        latencySamples: 3,
        minTransferMs: 200,
        finalRounds: 1,
        phaseDurationMs: 600,
        warmupMs: 200,
        maxBytes: 80_000_000,
      });
      assert.equal(result.error, undefined, `${protocol}: ${JSON.stringify(result.error)}`);
      assert.ok(result.downloadMbps > 0 && result.uploadMbps > 0, JSON.stringify(result));
    }
  });
});
