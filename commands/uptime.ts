/** `uptime [name] [period]`: uptime %, downtime, incidents and latency over a window. */
import { formatDuration } from '../src/core/duration.js';
import { formatLatency, formatPercent, reply } from '../src/core/reply.js';
import type { HistoryStats } from '../src/core/history.js';
import type { Incident } from '../src/core/types.js';
import { defineCommand } from './types.js';
import type { Period } from './types.js';

const DEFAULT_PERIOD: Period = { label: '24h', ms: 86400e3 };

/** Incidents that overlap [from, to]. */
export function incidentsIn(all: Incident[], from: number, to: number): Incident[] {
  return all.filter((i) => i.start <= to && (i.end ?? to) >= from);
}

/** Downtime, or `—` when nothing was observed (0s would claim a clean record). */
function downtime(st: HistoryStats): string {
  return st.uptime === null && st.downtimeS === 0 ? '—' : formatDuration(st.downtimeS * 1000);
}

export const uptime = defineCommand({
  name: 'uptime',
  summary: 'uptime %, downtime, incidents, latency p50/p95',
  usage: 'uptime [name] [24h|7d|30d|90d]',
  examples: ['uptime portal 7d', 'uptime', 'uptime 30d'],
  admin: false,
  args: {
    positional: [
      { name: 'name', type: 'target', description: 'target; all when left out' },
      { name: 'period', type: 'period', description: 'window: 24h (default), 7d, 30d or 90d' },
    ],
  },
  async run(args, ctx) {
    const { monitor, history } = ctx.services;
    const now = ctx.now();
    const period = args.period ?? DEFAULT_PERIOD;
    const from = now - period.ms;

    if (args.name !== undefined) {
      const t = monitor.get(args.name);
      const st = history.stats(t.name, from, now, now);
      const inc = incidentsIn(monitor.incidents(t.name), from, now);
      const open = inc.filter((i) => i.end === undefined).length;
      const fields = [
        { label: 'uptime', value: formatPercent(st.uptime) },
        { label: 'downtime', value: downtime(st) },
        { label: 'incidents', value: `${inc.length}${open ? ` (${open} open)` : ''}` },
        { label: 'latency', value: formatLatency(st.latency) },
        {
          label: 'checks',
          value: `${st.checks.toLocaleString('en-US')}${st.failures ? ` (${st.failures.toLocaleString('en-US')} failed)` : ''}`,
        },
      ];
      if (st.pausedS > 0)
        fields.push({ label: 'paused', value: `${formatDuration(st.pausedS * 1000)} (not counted)` });
      const lines = st.uptime === null ? [`no checks of ${t.name} in the last ${period.label} yet`] : [];
      return reply({
        title: `${t.name} uptime, last ${period.label}: ${formatPercent(st.uptime)}`,
        lines,
        fields,
        severity:
          st.uptime === null || st.uptime >= 0.999 ? 'ok' : st.uptime >= 0.99 ? 'warning' : 'critical',
      });
    }

    const targets = monitor.list();
    if (targets.length === 0)
      return reply({ title: 'No targets yet', lines: ['add one with: add web https://example.com'] });
    const rows = targets.map((t) => {
      const st = history.stats(t.name, from, now, now);
      const inc = incidentsIn(monitor.incidents(t.name), from, now).length;
      return [t.name, formatPercent(st.uptime), downtime(st), String(inc), formatLatency(st.latency)];
    });
    return reply({
      title: `Uptime, last ${period.label}`,
      table: { columns: ['name', 'uptime', 'downtime', 'incidents', 'latency'], rows },
      severity: 'info',
    });
  },
});
