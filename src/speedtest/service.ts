/**
 * Speed tests as a running service: one run at a time (on demand or on a cron
 * schedule), results kept compactly in `DATA_DIR/speedtests.json` with retention,
 * the M-of-N threshold policy turned into alerts, the read-only API, metrics, and
 * Lookout's own speed-test endpoints as a mount for the main listener.
 *
 * Scheduling rule: tests run on a schedule only when `settings.speedtest.schedule`
 * is set, whichever server is configured. SPEC §1 documents "no schedule = on demand
 * only", and a setting whose absence means different things depending on another
 * key (`server`) is the surprising kind: a branch on a metered link would start
 * spending bandwidth just because someone pointed it at head office. Configuring a
 * non-default server without a schedule logs one line at start saying how to turn
 * the schedule on.
 */
import { join } from 'node:path';
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Settings } from '../config.js';
import { formatDuration } from '../core/duration.js';
import type { AlertMessage, Field } from '../core/message.js';
import type { Clock } from '../core/types.js';
import { HttpError, parseQueryTime } from '../http/router.js';
import type { Mount, Router } from '../http/router.js';
import type { Logger } from '../log.js';
import { StateFile } from '../store/file.js';
import { emptyResult, runSpeedtest } from './client.js';
import { createSpeedtestHandler } from './server.js';
import { evaluateSpeedThresholds, speedBreaches } from './thresholds.js';
import type { SpeedAlertMessage, SpeedAlertState, SpeedPolicy } from './thresholds.js';
import { SPEEDTEST_PROTOCOLS } from './types.js';
import type {
  SpeedtestErrorCode,
  SpeedtestOptions,
  SpeedtestPhase,
  SpeedtestProtocol,
  SpeedtestResult,
} from './types.js';

const DAY = 86_400_000;
const DEFAULT_SERVER = 'https://speed.cloudflare.com';

export type SpeedtestProgress = (phase: SpeedtestPhase, partial: Partial<SpeedtestResult>) => void;

/** Stored results and running new ones; structurally the commands' `SpeedtestService`. */
export interface SpeedtestApi {
  /**
   * Runs one test and stores it; a call while a test runs joins that test instead
   * of starting another. Resolves with the result even when it failed; never rejects.
   */
  run(o?: { onProgress?: SpeedtestProgress }): Promise<SpeedtestResult>;
  /** The newest stored result, failed or not. */
  latest(): SpeedtestResult | undefined;
  /** Stored results with `at` in [from, to), oldest first. */
  history(from: number, to: number): SpeedtestResult[];
}

export interface SpeedtestServiceOptions {
  settings: Settings['speedtest'];
  dataDir: string;
  now: Clock;
  log: Logger;
  /** Hands alert messages to the outbox. */
  alert: (msgs: AlertMessage[]) => Promise<void>;
  /** Runs one test. Default `runSpeedtest`; tests inject scripted results or smaller limits. */
  runner?: (opts: SpeedtestOptions) => Promise<SpeedtestResult>;
  /** Results older than `maxAgeMs` or beyond the newest `maxResults` are dropped. Defaults 400 days, 20,000. */
  retention?: { maxAgeMs?: number; maxResults?: number };
}

export interface Speedtests {
  service: SpeedtestApi;
  /** Starts the cron schedule, if one is configured and valid. */
  start(): void;
  /** Stops the schedule, cancels a running test (not stored) and writes the file. */
  stop(): Promise<void>;
  /** Lookout's own endpoints under `/speedtest/`; absent when `settings.serve` is false. */
  mount?: { prefix: '/speedtest/'; handler: Mount };
  /** `GET /api/speedtests?from=&to=` and `GET /api/speedtests/latest`. */
  registerRoutes(router: Router): void;
  /** Gauges of the latest result, read at scrape time. */
  registerMetrics(registry: Registry): void;
  running(): boolean;
}

// ---------------------------------------------------------------------------
// The file: one row per result as an array, servers interned

/** Column order of a row; written into the file so it reads without this source. */
const COLUMNS = [
  'at',
  'downloadMbps',
  'uploadMbps',
  'latencyMs',
  'jitterMs',
  'durationMs',
  'bytesDown',
  'bytesUp',
  'server',
  'loadedLatencyMs',
  'limitedBy',
  'error',
] as const;

/**
 * About 70 bytes a result instead of ~300 as an object: 20,000 results stay near
 * 1.5 MB. Trailing nulls are left out, so a plain successful test has 9 columns.
 */
type Row = [
  at: number,
  down: number,
  up: number,
  latency: number,
  jitter: number,
  duration: number,
  bytesDown: number,
  bytesUp: number,
  /** Index into `servers`: a URL repeated 20,000 times would be most of the file. */
  server: number,
  loaded?: number | null,
  limitedBy?: 'bytes' | 'duration' | null,
  error?: [code: SpeedtestErrorCode, message: string] | null,
];

interface SpeedFile {
  v: 1;
  cols: string[];
  servers: Array<[url: string, protocol: SpeedtestProtocol]>;
  /** Sorted by `at`. */
  rows: Row[];
  /** Persisted so a restart neither repeats a breach alert nor forgets an open episode. */
  alert: SpeedAlertState;
}

const initialFile = (): SpeedFile => ({
  v: 1,
  cols: [...COLUMNS],
  servers: [],
  rows: [],
  alert: { breaching: false },
});

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks what was read; throws saying which part is wrong. */
export function validateSpeedFile(raw: unknown): SpeedFile {
  if (typeof raw !== 'object' || raw === null) throw new Error('expected an object');
  const f = raw as Partial<SpeedFile>;
  if (f.v !== 1) throw new Error(`unknown version ${JSON.stringify(f.v)} (this Lookout reads version 1)`);
  if (!Array.isArray(f.cols) || f.cols.join() !== COLUMNS.join())
    throw new Error(`cols must be ${JSON.stringify(COLUMNS)}`);
  if (!Array.isArray(f.servers)) throw new Error('servers must be an array');
  f.servers.forEach((s, i) => {
    if (
      !Array.isArray(s) ||
      typeof s[0] !== 'string' ||
      !(SPEEDTEST_PROTOCOLS as readonly unknown[]).includes(s[1])
    )
      throw new Error(`servers[${i}] must be [url, protocol]`);
  });
  if (!Array.isArray(f.rows)) throw new Error('rows must be an array');
  const servers = f.servers.length;
  f.rows.forEach((r: unknown, i) => {
    if (!validRow(r, servers)) throw new Error(`rows[${i}] is not a speed-test result row`);
    const before = f.rows?.[i - 1];
    if (before !== undefined && before[0] > r[0]) throw new Error(`rows[${i}] is out of time order`);
  });
  const a = f.alert as Partial<SpeedAlertState> | undefined;
  if (typeof a !== 'object' || a === null || typeof a.breaching !== 'boolean')
    throw new Error('alert must be { breaching, since? }');
  if (a.since !== undefined && !isNum(a.since)) throw new Error('alert.since must be epoch ms');
  return f as SpeedFile;
}

function validRow(r: unknown, servers: number): r is Row {
  if (!Array.isArray(r) || r.length < 9 || r.length > COLUMNS.length) return false;
  for (let i = 0; i < 8; i++) if (!isNum(r[i])) return false;
  const [, , , , , , , , server, loaded, limitedBy, error] = r as unknown[];
  if (!Number.isInteger(server) || (server as number) < 0 || (server as number) >= servers) return false;
  if (loaded != null && !isNum(loaded)) return false;
  if (limitedBy != null && limitedBy !== 'bytes' && limitedBy !== 'duration') return false;
  if (error == null) return true;
  return Array.isArray(error) && typeof error[0] === 'string' && typeof error[1] === 'string';
}

function encode(r: SpeedtestResult, server: number): Row {
  const row: Row = [
    r.at,
    r.downloadMbps,
    r.uploadMbps,
    r.latencyMs,
    r.jitterMs,
    r.durationMs,
    r.bytesDown,
    r.bytesUp,
    server,
    r.loadedLatencyMs ?? null,
    r.limitedBy ?? null,
    r.error ? [r.error.code, r.error.message] : null,
  ];
  while (row.length > 9 && row.at(-1) == null) row.pop();
  return row;
}

function decode(row: Row, servers: SpeedFile['servers']): SpeedtestResult {
  const [at, downloadMbps, uploadMbps, latencyMs, jitterMs, durationMs, bytesDown, bytesUp, s] = row;
  const [loaded, limitedBy, error] = [row[9], row[10], row[11]];
  const [server, protocol] = servers[s] ?? ['', 'cloudflare'];
  const r: SpeedtestResult = {
    downloadMbps,
    uploadMbps,
    latencyMs,
    jitterMs,
    loss: null,
    bytesDown,
    bytesUp,
    durationMs,
    server,
    protocol,
    at,
  };
  if (loaded != null) r.loadedLatencyMs = loaded;
  if (limitedBy != null) r.limitedBy = limitedBy;
  if (error != null) r.error = { code: error[0], message: error[1] };
  return r;
}

/** First index whose `at` is at or above `t` (above it, with `after`). */
function bound(rows: readonly Row[], t: number, after = false): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const at = rows[mid]?.[0] ?? Infinity;
    if (at < t || (after && at === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The URL without `user:password@`: results, replies, logs and metric labels show it. */
function withoutCredentials(server: string): string {
  try {
    const url = new URL(server);
    if (url.username === '' && url.password === '') return server;
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return server;
  }
}

// ---------------------------------------------------------------------------
// Alert messages

const mbps = (v: number) => `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })} Mbps`;
const ms = (v: number) => `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`;

function resultFields(r: SpeedtestResult): Field[] {
  return [
    { label: 'Download', value: mbps(r.downloadMbps) },
    { label: 'Upload', value: mbps(r.uploadMbps) },
    { label: 'Latency', value: `${ms(r.latencyMs)} (jitter ${ms(r.jitterMs)})` },
    { label: 'Server', value: r.server },
  ];
}

/**
 * The breach opens a thread and the recovery replies in it; ids derive from the
 * episode's start, so a message re-sent after a crash is dropped by the outbox.
 */
function alertMessage(
  m: SpeedAlertMessage,
  newest: SpeedtestResult,
  recent: readonly SpeedtestResult[],
  policy: SpeedPolicy,
  since: number,
): AlertMessage {
  const episode = `speedtest:${since}`;
  const base = {
    kind: 'speedtest' as const,
    at: newest.at,
    fields: resultFields(newest),
    incidentId: episode,
  };
  if (m.kind === 'breach') {
    const bad = recent.filter((r) => speedBreaches(r, policy).length > 0).length;
    return {
      ...base,
      id: `${episode}:slow`,
      severity: 'warning',
      title: `SLOW LINK — ${m.reasons[0] ?? 'below thresholds'} in ${bad} of the last ${recent.length} tests`,
      lines: m.reasons.slice(1),
      threadRoot: true,
    };
  }
  const lasted = formatDuration(newest.at - since);
  return {
    ...base,
    id: `${episode}:ok`,
    severity: 'ok',
    title: `LINK SPEED OK — speed tests healthy again after ${lasted}`,
    lines: [],
    threadRoot: false,
    resolvedNote: `resolved after ${lasted}`,
  };
}

// ---------------------------------------------------------------------------
// The service

/** Opens (or creates) `speedtests.json` and builds the service; nothing runs until `start()` or `run()`. */
export async function createSpeedtestService(o: SpeedtestServiceOptions): Promise<Speedtests> {
  const { settings, log } = o;
  const runner = o.runner ?? runSpeedtest;
  const maxAgeMs = o.retention?.maxAgeMs ?? 400 * DAY;
  const maxResults = o.retention?.maxResults ?? 20_000;
  const policy: SpeedPolicy = settings.thresholds;
  const windowSize = Math.max(1, Math.floor(policy.window ?? 5));

  const file = await StateFile.open<SpeedFile>({
    path: join(o.dataDir, 'speedtests.json'),
    initial: initialFile,
    validate: validateSpeedFile,
    onWriteError: (err) => log.error({ err }, 'writing speedtests.json failed; will retry'),
  });
  const data = file.data;

  /** Drops what retention no longer keeps, and servers no row points at any more. */
  const prune = (): boolean => {
    const old = bound(data.rows, o.now() - maxAgeMs);
    const drop = Math.max(old, data.rows.length - maxResults);
    if (drop <= 0) return false;
    data.rows.splice(0, drop);
    const used = [...new Set(data.rows.map((r) => r[8]))].sort((a, b) => a - b);
    const remap = new Map(used.map((was, now) => [was, now]));
    data.servers = used.map((i) => data.servers[i] ?? ['', 'cloudflare']);
    for (const r of data.rows) r[8] = remap.get(r[8]) ?? 0;
    return true;
  };
  if (prune()) await file.commit();

  const serverIndex = (url: string, protocol: SpeedtestProtocol): number => {
    const i = data.servers.findIndex(([u, p]) => u === url && p === protocol);
    if (i !== -1) return i;
    data.servers.push([url, protocol]);
    return data.servers.length - 1;
  };

  const store = (r: SpeedtestResult): void => {
    const row = encode(r, serverIndex(r.server, r.protocol));
    // Sorted insert: runs finish in order, but a clock set back must not break the binary search.
    data.rows.splice(bound(data.rows, r.at, true), 0, row);
    prune();
  };

  const latestWhere = (ok: (row: Row) => boolean): SpeedtestResult | undefined => {
    for (let i = data.rows.length - 1; i >= 0; i--) {
      const row = data.rows[i];
      if (row && ok(row)) return decode(row, data.servers);
    }
    return undefined;
  };

  /** The last `windowSize` results that did not fail: all the threshold policy looks at. */
  const recentMeasured = (): SpeedtestResult[] => {
    const out: SpeedtestResult[] = [];
    for (let i = data.rows.length - 1; i >= 0 && out.length < windowSize; i--) {
      const row = data.rows[i];
      if (row && row[11] == null) out.unshift(decode(row, data.servers));
    }
    return out;
  };

  const evaluate = async (): Promise<void> => {
    const recent = recentMeasured();
    const prev = data.alert;
    const next = evaluateSpeedThresholds(recent, policy, prev);
    const state: SpeedAlertState = { breaching: next.breaching };
    if (next.since !== undefined) state.since = next.since;
    const newest = recent.at(-1);
    if (next.message && newest) {
      const since = (next.message.kind === 'breach' ? next.since : prev.since) ?? newest.at;
      try {
        await o.alert([alertMessage(next.message, newest, recent, policy, since)]);
      } catch (err) {
        // Keep the old state: the next result decides again and the message goes out then.
        log.error({ err }, 'queuing the speed-test alert failed; it is retried after the next test');
        return;
      }
    }
    data.alert = state;
  };

  const progress = new Set<SpeedtestProgress>();
  let current: Promise<SpeedtestResult> | undefined;
  let abort: AbortController | undefined;
  let stopped = false;
  let task: ScheduledTask | undefined;

  const measure = async (signal: AbortSignal): Promise<SpeedtestResult> => {
    let result: SpeedtestResult;
    try {
      result = await runner({
        server: settings.server,
        protocol: settings.protocol,
        signal,
        now: o.now,
        onProgress: (phase, partial) => {
          for (const listener of progress) {
            try {
              listener(phase, partial);
            } catch {
              // One broken listener must not cost the others their updates.
            }
          }
        },
      });
    } catch (err) {
      // runSpeedtest never throws; another runner might, and run() promises a result.
      result = {
        ...nothingMeasured(settings, o.now()),
        error: { code: 'speedtest_bad_response', message: (err as Error).message },
      };
    }
    result = { ...result, server: withoutCredentials(result.server) };
    // A test cut short by shutdown measured nothing about the link.
    if (result.error?.code === 'speedtest_aborted') return result;
    if (result.error) log.warn({ error: result.error, server: result.server }, 'speed test failed');
    else
      log.info(
        { download: result.downloadMbps, upload: result.uploadMbps, latency: result.latencyMs },
        'speed test done',
      );
    store(result);
    await evaluate();
    try {
      await file.commit();
    } catch (err) {
      // StateFile keeps the data dirty and retries; the caller still gets its result.
      log.error({ err }, 'storing the speed-test result failed; will retry');
    }
    return result;
  };

  const service: SpeedtestApi = {
    run(opts = {}) {
      if (stopped) {
        return Promise.resolve({
          ...nothingMeasured(settings, o.now()),
          error: { code: 'speedtest_aborted', message: 'Lookout is shutting down' },
        });
      }
      if (opts.onProgress) progress.add(opts.onProgress);
      if (current) return current;
      const ctl = new AbortController();
      abort = ctl;
      current = measure(ctl.signal).finally(() => {
        current = undefined;
        abort = undefined;
        progress.clear();
      });
      return current;
    },
    latest: () => latestWhere(() => true),
    history(from, to) {
      return data.rows
        .slice(bound(data.rows, from), bound(data.rows, to))
        .map((r) => decode(r, data.servers));
    },
  };

  const out: Speedtests = {
    service,
    start() {
      if (stopped || task) return;
      const expr = settings.schedule?.trim();
      if (!expr) {
        if (settings.server.replace(/\/+$/, '') !== DEFAULT_SERVER)
          log.info(
            'speed tests run on demand only (speedtest now); set settings.speedtest.schedule, e.g. "*/30 * * * *", to run them on a schedule',
          );
        return;
      }
      if (!cron.validate(expr)) {
        log.error(
          `settings.speedtest.schedule "${expr}" is not a valid cron expression (e.g. "*/30 * * * *"); scheduled speed tests are off`,
        );
        return;
      }
      task = cron.schedule(
        expr,
        () => {
          void service.run();
        },
        { name: 'speedtest' },
      );
    },
    async stop() {
      stopped = true;
      await task?.destroy();
      task = undefined;
      abort?.abort();
      await current?.catch(() => undefined);
      await file.close();
    },
    registerRoutes(router) {
      router.on('GET', '/api/speedtests', (req) => {
        const q = req.url.searchParams;
        const to = parseQueryTime(q.get('to'), 'to', o.now());
        const from = parseQueryTime(q.get('from'), 'from', to - DAY);
        if (from >= to) throw new HttpError(400, 'from must be before to');
        // Without `to`, a test that started this very millisecond belongs in "up to now".
        return { results: service.history(from, q.get('to') ? to : Infinity) };
      });
      router.on('GET', '/api/speedtests/latest', () => {
        const result = service.latest();
        if (!result) throw new HttpError(404, 'no speed test has run yet');
        return { result };
      });
    },
    registerMetrics(registry) {
      // Labelled by server so that, before the first test, the gauges are absent rather than 0.
      const gauge = (
        name: string,
        help: string,
        value: (r: SpeedtestResult) => number,
        from: () => SpeedtestResult | undefined,
      ) =>
        new Gauge({
          name,
          help,
          labelNames: ['server'],
          registers: [registry],
          collect() {
            this.reset();
            const r = from();
            if (r) this.set({ server: r.server }, value(r));
          },
        });
      // Figures come from the latest test that measured something: a failed run reports zeros.
      const measured = () => latestWhere((row) => row[11] == null);
      gauge(
        'lookout_speedtest_download_mbps',
        'Download of the latest successful speed test, Mbps',
        (r) => r.downloadMbps,
        measured,
      );
      gauge(
        'lookout_speedtest_upload_mbps',
        'Upload of the latest successful speed test, Mbps',
        (r) => r.uploadMbps,
        measured,
      );
      gauge(
        'lookout_speedtest_latency_ms',
        'Idle latency of the latest successful speed test, ms',
        (r) => r.latencyMs,
        measured,
      );
      gauge(
        'lookout_speedtest_jitter_ms',
        'Jitter of the latest successful speed test, ms',
        (r) => r.jitterMs,
        measured,
      );
      gauge(
        'lookout_speedtest_last_run_timestamp_seconds',
        'When the latest speed test started, failed or not (Unix seconds)',
        (r) => r.at / 1000,
        service.latest,
      );
      gauge(
        'lookout_speedtest_last_run_ok',
        '1 when the latest speed test measured the link, 0 when it failed',
        (r) => (r.error ? 0 : 1),
        service.latest,
      );
    },
    running: () => current !== undefined,
  };
  if (settings.serve) out.mount = { prefix: '/speedtest/', handler: createSpeedtestHandler() };
  return out;
}

/** The figures of a run that measured nothing; the caller adds why. */
function nothingMeasured(settings: Settings['speedtest'], at: number): SpeedtestResult {
  return emptyResult(withoutCredentials(settings.server), settings.protocol, at);
}
