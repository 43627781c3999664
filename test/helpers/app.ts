/** Builds a real Lookout app in a temp dir for integration tests, with optional controllable checks. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.js';
import type { App, AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { testLogger } from './log-capture.js';
import type { Channel, SentRef } from '../../src/channels/types.js';
import type { AlertMessage } from '../../src/core/message.js';
import type { Check } from '../../src/checks/types.js';
import type { CheckResult } from '../../src/core/types.js';

export async function makeApp(
  env: Record<string, string> = {},
  opts: Partial<Omit<AppOptions, 'config' | 'log'>> = {},
  dataDir?: string,
): Promise<App & { dataDir: string }> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'lookout-app-')));
  const config = loadConfig({ DATA_DIR: dir, HTTP_PORT: '0', ...env });
  const app = await createApp({ config, log: testLogger(config), ...opts });
  await app.start();
  return Object.assign(app, { dataDir: dir });
}

/** A check whose outcome per target the test sets: `results.set('web', false)`. */
export function switchableCheck(kind: 'http' | 'tcp' = 'http'): Check & { results: Map<string, boolean> } {
  const results = new Map<string, boolean>();
  return {
    kind,
    results,
    run(t) {
      const ok = results.get(t.name) ?? true;
      const r: CheckResult = { ok, ms: 5, at: Date.now(), detail: {} };
      if (!ok) r.error = { code: 'connection_refused', message: 'connection refused' };
      return Promise.resolve(r);
    },
  };
}

/** An alert channel that records what it was asked to send (a test peer, not one of our modules). */
export function recordingChannel(
  name = 'test',
): Channel & { sent: Array<{ msg: AlertMessage; root?: SentRef[] }> } {
  const sent: Array<{ msg: AlertMessage; root?: SentRef[] }> = [];
  return {
    name,
    sent,
    send(msg, ctx) {
      sent.push({ msg, ...(ctx.root ? { root: ctx.root } : {}) });
      return Promise.resolve([{ id: `m${sent.length}`, to: 'room' }]);
    },
  };
}

/** Runs one check of each named target now and waits for the results. */
export async function checkAll(app: App, names: string[]): Promise<void> {
  const want = new Set(names);
  await new Promise<void>((resolve) => {
    const on = (t: { name: string }) => {
      want.delete(t.name);
      if (want.size === 0) {
        app.monitor.off('result', on);
        resolve();
      }
    };
    app.monitor.on('result', on);
    for (const n of names) app.scheduler.runNow(n);
  });
}

/** Waits until the outbox has nothing pending (bounded). */
export async function drained(app: App): Promise<void> {
  for (let i = 0; i < 300 && app.outbox.pending().some((e) => e.nextAt <= Date.now()); i++)
    await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));
}
