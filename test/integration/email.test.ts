/**
 * Alerts by email end to end: real local targets, the real engine and outbox, a
 * real SMTP server (smtp-server) on loopback that goes away and comes back, and
 * the real process killed with SIGKILL while an alert waits in the outbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmtpServer } from '../helpers/smtp.js';
import { TargetServer } from '../helpers/target-server.js';
import { makeApp, checkAll, drained } from '../helpers/app.js';
import { startLookout } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

test('one DOWN and one RECOVERED mail, to global and per-target recipients, the recovery threaded to the DOWN', async (t) => {
  const smtp = await startSmtpServer();
  const target = await new TargetServer().start();
  const app = await makeApp(
    { SMTP_URL: smtp.url(), EMAIL_FROM: 'Lookout <lookout@example.net>', EMAIL_TO: 'noc@example.net' },
    { alertOptions: { groupWaitMs: 50 } },
  );
  t.after(async () => {
    await app.stop();
    await target.stop();
    await smtp.stop();
  });
  await app.monitor.add(
    {
      name: 'web',
      address: target.url,
      failThreshold: 2,
      interval: 300,
      notify: { email: ['ops@example.net', 'NOC@example.net'] },
    },
    'api',
  );
  await checkAll(app, ['web']);
  await target.stop();
  for (let i = 0; i < 3; i++) await checkAll(app, ['web']); // 2 to go DOWN, 1 more that must not alert again
  await app.alerts.flush();
  await until('the DOWN mail', () => smtp.messages.length >= 1, 20_000);
  await target.start();
  await checkAll(app, ['web']);
  await app.alerts.flush();
  await until('the RECOVERED mail', () => smtp.messages.length >= 2, 20_000);
  await drained(app);
  await new Promise((r) => setTimeout(r, 200));

  assert.equal(smtp.messages.length, 2, smtp.messages.map((m) => m.parsed.subject).join(' | '));
  const [down, up] = smtp.messages.map((m) => m.parsed);
  assert.match(down?.subject ?? '', /^\[DOWN\] web — connection refused/);
  assert.match(up?.subject ?? '', /^\[RECOVERED\] web — down for \d+s$/);
  for (const m of smtp.messages)
    assert.deepEqual([...m.envelope.to].sort(), ['noc@example.net', 'ops@example.net']);
  assert.ok(down?.messageId);
  assert.equal(up?.inReplyTo, down?.messageId);
  assert.ok(up?.references.includes(down?.messageId as string));
  assert.ok(down?.text?.includes('connection refused'));
  assert.ok(down?.html?.includes('web'));
});

test('SMTP down for a while: the alert waits in the outbox and is delivered once when it is back', async (t) => {
  const smtp = await startSmtpServer();
  const target = await new TargetServer().start();
  const token = 'status-token-0123456789';
  const app = await makeApp(
    {
      SMTP_URL: smtp.url(),
      EMAIL_FROM: 'lookout@example.net',
      EMAIL_TO: 'noc@example.net',
      API_TOKEN: token,
    },
    { alertOptions: { groupWaitMs: 50 } },
  );
  t.after(async () => {
    await app.stop();
    await target.stop();
    await smtp.stop();
  });
  await app.monitor.add({ name: 'db', address: target.url, failThreshold: 1, interval: 300 }, 'api');
  await checkAll(app, ['db']);
  await smtp.stop();
  await target.stop();
  await checkAll(app, ['db']);
  await app.alerts.flush();
  await until(
    'a failed attempt',
    () => app.outbox.pending().some((e) => e.channel === 'email' && e.attempts >= 1),
    20_000,
  );
  const entry = app.outbox.pending().find((e) => e.channel === 'email');
  assert.match(entry?.lastError ?? '', /^email: /);
  const health = app.outbox.status().find((h) => h.channel === 'email');
  assert.equal(health?.pending, 1);
  // …and `status` tells the operator.
  const res = await fetch(`${app.url}/api/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'status' }),
  });
  const { reply } = (await res.json()) as { reply: { lines: string[] } };
  assert.ok(
    reply.lines.some((l) => /^⚠ email: 1 alert waiting to be delivered \(last error: email: /.test(l)),
    reply.lines.join('\n'),
  );

  await smtp.start();
  await until('delivery after the outage', () => smtp.messages.length >= 1, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(smtp.messages.length, 1);
  assert.match(smtp.messages[0]?.parsed.subject ?? '', /^\[DOWN\] db/);
  assert.equal(app.outbox.pending().length, 0);
});

test('killed with SIGKILL while an alert is queued: after restart it is delivered exactly once', async (t) => {
  const smtp = await startSmtpServer();
  await smtp.stop(); // the mail server is down when the target fails
  const target = await new TargetServer().start();
  const url = target.url;
  await target.stop();
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-kill-mail-'));
  await writeFile(
    join(dataDir, 'targets.yaml'),
    `targets:\n  - name: api\n    address: ${url}\n    interval: 5\n    timeout: 2\n    failThreshold: 1\n`,
  );
  const env = {
    DATA_DIR: dataDir,
    CONFIG_FILE: join(dataDir, 'targets.yaml'),
    SMTP_URL: smtp.url(),
    EMAIL_FROM: 'lookout@example.net',
    EMAIL_TO: 'noc@example.net',
  };
  t.after(() => smtp.stop());
  const first = await startLookout(env);
  const queued = async () => {
    try {
      const d = JSON.parse(await readFile(join(dataDir, 'lookout.json'), 'utf8')) as {
        outbox: Array<{ channel: string; status: string; attempts: number }>;
      };
      return d.outbox.some((e) => e.channel === 'email' && e.status === 'pending' && e.attempts >= 1);
    } catch {
      return false;
    }
  };
  await until('the DOWN alert to be queued after a failed attempt', queued, 30_000);
  await first.kill9();

  await smtp.start();
  const second = await startLookout(env);
  t.after(() => second.stop());
  await until('delivery after the restart', () => smtp.messages.length >= 1, 30_000);
  // Give a duplicate every chance to show up.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(second.proc.exitCode, null, 'still running');
  assert.equal(smtp.messages.length, 1, smtp.messages.map((m) => m.parsed.subject).join(' | '));
  assert.match(smtp.messages[0]?.parsed.subject ?? '', /^\[DOWN\] api/);
  assert.equal(await second.stop(), 0);
});
