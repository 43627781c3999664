/**
 * A small router over node:http: the listener serves a dozen routes plus a few
 * mounted handlers (Slack, Telegram webhook, speed test), which does not justify
 * a framework's memory on a Pi. Errors are mapped once, here, to short JSON messages.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { LookoutError, ConflictError, ForbiddenError, NotFoundError, UsageError } from '../core/errors.js';

export interface Req {
  raw: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  params: Record<string, string>;
}

export type Handler = (req: Req) => Promise<unknown> | unknown;
/** A mounted handler sees the raw request; it returns false when it did not handle it. */
export type Mount = (
  req: IncomingMessage,
  res: ServerResponse,
  subpath: string,
) => boolean | Promise<boolean>;

/** An error with an HTTP status, for the few cases the domain errors do not cover. */
export class HttpError extends LookoutError {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`http_${status}`, message);
  }
}

/** A response that is not JSON. */
export class RawBody {
  constructor(
    readonly body: string | Buffer,
    readonly contentType: string,
    readonly status = 200,
    readonly headers: Record<string, string> = {},
  ) {}
}

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];
  private readonly mounts: Array<{ prefix: string; mount: Mount }> = [];

  constructor(private readonly onError: (err: unknown, req: Req) => void) {}

  on(method: string, path: string, handler: Handler): this {
    this.routes.push({ method, parts: path.split('/').filter(Boolean), handler });
    return this;
  }

  /** Hands every request under `prefix` to `mount` (e.g. `/speedtest/`). */
  mount(prefix: string, mount: Mount): this {
    this.mounts.push({ prefix, mount });
    return this;
  }

  async handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(raw.url ?? '/', 'http://lookout.invalid');
    const method = (raw.method ?? 'GET').toUpperCase();
    const req: Req = { raw, res, method, url, params: {} };
    try {
      for (const { prefix, mount } of this.mounts) {
        if (url.pathname.startsWith(prefix) && (await mount(raw, res, url.pathname.slice(prefix.length))))
          return;
      }
      const segs = url.pathname.split('/').filter(Boolean).map(safeDecode);
      let pathMatched = false;
      for (const r of this.routes) {
        const params = match(r.parts, segs);
        if (!params) continue;
        pathMatched = true;
        if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) continue;
        req.params = params;
        const out = await r.handler(req);
        if (!res.headersSent) send(res, out);
        return;
      }
      throw pathMatched
        ? new HttpError(405, `${method} is not allowed here`)
        : new HttpError(404, 'no such route');
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const [status, message, headers] = describe(err);
      if (status >= 500) this.onError(err, req);
      json(res, status, { error: message }, headers);
    }
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function match(parts: string[], segs: string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    const s = segs[i] as string;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

function describe(err: unknown): [number, string, Record<string, string>] {
  if (err instanceof HttpError) return [err.status, err.message, err.headers];
  if (err instanceof NotFoundError) return [404, err.message, {}];
  if (err instanceof ConflictError) return [409, err.message, {}];
  if (err instanceof ForbiddenError) return [403, err.message, {}];
  if (err instanceof UsageError) return [400, err.message, {}];
  return [500, 'internal error, see logs', {}];
}

function send(res: ServerResponse, out: unknown): void {
  if (out instanceof RawBody) {
    res.writeHead(out.status, { 'content-type': out.contentType, ...out.headers });
    res.end(out.body);
    return;
  }
  // Handlers may set res.statusCode (e.g. 201) before returning their body.
  json(res, out === undefined ? 204 : res.statusCode, out);
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Reads a JSON body of at most `limit` bytes; 400/413/415 with a clear message otherwise. */
export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new HttpError(415, 'send a JSON body with Content-Type: application/json');
  const text = await readText(req, limit);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the body is not valid JSON (${(e as Error).message})`);
  }
}

export async function readText(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Checks `Authorization: Bearer <token>` in constant time. */
export function requireToken(req: IncomingMessage, token: string | undefined): void {
  if (!token)
    throw new HttpError(403, 'the API is read-only: set API_TOKEN in the environment to enable changes');
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m)
    throw new HttpError(401, 'send Authorization: Bearer <API_TOKEN>', { 'www-authenticate': 'Bearer' });
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256')
    .update(m[1] as string)
    .digest();
  const b = createHash('sha256').update(token).digest();
  if (!timingSafeEqual(a, b)) throw new HttpError(401, 'wrong API token', { 'www-authenticate': 'Bearer' });
}

/** A time in a query string: ISO 8601 or epoch milliseconds; `fallback` when absent. */
export function parseQueryTime(v: string | null, name: string, fallback: number): number {
  if (v === null || v === '') return fallback;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n))
    throw new HttpError(400, `${name} must be an ISO time (2026-11-21T10:00:00Z) or epoch milliseconds`);
  return n;
}
