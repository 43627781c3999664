import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '../../src/alerts/outbox.js';
import { StateFile } from '../../src/store/file.js';
import { initialData, validateData } from '../../src/store/data.js';
import type { MainData } from '../../src/store/data.js';
import { DeliveryError } from '../../src/core/errors.js';
import type { Channel } from '../../src/channels/types.js';
import type { AlertMessage } from '../../src/core/message.js';
import { createLogger } from '../../src/log.js';
import { until } from '../helpers/wait.js';

const msg = (id: string, extra: Partial<AlertMessage> = {}): AlertMessage => ({
  id,
  kind: 'down',
  severity: 'critical',
  title: `DOWN ${id}`,
  lines: [],
  fields: [],
  at: 0,
  target: id,
  incidentId: `inc-${id}`,
  threadRoot: true,
  ...extra,
});

/** A channel whose next outcomes the test scripts: 'ok', a DeliveryError, or a plain error. */
function scripted(name: string, plan: Array<'ok' | DeliveryError | Error>) {
  const calls: Array<{ id: string; at: number; root?: unknown }> = [];
  const ch: Channel = {
    name,
    send(m, ctx) {
      calls.push({ id: m.id, at: Date.now(), ...(ctx.root ? { root: ctx.root } : {}) });
      const next = plan.shift() ?? 'ok';
      if (next !== 'ok') return Promise.reject(next);
      return Promise.resolve([{ id: `${name}-${calls.length}`, to: 'room' }]);
    },
  };
  return { ch, calls };
}

async function setup(channels: Channel[], opts: { fallbackAfterMs?: number; baseDelayMs?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-outbox-'));
  const store = await StateFile.open<MainData>({
    path: join(dir, 'lookout.json'),
    initial: initialData,
    validate: validateData,
  });
  const outbox = new Outbox({
    store,
    channels,
    now: Date.now,
    log: createLogger('silent'),
    baseDelayMs: 50,
    ...opts,
  });
  outbox.start();
  return { dir, store, outbox };
}

test('a queued alert is on disk before enqueue returns', async () => {
  const { ch } = scripted('chat', [new DeliveryError('down', false)]);
  const { dir, outbox } = await setup([ch], { baseDelayMs: 60_000 });
  await outbox.enqueue([msg('a')]);
  const disk = JSON.parse(await readFile(join(dir, 'lookout.json'), 'utf8')) as MainData;
  assert.equal((disk.outbox as Array<{ key: string }>)[0]?.key, 'a@chat');
  await outbox.stop();
});

test('transient failures are retried with backoff and delivered exactly once', async () => {
  const { ch, calls } = scripted('chat', [
    new DeliveryError('503', false),
    new Error('socket hang up'),
    'ok',
  ]);
  const { outbox } = await setup([ch]);
  await outbox.enqueue([msg('a')]);
  await until('the outbox to empty', () => outbox.pending().length === 0, 10_000);
  assert.equal(calls.length, 3);
  assert.ok(
    (calls[2]?.at ?? 0) - (calls[1]?.at ?? 0) >= (calls[1]?.at ?? 0) - (calls[0]?.at ?? 0) - 30,
    'the delay grows',
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(calls.length, 3, 'no extra sends');
  await outbox.stop();
});

test('a 429 retry_after is honoured: the retry waits at least that long', async () => {
  const { ch, calls } = scripted('chat', [new DeliveryError('429', false, 2000), 'ok']);
  const { outbox } = await setup([ch]);
  await outbox.enqueue([msg('a')]);
  await until('a second attempt', () => calls.length === 2, 10_000);
  const gap = (calls[1]?.at ?? 0) - (calls[0]?.at ?? 0);
  assert.ok(gap >= 1990, `retried after ${gap} ms`);
  await outbox.stop();
});

test('a permanent error stops retrying that channel and shows in status; other channels are unaffected', async () => {
  const bad = scripted('slack', [new DeliveryError('invalid_auth', true)]);
  const good = scripted('telegram', []);
  const { outbox } = await setup([bad.ch, good.ch]);
  await outbox.enqueue([msg('a')]);
  await until('one attempt on each channel', () => good.calls.length === 1 && bad.calls.length === 1, 10_000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(bad.calls.length, 1);
  const s = outbox.status().find((h) => h.channel === 'slack');
  assert.equal(s?.dead, 1);
  assert.equal(s?.disabled, 'invalid_auth');
  await outbox.stop();
});

test('when every chat channel failed an alert for long enough, email gets it', async () => {
  const chat = scripted('telegram', [
    new DeliveryError('down', false),
    new DeliveryError('down', false),
    new DeliveryError('down', false),
  ]);
  const mail = scripted('email', []);
  // Email is not a normal route for this message (no recipients), only the fallback.
  const email: Channel = { ...mail.ch, accepts: () => false };
  const { outbox } = await setup([chat.ch, email], { fallbackAfterMs: 100 });
  await outbox.enqueue([msg('a')]);
  await until('the email fallback', () => mail.calls.length === 1, 10_000);
  assert.equal(mail.calls[0]?.id, 'a');
  await outbox.stop();
});

test('a RECOVERED is threaded to where its DOWN landed, per channel', async () => {
  const { ch, calls } = scripted('chat', []);
  const { outbox } = await setup([ch]);
  await outbox.enqueue([msg('a')]);
  await until('the first attempt', () => calls.length === 1, 10_000);
  await outbox.enqueue([msg('a-rec', { kind: 'recovered', incidentId: 'inc-a', threadRoot: false })]);
  await until('a second attempt', () => calls.length === 2, 10_000);
  assert.deepEqual(calls[1]?.root, [{ id: 'chat-1', to: 'room' }]);
  await outbox.stop();
});
