import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, stat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateFile } from '../../src/store/file.js';
import { DATA_VERSION, initialData, validateData } from '../../src/store/data.js';
import type { MainData } from '../../src/store/data.js';
import { StoreError } from '../../src/core/errors.js';

const open = (dir: string) =>
  StateFile.open<MainData>({
    path: join(dir, 'lookout.json'),
    initial: initialData,
    validate: validateData,
    coalesceMs: 50,
  });

test('a new data file is created with a schema version and a last good copy', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const f = await open(dir);
  const onDisk = JSON.parse(await readFile(join(dir, 'lookout.json'), 'utf8')) as MainData;
  assert.equal(onDisk.version, DATA_VERSION);
  assert.deepEqual(onDisk.targets, []);
  await stat(join(dir, 'lookout.json.bak'));
  await f.close();
});

test('commit() resolves only once the change is on disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const f = await open(dir);
  f.data.meta.answer = 42;
  await f.commit();
  const onDisk = JSON.parse(await readFile(join(dir, 'lookout.json'), 'utf8')) as MainData;
  assert.equal(onDisk.meta.answer, 42);
  await f.close();
});

test('markDirty() coalesces many changes into few writes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const f = await open(dir);
  const before = f.writes;
  for (let i = 0; i < 500; i++) {
    f.data.meta.n = i;
    f.markDirty();
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(f.writes - before <= 2, `${f.writes - before} writes for 500 changes`);
  const onDisk = JSON.parse(await readFile(join(dir, 'lookout.json'), 'utf8')) as MainData;
  assert.equal(onDisk.meta.n, 499);
  await f.close();
});

test('a file that does not parse stops start-up, stays byte-for-byte untouched, and the message says how to restore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const good = await open(dir);
  good.data.meta.x = 1;
  await good.commit();
  await good.close();
  // Reopen so the last good copy includes the change, then corrupt the file.
  await (await open(dir)).close();
  const corrupt = '{"version":1,"targets":[{"name":"web"';
  await writeFile(join(dir, 'lookout.json'), corrupt);
  await assert.rejects(open(dir), (e: unknown) => {
    assert.ok(e instanceof StoreError);
    assert.match(e.message, /lookout\.json is not valid JSON/);
    assert.match(e.message, /left the file untouched/);
    assert.match(e.message, /cp '.*lookout\.json\.bak' '.*lookout\.json'/);
    return true;
  });
  assert.equal(await readFile(join(dir, 'lookout.json'), 'utf8'), corrupt);
  const bak = JSON.parse(await readFile(join(dir, 'lookout.json.bak'), 'utf8')) as MainData;
  assert.equal(bak.meta.x, 1, 'the backup is the last good data');
});

test('a file that parses but is not Lookout data (null, wrong shape, newer version) is refused too', async () => {
  const table: Array<[string, RegExp]> = [
    ['null', /top level is not an object/],
    ['{"version":1,"targets":{}}', /"targets" is not an array/],
    ['{"version":99,"targets":[],"states":{},"incidents":[]}', /newer Lookout/],
    ['[]', /top level is not an object/],
  ];
  for (const [text, re] of table) {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
    await writeFile(join(dir, 'lookout.json'), text);
    await assert.rejects(open(dir), re);
    assert.equal(await readFile(join(dir, 'lookout.json'), 'utf8'), text);
    assert.deepEqual((await readdir(dir)).sort(), ['lookout.json'], 'nothing else was written');
  }
});

test('a temp file left by a crash mid-write is removed at start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  await (await open(dir)).close();
  await writeFile(join(dir, '.lookout.json.tmp'), '{"half');
  await (await open(dir)).close();
  assert.ok(!(await readdir(dir)).includes('.lookout.json.tmp'));
});
