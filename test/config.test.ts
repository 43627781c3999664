import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, secretsOf } from '../src/config.js';
import { ConfigError } from '../src/core/errors.js';

test('defaults with an empty environment', () => {
  const c = loadConfig({}, '/srv/lookout');
  assert.equal(c.dataDir, '/srv/lookout/data');
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 8080 });
  assert.equal(c.logLevel, 'info');
  assert.equal(c.settings.alertCooldown, 300);
  assert.equal(c.settings.remindEvery, 0);
  assert.equal(c.settings.speedtest.protocol, 'cloudflare');
  assert.equal(c.telegram, undefined);
  assert.equal(c.slack, undefined);
  assert.equal(c.discord, undefined);
  assert.equal(c.email, undefined);
  assert.deepEqual(c.targets, []);
});

test('bad environment values name the key and the fix', () => {
  const table: Array<[Record<string, string>, RegExp]> = [
    [{ HTTP_PORT: 'eighty' }, /^HTTP_PORT: must be a port number from 0 to 65535 \(got "eighty"\)$/],
    [{ HTTP_PORT: '70000' }, /^HTTP_PORT: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: must be one of fatal, error/],
    [{ TZ: 'Mars/Olympus' }, /^TZ: "Mars\/Olympus" is not a time zone/],
    [{ API_TOKEN: 'short' }, /^API_TOKEN: must be at least 16 characters/],
    [
      { TELEGRAM_BOT_TOKEN: 'x', TELEGRAM_API_ROOT: 'ftp://x' },
      /^TELEGRAM_API_ROOT: must be an http\(s\) URL/,
    ],
    [{ TELEGRAM_BOT_TOKEN: 'x', TELEGRAM_ALERT_CHAT_ID: 'general' }, /^TELEGRAM_ALERT_CHAT_ID: /],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, /^SLACK_SIGNING_SECRET: Slack needs SLACK_SIGNING_SECRET/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'nope' }, /^SLACK_APP_TOKEN: /],
    [{ DISCORD_TOKEN: 'x' }, /^DISCORD_APPLICATION_ID: /],
    [{ SMTP_URL: 'mail.example.net' }, /^SMTP_URL: must look like smtp:\/\//],
    [{ SMTP_URL: 'smtp://h:25' }, /^EMAIL_FROM: /],
    [
      { SMTP_URL: 'smtp://h:25', EMAIL_FROM: 'a@b.c', EMAIL_TO: 'noc' },
      /^EMAIL_TO: "noc" is not an email address$/,
    ],
    [
      { CONFIG_FILE: '/nonexistent/lookout.yaml' },
      /^CONFIG_FILE: cannot read \/nonexistent\/lookout\.yaml \(ENOENT\)/,
    ],
  ];
  for (const [env, re] of table) {
    assert.throws(
      () => loadConfig(env, '/'),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(env),
    );
  }
});

test('platforms turn on only with their credentials', () => {
  const c = loadConfig({
    TELEGRAM_BOT_TOKEN: '123:abc',
    TELEGRAM_ADMIN_IDS: '1, 2',
    SLACK_BOT_TOKEN: 'xoxb-1',
    SLACK_SIGNING_SECRET: 'sig',
    DISCORD_TOKEN: 'dt',
    DISCORD_APPLICATION_ID: '123456789',
    SMTP_URL: 'smtp://u:p4ss@mail:587',
    EMAIL_FROM: 'noc@example.net',
    EMAIL_TO: 'a@example.net,b@example.net',
  });
  assert.deepEqual(c.telegram?.adminIds, ['1', '2']);
  assert.equal(c.telegram?.apiRoot, 'https://api.telegram.org');
  assert.equal(c.slack?.apiUrl, 'https://slack.com/api/');
  assert.equal(c.discord?.apiUrl, 'https://discord.com/api');
  assert.deepEqual(c.email?.to, ['a@example.net', 'b@example.net']);
  assert.ok(secretsOf(c).includes('p4ss'), 'the SMTP password is a secret to scrub');
  assert.ok(secretsOf(c).includes('123:abc'));
});

async function withFile(text: string, name = 'lookout.yaml'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-config-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

test('CONFIG_FILE in YAML: settings and targets as in SPEC §1', async () => {
  const path = await withFile(`
settings:
  alertCooldown: 10m
  speedtest:
    server: "http://hq:8080/speedtest"
    protocol: librespeed
targets:
  - name: core-router
    address: 10.0.0.1
  - name: portal
    address: https://portal.example.net/health
    interval: 30
    failThreshold: 3
    keyword: "ok"
    dependsOn: core-router
    notify: { email: [noc@example.net] }
`);
  const c = loadConfig({ CONFIG_FILE: path });
  assert.equal(c.settings.alertCooldown, 600);
  assert.equal(c.settings.speedtest.protocol, 'librespeed');
  assert.equal(c.targets.length, 2);
  assert.equal(c.targets[1]?.interval, 30);
  assert.deepEqual(c.targets[1]?.notify, { email: ['noc@example.net'] });
});

test('CONFIG_FILE in JSON works too', async () => {
  const path = await withFile(
    JSON.stringify({ targets: [{ name: 'web', address: 'https://x.y' }] }),
    'lookout.json',
  );
  assert.equal(loadConfig({ CONFIG_FILE: path }).targets[0]?.name, 'web');
});

test('bad CONFIG_FILE content: one line naming the key', async () => {
  const table: Array<[string, RegExp]> = [
    [
      'targets:\n  - name: web\n    address: https://x.y\n    interval: 1\n',
      /targets\[0\]\.interval must be at least 5 seconds \(got 1\)/,
    ],
    ['settings:\n  alertCooldwn: 5\n', /unknown key "settings\.alertCooldwn"|unknown key "alertCooldwn"/],
    [
      'targets:\n  - name: a\n    address: 10.0.0.1\n  - name: a\n    address: 10.0.0.2\n',
      /targets\[1\]\.name "a" is used twice/,
    ],
    ['targets: [\n', /is not valid YAML\/JSON/],
    ['- just\n- a list\n', /must be a mapping/],
    ['settings:\n  speedtest:\n    protocol: ookla\n', /settings\.speedtest\.protocol/],
    ['targets:\n  - address: 10.0.0.1\n', /targets\[0\]\.name is required/],
  ];
  for (const [text, re] of table) {
    const path = await withFile(text);
    assert.throws(
      () => loadConfig({ CONFIG_FILE: path }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.startsWith('CONFIG_FILE: ') &&
        re.test(e.message) &&
        !e.message.includes('\n'),
      text,
    );
  }
});

test('a speed-test schedule must be a cron expression', async () => {
  const path = await withFile('settings:\n  speedtest:\n    schedule: "every hour"\n');
  assert.throws(
    () => loadConfig({ CONFIG_FILE: path }),
    /settings\.speedtest\.schedule must be a cron expression like "\*\/30 \* \* \* \*" \(got "every hour"\)/,
  );
  const ok = await withFile('settings:\n  speedtest:\n    schedule: "*/30 * * * *"\n');
  assert.equal(loadConfig({ CONFIG_FILE: ok }).settings.speedtest.schedule, '*/30 * * * *');
});
