/**
 * Slack end to end: the whole Lookout app with the real Bolt against a fake Slack
 * Web API on loopback, with requests signed exactly as Slack signs them, real
 * HTTP targets going down and up, and a Socket Mode WebSocket server.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import type { OutboxEntry } from '../../src/alerts/outbox.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createSlackAdapter } from '../../src/channels/slack.js';
import { escapeMrkdwn, renderAlert, renderReply, replyPayload } from '../../src/channels/slack-render.js';
import type { ChatDeps } from '../../src/channels/chat.js';
import { DeliveryError } from '../../src/core/errors.js';
import type { AlertMessage } from '../../src/core/message.js';
import type { CommandContext } from '../../commands/types.js';
import { checkAll, makeApp } from '../helpers/app.js';
import { TargetServer } from '../helpers/target-server.js';
import {
  FakeSlack,
  blockActionsBody,
  postSigned,
  slackSignature,
  slashCommandBody,
  slashCommandPayload,
} from '../helpers/slack-api.js';
import type { SlackMessage } from '../helpers/slack-api.js';
import { closedPort, until } from '../helpers/wait.js';

const SECRET = 'test-signing-secret-5b1e0c';
const BOT_TOKEN = 'xoxb-test-1111-2222-lookoutbot';
const APP_TOKEN = 'xapp-1-A0LOOKOUT-3333-testapptoken';
const CHANNEL = 'C0ALERTS';
const ADMIN = 'UADMIN';
const OTHER = 'UOTHER';
const FORM = 'application/x-www-form-urlencoded';

/** Every text in a Block Kit tree, one per line: what a reader of the message sees. */
function textOf(blocks: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'text' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(blocks);
  return out.join('\n');
}

type Btn = { action_id: string; value: string; text: { text: string } };
function buttonsOf(blocks: unknown[]): Btn[] {
  return blocks
    .filter((b): b is { type: 'actions'; elements: Btn[] } => (b as { type?: string }).type === 'actions')
    .flatMap((b) => b.elements);
}

function headerOf(m: SlackMessage): string {
  const h = m.blocks.find((b) => (b as { type?: string }).type === 'header') as
    { text: { text: string } } | undefined;
  return h?.text.text ?? '';
}

interface Rig {
  slack: FakeSlack;
  app: App;
  events: string;
  command(
    text: string,
    user?: string,
    o?: { channel_id?: string },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** A fresh fake Slack, closed after the test once the apps handed to `owns` have stopped. */
async function fakeSlack(t: TestContext): Promise<{ slack: FakeSlack; owns: (a: App) => App }> {
  const slack = await new FakeSlack().start();
  slack.validTokens.add(BOT_TOKEN);
  const apps: App[] = [];
  t.after(async () => {
    for (const a of apps) await a.stop();
    await slack.close();
  });
  return { slack, owns: (a) => (apps.push(a), a) };
}

/** A Lookout app with Slack in HTTP mode against a fresh fake Slack; both stopped after the test. */
async function rig(t: TestContext, env: Record<string, string> = {}): Promise<Rig> {
  const { slack, owns } = await fakeSlack(t);
  const app = owns(
    await makeApp(
      {
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiUrl,
        SLACK_ALERT_CHANNEL: CHANNEL,
        SLACK_ADMIN_IDS: ADMIN,
        ...env,
      },
      { alertOptions: { groupWaitMs: 200 } },
    ),
  );
  const events = `${app.url}/slack/events`;
  return {
    slack,
    app,
    events,
    async command(text, user = OTHER, o = {}) {
      const res = await postSigned(
        events,
        SECRET,
        slashCommandBody({ text, user_id: user, response_url: slack.responseUrl(), ...o }),
        FORM,
      );
      const raw = await res.text();
      return { status: res.status, body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {} };
    },
  };
}

/** A real HTTP target watched by the app; it goes DOWN after one failure. */
async function watched(t: TestContext, app: App, name: string): Promise<TargetServer> {
  const srv = await new TargetServer().start();
  t.after(() => srv.stop());
  await app.monitor.add({ name, address: srv.url, failThreshold: 1, interval: 300 }, 'api');
  await checkAll(app, [name]);
  return srv;
}

/** Breaks the target and waits for its DOWN to be in the alert channel. */
async function goDown(r: Rig, srv: TargetServer, name: string): Promise<SlackMessage> {
  srv.mode = 'error';
  await checkAll(r.app, [name]);
  await r.app.alerts.flush();
  await until('the DOWN alert in the channel', () => r.slack.inChannel(CHANNEL).length === 1);
  return r.slack.inChannel(CHANNEL)[0] as SlackMessage;
}

async function press(r: Rig, root: SlackMessage, label: string, user: string): Promise<Response> {
  const current = r.slack.messages.find((m) => m.ts === root.ts) ?? root;
  const button = buttonsOf(current.blocks).find((b) => b.text.text === label);
  assert.ok(button, `the message offers "${label}"`);
  return postSigned(
    r.events,
    SECRET,
    blockActionsBody({
      user_id: user,
      channel: current.channel,
      message: current,
      action_id: button.action_id,
      value: button.value,
      response_url: r.slack.responseUrl(),
    }),
    FORM,
  );
}

describe('Slack HTTP mode (signed requests on /slack/events)', () => {
  test('forged, unsigned, tampered and 6-minute-old requests are refused with 401; a good one is answered', async (t) => {
    const r = await rig(t);
    const body = slashCommandBody({ text: 'help', user_id: OTHER, response_url: r.slack.responseUrl() });

    const unsigned = await fetch(r.events, { method: 'POST', headers: { 'content-type': FORM }, body });
    assert.equal(unsigned.status, 401, 'unsigned');

    const forged = await postSigned(r.events, 'not-the-secret', body, FORM);
    assert.equal(forged.status, 401, 'signed with another secret');

    const now = Math.floor(Date.now() / 1000);
    const tampered = await postSigned(r.events, SECRET, body.replace('help', 'add'), FORM, {
      signature: slackSignature(SECRET, now, body),
      timestamp: now,
    });
    assert.equal(tampered.status, 401, 'body changed after signing');

    const stale = await postSigned(r.events, SECRET, body, FORM, { timestamp: now - 6 * 60 });
    assert.equal(stale.status, 401, 'correctly signed but 6 minutes old');
    assert.equal(r.slack.responses.length, 0, 'no refused request ran a command');

    const good = await postSigned(r.events, SECRET, body, FORM);
    assert.equal(good.status, 200);
    assert.match(textOf(await good.json()), /\/lookout add &lt;name&gt; &lt;address&gt;/);
  });

  test('url_verification is answered with its challenge', async (t) => {
    const r = await rig(t);
    const body = JSON.stringify({ token: 'x', challenge: 'ch4ll3nge-value', type: 'url_verification' });
    const res = await postSigned(r.events, SECRET, body, 'application/json');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { challenge: 'ch4ll3nge-value' });
    const forged = await postSigned(r.events, 'wrong', body, 'application/json');
    assert.equal(forged.status, 401);
  });

  test('/lookout status web is answered in the ack; /lookout alone and /lookout help list the commands', async (t) => {
    const r = await rig(t);
    await watched(t, r.app, 'web');

    const status = await r.command('status web');
    assert.equal(status.status, 200);
    assert.equal(status.body.response_type, 'in_channel');
    const shown = textOf(status.body.blocks);
    assert.match(shown, /\*web is up\*/);
    assert.match(shown, /uptime 24h/);
    assert.equal(r.slack.responses.length, 0, 'a fast command needs no response_url');

    for (const text of ['', 'help']) {
      const help = await r.command(text);
      const listed = textOf(help.body.blocks);
      for (const c of ['add', 'status', 'history', 'pause', 'ack', 'check'])
        assert.match(listed, new RegExp(`/lookout ${c}\\b`), `"/lookout ${text}" lists ${c}`);
    }

    const typo = await r.command('stauts web');
    assert.equal(typo.body.response_type, 'ephemeral');
    assert.match(textOf(typo.body.blocks), /did you mean "status"/);
  });

  test('an admin can add a target; anyone else is refused and nothing changes', async (t) => {
    const r = await rig(t);
    const srv = await new TargetServer().start();
    t.after(() => srv.stop());

    const added = await r.command(`add api ${srv.url} interval=300`, ADMIN);
    assert.equal(added.status, 200);
    assert.match(textOf(added.body.blocks), /Added api/);
    assert.equal(r.app.monitor.find('api')?.address, srv.url);

    const refused = await r.command(`add other ${srv.url}`, OTHER);
    assert.equal(refused.body.response_type, 'ephemeral');
    const why = textOf(refused.body.blocks);
    assert.match(why, /only admins can run add/);
    assert.match(why, /SLACK_ADMIN_IDS/);
    assert.match(why, /UOTHER/, 'says which id to add');
    assert.equal(r.app.monitor.find('other'), undefined);

    const removal = await r.command('remove api confirm', OTHER);
    assert.match(textOf(removal.body.blocks), /only admins/);
    assert.ok(r.app.monitor.find('api'), 'still there');
  });

  test('slow commands are acked at once and answered through response_url; history arrives as a file', async (t) => {
    const r = await rig(t);
    const srv = await watched(t, r.app, 'web');

    const check = await r.command(`check ${srv.url}`);
    assert.equal(check.status, 200);
    assert.match(String(check.body.text), /working on it/);
    await until('the check result on response_url', () => r.slack.responses.length === 1);
    assert.match(textOf(r.slack.responses[0]?.body.blocks), /200/);

    const history = await r.command('history web 24h csv');
    assert.match(String(history.body.text), /working on it/);
    await until('the history reply', () => r.slack.responses.length === 2);
    const upload = r.slack.callsOf('files.completeUploadExternal')[0];
    assert.ok(upload, 'the file was uploaded');
    assert.equal(upload.args.channel_id, 'C0ALERTS', 'into the channel the command was typed in');
    const content = [...r.slack.uploads.values()][0] ?? '';
    assert.match(content, /time,type,ok,ms/);
    assert.match(JSON.stringify(upload.args.files), /web-history-24h-/);
    assert.match(textOf(r.slack.responses[1]?.body.blocks), /web history, last 24h/);

    // Without files:write the content comes inline, with a note saying why.
    r.slack.inject('files.getUploadURLExternal', {
      body: { ok: false, error: 'missing_scope', needed: 'files:write' },
    });
    await r.command('history web 24h csv');
    await until('the history reply without upload', () => r.slack.responses.length === 3);
    const inline = textOf(r.slack.responses[2]?.body.blocks);
    assert.match(inline, /could not be attached \(the app lacks the files:write scope\)/);
    assert.match(inline, /```time,type,ok,ms,[^`]*\n2\d{3}-[^`]*sample,true[^`\r]*```/);
  });

  test('a real target going down and up: Block Kit DOWN in the channel, RECOVERED in its thread, root marked resolved', async (t) => {
    const r = await rig(t);
    const srv = await watched(t, r.app, 'portal');

    const root = await goDown(r, srv, 'portal');
    assert.match(headerOf(root), /^🔴 DOWN portal — /);
    assert.match(root.text, /DOWN portal/);
    const body = textOf(root.blocks);
    assert.match(body, /\*Target\*\nportal/);
    assert.ok(body.includes(`*Address*\n${srv.url}`));
    assert.match(body, /\*Since\*/);
    assert.match(body, /\*Cause\*\n.*500/);
    assert.deepEqual(
      buttonsOf(root.blocks).map((b) => [b.text.text, b.value]),
      [
        ['Acknowledge', 'ack portal'],
        ['Pause 1h', 'pause portal 1h'],
      ],
    );

    srv.mode = 'ok';
    await checkAll(r.app, ['portal']);
    await r.app.alerts.flush();
    await until(
      'RECOVERED in the thread and the root edited',
      () => r.slack.thread(CHANNEL, root.ts).length === 1 && root.history.length === 1,
    );

    const recovered = r.slack.thread(CHANNEL, root.ts)[0] as SlackMessage;
    assert.match(headerOf(recovered), /^✅ RECOVERED portal — down for /);
    assert.equal(r.slack.inChannel(CHANNEL).length, 1, 'nothing else at the top level');
    assert.match(headerOf(root), /^✅ portal — resolved after /);
    assert.deepEqual(buttonsOf(root.blocks), [], 'the buttons are gone from the resolved root');
    const update = r.slack.callsOf('chat.update')[0];
    assert.equal(update?.args.channel, CHANNEL);
    assert.equal(update?.args.ts, root.ts);
  });

  test('pressing Acknowledge acknowledges and shows who did; a non-admin Pause 1h is refused and changes nothing', async (t) => {
    const r = await rig(t);
    const srv = await watched(t, r.app, 'portal');
    const root = await goDown(r, srv, 'portal');

    const acked = await press(r, root, 'Acknowledge', OTHER);
    assert.equal(acked.status, 200);
    await until('the alert edited', () => r.slack.callsOf('chat.update').length === 1);
    assert.match(textOf(root.blocks), /Acknowledged portal by <@UOTHER>/);
    assert.deepEqual(
      buttonsOf(root.blocks).map((b) => b.text.text),
      ['Pause 1h'],
      'the pressed button is gone',
    );
    assert.match(r.app.monitor.openIncident('portal')?.ackedBy ?? '', /uother/);

    await press(r, root, 'Pause 1h', OTHER);
    await until('the refusal', () => r.slack.responses.length === 1);
    const refusal = r.slack.responses[0]?.body ?? {};
    assert.equal(refusal.response_type, 'ephemeral');
    assert.equal(refusal.replace_original, false);
    assert.match(textOf(refusal.blocks), /only admins can run pause/);
    assert.notEqual(r.app.monitor.get('portal').paused, true);
    assert.equal(r.slack.callsOf('chat.update').length, 1, 'the alert is unchanged');

    await press(r, root, 'Pause 1h', ADMIN);
    await until('the alert edited again', () => r.slack.callsOf('chat.update').length === 2);
    assert.equal(r.app.monitor.get('portal').paused, true);
    assert.match(textOf(root.blocks), /Paused portal for 1h by <@UADMIN>/);
    assert.deepEqual(
      buttonsOf(root.blocks).map((b) => b.text.text),
      ['Resume'],
    );
  });

  test('a 429 with Retry-After: 2 is honoured: retried after ≥ 2 s and delivered once', async (t) => {
    const r = await rig(t);
    const srv = await watched(t, r.app, 'portal');
    r.slack.inject('chat.postMessage', {
      status: 429,
      headers: { 'retry-after': '2' },
      body: { ok: false, error: 'ratelimited' },
    });

    await goDown(r, srv, 'portal');
    const posts = r.slack.callsOf('chat.postMessage');
    assert.equal(posts.length, 2, 'one refused attempt, one delivery');
    const [first, second] = posts as [(typeof posts)[0], (typeof posts)[0]];
    assert.equal(first.status, 429);
    assert.ok(second.at - first.at >= 2000, `retried after ${second.at - first.at} ms`);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.slack.inChannel(CHANNEL).length, 1, 'delivered once');
    const entry = (r.app.store.data.outbox as OutboxEntry[]).find((e) => e.channel === 'slack');
    assert.equal(entry?.status, 'sent');
    assert.equal(entry?.attempts, 2);
    assert.match(entry?.lastError ?? '', /rate limited by Slack, retry after 2s/);
  });
});

describe('Slack Socket Mode', () => {
  test('a slash_commands envelope from apps.connections.open’s WebSocket is acked with the reply payload', async (t) => {
    const { slack, owns } = await fakeSlack(t);
    slack.appToken = APP_TOKEN;
    const app = owns(
      await makeApp({
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_APP_TOKEN: APP_TOKEN,
        SLACK_API_URL: slack.apiUrl,
        SLACK_ALERT_CHANNEL: CHANNEL,
        SLACK_ADMIN_IDS: ADMIN,
      }),
    );
    await watched(t, app, 'web');

    const open = slack.callsOf('apps.connections.open');
    assert.equal(open.length, 1);
    assert.equal(open[0]?.authorization, `Bearer ${APP_TOKEN}`);

    const ack = await slack.envelope(
      'slash_commands',
      slashCommandPayload({ text: 'status web', user_id: OTHER, response_url: slack.responseUrl() }),
    );
    assert.equal(ack.payload?.response_type, 'in_channel');
    assert.match(textOf(ack.payload?.blocks), /\*web is up\*/);

    const refused = await slack.envelope(
      'slash_commands',
      slashCommandPayload({ text: 'remove web confirm', user_id: OTHER, response_url: slack.responseUrl() }),
    );
    assert.equal(refused.payload?.response_type, 'ephemeral');
    assert.match(textOf(refused.payload?.blocks), /only admins/);

    const res = await fetch(`${app.url}/slack/events`, { method: 'POST', body: '' });
    assert.equal(res.status, 404, 'no HTTP endpoint in Socket Mode');
  });
});

describe('Slack start-up', () => {
  test('a rejected bot token does not stop Lookout: health says why and /slack/events answers 503', async (t) => {
    const { slack, owns } = await fakeSlack(t);
    const app = owns(
      await makeApp({
        SLACK_BOT_TOKEN: 'xoxb-revoked-0000',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiUrl,
        SLACK_ALERT_CHANNEL: CHANNEL,
      }),
    );
    const body = slashCommandBody({ text: 'help', user_id: OTHER, response_url: slack.responseUrl() });
    const res = await postSigned(`${app.url}/slack/events`, SECRET, body, FORM);
    assert.equal(res.status, 503);
    assert.equal((await postSigned(`${app.url}/slack/events`, 'forged', body, FORM)).status, 401);

    const adapter = await createSlackAdapter(
      { botToken: 'xoxb-revoked-0000', signingSecret: SECRET, adminIds: [], apiUrl: slack.apiUrl },
      depsWith(),
    );
    await adapter.start();
    t.after(() => adapter.stop());
    assert.equal(adapter.health().ok, false);
    assert.match(
      adapter.health().detail,
      /Slack refused the bot token \(invalid_auth\): SLACK_BOT_TOKEN must be/,
    );
    assert.ok(!adapter.health().detail.includes('xoxb-revoked-0000'), 'the token itself is not shown');
  });

  test('an unreachable Slack at start-up is retried in the background', async (t) => {
    const port = await closedPort();
    const adapter = await createSlackAdapter(
      { botToken: BOT_TOKEN, signingSecret: SECRET, adminIds: [], apiUrl: `http://127.0.0.1:${port}/api/` },
      depsWith(),
    );
    t.after(() => adapter.stop());
    await adapter.start();
    assert.equal(adapter.health().ok, false);
    assert.match(adapter.health().detail, /cannot reach Slack.*retrying in 5s/);
  });

  test('Socket Mode with a rejected app token reports it instead of crashing', async (t) => {
    const { slack } = await fakeSlack(t);
    slack.appToken = 'xapp-the-real-one';
    const adapter = await createSlackAdapter(
      { botToken: BOT_TOKEN, appToken: APP_TOKEN, adminIds: [], apiUrl: slack.apiUrl },
      depsWith(),
    );
    t.after(() => adapter.stop());
    await adapter.start();
    assert.equal(adapter.health().ok, false);
    assert.match(adapter.health().detail, /Socket Mode refused: invalid_auth — check SLACK_APP_TOKEN/);
  });
});

// ---------------------------------------------------------------------------
// The alert channel on its own

function downMsg(over: Partial<AlertMessage> = {}): AlertMessage {
  return {
    id: `inc-${Math.random().toString(36).slice(2)}:down`,
    kind: 'down',
    severity: 'critical',
    title: 'DOWN portal — HTTP 500',
    lines: [],
    fields: [{ label: 'Target', value: 'portal' }],
    at: Date.UTC(2025, 2, 14, 9, 30),
    target: 'portal',
    address: 'https://portal.example.net/',
    incidentId: 'inc-1',
    threadRoot: true,
    ...over,
  };
}

function depsWith(log = createLogger('silent')): ChatDeps {
  const commands = { now: Date.now } as unknown as Omit<CommandContext, 'actor'>;
  return { commands, log, meta: {}, saveMeta: () => Promise.resolve() };
}

describe('Slack alert channel', () => {
  async function channelRig(t: TestContext, alertChannel = CHANNEL) {
    const slack = await new FakeSlack().start();
    slack.validTokens.add(BOT_TOKEN);
    t.after(() => slack.close());
    const adapter = await createSlackAdapter(
      {
        botToken: BOT_TOKEN,
        signingSecret: SECRET,
        adminIds: [],
        apiUrl: slack.apiUrl,
        ...(alertChannel ? { alertChannel } : {}),
      },
      depsWith(),
    );
    return { slack, channel: adapter.channel };
  }

  async function failure(p: Promise<unknown>): Promise<DeliveryError> {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof DeliveryError, `a DeliveryError, got ${String(e)}`);
      return e;
    }
    assert.fail('send should have failed');
  }

  test('429 → retryable with retryAfterMs; token and channel errors → permanent; 5xx and network → retryable', async (t) => {
    const { slack, channel } = await channelRig(t);

    slack.inject('chat.postMessage', {
      status: 429,
      headers: { 'retry-after': '2' },
      body: { ok: false, error: 'ratelimited' },
    });
    const limited = await failure(channel.send(downMsg(), {}));
    assert.equal(limited.permanent, false);
    assert.equal(limited.retryAfterMs, 2000);

    for (const code of [
      'invalid_auth',
      'not_authed',
      'account_inactive',
      'channel_not_found',
      'not_in_channel',
      'is_archived',
    ]) {
      slack.inject('chat.postMessage', { body: { ok: false, error: code } });
      const e = await failure(channel.send(downMsg(), {}));
      assert.equal(e.permanent, true, code);
      assert.match(e.message, new RegExp(code));
    }
    slack.inject('chat.postMessage', { body: { ok: false, error: 'not_in_channel' } });
    assert.match((await failure(channel.send(downMsg(), {}))).message, /\/invite @Lookout/);

    slack.inject('chat.postMessage', { status: 503, body: { ok: false } });
    const unavailable = await failure(channel.send(downMsg(), {}));
    assert.equal(unavailable.permanent, false);
    assert.match(unavailable.message, /HTTP 503/);

    assert.equal(slack.inChannel(CHANNEL).length, 0, 'nothing was posted by the failures');
  });

  test('an unreachable Slack is a retryable failure', async (t) => {
    const port = await closedPort();
    const adapter = await createSlackAdapter(
      {
        botToken: BOT_TOKEN,
        signingSecret: SECRET,
        adminIds: [],
        apiUrl: `http://127.0.0.1:${port}/api/`,
        alertChannel: CHANNEL,
      },
      depsWith(),
    );
    t.after(() => adapter.stop());
    const e = await failure(adapter.channel.send(downMsg(), {}));
    assert.equal(e.permanent, false);
    assert.match(e.message, /cannot reach Slack/);
  });

  test('alerts go to SLACK_ALERT_CHANNEL and slack: notify channels; a retry after a partial failure posts nothing twice', async (t) => {
    const { slack, channel } = await channelRig(t);
    const msg = downMsg({ route: { channels: ['slack:C0OPS', 'telegram:42', 'slack:C0ALERTS'] } });

    slack.inject('chat.postMessage', { status: 500, body: { ok: false } });
    slack.inject('chat.postMessage', { status: 500, body: { ok: false } });
    // First attempt: the alert channel fails; then the channel is fine and C0OPS fails.
    await failure(channel.send(msg, {}));
    await failure(channel.send(msg, {}));
    const refs = await channel.send(msg, {});
    assert.deepEqual(
      refs.map((x) => x.to),
      ['C0ALERTS', 'C0OPS'],
    );
    assert.equal(slack.inChannel('C0ALERTS').length, 1, 'posted once to the alert channel');
    assert.equal(slack.inChannel('C0OPS').length, 1, 'posted once to the notify channel');
  });

  test('a channel with nowhere to post accepts nothing; a channel named #ops is threaded and edited by id', async (t) => {
    const none = await channelRig(t, '');
    assert.equal(none.channel.accepts?.(downMsg()), false);
    assert.deepEqual(await none.channel.send(downMsg(), {}), []);

    const { slack, channel } = await channelRig(t, '#ops');
    const [root] = await channel.send(downMsg(), {});
    assert.deepEqual(root && { to: root.to }, { to: 'C_OPS' });
    await channel.send(
      downMsg({
        id: 'inc-1:recovered',
        kind: 'recovered',
        threadRoot: false,
        resolvedNote: 'resolved after 3m',
        title: 'RECOVERED portal — down for 3m',
      }),
      { root: [root as NonNullable<typeof root>] },
    );
    assert.equal(slack.thread('C_OPS', root?.id ?? '').length, 1);
    assert.equal(slack.callsOf('chat.update')[0]?.args.channel, 'C_OPS');
  });

  test('a recovery under a digest does not mark the whole digest resolved', async (t) => {
    const { slack, channel } = await channelRig(t);
    const [root] = await channel.send(
      downMsg({ id: 'digest:1', kind: 'digest', title: 'DOWN 6 targets — a, b, c', incidentId: undefined }),
      {},
    );
    assert.ok(root);
    await channel.send(
      downMsg({
        id: 'inc-a:recovered',
        incidentId: 'inc-a',
        kind: 'recovered',
        threadRoot: false,
        resolvedNote: 'resolved after 1m',
        title: 'RECOVERED a',
      }),
      { root: [root] },
    );
    assert.equal(slack.thread(CHANNEL, root.id).length, 1, 'the recovery is in the digest thread');
    assert.equal(slack.callsOf('chat.update').length, 0, 'the digest is left as it is');
  });
});

describe('Slack rendering', () => {
  test('user-controlled text is escaped for mrkdwn and tables become code blocks', () => {
    assert.equal(escapeMrkdwn('<!channel> & <@U1|x>'), '&lt;!channel&gt; &amp; &lt;@U1|x&gt;');
    const r = renderReply({
      title: 'web <!here>',
      lines: ['a & b'],
      fields: [{ label: 'address', value: '<https://evil.example|click>' }],
      severity: 'info',
      table: {
        columns: ['name', 'state'],
        rows: [
          ['<b>', 'up'],
          ['x ``` y', 'down'],
        ],
      },
    });
    const shown = textOf(r.blocks);
    assert.ok(!/<!here>|<https:/.test(shown), 'no live mention or link');
    assert.match(shown, /\*web &lt;!here&gt;\*/);
    assert.match(shown, /```name +state\n-+ +-+\n&lt;b&gt; +up\nx `\u200b`` y +down```/);
    assert.ok(!shown.includes('x ``` y'), 'a ``` in the text cannot close the code block');
    assert.doesNotMatch(r.text, /<!here>/);

    const err = replyPayload({ lines: ['no target "x"'], fields: [], severity: 'error', ephemeral: true });
    assert.equal(err.response_type, 'ephemeral');
    assert.match(textOf(err.blocks), /^❌ no target "x"/);
  });

  test('an alert fits Slack limits however long its parts are', () => {
    const long = 'x'.repeat(5000);
    const { blocks } = renderAlert(
      downMsg({
        title: long,
        lines: Array.from({ length: 200 }, () => long),
        fields: Array.from({ length: 25 }, () => ({ label: 'L', value: long })),
      }),
    );
    assert.ok(blocks.length <= 50);
    for (const b of blocks) {
      const x = b as { type: string; text?: { text: string }; fields?: Array<{ text: string }> };
      if (x.type === 'header') assert.ok((x.text?.text.length ?? 0) <= 150);
      if (x.text) assert.ok(x.text.text.length <= 3000);
      for (const f of x.fields ?? []) assert.ok(f.text.length <= 2000);
      assert.ok((x.fields?.length ?? 0) <= 10);
    }
  });
});

describe('Slack secrets', () => {
  test('the bot token, signing secret and app token never reach the logs, even at trace level', async (t) => {
    const slack = await new FakeSlack().start();
    slack.validTokens.add(BOT_TOKEN);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const dir = await mkdtemp(join(tmpdir(), 'lookout-slack-'));
    const config = loadConfig({
      DATA_DIR: dir,
      HTTP_PORT: '0',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_ALERT_CHANNEL: CHANNEL,
    });
    // Plain pino without the value scrubbing of src/log.ts: the adapter must not hand secrets to the logger at all.
    const app = await createApp({
      config,
      log: pino({ level: 'trace' }, sink),
      alertOptions: { groupWaitMs: 100 },
    });
    t.after(async () => {
      await app.stop();
      await slack.close();
    });
    await app.start();
    const events = `${app.url}/slack/events`;
    const body = slashCommandBody({ text: 'status', user_id: OTHER, response_url: slack.responseUrl() });
    assert.equal((await postSigned(events, 'forged', body, FORM)).status, 401);
    assert.equal((await postSigned(events, SECRET, body, FORM)).status, 200);
    slack.inject('chat.postMessage', { body: { ok: false, error: 'invalid_auth' } });
    const srv = await new TargetServer().start();
    t.after(() => srv.stop());
    await app.monitor.add({ name: 'portal', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
    srv.mode = 'error';
    await checkAll(app, ['portal']);
    await app.alerts.flush();
    await until('the refused delivery in the log', () => lines.some((l) => l.includes('invalid_auth')));

    const all = lines.join('');
    assert.ok(all.length > 0);
    for (const secret of [BOT_TOKEN, SECRET, APP_TOKEN])
      assert.ok(!all.includes(secret), 'a secret was logged');
  });
});
