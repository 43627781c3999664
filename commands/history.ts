/** `history <name> [period] [csv|json]`: incidents and samples (or roll-ups) as an attached file. */
import type { SeriesRow } from '../src/core/history.js';
import { reply } from '../src/core/reply.js';
import type { Incident } from '../src/core/types.js';
import { incidentsIn } from './uptime.js';
import { defineCommand } from './types.js';
import type { Period } from './types.js';

const DEFAULT_PERIOD: Period = { label: '24h', ms: 86400e3 };

const CSV_COLUMNS = [
  'time',
  'type',
  'ok',
  'ms',
  'code',
  'checks',
  'failures',
  'uptime',
  'downtime_s',
  'paused_s',
  'min_ms',
  'avg_ms',
  'max_ms',
  'p50_ms',
  'p95_ms',
  'end',
  'cause',
  'acked_by',
] as const;
type CsvRow = Partial<Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null>>;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One CSV cell. Text that starts like a formula is prefixed with `'`, so an error
 * message chosen by a remote server cannot run as a formula in a spreadsheet.
 */
function cell(v: string | number | boolean | null | undefined, text: boolean): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const TEXT = new Set(['code', 'cause', 'acked_by']);

function csvOf(rows: SeriesRow[], incidents: Incident[]): string {
  const out: Array<{ t: number; row: CsvRow }> = [];
  for (const r of rows) {
    if ('resolution' in r)
      out.push({
        t: r.t,
        row: {
          time: iso(r.t),
          type: r.resolution,
          checks: r.checks,
          failures: r.failures,
          uptime: r.uptime,
          downtime_s: r.downtimeS,
          paused_s: r.pausedS,
          min_ms: r.min,
          avg_ms: r.avg,
          max_ms: r.max,
          p50_ms: r.p50,
          p95_ms: r.p95,
        },
      });
    else out.push({ t: r.t, row: { time: iso(r.t), type: 'sample', ok: r.ok, ms: r.ms, code: r.code } });
  }
  for (const i of incidents)
    out.push({
      t: i.start,
      row: {
        time: iso(i.start),
        type: 'incident',
        code: i.code,
        end: i.end === undefined ? null : iso(i.end),
        cause: i.cause,
        acked_by: i.ackedBy,
      },
    });
  out.sort((a, b) => a.t - b.t);
  const lines = [CSV_COLUMNS.join(',')];
  for (const { row } of out) lines.push(CSV_COLUMNS.map((c) => cell(row[c], TEXT.has(c))).join(','));
  return lines.join('\r\n') + '\r\n';
}

function jsonOf(
  name: string,
  period: Period,
  from: number,
  now: number,
  rows: SeriesRow[],
  incidents: Incident[],
): string {
  const resolution =
    rows[0] === undefined ? 'sample' : 'resolution' in rows[0] ? rows[0].resolution : 'sample';
  return (
    JSON.stringify(
      {
        target: name,
        period: period.label,
        from: iso(from),
        to: iso(now),
        resolution,
        rows: rows.map((r) => ({ ...r, t: iso(r.t) })),
        incidents: incidents.map((i) => ({
          ...i,
          start: iso(i.start),
          end: i.end === undefined ? null : iso(i.end),
          ackedAt: i.ackedAt === undefined ? undefined : iso(i.ackedAt),
        })),
      },
      null,
      2,
    ) + '\n'
  );
}

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
        data: format === 'csv' ? csvOf(rows, incidents) : jsonOf(t.name, period, from, now, rows, incidents),
      },
    });
  },
});
