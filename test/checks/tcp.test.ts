import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tcpCheck } from '../../src/checks/tcp.js';
import { buildTarget } from '../../src/schema.js';

const ctx = { now: Date.now };

test('tcp: connect succeeds, then refused once the port closes', async () => {
  const server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const t = buildTarget({ name: 'db', address: `127.0.0.1:${port}`, timeout: 2 }, 'api', 0);
  assert.equal(t.kind, 'tcp');
  const up = await tcpCheck.run(t, ctx);
  assert.equal(up.ok, true);
  assert.equal(typeof up.detail.connect, 'number');
  await new Promise<void>((r) => server.close(() => r()));
  const down = await tcpCheck.run(t, ctx);
  assert.equal(down.ok, false);
  assert.equal(down.error?.code, 'connection_refused');
});

test('tcp: unresolvable host', async () => {
  const t = buildTarget({ name: 'db', address: 'no-such-host.invalid:5432', timeout: 2 }, 'api', 0);
  const r = await tcpCheck.run(t, ctx);
  assert.equal(r.error?.code, 'dns_unresolved');
});
