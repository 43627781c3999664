import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeApp } from '../helpers/app.js';

test('a version-1 data file is upgraded: live states move to state.json, the target keeps its state', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-upgrade-'));
  const v1 = {
    version: 1,
    targets: [
      {
        name: 'web',
        kind: 'http',
        address: 'http://127.0.0.1:9/',
        interval: 300,
        timeout: 5,
        failThreshold: 3,
        recoverThreshold: 1,
        tags: [],
        source: 'api',
        createdAt: 1,
      },
    ],
    states: { web: { status: 'down', since: 1000, fails: 3, oks: 0 } },
    incidents: [],
    outbox: [],
  };
  await writeFile(join(dir, 'lookout.json'), JSON.stringify(v1));
  const app = await makeApp({}, {}, dir);
  t.after(() => app.stop());
  assert.equal(app.monitor.state('web').status, 'down');
  const main = JSON.parse(await readFile(join(dir, 'lookout.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(main.version, 2);
  assert.equal('states' in main || 'legacyStates' in main, false, 'the main file no longer holds live state');
  const live = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
    states: Record<string, { status: string }>;
  };
  assert.equal(live.states.web?.status, 'down');
});
