import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createHttpCheck } from '../../src/checks/http.js';
import { buildTarget } from '../../src/schema.js';
import type { TargetInput } from '../../src/schema.js';
import { TargetServer } from '../helpers/target-server.js';

const check = createHttpCheck();
const ctx = { now: Date.now };
const srv = new TargetServer();
let sentBytes = 0;

before(async () => {
  srv.custom = (req, res) => {
    const path = req.url ?? '/';
    if (path === '/redirect') {
      res.writeHead(301, { location: '/final' }).end();
      return true;
    }
    if (path === '/final') {
      res.writeHead(200).end('landed here');
      return true;
    }
    if (path === '/loop-a') {
      res.writeHead(302, { location: '/loop-b' }).end();
      return true;
    }
    if (path === '/loop-b') {
      res.writeHead(302, { location: '/loop-a' }).end();
      return true;
    }
    if (path.startsWith('/chain/')) {
      const n = Number(path.slice(7));
      res.writeHead(302, { location: `/chain/${n + 1}` }).end();
      return true;
    }
    if (path === '/huge') {
      // A 1 GB body, streamed with backpressure; counts what actually left.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(1 << 30) });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = 1 << 30;
      const pump = () => {
        while (left > 0) {
          left -= chunk.length;
          sentBytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (left = 0));
      pump();
      return true;
    }
    if (path === '/bomb') {
      // 512 MB of zeros compresses to ~0.5 MB: reading it whole would exhaust memory.
      const zipped = gzipSync(Buffer.alloc(512 * 1024 * 1024));
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' }).end(zipped);
      return true;
    }
    return false;
  };
  await srv.start();
});
after(() => srv.stop());

const target = (input: Partial<TargetInput> & { address: string }) =>
  buildTarget({ name: 'web', timeout: 2, interval: 60, ...input }, 'api', 0);

test('200 is up, with status and timing breakdown', async () => {
  srv.mode = 'ok';
  const r = await check.run(target({ address: srv.url }), ctx);
  assert.equal(r.ok, true);
  assert.equal(r.detail.status, 200);
  assert.equal(typeof r.detail.ttfb, 'number');
  assert.equal(typeof r.detail.connect, 'number');
  assert.ok(r.ms > 0);
});

test('500 is down with code http_status', async () => {
  srv.mode = 'error';
  const r = await check.run(target({ address: srv.url }), ctx);
  assert.equal(r.ok, false);
  assert.deepEqual(r.error, { code: 'http_status', message: 'HTTP 500' });
  const accepted = await check.run(target({ address: srv.url, accept: '200-299,500' }), ctx);
  assert.equal(accepted.ok, true, 'an accepted status set can include 500');
  srv.mode = 'ok';
});

test('keyword and regex are matched in the body', async () => {
  srv.mode = 'ok';
  assert.equal((await check.run(target({ address: srv.url, keyword: 'systems ok' }), ctx)).ok, true);
  const miss = await check.run(target({ address: srv.url, keyword: 'banana' }), ctx);
  assert.equal(miss.error?.code, 'keyword_missing');
  assert.equal(miss.error?.message, '"banana" not found in the response');
  assert.equal((await check.run(target({ address: srv.url, regex: '^all\\s+systems' }), ctx)).ok, true);
  assert.equal(
    (await check.run(target({ address: srv.url, regex: 'x{5}' }), ctx)).error?.code,
    'regex_mismatch',
  );
});

test('redirects are followed up to the limit; loops are named', async () => {
  const r = await check.run(target({ address: `${srv.url}redirect`, keyword: 'landed' }), ctx);
  assert.equal(r.ok, true);
  assert.equal(r.detail.redirects, 1);
  assert.equal(r.detail.url, `${srv.url}final`);
  const loop = await check.run(target({ address: `${srv.url}loop-a` }), ctx);
  assert.equal(loop.error?.code, 'redirect_loop');
  const chain = await check.run(target({ address: `${srv.url}chain/0`, maxRedirects: 3 }), ctx);
  assert.equal(chain.error?.code, 'too_many_redirects');
  assert.match(chain.error?.message ?? '', /more than 3 redirects/);
  const none = await check.run(target({ address: `${srv.url}redirect`, maxRedirects: 0 }), ctx);
  assert.equal(none.ok, true, 'with maxRedirects=0 the 301 itself is judged (in 200-399)');
});

test('a hanging server is a timeout within timeout + 1 s', async () => {
  srv.mode = 'hang';
  const t0 = Date.now();
  const r = await check.run(target({ address: srv.url, timeout: 1 }), ctx);
  const took = Date.now() - t0;
  srv.mode = 'ok';
  assert.equal(r.error?.code, 'timeout');
  assert.equal(r.error?.message, 'no answer within 1s');
  assert.ok(took < 2000, `took ${took} ms`);
});

test('a stopped server is connection_refused; a bad host is dns_unresolved', async () => {
  const down = new TargetServer();
  await down.start();
  const url = down.url;
  await down.stop();
  const r = await check.run(target({ address: url }), ctx);
  assert.equal(r.error?.code, 'connection_refused');
  const dns = await check.run(target({ address: 'http://no-such-host.invalid/' }), ctx);
  assert.equal(dns.error?.code, 'dns_unresolved');
});

test('a 1 GB body does not raise RSS by more than a few MB', async () => {
  global.gc?.();
  const before = process.memoryUsage().rss;
  sentBytes = 0;
  const withKeyword = await check.run(
    target({ address: `${srv.url}huge`, keyword: 'not-there', timeout: 10 }),
    ctx,
  );
  const without = await check.run(target({ address: `${srv.url}huge`, timeout: 10 }), ctx);
  const grown = (process.memoryUsage().rss - before) / 1048576;
  assert.equal(
    withKeyword.error?.code,
    'keyword_missing',
    'the bounded read still answers the keyword question',
  );
  assert.equal(without.ok, true);
  assert.ok(grown < 12, `RSS grew ${grown.toFixed(1)} MB`);
  assert.ok(
    sentBytes < 256 * 1048576,
    `the check stopped reading early (server sent ${sentBytes >> 20} MB of 1024)`,
  );
});

test('a gzip bomb is decoded only up to the body limit', async () => {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const r = await check.run(target({ address: `${srv.url}bomb`, keyword: 'never', timeout: 10 }), ctx);
  const grown = (process.memoryUsage().rss - before) / 1048576;
  assert.equal(r.error?.code, 'keyword_missing');
  assert.ok(grown < 48, `RSS grew ${grown.toFixed(1)} MB`);
});
