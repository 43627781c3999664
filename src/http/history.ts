/** `GET /api/targets/:name/history?from=&to=&format=json|csv` (SPEC §6). */
import { historyCsv, historyJson } from '../core/history-export.js';
import type { Monitor } from '../monitor.js';
import type { HistoryStore } from '../store/history-store.js';
import { HttpError, RawBody } from './router.js';
import type { Router } from './router.js';

/** Accepts ISO 8601 or epoch milliseconds. */
function parseTime(v: string | null, name: string, fallback: number): number {
  if (v === null || v === '') return fallback;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n))
    throw new HttpError(400, `${name} must be an ISO time (2026-11-21T10:00:00Z) or epoch milliseconds`);
  return n;
}

export function registerHistoryApi(router: Router, o: { monitor: Monitor; history: HistoryStore }): void {
  router.on('GET', '/api/targets/:name/history', (req) => {
    const t = o.monitor.get(req.params.name as string);
    const now = o.monitor.now();
    const q = req.url.searchParams;
    const to = parseTime(q.get('to'), 'to', now);
    const from = parseTime(q.get('from'), 'from', to - 86400e3);
    if (from >= to) throw new HttpError(400, 'from must be before to');
    const format = q.get('format') ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new HttpError(400, 'format must be json or csv');
    const rows = o.history.series(t.name, from, to, now);
    const incidents = o.monitor.incidents(t.name).filter((i) => i.start <= to && (i.end ?? to) >= from);
    if (format === 'csv')
      return new RawBody(historyCsv(rows, incidents), 'text/csv; charset=utf-8', 200, {
        'content-disposition': `attachment; filename="${t.name}-history.csv"`,
      });
    const label = `${new Date(from).toISOString()}/${new Date(to).toISOString()}`;
    return new RawBody(
      historyJson(t.name, { label }, from, to, rows, incidents),
      'application/json; charset=utf-8',
    );
  });
}
