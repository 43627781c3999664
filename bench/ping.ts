/**
 * ICMP at scale: 1,000 loopback ping targets in one round, batched through one
 * fping process versus one `ping` process per target. CPU includes the child
 * processes (read from /proc/self/stat after they are reaped).
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createPingCheck } from '../src/checks/ping.js';
import type { Target } from '../src/core/types.js';
import { findExecutable } from '../src/checks/ping.js';

const TICKS = 100; // USER_HZ on Linux

/** CPU ms of this process plus its reaped children. */
function cpuMs(): number {
  const own = process.cpuUsage();
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  const children = (Number(f[13]) + Number(f[14])) * (1000 / TICKS);
  return (own.user + own.system) / 1000 + children;
}

function targets(n: number): Target[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `p${i}`,
    kind: 'ping' as const,
    address: `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    interval: 60,
    timeout: 2,
    failThreshold: 3,
    recoverThreshold: 1,
    pings: 1,
    tags: [],
    source: 'api' as const,
    createdAt: 0,
  }));
}

async function perTarget(list: Target[], ping: string, concurrency: number): Promise<number> {
  let ok = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < list.length; i = next++) {
        const code = await new Promise<number | null>((resolve) => {
          const p = spawn(ping, ['-n', '-c', '1', '-W', '2', (list[i] as Target).address], {
            stdio: 'ignore',
          });
          p.on('exit', resolve);
          p.on('error', () => resolve(-1));
        });
        if (code === 0) ok++;
      }
    }),
  );
  return ok;
}

export async function benchPing(n = 1000): Promise<Record<string, string | number>> {
  const check = createPingCheck();
  if (check.backend !== 'fping') return { skipped: 'fping is not installed (apt-get install fping)' };
  const list = targets(n);
  let spawns = 0;
  const counted = createPingCheck({ spawnCounter: () => spawns++ });
  await counted.runBatch?.(list.slice(0, 10), { now: Date.now }); // warm-up
  spawns = 0;
  let c0 = cpuMs();
  let t0 = performance.now();
  const results = await counted.runBatch?.(list, { now: Date.now });
  const batchWall = performance.now() - t0;
  const batchCpu = cpuMs() - c0;
  const up = [...(results?.values() ?? [])].filter((r) => r.ok).length;

  const ping = findExecutable('ping');
  let perWall = NaN;
  let perCpu = NaN;
  let perUp = 0;
  if (ping) {
    c0 = cpuMs();
    t0 = performance.now();
    perUp = await perTarget(list, ping, 50);
    perWall = performance.now() - t0;
    perCpu = cpuMs() - c0;
  }
  return {
    [`fping batch, ${n} targets`]: `${batchWall.toFixed(0)} ms wall, ${batchCpu.toFixed(0)} ms CPU, ${spawns} process(es), ${up} up`,
    [`one ping per target (50 at once)`]: ping
      ? `${perWall.toFixed(0)} ms wall, ${perCpu.toFixed(0)} ms CPU, ${perUp} up`
      : 'ping not installed',
    'batched vs per-target CPU': ping
      ? `${(perCpu / batchCpu).toFixed(0)}× less CPU, ${(perWall / batchWall).toFixed(1)}× faster`
      : '-',
  };
}
