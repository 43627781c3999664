/**
 * A real Lookout (store, history, monitor) in a temp dir with a fake clock, not
 * started: no listener and no scheduled checks, so a test decides every result.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { testLogger } from '../helpers/log-capture.js';
import { replyText } from '../../src/core/reply.js';
import type { Reply, ReplySeverity } from '../../src/core/reply.js';
import type { CheckResult } from '../../src/core/types.js';
import { dispatch } from '../../commands/index.js';
import type { Actor, CheckRunner, CommandContext, SpeedtestService } from '../../commands/types.js';

export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

export const ADMIN: Actor = { platform: 'telegram', id: '42', display: 'Ann', admin: true };
export const USER: Actor = { platform: 'telegram', id: '99', display: 'Bob', admin: false };

export interface Harness {
  app: App;
  clock: { t: number };
  logged: Array<{ err: unknown; context: unknown }>;
  runCheck: CheckRunner;
  speedtest: SpeedtestService | undefined;
  ctx(actor?: Actor): CommandContext;
  run(text: string, actor?: Actor): Promise<{ reply: Reply; text: string }>;
  /** Feeds a check result for `name` through the monitor, as the scheduler would. */
  feed(name: string, ok: boolean, ms?: number, message?: string): void;
  /** Three failures: DOWN with an open incident. */
  down(name: string, message?: string): void;
  /** Everything a command could change: targets, states, incidents. */
  snapshot(): string;
  close(): Promise<void>;
}

export async function harness(
  o: { runCheck?: CheckRunner; speedtest?: SpeedtestService; configFile?: string } = {},
): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-cmd-'));
  const clock = { t: T0 };
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    HTTP_PORT: '0',
    API_TOKEN: 'cmd-test-token-0123456789',
  };
  if (o.configFile) env.CONFIG_FILE = o.configFile;
  const config = loadConfig(env);
  const app = await createApp({ config, log: testLogger(config), now: () => clock.t });
  const logged: Harness['logged'] = [];
  const runCheck: CheckRunner =
    o.runCheck ??
    (async () => ({
      ok: true,
      ms: 12.3,
      at: clock.t,
      detail: { status: 200, dns: 1, connect: 2, ttfb: 9 },
    }));
  const h: Harness = {
    app,
    clock,
    logged,
    runCheck,
    speedtest: o.speedtest,
    ctx(actor = ADMIN) {
      const ctx: CommandContext = {
        services: { monitor: app.monitor, history: app.history },
        actor,
        now: () => clock.t,
        runCheck,
        log: (err, context) => logged.push({ err, context }),
        publicUrl: 'https://lookout.example.net',
      };
      if (o.speedtest) ctx.speedtest = o.speedtest;
      return ctx;
    },
    async run(text, actor = ADMIN) {
      const reply = await dispatch(text, h.ctx(actor));
      return { reply, text: replyText(reply) };
    },
    feed(name, ok, ms = 20, message = 'HTTP 500') {
      const t = app.monitor.get(name);
      const r: CheckResult = { ok, ms, at: clock.t, detail: ok ? { status: 200 } : { status: 500 } };
      if (!ok) r.error = { code: 'http_status', message };
      app.monitor.onResult(t, r);
    },
    down(name, message) {
      for (let i = 0; i < 3; i++) {
        clock.t += 60e3;
        h.feed(name, false, 30, message);
      }
    },
    snapshot() {
      const d = app.store.data;
      return JSON.stringify({ targets: d.targets, states: app.live.data.states, incidents: d.incidents });
    },
    async close() {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

export interface Case {
  name: string;
  text: string;
  as?: Actor;
  severity?: ReplySeverity;
  /** Every one must appear in the reply text (strings exactly, as substrings). */
  says?: Array<string | RegExp>;
  /** None may appear. */
  not?: Array<string | RegExp>;
  /** Whether the store may change; default: only for admin replies that are not errors. */
  changes?: boolean;
}

/** Runs one table row: the reply a user would see, and whether the store changed. */
export async function runCase(h: Harness, c: Case): Promise<Reply> {
  const before = h.snapshot();
  const { reply, text } = await h.run(c.text, c.as ?? ADMIN);
  if (c.severity) assert.equal(reply.severity, c.severity, `severity of "${c.text}":\n${text}`);
  for (const s of c.says ?? []) {
    if (typeof s === 'string')
      assert.ok(text.includes(s), `"${c.text}" should say ${JSON.stringify(s)}; got:\n${text}`);
    else assert.match(text, s, `"${c.text}"; got:\n${text}`);
  }
  for (const s of c.not ?? []) {
    if (typeof s === 'string')
      assert.ok(!text.includes(s), `"${c.text}" should not say ${JSON.stringify(s)}; got:\n${text}`);
    else assert.doesNotMatch(text, s);
  }
  const changed = h.snapshot() !== before;
  const mayChange = c.changes ?? (reply.severity !== 'error' && (c.as ?? ADMIN).admin);
  if (!mayChange) assert.equal(changed, false, `"${c.text}" must not change anything`);
  if (c.changes === true) assert.equal(changed, true, `"${c.text}" should have changed the store`);
  return reply;
}
