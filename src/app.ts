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
import { initialData, initialLive, validateData, validateLive } from './store/data.js';
import type { LiveData, MainData } from './store/data.js';
import { HistoryStore } from './store/history-store.js';
import { Scheduler } from './scheduler.js';
import { Monitor } from './monitor.js';
import { createChecks, PushBeats } from './checks/index.js';
import { Router, json } from './http/router.js';
import { registerApi } from './http/api.js';
import { registerPush } from './http/push.js';
import { registerCommandsApi } from './http/commands-api.js';
import { registerHistoryApi } from './http/history.js';
import { registerMetrics } from './http/metrics.js';
import { registerDashboard } from './http/dashboard.js';
import { checkRunner } from '../commands/check.js';
import { createConsoleChannel } from './channels/console.js';
import { createEmailChannel } from './channels/email.js';
import type { Channel } from './channels/types.js';
import { Outbox } from './alerts/outbox.js';
import { AlertEngine } from './alerts/engine.js';
import { createProbe } from './alerts/probe.js';
import { platforms } from './channels/platforms.js';
import { createSpeedtestService } from './speedtest/service.js';
import type { ChatAdapter } from './channels/chat.js';
import type { CommandContext } from '../commands/types.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  /** Injected clock (tests). Default Date.now. */
  now?: Clock;
  /** Replaces check kinds (tests and benchmarks). */
  checks?: Partial<Record<Kind, Check>>;
  /** Extra alert channels (chat platforms are added here by their issues; tests add fakes). */
  channels?: Channel[];
  /** Overrides for the alert engine (tests: groupWaitMs). */
  alertOptions?: { groupWaitMs?: number; digestOver?: number };
}

export interface App {
  config: Config;
  monitor: Monitor;
  scheduler: Scheduler;
  store: StateFile<MainData>;
  /** Live per-target state (state.json). */
  live: StateFile<LiveData>;
  history: HistoryStore;
  outbox: Outbox;
  alerts: AlertEngine;
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
  const live = await StateFile.open<LiveData>({
    path: `${config.dataDir}/state.json`,
    initial: initialLive,
    validate: validateLive,
    journal: 'states',
    onWriteError,
  });
  if (store.data.legacyStates) {
    // Upgrading from data version 1: live states move out of the main file, once.
    Object.assign(live.data.states, store.data.legacyStates);
    await live.commit();
    delete store.data.legacyStates;
    await store.commit();
  }
  const history = await HistoryStore.open(config.dataDir, config.settings.retention, onWriteError);

  const speedtests = await createSpeedtestService({
    settings: config.settings.speedtest,
    dataDir: config.dataDir,
    now,
    log: log.child({ part: 'speedtest' }),
    // Tests run only after start(), when `outbox` exists.
    alert: (msgs) => outbox.enqueue(msgs),
  });

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
  const monitor = new Monitor(store, live, scheduler, history, now);

  const applied = await monitor.applyConfigTargets(config.targets);
  if (applied.added.length + applied.updated.length + applied.removed.length > 0)
    log.info(applied, 'applied targets from CONFIG_FILE');

  // Commands: the same context for the API, the CLI and every chat platform; adapters add the actor.
  const commandContext: Omit<CommandContext, 'actor'> = {
    services: { monitor, history },
    now,
    runCheck: checkRunner(checks, now),
    speedtest: speedtests.service,
    log: (err, context) => log.error({ err, ...context }, 'command failed'),
  };
  const adapters: ChatAdapter[] = [];
  for (const [name, factory] of Object.entries(platforms)) {
    const made = factory(config, {
      commands: commandContext,
      log: log.child({ platform: name }),
      meta: store.data.meta,
      saveMeta: () => store.commit(),
    });
    if (made) adapters.push(await made);
  }

  // Alerts: flips → policy (engine) → durable outbox → channels. Console is always on.
  const channels: Channel[] = [
    createConsoleChannel(log),
    ...adapters.map((a) => a.channel),
    ...(o.channels ?? []),
  ];
  if (config.email) {
    // Message-IDs use the sender's domain: stable across container re-creation, unlike the hostname.
    const domain = config.email.from.replace(/^.*@/, '').replace(/>.*$/, '');
    channels.push(createEmailChannel({ ...config.email, hostname: domain }));
  }
  const outbox = new Outbox({
    store,
    channels,
    now,
    log,
    fallbackAfterMs: config.settings.emailFallbackAfter * 1000,
  });
  commandContext.deliveries = () => outbox.status();
  const alerts = new AlertEngine({
    monitor,
    store,
    outbox,
    settings: config.settings,
    now,
    log,
    probe: createProbe(config.settings.probe.references, checks, now),
    probeThreshold: config.settings.probe.threshold,
    ...o.alertOptions,
  });

  const router = new Router((err, req) => log.error({ err, path: req.url.pathname }, 'request failed'));
  let lastTick = 0;
  /** Scheduler liveness, store writability and channel status: /healthz and the self-heartbeat. */
  const health = async () => {
    const t = now();
    const schedulerAlive = t - lastTick < 5000;
    let writable = true;
    try {
      await access(config.dataDir, constants.W_OK);
    } catch {
      writable = false;
    }
    const storeOk = writable && !store.lastError && !live.lastError && !history.hot.lastError;
    const ok = schedulerAlive && storeOk;
    return {
      status: ok ? 'ok' : 'unhealthy',
      scheduler: { alive: schedulerAlive, ...scheduler.stats() },
      store: {
        writable,
        lastError: store.lastError ?? null,
        lastWriteMs: Math.round(store.lastWriteMs * 10) / 10,
      },
      channels: outbox.status(),
      platforms: Object.fromEntries(adapters.map((a) => [a.channel.name, a.health()])),
    };
  };
  router.on('GET', '/healthz', async (req) => {
    const body = await health();
    json(req.res, body.status === 'ok' ? 200 : 503, body);
  });
  registerApi(router, { monitor, apiToken: config.apiToken });
  registerPush(router, { monitor, beats, scheduler });
  registerCommandsApi(router, { apiToken: config.apiToken, context: commandContext });
  registerHistoryApi(router, { monitor, history });
  const registry = registerMetrics(router, { monitor, scheduler });
  speedtests.registerMetrics(registry);
  speedtests.registerRoutes(router);
  if (speedtests.mount) router.mount(speedtests.mount.prefix, speedtests.mount.handler);
  registerDashboard(router, { monitor, history });
  for (const a of adapters) for (const m of a.mounts ?? []) router.mount(m.prefix, m.handler);

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    void router.handle(req, res);
  });

  const heartbeat = async (url: string) => {
    if ((await health()).status !== 'ok') return;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) log.warn({ status: res.status }, 'HEARTBEAT_URL answered with an error');
    } catch (err) {
      log.warn({ error: (err as Error).message }, 'HEARTBEAT_URL could not be reached');
    }
  };

  const tasks: ScheduledTask[] = [];
  const app: App = {
    config,
    monitor,
    scheduler,
    store,
    live,
    history,
    outbox,
    alerts,
    server,
    url: '',
    async start() {
      // The time Lookout was not running is unknown, not up: close the timelines at the last sign of life.
      const lastAlive = live.data.lastAliveAt;
      if (typeof lastAlive === 'number') {
        for (const t of monitor.list()) {
          history.recordStatus(t.name, 'unknown', lastAlive);
          const st = monitor.state(t.name).status;
          if (st !== 'unknown') history.recordStatus(t.name, st, now());
        }
      }
      await alerts.recover();
      outbox.start();
      speedtests.start();
      monitor.scheduleAll();
      scheduler.start();
      lastTick = now();
      // node-cron drives the periodic jobs; per-target checks come from the scheduler's queue.
      tasks.push(
        cron.schedule('* * * * * *', () => {
          lastTick = now();
          live.data.lastAliveAt = lastTick;
          void monitor.tick().catch((err: unknown) => log.error({ err }, 'tick failed'));
        }),
        // Self-heartbeat: an outside check notices when this Pi (or Lookout) dies.
        ...(config.heartbeatUrl
          ? [cron.schedule('30 * * * * *', () => void heartbeat(config.heartbeatUrl as string))]
          : []),
        cron.schedule('*/10 * * * * *', () => {
          void alerts.tick().catch((err: unknown) => log.error({ err }, 'alert tick failed'));
        }),
        // Every 5 minutes: an hour is rolled up shortly after it settles, and a no-op is cheap.
        cron.schedule('*/5 * * * *', () => {
          void history
            .compact(now())
            .catch((err: unknown) => log.error({ err }, 'history compaction failed'));
        }),
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
      // Chat platforms last: commands arriving from them need everything above.
      for (const a of adapters) await a.start();
      if (config.heartbeatUrl) void heartbeat(config.heartbeatUrl);
    },
    async stop() {
      for (const t of tasks) await t.destroy();
      await speedtests.stop();
      await scheduler.stop();
      for (const a of adapters)
        await a.stop().catch((err: unknown) => log.warn({ err }, 'stopping a chat platform failed'));
      await alerts.stop();
      await outbox.stop();
      for (const c of channels) await c.close?.();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      await live.close();
      await history.close();
    },
  };
  return app;
}
