/**
 * HTTP(S) check on undici: a fresh connection per check (a monitor measures
 * what a new visitor gets, not a warm keep-alive socket), redirects followed by
 * hand so loops and limits are reported precisely, and a bounded body read so a
 * 1 GB response costs a few KB of memory.
 */
import { Client, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { CheckResult, Target } from '../core/types.js';
import type { Check, CheckContext } from './types.js';
import { failed } from './types.js';

/** Bytes of (decoded) body searched for `keyword`/`regex`; the rest is not read. */
export const BODY_LIMIT = 1 << 20;
const DEFAULT_ACCEPT = '200-399';
const USER_AGENT = 'Lookout uptime monitor';

export interface HttpCheckOptions {
  /** Extra CA certificates to trust (tests, private CAs). */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** Parses "200-299,301" into a predicate. */
export function acceptsStatus(spec: string, status: number): boolean {
  return spec.split(',').some((part) => {
    const [a, b] = part.split('-').map((s) => Number(s.trim()));
    return b === undefined ? status === a : status >= (a ?? 0) && status <= b;
  });
}

interface Timing {
  start: number;
  lookup?: number;
  connect?: number;
  secure?: number;
  cert?: { validTo: string; daysLeft: number };
}

const CERT_CODES: Record<string, string> = {
  CERT_HAS_EXPIRED: 'cert_expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'cert_self_signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'cert_self_signed',
  ERR_TLS_CERT_ALTNAME_INVALID: 'cert_hostname_mismatch',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'cert_untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'cert_untrusted',
  CERT_NOT_YET_VALID: 'cert_not_yet_valid',
};

/** Maps a thrown error to a stable code and a one-line message. */
export function classifyError(
  e: unknown,
  timedOut: boolean,
  timeoutS: number,
): { code: string; message: string } {
  if (timedOut) return { code: 'timeout', message: `no answer within ${timeoutS}s` };
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err.code ?? err.cause?.code ?? '';
  const cert = CERT_CODES[code];
  if (cert) return { code: cert, message: `TLS certificate problem: ${err.message}` };
  switch (code) {
    case 'ECONNREFUSED':
      return { code: 'connection_refused', message: 'connection refused (nothing listening on that port?)' };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return { code: 'connection_reset', message: 'the server closed the connection before answering' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code: 'dns_unresolved', message: `the host name does not resolve (${code})` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { code: 'unreachable', message: `no route to host (${code})` };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { code: 'timeout', message: `no answer within ${timeoutS}s` };
    default:
      // undici's parser errors do not always carry an HPE_ code; the class name is stable.
      if (code.startsWith('HPE_') || err.name === 'HTTPParserError' || err.cause?.name === 'HTTPParserError')
        return {
          code: 'protocol_error',
          message: `the server did not answer with valid HTTP (${err.message})`,
        };
      if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))
        return { code: 'tls_error', message: `TLS handshake failed: ${err.message}` };
      return { code: 'request_failed', message: (err.message || String(e)).slice(0, 200) };
  }
}

export function createHttpCheck(opts: HttpCheckOptions = {}): Check {
  // One connector for every check: it keeps TLS session tickets, so re-checks of an
  // https target resume instead of paying a full handshake (the dominant CPU cost).
  const connector = buildConnector({ ca: opts.ca, keepAlive: false } as buildConnector.BuildOptions);

  /** Wraps the shared connector to time this check's DNS, TCP and TLS phases. */
  const timedConnect =
    (t: Timing): buildConnector.connector =>
    (options, callback) => {
      const socket = connector(options, callback) as unknown as Socket;
      socket.once('lookup', () => (t.lookup = performance.now()));
      socket.once('connect', () => (t.connect = performance.now()));
      if (options.protocol === 'https:') {
        socket.once('secureConnect', () => {
          t.secure = performance.now();
          const peer = (socket as TLSSocket).getPeerCertificate();
          if (peer?.valid_to) {
            const end = Date.parse(peer.valid_to);
            t.cert = {
              validTo: new Date(end).toISOString(),
              daysLeft: Math.floor((end - Date.now()) / 86400000),
            };
          }
        });
      }
      return socket as never;
    };

  async function once(url: URL, target: Target, signal: AbortSignal, t: Timing, wantBody: boolean) {
    const client = new Client(url.origin, {
      connect: timedConnect(t),
      pipelining: 0,
      headersTimeout: target.timeout * 1000,
      bodyTimeout: target.timeout * 1000,
    });
    try {
      const res = await client.request({
        path: url.pathname + url.search,
        method: target.method ?? 'GET',
        headers: {
          'user-agent': USER_AGENT,
          accept: '*/*',
          // Only a body we will search is worth compressing; otherwise ask for none.
          'accept-encoding': wantBody ? 'gzip, deflate, br' : 'identity',
          connection: 'close',
        },
        signal,
      });
      return { res, client };
    } catch (e) {
      void client.destroy().catch(() => undefined);
      throw e;
    }
  }

  async function run(target: Target, ctx: CheckContext): Promise<CheckResult> {
    const start = performance.now();
    let url: URL;
    try {
      url = new URL(target.address);
    } catch {
      return failed(ctx.now(), 0, 'bad_address', `"${target.address}" is not a valid URL`);
    }
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, target.timeout * 1000);
    const onAbort = () => ac.abort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const t: Timing = { start };
    const wantBody = target.keyword !== undefined || target.regex !== undefined;
    const maxRedirects = target.maxRedirects ?? 5;
    const seen = new Set<string>([url.href]);
    const done = (error?: { code: string; message: string }, detail: CheckResult['detail'] = {}) =>
      finish(target, ctx, start, error, detail);
    try {
      for (let hop = 0; ; hop++) {
        const { res, client } = await once(
          url,
          target,
          ac.signal,
          hop === 0 ? t : { start: performance.now() },
          wantBody,
        );
        try {
          const ttfb = performance.now();
          const location = res.headers.location;
          if (
            res.statusCode >= 300 &&
            res.statusCode < 400 &&
            typeof location === 'string' &&
            maxRedirects > 0
          ) {
            discard(res.body);
            if (hop >= maxRedirects)
              return done({
                code: 'too_many_redirects',
                message: `more than ${maxRedirects} redirects (last: ${url.href})`,
              });
            const next = new URL(location, url);
            if (seen.has(next.href))
              return done({ code: 'redirect_loop', message: `redirect loop back to ${next.href}` });
            seen.add(next.href);
            url = next;
            continue;
          }
          // Read (and throw away) a bounded body even when nothing inspects it: a complete
          // response lets the connection close cleanly, which is cheaper than tearing it down.
          const text = wantBody
            ? await readBounded(res.body, res.headers['content-encoding'])
            : ((await res.body.dump({ limit: BODY_LIMIT })) ?? '');
          const total = performance.now() - start;
          const detail: CheckResult['detail'] = {
            status: res.statusCode,
            dns: ms(t.lookup, t.start),
            connect: ms(t.connect, t.lookup ?? t.start),
            tls: ms(t.secure, t.connect),
            ttfb: round1(ttfb - start),
            redirects: hop || undefined,
            url: hop > 0 ? url.href : undefined,
            certDaysLeft: t.cert?.daysLeft,
          };
          if (!acceptsStatus(target.accept ?? DEFAULT_ACCEPT, res.statusCode))
            return done({ code: 'http_status', message: `HTTP ${res.statusCode}` }, detail);
          if (target.keyword !== undefined && !text.includes(target.keyword))
            return done(
              { code: 'keyword_missing', message: `"${target.keyword}" not found in the response` },
              detail,
            );
          if (target.regex !== undefined && !new RegExp(target.regex).test(text))
            return done(
              { code: 'regex_mismatch', message: `the response does not match /${target.regex}/` },
              detail,
            );
          if (target.maxResponseMs !== undefined && total > target.maxResponseMs)
            return done(
              {
                code: 'too_slow',
                message: `answered in ${Math.round(total)} ms (limit ${target.maxResponseMs} ms)`,
              },
              detail,
            );
          return done(undefined, detail);
        } finally {
          // close() after a complete body costs no error objects; destroy() only when cut short.
          if (res.body.readableEnded) void client.close().catch(ignore);
          else void client.destroy().catch(ignore);
        }
      }
    } catch (e) {
      return done(classifyError(e, timedOut, target.timeout));
    } finally {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  }

  return { kind: 'http', run };
}

function finish(
  target: Target,
  ctx: CheckContext,
  start: number,
  error: { code: string; message: string } | undefined,
  detail: CheckResult['detail'],
): CheckResult {
  const total = round1(performance.now() - start);
  const r: CheckResult = { ok: !error, ms: total, at: ctx.now(), detail };
  if (error) r.error = error;
  if (!error && target.slowMs !== undefined && total > target.slowMs) r.warnings = ['slow'];
  return r;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const ignore = () => undefined;

/** Stops a body we will not read; undici reports the destroy as an error nobody needs. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', ignore);
  body.destroy();
}

function ms(end: number | undefined, start: number | undefined): number | undefined {
  return end === undefined || start === undefined ? undefined : round1(end - start);
}

/**
 * Reads at most BODY_LIMIT decoded bytes, only when something will look at them.
 * Decompression output is bounded too, so a gzip bomb stops at the limit.
 */
async function readBounded(
  body: Dispatcher.ResponseData['body'],
  encoding: string | string[] | undefined,
): Promise<string> {
  const enc = (Array.isArray(encoding) ? encoding[0] : encoding)?.trim().toLowerCase();
  let stream: NodeJS.ReadableStream = body;
  let decoder: Transform | undefined;
  if (enc === 'gzip' || enc === 'x-gzip') decoder = createGunzip();
  else if (enc === 'deflate') decoder = createInflate();
  else if (enc === 'br') decoder = createBrotliDecompress();
  if (decoder) {
    body.on('error', (e) => decoder.destroy(e));
    stream = body.pipe(decoder);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const room = BODY_LIMIT - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size >= BODY_LIMIT) break;
    }
  } finally {
    decoder?.destroy();
    discard(body);
  }
  return Buffer.concat(chunks).toString('utf8');
}
