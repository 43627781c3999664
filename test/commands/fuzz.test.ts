/**
 * 1,000 random command lines from a seeded generator: every one is answered with a
 * Reply, none throws or ends in "internal error", and the store changes only when
 * the line was a valid mutation by someone allowed to make it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, USER, harness } from './harness.js';
import type { Harness } from './harness.js';
import { dispatch, findCommand } from '../../commands/index.js';
import { tokenize, TARGET_KEYS } from '../../commands/parse.js';
import type { Actor, SpeedSample } from '../../commands/types.js';
import { replyText } from '../../src/core/reply.js';
import { prng } from '../helpers/prng.js';

const SEED = 0x10c0_07;
const RUNS = 1000;

const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const int = (n: number) => Math.floor(rand() * n);

const WORDS = [
  'add',
  'remove',
  'edit',
  'list',
  'status',
  'uptime',
  'history',
  'speedtest',
  'pause',
  'resume',
  'ack',
  'check',
  'help',
  '/status',
  '/add@lookout_bot',
  'STATUS',
  'rm',
  'ls',
  'unpause',
  'start',
  'stauts',
  'lsit',
  'remvoe',
  '',
  '/',
  '@',
  '?',
];
const TARGETS = [
  'web',
  'router',
  'db',
  'WEB',
  'wbe',
  'portal',
  'new1',
  'new-2',
  'x',
  '7d',
  'a'.repeat(64),
  '.bad',
  'Ω',
];
const VALUES = [
  '0',
  '-1',
  '1',
  '5',
  '30',
  '1.5',
  '1e400',
  '99999999999999999999',
  'NaN',
  'Infinity',
  '90s',
  '15m',
  '2h',
  '1d',
  '1h30m',
  '400d',
  '0s',
  'abc',
  '24h',
  '7d',
  '30d',
  '90d',
  'week',
  'csv',
  'json',
  'xml',
  'now',
  'history',
  'confirm',
  'yes',
  'http',
  'push',
  'ping',
  'tcp',
  'tls',
  'dns',
  'https://example.com',
  'http://',
  'ftp://x',
  '10.0.0.1',
  'host:80',
  '[::1]:80',
  'host:99999',
  'example.com',
  'true',
  'prod,web',
  'a@b.c',
  '200-399',
];
const UNICODE = [
  '🙂',
  'ü',
  'Ω',
  '\u202e',
  '\u0000',
  '𝓊𝓃𝒾',
  '\u200b',
  'e\u0301',
  '٣',
  '\uFEFF',
  '\uD800',
  '中文',
  '\n',
  '\t',
  '\\',
  '$(rm -rf /)',
  '<script>',
  '&amp;',
  '%00',
  '${x}',
  '`x`',
];
const QUOTES = ['"', "'", '“a b”', '"a b"', "'c d'", '„x“', '«y»'];

function keyValue(): string {
  const keys = [
    ...TARGET_KEYS.map((k) => k.name),
    'name',
    'address',
    'colour',
    'Interval',
    'fail_threshold',
    'notify',
    '',
  ];
  const v = rand() < 0.7 ? pick(VALUES) : pick(UNICODE) + pick(VALUES);
  return `${pick(keys)}=${rand() < 0.2 ? `"${v} ${v}"` : v}`;
}

function token(): string {
  const r = rand();
  if (r < 0.25) return pick(TARGETS);
  if (r < 0.5) return pick(VALUES);
  if (r < 0.65) return keyValue();
  if (r < 0.75) return pick(UNICODE);
  if (r < 0.82) return pick(QUOTES);
  if (r < 0.88) return String(rand() * 10 ** int(40));
  if (r < 0.9) return 'a'.repeat(int(2500));
  return Array.from({ length: 1 + int(12) }, () => String.fromCodePoint(int(0x2ffff))).join('');
}

/** Lines close to valid ones, so mutations happen and the "allowed to change" side is exercised too. */
function plausible(i: number): string {
  const name = pick(['web', 'router', 'db', `n${i % 20}`]);
  return pick([
    `add n${i % 20} 10.0.${int(3)}.${int(300)} ${rand() < 0.5 ? keyValue() : ''}`,
    `add n${i % 20} https://n${i}.example.com interval=${pick(VALUES)}`,
    `edit ${name} ${keyValue()}`,
    `edit ${name} interval=${pick(['30', '5', '1', '2m', 'x'])}`,
    `pause ${name} ${pick(['', '1h', '0', '15m', 'soon'])}`,
    `resume ${name}`,
    `ack ${name}`,
    `remove ${name}${rand() < 0.5 ? ' confirm' : ''}`,
  ]);
}

function line(i: number): string {
  const r = rand();
  if (r < 0.3) return plausible(i);
  if (r < 0.03) return '';
  if (r < 0.05) return ' '.repeat(int(50));
  if (r < 0.08) return Array.from({ length: int(3000) }, () => String.fromCodePoint(int(0x10ffff))).join('');
  if (r < 0.1) return Array.from({ length: 40 + int(40) }, token).join(' ');
  const n = int(6);
  return [pick(WORDS), ...Array.from({ length: n }, token)].join(rand() < 0.1 ? '  ' : ' ');
}

const MUTATING = new Set(['add', 'remove', 'edit', 'pause', 'resume', 'ack']);
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
    const text = line(i);
    const actor = pick(actors);
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

    let word: string | undefined;
    try {
      word = tokenize(text)[0];
    } catch {
      word = undefined;
    }
    const command = word === undefined ? undefined : findCommand(word);
    const allowed =
      reply.severity !== 'error' &&
      command !== undefined &&
      MUTATING.has(command.name) &&
      (command.admin !== true || actor.admin);
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
