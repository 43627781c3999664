/**
 * Lookout's own speed-test endpoints, mounted on the main listener (e.g. under
 * `/speedtest/`), so a branch instance can measure its link to head office with
 * either protocol:
 *
 * | route | does |
 * |---|---|
 * | `GET __down?bytes=N` | N bytes (Cloudflare-style), `Server-Timing: cfRequestDuration;dur=…` |
 * | `POST __up` | reads and discards the body, 200 |
 * | `GET garbage?ckSize=N` | N MiB (LibreSpeed-style; N defaults to 4) |
 * | `GET\|HEAD\|POST empty` | reads and discards any body, 200, `Cache-Control: no-store` (ping and upload sink) |
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

const MiB = 1024 * 1024;

export interface SpeedtestHandlerOptions {
  /** Largest download one request may ask for, in bytes. Default 100 MiB, so LibreSpeed's usual `ckSize=100` fits. */
  maxDownBytes?: number;
  /** Largest upload body one request may send, in bytes. Default 100 MiB. */
  maxUpBytes?: number;
  /** Transfers served at once; more get 429 with `Retry-After`. Empty requests (pings) do not count. Default 10. */
  maxConcurrent?: number;
  /** Longest one transfer may take; a client that reads slower is cut off so it cannot hold a slot forever. Default 60 000. */
  maxRequestMs?: number;
  /** When false the handler handles nothing (returns false), so the router answers 404. Default true. */
  enabled?: boolean;
}

/**
 * Handles `req` if `subpath` (the path below the mount, with or without a leading
 * slash; the query is read from `req.url`) is a speed-test route. Returns false
 * for anything else so the caller can go on routing.
 */
export type SpeedtestHandler = (req: IncomingMessage, res: ServerResponse, subpath: string) => boolean;

/** Sent over and over: random so no proxy can compress it, shared so no request allocates its size. */
let chunk: Buffer | undefined;
const payload = () => (chunk ??= randomBytes(64 * 1024));

const ROUTES = new Set(['__down', '__up', 'garbage', 'empty']);
const ALLOW: Record<string, string> = {
  __down: 'GET, OPTIONS',
  __up: 'POST, OPTIONS',
  garbage: 'GET, OPTIONS',
  empty: 'GET, HEAD, POST, OPTIONS',
};
const BASE_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Server-Timing',
  'timing-allow-origin': '*',
  'cache-control': 'no-store, no-cache, must-revalidate, max-age=0',
};

export function createSpeedtestHandler(opts: SpeedtestHandlerOptions = {}): SpeedtestHandler {
  const maxDownBytes = opts.maxDownBytes ?? 100 * MiB;
  const maxUpBytes = opts.maxUpBytes ?? 100 * MiB;
  const maxConcurrent = opts.maxConcurrent ?? 10;
  const maxRequestMs = opts.maxRequestMs ?? 60_000;
  const enabled = opts.enabled ?? true;
  const maxCkSize = Math.floor(maxDownBytes / MiB);
  let active = 0;

  /** Takes a transfer slot until the response closes, or answers 429. */
  const acquire = (res: ServerResponse): boolean => {
    if (active >= maxConcurrent) {
      reply(res, 429, `too many speed tests at once (limit ${maxConcurrent}), retry shortly`, {
        'retry-after': '5',
      });
      return false;
    }
    active++;
    const timer = setTimeout(() => res.destroy(), maxRequestMs);
    timer.unref();
    res.once('close', () => {
      active--;
      clearTimeout(timer);
    });
    return true;
  };

  return (req, res, subpath) => {
    if (!enabled) return false;
    const route = (subpath.replace(/^\/+/, '').split('?')[0] ?? '').replace(/\/+$/, '');
    if (!ROUTES.has(route)) return false;
    const started = performance.now();
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const method = req.method ?? 'GET';
    const allow = ALLOW[route] ?? 'OPTIONS';

    if (method === 'OPTIONS') {
      res.writeHead(204, {
        ...BASE_HEADERS,
        'access-control-allow-methods': allow,
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '86400',
      });
      res.end();
      return true;
    }
    if (!allow.split(', ').includes(method)) {
      reply(res, 405, `${method} not allowed here; use ${allow}`, { allow });
      return true;
    }

    switch (route) {
      case '__down': {
        const bytes = wholeNumber(query.get('bytes'), 0);
        if (bytes === undefined || bytes > maxDownBytes) {
          reply(res, 400, `bytes must be a whole number from 0 to ${maxDownBytes}`);
        } else if (bytes === 0 || acquire(res)) {
          send(res, bytes, started);
        }
        return true;
      }
      case 'garbage': {
        const ckSize = wholeNumber(query.get('ckSize'), 4);
        if (ckSize === undefined || ckSize < 1 || ckSize > maxCkSize) {
          reply(res, 400, `ckSize must be a whole number of MiB from 1 to ${maxCkSize}`);
        } else if (acquire(res)) {
          send(res, ckSize * MiB, started);
        }
        return true;
      }
      case '__up':
      case 'empty': {
        if (method !== 'POST') {
          reply(res, 200, '');
        } else if (tooLarge(req, maxUpBytes)) {
          rejectBody(req, res, maxUpBytes);
        } else if (acquire(res)) {
          drain(req, res, maxUpBytes);
        } else {
          // The 429 is out; do not read a body we refused.
          req.pause();
        }
        return true;
      }
    }
    return false;
  };
}

/** `value` as a non-negative integer, `fallback` when absent, undefined when malformed. */
function wholeNumber(value: string | null, fallback: number): number | undefined {
  if (value === null || value === '') return fallback;
  if (!/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

function reply(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const body = text === '' ? '' : `${text}\n`;
  res.writeHead(status, {
    ...BASE_HEADERS,
    ...headers,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Streams `total` bytes, writing again only when the socket drains, so a slow reader costs no memory. */
function send(res: ServerResponse, total: number, started: number): void {
  res.writeHead(200, {
    ...BASE_HEADERS,
    'content-type': 'application/octet-stream',
    'content-length': total,
    'server-timing': `cfRequestDuration;dur=${(performance.now() - started).toFixed(2)}`,
  });
  const buf = payload();
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      if (res.destroyed) return;
      const n = Math.min(buf.length, total - sent);
      sent += n;
      if (!res.write(n === buf.length ? buf : buf.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function tooLarge(req: IncomingMessage, max: number): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > max;
}

/** Refuses an upload without reading it; closing the connection spares us the rest of the body. */
function rejectBody(req: IncomingMessage, res: ServerResponse, max: number): void {
  req.pause();
  reply(res, 413, `upload too large: at most ${max} bytes`, { connection: 'close' });
}

/** Reads and discards the body; a chunked body that grows past `max` is cut off with 413. */
function drain(req: IncomingMessage, res: ServerResponse, max: number): void {
  let received = 0;
  req.on('data', (data: Buffer) => {
    received += data.length;
    if (received > max && !res.headersSent) {
      req.removeAllListeners('data');
      rejectBody(req, res, max);
    }
  });
  req.on('end', () => {
    if (!res.headersSent) reply(res, 200, '');
  });
  // A client that goes away mid-upload is normal here, not an error to log.
  req.on('error', () => undefined);
}
