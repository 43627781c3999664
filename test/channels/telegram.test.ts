/**
 * Telegram end to end: the whole app with the real telegraf client against a fake
 * Bot API on loopback (test/helpers/telegram-api.ts), real HTTP targets, the real
 * alert engine and outbox. Plus the pure renderer's limits.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/app.js';
import type { App, AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import {
  ALERT_LIMIT,
  MESSAGE_LIMIT,
  escapeHtml,
  renderAlert,
  renderReply,
} from '../../src/channels/telegram-render.js';
import type { AlertMessage } from '../../src/core/message.js';
import { checkAll, drained, makeApp } from '../helpers/app.js';
import { TargetServer } from '../helpers/target-server.js';
import { startSpeedServer } from '../helpers/speed-server.js';
import { ALICE, BOB, FakeBotApi, MALLORY, parseHtml } from '../helpers/telegram-api.js';
import type { ApiCall, StoredMessage } from '../helpers/telegram-api.js';

const TOKEN = '123456:TEST-token-for-tests-only';
const CHAT = -1001;
const ALERT_CHAT = String(CHAT);

interface Setup {
  api: FakeBotApi;
  app: App;
}

async function configFile(content: object): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-tg-config-'));
  const path = join(dir, 'lookout.json');
  await writeFile(path, JSON.stringify(content));
  return path;
}

/** The app with Telegram on; alerts wait for an explicit flush so rounds are deterministic. */
async function setup(
  t: TestContext,
  env: Record<string, string> = {},
  opts: Partial<Omit<AppOptions, 'config' | 'log'>> = {},
): Promise<Setup> {
  const api = await new FakeBotApi(TOKEN).start();
  const app = await makeApp(
    {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: api.url,
      TELEGRAM_ALERT_CHAT_ID: ALERT_CHAT,
      TELEGRAM_ADMIN_IDS: String(ALICE.id),
      ...env,
    },
    { alertOptions: { groupWaitMs: 60_000 }, ...opts },
  );
  t.after(async () => {
    await app.stop();
    await api.close();
  });
  return { api, app };
}

async function target(t: TestContext): Promise<TargetServer> {
  const srv = await new TargetServer().start();
  t.after(() => srv.stop());
  return srv;
}

/** Runs the checks, processes the round's flips and waits for delivery. */
async function round(app: App, names: string[]): Promise<void> {
  await checkAll(app, names);
  await app.alerts.flush();
  await drained(app);
}

const alertsSent = (api: FakeBotApi, re: RegExp): ApiCall[] =>
  api.callsOf('sendMessage').filter((c) => re.test(api.textOf(c)));

test('/status gets its reply; commands for another bot and malformed updates are ignored', async (t) => {
  const { api } = await setup(t);
  const commands = (await api.waitFor((c) => c.method === 'setMyCommands')).body.commands as Array<{
    command: string;
  }>;
  assert.ok(commands.some((c) => c.command === 'status'));
  assert.ok(commands.some((c) => c.command === 'add'));

  const other = api.command('/status@some_other_bot', BOB);
  // Malformed updates must not stop the bot.
  api.queue({ message: { message_id: 1 } });
  api.queue({ callback_query: { id: 'broken' } });
  api.queue({ nonsense: true });
  const mine = api.command('/status@lookout_test_bot', BOB);
  const plain = api.command('/status', BOB);

  const r1 = await api.waitForReply(mine.messageId);
  assert.match(r1.text, /No targets yet/);
  const r2 = await api.waitForReply(plain.messageId);
  assert.equal(r2.chatId, ALERT_CHAT);
  assert.match(r2.text, /No targets yet/);
  // A reply Telegram refuses is logged and answered with a short apology.
  api.fail('sendMessage', { error_code: 400, description: 'Bad Request: something unexpected' });
  const failing = api.command('/status', BOB);
  await api.waitFor(
    (c) => c.method === 'sendMessage' && c.status === 200 && c.body.text === 'internal error, see logs',
    10_000,
    'the apology',
  );
  assert.equal(api.callsOf('sendMessage', true).filter((c) => c.status === 400).length, 1);
  assert.ok(failing.updateId > plain.updateId);
  // Same chat, handled in order: the one for another bot came first and got nothing.
  assert.equal(
    api
      .callsOf('sendMessage')
      .filter(
        (c) =>
          (c.body.reply_parameters as { message_id?: number } | undefined)?.message_id === other.messageId,
      ).length,
    0,
  );
});

test('an admin /add creates a target; a non-admin one is refused and nothing changes; history comes as a file', async (t) => {
  const { api, app } = await setup(t);
  const srv = await target(t);

  const refused = api.command(`/add web ${srv.url} interval=300`, BOB);
  const no = await api.waitForReply(refused.messageId);
  assert.match(no.text, /only admins can run add/);
  assert.match(no.text, /TELEGRAM_ADMIN_IDS/);
  assert.match(no.text, /77/, 'tells the person their id, to hand to an admin');
  assert.equal(app.monitor.find('web'), undefined);

  const ok = api.command(`/add web ${srv.url} interval=300`, ALICE);
  const yes = await api.waitForReply(ok.messageId);
  assert.match(yes.text, /Added web/);
  assert.equal(app.monitor.find('web')?.address, srv.url);

  // A push target's URL is a secret: it goes to the admin's private chat, not the group.
  const push = api.command('/add beat push interval=300', ALICE);
  const note = await api.waitForReply(push.messageId);
  assert.match(note.text, /sent you the answer privately/);
  const token = app.monitor.find('beat')?.pushToken ?? 'missing';
  const dm = await api.waitForMessage(/\/push\//);
  assert.equal(dm.chatId, String(ALICE.id));
  assert.ok(dm.text.includes(token));
  for (const m of api.messages.values()) if (m.chatId === ALERT_CHAT) assert.ok(!m.text.includes(token));

  const hist = api.command('/history web 24h csv', BOB);
  await api.waitForReply(hist.messageId);
  const doc = await api.waitFor((c) => c.method === 'sendDocument');
  assert.match(doc.files.document?.filename ?? '', /^web-history-24h-.*\.csv$/);
  assert.ok((doc.files.document?.data ?? '').length > 0);
});

test('someone outside the alert chat is refused; a member of it may ask in private', async (t) => {
  const { api } = await setup(t);
  const stranger = api.command('/status', MALLORY, { id: MALLORY.id });
  const no = await api.waitForReply(stranger.messageId);
  assert.match(no.text, /members of its alert chat/);

  api.members.set(`${ALERT_CHAT}:${BOB.id}`, 'member');
  const member = api.command('/status', BOB, { id: BOB.id });
  const yes = await api.waitForReply(member.messageId);
  assert.match(yes.text, /No targets yet/);
});

test('a real target going down and up: DOWN with buttons, RECOVERED as a reply, the DOWN edited to say resolved', async (t) => {
  const { api, app } = await setup(t);
  const srv = await target(t);
  await app.monitor.add({ name: 'portal', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
  await round(app, ['portal']);
  assert.equal(app.monitor.state('portal').status, 'up');

  srv.mode = 'error';
  await round(app, ['portal']);
  const down = await api.waitForMessage(/DOWN portal/);
  assert.equal(down.chatId, ALERT_CHAT);
  assert.match(down.text, /HTTP 500/);
  const labels = down.keyboard.flat().map((b) => b.text);
  assert.deepEqual(labels, ['Acknowledge', 'Pause 1h']);
  assert.deepEqual(
    down.keyboard.flat().map((b) => b.callback_data),
    ['a:ack portal', 'a:pause portal 1h'],
  );

  srv.mode = 'ok';
  await round(app, ['portal']);
  const rec = await api.waitForMessage(/RECOVERED portal/);
  assert.equal(rec.replyTo, down.messageId, 'the recovery is a reply to the DOWN');
  assert.equal(rec.chatId, ALERT_CHAT);

  await api.waitFor((c) => c.method === 'editMessageText' && c.body.message_id === down.messageId);
  const edited = api.message(ALERT_CHAT, down.messageId) as StoredMessage;
  assert.match(edited.text, /DOWN portal/, 'the original alert is still there');
  assert.match(edited.text, /✅ resolved after/);
  assert.deepEqual(edited.keyboard, [], 'no buttons left on a resolved alert');
  assert.equal(alertsSent(api, /DOWN portal/).length, 1);
  assert.equal(alertsSent(api, /RECOVERED portal/).length, 1);
});

test('marking the DOWN resolved survives a 502 and a 429 on the edit, and the RECOVERED is sent once', async (t) => {
  const { api, app } = await setup(t);
  const srv = await target(t);
  await app.monitor.add({ name: 'portal', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
  await round(app, ['portal']);
  srv.mode = 'error';
  await round(app, ['portal']);
  const down = await api.waitForMessage(/DOWN portal/);

  api.fail('editMessageText', { error_code: 502, description: 'Bad Gateway' });
  api.fail('editMessageText', {
    error_code: 429,
    description: 'Too Many Requests',
    parameters: { retry_after: 1 },
  });
  srv.mode = 'ok';
  await round(app, ['portal']);
  await api.waitForMessage(/RECOVERED portal/);
  await api.waitFor(
    (c) => c.method === 'editMessageText' && c.body.message_id === down.messageId && c.status === 200,
    8000,
  );
  const edited = api.message(ALERT_CHAT, down.messageId) as StoredMessage;
  assert.match(edited.text, /✅ resolved after/);
  assert.deepEqual(edited.keyboard, []);
  assert.deepEqual(
    api.callsOf('editMessageText', true).map((c) => c.status),
    [502, 429, 200],
    'two failures, then the edit',
  );
  assert.equal(alertsSent(api, /RECOVERED portal/).length, 1);
});

test('pressing Ack stops reminders and edits the message; a non-admin pressing Pause 1h is refused', async (t) => {
  let skew = 0;
  const file = await configFile({ settings: { remindEvery: 60 } });
  const { api, app } = await setup(t, { CONFIG_FILE: file }, { now: () => Date.now() + skew });
  const srv = await target(t);
  // Long enough that `pause <name> 1h` does not fit in 64 bytes of callback_data.
  const name = 'branch-office-router-uplink-with-a-rather-long-name-0123456789';
  await app.monitor.add({ name, address: srv.url, failThreshold: 1, interval: 300 }, 'api');
  srv.mode = 'error';
  await round(app, [name]);
  const down = await api.waitForMessage(/DOWN branch-office/);
  for (const b of down.keyboard.flat())
    assert.ok(Buffer.byteLength(b.callback_data ?? '') <= 64, `callback_data fits: ${b.callback_data}`);

  // Not acknowledged: a reminder after remindEvery, threaded under the DOWN.
  skew += 61_000;
  await app.alerts.tick();
  await drained(app);
  const reminder = await api.waitForMessage(/STILL DOWN branch-office/);
  assert.equal(reminder.replyTo, down.messageId);

  const pause = api.press(down, 'Pause 1h', BOB);
  const refused = await api.waitFor(
    (c) => c.method === 'answerCallbackQuery' && c.body.callback_query_id === pause.queryId,
  );
  assert.equal(refused.body.show_alert, true);
  assert.match(String(refused.body.text), /only admins/);
  assert.equal(app.monitor.find(name)?.paused, undefined, 'nothing changed');
  assert.equal((api.message(ALERT_CHAT, down.messageId) as StoredMessage).edits, 0);

  const ack = api.press(down, 'Acknowledge', BOB);
  const answered = await api.waitFor(
    (c) => c.method === 'answerCallbackQuery' && c.body.callback_query_id === ack.queryId,
  );
  assert.notEqual(answered.body.show_alert, true);
  assert.match(String(answered.body.text), /Acknowledged/);
  await api.waitFor((c) => c.method === 'editMessageText' && c.body.message_id === down.messageId);
  const edited = api.message(ALERT_CHAT, down.messageId) as StoredMessage;
  assert.match(edited.text, /✔️ Acknowledged by @bob/);
  assert.match(edited.text, /DOWN branch-office/);
  assert.deepEqual(
    edited.keyboard.flat().map((b) => b.text),
    ['Pause 1h'],
    'the Ack button is gone, Pause stays',
  );
  assert.equal(app.monitor.openIncident(name)?.ackedBy, '@bob');

  // Acknowledged: no more reminders however long it stays down.
  const before = api.callsOf('sendMessage').length;
  for (let i = 0; i < 3; i++) {
    skew += 61_000;
    await app.alerts.tick();
  }
  await drained(app);
  assert.equal(api.callsOf('sendMessage').length, before);
  assert.equal(alertsSent(api, /STILL DOWN/).length, 1);
});

test('a 429 with retry_after 2 on the alert is retried after ≥ 2 s and delivered once', async (t) => {
  const { api, app } = await setup(t);
  const srv = await target(t);
  await app.monitor.add({ name: 'api', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
  await round(app, ['api']);
  api.fail('sendMessage', {
    error_code: 429,
    description: 'Too Many Requests: retry after 2',
    parameters: { retry_after: 2 },
  });
  srv.mode = 'error';
  await round(app, ['api']);
  await api.waitForMessage(/DOWN api/, 15_000);
  // Long enough for a duplicate to show up if there were one.
  await new Promise((r) => setTimeout(r, 300));

  const attempts = api.callsOf('sendMessage', true).filter((c) => /DOWN api/.test(api.textOf(c)));
  assert.equal(attempts.length, 2);
  const [first, second] = attempts as [ApiCall, ApiCall];
  assert.equal(first.status, 429);
  assert.equal(second.status, 200);
  assert.ok(second.at - first.at >= 2000, `retried after ${second.at - first.at} ms`);
  assert.equal(alertsSent(api, /DOWN api/).length, 1, 'delivered once');
  assert.equal(app.outbox.pending().length, 0);
});

test('a target routed to a second chat: a failure in one chat is retried without repeating the other', async (t) => {
  const { api, app } = await setup(t);
  const srv = await target(t);
  const second = '-2002';
  const gone = '-3003';
  await app.monitor.add(
    {
      name: 'shop',
      address: srv.url,
      failThreshold: 1,
      interval: 300,
      notify: { channels: [`telegram:${second}`, `telegram:${gone}`, 'slack:C123'] },
    },
    'api',
  );
  await round(app, ['shop']);
  const toChat = (chat: string) => (b: Record<string, unknown>) => b.chat_id === chat;
  api.fail('sendMessage', { error_code: 502, description: 'Bad Gateway' }, 1, toChat(second));
  api.fail('sendMessage', { error_code: 400, description: 'Bad Request: chat not found' }, 5, toChat(gone));
  srv.mode = 'error';
  await round(app, ['shop']);
  // The outbox backs off ≥ 2.5 s after a failure without retry_after.
  await api.waitFor(
    (c) => c.method === 'sendMessage' && c.status === 200 && c.body.chat_id === second,
    15_000,
    'the retry to the second chat',
  );
  await drained(app);

  const downs = (chat: string, all = false) =>
    api.callsOf('sendMessage', all).filter((c) => c.body.chat_id === chat && /DOWN shop/.test(api.textOf(c)));
  assert.equal(downs(ALERT_CHAT).length, 1, 'the alert chat got it once, not again on the retry');
  assert.equal(downs(second).length, 1);
  assert.equal(downs(gone, true).length, 1, 'a chat that does not exist is not retried');
  assert.equal(app.outbox.pending().length, 0);

  srv.mode = 'ok';
  await round(app, ['shop']);
  const rec = api.callsOf('sendMessage').filter((c) => /RECOVERED shop/.test(api.textOf(c)));
  assert.deepEqual(rec.map((c) => c.body.chat_id).sort(), [second, ALERT_CHAT].sort());
  for (const c of rec) {
    const root = downs(String(c.body.chat_id))[0]?.result as { message_id: number };
    assert.equal(
      (c.body.reply_parameters as { message_id: number }).message_id,
      root.message_id,
      'replies in its own chat',
    );
  }
});

test('50 targets down in one round produce one digest message', async (t) => {
  const ok = await target(t);
  // The probe self-check needs a reference that answers when every target fails at once.
  const file = await configFile({ settings: { probe: { references: [ok.url] } } });
  const { api, app } = await setup(t, { CONFIG_FILE: file });
  const srv = await target(t);
  const names = Array.from({ length: 50 }, (_, i) => `site-${String(i).padStart(2, '0')}`);
  for (const name of names)
    await app.monitor.add({ name, address: srv.url, failThreshold: 1, interval: 300 }, 'api');
  await round(app, names);
  srv.mode = 'error';
  await round(app, names);

  const digest = await api.waitForMessage(/DOWN 50 targets/);
  await new Promise((r) => setTimeout(r, 200));
  const alerts = api.callsOf('sendMessage').filter((c) => /DOWN|STILL DOWN/.test(api.textOf(c)));
  assert.equal(alerts.length, 1, 'one message, not 50');
  for (const name of names) assert.ok(digest.text.includes(name), `${name} listed`);
  assert.ok(digest.text.length <= MESSAGE_LIMIT);

  // A long command answer is split into messages that each fit.
  const list = api.command('/list', BOB);
  const first = await api.waitForReply(list.messageId);
  assert.match(first.text, /site-00/);
});

test('addresses and error texts with <b>, & and <script> render literally in alerts and replies', async (t) => {
  const { api, app } = await setup(t);
  const srv = await target(t);
  srv.custom = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><b>maintenance</b> & <script>alert(1)</script></html>');
    return true;
  };
  const address = `${srv.url}?q=<b>x</b>&a=1&s=<script>`;
  const keyword = '<b>ok</b> & <script>';
  const add = api.command(`/add weird ${address} keyword="${keyword}" failThreshold=1 interval=300`, ALICE);
  const added = await api.waitForReply(add.messageId);
  assert.match(added.text, /Added weird/);
  assert.ok(added.text.includes(address), added.text);

  await round(app, ['weird']);
  const down = await api.waitForMessage(/DOWN weird/);
  const cause = `"${keyword}" not found in the response`;
  assert.ok(down.text.includes(cause), down.text);
  assert.ok(down.text.includes(address), down.text);
  assert.ok(down.html?.includes('&lt;script&gt;'), 'escaped in the markup');
  assert.ok(
    !down.entities.some((e) => e.type === 'bold' && down.text.slice(e.offset, e.offset + e.length) === 'ok'),
  );

  const st = api.command('/status weird', BOB);
  const status = await api.waitForReply(st.messageId);
  assert.ok(status.text.includes(address), status.text);
  assert.ok(status.text.includes(cause), status.text);
});

test('webhook mode: setWebhook with the secret, 403 on a wrong secret, commands answered', async (t) => {
  const secret = 'webhook-secret-0123456789';
  const { api, app } = await setup(t, {
    TELEGRAM_WEBHOOK_URL: 'https://lookout.example.net',
    TELEGRAM_WEBHOOK_SECRET: secret,
  });
  const set = await api.waitFor((c) => c.method === 'setWebhook');
  assert.equal(set.body.url, 'https://lookout.example.net/telegram/webhook');
  assert.equal(set.body.secret_token, secret);
  assert.equal(api.callsOf('getUpdates', true).length, 0, 'no polling in webhook mode');

  const update = (text: string, id: number) => ({
    update_id: id,
    message: {
      message_id: 500 + id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: CHAT, type: 'supergroup' },
      from: BOB,
      text,
      entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]?.length ?? 0 }],
    },
  });
  const post = (body: unknown, headers: Record<string, string>) =>
    fetch(`${app.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  assert.equal((await post(update('/status', 1), {})).status, 403);
  assert.equal(
    (await post(update('/status', 2), { 'x-telegram-bot-api-secret-token': 'wrong' })).status,
    403,
  );
  assert.equal((await fetch(`${app.url}/telegram/webhook`)).status, 405);
  const good = { 'x-telegram-bot-api-secret-token': secret };
  assert.equal((await post({ update_id: 3, message: { text: '/status' } }, good)).status, 200);
  assert.equal((await post(update('/status', 4), good)).status, 200);
  const r = await api.waitForReply(504);
  assert.match(r.text, /No targets yet/);
  // Redelivery of the same update (Telegram retries) does not run the command twice.
  assert.equal((await post(update('/status', 4), good)).status, 200);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(api.callsOf('sendMessage').length, 1);
  assert.equal(api.callsOf('sendMessage')[0]?.body.chat_id, ALERT_CHAT);
});

test('the bot token never reaches the logs or the outbox, whatever fails', async (t) => {
  const api = await new FakeBotApi(TOKEN).start();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-tg-secret-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    HTTP_PORT: '0',
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: api.url,
    TELEGRAM_ALERT_CHAT_ID: ALERT_CHAT,
    TELEGRAM_ADMIN_IDS: String(ALICE.id),
  });
  api.fail('getMe', { error_code: 502, description: 'Bad Gateway' });
  api.fail('getUpdates', { error_code: 0, description: '', hangUp: true });
  // Secrets passed to the logger are scrubbed by it; none here, to test the adapter's own care.
  const app = await createApp({
    config,
    log: createLogger('debug', [], sink),
    alertOptions: { groupWaitMs: 60_000 },
  });
  await app.start();
  t.after(async () => {
    await app.stop();
    await api.close();
  });
  const srv = await target(t);
  await app.monitor.add({ name: 'db', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
  await round(app, ['db']);
  api.fail('sendMessage', { error_code: 0, description: '', hangUp: true });
  srv.mode = 'error';
  await round(app, ['db']);
  await api.waitFor((c) => c.method === 'sendMessage' && c.status === -1);
  await new Promise((r) => setTimeout(r, 200));

  const log = lines.join('');
  assert.match(log, /alert delivery failed; will retry/);
  assert.match(log, /polling failed; retrying/);
  assert.ok(!log.includes(TOKEN), 'no token in the logs');
  assert.ok(!log.includes('TEST-token'), 'not even part of it');
  const status = app.outbox.status().find((s) => s.channel === 'telegram');
  assert.ok(status?.lastError, 'the failure is recorded');
  assert.ok(!status.lastError.includes('TEST-token'));
  assert.ok(!JSON.stringify(app.store.data).includes('TEST-token'), 'nor in the data file');
});

// ---------------------------------------------------------------------------
// Rendering, without a bot

test('escapeHtml escapes exactly what Telegram needs', () => {
  assert.equal(escapeHtml('<b>a & b</b>'), '&lt;b&gt;a &amp; b&lt;/b&gt;');
  assert.equal(parseHtml(escapeHtml('x < y && <script>')).text, 'x < y && <script>');
});

test('a long reply is split into messages that fit, each <pre> block closed, the rest attached', () => {
  const rows = Array.from({ length: 300 }, (_, i) => [`target-${i}`, 'up 3h', '99.99%', '12 ms <&>']);
  const r = renderReply(
    {
      title: 'Targets',
      lines: [],
      fields: [],
      severity: 'info',
      table: { columns: ['name', 'state', 'uptime 24h', 'latency'], rows },
    },
    MESSAGE_LIMIT,
    100,
  );
  assert.ok(r.parts.length > 1);
  assert.equal(r.cut, false);
  let seen = 0;
  for (const part of r.parts) {
    assert.ok(part.length <= MESSAGE_LIMIT);
    const parsed = parseHtml(part); // throws on unbalanced tags
    assert.match(parsed.text, /^name\s+state/m, 'every block repeats the header');
    seen += (parsed.text.match(/target-\d+/g) ?? []).length;
  }
  assert.equal(seen, 300, 'no row lost');
  const capped = renderReply(
    {
      lines: [],
      fields: [],
      severity: 'info',
      table: { columns: ['a'], rows: rows.map((x) => [x[0] as string]) },
    },
    500,
    2,
  );
  assert.equal(capped.parts.length, 2);
  assert.equal(capped.cut, true);
});

test('an alert with too many lines is shortened with a note and stays one message', () => {
  const msg: AlertMessage = {
    id: 'x',
    kind: 'digest',
    severity: 'critical',
    title: 'DOWN 500 targets — a, b, c',
    lines: Array.from(
      { length: 500 },
      (_, i) => `target-${i}: connection refused (nothing listening on that port?)`,
    ),
    fields: [],
    at: 0,
    threadRoot: true,
  };
  const html = renderAlert(msg);
  assert.ok(html.length <= ALERT_LIMIT);
  const text = parseHtml(html).text;
  assert.match(text, /… and \d+ more not shown/);
  assert.match(text, /target-0:/);
});

test('speedtest now: "running…" at once, then the same message shows the result', async (t) => {
  // A local speed-test server paced at 8 MB/s stands in for the configured one.
  const speed = await startSpeedServer({ downRate: 8e6, upRate: 8e6 });
  t.after(() => speed.close());
  const file = await configFile({ settings: { speedtest: { server: speed.url, protocol: 'librespeed' } } });
  const { api } = await setup(t, { CONFIG_FILE: file });
  const cmd = api.command('/speedtest now', ALICE);
  const placeholder = await api.waitForReply(cmd.messageId);
  assert.match(placeholder.text, /running a speed test/);
  const edit = await api.waitFor(
    (c) => c.method === 'editMessageText' && /Speed test: ↓/.test(String(c.body.text)),
    60_000,
    'the result edited into the placeholder',
  );
  assert.match(String(edit.body.text), /Mbps/);
});
