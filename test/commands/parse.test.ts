/** The tokenizer, values and binding: what people type in chat, read forgivingly or refused with the exact problem. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  bind,
  commandPrefix,
  commandWord,
  parsePeriod,
  quoteToken,
  tokenize,
  TARGET_KEYS,
} from '../../commands/parse.js';
import { TARGET_KEYS as SCHEMA_KEYS } from '../../src/schema.js';
import { commands } from '../../commands/index.js';
import { UsageError } from '../../src/core/errors.js';

describe('tokenize', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['   ', []],
    ['status', ['status']],
    ['  add   web\thttps://x.y  ', ['add', 'web', 'https://x.y']],
    ['edit web keyword="all good"', ['edit', 'web', 'keyword=all good']],
    ['edit web keyword=\'say "hi"\'', ['edit', 'web', 'keyword=say "hi"']],
    ['edit web keyword=“curly quotes”', ['edit', 'web', 'keyword=curly quotes']],
    ['edit web keyword=„german“', ['edit', 'web', 'keyword=german']],
    ['add "my web" x', ['add', 'my web', 'x']],
    ["edit web keyword=don't", ['edit', 'web', "keyword=don't"]],
    ['status\u200Bweb', ['statusweb']],
    ['status\u00A0web', ['status', 'web']],
    ['status w\u0000eb', ['status', 'web']],
    ['check https://x.y/?a=b&c=d', ['check', 'https://x.y/?a=b&c=d']],
    ['status 🙂', ['status', '🙂']],
    ['a ""', ['a', '']],
  ];
  for (const [input, want] of cases)
    test(JSON.stringify(input), () => assert.deepEqual(tokenize(input), want));

  const bad: Array<[string, string]> = [
    ['edit web keyword="oops', 'a quote (") is not closed'],
    ['x'.repeat(2001), 'the command is too long (2,001 characters; at most 2,000)'],
    ['🙂'.repeat(2001), 'the command is too long (2,001 characters; at most 2,000)'],
    [Array.from({ length: 51 }, () => 'w').join(' '), 'too many words (more than 50); shorten the command'],
  ];
  for (const [input, message] of bad)
    test(`refuses: ${message}`, () =>
      assert.throws(
        () => tokenize(input),
        (e) => e instanceof UsageError && e.message === message,
      ));

  test('exactly 2,000 characters and 50 words are fine', () => {
    assert.equal(tokenize('x'.repeat(2000)).length, 1);
    assert.equal(tokenize(Array.from({ length: 50 }, () => 'w').join(' ')).length, 50);
  });

  test('quoteToken round-trips through tokenize', () => {
    for (const s of [
      'plain',
      'two words',
      'keyword=all good',
      "it's",
      'say "hi"',
      '',
      'tab\there',
      '“curly”',
    ])
      assert.deepEqual(tokenize(quoteToken(s)), [s], s);
  });
});

describe('command words', () => {
  const cases: Array<[string, string]> = [
    ['status', 'status'],
    ['/status', 'status'],
    ['/Status@lookout_bot', 'status'],
    ['STATUS', 'status'],
    ['//status', 'status'],
  ];
  for (const [input, want] of cases) test(input, () => assert.equal(commandWord(input), want));

  test('prefixes per platform', () => {
    assert.equal(commandPrefix('telegram'), '/');
    assert.equal(commandPrefix('discord'), '/');
    assert.equal(commandPrefix('slack'), '/lookout ');
    assert.equal(commandPrefix('cli'), 'lookout ');
    assert.equal(commandPrefix('api'), '');
  });
});

describe('periods', () => {
  const cases: Array<[string, string | undefined, number | undefined]> = [
    ['24h', '24h', 86400e3],
    ['1d', '24h', 86400e3],
    ['7D', '7d', 7 * 86400e3],
    ['week', '7d', 7 * 86400e3],
    ['30d', '30d', 30 * 86400e3],
    ['90d', '90d', 90 * 86400e3],
    ['2h', '2h', 7200e3],
    ['14d', '14d', 14 * 86400e3],
    ['5m', undefined, undefined],
    ['3600', undefined, undefined],
    ['401d', undefined, undefined],
    ['soon', undefined, undefined],
  ];
  for (const [input, label, ms] of cases)
    test(input, () => {
      const p = parsePeriod(input);
      assert.equal(p?.label, label);
      assert.equal(p?.ms, ms);
    });
});

describe('binding', () => {
  const spec = commands.uptime.args;
  const none = { command: 'uptime', isTarget: () => false };
  test('an optional target left out: the word goes to the period', () => {
    const a = bind(spec, ['7d'], none);
    assert.equal(a.name, undefined);
    assert.equal(a.period?.label, '7d');
  });
  test('unless a target has that name', () => {
    const a = bind(spec, ['7d'], { command: 'uptime', isTarget: (n) => n === '7d' });
    assert.equal(a.name, '7d');
    assert.equal(a.period, undefined);
  });
  test('both given, names lower-cased', () => {
    const a = bind(spec, ['Portal', '30d'], none);
    assert.equal(a.name, 'portal');
    assert.equal(a.period?.ms, 30 * 86400e3);
  });
  test('a later optional argument without the one before it', () => {
    const a = bind(commands.history.args, ['web', 'CSV'], { command: 'history', isTarget: () => true });
    assert.equal(a.period, undefined);
    assert.equal(a.format, 'csv');
  });
  test('durations become seconds', () => {
    assert.equal(
      bind(commands.pause.args, ['web', '1h30m'], { command: 'pause', isTarget: () => true }).duration,
      5400,
    );
  });
  test('keys are matched whatever the case and separators', () => {
    const a = bind(commands.add.args, ['w', 'x', 'FAIL-THRESHOLD=2', 'notify.Email=a@b.c'], {
      command: 'add',
      isTarget: () => false,
    });
    assert.deepEqual(a.keys, { failThreshold: '2', 'notify.email': 'a@b.c' });
  });
});

test('the key=value settings cover every target setting of the shared schema', () => {
  const ours = TARGET_KEYS.map((k) => k.name.split('.')[0]);
  const theirs = SCHEMA_KEYS.filter((k) => k !== 'name' && k !== 'address');
  assert.deepEqual([...new Set(ours)].sort(), [...theirs].sort());
});
