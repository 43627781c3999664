/**
 * The engine end to end in one process: a real HTTP target that we stop, break,
 * hang and restart; the real checks, scheduler, state machine, store and console channel.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { TargetServer } from '../helpers/target-server.js';
import type { CheckResult } from '../../src/core/types.js';

const TOKEN = 'test-token-0123456789abcdef';
const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const l of chunk.toString().split('\n').filter(Boolean))
      lines.push(JSON.parse(l) as Record<string, unknown>);
    cb();
  },
});
const alerts = () => lines.filter((l) => String(l.msg).startsWith('ALERT ')).map((l) => String(l.msg));

let app: App;
const target = new TargetServer();

before(async () => {
  await target.start();
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-engine-'));
  const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', API_TOKEN: TOKEN });
  app = await createApp({ config, log: createLogger('info', [], sink) });
  await app.start();
});
after(async () => {
  await app.stop();
  await target.stop();
});

/** Runs the target's check now, waits for its result and for any alert it caused to be delivered. */
async function checkNow(name: string): Promise<CheckResult> {
  const r = await new Promise<CheckResult>((resolve) => {
    const on = (t: { name: string }, res: CheckResult) => {
      if (t.name !== name) return;
      app.monitor.off('result', on);
      resolve(res);
    };
    app.monitor.on('result', on);
    app.scheduler.runNow(name);
  });
  await app.alerts.flush();
  for (let i = 0; i < 100 && app.outbox.pending().length > 0; i++)
    await new Promise((res) => setTimeout(res, 10));
  return r;
}

test('DOWN after exactly failThreshold failures, RECOVERED after recoverThreshold successes, one alert per transition', async () => {
  const res = await fetch(`${app.url}/api/targets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'web',
      address: target.url,
      failThreshold: 3,
      recoverThreshold: 2,
      timeout: 1,
      interval: 300,
    }),
  });
  assert.equal(res.status, 201);

  assert.equal((await checkNow('web')).ok, true);
  assert.equal(app.monitor.state('web').status, 'up');
  assert.deepEqual(alerts(), [], 'unknown → up never alerts');

  // Stopped: connection refused. Two failures are not enough.
  await target.stop();
  for (let i = 0; i < 2; i++) assert.equal((await checkNow('web')).error?.code, 'connection_refused');
  assert.equal(app.monitor.state('web').status, 'up');
  assert.deepEqual(alerts(), []);

  // Back, but answering 500: the third consecutive failure is the DOWN.
  target.mode = 'error';
  await target.start();
  assert.equal((await checkNow('web')).error?.message, 'HTTP 500');
  assert.equal(app.monitor.state('web').status, 'down');
  assert.deepEqual(alerts(), ['ALERT DOWN web — HTTP 500']);

  // Hanging: a timeout within timeout + 1 s, and no second DOWN alert.
  target.mode = 'hang';
  const t0 = Date.now();
  const hung = await checkNow('web');
  assert.equal(hung.error?.code, 'timeout');
  assert.ok(Date.now() - t0 < 2000, `classified after ${Date.now() - t0} ms`);
  assert.equal(alerts().length, 1, 'no alert per failed check');

  // Restarted and healthy: recoverThreshold = 2.
  await target.stop();
  target.mode = 'ok';
  await target.start();
  assert.equal((await checkNow('web')).ok, true);
  assert.equal(app.monitor.state('web').status, 'down', 'one success is not enough');
  assert.equal((await checkNow('web')).ok, true);
  assert.equal(app.monitor.state('web').status, 'up');
  const all = alerts();
  assert.equal(all.length, 2);
  assert.match(all[1] as string, /^ALERT RECOVERED web — down for \d+s$/);

  // The incident is recorded with start, end and cause.
  const inc = app.monitor.incidents('web');
  assert.equal(inc.length, 1);
  assert.equal(inc[0]?.cause, 'HTTP 500');
  assert.ok(inc[0]?.end !== undefined && inc[0].end >= inc[0].start);

  // And the API shows the state and uptime so far.
  const view = (await (await fetch(`${app.url}/api/targets/web`)).json()) as {
    target: { state: { status: string }; uptime: Record<string, number | null> };
  };
  assert.equal(view.target.state.status, 'up');
  const u = view.target.uptime['24h'];
  assert.ok(
    typeof u === 'number' && u >= 0 && u < 1,
    `uptime 24h = ${u} (time-weighted: mostly down so far)`,
  );
});
