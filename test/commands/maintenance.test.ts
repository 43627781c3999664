/** pause, resume, ack: maintenance windows and acknowledgements. */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, USER, harness, runCase } from './harness.js';
import type { Case, Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await harness();
  await h.run('add web https://example.com');
  await h.run('add router 10.0.0.1');
  await h.run('add db db.example.net:5432');
  h.down('router', 'no reply from 10.0.0.1');
  h.down('db', '=HYPERLINK("http://evil")');
});
after(() => h.close());

describe('pause', () => {
  const cases: Case[] = [
    {
      name: 'with a duration: until when, and how to end it early',
      text: 'pause web 2h',
      severity: 'info',
      says: [
        'Paused web for 2h',
        'no checks and no alerts until 2024-05-01 14:06 UTC; resume web ends it early.',
        '[Resume] → resume web',
      ],
      changes: true,
    },
    {
      name: 'without a duration: until resumed, and the reply says so',
      text: 'pause WEB',
      says: ['Paused web until resumed', 'no checks and no alerts until someone runs: resume web'],
      changes: true,
    },
    { name: 'durations in any unit', text: 'pause web 90s', says: ['Paused web for 1m'] },
    { name: 'a bare number is seconds', text: 'pause web 3600', says: ['Paused web for 1h'] },
    { name: 'combined units', text: 'pause web 1h30m', says: ['Paused web for 1h 30m'] },
    {
      name: 'not a duration',
      text: 'pause web soon',
      severity: 'error',
      says: ['duration must be a duration like 90s, 15m, 2h or 1d (got "soon"). Example: /pause portal 2h'],
    },
    {
      name: 'zero',
      text: 'pause web 0',
      severity: 'error',
      says: ['duration must be longer than 0 (got "0")'],
    },
    {
      name: 'more than a year',
      text: 'pause web 400d',
      severity: 'error',
      says: ['duration must be at most 366d (got "400d")'],
    },
    {
      name: 'a huge number',
      text: 'pause web 99999999999999999999999',
      severity: 'error',
      says: ['duration must be at most 366d'],
    },
    {
      name: 'no name',
      text: 'pause',
      severity: 'error',
      says: ['missing <name>', 'Usage: /pause <name> [duration]'],
    },
    {
      name: 'a typo',
      text: 'pause wbe 1h',
      severity: 'error',
      says: ['no target "wbe" — did you mean "web"?'],
    },
    {
      name: 'non-admins are refused',
      text: 'pause router 1h',
      as: USER,
      severity: 'error',
      says: ['only admins can run pause'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, c).then(() => undefined));

  test('a timed pause is stored with its end', async () => {
    await h.run('pause web 2h');
    const t = h.app.monitor.get('web');
    assert.equal(t.paused, true);
    assert.equal(t.pausedUntil, h.clock.t + 2 * 3600e3);
    await h.run('pause web');
    assert.equal(h.app.monitor.get('web').pausedUntil, undefined);
  });
});

describe('resume', () => {
  const cases: Case[] = [
    {
      name: 'non-admins are refused',
      text: 'resume web',
      as: USER,
      severity: 'error',
      says: ['only admins can run resume'],
    },
    {
      name: 'resumes a paused target',
      text: 'resume web',
      severity: 'ok',
      says: ['Resumed web', 'checking again now'],
      changes: true,
    },
    {
      name: 'a target that is not paused',
      text: 'resume web',
      severity: 'error',
      says: ['web is not paused'],
    },
    { name: 'the alias unpause', text: 'unpause web', severity: 'error', says: ['web is not paused'] },
    {
      name: 'too many words',
      text: 'resume web now',
      severity: 'error',
      says: ['unexpected "now"', 'Usage: /resume <name>'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, c).then(() => undefined));
});

describe('ack', () => {
  const cases: Case[] = [
    {
      name: 'a target without an open incident',
      text: 'ack web',
      as: USER,
      severity: 'error',
      says: ['web has no open incident to acknowledge'],
    },
    {
      name: 'anyone may acknowledge; the reply names who',
      text: 'ack router',
      as: USER,
      severity: 'ok',
      says: [
        'Acknowledged router',
        'by Bob; no more reminders for this incident.',
        'down for 3m: no reply from 10.0.0.1',
      ],
      changes: true,
    },
    { name: 'twice', text: 'ack router', severity: 'error', says: ['already acknowledged by Bob'] },
    {
      name: 'a typo',
      text: 'ack ruoter',
      severity: 'error',
      says: ['no target "ruoter" — did you mean "router"?'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, c).then(() => undefined));

  test('the acknowledgement is stored with the display name and shown in status', async () => {
    assert.equal(h.app.monitor.openIncident('router')?.ackedBy, 'Bob');
    const { text, reply } = await h.run('status router', ADMIN);
    assert.match(text, /acknowledged by Bob/);
    assert.ok(!reply.buttons?.some((b) => b.id === 'ack'), 'no ack button once acknowledged');
  });

  test('without a display name the platform id is recorded', async () => {
    await h.run('ack db', { platform: 'discord', id: '8001', admin: false });
    assert.equal(h.app.monitor.openIncident('db')?.ackedBy, '8001');
  });

  test('a cause that looks like a spreadsheet formula is neutralised in the CSV', async () => {
    const { reply } = await h.run('history db csv');
    assert.match(reply.attachment?.data ?? '', /,"'=HYPERLINK\(""http:\/\/evil""\)",/);
  });
});
