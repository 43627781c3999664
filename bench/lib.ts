/** Helpers shared by the benchmark scripts: child processes, CPU accounting, percentiles. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface Child {
  proc: ChildProcess;
  result: Promise<Record<string, unknown>>;
}

/**
 * Runs a compiled benchmark script (`dist/bench/<script>.js`, built by `npm run bench`)
 * in a fresh Node process, as production runs: no TypeScript loader, no source maps.
 * The last line it prints is its JSON result.
 */
export function runChild(
  script: string,
  args: Record<string, unknown>,
  nodeArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const proc = spawn(process.execPath, [...nodeArgs, join(here, `${script}.js`), JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    proc.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${out}`));
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`${script} printed no result: ${out}`));
      }
    });
  });
}

/** Starts `n` target server processes and returns their ports and a stop function. */
export async function startTargets(n: number): Promise<{ ports: number[]; stop: () => void }> {
  const procs: ChildProcess[] = [];
  const ports = await Promise.all(
    Array.from({ length: n }, () => {
      const p = spawn(process.execPath, [join(here, 'target-servers.js')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      procs.push(p);
      return new Promise<number>((resolve) => {
        p.stdout?.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
      });
    }),
  );
  return { ports, stop: () => procs.forEach((p) => p.kill()) };
}

/** CPU microseconds (user + system) used by this process since `since`. */
export function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  if (process.env.BENCH_VERBOSE) process.stderr.write(`cpu user ${d.user} system ${d.system}\n`);
  return d.user + d.system;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

export function urlsFor(ports: number[], n: number): string[] {
  return Array.from({ length: n }, (_, i) => `http://127.0.0.1:${ports[i % ports.length]}/t/${i}`);
}
