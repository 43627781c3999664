import type { Kind } from './types.js';

/** Target names: lower-case, start with a letter or digit, up to 63 characters. */
export const NAME_RE = /^[a-z0-9][a-z0-9\-_.]{0,62}$/;

export const TARGET_DEFAULTS = {
  interval: 60,
  minInterval: 5,
  failThreshold: 3,
  recoverThreshold: 1,
  maxTimeout: 60,
} as const;

const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9\-_.]+):(\d{1,5})$/i;

/** A URL is http, host:port is tcp, anything else ping (SPEC §2). */
export function inferKind(address: string): Kind {
  const a = address.trim();
  if (/^https?:\/\//i.test(a)) return 'http';
  if (HOST_PORT.test(a)) return 'tcp';
  return 'ping';
}

/** Splits `host:port` (with `[v6]:port`), or returns undefined. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(address.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

/** Default timeout: the interval, capped at 10 s, so a check never overlaps its own next run. */
export function defaultTimeout(interval: number): number {
  return Math.min(10, interval);
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** The closest name within a distance that still looks like a typo, or undefined. */
export function suggestName(input: string, names: Iterable<string>): string | undefined {
  const q = input.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = n.startsWith(q) && q.length >= 2 ? 1 : editDistance(q, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(q.length / 3)) ? best : undefined;
}
