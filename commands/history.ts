/** `history <name> [period] [csv|json]`: incidents and samples (or roll-ups) as an attached file. */
import { reply } from '../src/core/reply.js';
import { historyCsv, historyJson, iso } from '../src/core/history-export.js';
import { incidentsIn } from './uptime.js';
import { defineCommand } from './types.js';
import type { Period } from './types.js';

const DEFAULT_PERIOD: Period = { label: '24h', ms: 86400e3 };

export const history = defineCommand({
  name: 'history',
  summary: 'incidents and samples, as an attached file',
  usage: 'history <name> [period] [csv|json]',
  examples: ['history portal 7d csv', 'history portal', 'history router 30d json'],
  admin: false,
  args: {
    positional: [
      { name: 'name', type: 'target', required: true, description: 'target' },
      { name: 'period', type: 'period', description: 'window: 24h (default), 7d, 30d or 90d' },
      {
        name: 'format',
        type: 'format',
        choices: ['csv', 'json'],
        description: 'file format: csv (default) or json',
      },
    ],
  },
  async run(args, ctx) {
    const { monitor, history: h } = ctx.services;
    const now = ctx.now();
    const t = monitor.get(args.name);
    const period = args.period ?? DEFAULT_PERIOD;
    const format = args.format ?? 'csv';
    const from = now - period.ms;
    const rows = h.series(t.name, from, now, now);
    const incidents = incidentsIn(monitor.incidents(t.name), from, now);

    const first = rows[0];
    const what =
      first === undefined
        ? 'no samples'
        : 'resolution' in first
          ? `${rows.length.toLocaleString('en-US')} ${first.resolution === 'hour' ? 'hourly' : 'daily'} roll-up${rows.length === 1 ? '' : 's'}`
          : `${rows.length.toLocaleString('en-US')} sample${rows.length === 1 ? '' : 's'}`;
    const stamp = iso(now).slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
    const name = `${t.name}-history-${period.label}-${stamp}.${format}`;
    return reply({
      title: `${t.name} history, last ${period.label}`,
      lines: [
        `${what} and ${incidents.length} incident${incidents.length === 1 ? '' : 's'}, attached as ${name}`,
      ],
      severity: 'info',
      attachment: {
        name,
        mime: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json',
        data:
          format === 'csv'
            ? historyCsv(rows, incidents)
            : historyJson(t.name, period, from, now, rows, incidents),
      },
    });
  },
});
