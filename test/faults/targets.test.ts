/**
 * Misbehaving targets: each is classified with its own error code within
 * timeout + 1 s, and memory stays flat. Real servers on loopback only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { gzipSync } from 'node:zlib';
import { createHttpCheck } from '../../src/checks/http.js';
import { tcpCheck } from '../../src/checks/tcp.js';
import { buildTarget } from '../../src/schema.js';
import { createTestPki, hasOpenssl } from '../helpers/certs.js';
import type { TestPki } from '../helpers/certs.js';
import { TargetServer } from '../helpers/target-server.js';

const ctx = { now: Date.now };
const check = createHttpCheck();
const servers: Array<NetServer | HttpsServer> = [];
const sockets = new Set<Socket>();
const listen = async <S extends NetServer | HttpsServer>(s: S): Promise<number> => {
  servers.push(s);
  s.on('connection', (c: Socket) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
};

let pki: TestPki | undefined;
let ports: Record<string, number> = {};
const web = new TargetServer();

before(async () => {
  // Accepts, then says nothing at all.
  const silent = createTcpServer(() => undefined);
  // Accepts and resets at once.
  const reset = createTcpServer((s) => s.resetAndDestroy());
  // Slowloris in reverse: headers trickle in one byte every 300 ms, forever.
  const trickle = createTcpServer((s) => {
    const text = 'HTTP/1.1 200 OK\r\nX-Slow: ' + 'a'.repeat(1000);
    let i = 0;
    const timer = setInterval(
      () => (i < text.length ? s.write(text[i++] as string) : clearInterval(timer)),
      300,
    );
    s.on('close', () => clearInterval(timer));
    s.on('error', () => clearInterval(timer));
  });
  // Not HTTP at all.
  const garbage = createTcpServer((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n'));
  ports = {
    silent: await listen(silent),
    reset: await listen(reset),
    trickle: await listen(trickle),
    garbage: await listen(garbage),
  };
  web.custom = (req, res) => {
    if (req.url === '/loop') {
      res.writeHead(302, { location: '/loop' }).end();
      return true;
    }
    if (req.url === '/bomb') {
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(256 << 20)));
      return true;
    }
    return false;
  };
  await web.start();
  if (hasOpenssl()) {
    pki = createTestPki();
    const day = 86400e3;
    const certs = {
      selfSigned: pki.selfSigned({ commonName: 'localhost' }),
      expired: pki.issue({
        commonName: 'localhost',
        notBefore: new Date(Date.now() - 10 * day),
        notAfter: new Date(Date.now() - day),
      }),
      wrongHost: pki.issue({ commonName: 'elsewhere.example' }),
    };
    for (const [name, c] of Object.entries(certs)) {
      const s = createHttpsServer({ cert: c.cert, key: c.key }, (_req, res) => res.end('ok'));
      ports[name] = await listen(s);
    }
  }
});
after(async () => {
  for (const c of sockets) c.destroy();
  for (const s of servers) {
    (s as HttpsServer).closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await web.stop();
  pki?.dispose();
});

const http = (address: string) => buildTarget({ name: 'x', address, timeout: 2, interval: 60 }, 'api', 0);

test('each misbehaviour has its own error code, within timeout + 1 s, and memory stays flat', async () => {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const cases: Array<[string, () => Promise<{ error?: { code: string } }>, string]> = [
    ['hang after accept', () => check.run(http(`http://127.0.0.1:${ports.silent}/`), ctx), 'timeout'],
    [
      'a port that resets',
      () => check.run(http(`http://127.0.0.1:${ports.reset}/`), ctx),
      'connection_reset',
    ],
    ['slowloris headers', () => check.run(http(`http://127.0.0.1:${ports.trickle}/`), ctx), 'timeout'],
    ['not HTTP', () => check.run(http(`http://127.0.0.1:${ports.garbage}/`), ctx), 'protocol_error'],
    ['infinite redirect loop', () => check.run(http(`${web.url}loop`), ctx), 'redirect_loop'],
    ['NXDOMAIN', () => check.run(http('http://no-such-host.invalid/'), ctx), 'dns_unresolved'],
    [
      'gzip bomb',
      () =>
        check.run(
          buildTarget(
            { name: 'x', address: `${web.url}bomb`, keyword: 'never', timeout: 5, interval: 60 },
            'api',
            0,
          ),
          ctx,
        ),
      'keyword_missing',
    ],
    [
      'tcp: hang after accept is still a connection',
      () =>
        tcpCheck.run(
          buildTarget({ name: 'x', address: `127.0.0.1:${ports.silent}`, timeout: 2 }, 'api', 0),
          ctx,
        ),
      'ok',
    ],
  ];
  if (pki) {
    // Trusting the test CA, so each certificate fails for its own reason, not for an unknown issuer.
    const tls = createHttpCheck({ ca: pki.caCert });
    const check = tls;
    cases.push(
      [
        'self-signed certificate',
        () => check.run(http(`https://localhost:${ports.selfSigned}/`), ctx),
        'cert_self_signed',
      ],
      [
        'expired certificate',
        () => check.run(http(`https://localhost:${ports.expired}/`), ctx),
        'cert_expired',
      ],
      [
        'certificate for another host',
        () => check.run(http(`https://localhost:${ports.wrongHost}/`), ctx),
        'cert_hostname_mismatch',
      ],
    );
  }
  for (const [what, run, code] of cases) {
    const t0 = Date.now();
    const r = await run();
    const took = Date.now() - t0;
    assert.equal(r.error?.code ?? 'ok', code, what);
    assert.ok(took < 3000 + (what === 'gzip bomb' ? 3000 : 0), `${what}: classified after ${took} ms`);
  }
  global.gc?.();
  const grown = (process.memoryUsage().rss - rss0) / 1048576;
  assert.ok(grown < 40, `RSS grew ${grown.toFixed(1)} MB over all cases`);
});
