/**
 * Misbehaving and throttled speed-test servers on loopback port 0, for the client
 * tests: a link of known speed and delay is the only way to check the figures.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createConnection, createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

const MiB = 1024 * 1024;
const CHUNK = randomBytes(16 * 1024);

/**
 * A shared pace of `rate` bytes/s (GCRA): each caller waits until its bytes fit
 * the schedule. `burstMs` of lateness is caught up, so a busy event loop does
 * not lower the rate, and at most `burstMs` worth goes out at once after idling.
 */
export function pacer(rate: number, burstMs = 20): (n: number) => Promise<void> | undefined {
  let tat = performance.now();
  return (n) => {
    const now = performance.now();
    tat = Math.max(tat, now) + (n / rate) * 1000;
    const wait = tat - burstMs - now;
    return wait > 0 ? sleep(wait) : undefined;
  };
}

export interface SpeedServerOptions {
  /** Download pace for all connections together, bytes/s. Default: as fast as loopback goes. */
  downRate?: number;
  /** Pace at which uploads are read, all connections together, bytes/s. Default: unthrottled. */
  upRate?: number;
  /** Wait before answering each request (a simulated round trip), ms; an array is cycled request by request. */
  delayMs?: number | number[];
  /** Extra wait before answering, reported as `Server-Timing: cfRequestDuration;dur=…` (server think time). */
  serverTimingMs?: number;
  /**
   * `stall`: transfers (non-empty downloads, uploads) get headers, then nothing;
   * `endless`: downloads never end and ignore the requested size, at full speed.
   * Empty requests (latency probes) are always answered normally.
   */
  mode?: 'normal' | 'stall' | 'endless';
  /** Answer every request with this status instead. */
  failWith?: number;
}

export interface SpeedServer {
  /** Base URL including the mount, e.g. `http://127.0.0.1:41234/speedtest`. */
  url: string;
  /** Requests seen so far. */
  requests: number;
  /** Body bytes read from uploads. */
  uploaded: number;
  close(): Promise<void>;
}

/** Serves `__down`, `__up`, `garbage` and `empty` under any prefix (the last path segment decides). */
export async function startSpeedServer(opts: SpeedServerOptions = {}): Promise<SpeedServer> {
  const down = opts.downRate === undefined ? undefined : pacer(opts.downRate);
  const up = opts.upRate === undefined ? undefined : pacer(opts.upRate);
  const delays =
    opts.delayMs === undefined ? [0] : Array.isArray(opts.delayMs) ? opts.delayMs : [opts.delayMs];
  const state = { requests: 0, uploaded: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const index = state.requests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = url.pathname.split('/').at(-1) ?? '';
    const delay = delays[index % delays.length] ?? 0;
    if (delay > 0) await sleep(delay);
    if (opts.serverTimingMs) await sleep(opts.serverTimingMs);
    const timing = { 'server-timing': `cfRequestDuration;dur=${opts.serverTimingMs ?? 0}` };

    if (opts.failWith !== undefined) {
      res.writeHead(opts.failWith, { 'retry-after': '7' }).end('nope');
      return;
    }
    if (req.method === 'POST') {
      if (opts.mode === 'stall') {
        // Never read, never answer: the client's buffers fill and it stops making progress.
        req.pause();
        return;
      }
      req.on('data', (data: Buffer) => {
        state.uploaded += data.length;
        const wait = up?.(data.length);
        if (wait) {
          req.pause();
          void wait.then(() => req.resume());
        }
      });
      req.on('end', () => res.writeHead(200, timing).end());
      return;
    }
    const size =
      route === '__down'
        ? Number(url.searchParams.get('bytes') ?? 0)
        : route === 'garbage'
          ? Number(url.searchParams.get('ckSize') ?? 4) * MiB
          : 0;
    if (size === 0) {
      res.writeHead(200, { ...timing, 'content-length': 0 }).end();
      return;
    }
    if (opts.mode === 'stall') {
      res.writeHead(200, { ...timing, 'content-length': size });
      res.flushHeaders();
      return;
    }
    const endless = opts.mode === 'endless';
    res.writeHead(200, endless ? timing : { ...timing, 'content-length': size });
    const total = endless ? Infinity : size;
    let sent = 0;
    while (sent < total && !res.destroyed) {
      const n = Math.min(CHUNK.length, total - sent);
      const wait = endless ? undefined : down?.(n);
      if (wait) await wait;
      if (res.destroyed) break;
      sent += n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        await drained(res);
      }
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  return wrap(server, '/speedtest', state);
}

/** Listens on 127.0.0.1 port 0 and exposes the counters and a close that does not wait for clients. */
async function wrap<T extends { requests: number; uploaded: number }>(
  server: Server,
  mount: string,
  state: T,
): Promise<SpeedServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${mount}`,
    get requests() {
      return state.requests;
    },
    get uploaded() {
      return state.uploaded;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves when `stream` can take more, or is gone; leaves no listener behind either way. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

export interface ThrottledProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP relay that carries bytes towards the client at `downRate` and towards
 * the server at `upRate` (bytes/s, shared by all connections), like a link of
 * that speed in front of an unthrottled server.
 */
export async function startThrottledProxy(
  targetPort: number,
  downRate: number,
  upRate: number,
): Promise<ThrottledProxy> {
  const down = pacer(downRate);
  const up = pacer(upRate);
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket, pace: (n: number) => Promise<void> | undefined) => {
    from.on('data', (data: Buffer) => {
      from.pause();
      void (async () => {
        await pace(data.length);
        if (to.destroyed) return;
        if (!to.write(data)) await drained(to);
        from.resume();
      })();
    });
    from.on('end', () => to.end());
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const server = createTcpServer((client) => {
    const upstream = createConnection(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    relay(client, upstream, up);
    relay(upstream, client, down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
