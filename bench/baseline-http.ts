/**
 * The baseline: a bare undici loop, one fresh connection per request (what a monitor
 * needs), over the same targets. `rate` paces it like the engine (checks spread over
 * time, so each one pays its own event-loop wake-ups); without it, a tight loop.
 */
import { Client } from 'undici';
import { cpuMicros, urlsFor } from './lib.js';

const { ports, targets, checks, concurrency, rate } = JSON.parse(process.argv[2] ?? '{}') as {
  ports: number[];
  targets: number;
  checks: number;
  concurrency: number;
  /** Requests per second, evenly spaced; absent = as fast as `concurrency` allows. */
  rate?: number;
};
const urls = urlsFor(ports, targets);

async function once(u: string): Promise<void> {
  const url = new URL(u);
  const client = new Client(url.origin, { pipelining: 0 });
  try {
    const res = await client.request({ path: url.pathname, method: 'GET', headers: { connection: 'close' } });
    await res.body.dump();
  } finally {
    await client.destroy();
  }
}

// Warm up the JIT the same way the engine gets its first interval.
for (let i = 0; i < 200; i++) await once(urls[i % urls.length] as string);
let next = 0;
const start = process.cpuUsage();
const t0 = performance.now();
if (rate) {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < checks; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(once(urls[i % urls.length] as string));
  }
  await Promise.all(pending);
} else {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < checks; i = next++) await once(urls[i % urls.length] as string);
    }),
  );
}
const cpu = cpuMicros(start);
process.stdout.write(
  JSON.stringify({
    checks,
    cpuUs: cpu,
    usPerCheck: cpu / checks,
    wallMs: performance.now() - t0,
    rssMb: process.memoryUsage().rss / 1048576,
  }) + '\n',
);
