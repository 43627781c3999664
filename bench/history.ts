/**
 * History size and write cost at the scale the issue sets: 1,000 targets checked
 * every 60 s for 90 days, simulated on a fake clock through the real recordSample /
 * recordStatus / compact path, then written with lowdb's JSONFile (steno: temp file
 * + rename) into a temp dir, and as the app writes it each second (StateFile's journal).
 *
 * Run: npx tsx bench/history.ts
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JSONFile } from 'lowdb/node';
import {
  compact,
  createHistoryData,
  dailyUptime,
  recordSample,
  recordStatus,
  stats,
  trail,
} from '../src/core/history.js';
import type { HistoryData, HistoryPart, HotTarget } from '../src/core/history.js';
import { StateFile } from '../src/store/file.js';
import type { CheckResult, Status } from '../src/core/types.js';
import { prng } from '../test/helpers/prng.js';

const TARGETS = 1000;
const DAYS = 90;
const WRITES = 20;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const START = Date.UTC(2025, 0, 1);
const TIMEOUT = { code: 'timeout', message: 'no answer in 10 s' };

interface Sim {
  name: string;
  /** Typical latency, ms: a LAN device or something across the internet. */
  base: number;
  /** Offset of this target's checks inside each minute, ms. */
  phase: number;
  status: Status;
  fails: number;
  outageLeft: number;
  pausedLeft: number;
}

function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(0.95 * s.length) - 1)] ?? 0;
}

interface WriteFigures {
  mb: number;
  p95: number;
  median: number;
  /** p95 of the synchronous part (JSON.stringify), during which nothing else runs. */
  blockP95: number;
}

async function timeWrites(dir: string, file: string, data: unknown): Promise<WriteFigures> {
  const path = join(dir, file);
  const adapter = new JSONFile<unknown>(path);
  const times: number[] = [];
  const blocked: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const t0 = performance.now();
    const done = adapter.write(data);
    blocked.push(performance.now() - t0);
    await done;
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    mb: (await stat(path)).size / 1e6,
    p95: p95(times),
    median: sorted[sorted.length >> 1] ?? 0,
    blockP95: p95(blocked),
  };
}

/**
 * What the app writes each second: the journal lines of the targets checked in that
 * second (`perSecond`), and now and then the whole hot file when the journal outgrew it.
 */
async function timeJournal(
  dir: string,
  hot: HistoryPart<HotTarget>,
  perSecond: number,
): Promise<{ p95: number; max: number; rewrites: number }> {
  const file = await StateFile.open<HistoryPart<HotTarget>>({
    path: join(dir, 'journaled-hot.json'),
    initial: () => hot,
    validate: (raw) => raw as HistoryPart<HotTarget>,
    journal: 'targets',
  });
  const names = Object.keys(hot.targets);
  const times: number[] = [];
  const seconds = 600;
  let rewrites = 0;
  let mtime = (await stat(file.path)).mtimeMs;
  for (let i = 0; i < seconds; i++) {
    for (let k = 0; k < perSecond; k++) file.touch(names[(i * perSecond + k) % names.length] as string);
    const t0 = performance.now();
    await file.flush();
    times.push(performance.now() - t0);
    const m = (await stat(file.path)).mtimeMs;
    if (m !== mtime) rewrites++;
    mtime = m;
  }
  await file.close();
  return { p95: p95(times), max: Math.max(...times), rewrites };
}

/** Simulates one hour of checks for every target, in time order per target. */
function simulateHour(
  h: HistoryData,
  sims: Sim[],
  hourStart: number,
  rnd: () => number,
  result: CheckResult,
): void {
  for (const s of sims) {
    for (let m = 0; m < 60; m++) {
      const at = hourStart + m * 60_000 + s.phase + Math.floor(rnd() * 400);
      if (s.pausedLeft > 0) {
        if (--s.pausedLeft === 0) {
          s.status = 'unknown';
          recordStatus(h, s.name, 'unknown', at);
        }
        continue;
      }
      // About one pause a month and one outage a week per target.
      if (s.status !== 'down' && rnd() < 1 / (30 * 1440)) {
        s.pausedLeft = 60 + Math.floor(rnd() * 180);
        s.status = 'paused';
        recordStatus(h, s.name, 'paused', at);
        continue;
      }
      if (s.outageLeft === 0 && rnd() < 1 / (7 * 1440)) s.outageLeft = 3 + Math.floor(rnd() * 57);
      const ok = s.outageLeft > 0 ? false : rnd() >= 0.001;
      if (s.outageLeft > 0) s.outageLeft--;
      result.at = at;
      result.ok = ok;
      result.ms = ok ? s.base * (0.8 + 0.4 * rnd() + (rnd() < 0.02 ? 2 * rnd() : 0)) : 10_000;
      // Assigned rather than deleted: a delete would turn the reused object into a slow dictionary.
      result.error = ok ? undefined : TIMEOUT;
      recordSample(h, s.name, result);
      s.fails = ok ? 0 : s.fails + 1;
      if (!ok && s.fails >= 3 && s.status !== 'down') {
        s.status = 'down';
        recordStatus(h, s.name, 'down', at);
      } else if (ok && s.status !== 'up') {
        s.status = 'up';
        recordStatus(h, s.name, 'up', at);
      }
    }
  }
}

/** `days` and `targets` shrink the run for profiling; the figures that matter are at the defaults. */
export async function benchHistory(
  opts: { days?: number; targets?: number } = {},
): Promise<Record<string, string | number>> {
  const days = opts.days ?? DAYS;
  const targets = opts.targets ?? TARGETS;
  // Seeded so every run simulates the same 90 days.
  const rnd = prng(42);
  const h = createHistoryData();
  const sims: Sim[] = Array.from({ length: targets }, (_, i) => ({
    name: `target-${String(i).padStart(4, '0')}`,
    base: rnd() < 0.4 ? 0.3 + rnd() * 5 : 20 + rnd() * 280,
    phase: Math.floor((i * 60_000) / targets),
    status: 'unknown',
    fails: 0,
    outageLeft: 0,
    pausedLeft: 0,
  }));
  const result: CheckResult = { ok: true, ms: 0, at: 0, detail: {} };

  const simStart = performance.now();
  const compactMs: number[] = [];
  const hours = days * 24;
  for (let i = 0; i < hours; i++) {
    simulateHour(h, sims, START + i * HOUR_MS, rnd, result);
    // As the app's cron would, a couple of minutes after the hour.
    const t0 = performance.now();
    compact(h, START + (i + 1) * HOUR_MS + 120_000);
    compactMs.push(performance.now() - t0);
  }
  // One more hour recorded but not compacted: the hot half at its largest.
  simulateHour(h, sims, START + hours * HOUR_MS, rnd, result);
  const simS = (performance.now() - simStart) / 1000;
  const now = START + (hours + 1) * HOUR_MS;

  const readStart = performance.now();
  const windows = { '24h': DAY_MS, '7d': 7 * DAY_MS, '30d': 30 * DAY_MS, '90d': 90 * DAY_MS };
  const readMs: Record<string, number> = {};
  for (const [label, len] of Object.entries(windows)) {
    const t0 = performance.now();
    for (const s of sims) stats(h, s.name, now - len, now, now);
    readMs[label] = performance.now() - t0;
  }
  let t0 = performance.now();
  for (const s of sims) trail(h, s.name, 60);
  const trailMs = performance.now() - t0;
  t0 = performance.now();
  for (const s of sims) dailyUptime(h, s.name, 90, now);
  const barsMs = performance.now() - t0;
  const readS = (performance.now() - readStart) / 1000;

  const dir = await mkdtemp(join(tmpdir(), 'lookout-bench-history-'));
  try {
    const hot = await timeWrites(dir, 'history-hot.json', h.hot);
    const cold = await timeWrites(dir, 'history-cold.json', h.cold);
    const whole = await timeWrites(dir, 'history.json', h);
    // Every target is checked once a minute here.
    const journal = await timeJournal(dir, h.hot, Math.ceil(targets / 60));
    const sizes = sectionSizes(h);
    const total = hot.mb + cold.mb;
    console.log(
      `history file at ${targets.toLocaleString('en')} targets × ${days} days: ${total.toFixed(1)} MB, ` +
        `per-second write p95 ${journal.p95.toFixed(1)} ms (goal ≤ 25 MB, ≤ 50 ms) — each second the journal ` +
        `of the targets checked, and the hot ${hot.mb.toFixed(2)} MB whole ${journal.rewrites} times in ` +
        `600 s (p95 ${hot.p95.toFixed(1)} ms); cold ${cold.mb.toFixed(1)} MB once an hour (p95 ${cold.p95.toFixed(1)} ms)`,
    );
    return {
      targets,
      days,
      'simulate s': round(simS),
      'compact p95 ms (1,000 targets, hourly)': round(p95(compactMs)),
      'hot MB': round(hot.mb, 2),
      'hot write p95 ms': round(hot.p95),
      'hot event-loop block p95 ms': round(hot.blockP95),
      'per-second write p95 ms (journal, 600 s)': round(journal.p95),
      'per-second write max ms': round(journal.max),
      'hot file rewrites in 600 s': journal.rewrites,
      'cold MB': round(cold.mb, 2),
      'cold write p95 ms': round(cold.p95),
      'cold write median ms': round(cold.median),
      'cold event-loop block p95 ms': round(cold.blockP95),
      'one-file MB': round(whole.mb, 2),
      'one-file write p95 ms': round(whole.p95),
      ...Object.fromEntries(Object.entries(sizes).map(([k, v]) => [`${k} MB`, round(v / 1e6, 2)])),
      ...Object.fromEntries(Object.entries(readMs).map(([k, v]) => [`stats ${k} × 1,000 ms`, round(v)])),
      'trail 60 × 1,000 ms': round(trailMs),
      'dailyUptime 90 × 1,000 ms': round(barsMs),
      'reads s': round(readS),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Characters of encoded data per section, to see where the bytes go. */
function sectionSizes(h: HistoryData): Record<string, number> {
  const out = { raw: 0, open: 0, hourly: 0, daily: 0, status: 0 };
  for (const t of Object.values(h.cold.targets)) {
    for (const hour of t.raw.hours) out.raw += hour.length;
    out.hourly += t.hourly.s.length;
    out.daily += t.daily.s.length;
  }
  for (const t of Object.values(h.hot.targets)) {
    out.open += t.open.s.length;
    out.status += t.status.s.length;
  }
  return out;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await benchHistory({
    days: Number(process.env.BENCH_DAYS ?? DAYS),
    targets: Number(process.env.BENCH_TARGETS ?? TARGETS),
  });
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k}: ${v}`);
}
