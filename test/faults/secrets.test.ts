/**
 * Secrets never reach the logs: the real process with every platform and email
 * configured, at trace level, against peers that refuse every token (and echo the
 * request back in their error, to tempt a leak), plus API calls with a wrong token.
 * All of its output is searched for every configured secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmtpServer } from '../helpers/smtp.js';
import { startLookout } from '../helpers/proc.js';

test('no configured token or password appears anywhere in the log output, at trace level', async (t) => {
  // Answers every call with 401 and repeats what it was sent: URL, headers and body.
  const refuser = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ok: false,
          error: 'invalid_auth',
          error_code: 401,
          description: `Unauthorized: ${req.url ?? ''} ${JSON.stringify(req.headers)} ${body}`,
          message: `401: Unauthorized ${req.headers.authorization ?? ''}`,
        }),
      );
    });
  });
  await new Promise<void>((r) => refuser.listen(0, '127.0.0.1', r));
  t.after(() => {
    refuser.closeAllConnections();
    refuser.close();
  });
  const base = `http://127.0.0.1:${(refuser.address() as AddressInfo).port}`;
  const smtp = await startSmtpServer();
  smtp.requireAuth({ users: { lookout: 'the-right-password' } });
  t.after(() => smtp.stop());

  const secrets = {
    API_TOKEN: 'api-secret-token-4f9a1c2b7e',
    TELEGRAM_BOT_TOKEN: '123456789:AAsecret-telegram-token-XYZ123456789',
    TELEGRAM_WEBHOOK_SECRET: 'webhook-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-secret-slack-bot-token-999',
    SLACK_SIGNING_SECRET: 'secret-slack-signing-42',
    DISCORD_TOKEN: 'secret.discord.token.abcdef',
    SMTP_PASSWORD: 'wr0ng-smtp-p4ssword',
  };
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-secrets-'));
  const lk = await startLookout({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'trace',
    API_TOKEN: secrets.API_TOKEN,
    TELEGRAM_BOT_TOKEN: secrets.TELEGRAM_BOT_TOKEN,
    TELEGRAM_API_ROOT: base,
    TELEGRAM_ALERT_CHAT_ID: '-100123',
    SLACK_BOT_TOKEN: secrets.SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET: secrets.SLACK_SIGNING_SECRET,
    SLACK_API_URL: `${base}/api/`,
    SLACK_ALERT_CHANNEL: 'C123',
    DISCORD_TOKEN: secrets.DISCORD_TOKEN,
    DISCORD_APPLICATION_ID: '123456789012',
    DISCORD_API_URL: `${base}/api`,
    DISCORD_ALERT_CHANNEL_ID: '123456789012',
    SMTP_URL: smtp.url({ user: 'lookout', pass: secrets.SMTP_PASSWORD }),
    EMAIL_FROM: 'lookout@example.net',
    EMAIL_TO: 'noc@example.net',
  });
  t.after(() => lk.stop());

  // Make things fail: a wrong API token, and an alert every channel must try (and fail) to deliver.
  await fetch(`${lk.url}/api/targets`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
  const add = await fetch(`${lk.url}/api/targets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secrets.API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'gone',
      address: 'http://127.0.0.1:9/',
      interval: 5,
      failThreshold: 1,
      timeout: 1,
    }),
  });
  assert.equal(add.status, 201);
  // Long enough for the check, the group wait and a first delivery attempt on every channel.
  const end = Date.now() + 15_000;
  const failedOn = () =>
    new Set([...lk.stdout().matchAll(/"channel":"(\w+)"[^\n]*alert delivery failed/g)].map((m) => m[1]));
  while (Date.now() < end && failedOn().size < 4) await new Promise((r) => setTimeout(r, 200));
  await lk.stop();

  const output = lk.stdout() + lk.stderr();
  assert.deepEqual(
    [...failedOn()].sort(),
    ['discord', 'email', 'slack', 'telegram'],
    'every channel tried and failed',
  );
  assert.ok(output.split('\n').length > 20, 'there was plenty of output to search');
  for (const [name, value] of Object.entries(secrets)) {
    assert.equal(output.includes(value), false, `${name} appears in the output`);
    assert.equal(
      output.includes(encodeURIComponent(value)),
      false,
      `${name} (URL-encoded) appears in the output`,
    );
  }
});
