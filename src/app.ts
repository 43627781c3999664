/**
 * The composition root: the only file that knows every concrete part. It builds
 * the store, checks, scheduler, monitor, alerting and HTTP listener from a Config
 * and hands back something that can be started and stopped.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, access, constants } from 'node:fs/promises';
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Check } from './checks/types.js';
import type { Clock, Kind } from './core/types.js';
import { StateFile } from './store/file.js';
import { initialData, validateData } from './store/data.js';
import type { MainData } from './store/data.js';
import { HistoryStore } from './store/history-store.js';
import { Scheduler } from './scheduler.js';
import { Monitor } from './monitor.js';
import { createChecks, PushBeats } from './checks/index.js';
import { Router, json } from './http/router.js';
import { registerApi } from './http/api.js';
import { registerPush } from './http/push.js';
import { createConsoleChannel } from './channels/console.js';
import { downMessage, recoveredMessage } from './alerts/messages.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  /** Injected clock (tests). Default Date.now. */
  now?: Clock;
  /** Replaces check kinds (tests and benchmarks). */
  checks?: Partial<Record<Kind, Check>>;
}

export interface App {
  config: Config;
  monitor: Monitor;
  scheduler: Scheduler;
  store: StateFile<MainData>;
  history: HistoryStore;
  server: Server;
  /** Base URL of the listener once started, e.g. http://127.0.0.1:8080. */
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function createApp(o: AppOptions): Promise<App> {
  const { config, log } = o;
  const now = o.now ?? Date.now;
  await mkdir(config.dataDir, { recursive: true });

  const onWriteError = (e: unknown) => log.error({ err: e }, 'writing the data file failed; will retry');
  const store = await StateFile.open<MainData>({
    path: `${config.dataDir}/lookout.json`,
    initial: initialData,
    validate: validateData,
    onWriteError,
  });
  const history = await HistoryStore.open(config.dataDir, config.settings.retention, onWriteError);

  const beats = new PushBeats();
  const checks = { ...createChecks({ beats, now, log }), ...o.checks } as Record<Kind, Check>;
  const scheduler = new Scheduler({
    checks,
    now,
    concurrency: config.settings.concurrency,
    // Results arrive only after start(), when `monitor` exists.
    onResult: (t, r) => monitor.onResult(t, r),
    onError: (t, err) => log.error({ err, target: t.name }, 'check crashed'),
  });
  const monitor = new Monitor(store, scheduler, history, now);

  const applied = await monitor.applyConfigTargets(config.targets);
  if (applied.added.length + applied.updated.length + applied.removed.length > 0)
    log.info(applied, 'applied targets from CONFIG_FILE');

  // Alerts: the console channel always; the policy and outbox sit between flips and channels.
  const consoleChannel = createConsoleChannel(log);
  monitor.on('flip', ({ flip, target, state, incident }) => {
    if (!incident) return;
    const msg =
      flip.to === 'down' ? downMessage(target, state, incident) : recoveredMessage(target, state, incident);
    void consoleChannel.send(msg, {});
  });

  const router = new Router((err, req) => log.error({ err, path: req.url.pathname }, 'request failed'));
  let lastTick = 0;
  router.on('GET', '/healthz', async (req) => {
    const t = now();
    const schedulerAlive = t - lastTick < 5000;
    let writable = true;
    try {
      await access(config.dataDir, constants.W_OK);
    } catch {
      writable = false;
    }
    const storeOk = writable && !store.lastError;
    const ok = schedulerAlive && storeOk;
    const body = {
      status: ok ? 'ok' : 'unhealthy',
      scheduler: { alive: schedulerAlive, ...scheduler.stats() },
      store: {
        writable,
        lastError: store.lastError ?? null,
        lastWriteMs: Math.round(store.lastWriteMs * 10) / 10,
      },
    };
    json(req.res, ok ? 200 : 503, body);
  });
  registerApi(router, { monitor, apiToken: config.apiToken });
  registerPush(router, { monitor, beats, scheduler });

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    void router.handle(req, res);
  });

  const tasks: ScheduledTask[] = [];
  const app: App = {
    config,
    monitor,
    scheduler,
    store,
    history,
    server,
    url: '',
    async start() {
      monitor.scheduleAll();
      scheduler.start();
      lastTick = now();
      // node-cron drives the periodic jobs; per-target checks come from the scheduler's queue.
      tasks.push(
        cron.schedule('* * * * * *', () => {
          lastTick = now();
          void monitor.tick().catch((err: unknown) => log.error({ err }, 'tick failed'));
        }),
        cron.schedule('0 * * * *', () => history.compact(now())),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      app.url = `http://${host}:${addr.port}`;
    },
    async stop() {
      for (const t of tasks) await t.destroy();
      await scheduler.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await history.close();
    },
  };
  return app;
}
