/**
 * The DNS check is tested against a real DNS server on loopback (a small UDP
 * server in test/helpers/dns-server.ts) rather than public names or a mocked
 * resolver: answers are then fixed, no query leaves the machine, and the
 * resolver's real wire parsing and error mapping (NXDOMAIN, NODATA, SERVFAIL,
 * REFUSED, silence) are exercised end to end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDnsCheck } from '../../src/checks/dns.js';
import type { CheckContext } from '../../src/checks/types.js';
import type { Target } from '../../src/core/types.js';
import { startDnsServer } from '../helpers/dns-server.js';
import type { TestDnsServer, ZoneRecords } from '../helpers/dns-server.js';
import { testTarget } from '../helpers/targets.js';

const ZONE: Record<string, ZoneRecords> = {
  'portal.test': {
    A: ['192.0.2.10', '192.0.2.11'],
    AAAA: ['2001:db8::10'],
    MX: [
      { priority: 20, exchange: 'backup-mx.test' },
      { priority: 10, exchange: 'mx.test' },
    ],
    TXT: [['v=spf1 ', 'include:mail.test ~all'], ['site-verification=abc123']],
  },
  'www.portal.test': { CNAME: 'portal.test' },
  'many.test': { A: Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1}`) },
};

const ctx: CheckContext = { now: () => Date.now() };
const check = createDnsCheck();

describe('dns check', () => {
  let server: TestDnsServer;
  const target = (address: string, extra: Partial<Target> = {}): Target =>
    testTarget({ kind: 'dns', address, resolver: server.address, ...extra });

  before(async () => {
    server = await startDnsServer(ZONE);
  });
  after(() => server.close());

  test('an A lookup is up and lists every address', async () => {
    const r = await check.run(target('portal.test'), ctx);
    assert.equal(r.ok, true, r.error?.message);
    assert.equal(r.detail.answers, '192.0.2.10, 192.0.2.11');
    assert.equal(typeof r.detail.resolveMs, 'number');
    assert.equal(r.ms, r.detail.resolveMs);
    assert.deepEqual(server.queries.at(-1), 'A portal.test');
  });

  test('each record type is asked for and shown', async () => {
    const cases: [Target['recordType'], string, string][] = [
      ['AAAA', 'portal.test', '2001:db8::10'],
      ['CNAME', 'www.portal.test', 'portal.test'],
      ['MX', 'portal.test', '10 mx.test, 20 backup-mx.test'],
      ['TXT', 'portal.test', 'v=spf1 include:mail.test ~all, site-verification=abc123'],
    ];
    for (const [recordType, name, answers] of cases) {
      const r = await check.run(target(name, { recordType }), ctx);
      assert.equal(r.ok, true, `${recordType}: ${r.error?.message}`);
      assert.equal(r.detail.answers, answers, String(recordType));
    }
  });

  test('an expected value must be among the answers, compared case-insensitively', async () => {
    const cases: [string, Partial<Target>, boolean][] = [
      ['portal.test', { expect: '192.0.2.11' }, true],
      ['portal.test', { expect: '192.0.2.99' }, false],
      ['portal.test', { recordType: 'AAAA', expect: '2001:DB8:0::10' }, true],
      ['portal.test', { recordType: 'MX', expect: 'MX.test.' }, true],
      ['portal.test', { recordType: 'MX', expect: 'other-mx.test' }, false],
      ['portal.test', { recordType: 'TXT', expect: 'V=SPF1 include:mail.test ~all' }, true],
      ['portal.test', { recordType: 'TXT', expect: 'v=spf1' }, false],
      ['www.portal.test', { recordType: 'CNAME', expect: 'Portal.Test.' }, true],
    ];
    for (const [name, extra, ok] of cases) {
      const r = await check.run(target(name, extra), ctx);
      assert.equal(r.ok, ok, `${name} ${JSON.stringify(extra)}: ${r.error?.message}`);
    }
  });

  test('a wrong answer is unexpected_answer, saying what came back', async () => {
    const r = await check.run(target('portal.test', { expect: '192.0.2.99' }), ctx);
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'unexpected_answer');
    assert.equal(r.error?.message, 'portal.test A is 192.0.2.10, 192.0.2.11, expected 192.0.2.99');
  });

  test('a long answer list is truncated in the message', async () => {
    const r = await check.run(target('many.test', { expect: '203.0.113.1' }), ctx);
    assert.equal(r.error?.code, 'unexpected_answer');
    assert.ok((r.error?.message.length ?? 0) < 300);
    assert.match(
      r.error?.message ?? '',
      /^many\.test A is 198\.51\.100\.1, 198\.51\.100\.2, .*…, expected 203\.0\.113\.1$/,
    );
  });

  test('a name that does not exist is nxdomain', async () => {
    const r = await check.run(target('missing.test'), ctx);
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'nxdomain');
    assert.equal(
      r.error?.message,
      `missing.test does not exist (NXDOMAIN from ${server.address}): check the name`,
    );
  });

  test('a name without the asked record type is no_data', async () => {
    const r = await check.run(target('www.portal.test', { recordType: 'MX' }), ctx);
    assert.equal(r.error?.code, 'no_data');
    assert.equal(r.error?.message, `www.portal.test exists but has no MX record (asked ${server.address})`);
  });

  test('a resolver that is not an address is invalid_resolver', async () => {
    const r = await check.run(target('portal.test', { resolver: 'dns.example' }), ctx);
    assert.equal(r.error?.code, 'invalid_resolver');
  });
});

describe('dns check against a misbehaving resolver', () => {
  const target = (resolver: string, timeout = 2): Target => ({
    name: 'dns',
    kind: 'dns',
    address: 'portal.test',
    interval: 60,
    timeout,
    failThreshold: 3,
    recoverThreshold: 1,
    tags: [],
    source: 'api',
    createdAt: 0,
    resolver,
  });

  test('a resolver that never answers is timeout within timeout + 1 s', async () => {
    const server = await startDnsServer(ZONE, 'silent');
    try {
      const started = Date.now();
      const r = await check.run(target(server.address, 1), ctx);
      const took = Date.now() - started;
      assert.equal(r.error?.code, 'timeout');
      assert.equal(r.error?.message, `no answer from ${server.address} for portal.test within 1s`);
      assert.ok(took < 2000, `took ${took} ms`);
    } finally {
      await server.close();
    }
  });

  test('SERVFAIL is servfail and REFUSED is refused', async () => {
    for (const mode of ['servfail', 'refused'] as const) {
      const server = await startDnsServer(ZONE, mode);
      try {
        const r = await check.run(target(server.address), ctx);
        assert.equal(r.error?.code, mode);
        assert.match(r.error?.message ?? '', new RegExp(server.address));
      } finally {
        await server.close();
      }
    }
  });
});
