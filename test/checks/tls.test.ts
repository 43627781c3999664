import assert from 'node:assert/strict';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { createTlsCheck, expiryWarning, parseTlsAddress } from '../../src/checks/tls.js';
import type { Check, CheckContext } from '../../src/checks/types.js';
import type { Target } from '../../src/core/types.js';
import { createTestPki, hasOpenssl } from '../helpers/certs.js';
import type { IssuedCert, TestPki } from '../helpers/certs.js';
import { testTarget } from '../helpers/targets.js';

function target(address: string, extra: Partial<Target> = {}): Target {
  return testTarget({ kind: 'tls', name: 'site', address, ...extra });
}

const ctx: CheckContext = { now: () => Date.now() };
const DAY = 86_400_000;
const servers: Server[] = [];
const sockets = new Set<Socket>();

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Serves `cert` on 127.0.0.1; returns the `localhost:PORT` address to check. */
async function serve(cert: IssuedCert): Promise<string> {
  const server = createTlsServer({ cert: cert.cert, key: cert.key }, (s) => s.end());
  // Clients hang up right after the handshake; that is not a server error.
  server.on('tlsClientError', () => {});
  return `localhost:${await listen(server)}`;
}

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('tls check', { skip: hasOpenssl() ? false : 'the openssl CLI is not installed' }, () => {
  let pki: TestPki;
  let check: Check;
  before(() => {
    pki = createTestPki();
    check = createTlsCheck({ ca: pki.caCert });
  });
  after(() => pki?.dispose());

  test('a valid certificate is up with days left, issuer and subject', async () => {
    const address = await serve(pki.issue({ commonName: 'localhost', days: 90 }));
    const r = await check.run(target(address), ctx);
    assert.equal(r.ok, true, r.error?.message);
    assert.equal(r.error, undefined);
    assert.equal(r.warnings, undefined);
    assert.equal(r.detail.daysLeft, 89);
    assert.equal(r.detail.subject, 'localhost');
    assert.equal(r.detail.issuer, 'Lookout Test CA (Lookout Tests)');
    assert.equal(r.detail.authorized, true);
    assert.match(String(r.detail.validTo), /^\d{4}-\d\d-\d\dT/);
    assert.ok(r.ms >= 0);
  });

  test('an https URL is accepted as the address', async () => {
    const address = await serve(pki.issue({ commonName: 'localhost' }));
    const r = await check.run(target(`https://${address}/health?x=1`), ctx);
    assert.equal(r.ok, true, r.error?.message);
  });

  test('a certificate expiring in 5 days is up with the 7-day warning only', async () => {
    const address = await serve(pki.issue({ commonName: 'localhost', days: 5 }));
    const r = await check.run(target(address), ctx);
    assert.equal(r.ok, true, r.error?.message);
    assert.equal(r.detail.daysLeft, 4);
    assert.deepEqual(r.warnings, ['cert-expiry-7']);
  });

  test('the earliest expiry in the chain counts, not only the leaf', async () => {
    // The leaf is valid for 5,000 days and the CA for 3,650: with the clock
    // 3,640 days ahead, the CA is the certificate about to expire.
    const address = await serve(pki.issue({ commonName: 'localhost', days: 5000 }));
    const later = Date.now() + 3640 * DAY;
    const r = await check.run(target(address), { now: () => later });
    assert.equal(r.detail.expiresFirst, 'Lookout Test CA');
    assert.equal(r.detail.daysLeft, 9);
    assert.deepEqual(r.warnings, ['cert-expiry-14']);
  });

  test('an expired certificate is cert_expired with the date', async () => {
    const address = await serve(
      pki.issue({
        commonName: 'localhost',
        notBefore: new Date('2020-01-01T00:00:00Z'),
        notAfter: new Date('2020-01-02T00:00:00Z'),
      }),
    );
    const r = await check.run(target(address), ctx);
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'cert_expired');
    assert.match(
      r.error?.message ?? '',
      /^certificate of localhost:\d+ expired on 2020-01-02 \(\d+ days ago\): renew it$/,
    );
    assert.ok(Number(r.detail.daysLeft) < 0);
  });

  test('a self-signed certificate is cert_self_signed', async () => {
    const address = await serve(pki.selfSigned({ commonName: 'localhost' }));
    const r = await check.run(target(address), ctx);
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'cert_self_signed');
    assert.match(r.error?.message ?? '', /self-signed/);
    assert.equal(r.detail.subject, 'localhost');
  });

  test('a certificate for another name is cert_hostname_mismatch naming both', async () => {
    const address = await serve(pki.issue({ commonName: 'wrong.example' }));
    const r = await check.run(target(address), ctx);
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'cert_hostname_mismatch');
    assert.match(r.error?.message ?? '', /is for wrong\.example, not localhost/);
  });

  test('a certificate from a CA nobody trusts is cert_untrusted', async () => {
    const other = createTestPki('Unknown CA');
    try {
      const address = await serve(other.issue({ commonName: 'localhost' }));
      const r = await check.run(target(address), ctx);
      assert.equal(r.error?.code, 'cert_untrusted');
      assert.match(r.error?.message ?? '', /not trusted/);
      assert.equal(r.detail.issuer, 'Unknown CA (Lookout Tests)');
    } finally {
      other.dispose();
    }
  });

  test('without the test CA the same valid certificate is untrusted', async () => {
    const address = await serve(pki.issue({ commonName: 'localhost' }));
    const r = await createTlsCheck().run(target(address), ctx);
    assert.equal(r.error?.code, 'cert_untrusted');
  });

  test('a closed port is connection_refused', async () => {
    const server = createTcpServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    const r = await check.run(target(`localhost:${port}`), ctx);
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'connection_refused');
    assert.match(r.error?.message ?? '', new RegExp(`localhost:${port} refused the connection`));
  });

  test('a server that accepts but never speaks TLS times out within timeout + 1 s', async () => {
    const port = await listen(createTcpServer(() => {}));
    const started = Date.now();
    const r = await check.run(target(`localhost:${port}`, { timeout: 1 }), ctx);
    const took = Date.now() - started;
    assert.equal(r.error?.code, 'timeout');
    assert.match(r.error?.message ?? '', /accepted the connection but completed no TLS handshake within 1s/);
    assert.ok(took < 2000, `took ${took} ms`);
  });

  test('a plain-text server is tls_handshake_failed', async () => {
    const port = await listen(createTcpServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const r = await check.run(target(`localhost:${port}`), ctx);
    assert.equal(r.error?.code, 'tls_handshake_failed');
  });
});

test('addresses: host, host:port, [v6]:port and URLs', () => {
  assert.deepEqual(parseTlsAddress('example.com'), { host: 'example.com', port: 443 });
  assert.deepEqual(parseTlsAddress('example.com:8443'), { host: 'example.com', port: 8443 });
  assert.deepEqual(parseTlsAddress('https://example.com/x'), { host: 'example.com', port: 443 });
  assert.deepEqual(parseTlsAddress('https://example.com:9443/x'), { host: 'example.com', port: 9443 });
  assert.deepEqual(parseTlsAddress('[::1]:8443'), { host: '::1', port: 8443 });
  assert.deepEqual(parseTlsAddress('https://[::1]/'), { host: '::1', port: 443 });
  assert.deepEqual(parseTlsAddress('2001:db8::1'), { host: '2001:db8::1', port: 443 });
  assert.equal(parseTlsAddress('example.com:99999'), undefined);
  assert.equal(parseTlsAddress(''), undefined);
});

test('only the tightest expiry threshold crossed is reported', () => {
  const cases: [number, string | undefined][] = [
    [31, undefined],
    [30, 'cert-expiry-30'],
    [20, 'cert-expiry-30'],
    [14, 'cert-expiry-14'],
    [5, 'cert-expiry-7'],
    [1, 'cert-expiry-1'],
    [0.2, 'cert-expiry-1'],
  ];
  for (const [days, want] of cases) assert.equal(expiryWarning(days * DAY), want, `${days} days`);
});
