/** Alert grouping across targets, with the real monitor, engine and outbox. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeApp, switchableCheck, recordingChannel, checkAll, drained } from '../helpers/app.js';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

async function setup(extraEnv: Record<string, string> = {}) {
  const check = switchableCheck();
  const chat = recordingChannel();
  const app = await makeApp(extraEnv, {
    checks: { http: check },
    channels: [chat],
    alertOptions: { groupWaitMs: 60_000 },
  });
  const round = async (names: string[]) => {
    await checkAll(app, names);
    await app.alerts.flush();
    await drained(app);
  };
  return { app, check, chat, round, titles: () => chat.sent.map((s) => s.msg.title) };
}

const add = (
  app: Awaited<ReturnType<typeof setup>>['app'],
  name: string,
  extra: Record<string, unknown> = {},
) =>
  app.monitor.add(
    { name, address: `http://${name}.example.net/`, failThreshold: 1, interval: 300, ...extra },
    'api',
  );

test('dependencies: a child under a DOWN parent is folded into the parent alert; still down after the parent recovers → alerts', async () => {
  const { app, check, round, titles } = await setup();
  await add(app, 'router');
  await add(app, 'portal', { dependsOn: 'router' });
  await add(app, 'mail', { dependsOn: 'router' });
  await add(app, 'other');
  await round(['router', 'portal', 'mail', 'other']);
  assert.deepEqual(titles(), []);

  for (const n of ['router', 'portal', 'mail']) check.results.set(n, false);
  await round(['router', 'portal', 'mail']);
  assert.deepEqual(titles(), ['DOWN router — connection refused']);

  // Parent recovers; portal is still down and now alerts on its own, mail recovered with it.
  check.results.set('router', true);
  check.results.set('mail', true);
  await round(['router', 'mail']);
  const t = titles();
  assert.ok(
    t.includes('RECOVERED router — down for 0s') || t.some((x) => x.startsWith('RECOVERED router')),
    t.join(' | '),
  );
  assert.ok(t.includes('DOWN portal — connection refused'), t.join(' | '));
  assert.ok(
    !t.some((x) => x.includes('mail')),
    'mail never alerted: it was folded and recovered with its parent',
  );
  await app.stop();
});

test('a parent DOWN lists the children that are down in the same round', async () => {
  const { app, check, round, chat } = await setup();
  await add(app, 'core');
  await add(app, 'web', { dependsOn: 'core' });
  await round(['core', 'web']);
  check.results.set('core', false);
  check.results.set('web', false);
  await round(['web', 'core']);
  assert.equal(chat.sent.length, 1);
  assert.match(chat.sent[0]?.msg.lines.join('\n') ?? '', /Also affected \(depends on core\): web/);
  await app.stop();
});

test('a burst of DOWNs in one round becomes one digest; recoveries thread under it', async () => {
  const { app, check, round, chat } = await setup();
  const names = Array.from({ length: 12 }, (_, i) => `t${i}`);
  for (const n of names) await add(app, n);
  await round(names);
  // Only half fail, so the probe self-check is not involved.
  const failing = names.slice(0, 8);
  for (const n of failing) check.results.set(n, false);
  await round(failing);
  assert.equal(chat.sent.length, 1);
  assert.match(chat.sent[0]?.msg.title ?? '', /^DOWN 8 targets — t0, t1, t2, t3, t4, …$/);
  check.results.set('t3', true);
  await round(['t3']);
  const rec = chat.sent[1];
  assert.match(rec?.msg.title ?? '', /^RECOVERED t3/);
  assert.deepEqual(rec?.root, [{ id: 'm1', to: 'room' }], 'the recovery replies to the digest');
  await app.stop();
});

test('probe self-check: when most targets fail and the uplink is gone, one "probe offline" message when back', async () => {
  // The reference is a local TCP port we open and close: the "uplink".
  const uplink = createServer((s) => s.end());
  await new Promise<void>((r) => uplink.listen(0, '127.0.0.1', r));
  const port = (uplink.address() as AddressInfo).port;
  await new Promise<void>((r) => uplink.close(() => r()));
  const dir = (await import('node:fs/promises')).mkdtemp;
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { writeFile } = await import('node:fs/promises');
  const cfgDir = await dir(join(tmpdir(), 'lookout-probe-'));
  await writeFile(join(cfgDir, 'c.yaml'), `settings:\n  probe:\n    references: ["127.0.0.1:${port}"]\n`);
  const { app, check, round, titles } = await setup({ CONFIG_FILE: join(cfgDir, 'c.yaml') });
  const names = ['a', 'b', 'c', 'd', 'e'];
  for (const n of names) await add(app, n);
  await round(names);
  for (const n of names) check.results.set(n, false);
  await round(names);
  assert.deepEqual(titles(), [], 'no alert storm while the probe is offline');

  // Uplink back; two targets recovered meanwhile, three are still down.
  await new Promise<void>((r) => uplink.listen(port, '127.0.0.1', r));
  check.results.set('a', true);
  check.results.set('b', true);
  await checkAll(app, ['a', 'b']);
  await app.alerts.flush();
  await app.alerts.tick();
  await drained(app);
  const t = titles();
  assert.match(t[0] ?? '', /^PROBE OFFLINE since .* — back after/);
  assert.deepEqual(t.slice(1).sort(), [
    'DOWN c — connection refused',
    'DOWN d — connection refused',
    'DOWN e — connection refused',
  ]);
  await new Promise<void>((r) => uplink.close(() => r()));
  await app.stop();
});

test('restart: an alert already delivered is not sent again; a DOWN never alerted is', async () => {
  const { app, check, round, titles } = await setup();
  const dataDir = app.dataDir;
  await add(app, 'web');
  await add(app, 'db');
  await round(['web', 'db']);
  check.results.set('web', false);
  await round(['web']);
  assert.deepEqual(titles(), ['DOWN web — connection refused']);
  // db goes down but the process stops before the round is flushed… simulated by not flushing.
  check.results.set('db', false);
  await checkAll(app, ['db']);
  // Simulate dying inside the group wait: the collected flip is lost with the process.
  (app.alerts as unknown as { pending: unknown[] }).pending = [];
  await app.stop();

  const chat2 = recordingChannel();
  const again = await makeApp(
    {},
    { checks: { http: check }, channels: [chat2], alertOptions: { groupWaitMs: 60_000 } },
    dataDir,
  );
  await drained(again);
  assert.deepEqual(
    chat2.sent.map((s) => s.msg.title),
    ['DOWN db — connection refused'],
  );
  await again.stop();
});
