/**
 * Discord end to end: the whole app with the real discord.js client against a fake
 * Discord (REST + gateway) on loopback, real HTTP targets going down and up, and the
 * alert channel on its own for delivery errors.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { commandList } from '../../commands/index.js';
import { commandLine, createDiscordAdapter } from '../../src/channels/discord.js';
import type { ChatDeps } from '../../src/channels/chat.js';
import type { DiscordConfig } from '../../src/config.js';
import { DeliveryError } from '../../src/core/errors.js';
import type { AlertMessage } from '../../src/core/message.js';
import { KINDS } from '../../src/core/types.js';
import type { App } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { checkAll, makeApp } from '../helpers/app.js';
import { FakeDiscord } from '../helpers/discord-api.js';
import type { CallbackBody, MessageBody, StoredMessage } from '../helpers/discord-api.js';
import { TargetServer } from '../helpers/target-server.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.discord-bot-token-for-tests';
const APP_ID = '123456789012345678';
const CHANNEL = '800000000000000002';
const ALICE = { id: '400000000000000001', username: 'alice' }; // admin
const BOB = { id: '400000000000000002', username: 'bob' };
const STRING = 3;
const EPHEMERAL = 64;
const RED = 0xd93025;
const GREEN = 0x1e8e3e;

async function startApp(t: TestContext, env: Record<string, string> = {}, dataDir?: string) {
  const discord = await FakeDiscord.start({ token: TOKEN, applicationId: APP_ID, channelId: CHANNEL });
  const running: { app?: App; stopping?: Promise<void> } = {};
  // The client leaves before the server does, and a failed assertion still stops both.
  const stop = () =>
    (running.stopping ??= (async () => {
      await running.app?.stop();
      await discord.close();
    })());
  t.after(stop);
  const app = await makeApp(
    {
      DISCORD_TOKEN: TOKEN,
      DISCORD_APPLICATION_ID: APP_ID,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_ALERT_CHANNEL_ID: CHANNEL,
      DISCORD_ADMIN_IDS: ALICE.id,
      ...env,
    },
    { alertOptions: { groupWaitMs: 200 } },
    dataDir,
  );
  running.app = app;
  await discord.ready();
  return { app, discord, stop };
}

async function target(t: TestContext): Promise<TargetServer> {
  const srv = await new TargetServer().start();
  t.after(() => srv.stop());
  return srv;
}

function data(cb: { body: unknown }): NonNullable<CallbackBody['data']> {
  const body = cb.body as CallbackBody;
  assert.ok(body.data, `callback without data: ${JSON.stringify(body)}`);
  return body.data;
}

function buttons(m: MessageBody): Array<{ label?: string; custom_id?: string }> {
  return (m.components ?? []).flatMap((r) => r.components);
}

function titled(discord: FakeDiscord, prefix: string): StoredMessage | undefined {
  return discord.messages(CHANNEL).find((m) => m.embeds[0]?.title?.startsWith(prefix));
}

describe('Discord slash commands', () => {
  it('registers one command per Lookout command with typed options, choices and target autocomplete', async (t) => {
    const { discord } = await startApp(t);
    const put = await discord.waitFor(() => discord.commandPuts()[0], 'the command registration');
    assert.equal(put.path, `/applications/${APP_ID}/commands`);
    assert.equal(discord.find('PUT', /\/commands$/)[0]?.authorization, `Bot ${TOKEN}`);

    const byName = new Map(put.body.map((c) => [c.name, c]));
    assert.deepEqual([...byName.keys()].sort(), commandList.map((c) => c.name).sort());
    const option = (command: string, name: string) => {
      const o = byName.get(command)?.options?.find((x) => x.name === name);
      assert.ok(o, `/${command} has no option ${name}`);
      return o;
    };
    assert.deepEqual(option('status', 'name'), {
      type: STRING,
      name: 'name',
      description: 'target to show; all when left out',
      required: false,
      autocomplete: true,
    });
    assert.equal(option('history', 'name').required, true);
    assert.equal(option('history', 'name').autocomplete, true);
    assert.deepEqual(
      option('uptime', 'period').choices?.map((c) => c.value),
      ['24h', '7d', '30d', '90d'],
    );
    assert.deepEqual(
      option('history', 'format').choices?.map((c) => c.value),
      ['csv', 'json'],
    );
    assert.deepEqual(
      option('add', 'kind').choices?.map((c) => c.value),
      [...KINDS],
    );
    assert.equal(option('add', 'settings').type, STRING);
    assert.equal(option('edit', 'settings').type, STRING);
    assert.equal(option('pause', 'duration').type, STRING);
    assert.equal(
      byName.get('list')?.options?.some((o) => o.name === 'settings'),
      false,
    );
    for (const c of put.body) {
      assert.ok(c.description.length > 0 && c.description.length <= 100, `/${c.name} description`);
      const required = (c.options ?? []).map((o) => o.required === true);
      assert.deepEqual(
        required,
        [...required].sort((a, b) => Number(b) - Number(a)),
        `/${c.name} option order`,
      );
      assert.deepEqual(c.contexts, [0], `/${c.name} is for servers only`);
    }
  });

  it('registers again only when the definitions or their scope changed', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-discord-'));
    const first = await startApp(t, {}, dir);
    await first.discord.waitFor(() => first.discord.commandPuts()[0], 'the first registration');
    await first.stop();

    const second = await startApp(t, {}, dir);
    // The hash is compared synchronously in start(): had it differed, the PUT would be on its way.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(second.discord.commandPuts().length, 0);
    await second.stop();

    const third = await startApp(t, { DISCORD_GUILD_ID: '800000000000000001' }, dir);
    const put = await third.discord.waitFor(() => third.discord.commandPuts()[0], 'the guild registration');
    assert.equal(put.path, `/applications/${APP_ID}/guilds/800000000000000001/commands`);
    assert.equal(put.body[0]?.contexts, undefined);
  });

  it('answers /status through the interaction callback with an embed', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    await app.monitor.add({ name: 'portal', address: srv.url, interval: 300 }, 'api');
    await checkAll(app, ['portal']);

    const cb = await discord.callback(discord.slashCommand('status', [], BOB));
    assert.equal((cb.body as CallbackBody).type, 4);
    const d = data(cb);
    assert.equal(d.embeds?.[0]?.title, '1 target: 1 up, 0 down');
    assert.equal(d.embeds?.[0]?.color, GREEN);
    assert.notEqual((d.flags ?? 0) & EPHEMERAL, EPHEMERAL);
    assert.deepEqual(d.allowed_mentions, { parse: [] });

    const one = data(
      await discord.callback(
        discord.slashCommand('status', [{ name: 'name', type: STRING, value: 'portal' }], BOB),
      ),
    );
    assert.equal(one.embeds?.[0]?.title, 'portal is up');
    assert.ok(one.embeds?.[0]?.fields?.some((f) => f.name === 'address' && f.value === srv.url));
  });

  it('autocompletes target names: prefix matches first, then substring matches', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    for (const name of ['portal', 'api-gw', 'eu-portal'])
      await app.monitor.add({ name, address: srv.url, interval: 300 }, 'api');

    const cb = await discord.callback(
      discord.autocomplete('uptime', [{ name: 'name', type: STRING, value: 'por', focused: true }], BOB),
    );
    assert.equal((cb.body as CallbackBody).type, 8);
    assert.deepEqual(data(cb).choices, [
      { name: 'portal', value: 'portal' },
      { name: 'eu-portal', value: 'eu-portal' },
    ]);
    const none = await discord.callback(
      discord.autocomplete('history', [{ name: 'name', type: STRING, value: 'zzz', focused: true }], BOB),
    );
    assert.deepEqual(data(none).choices, []);
  });

  it('lets an admin add a target with settings and refuses a non-admin without changing anything', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    const added = await discord.callback(
      discord.slashCommand(
        'add',
        [
          { name: 'name', type: STRING, value: 'web' },
          { name: 'address', type: STRING, value: srv.url },
          { name: 'settings', type: STRING, value: 'interval=30 keyword="all systems"' },
        ],
        ALICE,
      ),
    );
    assert.equal(data(added).embeds?.[0]?.title, 'Added web');
    const web = app.monitor.find('web');
    assert.equal(web?.interval, 30);
    assert.equal(web?.keyword, 'all systems');

    const refused = data(
      await discord.callback(
        discord.slashCommand(
          'add',
          [
            { name: 'name', type: STRING, value: 'intruder' },
            { name: 'address', type: STRING, value: srv.url },
          ],
          BOB,
        ),
      ),
    );
    assert.equal(refused.flags, EPHEMERAL);
    assert.match(refused.embeds?.[0]?.description ?? '', /only admins can run add/);
    assert.match(refused.embeds?.[0]?.description ?? '', new RegExp(BOB.id));
    assert.equal(refused.embeds?.[0]?.color, RED);
    assert.equal(app.monitor.find('intruder'), undefined);
  });

  it('defers /history and attaches the export as a real file', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    await app.monitor.add({ name: 'portal', address: srv.url, interval: 300 }, 'api');
    await checkAll(app, ['portal']);

    const i = discord.slashCommand(
      'history',
      [
        { name: 'name', type: STRING, value: 'portal' },
        { name: 'format', type: STRING, value: 'csv' },
      ],
      BOB,
    );
    assert.equal(((await discord.callback(i)).body as CallbackBody).type, 5);
    const edit = await discord.waitFor(
      () => discord.find('PATCH', new RegExp(`^/webhooks/${APP_ID}/${i.token}/messages/@original$`))[0],
      'the deferred reply',
    );
    assert.equal((edit.body as MessageBody).embeds?.[0]?.title, 'portal history, last 24h');
    const file = edit.files[0];
    assert.ok(file, 'no file attached');
    assert.match(file.name, /^portal-history-24h-.*\.csv$/);
    assert.ok(file.text.length > 0);

    // A deferred answer is public; an error replaces it with one only the asker sees.
    const typo = discord.slashCommand('history', [{ name: 'name', type: STRING, value: 'portl' }], BOB);
    assert.equal(((await discord.callback(typo)).body as CallbackBody).type, 5);
    const followUp = await discord.waitFor(
      () => discord.find('POST', new RegExp(`^/webhooks/${APP_ID}/${typo.token}$`))[0],
      'the error follow-up',
    );
    const body = followUp.body as MessageBody;
    assert.equal(body.flags, EPHEMERAL);
    assert.match(body.embeds?.[0]?.description ?? '', /did you mean "portal"/);
    assert.equal(
      discord.find('DELETE', new RegExp(`^/webhooks/${APP_ID}/${typo.token}/messages/@original$`)).length,
      1,
    );
  });

  it('survives gateway events discord.js cannot read and keeps answering', async (t) => {
    const { discord } = await startApp(t);
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    t.after(() => process.off('unhandledRejection', onRejection));

    const base = {
      application_id: APP_ID,
      type: 2,
      version: 1,
      user: { id: BOB.id, username: BOB.username, discriminator: '0', avatar: null, global_name: null },
    };
    // Without entitlements and authorizing_integration_owners discord.js 14.28 throws; the adapter fills them.
    const id = discord.snowflake();
    discord.dispatch('INTERACTION_CREATE', {
      ...base,
      id,
      token: `tok-${id}`,
      data: { id: '1', name: 'status', type: 1 },
    });
    const bare = await discord.callback({ id, token: `tok-${id}` });
    assert.equal((bare.body as CallbackBody).type, 4);
    // No `data` at all: nothing to answer, and nothing may crash.
    discord.dispatch('INTERACTION_CREATE', { ...base, id: discord.snowflake(), token: 'broken' });
    discord.dispatch('INTERACTION_CREATE', null);

    const after = await discord.callback(discord.slashCommand('help', [], BOB));
    assert.equal((after.body as CallbackBody).type, 4);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rejections, []);
  });
});

describe('Discord command lines from typed options', () => {
  const cases: Array<[string, Record<string, string | number>, string]> = [
    ['status', {}, 'status'],
    ['status', { name: 'portal' }, 'status portal'],
    ['uptime', { period: '7d' }, 'uptime 7d'],
    ['history', { name: 'portal', format: 'json' }, 'history portal json'],
    [
      'add',
      { name: 'web', address: 'https://example.com', settings: 'interval=30 keyword="all good"' },
      'add web https://example.com interval=30 keyword="all good"',
    ],
    ['list', { tag: 'two words' }, 'list "two words"'],
    ['check', { address: 'example.com', kind: 'tls' }, 'check example.com tls'],
    ['pause', { name: 'portal', duration: '2h' }, 'pause portal 2h'],
  ];
  for (const [name, options, line] of cases) {
    it(`/${name} ${JSON.stringify(options)} runs "${line}"`, () => {
      const c = commandList.find((x) => x.name === name);
      assert.ok(c);
      assert.equal(commandLine(c, new Map(Object.entries(options))), line);
    });
  }
});

describe('Discord alerts', () => {
  it('posts a DOWN embed with buttons, the RECOVERED as a reply, and marks the DOWN resolved', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    await app.monitor.add({ name: 'portal', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
    await checkAll(app, ['portal']);

    srv.mode = 'error';
    await checkAll(app, ['portal']);
    const down = await discord.waitFor(() => titled(discord, 'DOWN portal'), 'the DOWN alert');
    const embed = down.embeds[0];
    assert.equal(embed?.color, RED);
    assert.ok(embed?.fields?.some((f) => f.name === 'Target' && f.value === 'portal'));
    assert.ok(embed?.fields?.some((f) => f.name === 'Address' && f.value === srv.url));
    assert.deepEqual(buttons(down), [
      { type: 2, style: 1, label: 'Acknowledge', custom_id: 'lookout:ack:ack portal' },
      { type: 2, style: 2, label: 'Pause 1h', custom_id: 'lookout:pause:pause portal 1h' },
    ]);
    assert.equal(down.message_reference, undefined);
    assert.deepEqual(down.allowed_mentions, { parse: [] });

    srv.mode = 'ok';
    await checkAll(app, ['portal']);
    const recovered = await discord.waitFor(() => titled(discord, 'RECOVERED portal'), 'the RECOVERED alert');
    assert.equal(recovered.message_reference?.message_id, down.id);
    assert.equal(recovered.embeds[0]?.color, GREEN);
    assert.deepEqual(buttons(recovered), []);

    await discord.waitFor(
      () => discord.find('PATCH', new RegExp(`^/channels/${CHANNEL}/messages/${down.id}$`))[0],
      'the edit of the DOWN alert',
    );
    const edited = discord.messages(CHANNEL).find((m) => m.id === down.id);
    assert.match(edited?.embeds[0]?.description ?? '', /^✅ \*\*Resolved after \d+s\*\*/);
    assert.equal(edited?.embeds[0]?.color, GREEN);
    assert.match(edited?.embeds[0]?.title ?? '', /^DOWN portal/);
    assert.deepEqual(edited?.components, []);
    assert.equal(discord.messages(CHANNEL).length, 2);
  });

  it('acknowledges from the button and shows who did it; a non-admin cannot pause', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    await app.monitor.add({ name: 'portal', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
    await checkAll(app, ['portal']);
    srv.mode = 'error';
    await checkAll(app, ['portal']);
    const posted = await discord.waitFor(() => titled(discord, 'DOWN portal'), 'the DOWN alert');
    // As Discord hands it back in the interaction, whatever edits follow.
    const down = structuredClone(posted);

    const ack = await discord.callback(discord.pressButton(down, 'lookout:ack:ack portal', BOB));
    assert.equal((ack.body as CallbackBody).type, 7);
    const acked = data(ack);
    assert.match(acked.embeds?.[0]?.description ?? '', new RegExp(`✅ Acknowledged portal by <@${BOB.id}>$`));
    assert.match(acked.embeds?.[0]?.title ?? '', /^DOWN portal/);
    assert.deepEqual(
      buttons(acked).map((b) => b.label),
      ['Pause 1h'],
    );
    assert.equal(app.monitor.openIncident('portal')?.ackedBy, BOB.username);

    const refused = await discord.callback(discord.pressButton(down, 'lookout:pause:pause portal 1h', BOB));
    assert.equal((refused.body as CallbackBody).type, 4);
    assert.equal(data(refused).flags, EPHEMERAL);
    assert.match(data(refused).embeds?.[0]?.description ?? '', /only admins can run pause/);
    assert.notEqual(app.monitor.get('portal').paused, true);

    // The resolved edit keeps who acknowledged it.
    srv.mode = 'ok';
    await checkAll(app, ['portal']);
    await discord.waitFor(
      () => discord.find('PATCH', new RegExp(`^/channels/${CHANNEL}/messages/${down.id}$`))[0],
      'the edit of the DOWN alert',
    );
    const resolved = posted.embeds[0]?.description ?? '';
    assert.match(resolved, /^✅ \*\*Resolved after/);
    assert.match(resolved, new RegExp(`Acknowledged portal by <@${BOB.id}>$`));

    const paused = data(
      await discord.callback(discord.pressButton(down, 'lookout:pause:pause portal 1h', ALICE)),
    );
    assert.match(
      paused.embeds?.[0]?.description ?? '',
      new RegExp(`Paused portal for 1h by <@${ALICE.id}>$`),
    );
    assert.deepEqual(
      buttons(paused).map((b) => b.custom_id),
      ['lookout:ack:ack portal', 'lookout:resume:resume portal'],
    );
    assert.equal(app.monitor.get('portal').paused, true);
  });

  it('retries a 429 on the channel route after Retry-After and delivers the alert once', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    await app.monitor.add({ name: 'portal', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
    await checkAll(app, ['portal']);

    discord.rateLimit('POST', new RegExp(`^/channels/${CHANNEL}/messages$`), 2);
    srv.mode = 'error';
    await checkAll(app, ['portal']);
    await discord.waitFor(
      () => titled(discord, 'DOWN portal'),
      'the DOWN alert after the rate limit',
      30_000,
    );

    const attempts = discord.find('POST', new RegExp(`^/channels/${CHANNEL}/messages$`));
    assert.deepEqual(
      attempts.map((a) => a.status),
      [429, 200],
    );
    const [first, second] = attempts as [(typeof attempts)[0], (typeof attempts)[0]];
    assert.ok(second.at - first.at >= 2000, `retried after ${second.at - first.at} ms`);
    assert.equal(discord.messages(CHANNEL).length, 1);
  });

  it('resumes after the gateway connection drops, answers what arrived meanwhile, and alerts still arrive', async (t) => {
    const { app, discord } = await startApp(t);
    const srv = await target(t);
    await app.monitor.add({ name: 'portal', address: srv.url, failThreshold: 1, interval: 300 }, 'api');
    await checkAll(app, ['portal']);
    const session = (discord.frames.find((f) => f.t === 'READY')?.d as { session_id: string }).session_id;

    discord.dropGateway();
    // Sent while the bot is away: Discord replays it on RESUME.
    const during = discord.slashCommand('status', [], BOB);
    await discord.waitFor(() => discord.resumes.length > 0 && discord.connected, 'the bot to resume');
    assert.equal(discord.resumes[0]?.session_id, session);
    assert.equal(discord.identifies, 1, 'resumed, not identified again');
    assert.equal(((await discord.callback(during)).body as CallbackBody).type, 4);

    srv.mode = 'error';
    await checkAll(app, ['portal']);
    await discord.waitFor(() => titled(discord, 'DOWN portal'), 'the DOWN alert after the resume');
    const later = await discord.callback(discord.slashCommand('status', [], BOB));
    assert.match(data(later).embeds?.[0]?.title ?? '', /1 down/);
    // A heartbeat left unanswered would make the client call the connection a zombie and resume again.
    await discord.waitFor(() => discord.heartbeats >= 2, 'two heartbeats');
    assert.equal(discord.resumes.length, 1);
    assert.equal(discord.identifies, 1);
  });
});

// ---------------------------------------------------------------------------
// The alert channel on its own: destinations and what each failure means for the outbox

function alert(over: Partial<AlertMessage> = {}): AlertMessage {
  return {
    id: 'inc-1:down',
    kind: 'down',
    severity: 'critical',
    title: 'DOWN portal — HTTP 500',
    lines: [
      '**not bold** _nor italic_ see https://portal.example.net/a_b_c',
      '[log in](https://evil.example)',
    ],
    fields: [{ label: 'Target', value: 'portal' }],
    at: Date.UTC(2025, 2, 14, 9, 30),
    target: 'portal',
    incidentId: 'inc-1',
    threadRoot: true,
    buttons: [
      { id: 'ack', label: 'Acknowledge', action: 'ack portal' },
      { id: 'pause', label: 'Pause 1h', action: 'pause portal 1h' },
    ],
    ...over,
  };
}

function recoveredAlert(over: Partial<AlertMessage> = {}): AlertMessage {
  return alert({
    id: 'inc-1:recovered',
    kind: 'recovered',
    severity: 'ok',
    title: 'RECOVERED portal — down for 14m',
    lines: [],
    threadRoot: false,
    buttons: undefined,
    resolvedNote: 'resolved after 14m',
    ...over,
  });
}

async function channelOnly(t: TestContext, over: Partial<DiscordConfig> = {}) {
  const discord = await FakeDiscord.start({ token: TOKEN, applicationId: APP_ID, channelId: CHANNEL });
  t.after(() => discord.close());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const deps: ChatDeps = {
    commands: {} as ChatDeps['commands'],
    log: createLogger('debug', [], sink),
    meta: {},
    saveMeta: () => Promise.resolve(),
  };
  const config: DiscordConfig = {
    token: TOKEN,
    applicationId: APP_ID,
    alertChannelId: CHANNEL,
    adminIds: [ALICE.id],
    apiUrl: discord.apiUrl,
    ...over,
  };
  const adapter = await createDiscordAdapter(config, deps, { requestTimeoutMs: 2000, retryDelayMs: 50 });
  t.after(async () => {
    await adapter.stop();
    await adapter.channel.close?.();
  });
  return { discord, adapter, channel: adapter.channel, logs };
}

async function rejection(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `expected a DeliveryError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected the send to fail');
}

describe('Discord alert channel', () => {
  it('sends to the alert channel and every discord: route, and nowhere when there is neither', async (t) => {
    const { discord, channel } = await channelOnly(t);
    const routed = alert({ route: { channels: ['discord:800000000000000009', 'slack:C1', 'discord:nope'] } });
    const refs = await channel.send(routed, {});
    assert.deepEqual(
      refs.map((r) => r.to),
      [CHANNEL, '800000000000000009'],
    );
    assert.equal(discord.messages('800000000000000009').length, 1);
    const text = discord.messages(CHANNEL)[0]?.embeds[0]?.description ?? '';
    // Server-supplied text stays text: no markdown, no masked links; URLs stay clickable.
    assert.equal(
      text,
      '\\*\\*not bold\\*\\* \\_nor italic\\_ see https://portal.example.net/a_b_c\n\\[log in\\](https://evil.example)',
    );

    const bare = await channelOnly(t, { alertChannelId: undefined });
    assert.equal(bare.channel.accepts?.(alert()), false);
    assert.deepEqual(await bare.channel.send(alert(), {}), []);
    assert.equal(bare.discord.requests.length, 0);
  });

  it('maps Discord failures to permanent or retryable delivery errors', async (t) => {
    const { discord, channel, logs } = await channelOnly(t);
    const messages = new RegExp(`^/channels/${CHANNEL}/messages$`);
    const cases: Array<[number, unknown, boolean, RegExp]> = [
      [404, { message: 'Unknown Channel', code: 10003 }, true, /channel 800000000000000002 does not exist/],
      [403, { message: 'Missing Permissions', code: 50013 }, true, /Send Messages/],
      [401, { message: '401: Unauthorized', code: 0 }, true, /DISCORD_TOKEN is not valid/],
      [400, { message: 'Invalid Form Body', code: 50035 }, true, /400/],
      [502, { message: 'Bad Gateway', code: 0 }, false, /502/],
    ];
    for (const [status, body, permanent, text] of cases) {
      discord.fail({ method: 'POST', path: messages, status, body });
      const e = await rejection(channel.send(alert(), {}));
      assert.equal(e.permanent, permanent, `${status} permanent`);
      assert.match(e.message, text);
      assert.ok(!e.message.includes(TOKEN));
    }
    discord.rateLimit('POST', messages, 3);
    const limited = await rejection(channel.send(alert(), {}));
    assert.equal(limited.permanent, false);
    assert.ok((limited.retryAfterMs ?? 0) >= 3000, `retryAfterMs ${limited.retryAfterMs}`);

    await discord.close();
    const down = await rejection(channel.send(alert(), {}));
    assert.equal(down.permanent, false);
    assert.match(down.message, /Discord is unreachable/);
    assert.ok(!logs.join('').includes(TOKEN), 'the token never reaches the logs');
  });

  it('after a partial failure, a retry posts only where the alert is still missing', async (t) => {
    const { discord, channel } = await channelOnly(t);
    const other = '800000000000000009';
    const routed = alert({ route: { channels: [`discord:${other}`] } });
    discord.fail({ method: 'POST', path: new RegExp(`^/channels/${other}/messages$`), status: 500 });
    const e = await rejection(channel.send(routed, {}));
    assert.equal(e.permanent, false);
    const refs = await channel.send(routed, {});
    assert.deepEqual(
      refs.map((r) => r.to),
      [CHANNEL, other],
    );
    assert.equal(discord.messages(CHANNEL).length, 1);
    assert.equal(discord.messages(other).length, 1);

    // A destination that is gone for good does not hold back the others.
    discord.unknownChannels.add(other);
    const next = await channel.send({ ...routed, id: 'inc-2:down' }, {});
    assert.deepEqual(
      next.map((r) => r.to),
      [CHANNEL],
    );
  });

  it('marks a root resolved after a restart by reading it, and only adds a line to a digest', async (t) => {
    const { discord, channel } = await channelOnly(t);
    const [root] = await channel.send(alert(), {});
    assert.ok(root);
    // A fresh adapter has no cached embeds, as after a restart.
    const fresh = await channelOnly(t, { apiUrl: discord.apiUrl });
    await fresh.channel.send(recoveredAlert(), { root: [root] });
    assert.equal(discord.find('GET', new RegExp(`/messages/${root.id}$`)).length, 1);
    const edited = discord.messages(CHANNEL).find((m) => m.id === root.id);
    assert.match(edited?.embeds[0]?.description ?? '', /^✅ \*\*Resolved after 14m\*\*\n\n\\\*\\\*not bold/);
    assert.deepEqual(edited?.components, []);

    const digest = alert({
      id: 'digest:1',
      kind: 'digest',
      title: 'DOWN 2 targets — api, portal',
      lines: ['api: HTTP 500', 'portal: HTTP 500'],
      fields: [],
      buttons: undefined,
    });
    const [droot] = await channel.send(digest, {});
    assert.ok(droot);
    await channel.send(recoveredAlert({ id: 'inc-3:recovered', target: 'api' }), { root: [droot] });
    await channel.send(recoveredAlert({ id: 'inc-4:recovered', target: 'portal' }), { root: [droot] });
    const d = discord.messages(CHANNEL).find((m) => m.id === droot.id);
    assert.equal(d?.embeds[0]?.color, RED);
    assert.match(
      d?.embeds[0]?.description ?? '',
      /✅ api: resolved after 14m\n✅ portal: resolved after 14m$/,
    );
  });

  it('stops trying when Discord rejects the token, and says so in health()', async (t) => {
    const { discord, adapter, logs } = await channelOnly(t, { token: 'not.the.right-token' });
    await adapter.start();
    await discord.waitFor(() => /DISCORD_TOKEN was rejected/.test(adapter.health().detail), 'the rejection');
    assert.equal(adapter.health().ok, false);
    // Neither the gateway nor the registration keeps knocking with a token Discord refused.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(discord.find('GET', /^\/gateway\/bot$/).length, 1);
    assert.equal(discord.find('PUT', /\/commands$/).length, 1);
    assert.ok(!logs.join('').includes('not.the.right-token'));
  });

  it('stops cleanly while the gateway handshake is still under way', async (t) => {
    const { discord, adapter } = await channelOnly(t);
    discord.holdReady = true;
    await adapter.start();
    await discord.waitFor(
      () => discord.frames.some((f) => f.direction === 'in' && f.op === 2),
      'the IDENTIFY',
    );
    const stopping = adapter.stop();
    setTimeout(() => discord.releaseReady(), 100);
    const started = Date.now();
    await stopping;
    assert.ok(Date.now() - started < 3000, `stop() took ${Date.now() - started} ms`);
    // A client destroyed mid-handshake would come back on its own half a second later.
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(discord.connections, 1);
  });

  it('starts without waiting for an unreachable Discord and reports it in health()', async (t) => {
    const { discord, adapter, logs } = await channelOnly(t);
    await discord.close();
    const started = Date.now();
    await adapter.start();
    assert.ok(Date.now() - started < 1000, 'start() returned at once');
    assert.equal(adapter.health().ok, false);
    await new Promise((r) => setTimeout(r, 300));
    assert.match(adapter.health().detail, /cannot reach Discord|connecting/);
    await adapter.stop();
    assert.equal(adapter.health().detail, 'stopped');
    assert.ok(logs.some((l) => l.includes('connecting to Discord failed')));
    assert.ok(!logs.join('').includes(TOKEN));
  });
});
