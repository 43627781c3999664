/** The real process: start with no environment, refuse bad config and corrupt data, shut down cleanly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLookout, startLookout } from '../helpers/proc.js';

test('starts with no configuration: healthz 200, API served, says what it monitors, exits 0 on SIGTERM', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-proc-'));
  const lk = await startLookout({ DATA_DIR: dataDir });
  const health = await fetch(`${lk.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await (await fetch(`${lk.url}/api/targets`)).json(), { targets: [] });
  assert.match(lk.stdout(), /Lookout is monitoring 0 targets/);
  const t0 = Date.now();
  assert.equal(await lk.stop(), 0);
  assert.ok(Date.now() - t0 < 5000, 'stopped within a few seconds');
  assert.match(lk.stdout(), /stopped cleanly/);
});

test('a bad configuration value stops start-up with one line naming the key, no stack trace', async () => {
  const table: Array<[Record<string, string>, RegExp]> = [
    [{ HTTP_PORT: 'eighty' }, /^lookout: HTTP_PORT: must be a port number/],
    [{ LOG_LEVEL: 'chatty' }, /^lookout: LOG_LEVEL: must be one of/],
  ];
  for (const [env, re] of table) {
    const { exited, out } = runLookout({ DATA_DIR: await mkdtemp(join(tmpdir(), 'lookout-proc-')), ...env });
    const { code } = await exited;
    assert.equal(code, 2);
    assert.match(out.stderr, re);
    assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
    assert.doesNotMatch(out.stderr, /\bat .*\.ts:\d+/);
  }
  const dir = await mkdtemp(join(tmpdir(), 'lookout-proc-'));
  await writeFile(
    join(dir, 'c.yaml'),
    'targets:\n  - name: web\n    address: https://x.y\n    interval: 1\n',
  );
  const { exited, out } = runLookout({ DATA_DIR: dir, CONFIG_FILE: join(dir, 'c.yaml') });
  assert.equal((await exited).code, 2);
  assert.match(
    out.stderr,
    /^lookout: CONFIG_FILE: .*c\.yaml: targets\[0\]\.interval must be at least 5 seconds \(got 1\)\n$/,
  );
});

test('a corrupt data file: refusal naming the file, exit ≠ 0, file unchanged, restore hint', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-proc-'));
  const lk = await startLookout({ DATA_DIR: dataDir });
  assert.equal(await lk.stop(), 0);
  const corrupt = '{"version":1,"targets":[{"name":"web","kind":"http"';
  await writeFile(join(dataDir, 'lookout.json'), corrupt);
  const { exited, out } = runLookout({ DATA_DIR: dataDir });
  const { code } = await exited;
  assert.equal(code, 1);
  assert.match(out.stderr, /lookout\.json is not valid JSON/);
  assert.match(out.stderr, /cp '.*lookout\.json\.bak'/);
  assert.equal(out.stderr.trim().split('\n').length, 1);
  assert.equal(await readFile(join(dataDir, 'lookout.json'), 'utf8'), corrupt, 'byte-for-byte untouched');
});

test('kill -9 while 200 targets are being added: every acknowledged target survives, the file parses', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-proc-'));
  const token = 'kill-test-token-0123456789';
  const lk = await startLookout({ DATA_DIR: dataDir, API_TOKEN: token });
  const acked: string[] = [];
  let killed = false;
  const add = async (i: number) => {
    const name = `t${String(i).padStart(3, '0')}`;
    try {
      const res = await fetch(`${lk.url}/api/targets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, address: `127.0.0.${1 + (i % 200)}:9`, interval: 3600 }),
      });
      if (res.status === 201) acked.push(name);
      if (acked.length === 120 && !killed) {
        killed = true;
        void lk.kill9();
      }
    } catch {
      /* the process was killed mid-request: not acknowledged */
    }
  };
  // Several requests in flight at once, like a script adding targets in parallel.
  const queue = Array.from({ length: 200 }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) await add(i);
    }),
  );
  if (!killed) await lk.kill9();
  assert.ok(acked.length >= 120, `${acked.length} acknowledged before the kill`);
  JSON.parse(await readFile(join(dataDir, 'lookout.json'), 'utf8'));

  const again = await startLookout({ DATA_DIR: dataDir, API_TOKEN: token });
  const { targets } = (await (await fetch(`${again.url}/api/targets`)).json()) as {
    targets: Array<{ name: string }>;
  };
  const have = new Set(targets.map((t) => t.name));
  const lost = acked.filter((n) => !have.has(n));
  assert.deepEqual(lost, [], 'no acknowledged target was lost');
  assert.equal(await again.stop(), 0);
});
