/**
 * The web dashboard (SPEC §6 `GET /`): static files from `./assets` (plain ES
 * modules, no build step) plus the few read-only JSON routes the page needs that
 * the API lacks. One `GET /api/dashboard` per refresh carries every card, so a
 * phone polling every 10 s costs the Pi one request, not one per target.
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Monitor, WindowStats } from '../monitor.js';
import type { HistoryStore } from '../store/history-store.js';
import type { Target } from '../core/types.js';
import { HttpError, RawBody } from './router.js';
import type { Req, Router } from './router.js';

export interface DashboardOptions {
  monitor: Monitor;
  history: HistoryStore;
  /** Where index.html and friends live. Default: found beside this module (see `findAssetsDir`). */
  assetsDir?: string;
}

/** Checks shown as the status trail on each card. */
const CARD_TRAIL = 40;
/** Window stats walk the history (≈ 0.3 ms per target and window), so a refresh reuses recent ones. */
const TTL_24H_MS = 15_000;
const TTL_LONG_MS = 120_000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Only this origin's scripts and styles: the page renders data chosen by remote
 * servers (error messages, addresses), so an injection must not be able to run.
 */
const HTML_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
}

/**
 * tsc copies no assets: under tsx this module is `src/http/dashboard.ts` and the
 * files sit beside it; compiled it is `dist/src/http/dashboard.js`, where a build
 * step may have copied them (preferred), else the repository's `src/http/assets`
 * three levels up is used, which is there in every checkout and in an image that
 * ships the repository.
 */
export function findAssetsDir(): string | undefined {
  for (const rel of ['./assets/', '../../../src/http/assets/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const type = TYPES[extname(name)];
    if (!type || !statSync(path).isFile()) continue;
    const body = readFileSync(path);
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
    const gz = type.startsWith('image/png') ? undefined : gzipSync(body, { level: 9 });
    out.set(name, {
      body,
      gzip: gz && gz.length < body.length ? gz : undefined,
      type,
      etag: `"${hash}"`,
    });
  }
  return out;
}

/** Revalidated on every load (cheap 304s), so an upgrade never leaves a stale script behind. */
function serve(req: Req, a: Asset, extra: Record<string, string> = {}): RawBody {
  const gz = a.gzip !== undefined && /\bgzip\b/.test(String(req.raw.headers['accept-encoding'] ?? ''));
  const etag = gz ? `${a.etag.slice(0, -1)}-gz"` : a.etag;
  const headers: Record<string, string> = {
    etag,
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    ...extra,
  };
  const match = String(req.raw.headers['if-none-match'] ?? '');
  if (match.split(',').some((t) => t.trim() === etag)) return new RawBody('', a.type, 304, headers);
  if (gz) headers['content-encoding'] = 'gzip';
  return new RawBody(gz ? (a.gzip as Buffer) : a.body, a.type, 200, headers);
}

type TrailTuple = [number, number] | [number, number, string];

/**
 * JSON gzipped at level 1 when the client takes it: at 1,000 targets the body
 * goes from ≈ 1 MB to ≈ 0.1 MB for a few ms of CPU, and a phone polls it every 10 s.
 */
function compressedJson(req: Req, body: unknown): RawBody {
  const text = JSON.stringify(body);
  const headers = { 'cache-control': 'no-store', vary: 'accept-encoding' };
  const type = 'application/json; charset=utf-8';
  if (text.length < 1400 || !/\bgzip\b/.test(String(req.raw.headers['accept-encoding'] ?? '')))
    return new RawBody(text, type, 200, headers);
  return new RawBody(gzipSync(text, { level: 1 }), type, 200, { ...headers, 'content-encoding': 'gzip' });
}

interface Cached {
  s24: WindowStats;
  at24: number;
  up7d: number | null;
  up30d: number | null;
  atLong: number;
}

/** Window stats per target, recomputed only when older than their TTL. */
class StatsCache {
  private readonly byName = new Map<string, Cached>();
  constructor(private readonly m: Monitor) {}

  get(name: string, now: number): Cached {
    const h = this.m.history;
    const stats = (days: number) => h.stats(name, now - days * 86400e3, now, now);
    let c = this.byName.get(name);
    if (!c) {
      c = { s24: stats(1), at24: now, up7d: stats(7).uptime, up30d: stats(30).uptime, atLong: now };
      this.byName.set(name, c);
    }
    if (now - c.at24 > TTL_24H_MS) [c.s24, c.at24] = [stats(1), now];
    if (now - c.atLong > TTL_LONG_MS) [c.up7d, c.up30d, c.atLong] = [stats(7).uptime, stats(30).uptime, now];
    return c;
  }

  /** Forgets removed targets so the map does not grow. */
  prune(names: Set<string>): void {
    for (const n of this.byName.keys()) if (!names.has(n)) this.byName.delete(n);
  }
}

function summarize(m: Monitor, targets: Target[], cache: StatsCache, now: number) {
  const counts = { total: targets.length, up: 0, down: 0, paused: 0, unknown: 0 };
  let observed = 0;
  let down = 0;
  let open = 0;
  for (const t of targets) {
    counts[m.state(t.name).status]++;
    const s = cache.get(t.name, now).s24;
    observed += s.observedS;
    down += s.downtimeS;
    if (m.openIncident(t.name)) open++;
  }
  return {
    ...counts,
    /** Time-weighted over every target: the share of observed target-time that was up. */
    uptime24h: observed > 0 ? (observed - down) / observed : null,
    openIncidents: open,
  };
}

/**
 * What a card shows; smaller than the API's Target view because every open page
 * polls it. The trail is `[epochSeconds, ms]` for a success and
 * `[epochSeconds, ms, code]` for a failure (code may be ''): at 1,000 targets
 * that halves the response next to `{ t, ok, ms, code }` objects.
 */
function cardView(m: Monitor, t: Target, cache: StatsCache, now: number) {
  const s = m.state(t.name);
  const c = cache.get(t.name, now);
  const r = s.lastResult;
  const days = r?.detail.daysLeft ?? r?.detail.certDaysLeft;
  const inc = m.openIncident(t.name);
  return {
    name: t.name,
    kind: t.kind,
    address: t.address,
    tags: t.tags,
    interval: t.interval,
    source: t.source,
    paused: t.paused ?? false,
    pausedUntil: t.pausedUntil ?? null,
    state: {
      status: s.status,
      since: s.since,
      lastCheck: r?.at ?? null,
      ms: r?.ms ?? null,
      error: r?.error ?? null,
      certDaysLeft: typeof days === 'number' ? days : null,
    },
    uptime: { '24h': c.s24.uptime, '7d': c.up7d, '30d': c.up30d },
    latency24h: c.s24.latency ? { p50: c.s24.latency.p50, p95: c.s24.latency.p95 } : null,
    incident: inc ? { start: inc.start, cause: inc.cause, ackedBy: inc.ackedBy ?? null } : null,
    trail: m.history
      .trail(t.name, CARD_TRAIL)
      .map((x): TrailTuple => (x.ok ? [x.t / 1000, x.ms] : [x.t / 1000, x.ms, x.code ?? ''])),
  };
}

/** Serves `GET /`, `GET /assets/:file`, `GET /api/dashboard`, `GET /api/summary`, `GET /api/targets/:name/daily`. */
export function registerDashboard(router: Router, o: DashboardOptions): void {
  const m = o.monitor;
  const dir = o.assetsDir ?? findAssetsDir();
  const assets = dir ? loadAssets(dir) : new Map<string, Asset>();
  const cache = new StatsCache(m);

  router.on('GET', '/', (req) => {
    const index = assets.get('index.html');
    if (!index)
      return new RawBody(
        'Lookout is running, but the dashboard files were not found next to the program (src/http/assets). ' +
          'The API is at /api/targets.\n',
        'text/plain; charset=utf-8',
        503,
      );
    return serve(req, index, HTML_HEADERS);
  });

  router.on('GET', '/assets/:file', (req) => {
    const file = req.params.file as string;
    const a = file === 'index.html' ? undefined : assets.get(file);
    if (!a) throw new HttpError(404, `no asset "${file}"`);
    return serve(req, a);
  });

  router.on('GET', '/api/dashboard', (req) => {
    const now = m.now();
    const targets = m.list();
    cache.prune(new Set(targets.map((t) => t.name)));
    return compressedJson(req, {
      now,
      summary: summarize(m, targets, cache, now),
      targets: targets.map((t) => cardView(m, t, cache, now)),
    });
  });

  router.on('GET', '/api/summary', () => {
    const now = m.now();
    return summarize(m, m.list(), cache, now);
  });

  router.on('GET', '/api/targets/:name/daily', (req) => {
    const t = m.get(req.params.name as string);
    const raw = req.url.searchParams.get('days') ?? '90';
    const days = Number(raw);
    if (!Number.isInteger(days) || days < 1 || days > 366)
      throw new HttpError(400, `days must be a whole number from 1 to 366 (got "${raw}")`);
    return { target: t.name, days: o.history.dailyUptime(t.name, days, m.now()) };
  });
}
