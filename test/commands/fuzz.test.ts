/**
 * 1,000 random command lines from a seeded generator: every one is answered with a
 * Reply, none throws or ends in "internal error", and the store changes only when
 * the line was a valid mutation by someone allowed to make it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, USER, harness } from './harness.js';
import type { Harness } from './harness.js';
import { dispatch } from '../../commands/index.js';
import type { Actor, SpeedSample } from '../../commands/types.js';
import { replyText } from '../../src/core/reply.js';
import { commandOf, fuzzer, mayMutate } from '../helpers/fuzz-lines.js';

const SEED = 0x10c0_07;
const RUNS = 1000;

// One stream for the lines and the actors, so a failing case replays exactly from the seed.
const fuzz = fuzzer(SEED);

const SEVERITIES = new Set(['ok', 'info', 'warning', 'critical', 'error']);

let h: Harness;
before(async () => {
  const sample: SpeedSample = {
    downloadMbps: 90,
    uploadMbps: 10,
    latencyMs: 12,
    jitterMs: 1,
    durationMs: 9000,
    server: 'x',
    at: 0,
  };
  h = await harness({
    speedtest: { run: async () => sample, latest: () => sample, history: () => [sample] },
  });
  await h.run('add web https://example.com tags=prod');
  await h.run('add router 10.0.0.1');
  await h.run('add db db.example.net:5432 dependsOn=router');
  h.down('router');
});
after(() => h.close());

test(`${RUNS} random command lines: always a Reply, never a throw, no change unless allowed`, async (t) => {
  const actors: Actor[] = [
    ADMIN,
    USER,
    { platform: 'slack', id: 'U9', admin: false },
    { platform: 'cli', id: 'cli', admin: true },
  ];
  let mutations = 0;
  let errors = 0;
  for (let i = 0; i < RUNS; i++) {
    const text = fuzz.line(i);
    const actor = fuzz.pick(actors);
    const before = h.snapshot();
    const ctx = h.ctx(actor);
    let reply;
    try {
      reply = await dispatch(text, ctx);
    } catch (e) {
      assert.fail(`#${i} dispatch threw for ${JSON.stringify(text)}: ${String(e)}`);
    }
    assert.ok(reply && Array.isArray(reply.lines) && Array.isArray(reply.fields), `#${i} not a Reply`);
    assert.ok(SEVERITIES.has(reply.severity), `#${i} severity ${reply.severity}`);
    assert.equal(typeof replyText(reply), 'string');
    assert.ok(JSON.stringify(reply).length > 0, 'serialisable');
    assert.deepEqual(
      h.logged,
      [],
      `#${i} ${JSON.stringify(text)} ended in an internal error: ${replyText(reply)}`,
    );

    const command = commandOf(text);
    const allowed = mayMutate(text, actor.admin, reply.severity);
    const changed = h.snapshot() !== before;
    if (changed) mutations++;
    if (reply.severity === 'error') errors++;
    if (!allowed)
      assert.equal(
        changed,
        false,
        `#${i} ${JSON.stringify(text)} by ${actor.platform}:${actor.id} changed the store (${replyText(reply)})`,
      );
    if (command?.name === 'remove' && !/\bconfirm\b/i.test(text))
      assert.equal(changed, false, 'remove without confirm');
  }
  t.diagnostic(`seed ${SEED}: ${mutations} mutations, ${errors} error replies`);
  // The generator must reach both outcomes, or it tests nothing.
  assert.ok(mutations > 0, 'some lines were valid mutations');
  assert.ok(errors > 100, 'many lines were refused');
});
