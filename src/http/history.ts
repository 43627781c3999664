/** `GET /api/targets/:name/history?from=&to=&format=json|csv` (SPEC §6). */
import { historyCsv, historyJson } from '../core/history-export.js';
import type { Monitor } from '../monitor.js';
import type { HistoryStore } from '../store/history-store.js';
import { HttpError, RawBody, parseQueryTime } from './router.js';
import type { Router } from './router.js';

export function registerHistoryApi(router: Router, o: { monitor: Monitor; history: HistoryStore }): void {
  router.on('GET', '/api/targets/:name/history', (req) => {
    const t = o.monitor.get(req.params.name as string);
    const now = o.monitor.now();
    const q = req.url.searchParams;
    const to = parseQueryTime(q.get('to'), 'to', now);
    const from = parseQueryTime(q.get('from'), 'from', to - 86400e3);
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
