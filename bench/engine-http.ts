/**
 * The whole engine (scheduler, http check, state machine, history, store writes,
 * API listener) running `targets` HTTP targets for a measured window; optionally
 * the latency of commands through POST /api/commands during that window, and how
 * quickly a restarted instance gets every target checked again.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createApp } from '../src/app.js';
import { tuneMemory } from '../src/memory.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { cpuMicros, percentile, urlsFor } from './lib.js';

const {
  ports,
  targets,
  interval,
  seconds,
  profile,
  commands,
  restart,
  heapSnapshot,
  untuned,
  env: extraEnv,
} = JSON.parse(process.argv[2] ?? '{}') as {
  ports: number[];
  targets: number;
  interval: number;
  seconds: number;
  /** Write a CPU profile of the measured window to this path. */
  profile?: string;
  /** Send commands through the API during the window and report their latency. */
  commands?: boolean;
  /** Restart on the same data and time how long until every target was checked again. */
  restart?: boolean;
  /** Write a heap snapshot at the end of the window to this path. */
  heapSnapshot?: string;
  /** Leave V8's heap growth at its default (the "before" of src/memory.ts). */
  untuned?: boolean;
  /** More configuration, e.g. chat platforms pointed at local fakes. */
  env?: Record<string, string>;
};

// As src/main.ts does, so the figures are production's.
if (!untuned) tuneMemory();

const TOKEN = 'bench-token-0123456789abcdef';
const dataDir = await mkdtemp(join(tmpdir(), 'lookout-bench-'));
// Targets come from a config file, as an operator with thousands of them would keep them.
const file = join(dataDir, 'targets.json');
const urls = urlsFor(ports, targets);
await writeFile(
  file,
  JSON.stringify({ targets: urls.map((address, i) => ({ name: `t${i}`, address, interval, timeout: 5 })) }),
);
const env = { DATA_DIR: dataDir, HTTP_PORT: '0', CONFIG_FILE: file, API_TOKEN: TOKEN, ...extraEnv };
const boot0 = performance.now();
let app = await createApp({ config: loadConfig(env), log: createLogger('silent') });
let firstCheckMs: number | undefined;
app.monitor.once('result', () => (firstCheckMs = performance.now() - boot0));
let peakRss = 0;
// Every reading of the measured window, for a median that one GC's high-water mark does not set.
const windowRss: number[] = [];
let measuring = false;
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  if (measuring) windowRss.push(rss);
}, 200);
await app.start();
const startMs = performance.now() - boot0;

// Let the start-up spread finish (one interval), then measure a steady-state window.
await new Promise((r) => setTimeout(r, interval * 1000 + 500));
const session = profile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const checks0 = app.scheduler.stats().checks;
measuring = true;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu = cpuMicros(cpu0);
if (session) {
  const { profile: prof } = await session.post('Profiler.stop');
  await writeFile(profile as string, JSON.stringify(prof));
}
const wall = performance.now() - t0;
if (heapSnapshot) writeHeapSnapshot(heapSnapshot);
const stats = app.scheduler.stats();
const mem = process.memoryUsage();
// Anonymous memory is the process's own; file-backed pages (the node binary) are shared and evictable.
const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
const statusMb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
const checks = stats.checks - checks0;
clearInterval(sampler);
// Before the commands and the restart below, which would add a second app's memory.
const peakRssMb = Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1048576;

// After the CPU window, so command work does not count as check work: commands while checks keep running.
const latencies: number[] = [];
const lines = ['status', 'list', 'uptime t1 7d', 'status t42', 'history t7 24h csv'];
for (let i = 0, c0 = performance.now(); commands && performance.now() - c0 < (seconds * 1000) / 2; i++) {
  const s0 = performance.now();
  const res = await fetch(`${app.url}/api/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: lines[i % lines.length] }),
  });
  await res.arrayBuffer();
  latencies.push(performance.now() - s0);
  await new Promise((r) => setTimeout(r, 100));
}
const mainFileMb = (await stat(join(dataDir, 'lookout.json'))).size / 1048576;
const mainWrites = app.store.writes;
const liveFileMb = (await stat(join(dataDir, 'state.json'))).size / 1048576;
const liveWriteMs = app.live.lastWriteMs;
await app.stop();

let restartAllCheckedMs: number | undefined;
let restartFirstCheckMs: number | undefined;
if (restart) {
  const r0 = performance.now();
  app = await createApp({ config: loadConfig(env), log: createLogger('silent') });
  const seen = new Set<string>();
  const all = new Promise<void>((resolve) => {
    app.monitor.on('result', (t) => {
      restartFirstCheckMs ??= performance.now() - r0;
      seen.add(t.name);
      if (seen.size === targets) resolve();
    });
  });
  await app.start();
  await Promise.race([all, new Promise((r) => setTimeout(r, interval * 2000))]);
  if (seen.size === targets) restartAllCheckedMs = performance.now() - r0;
  await app.stop();
}
await rm(dataDir, { recursive: true, force: true });
process.stdout.write(
  JSON.stringify({
    checks,
    usPerCheck: cpu / checks,
    cpuPercent: (cpu / 1000 / wall) * 100,
    lagP99: stats.lagP99,
    peakRssMb,
    rssEndMb: mem.rss / 1048576,
    rssMedianMb: percentile(windowRss, 0.5) / 1048576,
    heapUsedMb: mem.heapUsed / 1048576,
    heapTotalMb: mem.heapTotal / 1048576,
    externalMb: mem.external / 1048576,
    rssAnonMb: statusMb('RssAnon'),
    rssFileMb: statusMb('RssFile'),
    mainFileMb,
    mainWrites,
    liveFileMb,
    liveWriteMs,
    startMs,
    firstCheckMs,
    commandP50: latencies.length ? percentile(latencies, 0.5) : undefined,
    commandP95: latencies.length ? percentile(latencies, 0.95) : undefined,
    commandCount: latencies.length,
    restartFirstCheckMs,
    restartAllCheckedMs,
  }) + '\n',
);
