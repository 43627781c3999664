/**
 * Chat API storms. One Lookout app with Telegram, Slack, Discord and email all on,
 * each against its fake on loopback, while targets go down and recover:
 * - every platform at once answers 429 with Retry-After, 5xx, hangs past the
 *   client's timeout and dropped connections (the SMTP server 4xx replies, silence
 *   and drops), and still every alert lands exactly once per channel, threaded
 *   under its DOWN, with nothing left pending or dead;
 * - a storm on Slack alone holds up no other channel, and Slack delivers exactly
 *   once when it is back.
 * A request a fake fails is never processed, so "exactly once" is unambiguous here.
 *
 * Time: client timeouts are production's (a Telegram hang costs 20 s of wall time).
 * The outbox's backoff (5 s doubling up to 10 min) is production's too, but runs on
 * the app's clock, which here goes 100× faster than the wall clock; the test nudges
 * the outbox so its waits end in tenths of a second.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.js';
import { checkAll, makeApp, switchableCheck } from '../helpers/app.js';
import { FakeDiscord } from '../helpers/discord-api.js';
import type { MessageBody } from '../helpers/discord-api.js';
import type { Fault, FaultPlan } from '../helpers/faults.js';
import { prng } from '../helpers/prng.js';
import { FakeSlack } from '../helpers/slack-api.js';
import { startSmtpServer } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';
import { FakeBotApi } from '../helpers/telegram-api.js';
import { until } from '../helpers/wait.js';

const TELEGRAM_TOKEN = '123456:storm-test-token';
const TELEGRAM_CHAT = '-1001';
const SLACK_TOKEN = 'xoxb-storm-1111-2222';
const SLACK_CHANNEL = 'C0ALERTS';
const DISCORD_TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.storm.discord-bot-token';
const DISCORD_APP = '123456789012345678';
const DISCORD_CHANNEL = '800000000000000002';
const SPEED = 100;

const STORMY = ['storm-1', 'storm-2', 'storm-3', 'storm-4'];
const CALM = ['calm-1', 'calm-2'];
/** Never fail: with them, at most half the targets fail at once, so the probe self-check stays out of it. */
const STEADY = ['steady-1', 'steady-2'];

const HANG: Fault = { kind: 'hang' };
const DROP: Fault = { kind: 'drop' };
const status = (code: number, retryAfterS?: number): Fault => ({
  kind: 'status',
  status: code,
  ...(retryAfterS !== undefined ? { retryAfterS } : {}),
});
const label = (f: Fault): string =>
  f.kind === 'status' ? (f.status === 429 ? '429' : `${String(f.status)[0]}xx`) : f.kind;

/**
 * A scripted storm for one platform: a hang first (so its long wait overlaps the
 * other platforms' storms), then the other faults shuffled among some successes.
 * It is over once the script is used up; requests `applies` rejects pass untouched.
 */
class Storm {
  /** Every request the storm was asked about, with the app's clock at its arrival. */
  readonly seen: Array<{ request: string; fault: Fault | undefined; at: number }> = [];
  private readonly script: Array<Fault | undefined>;

  constructor(
    seed: number,
    faults: Fault[],
    successes: number,
    private readonly applies: (request: string) => boolean,
    private readonly clock: () => number,
  ) {
    const random = prng(seed);
    const rest: Array<Fault | undefined> = [
      ...faults.filter((f) => f.kind !== 'hang'),
      ...Array<undefined>(successes).fill(undefined),
    ];
    for (let i = rest.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rest[i], rest[j]] = [rest[j], rest[i]];
    }
    this.script = faults.includes(HANG) ? [HANG, ...rest] : rest;
  }

  get over(): boolean {
    return this.script.length === 0;
  }

  readonly plan: FaultPlan = (request) => {
    if (!this.applies(request)) return undefined;
    const fault = this.script.shift();
    this.seen.push({ request, fault, at: this.clock() });
    return fault;
  };

  /** The kinds of fault handed out (`429`, `5xx`, `4xx`, `drop`, `hang`) and how often. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const { fault } of this.seen) if (fault) out.set(label(fault), (out.get(label(fault)) ?? 0) + 1);
    return out;
  }

  /** `12 failed attempts injected (3×429, 4×5xx, 4×drop, 1×hang)` */
  summary(): string {
    const counts = [...this.counts()];
    const parts = counts.sort().map(([k, n]) => `${n}×${k}`);
    return `${counts.reduce((sum, [, n]) => sum + n, 0)} failed attempts injected (${parts.join(', ')})`;
  }
}

/** One alert as a channel's fake stored it. */
interface Posted {
  kind: string;
  target: string;
  id: string;
  replyTo: string | undefined;
}

const HEADLINE = /\b(DOWN|RECOVERED) ([a-z0-9-]+) —/;

function posted(headline: string, id: unknown, replyTo: unknown): Posted {
  const m = HEADLINE.exec(headline);
  assert.ok(m, `not an alert headline: ${headline}`);
  return {
    kind: m[1] as string,
    target: m[2] as string,
    id: String(id),
    replyTo: replyTo === undefined ? undefined : String(replyTo),
  };
}

/** Each target's DOWN and RECOVERED exactly once, nothing else, every RECOVERED threaded under its DOWN. */
function assertOncePerTarget(channel: string, all: Posted[], targets: string[]): void {
  const got = all.map((p) => `${p.kind} ${p.target}`).sort();
  const want = targets.flatMap((t) => [`DOWN ${t}`, `RECOVERED ${t}`]).sort();
  assert.deepEqual(got, want, `${channel} got: ${got.join(' | ')}`);
  for (const t of targets) {
    const down = all.find((p) => p.kind === 'DOWN' && p.target === t);
    const up = all.find((p) => p.kind === 'RECOVERED' && p.target === t);
    assert.equal(up?.replyTo, down?.id, `${channel}: RECOVERED ${t} is threaded under its DOWN`);
  }
}

describe('chat API storms', () => {
  const check = switchableCheck();
  const started = Date.now();
  const clock = () => started + (Date.now() - started) * SPEED;
  let telegram: FakeBotApi;
  let slack: FakeSlack;
  let discord: FakeDiscord;
  let smtp: TestSmtpServer;
  let app: App;
  let nudge: NodeJS.Timeout | undefined;

  const channels = () => ({
    telegram: telegram
      .callsOf('sendMessage')
      .map((c) =>
        posted(
          telegram.textOf(c),
          (c.result as { message_id: number }).message_id,
          (c.body.reply_parameters as { message_id?: number } | undefined)?.message_id,
        ),
      ),
    slack: slack
      .callsOf('chat.postMessage')
      .filter((c) => c.answer.ok === true)
      .map((c) => posted(String(c.args.text), c.answer.ts, c.args.thread_ts)),
    discord: discord
      .find('POST', /^\/channels\/\d+\/messages$/)
      .filter((r) => r.status === 200)
      .map((r) => {
        const body = r.body as MessageBody;
        return posted(
          body.embeds?.[0]?.title ?? '',
          (r.response as { id: string }).id,
          body.message_reference?.message_id,
        );
      }),
    email: smtp.messages.map((m) => ({
      kind: (m.parsed.headers.get('x-lookout-kind')?.[0] ?? '').toUpperCase(),
      target: m.parsed.headers.get('x-lookout-target')?.[0] ?? '',
      id: m.parsed.messageId ?? '',
      replyTo: m.parsed.inReplyTo,
    })),
  });

  /** Sets the targets' outcome, checks them and hands the round's flips to the alert engine. */
  async function round(up: string[], down: string[]): Promise<void> {
    for (const n of up) check.results.set(n, true);
    for (const n of down) check.results.set(n, false);
    await checkAll(app, [...up, ...down]);
    await app.alerts.flush();
  }

  before(async () => {
    telegram = await new FakeBotApi(TELEGRAM_TOKEN).start();
    slack = await new FakeSlack().start();
    slack.validTokens.add(SLACK_TOKEN);
    discord = await FakeDiscord.start({
      token: DISCORD_TOKEN,
      applicationId: DISCORD_APP,
      channelId: DISCORD_CHANNEL,
    });
    smtp = await startSmtpServer();
    app = await makeApp(
      {
        TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
        TELEGRAM_API_ROOT: telegram.url,
        TELEGRAM_ALERT_CHAT_ID: TELEGRAM_CHAT,
        SLACK_BOT_TOKEN: SLACK_TOKEN,
        SLACK_SIGNING_SECRET: 'storm-signing-secret',
        SLACK_API_URL: slack.apiUrl,
        SLACK_ALERT_CHANNEL: SLACK_CHANNEL,
        DISCORD_TOKEN,
        DISCORD_APPLICATION_ID: DISCORD_APP,
        DISCORD_API_URL: discord.apiUrl,
        DISCORD_ALERT_CHANNEL_ID: DISCORD_CHANNEL,
        SMTP_URL: smtp.url(),
        EMAIL_FROM: 'Lookout <lookout@example.net>',
        EMAIL_TO: 'noc@example.net',
      },
      // Rounds are flushed by the test, so each one's alerts are known.
      { now: clock, checks: { http: check }, alertOptions: { groupWaitMs: 3_600_000 } },
    );
    // The outbox arms its timer in app milliseconds; on a 100× clock it must be woken up.
    nudge = setInterval(() => app.outbox.kick(), 20);
    await discord.ready();
    for (const name of [...STORMY, ...CALM, ...STEADY])
      await app.monitor.add(
        { name, address: `http://${name}.example.net/`, failThreshold: 1, interval: 86400 },
        'api',
      );
    await round([...STORMY, ...CALM, ...STEADY], []);
  });

  after(async () => {
    clearInterval(nudge);
    for (const fake of [telegram, slack, discord, smtp]) if (fake) fake.faults = undefined;
    await app?.stop();
    await telegram?.close();
    await slack?.close();
    await discord?.close();
    await smtp?.stop();
  });

  it('a storm on every platform at once: every alert lands exactly once on every channel', async (t) => {
    const chatFaults = [
      HANG,
      ...[429, 429, 429].map((c) => status(c, 1)),
      ...[500, 502, 503, 500].map((c) => status(c)),
      ...[DROP, DROP, DROP, DROP],
    ];
    const storms = {
      telegram: new Storm(1, chatFaults, 6, (m) => m === 'sendMessage' || m === 'editMessageText', clock),
      slack: new Storm(2, chatFaults, 6, (m) => m.startsWith('chat.'), clock),
      discord: new Storm(3, chatFaults, 6, (r) => / \/channels\/\d+\/messages/.test(r), clock),
      // nodemailer opens a connection per mail, so both stages of every send can fail.
      email: new Storm(
        4,
        [HANG, status(421), status(451), status(451), status(452), DROP, DROP, DROP],
        5,
        () => true,
        clock,
      ),
    };
    telegram.faults = storms.telegram.plan;
    slack.faults = storms.slack.plan;
    discord.faults = storms.discord.plan;
    smtp.faults = storms.email.plan;
    const begun = Date.now();

    // Distinct targets, so every alert can be told apart; the rounds overlap the storm.
    await round([], ['storm-1', 'storm-2', 'storm-3']);
    await new Promise((r) => setTimeout(r, 200));
    await round(['storm-1'], ['storm-4']);
    await new Promise((r) => setTimeout(r, 200));
    await round(['storm-2', 'storm-3', 'storm-4'], []);

    await until(
      'the storm to pass and the outbox to drain',
      () => Object.values(storms).every((s) => s.over) && app.outbox.pending().length === 0,
      90_000,
    ).catch((err: unknown) => {
      const left = app.outbox.pending().map((e) => `${e.key} attempts=${e.attempts} ${e.lastError ?? ''}`);
      const storm = Object.entries(storms).map(([k, s]) => `${k} over=${s.over}`);
      throw new Error(`${(err as Error).message}\n${[...storm, ...left].join('\n')}`);
    });
    // Anything still in flight somewhere would show up now as a late duplicate.
    await new Promise((r) => setTimeout(r, 300));
    t.diagnostic(`storm and drain took ${((Date.now() - begun) / 1000).toFixed(1)} s of wall time`);

    const got = channels();
    for (const [name, list] of Object.entries(got)) {
      assertOncePerTarget(name, list, STORMY);
      t.diagnostic(
        `${name}: ${list.length} alerts, each once; ${storms[name as keyof typeof storms].summary()}`,
      );
    }
    for (const [name, s] of Object.entries(storms)) {
      const kinds = s.counts();
      for (const k of name === 'email' ? ['4xx', 'drop', 'hang'] : ['429', '5xx', 'drop', 'hang'])
        assert.ok(kinds.has(k), `${name} was hit by ${k}`);
    }
    // After a 429 the platform gets nothing, not even the next alert in line, until Retry-After
    // has passed (on the app's clock). Telegram's edit of a DOWN is best effort and not retried,
    // so a request may follow a 429 on it at once.
    for (const [name, s] of Object.entries(storms))
      s.seen.forEach((x, i) => {
        const next = s.seen[i + 1];
        if (!x.fault || label(x.fault) !== '429' || x.request === 'editMessageText' || !next) return;
        assert.ok(next.at - x.at >= 1000, `${name}: ${next.request} ${next.at - x.at} ms after a 429`);
      });
    for (const h of app.outbox.status())
      assert.deepEqual([h.channel, h.pending, h.dead], [h.channel, 0, 0], `${h.channel} outbox is clean`);
  });

  it('a storm on Slack alone: the other channels deliver at once, Slack exactly once when it is back', async (t) => {
    const earlier = channels();
    const cycle = [status(500), DROP, status(503), DROP, status(502)];
    let failures = 0;
    slack.faults = (m) => (m.startsWith('chat.') ? cycle[failures++ % cycle.length] : undefined);
    const begun = Date.now();
    const others = () => {
      const { telegram: tg, discord: dc, email } = channels();
      return { telegram: tg, discord: dc, email };
    };
    const has = (kind: string) => () =>
      Object.values(others()).every((list) =>
        CALM.every((n) => list.some((p) => p.kind === kind && p.target === n)),
      );

    await round([], CALM);
    // Generous bounds: these channels wait on nothing but their own fakes.
    await until('the DOWNs on the healthy channels', has('DOWN'), 20_000);
    await round(CALM, []);
    await until('the RECOVEREDs on the healthy channels', has('RECOVERED'), 20_000);
    const healthyMs = Date.now() - begun;
    // Slack's head alert has kept failing meanwhile, not merely waited.
    await until('Slack to fail a few more times', () => failures >= 3, 20_000);

    assert.equal(channels().slack.length, earlier.slack.length, 'Slack posted nothing during its storm');
    const slackWaiting = app.outbox.pending().filter((e) => e.channel === 'slack');
    assert.equal(slackWaiting.length, CALM.length * 2, 'every calm alert waits for Slack');
    assert.ok(
      slackWaiting.some((e) => e.attempts >= 1 && /HTTP 5\d\d|cannot reach Slack/.test(e.lastError ?? '')),
      slackWaiting.map((e) => e.lastError).join(' | '),
    );
    for (const [name, list] of Object.entries(others()))
      assertOncePerTarget(name, list, [...STORMY, ...CALM]);
    t.diagnostic(`healthy channels had every calm alert ${healthyMs} ms after the first flip`);

    slack.faults = undefined;
    await until('Slack to catch up', () => app.outbox.pending().length === 0, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    const got = channels();
    for (const [name, list] of Object.entries(got)) assertOncePerTarget(name, list, [...STORMY, ...CALM]);
    t.diagnostic(`slack: ${failures} failed attempts injected (5xx and drops) before it recovered`);
    t.diagnostic(
      Object.entries(got)
        .map(([name, list]) => `${name}: ${list.length} alerts in all`)
        .join('; '),
    );
    for (const h of app.outbox.status())
      assert.deepEqual([h.channel, h.pending, h.dead], [h.channel, 0, 0], `${h.channel} outbox is clean`);
  });
});
