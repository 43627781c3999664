/**
 * `check <address> [kind] [key=value …]`: one diagnostic check right now, with the
 * timing breakdown. The target is built and validated like a real one, then thrown away.
 */
import { formatMs, reply } from '../src/core/reply.js';
import type { Field } from '../src/core/reply.js';
import { UsageError } from '../src/core/errors.js';
import type { CheckResult, Clock, Kind, Target } from '../src/core/types.js';
import { KINDS } from '../src/core/types.js';
import { buildTarget, parseOrThrow, TargetInputSchema } from '../src/schema.js';
import { asArgumentError, nestKeys, TARGET_KEYS } from './parse.js';
import { timingLine } from './status.js';
import { defineCommand } from './types.js';
import type { CheckRunner } from './types.js';

/** Settings that change how one check runs; scheduling and alerting settings mean nothing here. */
const CHECK_KEYS = new Set([
  'kind',
  'timeout',
  'accept',
  'keyword',
  'regex',
  'maxRedirects',
  'maxResponseMs',
  'slowMs',
  'method',
  'recordType',
  'expect',
  'resolver',
  'pings',
  'minReplies',
]);

/** A CheckRunner over a check registry (`createChecks(…)`), for app.ts and the offline CLI. */
export function checkRunner(
  checks: Record<Kind, { run(t: Target, ctx: { now: Clock }): Promise<CheckResult> }>,
  now: Clock,
): CheckRunner {
  return (t) => checks[t.kind].run(t, { now });
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

function detailFields(kind: Kind, r: CheckResult): Field[] {
  const d = r.detail;
  const f: Field[] = [];
  const add = (label: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') f.push({ label, value: String(v) });
  };
  switch (kind) {
    case 'http':
      add('status', d.status);
      add('timing', timingLine(r));
      add('redirects', d.redirects);
      add('final URL', d.url);
      add(
        'certificate',
        num(d.certDaysLeft) === undefined ? undefined : `${String(d.certDaysLeft)} days left`,
      );
      break;
    case 'ping':
      add('ip', d.ip);
      if (num(d.rttAvg) !== undefined)
        add(
          'rtt',
          `min ${formatMs(num(d.rttMin))} / avg ${formatMs(num(d.rttAvg))} / max ${formatMs(num(d.rttMax))}`,
        );
      add(
        'loss',
        d.loss === undefined
          ? undefined
          : `${String(d.loss)}% (${String(d.received)}/${String(d.sent)} replies)`,
      );
      break;
    case 'tcp':
      add('dns', num(d.dns) === undefined ? undefined : formatMs(num(d.dns)));
      add('connect', num(d.connect) === undefined ? undefined : formatMs(num(d.connect)));
      break;
    case 'tls':
      add('certificate', num(d.daysLeft) === undefined ? undefined : `${String(d.daysLeft)} days left`);
      add('valid to', d.validTo);
      add('subject', d.subject);
      add('issuer', d.issuer);
      add('protocol', d.protocol);
      break;
    case 'dns':
      add('answers', d.answers);
      add('resolve', num(d.resolveMs) === undefined ? undefined : formatMs(num(d.resolveMs)));
      break;
    default:
      break;
  }
  return f;
}

export const check = defineCommand({
  name: 'check',
  summary: 'one-off diagnostic check, not saved',
  usage: 'check <address> [kind] [key=value …]',
  examples: [
    'check https://example.com',
    'check 10.0.0.1',
    'check db.example.net:5432',
    'check example.com tls',
  ],
  admin: false,
  args: {
    positional: [
      { name: 'address', type: 'address', required: true, description: 'URL, host or host:port' },
      { name: 'kind', type: 'enum', choices: KINDS, description: 'check kind; inferred from the address' },
    ],
    keys: TARGET_KEYS.filter((k) => CHECK_KEYS.has(k.name)),
  },
  async run(args, ctx) {
    const kind = args.kind ?? args.keys.kind;
    if (kind?.toLowerCase() === 'push')
      throw new UsageError('a push target cannot be checked on demand: it waits for heartbeats');
    const raw: Record<string, unknown> = { ...nestKeys(args.keys), name: 'check', address: args.address };
    if (args.kind !== undefined) raw.kind = args.kind;
    const target = await asArgumentError(() =>
      buildTarget(parseOrThrow(TargetInputSchema, raw), 'chat', ctx.now()),
    );
    const r = await ctx.runCheck(target);
    const lines: string[] = [];
    if (r.error) lines.push(r.error.message);
    const fields = [...detailFields(target.kind, r)];
    if (r.warnings?.length) fields.push({ label: 'warnings', value: r.warnings.join(', ') });
    lines.push(`one-off ${target.kind} check, not saved; to monitor it: add <name> ${target.address}`);
    return reply({
      title: r.ok
        ? `${target.address} is up (${formatMs(r.ms)})`
        : `${target.address} is DOWN: ${r.error?.code ?? 'failed'}`,
      lines,
      fields,
      severity: r.ok ? (r.warnings?.length ? 'warning' : 'ok') : 'critical',
    });
  },
});
