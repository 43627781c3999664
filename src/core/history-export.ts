/** History exports (CSV with a header row and ISO timestamps, or JSON), shared by the `history` command and the API. */
import type { SeriesRow } from './history.js';
import type { Incident } from './types.js';

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

export const iso = (ms: number): string => new Date(ms).toISOString();

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

export function historyCsv(rows: SeriesRow[], incidents: Incident[]): string {
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

export function historyJson(
  name: string,
  period: { label: string },
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
