/**
 * `GET /metrics` in Prometheus text format (prom-client). Per-target gauges are
 * computed at scrape time from the monitor; uptime ratios are cached for a minute
 * because each one walks the history (≈ 0.3 ms per target and window).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Monitor } from '../monitor.js';
import type { Scheduler } from '../scheduler.js';
import { WINDOWS } from './api.js';
import type { WindowName } from './api.js';
import { RawBody } from './router.js';
import type { Router } from './router.js';

export function registerMetrics(router: Router, o: { monitor: Monitor; scheduler: Scheduler }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lookout_' });
  const m = o.monitor;

  new Gauge({
    name: 'lookout_target_up',
    help: '1 when the target is up, 0 when down, -1 unknown or paused',
    labelNames: ['target', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of m.list()) {
        const s = m.state(t.name).status;
        this.set({ target: t.name, kind: t.kind }, s === 'up' ? 1 : s === 'down' ? 0 : -1);
      }
    },
  });
  new Gauge({
    name: 'lookout_target_latency_ms',
    help: 'Headline duration of the last check (total time, rtt, connect time), ms',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of m.list()) {
        const r = m.state(t.name).lastResult;
        if (r) this.set({ target: t.name }, r.ms);
      }
    },
  });
  new Gauge({
    name: 'lookout_target_cert_days_left',
    help: 'Days until the earliest certificate in the chain expires (tls and https targets)',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of m.list()) {
        const d = m.state(t.name).lastResult?.detail;
        const days = d?.daysLeft ?? d?.certDaysLeft;
        if (typeof days === 'number') this.set({ target: t.name }, days);
      }
    },
  });
  let cache: { at: number; values: Array<[string, WindowName, number]> } | undefined;
  new Gauge({
    name: 'lookout_target_uptime_ratio',
    help: 'Time-weighted uptime over the window (0..1); absent when nothing was observed',
    labelNames: ['target', 'window'],
    registers: [registry],
    collect() {
      const now = m.now();
      if (!cache || now - cache.at > 60_000) {
        const values: Array<[string, WindowName, number]> = [];
        for (const t of m.list())
          for (const w of Object.keys(WINDOWS) as WindowName[]) {
            const u = m.history.stats(t.name, now - WINDOWS[w], now, now).uptime;
            if (u !== null) values.push([t.name, w, u]);
          }
        cache = { at: now, values };
      }
      this.reset();
      for (const [target, window, u] of cache.values) this.set({ target, window }, u);
    },
  });
  const checks = new Counter({
    name: 'lookout_checks_total',
    help: 'Checks run, by target and outcome',
    labelNames: ['target', 'result'],
    registers: [registry],
  });
  const counted = new Set<string>();
  m.on('result', (t, r) => {
    counted.add(t.name);
    checks.inc({ target: t.name, result: r.ok ? 'ok' : 'fail' });
  });
  m.on('targets', () => {
    // Forget removed targets, so the scrape does not grow with every target ever added.
    const names = new Set(m.names());
    for (const name of [...counted]) {
      if (names.has(name)) continue;
      checks.remove({ target: name, result: 'ok' });
      checks.remove({ target: name, result: 'fail' });
      counted.delete(name);
    }
  });
  new Gauge({
    name: 'lookout_scheduler_lag_p99_ms',
    help: 'Scheduling lag p99 over the last 1,024 checks, ms',
    registers: [registry],
    collect() {
      this.set(o.scheduler.stats().lagP99);
    },
  });

  router.on('GET', '/metrics', async () => new RawBody(await registry.metrics(), registry.contentType));
  return registry;
}
