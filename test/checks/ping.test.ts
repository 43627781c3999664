import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  createPingCheck,
  detectPingBackend,
  findExecutable,
  parseFpingOutput,
} from '../../src/checks/ping.js';
import type { CheckContext } from '../../src/checks/types.js';
import type { Target } from '../../src/core/types.js';
import { testTarget } from '../helpers/targets.js';

function target(name: string, address: string, extra: Partial<Target> = {}): Target {
  return testTarget({ kind: 'ping', name, address, ...extra });
}

const ctx: CheckContext = { now: () => Date.now() };
const FPING = findExecutable('fping');
const PING = findExecutable('ping');
const noFping = FPING ? false : 'fping is not installed (apt-get install fping)';

/** A check whose spawns are recorded, so a test can say how many processes ran. */
function counted(opts: Parameters<typeof createPingCheck>[0] = {}) {
  const spawns: string[] = [];
  const check = createPingCheck({ ...opts, spawnCounter: (cmd) => spawns.push(cmd) });
  return { check, spawns };
}

const scratch = mkdtempSync(join(tmpdir(), 'lookout-ping-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(scratch, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * A host that never answers, without sending anything onto the real network:
 * fping runs in a fresh network namespace whose only interface is loopback and
 * where TEST-NET-2 (198.51.100.0/24, RFC 5737) is routed to a blackhole, so the
 * echo requests are dropped inside the kernel. Needs `unshare` and `ip`.
 */
function blackholeFping(): string | undefined {
  const unshare = findExecutable('unshare');
  const ip = findExecutable('ip');
  if (!FPING || !unshare || !ip) return undefined;
  const probe = spawnSync(unshare, ['-rn', ip, 'route', 'add', 'blackhole', '198.51.100.0/24'], {
    stdio: 'ignore',
  });
  if (probe.status !== 0) return undefined;
  return script(
    'fping-blackhole',
    `exec ${unshare} -rn /bin/sh -c '${ip} link set lo up && ${ip} route add blackhole 198.51.100.0/24 && exec "$0" "$@"' ${FPING} "$@"`,
  );
}

describe('ping check through fping', { skip: noFping }, () => {
  test('200 targets due together are pinged by one fping process and each gets its own result', async () => {
    const { check, spawns } = counted();
    assert.equal(check.backend, 'fping');
    const targets = Array.from({ length: 200 }, (_, i) =>
      target(`host-${i + 1}`, `127.0.0.${i + 1}`, { pings: 1 }),
    );
    const results = await check.runBatch!(targets, ctx);
    assert.equal(spawns.length, 1);
    assert.equal(results.size, 200);
    for (const t of targets) {
      const r = results.get(t.name);
      assert.ok(r, `no result for ${t.name}`);
      assert.equal(r.ok, true, `${t.name}: ${r.error?.message}`);
      assert.equal(r.detail.ip, t.address);
      assert.equal(r.detail.loss, 0);
      assert.equal(r.detail.sent, 1);
      assert.equal(r.detail.received, 1);
      assert.equal(r.ms, r.detail.rttAvg);
    }
  });

  test('targets sharing an address each get the measurement', async () => {
    const { check, spawns } = counted();
    const results = await check.runBatch!(
      [target('gw-a', '127.0.0.1'), target('gw-b', '127.0.0.1'), target('gw-v6', '[::1]')],
      ctx,
    );
    assert.equal(spawns.length, 1);
    const a = results.get('gw-a');
    const b = results.get('gw-b');
    assert.equal(a?.ok, true);
    assert.deepEqual(b?.detail, a?.detail);
    assert.equal(a?.detail.sent, 3);
    assert.equal(a?.detail.received, 3);
    assert.equal(typeof a?.detail.rttMin, 'number');
    assert.equal(typeof a?.detail.rttMax, 'number');
    assert.equal(results.get('gw-v6')?.detail.ip, '::1');
  });

  test('targets with different ping counts run one process per group, not per target', async () => {
    const { check, spawns } = counted();
    const targets = [
      target('one-a', '127.0.1.1', { pings: 1 }),
      target('one-b', '127.0.1.2', { pings: 1 }),
      target('two-a', '127.0.2.1', { pings: 2 }),
      target('two-b', '127.0.2.2', { pings: 2 }),
    ];
    const results = await check.runBatch!(targets, ctx);
    assert.equal(spawns.length, 2);
    assert.deepEqual(
      targets.map((t) => [t.name, results.get(t.name)?.detail.sent]),
      [
        ['one-a', 1],
        ['one-b', 1],
        ['two-a', 2],
        ['two-b', 2],
      ],
    );
  });

  test('run() checks a single target', async () => {
    const { check } = counted();
    const r = await check.run(target('loopback', '127.0.0.1', { pings: 2 }), ctx);
    assert.equal(r.ok, true);
    assert.equal(r.detail.received, 2);
  });

  // `.invalid` never resolves (RFC 6761). Resolving it asks the configured DNS
  // server, but no ICMP leaves the machine: no process is started at all.
  test('an unresolvable host fails with dns_unresolved and starts no process', async () => {
    const { check, spawns } = counted();
    const r = await check.run(target('ghost', 'nonexistent.invalid'), ctx);
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'dns_unresolved');
    assert.match(r.error?.message ?? '', /nonexistent\.invalid/);
    assert.equal(spawns.length, 0);
  });

  const blackhole = blackholeFping();
  test(
    'a host that never answers is no_reply with 100% loss, and answering hosts in the batch stay up',
    { skip: blackhole ? false : 'cannot create a network namespace here (unshare -rn / ip route)' },
    async () => {
      const { check, spawns } = counted({ fpingPath: blackhole });
      const started = Date.now();
      const results = await check.runBatch!(
        [
          target('dead', '198.51.100.7', { pings: 2, timeout: 1 }),
          target('alive', '127.0.0.1', { pings: 2, timeout: 1 }),
        ],
        ctx,
      );
      assert.equal(spawns.length, 1);
      const dead = results.get('dead');
      assert.equal(dead?.ok, false);
      assert.equal(dead?.error?.code, 'no_reply');
      assert.equal(dead?.error?.message, 'no reply from 198.51.100.7 to 2 pings within 1s');
      assert.equal(dead?.detail.loss, 100);
      assert.equal(dead?.detail.received, 0);
      assert.equal(dead?.detail.rttAvg, undefined);
      assert.equal(results.get('alive')?.ok, true);
      assert.ok(Date.now() - started < 1000 + 1000 + 2000, 'took longer than timeout + kill margin');
    },
  );

  test('an fping that hangs is killed after the timeout plus a margin', async () => {
    const hung = script('fping-hung', 'exec sleep 60');
    const { check } = counted({ fpingPath: hung });
    const started = Date.now();
    const r = await check.run(target('stuck', '127.0.0.1', { pings: 1, timeout: 1 }), ctx);
    assert.equal(r.error?.code, 'timeout');
    assert.match(r.error?.message ?? '', /fping-hung hung and was killed after 3s/);
    assert.ok(Date.now() - started < 8000);
  });
});

describe('ping check without fping', () => {
  test(
    'falls back to one system ping per distinct address',
    { skip: PING ? false : 'ping is not installed' },
    async () => {
      const { check, spawns } = counted({ fpingPath: join(scratch, 'no-fping') });
      assert.equal(check.backend, 'ping');
      const results = await check.runBatch!(
        [
          target('a', '127.0.0.1', { pings: 1 }),
          target('b', '127.0.0.1', { pings: 1 }),
          target('c', '127.0.0.2', { pings: 2 }),
        ],
        ctx,
      );
      assert.equal(spawns.length, 2);
      assert.ok(spawns.every((cmd) => cmd.endsWith('/ping')));
      for (const name of ['a', 'b', 'c']) assert.equal(results.get(name)?.ok, true, name);
      assert.equal(results.get('c')?.detail.sent, 2);
      assert.equal(results.get('c')?.detail.loss, 0);
    },
  );

  test('with neither binary every target reports ping_unavailable and how to fix it', async () => {
    const { check, spawns } = counted({
      fpingPath: join(scratch, 'no-fping'),
      pingPath: join(scratch, 'no-ping'),
    });
    assert.equal(check.backend, 'none');
    const results = await check.runBatch!([target('a', '127.0.0.1'), target('b', '10.0.0.1')], ctx);
    assert.equal(spawns.length, 0);
    for (const name of ['a', 'b']) {
      const r = results.get(name);
      assert.equal(r?.ok, false);
      assert.equal(r?.error?.code, 'ping_unavailable');
      assert.match(r?.error?.message ?? '', /apt-get install fping/);
    }
  });

  test('detectPingBackend honours explicit paths', () => {
    assert.deepEqual(detectPingBackend({ fpingPath: join(scratch, 'x'), pingPath: join(scratch, 'y') }), {
      backend: 'none',
    });
    if (FPING) assert.deepEqual(detectPingBackend({ fpingPath: FPING }), { backend: 'fping', path: FPING });
  });
});

test('fping -C output is parsed per host, with "-" as a lost echo', () => {
  const parsed = parseFpingOutput(
    [
      '127.0.0.1    : 0.05 0.04 -',
      '::1          : - - -',
      'fping: some warning',
      '10.0.0.1 : 1.5 2 3.25',
      '',
    ].join('\n'),
  );
  assert.deepEqual(Object.fromEntries(parsed), {
    '127.0.0.1': [0.05, 0.04, undefined],
    '::1': [undefined, undefined, undefined],
    '10.0.0.1': [1.5, 2, 3.25],
  });
});
