/**
 * Check history: raw samples for a recent window, hourly and daily roll-ups, and a
 * status timeline for time-weighted uptime. Pure: no I/O and no clock, every
 * function is handed the time it needs.
 *
 * Size drives the representation. 1,000 targets checked every 60 s for 90 days is
 * 130 M samples, and lowdb rewrites a whole file per write (≈ 4.5 ms per MB here),
 * so nothing is one object per sample or per row. Each series of a target is one
 * string of variable-length integers: 5 bits per character, characters `#`…`B`
 * carry a low-order group and `_`…`~` end the number. No character needs escaping
 * in JSON, so `JSON.stringify` copies the strings straight through.
 *
 * - raw sample: zigzag(Δinterval) then `round(ms × 10) × 2 + ok`, ≈ 3 characters;
 *   error codes of failed samples beside it as `[t, code]` pairs.
 * - roll-up row (hour or UTC day, consecutive from `from`): zigzag(Δchecks),
 *   `failures × 2 + hasStatus`, then down/paused/unknown seconds when hasStatus, then
 *   for successful checks min, max − min, sum − n × min (0.1 ms units) and the
 *   latency histogram from bucket(min) to bucket(max) minus its last count, which the
 *   total implies. ≈ 12 characters for a quiet hour.
 * - status timeline: `Δt × 4 + status` per change, in seconds.
 *
 * The data is split by how often it changes, because no single file of this size
 * can be rewritten every second: `hot` (samples not yet rolled up and the status
 * timeline; ≈ 1 MB at 1,000 targets, changes with every check) and `cold` (the raw
 * window and the roll-ups; ≈ 17 MB after 90 days, ≈ 22 MB once a year of daily rows
 * has built up, changes only when compact() rolls an hour). compact() and the record
 * functions mutate both in place and never replace `h.hot` or `h.cold`, so each can
 * be the `data` of its own lowdb file: hot written coalesced, cold after compact().
 *
 * Times inside are epoch seconds; the API takes and returns epoch milliseconds.
 */
import type { CheckResult, Status } from './types.js';

export const HISTORY_VERSION = 1;

const HOUR = 3600;
const DAY = 86_400;
/**
 * An hour is rolled up only this long after it ends, so a check that finished just
 * before the hour but was recorded just after still lands in its own hour.
 */
const SETTLE_S = 60;

/** How long each layer is kept. With the defaults 1,000 targets at 60 s never take more than ≈ 23 MB. */
export interface RetentionOptions {
  /** Hours of raw samples (status-dot trail, exact 24 h figures, sample export). Default 24. */
  rawHours?: number;
  /** Most raw samples per target whatever its interval, so 5 s targets cannot bloat the file. Default 2,880. */
  rawSamples?: number;
  /** Days of hourly roll-ups. Default 30. */
  hourlyDays?: number;
  /** Days of daily roll-ups (and of the status timeline). Default 365. */
  dailyDays?: number;
  /** Most status changes kept per target; a flapping target falls back to hourly precision. Default 200. */
  statusPoints?: number;
}

export const DEFAULT_RETENTION: Readonly<Required<RetentionOptions>> = {
  rawHours: 24,
  rawSamples: 2880,
  hourlyDays: 30,
  dailyDays: 365,
  statusPoints: 200,
};

/** A run of raw samples in one string (see the file comment). */
export interface SampleRun {
  /** Decoder state before the first sample: time (epoch s) and interval (s) of the sample before it. */
  t0: number;
  d0: number;
  /** Encoder state after the last sample. */
  t1: number;
  d1: number;
  /** Number of samples. */
  n: number;
  s: string;
  /** Error codes of failed samples, `[epoch s, code]`, oldest first. */
  codes: [number, string][];
}

/** Consecutive roll-up rows, each an hour or a UTC day. */
export interface RollupRun {
  /** Start (epoch s) of the first row. */
  from: number;
  n: number;
  /** Checks of the row before the first and of the last row: each row stores the difference. */
  c0: number;
  c1: number;
  s: string;
}

/** Status changes; time before `from` is known only through the roll-ups. */
export interface StatusRun {
  from: number;
  /** Status code (0 unknown, 1 up, 2 down, 3 paused) at `from`. */
  s0: number;
  /** Time and status of the last change. */
  t1: number;
  s1: number;
  n: number;
  s: string;
}

export interface HotTarget {
  /** Epoch ms of the last sample: a replayed or late sample is not counted twice. */
  lastAt: number;
  /** Samples from the first hour not rolled up yet. */
  open: SampleRun;
  status: StatusRun;
}

/** The raw window: one string per hour, so whole hours are dropped without decoding. */
export interface RawHours {
  /** Start (epoch s) of the first hour; the last one ends where the hourly roll-ups end. */
  from: number;
  /** Samples in all hours, for the per-target cap. */
  n: number;
  /**
   * Per hour: its sample count, then (when there are samples) the first one's offset
   * into the hour, its interval and its value, then the rest exactly as in a SampleRun.
   */
  hours: string[];
  /** Error codes of failed samples, `[epoch s, code]`, oldest first. */
  codes: [number, string][];
}

export interface ColdTarget {
  /** The hour (epoch s) history starts: nothing before it is missing, it never existed. */
  since: number;
  raw: RawHours;
  hourly: RollupRun;
  daily: RollupRun;
  /** Offset in `hourly.s` of the first hour not merged into a day, and the checks of the row before it. */
  merge: { p: number; c: number };
}

export interface HistoryPart<T> {
  version: typeof HISTORY_VERSION;
  targets: Record<string, T>;
}

/** JSON-serialisable; `hot` and `cold` may be stored together or as two files. */
export interface HistoryData {
  hot: HistoryPart<HotTarget>;
  cold: HistoryPart<ColdTarget>;
}

export interface LatencyStats {
  /** Milliseconds, over successful checks. */
  min: number;
  avg: number;
  max: number;
  p50: number;
  p95: number;
}

export interface HistoryStats {
  /** 0..1, time-weighted: (observed − down) / observed; null when nothing was observed. */
  uptime: number | null;
  downtimeS: number;
  pausedS: number;
  /** Seconds up or down in the window: paused time and time with no known status are left out. */
  observedS: number;
  checks: number;
  failures: number;
  latency: LatencyStats | null;
}

export interface SampleRow {
  /** Epoch ms (whole seconds). */
  t: number;
  ok: boolean;
  ms: number;
  /** Error code of a failed check. */
  code?: string;
}

export interface RollupRow {
  /** Start of the hour or UTC day, epoch ms. */
  t: number;
  resolution: 'hour' | 'day';
  checks: number;
  failures: number;
  downtimeS: number;
  pausedS: number;
  uptime: number | null;
  /** Latency of successful checks, ms; null when there were none. */
  min: number | null;
  avg: number | null;
  max: number | null;
  p50: number | null;
  p95: number | null;
}

export type SeriesRow = SampleRow | RollupRow;

export interface DayUptime {
  /** UTC date, `YYYY-MM-DD`. */
  day: string;
  uptime: number | null;
}

// ---------------------------------------------------------------------------
// Variable-length integers

const CONT = 0x23;
const TERM = 0x5f;
const SMALL: string[] = [];

function encodeSlow(v: number): string {
  let out = '';
  while (v >= 32) {
    out += String.fromCharCode(CONT + (v % 32));
    v = Math.floor(v / 32);
  }
  return out + String.fromCharCode(TERM + v);
}
for (let v = 0; v < 1024; v++) SMALL.push(encodeSlow(v));
/** Whole samples with a small interval change, ready-made: one string allocation per recorded sample, not two. */
const PAIRS: string[] = [];
for (let z = 0; z < 8; z++) for (let v = 0; v < 1024; v++) PAIRS.push(encodeSlow(z) + encodeSlow(v));

function enc(v: number): string {
  return (v < 1024 ? SMALL[v] : undefined) ?? encodeSlow(v);
}

const zz = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);
const unzz = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/** A position in an encoded string, plus the decoder state that samples need (time and interval). */
interface Reader {
  s: string;
  p: number;
  t: number;
  d: number;
}

// One object shape for every reader keeps the decoding loops monomorphic.
function reader(s: string, p = 0, t = 0, d = 0): Reader {
  return { s, p, t, d };
}

function read(r: Reader): number {
  let v = 0;
  let scale = 1;
  for (;;) {
    const c = r.s.charCodeAt(r.p++);
    if (c >= TERM) return v + (c - TERM) * scale;
    // NaN past the end would otherwise loop for ever on a truncated string.
    if (!(c >= CONT)) throw new Error(`history data is corrupt: bad number at offset ${r.p - 1}`);
    v += (c - CONT) * scale;
    scale *= 32;
  }
}

// ---------------------------------------------------------------------------
// Latency histogram: 0.1 ms units, log-spaced buckets

/** Buckets of the latency histogram: 0 ms, 46 log-spaced from 0.1 ms to 60 s (≈ 34 % wide), then ≥ 60 s. */
export const LATENCY_BUCKETS = 48;

/** Lower edge of each bucket, in 0.1 ms units. */
const EDGES: readonly number[] = (() => {
  const edges = [0, 1];
  const ratio = Math.pow(600_000, 1 / 46);
  for (let k = 2; k < LATENCY_BUCKETS; k++) {
    edges.push(Math.max((edges[k - 1] ?? 0) + 1, Math.round(Math.pow(ratio, k - 1))));
  }
  return edges;
})();

function bucketOf(units: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((EDGES[mid] ?? Infinity) <= units) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The histogram bucket a latency (ms) falls in. */
export function latencyBucket(ms: number): number {
  return bucketOf(toUnits(ms));
}

function toUnits(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms * 10) : 0;
}

/** Nearest-rank percentile in units: the answer lies in the same bucket as the exact value. */
function histPercentile(hist: readonly number[], p: number, min: number, max: number): number | null {
  let total = 0;
  for (const c of hist) total += c;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (let k = 0; k < hist.length; k++) {
    seen += hist[k] ?? 0;
    if (seen < rank) continue;
    const lo = EDGES[k] ?? 0;
    const next = EDGES[k + 1];
    const mid = k === 0 ? 0 : next === undefined ? lo : Math.round(Math.sqrt(lo * (next - 1)));
    return Math.min(max, Math.max(min, mid));
  }
  return max;
}

/**
 * Percentile `p` (0..1, nearest rank) in ms of the latencies counted in `hist`
 * (one count per bucket, see {@link latencyBucket}); null when it is empty. The
 * answer lies in the bucket of the exact value, at the bucket's geometric middle,
 * pulled inside `bounds` (the observed min and max, ms) when given.
 */
export function percentileFromHistogram(
  hist: readonly number[],
  p: number,
  bounds?: { min: number; max: number },
): number | null {
  const v = histPercentile(
    hist,
    p,
    bounds ? toUnits(bounds.min) : 0,
    bounds ? toUnits(bounds.max) : Infinity,
  );
  return v === null ? null : v / 10;
}

// ---------------------------------------------------------------------------
// Rows and accumulators

interface Row {
  checks: number;
  failures: number;
  /** Seconds down, paused and of unknown status; the rest of the row's span was up. */
  down: number;
  paused: number;
  unknown: number;
  /** Over successful checks, 0.1 ms units. */
  min: number;
  max: number;
  sum: number;
  /** Counts for buckets bucketOf(min)…bucketOf(max). */
  counts: number[];
}

interface Acc {
  checks: number;
  failures: number;
  down: number;
  paused: number;
  unknown: number;
  span: number;
  min: number;
  max: number;
  sum: number;
  hist: number[];
  /** Raw latencies while no roll-up has been merged in, for exact percentiles. */
  exact: number[] | null;
}

function newAcc(keepExact = false): Acc {
  return {
    checks: 0,
    failures: 0,
    down: 0,
    paused: 0,
    unknown: 0,
    span: 0,
    min: Infinity,
    max: -Infinity,
    sum: 0,
    hist: new Array<number>(LATENCY_BUCKETS).fill(0),
    exact: keepExact ? [] : null,
  };
}

function addSample(a: Acc, v: number): void {
  a.checks++;
  if (v % 2 === 0) {
    a.failures++;
    return;
  }
  const units = (v - 1) / 2;
  if (units < a.min) a.min = units;
  if (units > a.max) a.max = units;
  a.sum += units;
  const b = bucketOf(units);
  a.hist[b] = (a.hist[b] ?? 0) + 1;
  a.exact?.push(units);
}

function addRowCounts(a: Acc, row: Row): void {
  a.checks += row.checks;
  a.failures += row.failures;
  if (row.counts.length === 0) return;
  a.exact = null;
  if (row.min < a.min) a.min = row.min;
  if (row.max > a.max) a.max = row.max;
  a.sum += row.sum;
  const b0 = bucketOf(row.min);
  for (let i = 0; i < row.counts.length; i++) a.hist[b0 + i] = (a.hist[b0 + i] ?? 0) + (row.counts[i] ?? 0);
}

function addRowStatus(a: Acc, row: Row, span: number): void {
  a.down += row.down;
  a.paused += row.paused;
  a.unknown += row.unknown;
  a.span += span;
}

function accToRow(a: Acc): Row {
  const row: Row = {
    checks: a.checks,
    failures: a.failures,
    down: a.down,
    paused: a.paused,
    unknown: a.unknown,
    min: 0,
    max: 0,
    sum: 0,
    counts: [],
  };
  if (a.checks === a.failures) return row;
  row.min = a.min;
  row.max = a.max;
  row.sum = a.sum;
  row.counts = a.hist.slice(bucketOf(a.min), bucketOf(a.max) + 1);
  return row;
}

function encodeRow(row: Row, prevChecks: number): string {
  const ok = row.checks - row.failures;
  const hasStatus = row.down + row.paused + row.unknown > 0;
  let s = enc(zz(row.checks - prevChecks)) + enc(row.failures * 2 + (hasStatus ? 1 : 0));
  if (hasStatus) s += enc(row.down) + enc(row.paused) + enc(row.unknown);
  if (ok > 0) {
    s += enc(row.min) + enc(row.max - row.min) + enc(row.sum - ok * row.min);
    for (let i = 0; i < row.counts.length - 1; i++) s += enc(row.counts[i] ?? 0);
  }
  return s;
}

function readRow(r: Reader, prevChecks: number): Row {
  const checks = prevChecks + unzz(read(r));
  const f = read(r);
  const failures = Math.floor(f / 2);
  const row: Row = { checks, failures, down: 0, paused: 0, unknown: 0, min: 0, max: 0, sum: 0, counts: [] };
  if (f % 2 === 1) {
    row.down = read(r);
    row.paused = read(r);
    row.unknown = read(r);
  }
  const ok = checks - failures;
  if (ok > 0) {
    row.min = read(r);
    row.max = row.min + read(r);
    row.sum = read(r) + ok * row.min;
    const k = bucketOf(row.max) - bucketOf(row.min);
    let rest = ok;
    for (let i = 0; i < k; i++) {
      const c = read(r);
      row.counts.push(c);
      rest -= c;
    }
    row.counts.push(rest);
  }
  return row;
}

function decodeRows(run: RollupRun): Row[] {
  const rows: Row[] = [];
  const r = reader(run.s);
  let prev = run.c0;
  for (let i = 0; i < run.n; i++) {
    const row = readRow(r, prev);
    prev = row.checks;
    rows.push(row);
  }
  return rows;
}

function appendRow(run: RollupRun, row: Row): void {
  run.s += encodeRow(row, run.c1);
  run.c1 = row.checks;
  run.n++;
}

// ---------------------------------------------------------------------------
// Raw samples

function emptyRun(t: number): SampleRun {
  return { t0: t, d0: 0, t1: t, d1: 0, n: 0, s: '', codes: [] };
}

function appendSample(run: SampleRun, t: number, v: number): void {
  const dt = t - run.t1;
  const z = zz(dt - run.d1);
  run.s += (z < 8 && v < 1024 ? PAIRS[z * 1024 + v] : undefined) ?? enc(z) + enc(v);
  run.t1 = t;
  run.d1 = dt;
  run.n++;
}

function cursorOf(run: SampleRun): Reader {
  return reader(run.s, 0, run.t0, run.d0);
}

/** Reads one sample: its time lands in `c.t`, the value `units × 2 + ok` is returned. */
function readSample(c: Reader): number {
  const dt = c.d + unzz(read(c));
  c.t += dt;
  c.d = dt;
  return read(c);
}

/** The run from cursor `c` on; `dropped` samples were before it. */
function sliceRun(run: SampleRun, c: Reader, dropped: number): void {
  run.s = run.s.slice(c.p);
  run.t0 = c.t;
  run.d0 = c.d;
  run.n -= dropped;
}

interface Samples {
  t: number[];
  v: number[];
}

function decodeSamples(run: SampleRun, from: number, into: Samples = { t: [], v: [] }): Samples {
  const c = cursorOf(run);
  for (let i = 0; i < run.n; i++) {
    const v = readSample(c);
    if (c.t < from) continue;
    into.t.push(c.t);
    into.v.push(v);
  }
  return into;
}

/** Samples of the hours in `raw` from `from` on. */
function decodeHours(raw: RawHours, from: number, first = 0, into: Samples = { t: [], v: [] }): Samples {
  for (let i = Math.max(first, Math.floor((from - raw.from) / HOUR)); i < raw.hours.length; i++) {
    const c = reader(raw.hours[i] ?? '', 0, raw.from + i * HOUR);
    const n = read(c);
    for (let k = 0; k < n; k++) {
      let v: number;
      if (k === 0) {
        c.t += read(c);
        c.d = read(c);
        v = read(c);
      } else v = readSample(c);
      if (c.t < from) continue;
      into.t.push(c.t);
      into.v.push(v);
    }
  }
  return into;
}

// ---------------------------------------------------------------------------
// Status timeline

const STATUS_CODE: Record<Status, number> = { unknown: 0, up: 1, down: 2, paused: 3 };

interface Timeline {
  t: number[];
  st: number[];
}

function decodeStatus(run: StatusRun): Timeline {
  const tl: Timeline = { t: [run.from], st: [run.s0] };
  const r = reader(run.s);
  let t = run.from;
  for (let i = 0; i < run.n; i++) {
    const x = read(r);
    t += Math.floor(x / 4);
    tl.t.push(t);
    tl.st.push(x % 4);
  }
  return tl;
}

function encodeStatus(run: StatusRun, tl: Timeline, first: number): void {
  run.s = '';
  let prev = run.from;
  for (let i = first; i < tl.t.length; i++) {
    const t = tl.t[i] ?? prev;
    run.s += enc((t - prev) * 4 + (tl.st[i] ?? 0));
    prev = t;
  }
  run.n = tl.t.length - first;
  // The next change is encoded against the last one kept, or against `from` when none is.
  if (run.n === 0) run.t1 = run.from;
}

/** Index of the last change at or before `t` (0 when `t` is before them all). */
function statusIndex(tl: Timeline, t: number): number {
  let lo = 0;
  let hi = tl.t.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((tl.t[mid] ?? Infinity) <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Adds the status seconds of [a, b) to `acc`; time before the timeline starts counts as unknown. */
function addTimeline(acc: Acc, tl: Timeline, a: number, b: number): void {
  if (b <= a) return;
  acc.span += b - a;
  const start = tl.t[0] ?? a;
  if (a < start) {
    acc.unknown += Math.min(b, start) - a;
    a = start;
  }
  let i = statusIndex(tl, a);
  while (a < b) {
    const end = Math.min(b, tl.t[i + 1] ?? Infinity);
    const st = tl.st[i];
    if (st === 0) acc.unknown += end - a;
    else if (st === 2) acc.down += end - a;
    else if (st === 3) acc.paused += end - a;
    a = end;
    i++;
  }
}

// ---------------------------------------------------------------------------
// Creating and recording

export function createHistoryData(): HistoryData {
  return {
    hot: { version: HISTORY_VERSION, targets: {} },
    cold: { version: HISTORY_VERSION, targets: {} },
  };
}

function floorTo(t: number, step: number): number {
  return Math.floor(t / step) * step;
}

function rolledTo(cold: ColdTarget): number {
  return cold.hourly.from + cold.hourly.n * HOUR;
}

function newCold(start: number): ColdTarget {
  return {
    since: start,
    raw: { from: start, n: 0, hours: [], codes: [] },
    hourly: { from: start, n: 0, c0: 0, c1: 0, s: '' },
    daily: { from: floorTo(start, DAY), n: 0, c0: 0, c1: 0, s: '' },
    merge: { p: 0, c: 0 },
  };
}

function newHot(cold: ColdTarget): HotTarget {
  const from = rolledTo(cold);
  return {
    lastAt: 0,
    open: emptyRun(from),
    status: { from, s0: 0, t1: from, s1: 0, n: 0, s: '' },
  };
}

/** A target's two halves, created on first use; history starts at the hour of first use. */
function ensure(h: HistoryData, name: string, t: number): { hot: HotTarget; cold: ColdTarget } {
  let cold = h.cold.targets[name];
  if (!cold) {
    cold = newCold(floorTo(t, HOUR));
    h.cold.targets[name] = cold;
  }
  let hot = h.hot.targets[name];
  if (!hot) {
    hot = newHot(cold);
    h.hot.targets[name] = hot;
  }
  return { hot, cold };
}

/**
 * Records one check result. Returns false, recording nothing, for a sample that is
 * not newer than the last one, so replaying samples after a restart is harmless. A
 * sample dated in an hour already rolled up is kept out of every figure.
 */
export function recordSample(h: HistoryData, name: string, result: CheckResult): boolean {
  const t = Math.floor(result.at / 1000);
  // One lookup on the per-check path; the cold half is only needed to create a target.
  const hot = h.hot.targets[name] ?? ensure(h, name, t).hot;
  const open = hot.open;
  if (result.at <= hot.lastAt || t < open.t1) return false;
  appendSample(open, t, toUnits(result.ms) * 2 + (result.ok ? 1 : 0));
  hot.lastAt = result.at;
  if (!result.ok && result.error) open.codes.push([t, result.error.code]);
  return true;
}

/**
 * Records a status change (each flip, pause and resume). A change dated before the
 * last one or inside an hour already rolled up is moved forward to keep the
 * timeline ordered and the roll-ups true. Returns false when the status is unchanged.
 */
export function recordStatus(h: HistoryData, name: string, status: Status, at: number): boolean {
  const { hot, cold } = ensure(h, name, Math.floor(at / 1000));
  const st = hot.status;
  const code = STATUS_CODE[status];
  if (code === st.s1) return false;
  const t = Math.max(Math.floor(at / 1000), st.t1, rolledTo(cold));
  st.s += enc((t - st.t1) * 4 + code);
  st.t1 = t;
  st.s1 = code;
  st.n++;
  return true;
}

/** Forgets a target's history. Returns false when there was none. */
export function removeTarget(h: HistoryData, name: string): boolean {
  const had = name in h.hot.targets || name in h.cold.targets;
  delete h.hot.targets[name];
  delete h.cold.targets[name];
  return had;
}

/** Moves a target's history to a new name, replacing any history under that name. */
export function renameTarget(h: HistoryData, from: string, to: string): boolean {
  if (from === to) return from in h.cold.targets;
  const hot = h.hot.targets[from];
  const cold = h.cold.targets[from];
  if (!hot && !cold) return false;
  removeTarget(h, to);
  if (hot) h.hot.targets[to] = hot;
  if (cold) h.cold.targets[to] = cold;
  delete h.hot.targets[from];
  delete h.cold.targets[from];
  return true;
}

// ---------------------------------------------------------------------------
// Compaction

/**
 * Rolls finished hours into hourly rows (and the samples into the raw window),
 * finished UTC days into daily rows, and drops what is past retention. Idempotent,
 * and only a comparison per target when there is nothing to do, so calling it every
 * few minutes is fine; hours are rolled a minute after they end. Returns true when
 * anything changed — then both halves need writing, `cold` first.
 */
export function compact(h: HistoryData, now: number, retention: RetentionOptions = {}): boolean {
  const ret = { ...DEFAULT_RETENTION, ...retention };
  const nowS = Math.floor(now / 1000);
  let changed = false;
  // A hot half without its cold half means the cold file was lost: start it again.
  for (const [name, hot] of Object.entries(h.hot.targets)) {
    h.cold.targets[name] ??= newCold(floorTo(hot.open.t0, HOUR));
  }
  for (const name of Object.keys(h.cold.targets)) {
    const cold = h.cold.targets[name];
    if (!cold) continue;
    const hot = h.hot.targets[name] ?? (h.hot.targets[name] = newHot(cold));
    if (compactTarget(hot, cold, nowS, ret)) changed = true;
  }
  return changed;
}

function compactTarget(
  hot: HotTarget,
  cold: ColdTarget,
  nowS: number,
  ret: Required<RetentionOptions>,
): boolean {
  let changed = false;
  const limit = floorTo(nowS - SETTLE_S, HOUR);
  if (rolledTo(cold) < limit) {
    rollHours(hot, cold, limit);
    changed = true;
  }
  if (rollDays(cold)) changed = true;
  if (pruneRaw(hot, cold, nowS, ret)) changed = true;
  if (
    pruneRollups(cold.hourly, HOUR, Math.min(dailyTo(cold), floorTo(nowS - ret.hourlyDays * DAY, DAY)), cold)
  ) {
    changed = true;
  }
  if (pruneRollups(cold.daily, DAY, floorTo(nowS - ret.dailyDays * DAY, DAY))) changed = true;
  if (pruneStatus(hot.status, rolledTo(cold), nowS, ret)) changed = true;
  return changed;
}

function dailyTo(cold: ColdTarget): number {
  return cold.daily.from + cold.daily.n * DAY;
}

/** Moves open samples of [rolledTo, limit) into hourly rows and the raw window. */
function rollHours(hot: HotTarget, cold: ColdTarget, limit: number): void {
  const open = hot.open;
  const tl = decodeStatus(hot.status);
  const c = cursorOf(open);
  const start = rolledTo(cold);
  let taken = 0;
  // The first sample of a later hour is read ahead; remember where it began to leave it in place.
  let pending: number | null = null;
  let backP = 0;
  let backT = c.t;
  let backD = c.d;
  for (let hour = start; hour < limit; hour += HOUR) {
    const acc = newAcc();
    let count = 0;
    let head = '';
    let restFrom = 0;
    let restTo = 0;
    for (;;) {
      if (pending === null) {
        if (taken === open.n) break;
        backP = c.p;
        backT = c.t;
        backD = c.d;
        pending = readSample(c);
      }
      if (c.t >= hour + HOUR) break;
      // A sample before `start` is already rolled: the hot half is older than the cold one.
      if (c.t >= hour) {
        // Only the first sample is re-encoded, with the decoder state the rest were written against.
        if (count === 0) {
          head = enc(c.t - hour) + enc(c.d) + enc(pending);
          restFrom = c.p;
        }
        restTo = c.p;
        count++;
        addSample(acc, pending);
      }
      pending = null;
      taken++;
    }
    cold.raw.hours.push(count === 0 ? enc(0) : enc(count) + head + open.s.slice(restFrom, restTo));
    cold.raw.n += count;
    addTimeline(acc, tl, hour, hour + HOUR);
    appendRow(cold.hourly, accToRow(acc));
  }
  if (pending !== null) {
    c.p = backP;
    c.t = backT;
    c.d = backD;
  }
  sliceRun(open, c, taken);
  if (open.codes.length > 0) {
    cold.raw.codes.push(...open.codes.filter(([t]) => t >= start && t < limit));
    open.codes = open.codes.filter(([t]) => t >= limit);
  }
}

/** Merges the hourly rows of each finished UTC day into a daily row. */
function rollDays(cold: ColdTarget): boolean {
  const hourly = cold.hourly;
  let day = dailyTo(cold);
  if (day + DAY > rolledTo(cold)) return false;
  const r = reader(hourly.s, cold.merge.p);
  let prev = cold.merge.c;
  while (day + DAY <= rolledTo(cold)) {
    const acc = newAcc();
    for (let hour = day; hour < day + DAY; hour += HOUR) {
      if (hour < hourly.from) {
        acc.unknown += HOUR;
        continue;
      }
      const row = readRow(r, prev);
      prev = row.checks;
      addRowCounts(acc, row);
      addRowStatus(acc, row, HOUR);
    }
    appendRow(cold.daily, accToRow(acc));
    day += DAY;
  }
  cold.merge = { p: r.p, c: prev };
  return true;
}

/** Drops whole hours of raw samples past retention or beyond the per-target cap. */
function pruneRaw(hot: HotTarget, cold: ColdTarget, nowS: number, ret: Required<RetentionOptions>): boolean {
  const raw = cold.raw;
  const cut = floorTo(nowS - ret.rawHours * HOUR, HOUR);
  let k = 0;
  while (k < raw.hours.length && (raw.from + k * HOUR < cut || raw.n + hot.open.n > ret.rawSamples)) {
    raw.n -= read(reader(raw.hours[k] ?? ''));
    k++;
  }
  if (k === 0) return false;
  raw.hours.splice(0, k);
  raw.from += k * HOUR;
  if (raw.codes.length > 0) raw.codes = raw.codes.filter(([t]) => t >= raw.from);
  return true;
}

/** Drops whole rows before `cut`; keeps the day-merge offset of `cold` pointing at the same row. */
function pruneRollups(run: RollupRun, len: number, cut: number, cold?: ColdTarget): boolean {
  const k = Math.min(run.n, Math.floor((cut - run.from) / len));
  if (k <= 0) return false;
  const r = reader(run.s);
  let prev = run.c0;
  for (let i = 0; i < k; i++) prev = readRow(r, prev).checks;
  run.s = run.s.slice(r.p);
  run.from += k * len;
  run.n -= k;
  run.c0 = prev;
  if (cold) cold.merge.p -= r.p;
  return true;
}

/** Drops status changes past retention or beyond the count cap, never after `end` (what roll-ups cover). */
function pruneStatus(st: StatusRun, end: number, nowS: number, ret: Required<RetentionOptions>): boolean {
  let cut = floorTo(nowS - ret.dailyDays * DAY, DAY);
  const excess = st.n - ret.statusPoints;
  if (cut <= st.from && excess <= 0) return false;
  const tl = decodeStatus(st);
  if (excess > 0) cut = Math.max(cut, floorTo(tl.t[excess] ?? st.from, HOUR) + HOUR);
  cut = Math.min(cut, end);
  if (cut <= st.from) return false;
  const i = statusIndex(tl, cut);
  st.s0 = tl.st[i] ?? 0;
  st.from = cut;
  encodeStatus(st, tl, i + 1);
  return true;
}

// ---------------------------------------------------------------------------
// Reading

/** One target's data decoded on demand for a single query. */
class View {
  private tl?: Timeline;
  private hourlyRows?: Row[];
  private dailyRows?: Row[];
  private samples?: Samples;
  readonly rawFrom: number;
  readonly rolled: number;

  constructor(
    readonly hot: HotTarget,
    readonly cold: ColdTarget,
  ) {
    this.rawFrom = cold.raw.from;
    this.rolled = rolledTo(cold);
  }

  get timeline(): Timeline {
    return (this.tl ??= decodeStatus(this.hot.status));
  }
  get hourly(): Row[] {
    return (this.hourlyRows ??= decodeRows(this.cold.hourly));
  }
  get daily(): Row[] {
    return (this.dailyRows ??= decodeRows(this.cold.daily));
  }
  /** Rolled raw samples, then open ones; open samples of hours already rolled are left out. */
  get raw(): Samples {
    return (this.samples ??= decodeSamples(
      this.hot.open,
      this.rolled,
      decodeHours(this.cold.raw, this.rawFrom),
    ));
  }

  /** Status seconds of [a, b): the timeline where it reaches, prorated roll-ups before it. */
  status(acc: Acc, a: number, b: number): void {
    if (b <= a) return;
    const tlFrom = this.hot.status.from;
    if (b > tlFrom) addTimeline(acc, this.timeline, Math.max(a, tlFrom), b);
    if (a >= tlFrom) return;
    const end = Math.min(b, tlFrom);
    const { hourly, daily } = this.cold;
    this.rowStatus(acc, hourly, HOUR, () => this.hourly, Math.max(a, hourly.from), end);
    this.rowStatus(acc, daily, DAY, () => this.daily, a, Math.min(end, hourly.from));
  }

  private rowStatus(acc: Acc, run: RollupRun, len: number, rows: () => Row[], a: number, b: number): void {
    const first = Math.max(0, Math.floor((a - run.from) / len));
    for (let i = first; i < run.n; i++) {
      const start = run.from + i * len;
      if (start >= b) break;
      // The first day's unknown seconds begin with the hours before the target existed:
      // take those out and prorate the rest over the time it did exist.
      const lived = Math.max(start, this.cold.since);
      const overlap = Math.min(b, start + len) - Math.max(a, lived);
      const row = rows()[i];
      if (!row || overlap <= 0) continue;
      const fraction = overlap / (start + len - lived);
      acc.down += row.down * fraction;
      acc.paused += row.paused * fraction;
      acc.unknown += (row.unknown - (lived - start)) * fraction;
      acc.span += overlap;
    }
  }

  /** Checks and latency of [a, b): raw samples where kept, whole roll-up rows starting inside it before. */
  counts(acc: Acc, a: number, b: number): void {
    const raw = this.raw;
    for (let i = lowerBound(raw.t, Math.max(a, this.rawFrom)); i < raw.t.length; i++) {
      if ((raw.t[i] ?? Infinity) >= b) break;
      addSample(acc, raw.v[i] ?? 0);
    }
    if (a >= this.rawFrom) return;
    const { hourly, daily, since } = this.cold;
    // The first day's row starts before the target existed; it is inside a window that starts by then.
    const from = a <= since ? -Infinity : a;
    this.rowCounts(acc, hourly, HOUR, () => this.hourly, from, b, this.rawFrom);
    // A day row reaching past the first hourly row is counted by the hourly rows.
    this.rowCounts(acc, daily, DAY, () => this.daily, from, b, Math.min(hourly.from, this.rawFrom));
  }

  /** Rows that start in [a, b) and end by `cover`, where the next finer layer takes over. */
  private rowCounts(
    acc: Acc,
    run: RollupRun,
    len: number,
    rows: () => Row[],
    a: number,
    b: number,
    cover: number,
  ): void {
    const first = Math.max(0, Math.ceil((a - run.from) / len));
    for (let i = first; i < run.n; i++) {
      const start = run.from + i * len;
      if (start >= b || start + len > cover) break;
      const row = rows()[i];
      if (row) addRowCounts(acc, row);
    }
  }

  /** A row for [start, start + len) built from open samples and the timeline (hours not rolled yet). */
  liveRow(start: number, len: number, nowS: number): Row {
    const acc = newAcc();
    const raw = this.raw;
    for (let i = lowerBound(raw.t, Math.max(start, this.rolled)); i < raw.t.length; i++) {
      if ((raw.t[i] ?? Infinity) >= start + len) break;
      addSample(acc, raw.v[i] ?? 0);
    }
    this.status(acc, start, Math.min(start + len, Math.max(start, nowS)));
    // The future, and time no record covers, is unknown rather than up.
    acc.unknown += len - acc.span;
    return accToRow(acc);
  }
}

function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] ?? Infinity) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function viewOf(h: HistoryData, name: string): View | null {
  const cold = h.cold.targets[name];
  if (!cold) return null;
  return new View(h.hot.targets[name] ?? newHot(cold), cold);
}

function latencyOf(acc: Acc): LatencyStats | null {
  const ok = acc.checks - acc.failures;
  if (ok === 0) return null;
  let p50: number;
  let p95: number;
  if (acc.exact) {
    // A typed array sorts numerically without a comparator call per step: ~10× faster here.
    const sorted = Float64Array.from(acc.exact).sort();
    const at = (p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
    p50 = at(0.5);
    p95 = at(0.95);
  } else {
    p50 = histPercentile(acc.hist, 0.5, acc.min, acc.max) ?? 0;
    p95 = histPercentile(acc.hist, 0.95, acc.min, acc.max) ?? 0;
  }
  return {
    min: acc.min / 10,
    avg: Math.round(acc.sum / ok) / 10,
    max: acc.max / 10,
    p50: p50 / 10,
    p95: p95 / 10,
  };
}

function observed(acc: Acc): number {
  return acc.span - acc.paused - acc.unknown;
}

function uptimeOf(acc: Acc): number | null {
  const obs = observed(acc);
  return obs > 1e-9 ? Math.min(1, Math.max(0, (obs - acc.down) / obs)) : null;
}

/**
 * Uptime, downtime and latency of [from, to) (epoch ms), with time after `now`
 * left out. Uptime is time-weighted from the status timeline, exact to the second
 * at the window's edges while the timeline reaches back (it keeps `statusPoints`
 * changes for up to `dailyDays`); before that, roll-up rows straddling an edge are
 * prorated. Paused time and time with no known status (before the first check,
 * while unknown) are neither up nor down. Checks and latency come from raw samples
 * inside the raw window and, before it, from roll-up rows that start in the window.
 * Percentiles are exact over raw samples, and within one histogram bucket once
 * roll-ups are involved.
 */
export function stats(h: HistoryData, name: string, from: number, to: number, now: number): HistoryStats {
  const acc = newAcc(true);
  const view = viewOf(h, name);
  const a = Math.floor(from / 1000);
  const b = Math.floor(to / 1000);
  if (view) {
    view.status(acc, a, Math.min(b, Math.floor(now / 1000)));
    view.counts(acc, a, b);
  }
  return {
    uptime: uptimeOf(acc),
    downtimeS: Math.round(acc.down),
    pausedS: Math.round(acc.paused),
    observedS: Math.round(observed(acc)),
    checks: acc.checks,
    failures: acc.failures,
    latency: latencyOf(acc),
  };
}

function sampleRow(t: number, v: number, codes: Map<number, string>): SampleRow {
  const row: SampleRow = { t: t * 1000, ok: v % 2 === 1, ms: Math.floor(v / 2) / 10 };
  const code = row.ok ? undefined : codes.get(t);
  if (code !== undefined) row.code = code;
  return row;
}

function codesOf(view: View): Map<number, string> {
  return new Map([...view.cold.raw.codes, ...view.hot.open.codes]);
}

function rollupRow(row: Row, start: number, len: number): RollupRow {
  const acc = newAcc();
  addRowCounts(acc, row);
  addRowStatus(acc, row, len);
  const lat = latencyOf(acc);
  return {
    t: start * 1000,
    resolution: len === HOUR ? 'hour' : 'day',
    checks: row.checks,
    failures: row.failures,
    downtimeS: row.down,
    pausedS: row.paused,
    uptime: uptimeOf(acc),
    min: lat?.min ?? null,
    avg: lat?.avg ?? null,
    max: lat?.max ?? null,
    p50: lat?.p50 ?? null,
    p95: lat?.p95 ?? null,
  };
}

/**
 * History of [from, to) (epoch ms) for export: raw samples when the raw window
 * reaches back to `from` (or to the target's first hour), else hourly rows when the
 * hourly roll-ups do, else daily rows. Rows overlap the range; the hours and the day not rolled up yet are built
 * from the open samples, up to `now`.
 */
export function series(h: HistoryData, name: string, from: number, to: number, now: number): SeriesRow[] {
  const view = viewOf(h, name);
  if (!view) return [];
  const a = Math.floor(from / 1000);
  const b = Math.ceil(to / 1000);
  const nowS = Math.floor(now / 1000);
  const out: SeriesRow[] = [];
  if (Math.max(a, view.cold.since) >= view.rawFrom) {
    const raw = view.raw;
    const codes = codesOf(view);
    for (let i = lowerBound(raw.t, a); i < raw.t.length && (raw.t[i] ?? Infinity) < b; i++) {
      out.push(sampleRow(raw.t[i] ?? 0, raw.v[i] ?? 0, codes));
    }
    return out;
  }
  const { hourly, daily, since } = view.cold;
  const len = Math.max(a, since) >= hourly.from ? HOUR : DAY;
  const run = len === HOUR ? hourly : daily;
  const rows = len === HOUR ? view.hourly : view.daily;
  const end = run.from + run.n * len;
  for (let start = Math.max(run.from, floorTo(a, len)); start < b && start <= nowS; start += len) {
    const row = start < end ? rows[(start - run.from) / len] : liveRollup(view, start, len, nowS);
    if (row) out.push(rollupRow(row, start, len));
  }
  return out;
}

/** A row not rolled up yet: a live hour, or a day of stored hourly rows plus live hours. */
function liveRollup(view: View, start: number, len: number, nowS: number): Row {
  if (len === HOUR) return view.liveRow(start, HOUR, nowS);
  const acc = newAcc();
  const { hourly } = view.cold;
  for (let hour = start; hour < start + DAY; hour += HOUR) {
    const stored =
      hour >= hourly.from && hour < view.rolled ? view.hourly[(hour - hourly.from) / HOUR] : undefined;
    const row = stored ?? view.liveRow(hour, HOUR, nowS);
    addRowCounts(acc, row);
    addRowStatus(acc, row, HOUR);
  }
  return accToRow(acc);
}

/** The last `n` raw samples, oldest first (the status-dot trail). */
export function trail(h: HistoryData, name: string, n: number): SampleRow[] {
  const view = viewOf(h, name);
  if (!view || n <= 0) return [];
  const raw = view.cold.raw;
  // Hours decode independently: read back from the newest only as far as needed.
  let first = raw.hours.length;
  let have = view.hot.open.n;
  while (have < n && first > 0) {
    first--;
    have += read(reader(raw.hours[first] ?? ''));
  }
  const all = decodeSamples(view.hot.open, view.rolled, decodeHours(raw, raw.from, first));
  const codes = codesOf(view);
  const out: SampleRow[] = [];
  for (let i = Math.max(0, all.t.length - n); i < all.t.length; i++) {
    out.push(sampleRow(all.t[i] ?? 0, all.v[i] ?? 0, codes));
  }
  return out;
}

/** Time-weighted uptime of each of the last `days` UTC days, oldest first, today (so far) last. */
export function dailyUptime(h: HistoryData, name: string, days: number, now: number): DayUptime[] {
  const view = viewOf(h, name);
  const nowS = Math.floor(now / 1000);
  const today = floorTo(nowS, DAY);
  const out: DayUptime[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const start = today - i * DAY;
    const acc = newAcc();
    view?.status(acc, start, Math.min(start + DAY, nowS));
    out.push({ day: new Date(start * 1000).toISOString().slice(0, 10), uptime: uptimeOf(acc) });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Validation

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function checkFields(x: unknown, where: string, numbers: string[], strings: string[]): void {
  if (!isObject(x)) throw new Error(`${where} is not an object`);
  for (const k of numbers) {
    if (typeof x[k] !== 'number' || !Number.isFinite(x[k])) throw new Error(`${where}.${k} is not a number`);
  }
  for (const k of strings) if (typeof x[k] !== 'string') throw new Error(`${where}.${k} is not a string`);
}

function checkRun(x: unknown, where: string): void {
  checkFields(x, where, ['t0', 'd0', 't1', 'd1', 'n'], ['s']);
  if (!Array.isArray((x as Record<string, unknown>).codes)) throw new Error(`${where}.codes is not an array`);
}

function checkPart(raw: unknown, which: string, checkTarget: (t: unknown, where: string) => void): void {
  if (!isObject(raw)) throw new Error(`${which} history is not an object`);
  if (raw.version !== HISTORY_VERSION) {
    throw new Error(
      `${which} history has version ${String(raw.version)}, this Lookout reads ${HISTORY_VERSION}`,
    );
  }
  if (!isObject(raw.targets)) throw new Error(`${which} history has no targets object`);
  for (const [name, t] of Object.entries(raw.targets)) checkTarget(t, `${which}.targets.${name}`);
}

/** Checks the shape of a stored hot half; throws an Error saying what is wrong. */
export function validateHotPart(raw: unknown): HistoryPart<HotTarget> {
  checkPart(raw, 'hot', (t, where) => {
    checkFields(t, where, ['lastAt'], []);
    const o = t as Record<string, unknown>;
    checkRun(o.open, `${where}.open`);
    checkFields(o.status, `${where}.status`, ['from', 's0', 't1', 's1', 'n'], ['s']);
  });
  return raw as HistoryPart<HotTarget>;
}

/** Checks the shape of a stored cold half; throws an Error saying what is wrong. */
export function validateColdPart(raw: unknown): HistoryPart<ColdTarget> {
  checkPart(raw, 'cold', (t, where) => {
    const o = t as Record<string, unknown>;
    checkFields(o.raw, `${where}.raw`, ['from', 'n'], []);
    const raw = o.raw as Record<string, unknown>;
    if (!Array.isArray(raw.hours) || !raw.hours.every((x) => typeof x === 'string')) {
      throw new Error(`${where}.raw.hours is not a list of strings`);
    }
    if (!Array.isArray(raw.codes)) throw new Error(`${where}.raw.codes is not an array`);
    for (const k of ['hourly', 'daily']) checkFields(o[k], `${where}.${k}`, ['from', 'n', 'c0', 'c1'], ['s']);
    checkFields(o.merge, `${where}.merge`, ['p', 'c'], []);
    checkFields(t, where, ['since'], []);
  });
  return raw as HistoryPart<ColdTarget>;
}

/** Checks a stored `{ hot, cold }` object (both halves in one file). */
export function validateHistoryData(raw: unknown): HistoryData {
  if (!isObject(raw)) throw new Error('history is not an object');
  return { hot: validateHotPart(raw.hot), cold: validateColdPart(raw.cold) };
}
