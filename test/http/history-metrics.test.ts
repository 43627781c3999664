import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeApp, checkAll } from '../helpers/app.js';
import { TargetServer } from '../helpers/target-server.js';
import type { App } from '../../src/app.js';

let app: App;
const srv = new TargetServer();

// A clock that moves a minute per check: history keeps one sample per second per target.
let clock = Date.now() - 3600e3;
const tick = () => (clock += 60_000);

before(async () => {
  await srv.start();
  app = await makeApp({}, { now: () => clock });
  const first = new Promise((r) => app.monitor.once('result', r));
  // Added to a running app, a target is checked at once: that is the first sample.
  await app.monitor.add({ name: 'web', address: srv.url, interval: 300, failThreshold: 1 }, 'api');
  await first;
  tick();
  await checkAll(app, ['web']);
  srv.mode = 'error';
  tick();
  await checkAll(app, ['web']);
  srv.mode = 'ok';
  tick();
  await checkAll(app, ['web']);
  tick();
});
after(async () => {
  await app.stop();
  await srv.stop();
});

test('history as JSON: samples and the incident', async () => {
  const res = await fetch(`${app.url}/api/targets/web/history`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    target: string;
    rows: Array<{ t: string; ok: boolean }>;
    incidents: Array<{ cause: string }>;
  };
  assert.equal(body.target, 'web');
  assert.deepEqual(
    body.rows.map((r) => r.ok),
    [true, true, false, true],
  );
  assert.match(body.rows[0]?.t ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  assert.equal(body.incidents[0]?.cause, 'HTTP 500');
});

test('history as CSV: a header row and ISO timestamps', async () => {
  const res = await fetch(`${app.url}/api/targets/web/history?format=csv&from=${clock - 3600e3}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = (await res.text()).trim().split('\r\n');
  assert.match(lines[0] ?? '', /^time,type,ok,ms,code,/);
  assert.equal(lines.filter((l) => /^\d{4}-\d\d-\d\dT[^,]+,sample,/.test(l)).length, 4);
  assert.equal(lines.filter((l) => l.includes(',incident,')).length, 1);
});

test('history: bad parameters are 400, unknown target 404', async () => {
  assert.equal((await fetch(`${app.url}/api/targets/web/history?from=yesterday`)).status, 400);
  assert.equal((await fetch(`${app.url}/api/targets/web/history?format=xml`)).status, 400);
  assert.equal(
    (await fetch(`${app.url}/api/targets/web/history?from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z`))
      .status,
    400,
  );
  assert.equal((await fetch(`${app.url}/api/targets/nope/history`)).status, 404);
});

test('/metrics in Prometheus format: up, latency, uptime, check counts, process metrics', async () => {
  const res = await fetch(`${app.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^lookout_target_up\{target="web",kind="http"\} 1$/m);
  assert.match(text, /^lookout_target_latency_ms\{target="web"\} [\d.]+$/m);
  assert.match(text, /^lookout_checks_total\{target="web",result="ok"\} 3$/m);
  assert.match(text, /^lookout_checks_total\{target="web",result="fail"\} 1$/m);
  assert.match(text, /^lookout_target_uptime_ratio\{target="web",window="24h"\} [\d.]+$/m);
  assert.match(text, /^lookout_process_resident_memory_bytes \d+/m);
  await app.monitor.remove('web').catch(() => undefined);
});
