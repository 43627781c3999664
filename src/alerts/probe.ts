/**
 * The probe self-check: before alerting that most targets are down, check that
 * Lookout itself can still reach its uplink. References are addresses checked with
 * the usual check kinds; by default the default gateway and a public resolver.
 */
import { readFile } from 'node:fs/promises';
import type { Check } from '../checks/types.js';
import { inferKind } from '../core/targets.js';
import type { Clock, Kind, Target } from '../core/types.js';

/** The IPv4 default gateway from /proc/net/route (Linux), or undefined. */
export async function defaultGateway(): Promise<string | undefined> {
  try {
    const text = await readFile('/proc/net/route', 'utf8');
    for (const line of text.split('\n').slice(1)) {
      const [, dest, gw] = line.trim().split(/\s+/);
      if (dest === '00000000' && gw && gw !== '00000000') {
        const n = parseInt(gw, 16);
        return [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].join('.');
      }
    }
  } catch {
    /* not Linux, or no access */
  }
  return undefined;
}

/** Builds `probe()`: true when at least one reference answers. */
export function createProbe(
  references: string[],
  checks: Record<Kind, Check>,
  now: Clock,
): () => Promise<boolean> {
  return async () => {
    let refs = references;
    if (refs.length === 0) refs = [...[await defaultGateway()].filter((g): g is string => !!g), '1.1.1.1'];
    const targets: Target[] = refs.map((address, i) => ({
      name: `probe-ref-${i}`,
      kind: inferKind(address),
      address,
      interval: 60,
      timeout: 3,
      failThreshold: 1,
      recoverThreshold: 1,
      pings: 2,
      tags: [],
      source: 'config',
      createdAt: 0,
    }));
    const results = await Promise.all(
      targets.map((t) => checks[t.kind].run(t, { now }).catch(() => undefined)),
    );
    return results.some((r) => r?.ok === true);
  };
}
