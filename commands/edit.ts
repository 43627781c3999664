/** `edit <name> key=value …`: changes settings, validated exactly as the API's PATCH. */
import { formatDuration } from '../src/core/duration.js';
import { reply } from '../src/core/reply.js';
import type { Target } from '../src/core/types.js';
import { parseOrThrow, TargetPatchSchema } from '../src/schema.js';
import { ArgumentError, asArgumentError, nestKeys, TARGET_KEYS } from './parse.js';
import { defineCommand } from './types.js';

const SECONDS = new Set(['interval', 'timeout', 'retryInterval', 'grace']);

function show(key: string, v: unknown): string {
  if (v === undefined) return '(not set)';
  if (SECONDS.has(key) && typeof v === 'number') return formatDuration(v * 1000);
  if (Array.isArray(v)) return v.length ? v.join(', ') : '(none)';
  if (typeof v === 'object' && v !== null)
    return Object.entries(v)
      .map(([k, x]) => `${k}: ${Array.isArray(x) ? x.join(', ') : String(x)}`)
      .join('; ');
  return String(v);
}

export const edit = defineCommand({
  name: 'edit',
  summary: 'change settings',
  usage: 'edit <name> key=value …',
  examples: [
    'edit web interval=30',
    'edit portal keyword="all good" failThreshold=2',
    'edit db tags=prod,db',
  ],
  admin: true,
  args: {
    positional: [{ name: 'name', type: 'target', required: true, description: 'target to change' }],
    keys: [{ name: 'address', type: 'string', description: 'new address (the kind stays)' }, ...TARGET_KEYS],
    refusedKeys: { name: 'a target cannot be renamed; remove it and add it again' },
  },
  async run(args, ctx) {
    const { monitor } = ctx.services;
    const old = monitor.get(args.name);
    if (Object.keys(args.keys).length === 0)
      throw new ArgumentError('nothing to change: give settings as key=value, e.g. interval=30', true);
    const patch = await asArgumentError(() => parseOrThrow(TargetPatchSchema, nestKeys(args.keys)));
    const t = await asArgumentError(() => monitor.edit(old.name, patch));
    const changes = Object.keys(patch).flatMap((k) => {
      const key = k as keyof Target;
      const [before, after] = [show(k, old[key]), show(k, t[key])];
      return before === after ? [`${k}: ${after} (unchanged)`] : [`${k}: ${before} → ${after}`];
    });
    // A shorter interval may pull the timeout down with it: say so rather than surprise.
    if (!('timeout' in patch) && old.timeout !== t.timeout)
      changes.push(`timeout: ${show('timeout', old.timeout)} → ${show('timeout', t.timeout)}`);
    return reply({ title: `Updated ${t.name}`, lines: changes, severity: 'ok' });
  },
});
