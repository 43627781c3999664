/** `status [name]`: one target in detail, or the summary of all of them. */
import { formatDuration } from '../src/core/duration.js';
import { formatLatency, formatMs, formatPercent, formatTime, reply } from '../src/core/reply.js';
import type { Field, Reply, ReplyButton, ReplySeverity } from '../src/core/reply.js';
import type { CheckResult, Target, TargetState } from '../src/core/types.js';
import { defineCommand } from './types.js';
import type { CommandContext, CommandServices } from './types.js';

const DAY_MS = 86400e3;

/** `up 3h`, `DOWN 14m`, `paused until …`, `unknown`: the state in a few words. */
export function stateText(t: Target, s: TargetState, now: number): string {
  const age = formatDuration(now - s.since);
  switch (s.status) {
    case 'up':
      return `up ${age}`;
    case 'down':
      return `DOWN ${age}`;
    case 'paused':
      return t.pausedUntil !== undefined ? `paused until ${formatTime(t.pausedUntil)}` : 'paused';
    default:
      return 'unknown';
  }
}

/** Uptime and latency of the last 24 hours, as shown in lists. */
export function last24h(services: CommandServices, name: string, now: number) {
  return services.history.stats(name, now - DAY_MS, now, now);
}

/** HTTP timing breakdown: `dns 1.2 ms → connect 0.4 ms → tls 31 ms → first byte 80 ms → total 123 ms`. */
export function timingLine(r: CheckResult): string | undefined {
  const d = r.detail;
  const parts: string[] = [];
  const step = (label: string, v: unknown) => {
    if (typeof v === 'number') parts.push(`${label} ${formatMs(v)}`);
  };
  step('dns', d.dns);
  step('connect', d.connect);
  step('tls', d.tls);
  step('first byte', d.ttfb);
  if (parts.length === 0) return undefined;
  parts.push(`total ${formatMs(r.ms)}`);
  return parts.join(' → ');
}

function summary(ctx: CommandContext): Reply {
  const { monitor } = ctx.services;
  const now = ctx.now();
  const targets = monitor.list();
  if (targets.length === 0)
    return reply({ title: 'No targets yet', lines: ['add one with: add web https://example.com'] });
  const counts = { up: 0, down: 0, paused: 0, unknown: 0 };
  const lines: string[] = [];
  let open = 0;
  for (const t of targets) {
    const s = monitor.state(t.name);
    counts[s.status]++;
    const inc = monitor.openIncident(t.name);
    if (inc) open++;
    if (s.status === 'down') {
      const why = s.lastResult?.error?.message ?? inc?.cause ?? 'check failed';
      const ack = inc?.ackedBy ? ` (acknowledged by ${inc.ackedBy})` : '';
      lines.push(`${t.name} is down for ${formatDuration(now - s.since)}: ${why}${ack}`);
    }
  }
  const parts = [`${counts.up} up`, `${counts.down} down`];
  if (counts.paused) parts.push(`${counts.paused} paused`);
  if (counts.unknown) parts.push(`${counts.unknown} unknown`);
  if (counts.down === 0) lines.unshift('nothing is down');
  // A channel that cannot deliver is worth knowing about here: it is where alerts would have gone.
  for (const d of ctx.deliveries?.() ?? []) {
    if (d.disabled) lines.push(`⚠ ${d.channel} alerts stopped: ${d.disabled}`);
    else if (d.pending > 0 && d.lastError)
      lines.push(
        `⚠ ${d.channel}: ${d.pending} alert${d.pending === 1 ? '' : 's'} waiting to be delivered (last error: ${d.lastError})`,
      );
  }
  return reply({
    title: `${targets.length} target${targets.length === 1 ? '' : 's'}: ${parts.join(', ')}`,
    lines,
    fields: [
      { label: 'up', value: String(counts.up) },
      { label: 'down', value: String(counts.down) },
      { label: 'paused', value: String(counts.paused) },
      { label: 'unknown', value: String(counts.unknown) },
      { label: 'open incidents', value: String(open) },
    ],
    severity: counts.down > 0 ? 'critical' : 'ok',
  });
}

function detail(name: string, ctx: CommandContext): Reply {
  const { monitor } = ctx.services;
  const now = ctx.now();
  const t = monitor.get(name);
  const s = monitor.state(t.name);
  const inc = monitor.openIncident(t.name);
  const st = last24h(ctx.services, t.name, now);
  const last = s.lastResult;

  const titles: Record<TargetState['status'], string> = {
    up: `${t.name} is up`,
    down: `${t.name} is DOWN`,
    paused: `${t.name} is paused`,
    unknown: `${t.name}: waiting for its first check`,
  };
  const lines: string[] = [];
  if (s.status === 'down' && last?.error) lines.push(last.error.message);
  if (inc) {
    const ack = inc.ackedBy ? `acknowledged by ${inc.ackedBy}` : 'not acknowledged';
    lines.push(`incident open since ${formatTime(inc.start)} (${formatDuration(now - inc.start)}), ${ack}`);
  }
  const fields: Field[] = [
    { label: 'address', value: t.address === '' ? `(push heartbeat)` : t.address },
    { label: 'kind', value: t.kind },
    { label: 'state', value: stateText(t, s, now) },
  ];
  if (last) {
    const outcome = last.ok ? formatMs(last.ms) : `failed (${last.error?.code ?? 'error'})`;
    fields.push({ label: 'last check', value: `${outcome}, ${formatDuration(now - last.at)} ago` });
    const timing = timingLine(last);
    if (timing) fields.push({ label: 'timing', value: timing });
  } else fields.push({ label: 'last check', value: 'none yet' });
  fields.push(
    { label: 'uptime 24h', value: formatPercent(st.uptime) },
    { label: 'latency 24h', value: formatLatency(st.latency) },
    {
      label: 'checks',
      value: `every ${formatDuration(t.interval * 1000)}, DOWN after ${t.failThreshold} failure${t.failThreshold === 1 ? '' : 's'}`,
    },
  );
  if (t.tags.length) fields.push({ label: 'tags', value: t.tags.join(', ') });
  if (t.dependsOn) fields.push({ label: 'depends on', value: t.dependsOn });
  if (last?.warnings?.length) fields.push({ label: 'warnings', value: last.warnings.join(', ') });

  const buttons: ReplyButton[] = [];
  if (inc && !inc.ackedBy) buttons.push({ id: 'ack', label: 'Acknowledge', action: `ack ${t.name}` });
  if (t.paused) buttons.push({ id: 'resume', label: 'Resume', action: `resume ${t.name}` });
  else buttons.push({ id: 'pause', label: 'Pause 1h', action: `pause ${t.name} 1h` });

  const severity: ReplySeverity =
    s.status === 'down' ? 'critical' : last?.warnings?.length ? 'warning' : s.status === 'up' ? 'ok' : 'info';
  return reply({ title: titles[s.status], lines, fields, severity, buttons });
}

export const status = defineCommand({
  name: 'status',
  summary: 'one target in detail, or the summary',
  usage: 'status [name]',
  examples: ['status', 'status portal'],
  admin: false,
  args: {
    positional: [{ name: 'name', type: 'target', description: 'target to show; all when left out' }],
  },
  async run(args, ctx) {
    return args.name === undefined ? summary(ctx) : detail(args.name, ctx);
  },
});
