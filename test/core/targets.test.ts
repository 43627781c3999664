import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inferKind, suggestName, splitHostPort } from '../../src/core/targets.js';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { buildTarget, parseOrThrow, patchTarget, TargetInputSchema } from '../../src/schema.js';
import { UsageError } from '../../src/core/errors.js';

test('kind inference: URL is http, host:port is tcp, else ping', () => {
  const table: Array<[string, string]> = [
    ['https://portal.example.net/health', 'http'],
    ['HTTP://x.y', 'http'],
    ['db.example.net:5432', 'tcp'],
    ['[2001:db8::1]:443', 'tcp'],
    ['10.0.0.1', 'ping'],
    ['router.lan', 'ping'],
    ['2001:db8::1', 'ping'],
  ];
  for (const [addr, kind] of table) assert.equal(inferKind(addr), kind, addr);
  assert.deepEqual(splitHostPort('[::1]:80'), { host: '::1', port: 80 });
  assert.equal(splitHostPort('host:70000'), undefined);
});

test('durations: 90s, 15m, 2h, 1d, bare seconds, and nonsense', () => {
  const table: Array<[string | number, number | undefined]> = [
    ['90s', 90],
    ['15m', 900],
    ['2h', 7200],
    ['1d', 86400],
    ['1h30m', 5400],
    ['45', 45],
    [30, 30],
    ['', undefined],
    ['abc', undefined],
    ['5x', undefined],
    ['-5', undefined],
    [-1, undefined],
  ];
  for (const [input, want] of table) assert.equal(parseDuration(input), want, String(input));
  assert.equal(formatDuration(14 * 60e3), '14m');
  assert.equal(formatDuration(125 * 60e3), '2h 5m');
  assert.equal(formatDuration(26 * 3600e3), '1d 2h');
  assert.equal(formatDuration(5e3), '5s');
});

test('did-you-mean suggestions', () => {
  const names = ['portal', 'core-router', 'dns-primary'];
  assert.equal(suggestName('portl', names), 'portal');
  assert.equal(suggestName('core', names), 'core-router');
  assert.equal(suggestName('zzzzzz', names), undefined);
});

test('target validation: defaults, inference and readable errors', () => {
  const t = buildTarget(
    parseOrThrow(TargetInputSchema, { name: 'Portal', address: 'https://x.y/health' }),
    'api',
    1,
  );
  assert.equal(t.name, 'portal');
  assert.equal(t.kind, 'http');
  assert.equal(t.interval, 60);
  assert.equal(t.timeout, 10);
  assert.equal(t.failThreshold, 3);
  assert.equal(t.recoverThreshold, 1);

  const withDur = parseOrThrow(TargetInputSchema, {
    name: 'r',
    address: '10.0.0.1',
    interval: '2m',
    timeout: '5s',
  });
  assert.equal(withDur.interval, 120);

  const errors: Array<[unknown, RegExp]> = [
    [{ name: 'web', address: 'https://x.y', interval: 1 }, /^interval must be at least 5 seconds \(got 1\)$/],
    [{ name: '-bad', address: '10.0.0.1' }, /^name must be 1–63 characters/],
    [{ name: 'web', address: 'https://x.y', bogus: 1 }, /^unknown key "bogus"$/],
    [{ name: 'web', address: 'https://x.y', interval: 'soon' }, /interval must be a duration/],
    [{ name: 'web', address: 'https://x.y', accept: '2xx' }, /accept must be status codes/],
    [{ name: 'web', address: 'https://x.y', regex: '(' }, /regex is not a valid regular expression/],
    [{ address: 'https://x.y' }, /^name is required$/],
  ];
  for (const [input, re] of errors) {
    assert.throws(
      () => parseOrThrow(TargetInputSchema, input),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
      JSON.stringify(input),
    );
  }
  assert.throws(() => buildTarget({ name: 'w', address: 'nope nope' }, 'api', 0), /contains spaces/);
  assert.throws(
    () => buildTarget({ name: 'w', address: 'x.y', kind: 'tcp' }, 'api', 0),
    /is not host:port for a tcp target/,
  );
  assert.throws(
    () => buildTarget({ name: 'w', address: 'ftp://x.y', kind: 'http' }, 'api', 0),
    /must start with http/,
  );
  assert.throws(
    () => buildTarget({ name: 'w', address: 'https://x.y', interval: 5, timeout: 9 }, 'api', 0),
    /timeout \(9s\) must not be longer than interval \(5s\)/,
  );
  assert.throws(() => buildTarget({ name: 'w' }, 'api', 0), /address is required/);
  const push = buildTarget({ name: 'backup-job', kind: 'push' }, 'api', 0);
  assert.equal(push.address, '');
});

test('patching keeps the kind and shrinks the timeout with the interval', () => {
  const t = buildTarget({ name: 'w', address: 'https://x.y' }, 'api', 0);
  const p = patchTarget(t, { interval: 5 });
  assert.equal(p.interval, 5);
  assert.equal(p.timeout, 5);
  assert.throws(() => patchTarget(t, { address: 'db:5432' }), /is not a valid URL|for a http target/);
});
