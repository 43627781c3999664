/**
 * Bad input end to end: the same 1,000 seeded fuzz lines (test/helpers/fuzz-lines.ts)
 * through every path a person can type into, each against the whole app with the
 * real SDK and a loopback fake of the platform: Telegram (telegraf ↔ fake Bot API),
 * Slack (signed slash commands into Bolt on /slack/events), Discord (slash-command
 * interactions with fuzzed option values, discord.js ↔ fake gateway and REST) and
 * `POST /api/commands`. Every line is answered in its own conversation, nothing ends
 * in "internal error", a 500 or an error log line, the store changes only on a valid
 * mutation by someone allowed to make it, and the app still answers at the end.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import type { Dispatcher } from 'undici';
import { findCommand } from '../../commands/index.js';
import { createApp } from '../../src/app.js';
import { commandLine } from '../../src/channels/discord.js';
import type { App } from '../../src/app.js';
import type { Check } from '../../src/checks/types.js';
import { loadConfig } from '../../src/config.js';
import type { Reply } from '../../src/core/reply.js';
import { KINDS } from '../../src/core/types.js';
import type { Kind } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { FakeDiscord } from '../helpers/discord-api.js';
import type { CallbackBody, CommandBody, MessageBody, RecordedRequest } from '../helpers/discord-api.js';
import { clip, commandOf, fuzzLines, mayMutate } from '../helpers/fuzz-lines.js';
import { prng } from '../helpers/prng.js';
import { closedPort, poll } from '../helpers/wait.js';
import { FakeSlack, postSigned, slashCommandBody } from '../helpers/slack-api.js';
import { ALICE, BOB, FakeBotApi } from '../helpers/telegram-api.js';
import type { ApiCall } from '../helpers/telegram-api.js';

const SEED = 0x10c0_07;
const RUNS = 1000;
/** The same lines on every path, so a line that breaks one platform can be tried on the others. */
const LINES = fuzzLines(RUNS, SEED);
/** Bound on the wait for one answer; a healthy answer takes milliseconds. */
const WAIT_MS = 15_000;
/** 4,000 answers are waited for one by one: poll often. */
const EVERY_MS = 2;
const API_TOKEN = 'chat-fuzz-api-token-0123456789';
const INTERNAL = /internal error/i;

// ---------------------------------------------------------------------------
// The app under test

interface Rig {
  app: App;
  /** Error-level log lines: an exception a channel caught and logged is a failure too. */
  errors: string[];
}

/**
 * Every check kind answers "up" at once: fuzzed `add`s and `check`s must not reach the
 * network or wait for timeouts, and with no target ever failing no incident opens
 * behind a line's back, so a change in the store is always the line's doing.
 */
function instantChecks(): Record<Kind, Check> {
  const checks = {} as Record<Kind, Check>;
  for (const kind of KINDS)
    checks[kind] = {
      kind,
      run: () => Promise.resolve({ ok: true, ms: 1, at: Date.now(), detail: {} }),
    };
  return checks;
}

async function startApp(t: TestContext, env: Record<string, string>): Promise<Rig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-chat-fuzz-'));
  // `speedtest now` is answered with its failure at once instead of measuring for 20 s.
  const configFile = join(dataDir, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({ settings: { speedtest: { server: `http://127.0.0.1:${await closedPort()}` } } }),
  );
  const errors: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      errors.push(chunk.toString());
      cb();
    },
  });
  const config = loadConfig({
    DATA_DIR: dataDir,
    HTTP_PORT: '0',
    API_TOKEN,
    CONFIG_FILE: configFile,
    ...env,
  });
  const app = await createApp({ config, log: createLogger('error', [], sink), checks: instantChecks() });
  await app.start();
  t.after(async () => {
    await app.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  // The targets test/commands/fuzz.test.ts starts from, so plausible lines hit real names.
  await app.monitor.add({ name: 'web', address: 'https://example.com', tags: ['prod'] }, 'api');
  await app.monitor.add({ name: 'router', address: '10.0.0.1' }, 'api');
  await app.monitor.add({ name: 'db', address: 'db.example.net:5432', dependsOn: 'router' }, 'api');
  return { app, errors };
}

type Snapshot = { targets: unknown[]; incidents: unknown[] };

/** What commands change: targets and incidents (live states are left out: checks rewrite them). */
function capture(app: App): Snapshot {
  return JSON.parse(
    JSON.stringify({ targets: app.store.data.targets, incidents: app.store.data.incidents }),
  ) as Snapshot;
}

/**
 * Whether the store differs. A pause whose time is up is read as no pause on both
 * sides: the app's own once-a-second tick ends it, whichever line is running then.
 */
function differs(before: Snapshot, after: Snapshot): boolean {
  const horizon = Date.now() + 2000;
  const norm = (s: Snapshot) =>
    JSON.stringify({
      ...s,
      targets: s.targets.map((raw) => {
        const { paused, pausedUntil, ...rest } = raw as { paused?: boolean; pausedUntil?: number };
        return pausedUntil !== undefined && pausedUntil <= horizon ? rest : { ...rest, paused, pausedUntil };
      }),
    });
  return norm(before) !== norm(after);
}

/** What a person saw in answer to one line. */
interface Answer {
  text: string;
  /** The reply was an error: refused, or bad input. */
  error: boolean;
}

interface Tally {
  sent: number;
  answered: number;
  errors: number;
  mutations: number;
  /** Lines by people who are not admins (none of which may change anything but an ack). */
  others: number;
}

/** One line as sent: the command line the app received, who sent it, and the answer (none when rightly ignored). */
interface Sent {
  text: string;
  admin: boolean;
  answer?: Answer;
}

/**
 * Sends every line through `send`, which resolves once the line is fully answered,
 * and checks each answer and the store around it.
 */
async function run(rig: Rig, path: string, send: (line: string, i: number) => Promise<Sent>): Promise<Tally> {
  const tally: Tally = { sent: 0, answered: 0, errors: 0, mutations: 0, others: 0 };
  for (const [i, line] of LINES.entries()) {
    const before = capture(rig.app);
    const logged = rig.errors.length;
    const { text, admin, answer } = await send(line, i);
    tally.sent++;
    if (!admin) tally.others++;
    const what = `${path} #${i} ${JSON.stringify(clip(text, 200))} by ${admin ? 'an admin' : 'a non-admin'}`;
    assert.deepEqual(rig.errors.slice(logged), [], `${what} logged an error`);
    const changed = differs(before, capture(rig.app));
    if (changed) tally.mutations++;
    if (answer) {
      tally.answered++;
      if (answer.error) tally.errors++;
      assert.doesNotMatch(answer.text, INTERNAL, `${what} ended in an internal error`);
      if (changed)
        assert.ok(
          mayMutate(text, admin, answer.error ? 'error' : 'ok'),
          `${what} changed the store (answer: ${clip(answer.text, 300)})`,
        );
    } else assert.equal(changed, false, `${what} was ignored yet changed the store`);
    if (commandOf(text)?.name === 'remove' && !/\bconfirm\b/i.test(text))
      assert.equal(changed, false, `${what}: remove without confirm changed the store`);
  }
  return tally;
}

async function healthy(app: App): Promise<void> {
  const res = await fetch(`${app.url}/healthz`);
  const body = (await res.json()) as { status?: string };
  assert.equal(res.status, 200, `healthz after the fuzz run: ${JSON.stringify(body)}`);
  assert.equal(body.status, 'ok');
}

function report(t: TestContext, path: string, n: Tally, extra = ''): void {
  t.diagnostic(
    `${path}: ${n.sent} lines sent, ${n.answered} answered, ${n.errors} error replies, ` +
      `${n.mutations} mutations, ${n.others} from non-admins, 0 internal errors${extra}`,
  );
}

// ---------------------------------------------------------------------------
// Telegram

const TG_TOKEN = '123456:TEST-token-for-chat-fuzz';
const TG_CHAT = '-1001';

/** The reply, or the apology a failed handler sends, to message `messageId`, looked for from `from` on. */
function telegramAnswer(api: FakeBotApi, from: number, messageId: number): ApiCall | undefined {
  for (let k = from; k < api.calls.length; k++) {
    const c = api.calls[k] as ApiCall;
    if (c.method !== 'sendMessage' || c.status === 0) continue;
    const to = (c.body.reply_parameters as { message_id?: number } | undefined)?.message_id;
    if (to === messageId || INTERNAL.test(String(c.body.text))) return c;
  }
  return undefined;
}

test(`Telegram: ${RUNS} fuzzed /commands through telegraf are each answered in their chat`, async (t) => {
  const api = await new FakeBotApi(TG_TOKEN).start();
  const rig = await startApp(t, {
    TELEGRAM_BOT_TOKEN: TG_TOKEN,
    TELEGRAM_API_ROOT: api.url,
    TELEGRAM_ALERT_CHAT_ID: TG_CHAT,
    TELEGRAM_ADMIN_IDS: String(ALICE.id),
  });
  // After hooks run in the order they were added: the app stops before its fake platform goes.
  t.after(() => api.close());
  const botName = (api.bot.username ?? '').toLowerCase();
  const rand = prng(SEED ^ 0x7e1e);
  const ignored: number[] = [];

  const tally = await run(rig, 'telegram', async (line, i) => {
    const admin = rand() < 0.5;
    // A message holds at most 4,096 UTF-16 units; a client cannot send more.
    const message = clip(`/${line}`, 4096);
    const text = message.slice(1);
    const from = api.calls.length;
    const { messageId } = api.command(message, admin ? ALICE : BOB);
    // `/word@otherbot` is for another bot in the group: silence is the right answer.
    const word = /^\S*/.exec(text)?.[0] ?? '';
    const at = word.indexOf('@');
    if (at >= 0 && word.slice(at + 1).toLowerCase() !== botName) {
      ignored.push(messageId);
      return { text, admin };
    }
    const c = await poll(
      `the Telegram reply to #${i}`,
      () => telegramAnswer(api, from, messageId),
      WAIT_MS,
      EVERY_MS,
    );
    const shown = api.textOf(c);
    assert.equal(c.status, 200, `#${i}: the Bot API refused the reply: ${JSON.stringify(c.body)}`);
    assert.equal(String(c.body.chat_id), TG_CHAT, `#${i}: answered in the chat it was asked in`);
    // Errors have no title, so their first line carries the sign; a warning's sign is on a bold title.
    const html = String(c.body.text);
    const error = html.startsWith('⚠️') && !html.startsWith('⚠️ <b>');
    return { text, admin, answer: { text: shown, error } };
  });

  const final = api.command('/status', BOB);
  const reply = await poll(
    'the final /status',
    () => telegramAnswer(api, 0, final.messageId),
    WAIT_MS,
    EVERY_MS,
  );
  assert.equal(reply.status, 200);
  assert.match(api.textOf(reply), new RegExp(`${rig.app.monitor.list().length} targets`));
  assert.doesNotMatch(String(reply.body.text), /^⚠️ [^<]/, 'the final /status is not an error');
  // Updates of one chat are handled in order, so by now every ignored one has been seen.
  const sent = api.callsOf('sendMessage', true);
  const repliedTo = new Set(
    sent.map((c) => (c.body.reply_parameters as { message_id?: number } | undefined)?.message_id),
  );
  assert.deepEqual(
    ignored.filter((id) => repliedTo.has(id)),
    [],
    'commands for another bot get no reply',
  );
  assert.deepEqual(
    sent.filter((c) => c.status !== 200 || INTERNAL.test(String(c.body.text))).map((c) => c.body.text),
    [],
    'no refused or apologising sendMessage',
  );
  await healthy(rig.app);
  assert.deepEqual(rig.errors, []);
  report(
    t,
    'telegram',
    tally,
    `; ${ignored.length} addressed to another bot and ignored; ${api.callsOf('sendDocument').length} files`,
  );
  assert.equal(tally.answered + ignored.length, RUNS);
  assert.ok(tally.mutations > 0 && tally.errors > 100, 'the lines reached both outcomes');
});

// ---------------------------------------------------------------------------
// Slack

const SLACK_SECRET = 'chat-fuzz-signing-secret-5b1e0c';
const SLACK_TOKEN = 'xoxb-chat-fuzz-1111-2222';
const SLACK_ADMIN = 'UADMIN';
const SLACK_OTHER = 'UOTHER';

interface SlackPayload {
  response_type?: string;
  text?: string;
  blocks?: unknown[];
}

/** The fallback text and every text in the blocks: what the person sees. */
function slackText(p: SlackPayload): string {
  return `${p.text ?? ''}\n${JSON.stringify(p.blocks ?? [])}`;
}

test(`Slack: ${RUNS} fuzzed /lookout texts, signed, are each answered in the ack or on response_url`, async (t) => {
  const slack = await new FakeSlack().start();
  slack.validTokens.add(SLACK_TOKEN);
  const rig = await startApp(t, {
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: 'C0ALERTS',
    SLACK_ADMIN_IDS: SLACK_ADMIN,
  });
  t.after(() => slack.close());
  const events = `${rig.app.url}/slack/events`;
  const rand = prng(SEED ^ 0x51ac);
  let later = 0;

  const command = async (line: string, id: string, user: string) => {
    // Slack documents 40,000 characters for a message but no cap for a slash command's text;
    // 4,000 keeps it to what a composer plausibly holds and still past our 2,000-character limit.
    const body = slashCommandBody({
      text: clip(line, 4000),
      user_id: user,
      response_url: slack.responseUrl(id),
    });
    // What Bolt reads back (a lone surrogate does not survive form encoding).
    const text = new URLSearchParams(body).get('text') ?? '';
    const res = await postSigned(events, SLACK_SECRET, body, 'application/x-www-form-urlencoded');
    const raw = await res.text();
    assert.equal(res.status, 200, `${id}: HTTP ${res.status} ${raw}`);
    const acked = JSON.parse(raw) as SlackPayload;
    if (!/working on it/.test(acked.text ?? '')) return { text, payload: acked };
    // A slow command: acked at once, answered on its own response_url.
    later++;
    const path = `/response/${id}`;
    const posted = await poll(
      `the response_url post of ${id}`,
      () => slack.responses.find((r) => r.path === path),
      WAIT_MS,
      EVERY_MS,
    );
    return { text, payload: posted.body as SlackPayload };
  };
  const errorOf = (p: SlackPayload) => (p.text ?? '').startsWith('❌');

  const tally = await run(rig, 'slack', async (line, i) => {
    const admin = rand() < 0.5;
    const { text, payload } = await command(line, `fz${i}`, admin ? SLACK_ADMIN : SLACK_OTHER);
    return { text, admin, answer: { text: slackText(payload), error: errorOf(payload) } };
  });

  const final = await command('status', 'final', SLACK_OTHER);
  assert.equal(errorOf(final.payload), false, 'the final status is not an error');
  assert.match(slackText(final.payload), new RegExp(`${rig.app.monitor.list().length} targets`));
  await healthy(rig.app);
  assert.deepEqual(rig.errors, []);
  report(t, 'slack', tally, `; ${later} answered later on response_url`);
  assert.equal(tally.answered, RUNS);
  assert.ok(tally.mutations > 0 && tally.errors > 100, 'the lines reached both outcomes');
});

// ---------------------------------------------------------------------------
// Discord

const DC_TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.chat-fuzz-token';
const DC_APP = '123456789012345678';
const DC_CHANNEL = '800000000000000002';
const DC_ADMIN = { id: '400000000000000001', username: 'alice' };
const DC_OTHER = { id: '400000000000000002', username: 'bob' };
const STRING = 3;
const INTEGER = 4;
const EPHEMERAL = 64;
const RED = 0xd93025;

type DcOption = { name: string; type: number; value: string | number; focused?: boolean };
type DcCommand = CommandBody & {
  options?: Array<NonNullable<CommandBody['options']>[number] & { max_length?: number }>;
};

/**
 * A slash command built from a fuzz line: its first word picks the command (a real
 * one, or a name Discord still has registered but Lookout no longer knows), the
 * other words become option values. Discord checks option types, choices and
 * lengths before sending; the fake does not, so a few values break those rules
 * on purpose, as a modified client or a stale registration would.
 */
function slashFrom(
  line: string,
  defs: DcCommand[],
  rand: () => number,
): { name: string; options: DcOption[]; autocomplete: boolean } {
  const words = line.split(/\s+/).filter((w) => w !== '');
  const first = words.shift() ?? '';
  const next = () => words.shift() ?? '';
  const known = findCommand(first);
  let def = known ? defs.find((d) => d.name === known.name) : undefined;
  if (!def && rand() < 0.6) def = defs[Math.floor(rand() * defs.length)];
  if (!def) {
    // Command names are 1–32 lower-case letters, digits, `-` or `_`.
    const name = clip(first.toLowerCase().replace(/[^\p{Ll}\p{Lo}\p{N}_-]/gu, ''), 32) || 'lookout-old';
    return {
      name,
      options: [{ name: 'value', type: STRING, value: clip(words.join(' '), 6000) }],
      autocomplete: false,
    };
  }
  const options: DcOption[] = [];
  const complete = def.options?.find((o) => o.autocomplete);
  if (complete && rand() < 0.1) {
    // Autocomplete: what has been typed so far into a target option.
    options.push({ name: complete.name, type: STRING, value: clip(next(), 100), focused: true });
    return { name: def.name, options, autocomplete: true };
  }
  for (const o of def.options ?? []) {
    // Discord never leaves out a required option; one in twenty does here anyway.
    if (o.required ? rand() < 0.05 : rand() < 0.4) continue;
    let value: string | number;
    if (o.name === 'settings') value = clip(words.splice(0).join(' '), o.max_length ?? 2000);
    else if (o.choices?.length && rand() < 0.75)
      value = o.choices[Math.floor(rand() * o.choices.length)]?.value ?? '';
    else if (o.type === INTEGER) {
      const r = rand();
      const n = Number.parseInt(next(), 10);
      value =
        r < 0.7
          ? Number.isSafeInteger(n)
            ? n
            : Math.floor(rand() * 2000) - 1000
          : r < 0.85
            ? rand() * 100
            : next(); // the wrong type: a string where Discord promises an integer
    } else value = clip(next(), o.choices?.length ? 100 : (o.max_length ?? 6000));
    options.push({ name: o.name, type: o.type, value });
  }
  if (rand() < 0.05)
    options.push({ name: 'unknown-option', type: STRING, value: clip(words.join(' '), 6000) });
  return { name: def.name, options, autocomplete: false };
}

/** Every text of a message body's embeds. */
function embedText(m: MessageBody | undefined): string {
  return (m?.embeds ?? [])
    .map((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value])].join('\n'))
    .join('\n');
}

/**
 * The message that answers an interaction: the callback itself, or for a deferred one
 * the edit of the original or a follow-up (an error replaces the public "thinking…").
 */
function discordAnswer(
  discord: FakeDiscord,
  from: number,
  i: { id: string; token: string },
): { callback: CallbackBody; message?: MessageBody } | undefined {
  let callback: CallbackBody | undefined;
  for (let k = from; k < discord.requests.length; k++) {
    const r = discord.requests[k] as RecordedRequest;
    if (r.status === 0) continue;
    if (r.method === 'POST' && r.path === `/interactions/${i.id}/${i.token}/callback`) {
      callback = r.body as CallbackBody;
      if (callback.type !== 5) return { callback, ...(callback.data ? { message: callback.data } : {}) };
    }
    const edit = r.method === 'PATCH' && r.path === `/webhooks/${DC_APP}/${i.token}/messages/@original`;
    const followUp = r.method === 'POST' && r.path === `/webhooks/${DC_APP}/${i.token}`;
    if (callback && (edit || followUp)) return { callback, message: r.body as MessageBody };
  }
  return undefined;
}

/**
 * Installs a process-wide undici dispatcher. Production loads our undici 7 before
 * discord.js, and @discordjs/rest's default request path sent through it, which lost
 * every reply with a file; the regression test below installs undici 7's Agent to
 * keep that case covered.
 */
function useDispatcher(dispatcher: Dispatcher): () => Promise<void> {
  const before = getGlobalDispatcher();
  setGlobalDispatcher(dispatcher);
  return async () => {
    setGlobalDispatcher(before);
    await dispatcher.close();
  };
}

/** The app with Discord on (with `dispatcher` as the process-wide undici dispatcher, if given). */
async function startDiscord(
  t: TestContext,
  dispatcher?: Dispatcher,
): Promise<{ discord: FakeDiscord; rig: Rig; defs: DcCommand[] }> {
  const restore = dispatcher ? useDispatcher(dispatcher) : undefined;
  const discord = await FakeDiscord.start({ token: DC_TOKEN, applicationId: DC_APP, channelId: DC_CHANNEL });
  const rig = await startApp(t, {
    DISCORD_TOKEN: DC_TOKEN,
    DISCORD_APPLICATION_ID: DC_APP,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_ALERT_CHANNEL_ID: DC_CHANNEL,
    DISCORD_ADMIN_IDS: DC_ADMIN.id,
  });
  t.after(() => discord.close());
  if (restore) t.after(restore);
  await discord.ready();
  const defs = (await discord.waitFor(() => discord.commandPuts()[0], 'the command registration'))
    .body as DcCommand[];
  return { discord, rig, defs };
}

test(`Discord: ${RUNS} slash commands with fuzzed options through discord.js each get their answer`, async (t) => {
  const { discord, rig, defs } = await startDiscord(t);
  const rand = prng(SEED ^ 0xd15c);
  let deferred = 0;
  let completions = 0;

  const interact = async (name: string, options: DcOption[], admin: boolean, autocomplete: boolean) => {
    const from = discord.requests.length;
    const user = admin ? DC_ADMIN : DC_OTHER;
    const i = autocomplete
      ? discord.autocomplete(name, options, user)
      : discord.slashCommand(name, options, user);
    const got = await poll(
      `the answer to /${name}`,
      () => discordAnswer(discord, from, i),
      WAIT_MS,
      EVERY_MS,
    );
    if (got.callback.type === 5) deferred++;
    return got;
  };

  const tally = await run(rig, 'discord', async (line) => {
    const admin = rand() < 0.5;
    const { name, options, autocomplete } = slashFrom(line, defs, rand);
    const got = await interact(name, options, admin, autocomplete);
    const command = findCommand(name);
    // The line dispatch receives, rebuilt from the options as the adapter does; `?` marks no command.
    const text = command ? commandLine(command, new Map(options.map((o) => [o.name, o.value]))) : `?${name}`;
    if (autocomplete) {
      completions++;
      assert.equal(got.callback.type, 8, `autocomplete for /${name} is answered with choices`);
      const choices = got.callback.data?.choices ?? [];
      assert.ok(choices.length <= 25);
      return { text: `?${name}`, admin, answer: { text: JSON.stringify(choices), error: false } };
    }
    assert.ok(got.message?.embeds?.length, `/${name} is answered with an embed: ${JSON.stringify(got)}`);
    const error = got.message.embeds[0]?.color === RED && ((got.message.flags ?? 0) & EPHEMERAL) !== 0;
    return { text, admin, answer: { text: embedText(got.message), error } };
  });

  const final = await interact('status', [], false, false);
  assert.notEqual(final.message?.embeds?.[0]?.color, RED, 'the final /status is not an error');
  assert.match(embedText(final.message), new RegExp(`${rig.app.monitor.list().length} targets`));
  await healthy(rig.app);
  assert.deepEqual(rig.errors, []);
  const files = discord.requests.filter((r) => r.files.length > 0).length;
  report(
    t,
    'discord',
    tally,
    `; ${deferred} deferred then answered; ${completions} autocompletes; ${files} answers with files`,
  );
  assert.equal(tally.answered, RUNS);
  assert.ok(tally.mutations > 0 && tally.errors > 100, 'the lines reached both outcomes');
});

test('Discord: /history is answered with its file when undici 7 is the global dispatcher, as in production', async (t) => {
  const { discord, rig } = await startDiscord(t, new Agent());
  const from = discord.requests.length;
  const i = discord.slashCommand('history', [{ name: 'name', type: STRING, value: 'web' }], DC_OTHER);
  const got = await poll(
    'the /history answer or an error',
    () => discordAnswer(discord, from, i) ?? (rig.errors.length ? null : undefined),
    5000,
    EVERY_MS,
  );
  assert.deepEqual(rig.errors, []);
  assert.ok(got?.message?.embeds?.length, 'the export arrived');
});

// ---------------------------------------------------------------------------
// HTTP command API

/** One fuzzed request: the line as `text`, sometimes in a broken body or without the token. */
interface ApiRequest {
  auth: string | undefined;
  type: string;
  body: string;
  /** The status the contract (src/http/commands-api.ts) promises for it. */
  expect: number;
}

function apiRequest(line: string, rand: () => number): ApiRequest {
  const a = rand();
  const auth =
    a < 0.75 ? `Bearer ${API_TOKEN}` : a < 0.85 ? undefined : a < 0.95 ? 'Bearer wrong' : API_TOKEN;
  const b = rand();
  let body: string;
  let type = 'application/json';
  let expect = 200;
  if (b < 0.8) body = JSON.stringify({ text: line });
  else if (b < 0.87) body = JSON.stringify({ text: line, client: 'cli' });
  else if (b < 0.9) {
    body = JSON.stringify({ text: line, client: `${line.slice(0, 8)}?` });
    expect = 400;
  } else if (b < 0.93) {
    body = JSON.stringify(rand() < 0.5 ? { text: line.length } : [line]);
    expect = 400;
  } else if (b < 0.96) {
    body = `{"text": ${JSON.stringify(line).slice(0, -1)}`;
    expect = 400;
  } else {
    body = JSON.stringify({ text: line });
    type = rand() < 0.5 ? 'text/plain' : 'application/x-www-form-urlencoded';
    expect = 415;
  }
  if (expect === 200 && [...line].length > 2000) expect = 400;
  if (type === 'application/json' && Buffer.byteLength(body) > 16 * 1024) expect = 413;
  // The token is checked before the body is read.
  if (auth !== `Bearer ${API_TOKEN}`) expect = 401;
  return { auth, type, body, expect };
}

test(`HTTP: ${RUNS} fuzzed POST /api/commands each get a JSON answer with the right status, never a 500`, async (t) => {
  const rig = await startApp(t, {});
  const url = `${rig.app.url}/api/commands`;
  const rand = prng(SEED ^ 0x0a91);
  const statuses = new Map<number, number>();

  const post = async (r: Omit<ApiRequest, 'expect'>) => {
    const headers: Record<string, string> = { 'content-type': r.type };
    if (r.auth !== undefined) headers.authorization = r.auth;
    const res = await fetch(url, { method: 'POST', headers, body: r.body });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return { status: res.status, body: (await res.json()) as { reply?: Reply; error?: string } };
  };

  const tally = await run(rig, 'http', async (line, i) => {
    const req = apiRequest(line, rand);
    // Holding the token is what makes an admin here (SPEC §4); without it nothing may change.
    const admin = req.auth === `Bearer ${API_TOKEN}`;
    const res = await post(req);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.notEqual(res.status, 500, `#${i}: ${JSON.stringify(res.body)}`);
    assert.equal(res.status, req.expect, `#${i} ${clip(req.body, 200)}: ${JSON.stringify(res.body)}`);
    if (res.status !== 200) {
      assert.equal(typeof res.body.error, 'string', `#${i}: an error answer says what was wrong`);
      return { text: line, admin, answer: { text: res.body.error ?? '', error: true } };
    }
    const reply = res.body.reply;
    assert.ok(reply && Array.isArray(reply.lines) && Array.isArray(reply.fields), `#${i} not a Reply`);
    return { text: line, admin, answer: { text: JSON.stringify(reply), error: reply.severity === 'error' } };
  });

  const final = await post({
    auth: `Bearer ${API_TOKEN}`,
    type: 'application/json',
    body: '{"text":"status"}',
  });
  assert.equal(final.status, 200);
  assert.notEqual(final.body.reply?.severity, 'error');
  await healthy(rig.app);
  assert.deepEqual(rig.errors, []);
  const shown = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${n}×${s}`);
  report(t, 'http', tally, `; statuses ${shown.join(', ')}`);
  assert.equal(tally.answered, RUNS);
  assert.ok(tally.mutations > 0, 'some lines were valid mutations');
});
