/**
 * The whole engine (scheduler, http check, state machine, history, store writes,
 * API listener) running `targets` HTTP targets for a measured window.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { cpuMicros, urlsFor } from './lib.js';

const { ports, targets, interval, seconds, profile } = JSON.parse(process.argv[2] ?? '{}') as {
  ports: number[];
  targets: number;
  interval: number;
  seconds: number;
  /** Write a CPU profile of the measured window to this path. */
  profile?: string;
};

const dataDir = await mkdtemp(join(tmpdir(), 'lookout-bench-'));
const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0' });
const app = await createApp({ config, log: createLogger('silent') });
const urls = urlsFor(ports, targets);
for (let i = 0; i < targets; i++)
  await app.monitor.add({ name: `t${i}`, address: urls[i] as string, interval, timeout: 5 }, 'api');
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
await app.start();

// Let the start-up spread finish (one interval), then measure a steady-state window.
await new Promise((r) => setTimeout(r, interval * 1000 + 500));
const session = profile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const checks0 = app.scheduler.stats().checks;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu = cpuMicros(cpu0);
if (session) {
  const { profile: prof } = await session.post('Profiler.stop');
  await writeFile(profile as string, JSON.stringify(prof));
}
const wall = performance.now() - t0;
const stats = app.scheduler.stats();
const mem = process.memoryUsage();
const checks = stats.checks - checks0;
clearInterval(sampler);
const mainFileMb = (await stat(join(dataDir, 'lookout.json'))).size / 1048576;
await app.stop();
await rm(dataDir, { recursive: true, force: true });
process.stdout.write(
  JSON.stringify({
    checks,
    usPerCheck: cpu / checks,
    cpuPercent: (cpu / 1000 / wall) * 100,
    lagP99: stats.lagP99,
    peakRssMb: Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1048576,
    storeWrites: app.store.writes,
    rssEndMb: mem.rss / 1048576,
    mainFileMb,
    mainWriteMs: app.store.lastWriteMs,
    heapUsedMb: mem.heapUsed / 1048576,
  }) + '\n',
);
