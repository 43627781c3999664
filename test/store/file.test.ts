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

interface Live {
  version: 1;
  beat?: number;
  states: Record<string, { n: number; pad?: string }>;
}

const openLive = (dir: string) =>
  StateFile.open<Live>({
    path: join(dir, 'state.json'),
    initial: () => ({ version: 1, states: {} }),
    validate: (raw) => {
      const d = raw as Live;
      if (typeof d.states !== 'object' || d.states === null) throw new Error('"states" is not an object');
      return d;
    },
    coalesceMs: 20,
    journal: 'states',
  });

const settle = () => new Promise((r) => setTimeout(r, 80));

test('a journaled file appends only the touched records, and reopening replays them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const f = await openLive(dir);
  for (let i = 0; i < 50; i++) f.data.states[`t${i}`] = { n: 0 };
  await f.commit();
  const whole = await readFile(join(dir, 'state.json'), 'utf8');

  f.data.states.t7 = { n: 1 };
  f.touch('t7');
  delete f.data.states.t8;
  f.touch('t8');
  f.data.beat = 123;
  f.markDirty();
  await settle();
  assert.equal(await readFile(join(dir, 'state.json'), 'utf8'), whole, 'the file itself was not rewritten');
  const lines = (await readFile(join(dir, 'state.json.journal'), 'utf8')).trimEnd().split('\n');
  assert.deepEqual(lines, ['["t7",{"n":1}]', '["t8",null]', '{"version":1,"beat":123}']);

  // No close(): what a kill -9 leaves.
  const again = await openLive(dir);
  assert.deepEqual(again.data.states.t7, { n: 1 });
  assert.ok(!('t8' in again.data.states));
  assert.equal(again.data.beat, 123);
  assert.equal(Object.keys(again.data.states).length, 49);
  assert.equal((await stat(join(dir, 'state.json.journal'))).size, 0, 'folded into the file at start');
  const onDisk = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as Live;
  assert.deepEqual(onDisk.states.t7, { n: 1 });
  await again.close();
  await f.close();
});

test('a line a kill -9 cut short is ignored; a broken line before the end refuses start-up and touches nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  await (await openLive(dir)).close();
  const journal = join(dir, 'state.json.journal');
  await writeFile(journal, '["a",{"n":1}]\n["b",{"n":2}]\n["c",{"n"');
  const f = await openLive(dir);
  assert.deepEqual(f.data.states, { a: { n: 1 }, b: { n: 2 } });
  await f.close();

  const broken = '["a",{"n":1}]\nnot json\n["b",{"n":2}]\n';
  await writeFile(journal, broken);
  const file = await readFile(join(dir, 'state.json'), 'utf8');
  await assert.rejects(openLive(dir), (e: unknown) => {
    assert.ok(e instanceof StoreError);
    assert.match(e.message, /state\.json\.journal line 2 is not a journal entry/);
    assert.match(e.message, /left the file untouched/);
    return true;
  });
  assert.equal(await readFile(journal, 'utf8'), broken);
  assert.equal(await readFile(join(dir, 'state.json'), 'utf8'), file);
});

test('replaying a journal over a file written after it changes nothing (a crash between the rewrite and the truncation)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const f = await openLive(dir);
  f.data.states.a = { n: 1 };
  f.touch('a');
  await settle();
  const older = await readFile(join(dir, 'state.json.journal'), 'utf8');
  f.data.states.a = { n: 2 };
  f.touch('a');
  await f.commit();
  await f.close();
  // The rewrite appends the records' current values before replacing the file; put back
  // the journal as it was just before the truncation.
  await writeFile(join(dir, 'state.json.journal'), `${older}["a",{"n":2}]\n`);
  const again = await openLive(dir);
  assert.deepEqual(again.data.states.a, { n: 2 });
  await again.close();
});

test('the journal is folded into the file once it outgrows it, and close() leaves none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const f = await openLive(dir);
  const pad = 'x'.repeat(1000);
  let biggest = 0;
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 100; i++) {
      f.data.states[`t${i}`] = { n: round, pad };
      f.touch(`t${i}`);
    }
    await f.flush();
    biggest = Math.max(biggest, (await stat(join(dir, 'state.json.journal'))).size);
  }
  // 100 KB a round against a 256 KB floor: folded every few rounds, never left to grow.
  assert.ok(biggest < 400_000, `journal reached ${biggest} bytes`);
  await f.close();
  assert.equal((await stat(join(dir, 'state.json.journal'))).size, 0);
  const onDisk = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as Live;
  assert.equal(onDisk.states.t99?.n, 11);
});

test('hold(): writes wait until the held work is done', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-store-'));
  const f = await openLive(dir);
  let release = () => {};
  f.hold(new Promise<void>((r) => (release = r)));
  f.data.states.a = { n: 1 };
  f.touch('a');
  await settle();
  assert.equal((await stat(join(dir, 'state.json.journal'))).size, 0, 'nothing written while held');
  release();
  await settle();
  assert.match(await readFile(join(dir, 'state.json.journal'), 'utf8'), /\["a",\{"n":1\}\]/);
  await f.close();
});
