import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctor, doctorReport } from '../../src/doctor.js';
import { makeApp } from '../helpers/app.js';

/** A tiny Telegram Bot API: getMe accepts one token and refuses every other. */
async function fakeTelegram(good: string) {
  const server = createServer((req, res) => {
    const ok = req.url === `/bot${good}/getMe`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        ok
          ? { ok: true, result: { id: 1, is_bot: true, username: 'lookout_bot' } }
          : { ok: false, error_code: 401, description: 'Unauthorized' },
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('lookout doctor: a good configuration passes every check', async (t) => {
  const tg = await fakeTelegram('123:good');
  t.after(() => tg.server.close());
  const dir = await mkdtemp(join(tmpdir(), 'lookout-doctor-'));
  const findings = await doctor({
    DATA_DIR: dir,
    TELEGRAM_BOT_TOKEN: '123:good',
    TELEGRAM_API_ROOT: tg.url,
    TELEGRAM_ALERT_CHAT_ID: '-100123',
  });
  const report = doctorReport(findings);
  assert.ok(
    findings.every((f) => f.ok),
    report,
  );
  assert.match(report, /✓ Telegram: bot token accepted/);
  assert.match(report, /all checks passed$/);
});

test('lookout doctor: a broken configuration names each problem and the fix', async (t) => {
  const tg = await fakeTelegram('123:good');
  t.after(() => tg.server.close());
  const dir = await mkdtemp(join(tmpdir(), 'lookout-doctor-'));
  await writeFile(join(dir, 'lookout.json'), '{"version":1,');
  const findings = await doctor({
    DATA_DIR: dir,
    TELEGRAM_BOT_TOKEN: '123:wrong',
    TELEGRAM_API_ROOT: tg.url,
  });
  const report = doctorReport(findings);
  assert.match(report, /✗ data file: .*lookout\.json cannot be used/);
  assert.match(report, /✗ Telegram: TELEGRAM_BOT_TOKEN is not accepted; copy it again from @BotFather/);
  assert.match(report, /✗ Telegram: TELEGRAM_ALERT_CHAT_ID is not set/);
  assert.match(report, /3 problems found$/);
  assert.doesNotMatch(report, /123:wrong/, 'the token is never printed');

  const bad = await doctor({ DATA_DIR: dir, HTTP_PORT: 'nope' });
  assert.match(doctorReport(bad), /✗ configuration: HTTP_PORT: must be a port number/);

  if (process.getuid?.() !== 0) {
    const ro = await mkdtemp(join(tmpdir(), 'lookout-doctor-'));
    await chmod(ro, 0o500);
    assert.match(doctorReport(await doctor({ DATA_DIR: ro })), /✗ data directory: .* is not writable/);
  }
});

test('HEARTBEAT_URL is called while Lookout is healthy', async (t) => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const app = await makeApp({
    HEARTBEAT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping/abc`,
  });
  t.after(() => app.stop());
  for (let i = 0; i < 100 && hits === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(hits >= 1, 'the heartbeat arrived');
  const health = (await (await fetch(`${app.url}/healthz`)).json()) as {
    channels: Array<{ channel: string }>;
  };
  assert.ok(
    health.channels.some((c) => c.channel === 'console'),
    '/healthz reports channel status',
  );
});
