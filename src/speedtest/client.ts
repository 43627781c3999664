/**
 * Speed-test client for Cloudflare-style (`__down`, `__up`) and LibreSpeed-style
 * (`garbage`, `empty`) servers. It never throws: every failure, limit or
 * cancellation ends up in the returned result, with whatever was measured so far.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { LookoutError } from '../core/errors.js';
import type {
  SpeedtestEndpoints,
  SpeedtestError,
  SpeedtestErrorCode,
  SpeedtestOptions,
  SpeedtestPhase,
  SpeedtestProtocol,
  SpeedtestResult,
} from './types.js';

// ---------------------------------------------------------------------------
// Pure helpers

/** Median; NaN for no samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const upper = sorted[mid] ?? NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? NaN) + upper) / 2;
}

/**
 * Mean absolute difference of consecutive samples, in the order given. The order
 * is the signal: sorting first would turn a 20/60/20/60 ms pattern into ~0 jitter.
 * 0 for fewer than two samples.
 */
export function jitter(samples: readonly number[]): number {
  if (samples.length < 2) return 0;
  let sum = 0;
  for (let i = 1; i < samples.length; i++) sum += Math.abs((samples[i] ?? 0) - (samples[i - 1] ?? 0));
  return sum / (samples.length - 1);
}

/** The p-th percentile (0–100), interpolated linearly between ranks; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const below = sorted[lo] ?? NaN;
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] ?? below;
  return below + (above - below) * (rank - lo);
}

/**
 * `endpoint` under the server's base URL, keeping its path prefix:
 * `http://hq:8080/speedtest` + `__down` → `http://hq:8080/speedtest/__down`.
 */
export function endpointUrl(
  server: string,
  endpoint: string,
  query: Record<string, string | number> = {},
): URL {
  const url = new URL(server);
  const prefix = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  url.pathname = prefix + endpoint.replace(/^\/+/, '');
  url.hash = '';
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
  return url;
}

/**
 * Server processing time in ms from a `Server-Timing` header: the
 * `cfRequestDuration` entry when present, else the first entry with a `dur`.
 */
export function parseServerTiming(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const entries = (Array.isArray(header) ? header.join(',') : header).split(',');
  let first: number | undefined;
  for (const entry of entries) {
    const [name = '', ...params] = entry.split(';').map((p) => p.trim());
    const dur = params.find((p) => p.toLowerCase().startsWith('dur='));
    if (dur === undefined) continue;
    const ms = Number(dur.slice(4).replace(/^"|"$/g, ''));
    if (!Number.isFinite(ms) || ms < 0) continue;
    if (name === 'cfRequestDuration') return ms;
    first ??= ms;
  }
  return first;
}

// ---------------------------------------------------------------------------
// Settings

const MiB = 1024 * 1024;
const DEFAULT_ENDPOINTS: Required<SpeedtestEndpoints> = {
  down: '__down',
  up: '__up',
  garbage: 'garbage',
  empty: 'empty',
};
/** First Cloudflare transfer size; small enough to be harmless on any link. */
const FIRST_SIZE = 100_000;
/** Below this a transfer measures latency, not throughput: not worth starting. */
const MIN_SIZE = 10_000;
/** First LibreSpeed upload request per stream; later ones are sized from the rate seen. */
const FIRST_UPLOAD = 256 * 1024;
/** Gap between latency probes under load. */
const LOADED_INTERVAL_MS = 200;
/** One shared upload chunk, reused for every request: an upload never allocates its size. */
const CHUNK = randomBytes(64 * 1024);
const REQUEST_HEADERS = { 'cache-control': 'no-store', 'user-agent': 'lookout-speedtest' };

interface Settings {
  server: string;
  protocol: SpeedtestProtocol;
  streams: number;
  maxDurationMs: number;
  maxBytes: number;
  latencySamples: number;
  stallTimeoutMs: number;
  minTransferMs: number;
  finalRounds: number;
  maxRequestBytes: number;
  phaseDurationMs: number;
  warmupMs: number;
  ckSize: number;
  uploadRequestBytes: number;
  endpoints: Required<SpeedtestEndpoints>;
}

class SpeedtestFailure extends LookoutError {
  override name = 'SpeedtestFailure';
  declare readonly code: SpeedtestErrorCode;
  constructor(code: SpeedtestErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

function settle(o: SpeedtestOptions): Settings {
  const bad = (msg: string): never => {
    throw new SpeedtestFailure('speedtest_bad_config', msg);
  };
  let url: URL | undefined;
  try {
    url = new URL(o.server);
  } catch {
    bad(`server must be an http(s) URL (got ${JSON.stringify(o.server)})`);
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    bad(`server must be an http(s) URL (got ${JSON.stringify(o.server)})`);
  }
  const protocol = o.protocol ?? 'cloudflare';
  if (protocol !== 'cloudflare' && protocol !== 'librespeed') {
    bad(`protocol must be cloudflare or librespeed (got ${String(protocol)})`);
  }
  const num = (name: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v < min || v > max)
      bad(`${name} must be between ${min} and ${max} (got ${v})`);
    return v;
  };
  const int = (name: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const v = num(name, value, fallback, min, max);
    if (!Number.isInteger(v)) bad(`${name} must be a whole number (got ${v})`);
    return v;
  };
  const phaseDurationMs = num('phaseDurationMs', o.phaseDurationMs, 10_000, 100, 600_000);
  return {
    server: o.server,
    protocol,
    streams: int('streams', o.streams, 4, 1, 32),
    maxDurationMs: num('maxDurationMs', o.maxDurationMs, 30_000, 100, 3_600_000),
    maxBytes: int('maxBytes', o.maxBytes, 200_000_000, MIN_SIZE, Number.MAX_SAFE_INTEGER),
    latencySamples: int('latencySamples', o.latencySamples, 20, 1, 1000),
    stallTimeoutMs: num('stallTimeoutMs', o.stallTimeoutMs, 5_000, 10, 600_000),
    minTransferMs: num('minTransferMs', o.minTransferMs, 1_000, 10, 600_000),
    finalRounds: int('finalRounds', o.finalRounds, 3, 1, 100),
    maxRequestBytes: int(
      'maxRequestBytes',
      o.maxRequestBytes,
      100_000_000,
      MIN_SIZE,
      Number.MAX_SAFE_INTEGER,
    ),
    phaseDurationMs,
    // A warm-up longer than half the phase would leave too little to measure.
    warmupMs: Math.min(num('warmupMs', o.warmupMs, 1_500, 0, 600_000), phaseDurationMs / 2),
    ckSize: int('ckSize', o.ckSize, 100, 1, 1024),
    uploadRequestBytes: int('uploadRequestBytes', o.uploadRequestBytes, 8 * MiB, MIN_SIZE, 1024 * MiB),
    endpoints: { ...DEFAULT_ENDPOINTS, ...o.endpoints },
  };
}

// ---------------------------------------------------------------------------
// Run plumbing: budgets, phases, cancellation

/** Marks a phase that ended normally (deadline or byte budget): transfers then report what they moved. */
const PHASE_END = Symbol('phase end');

/** Aborts `ctl` when `parent` aborts; returns the unlink so finished requests do not pile up listeners. */
function follow(
  parent: AbortSignal,
  ctl: AbortController,
  reason: () => unknown = () => parent.reason,
): () => void {
  if (parent.aborted) {
    ctl.abort(reason());
    return () => undefined;
  }
  const onAbort = () => ctl.abort(reason());
  parent.addEventListener('abort', onAbort, { once: true });
  return () => parent.removeEventListener('abort', onAbort);
}

class ByteBudget {
  used = 0;
  constructor(readonly max: number) {}
  get left(): number {
    return Math.max(0, this.max - this.used);
  }
  take(n: number): number {
    const granted = Math.min(n, this.left);
    this.used += granted;
    return granted;
  }
  giveBack(n: number): void {
    this.used -= Math.min(n, this.used);
  }
}

interface Run {
  s: Settings;
  agent: Agent;
  master: AbortSignal;
  budget: ByteBudget;
  bytesDown: number;
  bytesUp: number;
  limitedBy?: 'bytes' | 'duration';
}

/** A time-boxed part of the run with its own share of the byte budget. */
class Phase {
  readonly signal: AbortSignal;
  readonly budget: ByteBudget;
  endedAt: number | undefined;
  deadlineHit = false;
  private readonly ctl = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly unlink: () => void;

  constructor(
    private readonly run: Run,
    deadline: number,
    maxBytes: number,
  ) {
    this.signal = this.ctl.signal;
    this.budget = new ByteBudget(maxBytes);
    this.unlink = follow(run.master, this.ctl);
    this.timer = setTimeout(
      () => {
        if (!this.signal.aborted) this.deadlineHit = true;
        this.end();
      },
      Math.max(0, deadline - performance.now()),
    );
  }

  /** Grants up to `n` bytes; running short ends the phase, as the byte cap is reached. */
  take(n: number): number {
    const granted = this.budget.take(n);
    if (granted < n) {
      this.run.limitedBy ??= 'bytes';
      this.end();
    }
    return granted;
  }

  end(): void {
    if (this.signal.aborted) return;
    this.endedAt = performance.now();
    this.ctl.abort(PHASE_END);
  }

  /** Ends the phase and settles its bytes against the run's budget. */
  close(): void {
    clearTimeout(this.timer);
    this.end();
    this.unlink();
    this.run.budget.take(this.budget.used);
  }
}

/**
 * Runs every task; the first failure ends the others (through `stop`) and is
 * rethrown once all have settled, so no request outlives its phase.
 */
async function all<T>(tasks: Array<() => Promise<T>>, stop: () => void): Promise<T[]> {
  let failure: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    tasks.map((task) =>
      task().catch((error: unknown) => {
        if (failure === undefined) {
          failure = { error };
          stop();
        }
        throw error;
      }),
    ),
  );
  if (failure !== undefined) throw failure.error;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Sleeps, waking early (without throwing) when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function stalled(run: Run, url: URL): SpeedtestFailure {
  return new SpeedtestFailure(
    'speedtest_timeout',
    `${url.host} stalled: nothing received for ${run.s.stallTimeoutMs} ms on ${url.pathname}`,
  );
}

async function expectOk(run: Run, res: Dispatcher.ResponseData, method: string, url: URL): Promise<void> {
  if (res.statusCode >= 200 && res.statusCode < 300) return;
  await res.body.dump().catch(() => undefined);
  if (res.statusCode === 429) {
    const after = res.headers['retry-after'];
    throw new SpeedtestFailure(
      'speedtest_rate_limited',
      `${url.host} is busy (429)${after === undefined ? '' : `, retry after ${String(after)} s`}`,
    );
  }
  throw new SpeedtestFailure(
    'speedtest_bad_response',
    `${method} ${url.pathname} answered ${res.statusCode}: is ${run.s.server} a ${run.s.protocol} speed-test server?`,
  );
}

// ---------------------------------------------------------------------------
// Single requests

/** Round trip of one empty request, minus the processing time the server reports. */
async function probe(run: Run, parent: AbortSignal, url: URL): Promise<number> {
  const ctl = new AbortController();
  const unlink = follow(parent, ctl);
  const dog = setTimeout(() => ctl.abort(stalled(run, url)), run.s.stallTimeoutMs);
  try {
    const t0 = performance.now();
    const res = await request(url, {
      dispatcher: run.agent,
      method: 'GET',
      headers: REQUEST_HEADERS,
      signal: ctl.signal,
    });
    const rtt = performance.now() - t0;
    await expectOk(run, res, 'GET', url);
    await res.body.dump({ limit: 64 * 1024 });
    const serverMs = parseServerTiming(res.headers['server-timing']);
    return serverMs !== undefined && serverMs < rtt ? rtt - serverMs : rtt;
  } catch (e) {
    throw ctl.signal.aborted ? ctl.signal.reason : e;
  } finally {
    clearTimeout(dog);
    unlink();
  }
}

interface Transfer {
  bytes: number;
  start: number;
  /** When the response headers arrived (download) or the request started (upload). */
  first: number;
  end: number;
  /** False when the phase ended first; `bytes` is then what moved until that moment. */
  complete: boolean;
}

/** GETs `url`, reading at most `cap` bytes: a server that sends more is cut off there. */
async function downloadOnce(
  run: Run,
  phase: Phase,
  url: URL,
  cap: number,
  meter?: (n: number) => void,
): Promise<Transfer> {
  const ctl = new AbortController();
  const unlink = follow(phase.signal, ctl);
  const dog = setTimeout(() => ctl.abort(stalled(run, url)), run.s.stallTimeoutMs);
  const start = performance.now();
  let first = NaN;
  let bytes = 0;
  try {
    const res = await request(url, {
      dispatcher: run.agent,
      method: 'GET',
      headers: REQUEST_HEADERS,
      signal: ctl.signal,
    });
    dog.refresh();
    first = performance.now();
    await expectOk(run, res, 'GET', url);
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      dog.refresh();
      const wanted = Math.min(chunk.length, cap - bytes);
      const n = phase.take(wanted);
      bytes += n;
      run.bytesDown += n;
      meter?.(n);
      // Leaving the loop destroys the body, which is how an endless server is cut off.
      if (n < chunk.length) break;
    }
    return { bytes, start, first, end: performance.now(), complete: !phase.signal.aborted };
  } catch (e) {
    const reason = ctl.signal.aborted ? ctl.signal.reason : e;
    if (reason === PHASE_END) return { bytes, start, first, end: performance.now(), complete: false };
    throw reason;
  } finally {
    clearTimeout(dog);
    unlink();
  }
}

/**
 * POSTs `size` bytes of the shared chunk. Progress is what the connection has
 * taken from us; once all is taken, the wait for the answer is bounded by the
 * phase, not the stall timer, because socket buffers may still hold megabytes a
 * slow link has yet to carry.
 */
async function uploadOnce(
  run: Run,
  phase: Phase,
  url: URL,
  size: number,
  meter?: (n: number) => void,
): Promise<Transfer> {
  const start = performance.now();
  const granted = phase.take(size);
  if (granted < size) {
    phase.budget.giveBack(granted);
    return { bytes: 0, start, first: start, end: start, complete: false };
  }
  const ctl = new AbortController();
  const unlink = follow(phase.signal, ctl);
  const dog = setTimeout(() => ctl.abort(stalled(run, url)), run.s.stallTimeoutMs);
  let pulled = 0;
  function* body(): Generator<Buffer> {
    while (pulled < size) {
      const n = Math.min(CHUNK.length, size - pulled);
      pulled += n;
      run.bytesUp += n;
      meter?.(n);
      dog.refresh();
      yield n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n);
    }
    clearTimeout(dog);
  }
  try {
    const res = await request(url, {
      dispatcher: run.agent,
      method: 'POST',
      headers: {
        ...REQUEST_HEADERS,
        'content-type': 'application/octet-stream',
        'content-length': String(size),
      },
      body: Readable.from(body(), { objectMode: false }),
      signal: ctl.signal,
    });
    const end = performance.now();
    await expectOk(run, res, 'POST', url);
    await res.body.dump({ limit: 64 * 1024 });
    return { bytes: size, start, first: start, end, complete: true };
  } catch (e) {
    const reason = ctl.signal.aborted ? ctl.signal.reason : e;
    if (reason === PHASE_END) {
      phase.budget.giveBack(size - pulled);
      return { bytes: pulled, start, first: start, end: performance.now(), complete: false };
    }
    throw reason;
  } finally {
    clearTimeout(dog);
    unlink();
  }
}

// ---------------------------------------------------------------------------
// Latency

async function idleLatency(run: Run, deadline: number, url: () => URL): Promise<number[]> {
  const phase = new Phase(run, deadline, 0);
  const samples: number[] = [];
  try {
    // The first request pays for DNS, TCP and TLS: it is not a round trip.
    await probe(run, phase.signal, url());
    while (samples.length < run.s.latencySamples) samples.push(await probe(run, phase.signal, url()));
  } catch (e) {
    if (e !== PHASE_END) throw e;
  } finally {
    phase.close();
  }
  if (run.master.aborted) throw run.master.reason;
  if (samples.length === 0) {
    throw new SpeedtestFailure(
      'speedtest_timeout',
      `no latency sample from ${run.s.server} within the time limit`,
    );
  }
  return samples;
}

/** Probes latency until `signal` ends; failures under load are a symptom, not a reason to fail the run. */
async function loadedLatency(run: Run, signal: AbortSignal, url: () => URL): Promise<number[]> {
  const samples: number[] = [];
  // Let the streams ramp up first, or the first sample is an idle one.
  await pause(LOADED_INTERVAL_MS, signal);
  while (!signal.aborted) {
    try {
      samples.push(await probe(run, signal, url()));
    } catch {
      if (signal.aborted) break;
    }
    await pause(LOADED_INTERVAL_MS, signal);
  }
  return samples;
}

/** Runs `work` with latency probes alongside, stopping them when it finishes. */
async function underLoad<T>(
  run: Run,
  phase: Phase,
  url: () => URL,
  work: () => Promise<T>,
): Promise<{ value: T; loaded: number[] }> {
  const stop = new AbortController();
  const unlink = follow(phase.signal, stop);
  const sampler = loadedLatency(run, stop.signal, url);
  const halt = () => {
    stop.abort(PHASE_END);
    unlink();
    return sampler;
  };
  try {
    const value = await work();
    return { value, loaded: await halt() };
  } catch (e) {
    await halt();
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Cloudflare: growing sizes, p90 of round rates

interface Round {
  /** Bytes per second over the round, all streams together. */
  rate: number;
  bytes: number;
  ms: number;
  complete: boolean;
}

async function cloudflareRound(run: Run, phase: Phase, dir: 'down' | 'up', size: number): Promise<Round> {
  const { s } = run;
  const start = performance.now();
  const transfers = await all(
    Array.from({ length: s.streams }, () => () => {
      if (dir === 'down') {
        return downloadOnce(run, phase, endpointUrl(s.server, s.endpoints.down, { bytes: size }), size);
      }
      return uploadOnce(run, phase, endpointUrl(s.server, s.endpoints.up), size);
    }),
    () => phase.end(),
  );
  const complete = transfers.every((t) => t.complete);
  // What an unfinished upload delivered is unknown (it may sit in socket buffers): no figure.
  if (dir === 'up' && !complete) return { rate: 0, bytes: 0, ms: 0, complete };
  const bytes = transfers.reduce((sum, t) => sum + t.bytes, 0);
  // Downloads count from the first response headers, so server think time is not bandwidth.
  const firsts = transfers.map((t) => t.first).filter((t) => Number.isFinite(t));
  const from = dir === 'down' && firsts.length > 0 ? Math.min(...firsts) : start;
  const ms = Math.max(...transfers.map((t) => t.end)) - from;
  return { rate: ms > 0 ? (bytes / ms) * 1000 : 0, bytes, ms: Math.max(0, ms), complete };
}

/**
 * Grows the per-stream size until a round takes `minTransferMs`, measures
 * `finalRounds` rounds there, and returns the 90th percentile of the rates of the
 * rounds long enough to count (the short ones were warm-up).
 */
async function cloudflareDirection(
  run: Run,
  dir: 'down' | 'up',
  deadline: number,
  maxBytes: number,
  loadedUrl?: () => URL,
): Promise<{ rate: number; loaded: number[] }> {
  const { s } = run;
  const phase = new Phase(run, deadline, maxBytes);
  const rounds: Round[] = [];
  const ladder = async () => {
    let size = Math.min(FIRST_SIZE, s.maxRequestBytes);
    let atFinal = 0;
    let lastRate = 0;
    while (!phase.signal.aborted) {
      // Shrink the round to what the time left and the bytes left allow.
      const timeLeft = deadline - performance.now();
      if (lastRate > 0) size = Math.min(size, Math.floor((lastRate * timeLeft * 0.8) / 1000 / s.streams));
      size = Math.min(size, Math.floor(phase.budget.left / s.streams));
      if (size < MIN_SIZE) {
        if (phase.budget.left < MIN_SIZE * s.streams) run.limitedBy ??= 'bytes';
        else run.limitedBy ??= 'duration';
        return;
      }
      const round = await cloudflareRound(run, phase, dir, size);
      if (round.ms > 0 && round.bytes > 0) rounds.push(round);
      if (!round.complete) return;
      lastRate = round.rate;
      if (round.ms >= s.minTransferMs || size >= s.maxRequestBytes) {
        if (++atFinal >= s.finalRounds) return;
        continue;
      }
      const target = (round.rate * s.minTransferMs * 1.25) / 1000 / s.streams;
      size = Math.min(s.maxRequestBytes, Math.round(Math.min(size * 10, Math.max(size * 2, target))));
    }
  };
  let loaded: number[] = [];
  try {
    if (loadedUrl) loaded = (await underLoad(run, phase, loadedUrl, ladder)).loaded;
    else await ladder();
  } finally {
    phase.close();
  }
  if (run.master.aborted) throw run.master.reason;
  if (phase.deadlineHit) run.limitedBy ??= 'duration';
  if (rounds.length === 0) {
    throw new SpeedtestFailure(
      'speedtest_timeout',
      `${dir === 'down' ? 'download' : 'upload'}: no transfer to ${run.s.server} finished within the limits`,
    );
  }
  const longest = Math.max(...rounds.map((r) => r.ms));
  const floor = Math.min(s.minTransferMs, longest) / 2;
  const rate = percentile(
    rounds.filter((r) => r.ms >= floor).map((r) => r.rate),
    90,
  );
  return { rate, loaded };
}

async function cloudflare(run: Run, result: SpeedtestResult, emit: Emit, end: number): Promise<void> {
  const { s } = run;
  const zero = () => endpointUrl(s.server, s.endpoints.down, { bytes: 0 });
  emit('latency', result);
  const start = performance.now();
  const samples = await idleLatency(run, start + s.maxDurationMs * 0.2, zero);
  setLatency(result, samples);

  emit('download', result);
  const half = performance.now() + (end - performance.now()) / 2;
  const down = await cloudflareDirection(run, 'down', half, Math.floor(run.budget.left / 2), zero);
  result.downloadMbps = mbps(down.rate);
  if (down.loaded.length > 0) result.loadedLatencyMs = round1(median(down.loaded));

  emit('upload', result);
  const up = await cloudflareDirection(run, 'up', end, run.budget.left);
  result.uploadMbps = mbps(up.rate);
}

// ---------------------------------------------------------------------------
// LibreSpeed: fixed duration, warm-up discarded

/** Keeps `streams` workers going until the phase ends; the first failure stops the rest. */
function keepStreaming<T>(run: Run, phase: Phase, worker: () => Promise<T>): Promise<T[]> {
  return all(
    Array.from({ length: run.s.streams }, () => worker),
    () => phase.end(),
  );
}

/**
 * Download: bytes received after the warm-up over the time after the warm-up.
 * Receiving is what the client sees exactly, so one window over all streams is right.
 */
async function librespeedDownload(run: Run, phase: Phase, url: () => URL): Promise<number> {
  const { s } = run;
  const start = performance.now();
  let moved = 0;
  let mark: { at: number; bytes: number } | undefined;
  const warm = setTimeout(() => (mark = { at: performance.now(), bytes: moved }), s.warmupMs);
  try {
    await keepStreaming(run, phase, async () => {
      while (!phase.signal.aborted) {
        const t = await downloadOnce(run, phase, url(), s.ckSize * MiB, (n) => (moved += n));
        if (!t.complete) return;
      }
    });
  } finally {
    clearTimeout(warm);
  }
  if (run.master.aborted) throw run.master.reason;
  // The byte cap may end a phase before its warm-up does: then the whole phase counts.
  const from = mark ?? { at: start, bytes: 0 };
  const to = phase.endedAt ?? performance.now();
  return to > from.at ? ((moved - from.bytes) / (to - from.at)) * 1000 : 0;
}

/**
 * Upload: what the client has sent is not what arrived, since socket buffers can
 * hold megabytes and fill in bursts. Only the server's answer says a request
 * arrived, so each stream is timed between its answers after the warm-up, with
 * request sizes adapted to finish several times per phase; the link rate is the
 * sum over the streams. A stream with fewer than two answers falls back to the
 * bytes sent over the window, which overstates by what sits in buffers.
 */
async function librespeedUpload(run: Run, phase: Phase, url: () => URL): Promise<number> {
  const { s } = run;
  const start = performance.now();
  const warmEnd = start + s.warmupMs;
  const targetMs = Math.max(50, (s.phaseDurationMs - s.warmupMs) / 8);
  let sent = 0;
  let mark: { at: number; bytes: number } | undefined;
  const warm = setTimeout(() => (mark = { at: performance.now(), bytes: sent }), s.warmupMs);
  let perStream: Array<Array<{ at: number; bytes: number }>>;
  try {
    perStream = await keepStreaming(run, phase, async () => {
      const answers: Array<{ at: number; bytes: number }> = [];
      let size = Math.min(FIRST_UPLOAD, s.uploadRequestBytes);
      while (!phase.signal.aborted) {
        const room = Math.max(MIN_SIZE, Math.min(size, phase.budget.left));
        const t = await uploadOnce(run, phase, url(), room, (n) => (sent += n));
        if (!t.complete) break;
        if (t.end >= warmEnd) answers.push({ at: t.end, bytes: t.bytes });
        const rate = t.end > t.start ? (t.bytes / (t.end - t.start)) * 1000 : 0;
        size = Math.round(Math.min(s.uploadRequestBytes, Math.max(FIRST_UPLOAD, (rate * targetMs) / 1000)));
      }
      return answers;
    });
  } finally {
    clearTimeout(warm);
  }
  if (run.master.aborted) throw run.master.reason;
  if (perStream.every((a) => a.length >= 2)) {
    return perStream.reduce((sum, answers) => {
      const first = answers[0]?.at ?? 0;
      const last = answers.at(-1)?.at ?? 0;
      const bytes = answers.slice(1).reduce((n, a) => n + a.bytes, 0);
      return sum + (last > first ? (bytes / (last - first)) * 1000 : 0);
    }, 0);
  }
  const from = mark ?? { at: start, bytes: 0 };
  const to = phase.endedAt ?? performance.now();
  return to > from.at ? ((sent - from.bytes) / (to - from.at)) * 1000 : 0;
}

async function librespeed(run: Run, result: SpeedtestResult, emit: Emit, end: number): Promise<void> {
  const { s } = run;
  const empty = () => endpointUrl(s.server, s.endpoints.empty, { r: Math.random() });
  const garbage = () => endpointUrl(s.server, s.endpoints.garbage, { ckSize: s.ckSize, r: Math.random() });
  emit('latency', result);
  const start = performance.now();
  setLatency(result, await idleLatency(run, start + s.maxDurationMs * 0.2, empty));

  emit('download', result);
  const downMs = Math.min(s.phaseDurationMs, (end - performance.now()) / 2);
  const down = new Phase(run, performance.now() + downMs, Math.floor(run.budget.left / 2));
  try {
    const { value, loaded } = await underLoad(run, down, empty, () => librespeedDownload(run, down, garbage));
    result.downloadMbps = mbps(value);
    if (loaded.length > 0) result.loadedLatencyMs = round1(median(loaded));
  } finally {
    down.close();
  }

  emit('upload', result);
  const upMs = Math.min(s.phaseDurationMs, end - performance.now());
  const up = new Phase(run, performance.now() + upMs, run.budget.left);
  try {
    result.uploadMbps = mbps(await librespeedUpload(run, up, empty));
  } finally {
    up.close();
  }
}

// ---------------------------------------------------------------------------
// Entry point

type Emit = (phase: SpeedtestPhase, result: SpeedtestResult) => void;

const round1 = (x: number) => Math.round(x * 10) / 10;
const mbps = (bytesPerSecond: number) =>
  Number.isFinite(bytesPerSecond) ? Math.round(bytesPerSecond * 0.0008) / 100 : 0;

function setLatency(result: SpeedtestResult, samples: number[]): void {
  result.latencyMs = round1(median(samples));
  result.jitterMs = round1(jitter(samples));
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Turns whatever ended the run into a stable code and a message an operator can act on. */
function describe(e: unknown, server: string): SpeedtestError {
  if (e instanceof SpeedtestFailure) return { code: e.code, message: e.message };
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    return { code: 'speedtest_unreachable', message: `cannot reach ${server}: ${err.message}` };
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { code: 'speedtest_timeout', message: `${server} stopped answering: ${err.message}` };
  }
  return { code: 'speedtest_bad_response', message: `speed test against ${server} failed: ${err.message}` };
}

/**
 * Measures latency, jitter, download and upload against `opts.server`. Always
 * resolves: errors, the hard limits and cancellation are reported in the result.
 */
/** The figures of a run that has measured nothing yet. */
export function emptyResult(
  server: string,
  protocol: SpeedtestResult['protocol'],
  at: number,
): SpeedtestResult {
  return {
    downloadMbps: 0,
    uploadMbps: 0,
    latencyMs: 0,
    jitterMs: 0,
    loss: null,
    bytesDown: 0,
    bytesUp: 0,
    durationMs: 0,
    server,
    protocol,
    at,
  };
}

export async function runSpeedtest(opts: SpeedtestOptions): Promise<SpeedtestResult> {
  const t0 = performance.now();
  const result = emptyResult(opts.server, opts.protocol ?? 'cloudflare', (opts.now ?? Date.now)());
  const emit: Emit = (phase, r) => {
    try {
      opts.onProgress?.(phase, { ...r });
    } catch {
      // A broken progress callback must not break the measurement.
    }
  };
  let s: Settings;
  try {
    s = settle(opts);
  } catch (e) {
    result.error = describe(e, opts.server);
    emit('done', result);
    return result;
  }

  const master = new AbortController();
  const hard = setTimeout(
    () =>
      master.abort(
        new SpeedtestFailure(
          'speedtest_timeout',
          `speed test cut off after ${s.maxDurationMs} ms (maxDurationMs)`,
        ),
      ),
    s.maxDurationMs,
  );
  const unlinkCaller = opts.signal
    ? follow(opts.signal, master, () => new SpeedtestFailure('speedtest_aborted', 'speed test cancelled'))
    : () => undefined;
  const agent = new Agent({
    // Room for every stream plus the latency probe, so probes never queue behind transfers.
    connections: s.streams + 2,
    pipelining: 1,
    // Shorter than the stall watchdog, so a host that never answers the SYN reads as unreachable.
    connect: { timeout: Math.min(s.stallTimeoutMs * 0.8, 10_000) },
    // Our own watchdogs and deadlines decide; undici's timers are only a backstop.
    headersTimeout: s.maxDurationMs + 1_000,
    bodyTimeout: s.maxDurationMs + 1_000,
    keepAliveTimeout: 4_000,
  });
  const run: Run = {
    s,
    agent,
    master: master.signal,
    budget: new ByteBudget(s.maxBytes),
    bytesDown: 0,
    bytesUp: 0,
  };
  // Leave a moment at the end so the phases finish on their own before the hard cap cuts in.
  const end = t0 + s.maxDurationMs - Math.min(1_000, s.maxDurationMs * 0.05);
  try {
    await (s.protocol === 'cloudflare'
      ? cloudflare(run, result, emit, end)
      : librespeed(run, result, emit, end));
  } catch (e) {
    const reason = master.signal.aborted ? master.signal.reason : e;
    result.error = describe(reason, s.server);
    if (master.signal.aborted && result.error.code === 'speedtest_timeout') run.limitedBy ??= 'duration';
  } finally {
    clearTimeout(hard);
    unlinkCaller();
    await agent.destroy().catch(() => undefined);
  }
  result.bytesDown = run.bytesDown;
  result.bytesUp = run.bytesUp;
  result.durationMs = round1(performance.now() - t0);
  if (run.limitedBy !== undefined) result.limitedBy = run.limitedBy;
  emit('done', result);
  return result;
}
