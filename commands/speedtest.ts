/** `speedtest [now|history] [period]`: run a speed test now (admins), or show recent results. */
import { formatDuration } from '../src/core/duration.js';
import { formatMs, formatTime, reply, errorReply } from '../src/core/reply.js';
import type { Field } from '../src/core/reply.js';
import { defineCommand } from './types.js';
import type { Period, SpeedSample } from './types.js';

const DEFAULT_PERIOD: Period = { label: '7d', ms: 7 * 86400e3 };
/** Rows shown in chat; the API and dashboard have the full series. */
const MAX_ROWS = 10;

const mbps = (v: number) => `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })} Mbps`;

const BARS = '▁▂▃▄▅▆▇█';

/** A one-line chart of the values, scaled from the lowest to the highest (oldest first). */
export function sparkline(values: number[], width = 30): string {
  const v = values.slice(-width);
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return v.map((x) => BARS[hi === lo ? 3 : Math.round(((x - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}

function resultFields(r: SpeedSample): Field[] {
  return [
    { label: 'download', value: mbps(r.downloadMbps) },
    { label: 'upload', value: mbps(r.uploadMbps) },
    { label: 'latency', value: `${formatMs(r.latencyMs)} (jitter ${formatMs(r.jitterMs)})` },
    { label: 'server', value: r.server },
    { label: 'at', value: formatTime(r.at) },
  ];
}

export const speedtest = defineCommand({
  name: 'speedtest',
  summary: 'run a speed test now, or show recent results',
  usage: 'speedtest [now|history] [period]',
  examples: ['speedtest now', 'speedtest history', 'speedtest history 30d'],
  admin: { note: 'admin for "now"', when: (args) => args.action === 'now' },
  args: {
    positional: [
      {
        name: 'action',
        type: 'enum',
        choices: ['now', 'history'],
        description: 'now: run one; history (default): recent results',
      },
      { name: 'period', type: 'period', description: 'history window: 7d (default), 24h, 30d or 90d' },
    ],
  },
  async run(args, ctx) {
    const svc = ctx.speedtest;
    if (!svc)
      return reply({
        title: 'Speed tests are not available',
        lines: ['speed tests are not configured on this instance'],
        severity: 'info',
      });
    const now = ctx.now();

    if (args.action === 'now') {
      const r = await svc.run();
      if (r.error) return errorReply(`speed test failed: ${r.error.message}`);
      return reply({
        title: `Speed test: ↓ ${mbps(r.downloadMbps)} ↑ ${mbps(r.uploadMbps)}`,
        lines: [`took ${formatDuration(r.durationMs)}`],
        fields: resultFields(r),
        severity: 'ok',
      });
    }

    const period = args.period ?? DEFAULT_PERIOD;
    const results = svc.history(now - period.ms, now);
    if (results.length === 0) {
      const latest = svc.latest();
      return reply({
        title: `No speed tests in the last ${period.label}`,
        lines: [
          latest ? `the latest was ${formatDuration(now - latest.at)} ago` : 'none has run yet',
          'run one with: speedtest now',
        ],
        severity: 'info',
      });
    }
    const shownRows = results.slice(-MAX_ROWS).reverse();
    const ok = results.filter((r) => !r.error);
    const avg = (f: (r: SpeedSample) => number) => ok.reduce((s, r) => s + f(r), 0) / Math.max(1, ok.length);
    return reply({
      title: `Speed tests, last ${period.label}`,
      lines: [
        ok.length
          ? `${results.length} run${results.length === 1 ? '' : 's'}; average ↓ ${mbps(avg((r) => r.downloadMbps))} ↑ ${mbps(avg((r) => r.uploadMbps))}, latency ${formatMs(avg((r) => r.latencyMs))}`
          : `${results.length} run${results.length === 1 ? '' : 's'}, all failed`,
        ...(ok.length >= 2
          ? [
              `download ${sparkline(ok.map((r) => r.downloadMbps))}  upload ${sparkline(ok.map((r) => r.uploadMbps))} (oldest → newest)`,
            ]
          : []),
        ...(results.length > MAX_ROWS ? [`latest ${MAX_ROWS} shown`] : []),
      ],
      table: {
        columns: ['time', 'download', 'upload', 'latency', 'jitter'],
        rows: shownRows.map((r) =>
          r.error
            ? [formatTime(r.at), 'failed', '', '', r.error.code]
            : [
                formatTime(r.at),
                mbps(r.downloadMbps),
                mbps(r.uploadMbps),
                formatMs(r.latencyMs),
                formatMs(r.jitterMs),
              ],
        ),
      },
      severity: 'info',
    });
  },
});
